"""Checkpoints: reko's own format, the official pix2pix/CycleGAN layouts, the real teacher, bad files."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
from PIL import Image
from tests.helpers.pix2pix_reference import RefResnetGenerator, RefUnetGenerator, randomise

from reko.errors import RekoError
from reko.models import GeneratorSpec, create_generator, load_generator, read_metadata, save_generator

OFFICIAL = [
    ("resnet9 instance conv_block", lambda: RefResnetGenerator(8, 9, "instance"), 64),
    ("resnet6 instance conv_block", lambda: RefResnetGenerator(6, 6, "instance"), 64),
    ("resnet9 affine block", lambda: RefResnetGenerator(8, 9, "instance_affine", block_name="block"), 64),
    ("resnet9 batch dropout", lambda: RefResnetGenerator(4, 9, "batch", dropout=True), 64),
    ("unet128 batch", lambda: RefUnetGenerator(7, 4, "batch"), 128),
    ("unet256 instance", lambda: RefUnetGenerator(8, 4, "instance"), 256),
]


@pytest.mark.parametrize("name, build, size", OFFICIAL, ids=[o[0] for o in OFFICIAL])
@pytest.mark.parametrize("prefix", ["", "module."])
def test_official_layouts_load_and_compute_the_same(name, build, size, prefix, tmp_path: Path) -> None:
    reference = randomise(build()).eval()
    state = {prefix + k: v for k, v in reference.state_dict().items()}
    path = tmp_path / "latest_net_G.pth"
    torch.save(state, path)

    model = load_generator(path)

    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        expected = reference(x.clone())
        actual = model(x.clone())
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-4)
    # A model that loads but is wrongly wired would differ from the reference by far more.
    assert expected.std() > 0.05


def test_detected_specs_describe_the_official_networks(tmp_path: Path) -> None:
    cases = {
        "r": (
            RefResnetGenerator(8, 6, "batch", dropout=True),
            GeneratorSpec("resnet", 8, 6, norm="batch", dropout=True),
        ),
        "u": (RefUnetGenerator(8, 4, "instance"), GeneratorSpec("unet", 4, num_downs=8, norm="instance", dropout=True)),
    }
    for key, (reference, spec) in cases.items():
        torch.save(reference.state_dict(), tmp_path / f"{key}.pth")
        assert load_generator(tmp_path / f"{key}.pth").spec == spec


def test_wrapped_state_dict_is_unwrapped(tmp_path: Path) -> None:
    reference = randomise(RefResnetGenerator(4, 6, "instance")).eval()
    torch.save({"state_dict": reference.state_dict(), "epoch": 3}, tmp_path / "wrapped.pth")
    assert load_generator(tmp_path / "wrapped.pth").spec.n_blocks == 6


def test_real_teacher_loads_and_turns_photos_vintage(teacher_path: Path, horse2zebra_dir: Path) -> None:
    teacher = load_generator(teacher_path)
    assert teacher.spec == GeneratorSpec("resnet", ngf=64, n_blocks=9, norm="instance_affine")
    assert sum(p.numel() for p in teacher.parameters()) == 11_388_675
    photo = sorted((horse2zebra_dir / "testA").iterdir())[0]
    image = Image.open(photo).convert("RGB").resize((128, 128), Image.BICUBIC)
    x = torch.from_numpy(__import__("numpy").asarray(image).copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
    with torch.no_grad():
        y = teacher(x)
    # The output is the same photo restyled: strongly correlated with the input, but not a copy.
    corr = torch.corrcoef(torch.stack([x.mean(1).flatten(), y.mean(1).flatten()]))[0, 1]
    assert corr > 0.6
    assert (y - x).abs().mean() > 0.03


def test_reko_checkpoint_round_trip_keeps_spec_weights_and_metadata(tmp_path: Path) -> None:
    spec = GeneratorSpec("unet", ngf=4, num_downs=7, norm="batch")
    model = create_generator(spec)
    path = save_generator(model, tmp_path / "student.safetensors", {"teacher": "t.pth", "step": 12})
    loaded = load_generator(path)
    assert loaded.spec == spec
    assert read_metadata(path)["teacher"] == "t.pth"
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    assert [p.name for p in tmp_path.iterdir()] == ["student.safetensors"]  # no temporary left behind


def test_unknown_layout_names_the_file_layouts_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "classifier.pth"
    torch.save({"features.0.weight": torch.zeros(3), "fc.bias": torch.zeros(2)}, path)
    with pytest.raises(RekoError) as info:
        load_generator(path)
    message = str(info.value)
    assert str(path) in message and "ResNet" in message and "U-Net" in message and "features.0.weight" in message


def test_wrong_shapes_are_reported(tmp_path: Path) -> None:
    state = RefResnetGenerator(8, 6, "instance").state_dict()
    state["model.4.weight"] = torch.zeros(5, 5, 3, 3)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(RekoError, match="down1.0.weight"):
        load_generator(tmp_path / "bad.pth")


@pytest.mark.parametrize("kind", ["truncated", "text", "empty", "truncated_safetensors"])
def test_broken_files_fail_cleanly(kind: str, tmp_path: Path) -> None:
    good = tmp_path / "good.pth"
    torch.save(RefResnetGenerator(4, 6, "instance").state_dict(), good)
    path = tmp_path / f"{kind}.pth"
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[: os.path.getsize(good) // 2])
    elif kind == "text":
        path.write_text("this is not a checkpoint\n")
    elif kind == "empty":
        path.write_bytes(b"")
    else:
        full = save_generator(create_generator(GeneratorSpec(ngf=4, n_blocks=2)), tmp_path / "s.safetensors")
        path = tmp_path / "cut.safetensors"
        path.write_bytes(full.read_bytes()[:-100])
    with pytest.raises(RekoError, match=str(path.name)):
        load_generator(path)


class _RunsCode:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, ("echo pwned > /dev/null",))


def test_checkpoints_that_would_run_code_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    with path.open("wb") as f:
        pickle.dump({"model.1.weight": _RunsCode()}, f)
    with pytest.raises(RekoError, match="refused"):
        load_generator(path)


def test_missing_checkpoint_is_named(tmp_path: Path) -> None:
    with pytest.raises(RekoError, match="nope.pth does not exist"):
        load_generator(tmp_path / "nope.pth")


# ----------------------------------------------------------------------------- spec metadata read from files


def _with_spec_metadata(tmp_path: Path, spec_text: str) -> Path:
    """A small, valid reko checkpoint whose ``reko.spec`` metadata is replaced by ``spec_text``."""
    from safetensors.torch import save_file

    model = create_generator(GeneratorSpec(ngf=4, n_blocks=2))
    path = tmp_path / "crafted.safetensors"
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"reko.format": "reko.generator/1", "reko.spec": spec_text})
    return path


BAD_SPECS = [
    ('{"n_blocks": 100000000}', r"n_blocks must be in \[1, 100\], got 100000000"),
    ('{"ngf": 200000}', r"ngf must be in \[1, 1024\], got 200000"),
    ('{"n_blocks": 1e8}', r"n_blocks must be an integer, got 1(00000000)?\.0"),
    ("not json", r"not JSON"),
    ("null", r"must be a mapping of its fields, got None"),
    ('"resnet"', r"must be a mapping of its fields, got 'resnet'"),
    ("[1, 2]", r"must be a mapping"),
    ('{"ngf": "64"}', r"ngf must be an integer, got '64'"),
    ('{"ngf": true}', r"ngf must be an integer, got True"),
    ('{"dropout": "yes"}', r"dropout must be true or false, got 'yes'"),
    ('{"family": "transformer"}', r"family 'transformer' is not one of"),
    ('{"norm": 3}', r"norm 3 is not one of"),
    ('{"ngf": -4}', r"ngf must be in \[1, 1024\], got -4"),
    ('{"wings": 2}', r"unknown generator spec keys \['wings'\]"),
    ('{"in_channels": 1000000}', r"in_channels must be in \[1, 16\]"),
]


@pytest.mark.parametrize(("spec_text", "message"), BAD_SPECS, ids=[b[0] for b in BAD_SPECS])
def test_malformed_or_huge_spec_metadata_is_refused_before_building(
    spec_text: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command reads specs from files: a crafted one must be one clear error, never a build."""
    from reko.models import checkpoint

    path = _with_spec_metadata(tmp_path, spec_text)
    built: list[GeneratorSpec] = []
    monkeypatch.setattr(checkpoint, "create_generator", lambda spec, **kw: built.append(spec))
    with pytest.raises(RekoError, match=rf"crafted\.safetensors: unusable reko\.spec metadata: .*{message}"):
        load_generator(path)
    assert built == []


@pytest.mark.parametrize(
    "spec", [GeneratorSpec(ngf=1024, n_blocks=100), GeneratorSpec(ngf=8, n_blocks=2)], ids=["huge-valid", "wider"]
)
def test_a_spec_that_does_not_match_the_files_tensors_is_refused_before_allocating(
    spec: GeneratorSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An in-range spec (even the largest allowed) is checked against the header's tensor shapes,
    on the meta device, before any real network is built."""
    from reko.models import checkpoint

    path = _with_spec_metadata(tmp_path, spec.to_json())
    built: list[GeneratorSpec] = []
    real = checkpoint.create_generator
    monkeypatch.setattr(checkpoint, "create_generator", lambda s, **kw: built.append(s) or real(s, **kw))
    with pytest.raises(RekoError, match=r"crafted\.safetensors: weights do not fit"):
        load_generator(path)
    assert built == [spec]  # only the meta-device build that computes the expected shapes
    assert checkpoint.expected_shapes(spec)["stem.1.weight"] == (spec.ngf, 3, 7, 7)


def test_spec_from_dict_accepts_what_to_json_writes() -> None:
    for spec in (GeneratorSpec(), GeneratorSpec(family="unet", num_downs=7, norm="batch", dropout=True, ngf=8)):
        assert GeneratorSpec.from_json(spec.to_json()) == spec
