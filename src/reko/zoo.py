"""The field's official datasets and pretrained generators, by name, with their download URLs.

These are the files the pix2pix/CycleGAN authors publish (the URLs of their download scripts).
They are fetched only on request (`reko download`), into ``--root`` or the reko cache; a
machine without internet uses local copies instead. Checksums are recorded where known.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from reko.download import cache_dir, extract_folder, fetch
from reko.errors import RekoError

_PIX2PIX_DATA = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"
_CYCLEGAN_DATA = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"
_CYCLEGAN_MODEL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{}.pth"
_PIX2PIX_MODEL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{}.pth"


# sha256 of the CycleGAN dataset archives, from TensorFlow Datasets' record of the same archives at their
# earlier address (github.com/tensorflow/datasets, tensorflow_datasets/url_checksums/cycle_gan.txt:
# https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/NAME.zip, same authors, since moved to
# efrosgans.eecs.berkeley.edu). horse2zebra is confirmed independently: a copy uploaded from the efrosgans
# address (huggingface.co/datasets/kerls/cyclegan-horse2zebra, horse2zebra.zip) has the same Git-LFS sha256,
# and its test images hash as ../shared/data/horse2zebra/test{A,B} do. No published checksum was found for
# the pix2pix archives or for any pretrained generator: those stay None.
_SHA256: dict[str, str] = {
    "cyclegan/horse2zebra": "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1",
    "cyclegan/summer2winter_yosemite": "167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9",
    "cyclegan/apple2orange": "845a191e9af8926408ea597001cd03a452e3300a1f44a79fe329b3d59f6e3eb8",
    "cyclegan/monet2photo": "88f91b00fc228f97c9411fbf1880ec1d119c98f1722e4cfcfaa2fb35fac05b04",
    "cyclegan/cezanne2photo": "3a6c10ca21f9485862f1cbd707744b9dc258954a04631271d23a3605eeb63cff",
    "cyclegan/ukiyoe2photo": "02a2a2fb5ecf425ca1bf86aca7304377da64a2a1d3b86df54eb65e4068bf3b08",
    "cyclegan/vangogh2photo": "362c3473e70be0944bda08d49d660eafdc2854df55d697835b8186d1d79caaff",
    "cyclegan/maps": "639534f69dbf9f36bef8d6292a7698006361221f83f0285d7c9ca78afe6e8a9e",
    "cyclegan/facades": "9a31ebf3a31b9b5cd195dd5bf62e9308e00cb94604d1019e3889ac84248695c0",
    "cyclegan/iphone2dslr_flower": "8fcb5e374d631b107e1d961b8c4cd0a186aa2a4ff3e279923f4c426128de7113",
}

_NOTES: dict[str, str] = {
    "pix2pix/cityscapes": (
        "Cityscapes is licensed: the pix2pix authors' download script no longer serves this archive. Register at "
        "https://www.cityscapes-dataset.com, download gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip, "
        "and build the 512x256 photo|label pairs (A = photo, B = colour labels; labels -> photo is BtoA) with "
        "datasets/prepare_cityscapes_dataset.py of junyanz/pytorch-CycleGAN-and-pix2pix, which writes train/ "
        "(2,975) and test/ (Cityscapes' 500 val images)."
    ),
    "pix2pix-model/edges2shoes": "U-Net-256, BatchNorm, dropout; input edges (A), output photo (B): AtoB",
    "pix2pix-model/facades_label2photo": "U-Net-256, BatchNorm, dropout; labels -> photo, BtoA on pix2pix/facades",
}


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
    entries = [replace(e, sha256=_SHA256.get(e.name, e.sha256), note=_NOTES.get(e.name, e.note)) for e in entries]
    return {entry.name: entry for entry in entries}


CATALOG: dict[str, Entry] = _entries()


def lookup(name: str) -> Entry:
    if name not in CATALOG:
        close = [n for n in CATALOG if name in n]
        hint = f" Did you mean {close}?" if close else ""
        raise RekoError(f"unknown download {name!r}.{hint} Known: {sorted(CATALOG)}")
    return CATALOG[name]


def download(name: str, root: Path | None = None) -> Path:
    """Fetch a catalogue entry; datasets are unpacked. Returns the dataset folder or checkpoint path.

    The default ``root`` is one cache folder per source (``<cache>/datasets/pix2pix``,
    ``<cache>/generators/cyclegan-model`` ...): the pix2pix and CycleGAN ``facades`` datasets unpack
    to the same folder name, and both zoos have a ``facades_label2photo.pth``.
    """
    entry = lookup(name)
    source, stem = entry.name.split("/", 1)
    root = root or cache_dir() / ("datasets" if entry.kind == "dataset" else "generators") / source
    if entry.kind == "generator":
        return fetch(entry.url, root / f"{stem}.pth", entry.sha256)
    archive = fetch(entry.url, root / "archives" / Path(entry.url).name, entry.sha256)
    return extract_folder(archive, root, stem)
