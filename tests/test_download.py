"""Downloads: served from a local HTTP server on the loopback interface (no internet in tests)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reko.download import extract, fetch
from reko.errors import RekoError
from reko.zoo import CATALOG, lookup


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", served
    httpd.shutdown()


def test_fetch_checks_the_checksum_and_keeps_nothing_on_mismatch(server, tmp_path: Path) -> None:
    url, served = server
    (served / "w.pth").write_bytes(b"weights" * 1000)
    good = hashlib.sha256(b"weights" * 1000).hexdigest()
    out = fetch(f"{url}/w.pth", tmp_path / "cache" / "w.pth", sha256=good)
    assert out.read_bytes() == b"weights" * 1000
    with pytest.raises(RekoError, match="checksum mismatch"):
        fetch(f"{url}/w.pth", tmp_path / "cache" / "other.pth", sha256="0" * 64)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["w.pth"]
    killed = tmp_path / "cache" / ".big.pth.k1ll3d.tmp"  # what a download killed mid-way leaves
    killed.write_bytes(b"w" * 500)
    (served / "big.pth").write_bytes(b"weights")
    fetch(f"{url}/big.pth", tmp_path / "cache" / "big.pth")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["big.pth", "w.pth"]


def test_unreachable_url_says_how_to_proceed_offline(tmp_path: Path) -> None:
    with pytest.raises(RekoError, match="place it at"):
        fetch("http://127.0.0.1:9/none.zip", tmp_path / "none.zip", timeout=2)


def test_extract_unpacks_a_dataset_and_refuses_path_traversal(server, tmp_path: Path) -> None:
    url, served = server
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        info = tarfile.TarInfo("facades/train/1.jpg")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"jpg"))
    (served / "facades.tar.gz").write_bytes(buffer.getvalue())
    archive = fetch(f"{url}/facades.tar.gz", tmp_path / "facades.tar.gz")
    extract(archive, tmp_path / "data")
    assert (tmp_path / "data" / "facades" / "train" / "1.jpg").read_bytes() == b"jpg"

    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tf:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    (tmp_path / "evil.tar.gz").write_bytes(evil.getvalue())
    with pytest.raises(RekoError, match="outside"):
        extract(tmp_path / "evil.tar.gz", tmp_path / "data2")
    assert not (tmp_path / "escape.txt").exists()


def test_catalogue_has_the_papers_datasets_and_teachers() -> None:
    for name in (
        "cyclegan/horse2zebra",
        "cyclegan/summer2winter_yosemite",
        "pix2pix/edges2shoes",
        "pix2pix/cityscapes",
        "pix2pix/facades",
        "cyclegan-model/horse2zebra",
        "pix2pix-model/edges2shoes",
    ):
        assert name in CATALOG
        assert CATALOG[name].url.startswith("http://efrosgans.eecs.berkeley.edu/")
    with pytest.raises(RekoError, match="horse2zebra"):
        lookup("horse2zebr")


def test_same_named_files_of_two_zoos_land_in_separate_cache_folders(
    server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both zoos have a facades_label2photo.pth: the second download must not return the first file."""
    from dataclasses import replace

    from reko import zoo

    url, served = server
    (served / "cyclegan.pth").write_bytes(b"cyclegan weights")
    (served / "pix2pix.pth").write_bytes(b"pix2pix weights")
    for name, file in (
        ("cyclegan-model/facades_label2photo", "cyclegan"),
        ("pix2pix-model/facades_label2photo", "pix2pix"),
    ):
        monkeypatch.setitem(zoo.CATALOG, name, replace(zoo.CATALOG[name], url=f"{url}/{file}.pth", sha256=None))
    monkeypatch.setenv("REKO_CACHE", str(tmp_path / "cache"))
    first = zoo.download("cyclegan-model/facades_label2photo")
    second = zoo.download("pix2pix-model/facades_label2photo")
    assert first != second
    assert (first.read_bytes(), second.read_bytes()) == (b"cyclegan weights", b"pix2pix weights")
    assert first == tmp_path / "cache" / "generators" / "cyclegan-model" / "facades_label2photo.pth"


# ----------------------------------------------------------------------------- all-or-nothing extraction


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tf.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tf.addfile(info, io.BytesIO(member[1]))
    return path


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def _device(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.CHRTYPE
    return info


@pytest.mark.parametrize(
    "bad_member",
    [
        _link("facades/train/escape.jpg", "/etc/passwd"),  # a link leaving the folder
        _link("facades/train/hard.jpg", "../../../outside", tarfile.LNKTYPE),
        _device("facades/train/dev"),  # a special file
    ],
    ids=["symlink-outside", "hardlink-outside", "device"],
)
def test_a_refused_member_is_one_clear_error_and_leaves_no_partial_dataset(
    tmp_path: Path, bad_member: tarfile.TarInfo
) -> None:
    from reko.download import extract_folder

    archive = _tar(tmp_path / "facades.tar.gz", [("facades/train/1.jpg", b"jpg"), bad_member])
    root = tmp_path / "datasets"
    with pytest.raises(RekoError, match="facades.tar.gz.*nothing was kept"):
        extract_folder(archive, root, "facades")
    assert not (root / "facades").exists()
    assert [p.name for p in root.iterdir()] == []  # no staging folder left either


def test_a_truncated_archive_is_one_clear_error(tmp_path: Path) -> None:
    from reko.download import extract_folder

    archive = _tar(tmp_path / "facades.tar.gz", [("facades/train/1.jpg", b"x" * 100_000)])
    archive.write_bytes(archive.read_bytes()[:-200])
    with pytest.raises(RekoError, match="facades.tar.gz"):
        extract_folder(archive, tmp_path / "datasets", "facades")
    assert not (tmp_path / "datasets" / "facades").exists()


def test_download_returns_only_a_completed_folder_and_refuses_a_partial_one(
    server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder left by an interrupted extraction is not a dataset; a completed one is reused."""
    from dataclasses import replace

    from reko import zoo
    from reko.download import COMPLETE_MARKER

    url, served = server
    _tar(served / "facades.tar.gz", [("facades/train/1.jpg", b"jpg"), ("facades/val/2.jpg", b"jpg")])
    name = "pix2pix/facades"
    monkeypatch.setitem(zoo.CATALOG, name, replace(zoo.CATALOG[name], url=f"{url}/facades.tar.gz", sha256=None))

    partial_root = tmp_path / "partial"
    (partial_root / "facades" / "train").mkdir(parents=True)  # what an interrupted old extraction left
    with pytest.raises(RekoError, match="not completed by reko download"):
        zoo.download(name, partial_root)

    root = tmp_path / "good"
    folder = zoo.download(name, root)
    assert folder == root / "facades" and (folder / COMPLETE_MARKER).is_file()
    assert (folder / "val" / "2.jpg").read_bytes() == b"jpg"
    (served / "facades.tar.gz").unlink()  # the second call must not need the archive or the server
    assert zoo.download(name, root) == folder
    assert sorted(p.name for p in root.iterdir()) == ["archives", "facades"]


def test_an_archive_without_the_expected_folder_is_an_error(tmp_path: Path) -> None:
    from reko.download import extract_folder

    archive = _tar(tmp_path / "x.tar.gz", [("other/1.jpg", b"jpg")])
    with pytest.raises(RekoError, match="does not hold a top folder facades/"):
        extract_folder(archive, tmp_path / "datasets", "facades")
    assert list((tmp_path / "datasets").iterdir()) == []
