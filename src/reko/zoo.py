"""The field's official datasets and pretrained generators, by name, with their download URLs.

These are the files the pix2pix/CycleGAN authors publish (the URLs of their download scripts).
They are fetched only on request (`reko download`), into ``--root`` or the reko cache; a
machine without internet uses local copies instead. Checksums are recorded where known.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reko.download import cache_dir, extract, fetch
from reko.errors import RekoError

_PIX2PIX_DATA = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"
_CYCLEGAN_DATA = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"
_CYCLEGAN_MODEL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{}.pth"
_PIX2PIX_MODEL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{}.pth"


@dataclass(frozen=True)
class Entry:
    name: str
    kind: Literal["dataset", "generator"]
    url: str
    layout: str  # what the files are: pix2pix aligned, CycleGAN trainA/trainB, generator checkpoint
    sha256: str | None = None
    note: str = ""


def _entries() -> dict[str, Entry]:
    entries: list[Entry] = []
    for name in ("facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day"):
        entries.append(Entry(f"pix2pix/{name}", "dataset", _PIX2PIX_DATA.format(name), "pix2pix aligned A|B"))
    for name in (
        "horse2zebra", "summer2winter_yosemite", "apple2orange", "monet2photo", "cezanne2photo",
        "ukiyoe2photo", "vangogh2photo", "maps", "facades", "iphone2dslr_flower",
    ):  # fmt: skip
        entries.append(Entry(f"cyclegan/{name}", "dataset", _CYCLEGAN_DATA.format(name), "trainA/trainB/testA/testB"))
    for name in (
        "horse2zebra", "zebra2horse", "summer2winter_yosemite", "winter2summer_yosemite", "apple2orange",
        "orange2apple", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe", "style_vangogh",
        "sat2map", "map2sat", "cityscapes_photo2label", "cityscapes_label2photo", "facades_photo2label",
        "facades_label2photo", "iphone2dslr_flower",
    ):  # fmt: skip
        entries.append(
            Entry(f"cyclegan-model/{name}", "generator", _CYCLEGAN_MODEL.format(name), "ResNet-9 ngf 64 generator")
        )
    for name in ("edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"):
        entries.append(Entry(f"pix2pix-model/{name}", "generator", _PIX2PIX_MODEL.format(name), "U-Net-256 generator"))
    return {entry.name: entry for entry in entries}


CATALOG: dict[str, Entry] = _entries()


def lookup(name: str) -> Entry:
    if name not in CATALOG:
        close = [n for n in CATALOG if name in n]
        hint = f" Did you mean {close}?" if close else ""
        raise RekoError(f"unknown download {name!r}.{hint} Known: {sorted(CATALOG)}")
    return CATALOG[name]


def download(name: str, root: Path | None = None) -> Path:
    """Fetch a catalogue entry; datasets are unpacked. Returns the dataset folder or checkpoint path."""
    entry = lookup(name)
    root = root or cache_dir() / ("datasets" if entry.kind == "dataset" else "generators")
    stem = entry.name.split("/", 1)[1]
    if entry.kind == "generator":
        return fetch(entry.url, root / f"{stem}.pth", entry.sha256)
    archive = fetch(entry.url, root / "archives" / Path(entry.url).name, entry.sha256)
    target = root / stem
    if not target.exists():
        extract(archive, root)
    if not target.exists():
        raise RekoError(f"{archive} unpacked into {root} but did not create {target}")
    return target
