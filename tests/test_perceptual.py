"""The shift-tolerant LPIPS networks: exact architecture, released weights, the ST-LPIPS distance.

The network's outputs on a real photo are checked against a forward pass written independently in
numpy from the weight file's tensors (convolutions as sums over shifted windows).
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from reko.errors import RekoError
from reko.perceptual import weights
from reko.perceptual.distance import PerceptualDistance
from reko.perceptual.extractor import PerceptualExtractor
from reko.perceptual.network import LAYERS, PerceptualNet
from reko.perceptual.weights import linear_heads, load_perceptual_net

PHOTO = Path(__file__).resolve().parents[1] / "src" / "reko" / "demo_data" / "test" / "n02391049_2350.jpg"


def photo(size: int) -> torch.Tensor:
    """(1, 3, size, size) in [-1, 1]: the top-left crop of a shipped demo photo."""
    pixels = np.asarray(Image.open(PHOTO).convert("RGB"), dtype=np.float64)[:size, :size]
    return torch.from_numpy(pixels / 127.5 - 1.0).permute(2, 0, 1)[None].float()


# --- an independent numpy forward -----------------------------------------------------------------


def np_conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, padding: int, stride: int = 1) -> np.ndarray:
    """(C, H, W) x (O, C, k, k) -> (O, H', W'), zero padding, cross-correlation as torch defines it."""
    k = weight.shape[-1]
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    height = (x.shape[1] - k) // stride + 1
    width = (x.shape[2] - k) // stride + 1
    out = np.zeros((weight.shape[0], height, width))
    for i in range(k):
        for j in range(k):
            window = x[:, i : i + stride * height : stride, j : j + stride * width : stride]  # (C, H', W')
            out += np.einsum("oc,chw->ohw", weight[:, :, i, j], window)
    return out + (0 if bias is None else bias[:, None, None])


def np_blur(x: np.ndarray) -> np.ndarray:
    """Reflect-pad 2, [1 2 1]x[1 2 1]/16 per channel, stride 2 (written from the wheel's description)."""
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="reflect")
    kernel = np.outer([1, 2, 1], [1, 2, 1]) / 16.0
    height, width = (x.shape[1] - 3) // 2 + 1, (x.shape[2] - 3) // 2 + 1
    out = np.zeros((x.shape[0], height, width))
    for i in range(3):
        for j in range(3):
            out += kernel[i, j] * x[:, i : i + 2 * height : 2, j : j + 2 * width : 2]
    return out


def np_maxpool(x: np.ndarray, k: int) -> np.ndarray:
    """Max pool k x k, stride 1, no padding."""
    height, width = x.shape[1] - k + 1, x.shape[2] - k + 1
    return np.max([x[:, i : i + height, j : j + width] for i in range(k) for j in range(k)], axis=0)


def file_state(net: str) -> dict[str, np.ndarray]:
    path = weights.weight_file(net)
    return {k: v.double().numpy() for k, v in torch.load(path, map_location="cpu", weights_only=True).items()}


def np_input(image: torch.Tensor, state: dict[str, np.ndarray]) -> np.ndarray:
    return (image[0].double().numpy() - state["scaling_layer.shift"][0]) / state["scaling_layer.scale"][0]


def test_vgg_matches_a_numpy_forward_of_its_first_two_stages() -> None:
    s = file_state("vgg")
    image = photo(20)
    relu = lambda v: np.maximum(v, 0)  # noqa: E731
    x = relu(np_conv(np_input(image, s), s["net.slice1.0.weight"], s["net.slice1.0.bias"], 1))
    relu1_2 = relu(np_conv(x, s["net.slice1.2.weight"], s["net.slice1.2.bias"], 1))
    x = np_blur(np_maxpool(relu1_2, 2))
    x = relu(np_conv(x, s["net.slice2.6.weight"], s["net.slice2.6.bias"], 1))
    relu2_2 = relu(np_conv(x, s["net.slice2.8.weight"], s["net.slice2.8.bias"], 1))

    features = load_perceptual_net("vgg")(image, ["relu1_2", "relu2_2"])
    assert features["relu1_2"].shape == (1, 64, 20, 20)
    assert features["relu2_2"].shape == (1, 128, 11, 11)
    np.testing.assert_allclose(features["relu1_2"][0].double().numpy(), relu1_2, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(features["relu2_2"][0].double().numpy(), relu2_2, rtol=1e-4, atol=1e-4)
    assert relu2_2.max() > 0.1 and (relu2_2 > 0).mean() > 0.05  # a real response, not an all-zero map


def test_alexnet_matches_a_numpy_forward_of_its_first_stage() -> None:
    s = file_state("alex")
    image = photo(24)
    x = np_conv(np_input(image, s), s["net.slice1.0.weight"], s["net.slice1.0.bias"], 2)  # 11x11, stride 1
    relu1 = np.maximum(np_blur(x), 0)
    features = load_perceptual_net("alex")(image, ["relu1"])
    assert features["relu1"].shape == (1, 64, 10, 10)
    np.testing.assert_allclose(features["relu1"][0].double().numpy(), relu1, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("net", ["vgg", "alex"])
def test_every_tensor_of_the_weight_file_is_used(net: str) -> None:
    model = load_perceptual_net(net)
    state = model.state_dict()
    trunk = weights.trunk_state(net)
    assert set(state) == set(trunk)  # strict load: nothing missing, nothing extra
    assert all(torch.equal(state[k], trunk[k]) for k in state)
    heads = linear_heads(net)
    assert list(heads) == list(LAYERS[net][:5])
    assert all(bool((w >= 0).all()) and w.sum() > 0 for w in heads.values())
    assert not any(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("net", ["vgg", "alex"])
def test_layers_have_their_declared_channels_and_pool5(net: str) -> None:
    features = load_perceptual_net(net)(photo(64))
    assert list(features) == list(LAYERS[net])
    sizes = [f.shape[-1] for f in features.values()]
    assert sizes[-1] < sizes[-2]  # pool5 down-samples relu5


def test_distance_is_zero_for_identical_images_and_orders_real_differences() -> None:
    metric = PerceptualDistance("alex")
    image = photo(64)
    other = torch.flip(image, dims=[2])  # the same photo upside down: very different content layout
    noisy = (image + 0.05 * torch.randn(image.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    shifted = torch.roll(image, 1, dims=3)
    assert metric.scores(image, image).item() == 0.0
    near, shift, far = (
        metric.scores(image, noisy).item(),
        metric.scores(image, shifted).item(),
        metric.scores(image, other).item(),
    )
    assert 0 < shift < far and 0 < near < far
    metric.update(torch.cat([image, image]), torch.cat([image, other]))
    assert metric.compute() == pytest.approx(far / 2, rel=1e-6)


def test_distance_matches_the_lpips_formula_on_the_network_features() -> None:
    metric = PerceptualDistance("vgg")
    a, b = photo(48), torch.flip(photo(48), dims=[3])
    features = load_perceptual_net("vgg")(torch.cat([a, b]))
    heads = linear_heads("vgg")
    expected = 0.0
    for layer, w in heads.items():
        fa, fb = (f.double().numpy() for f in features[layer])
        na = fa / (np.sqrt((fa**2).sum(0, keepdims=True)) + 1e-10)
        nb = fb / (np.sqrt((fb**2).sum(0, keepdims=True)) + 1e-10)
        expected += float((w.double().numpy()[:, None, None] * (na - nb) ** 2).sum(0).mean())
    # the demo photo is 8-bit already, so quantisation changes nothing
    assert metric.scores(a, b).item() == pytest.approx(expected, rel=1e-4)


def test_extractor_passes_gradients_to_images_only() -> None:
    extractor = PerceptualExtractor("vgg", ["relu2_2"])
    image = photo(40).requires_grad_(True)
    extractor(image)["relu2_2"].mean().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is None for p in extractor.model.parameters())


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def absent(name: str) -> None:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", absent)
    with pytest.raises(RekoError, match="stlpips-pytorch==0.0.2"):
        weights.weight_file("vgg")


def test_bad_names_are_clear_errors() -> None:
    with pytest.raises(RekoError, match="not one of"):
        PerceptualNet("resnet")
    with pytest.raises(RekoError, match="valid layers"):
        load_perceptual_net("vgg")(photo(40), ["relu9"])
    with pytest.raises(RekoError, match="at least 3x3"):
        load_perceptual_net("vgg")(photo(16))
