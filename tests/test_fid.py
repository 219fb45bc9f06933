"""FID/KID on real images against an independent computation; the Inception distributions; caching.

The independent computation decodes the images with Pillow, resizes them as clean-fid does,
runs the TorchScript file directly, and computes the statistics, the Frechet distance
(``scipy.linalg.eigh``; ``scipy.linalg.sqrtm`` in the slow test) and the unbiased KID in numpy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps
from torch import nn

from reko.data import list_images, save_png, to_pil
from reko.errors import RekoError
from reko.eval.features import FeatureExtractor
from reko.eval.featureset import FeatureSet, compare
from reko.eval.fid import InceptionDistance, fid_between_folders
from reko.eval.inception import find_inception, load_inception
from reko.eval.inception_arch import BasicConv2d, FIDInceptionV3
from reko.eval.protocols import prepare, quantize
from reko.eval.reference import folder_features, load_statistics_file

COUNT = 15  # images per domain: enough for a meaningful distance, cheap on a 2-core CPU


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def network(inception_path: Path):
    return load_inception(inception_path, download=False)


@pytest.fixture(scope="module")
def extractor(network) -> FeatureExtractor:
    return FeatureExtractor(network, "clean", batch_size=10, num_workers=1, progress=False)


@pytest.fixture(scope="module")
def domains(horse2zebra_dir: Path) -> dict[str, list[Path]]:
    return {
        "horses": list_images(horse2zebra_dir / "testA")[:COUNT],
        "zebras": list_images(horse2zebra_dir / "testB")[:COUNT],
    }


@pytest.fixture(scope="module")
def features(extractor: FeatureExtractor, domains: dict[str, list[Path]]) -> dict[str, np.ndarray]:
    return {name: extractor.from_files(paths) for name, paths in domains.items()}


@pytest.fixture(scope="module")
def independent_features(inception_path: Path, domains: dict[str, list[Path]]) -> dict[str, np.ndarray]:
    """Pillow decode + clean-fid resize + the TorchScript file, written out here on purpose."""
    net = torch.jit.load(str(inception_path)).eval()

    def clean_input(path: Path) -> np.ndarray:
        with Image.open(path) as image:
            rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"), dtype=np.float32)
        planes = [np.asarray(Image.fromarray(rgb[:, :, c]).resize((299, 299), Image.BICUBIC)) for c in range(3)]
        return np.clip(np.stack(planes), 0, 255) / 128.0 - 1.0

    result = {}
    with torch.inference_mode():
        for name, paths in domains.items():
            batch = torch.from_numpy(np.stack([clean_input(p) for p in paths]).astype(np.float32))
            result[name] = net(batch).numpy()
    return result


def numpy_fid(a: np.ndarray, b: np.ndarray, use_sqrtm: bool = False) -> float:
    """FID in numpy/scipy: tr sqrt(S1 S2) as tr sqrt(S1^1/2 S2 S1^1/2) (eigh), or with sqrtm."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    if use_sqrtm:
        trace_sqrt = np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    else:
        w, v = scipy.linalg.eigh(s1)
        root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
        trace_sqrt = np.sqrt(np.clip(scipy.linalg.eigvalsh(root @ s2 @ root), 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt)


def numpy_kid(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2 with the cubic polynomial kernel over the whole (equal-sized) sets."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    d, m = a.shape[1], len(a)
    kxx, kyy, kxy = ((a @ a.T) / d + 1) ** 3, ((b @ b.T) / d + 1) ** 3, ((a @ b.T) / d + 1) ** 3
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2 * kxy.sum() / m**2)


def feature_set(features: np.ndarray, network, source: str) -> FeatureSet:
    return FeatureSet(features, "clean", network.sha256, source)


# ----------------------------------------------------------------------------- correctness


def test_the_shared_network_is_verified(network) -> None:
    assert network.kind == "features"
    assert network.verified
    assert network.sha256 == "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"


def test_features_equal_an_independent_pipeline(features, independent_features) -> None:
    for name in features:
        assert features[name].shape == (COUNT, 2048)
        difference = np.abs(features[name] - independent_features[name]).max()
        assert difference < 1e-4, f"{name}: features differ by {difference}"


def test_fid_and_kid_equal_numpy_scipy_on_real_images(features, independent_features, network) -> None:
    horses = feature_set(features["horses"], network, "horses")
    zebras = feature_set(features["zebras"], network, "zebras")
    ours = compare(horses, zebras, kid_subsets=10)
    fid_reference = numpy_fid(independent_features["horses"], independent_features["zebras"])
    kid_reference = numpy_kid(independent_features["horses"], independent_features["zebras"])
    print(f"horses vs zebras ({COUNT} each): FID ours {ours.fid:.6f} numpy {fid_reference:.6f}; "
          f"KID ours {ours.kid_mean:.8f} numpy {kid_reference:.8f}")  # fmt: skip
    assert ours.fid > 50, "horses and zebras should be far apart"
    assert abs(ours.fid - fid_reference) < 1e-3, (ours.fid, fid_reference)
    assert ours.kid_mean is not None and abs(ours.kid_mean - kid_reference) < 1e-3, (ours.kid_mean, kid_reference)
    assert abs(ours.kid_mean - kid_reference) < 1e-6 * max(1.0, abs(kid_reference))
    assert ours.kid_std is None  # every subset is the whole set here: no spread to report
    assert ours.protocol == "clean" and ours.network_sha256 == network.sha256


def test_fid_of_a_set_with_itself_is_zero(features, network) -> None:
    horses = feature_set(features["horses"], network, "horses")
    same = compare(horses, feature_set(features["horses"].copy(), network, "horses again"), kid=False)
    print(f"FID(horses, horses) = {same.fid:.3e}")
    assert abs(same.fid) < 1e-6


@pytest.mark.slow  # the general form is also checked against sqrtm at 64 dimensions in test_metrics.py
def test_statistics_only_reference_gives_the_same_fid(features, network) -> None:
    """A pytorch-fid style reference (mu, sigma only) goes through the general (full-matrix) form."""
    horses = feature_set(features["horses"], network, "horses")
    zebras = feature_set(features["zebras"], network, "zebras")
    mu, sigma = zebras.statistics()
    stats_only = FeatureSet.from_statistics(mu, sigma, COUNT, "clean", network.sha256, "zebra stats")
    with_features = compare(horses, zebras, kid=False).fid
    without = compare(FeatureSet.from_statistics(*horses.statistics(), COUNT, "clean", network.sha256, "h"), stats_only)
    print(f"FID low-rank {with_features:.6f}, general {without.fid:.6f}")
    assert abs(with_features - without.fid) < 1e-3
    assert without.kid_mean is None


@pytest.mark.slow
def test_fid_equals_scipy_sqrtm(features, independent_features, network) -> None:
    """pytorch-fid's own formula (scipy.linalg.sqrtm, ~40 s on 2 cores for 2048 dimensions)."""
    ours = compare(feature_set(features["horses"], network, "h"), feature_set(features["zebras"], network, "z"))
    reference = numpy_fid(independent_features["horses"], independent_features["zebras"], use_sqrtm=True)
    assert abs(ours.fid - reference) < 1e-3, (ours.fid, reference)


def test_protocols_give_different_inputs_and_legacy_is_bilinear(domains) -> None:
    pixels = np.asarray(Image.open(domains["horses"][0]).convert("RGB"))
    clean, legacy = prepare(pixels, "clean"), prepare(pixels, "legacy")
    assert clean.shape == legacy.shape == (3, 299, 299)
    unit = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float()[None] / 255
    expected = F.interpolate(unit, size=(299, 299), mode="bilinear", align_corners=False)[0] * 2 - 1
    assert torch.allclose(legacy, expected, atol=1e-6)
    assert (clean - legacy).abs().max() > 0.01  # bicubic vs bilinear, /128 vs /127.5
    with pytest.raises(RekoError, match="protocol"):
        prepare(pixels, "tensorflow")


def test_protocols_are_refused_when_mixed(features, network) -> None:
    clean = feature_set(features["horses"], network, "clean horses")
    legacy = FeatureSet(features["zebras"], "legacy", network.sha256, "legacy zebras")
    with pytest.raises(RekoError, match="different protocols"):
        compare(clean, legacy)


def test_generated_tensors_equal_their_saved_pngs(extractor, tmp_path: Path) -> None:
    """Evaluating in memory and evaluating the saved files give the same features."""
    images = torch.rand(2, 3, 64, 80, generator=torch.Generator().manual_seed(0)) * 2.2 - 1.1  # some out of range
    for i, image in enumerate(images):
        save_png(to_pil(image), tmp_path / f"{i}.png")
    assert np.array_equal(quantize(images)[1], np.asarray(to_pil(images[1])))
    in_memory = extractor.from_tensors(images)
    from_files = extractor.from_files(sorted(tmp_path.glob("*.png")))  # decoded by a thread
    assert np.abs(in_memory - from_files).max() < 1e-5
    serial = FeatureExtractor(extractor.network, "clean", batch_size=1, num_workers=0, progress=False)
    assert np.abs(serial.from_files(sorted(tmp_path.glob("*.png"))) - from_files).max() < 1e-5


def test_inception_distance_accumulates_and_resets(extractor, features, network) -> None:
    zebras = feature_set(features["zebras"], network, "zebras")
    metric = InceptionDistance(extractor, zebras, kid_subsets=5)
    with pytest.raises(RekoError, match="update"):
        metric.compute()
    metric.update_features(features["horses"][:10])
    metric.update_features(features["horses"][10:])
    whole = compare(feature_set(features["horses"], network, "h"), zebras, kid_subsets=5)
    assert metric.compute().fid == pytest.approx(whole.fid, abs=1e-9)
    metric.reset()
    metric.update(torch.zeros(1, 3, 32, 32))
    assert metric.features().count == 1


# ----------------------------------------------------------------------------- distributions


def _pytorch_fid_state_from(torchscript: nn.Module) -> dict[str, torch.Tensor]:
    """The shared TorchScript weights in pytorch-fid's key layout (same graph, same layer order)."""
    source = torchscript.state_dict()
    prefixes = [k[: -len(".weight")] for k in source if k.endswith(".weight")]
    target = FIDInceptionV3()
    names = [n for n, m in target.named_modules() if isinstance(m, BasicConv2d)]
    assert len(prefixes) == len(names) == 94
    state: dict[str, torch.Tensor] = {}
    for prefix, name in zip(prefixes, names, strict=True):
        state[f"{name}.conv.weight"] = source[f"{prefix}.weight"]
        state[f"{name}.bn.weight"] = torch.ones_like(source[f"{prefix}.beta"])  # TF batch norm has no scale
        state[f"{name}.bn.bias"] = source[f"{prefix}.beta"]
        state[f"{name}.bn.running_mean"] = source[f"{prefix}.mean"]
        state[f"{name}.bn.running_var"] = source[f"{prefix}.var"]
    state["fc.weight"], state["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)
    return state


@pytest.fixture(scope="module")
def prepared_batch(domains) -> torch.Tensor:
    return torch.stack([prepare(np.asarray(Image.open(p).convert("RGB")), "clean") for p in domains["horses"][:1]])


def test_pytorch_fid_state_dict_architecture(network, prepared_batch, tmp_path: Path) -> None:
    """pytorch-fid's file cannot be downloaded here: a state dict of its layout is built from the
    shared weights, saved without num_batches_tracked (as the 2019 file), loaded, and must give
    the same features; a randomly initialised one must load too."""
    state = _pytorch_fid_state_from(network.net)
    converted = tmp_path / "converted_pt_inception.pth"
    torch.save(state, converted)
    loaded = load_inception(converted, download=False)
    assert loaded.kind == "pytorch_fid" and not loaded.verified
    with torch.inference_mode():
        difference = (loaded(prepared_batch) - network(prepared_batch)).abs().max()
    assert difference < 1e-4

    random = tmp_path / "random.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in FIDInceptionV3().state_dict().items()}}, random)
    with torch.inference_mode():
        assert load_inception(random, download=False)(prepared_batch).shape == (1, 2048)


def test_pytorch_fid_file_name_with_wrong_checksum_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(FIDInceptionV3().state_dict(), fake)
    with pytest.raises(RekoError, match="checksum mismatch"):
        load_inception(fake, download=False)


def test_a_state_dict_of_another_network_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.pth"
    torch.save(nn.Linear(3, 4).state_dict(), other)
    with pytest.raises(RekoError, match="pytorch-fid"):
        load_inception(other, download=False)


class _NvidiaStyle(nn.Module):
    """NVIDIA's interface: uint8-range input, resize inside, ``return_features``."""

    def __init__(self, layers: nn.Module) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, img: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = img.float()
        if x.shape[2] != 299 or x.shape[3] != 299:
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        features = self.layers((x - 128) / 128)
        return features if return_features else features[:, :1008]


def test_nvidia_torchscript_interface(network, prepared_batch, tmp_path: Path) -> None:
    path = tmp_path / "nvidia_style.pt"
    torch.jit.save(torch.jit.script(_NvidiaStyle(network.net)), str(path))
    loaded = load_inception(path, download=False, trust=True)  # a TorchScript file of unknown checksum
    assert loaded.kind == "nvidia" and not loaded.verified
    with torch.inference_mode():
        assert (loaded(prepared_batch) - network(prepared_batch)).abs().max() < 1e-4


def test_a_torchscript_file_of_unknown_checksum_is_refused_before_it_is_opened(
    network, tmp_path: Path, monkeypatch, capsys
) -> None:
    """TorchScript runs code on load: only the official checksums load without --trust-inception."""
    from reko.cli import main
    from reko.eval import inception

    path = tmp_path / "crafted.pt"
    torch.jit.save(torch.jit.script(_NvidiaStyle(network.net)), str(path))
    opened: list[str] = []
    real_load = torch.jit.load
    monkeypatch.setattr(torch.jit, "load", lambda f, *a, **k: opened.append(str(f)) or real_load(f, *a, **k))
    with pytest.raises(RekoError, match=r"crafted\.pt: refused to load a TorchScript file.*--trust-inception"):
        load_inception(path, download=False)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(folder / f"{i}.png")
    assert main(["fid", str(folder), str(folder), "--inception", str(path), "--no-download"]) == 2
    error = capsys.readouterr().err
    assert "--trust-inception" in error and "Traceback" not in error
    assert opened == []  # never handed to torch.jit.load
    assert inception.TRUSTED_TORCHSCRIPT == {inception.SOURCES["features"].sha256}
    assert load_inception(path, download=False, trust=True).kind == "nvidia" and len(opened) == 1


def test_the_official_checksums_are_recorded_and_the_default_download_cannot_run_code() -> None:
    from reko.eval import inception

    pytorch_fid = inception.SOURCES["pytorch_fid"]
    assert pytorch_fid.sha256 is not None and pytorch_fid.sha256.startswith(pytorch_fid.sha256_prefix or "-")
    assert not pytorch_fid.torchscript and inception.DEFAULT_DOWNLOAD == "pytorch_fid"


def test_trust_inception_is_explained_in_every_fid_command_help(capsys) -> None:
    from reko.cli import main

    for command in ("fid", "eval", "compare", "export", "demo"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "--trust-inception" in text and "runs the code it carries when loaded" in text, command


def test_find_inception_order_and_errors(inception_path: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REKO_INCEPTION", str(inception_path))
    assert find_inception() == inception_path
    assert find_inception(inception_path) == inception_path
    with pytest.raises(RekoError, match="does not exist"):
        find_inception(tmp_path / "missing.pt")
    monkeypatch.setenv("REKO_INCEPTION", str(tmp_path / "missing.pt"))
    with pytest.raises(RekoError, match="REKO_INCEPTION"):
        find_inception()
    monkeypatch.delenv("REKO_INCEPTION")
    monkeypatch.setenv("REKO_SHARED", str(tmp_path / "nowhere"))
    monkeypatch.setenv("REKO_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RekoError, match="nvlabs-fi-cdn.nvidia.com"):
        find_inception(download=False)
    cached = tmp_path / "cache" / "inception" / "inception-2015-12-05.pt"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"")
    assert find_inception(download=False) == cached


# ----------------------------------------------------------------------------- folders and cache


def test_reference_cache_is_keyed_by_content(extractor, domains, tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "real"
    folder.mkdir()
    for path in domains["zebras"][:2]:
        shutil.copy(path, folder / path.name)
    cache = tmp_path / "cache"
    first = folder_features(folder, extractor, cache_root=cache)
    assert len(list(cache.glob("*.npz"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("features were recomputed although cached")

    with monkeypatch.context() as patch:
        patch.setattr(extractor, "from_files", fail)
        again = folder_features(folder, extractor, cache_root=cache)
    assert np.array_equal(first.features, again.features)
    assert again.protocol == "clean" and again.network_sha256 == extractor.network.sha256

    # One changed image is another key: recomputed, never stale.
    image = Image.open(folder / domains["zebras"][0].name).convert("RGB")
    image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / domains["zebras"][0].name)
    changed = folder_features(folder, extractor, cache_root=cache)
    assert len(list(cache.glob("*.npz"))) == 2
    assert not np.array_equal(first.features, changed.features)

    # The cache file is a pytorch-fid compatible statistics file.
    stats = load_statistics_file(sorted(cache.glob("*.npz"))[0])
    assert stats.features is not None and stats.statistics()[0].shape == (2048,)


def test_fid_between_folders(extractor, domains, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REKO_CACHE", str(tmp_path / "cache"))
    folders = {}
    for name in ("horses", "zebras"):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        for path in domains[name][:3]:
            (folders[name] / path.name).symlink_to(path)
    distance = fid_between_folders(folders["horses"], folders["zebras"], extractor, kid_subsets=4)
    assert distance.count == distance.reference_count == 3
    assert distance.fid > 0 and distance.kid_mean is not None
    assert distance.kid_subset_size == 3 and distance.kid_subsets == 4
