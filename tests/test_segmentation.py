"""Segmentation score: confusion-matrix arithmetic, ignored pixels, the Cityscapes label mapping,
up-sampling to the label resolution, and the DRN-D architecture and checkpoint loading.

The DRN-D-105 Cityscapes weights are not reachable from this network, so the metric runs with a
tiny network and labels made here; the DRN is checked for its key layout and output shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from reko.errors import RekoError
from reko.eval import cityscapes
from reko.eval.drn import DRNSeg
from reko.eval.segmentation import SegmentationScore, confusion_matrix, load_drn, scores_from_confusion


def test_confusion_matrix_counts_and_ignores() -> None:
    label = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 7]])  # 255 ignored, 7 outside 3 classes ignored
    prediction = torch.tensor([[0, 1, 1, 1], [2, 0, 2, 2]])
    hist = confusion_matrix(prediction, label, num_classes=3)
    expected = torch.tensor([[1, 1, 0], [0, 2, 0], [1, 0, 1]])  # rows: label, columns: prediction
    assert torch.equal(hist, expected)
    result = scores_from_confusion(hist)
    # IoU = TP / (TP + FP + FN): class 0: 1/(1+1+1), class 1: 2/(2+1+0), class 2: 1/(1+0+1)
    assert result.class_iou == pytest.approx((1 / 3, 2 / 3, 1 / 2))
    assert result.miou == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert result.pixel_accuracy == pytest.approx(4 / 6)
    assert result.mean_class_accuracy == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert result.pixels == 6


def test_absent_classes_are_left_out_of_the_mean() -> None:
    label = torch.tensor([0, 0, 1, 1])
    prediction = torch.tensor([0, 0, 1, 0])
    result = scores_from_confusion(confusion_matrix(prediction, label, num_classes=4))
    assert result.class_iou[2] is None and result.class_iou[3] is None
    assert result.miou == pytest.approx((2 / 3 + 1 / 2) / 2)  # fyu/drn's nanmean


def test_every_pixel_ignored_is_an_error() -> None:
    hist = confusion_matrix(torch.zeros(4, dtype=torch.long), torch.full((4,), 255), num_classes=19)
    with pytest.raises(RekoError, match="ignored"):
        scores_from_confusion(hist)


def test_label_id_and_colour_mapping() -> None:
    ids = np.array([[7, 8, 11, 26], [0, 9, 33, 250]])
    assert cityscapes.label_ids_to_train_ids(ids).tolist() == [[0, 1, 2, 13], [255, 255, 18, 255]]
    assert len(cityscapes.CLASS_NAMES) == 19 and cityscapes.CLASS_NAMES[0] == "road"
    train_ids = np.arange(20, dtype=np.uint8).reshape(4, 5) % 19
    colours = cityscapes.train_ids_to_colors(train_ids)
    noisy = np.clip(colours.astype(int) + np.random.default_rng(0).integers(-6, 7, colours.shape), 0, 255)
    assert np.array_equal(cityscapes.colors_to_train_ids(noisy.astype(np.uint8)), train_ids)
    odd = np.array([[[0, 0, 0], [81, 0, 81], [153, 153, 153], [255, 255, 255]]], dtype=np.uint8)
    # unlabeled and ground are ignored; pole wins over polegroup; white is far from every colour
    assert cityscapes.colors_to_train_ids(odd).tolist() == [[255, 255, 5, 255]]


class _ChannelArgmax(nn.Module):
    """A tiny segmenter: the class is the strongest colour channel, predicted at half resolution."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.avg_pool2d(x * 10, 2)  # (B, 3, H/2, W/2) class scores


def _image_of_classes(classes: torch.Tensor) -> torch.Tensor:
    """(H, W) classes 0-2 -> (1, 3, H, W) image in [-1, 1] whose class-th channel is bright."""
    image = -torch.ones(1, 3, *classes.shape)
    for c in range(3):
        image[0, c][classes == c] = 1.0
    return image


def test_segmentation_score_upsamples_to_the_label_resolution() -> None:
    classes = torch.zeros(16, 16, dtype=torch.long)
    classes[:, 8:] = 1
    classes[8:, :8] = 2
    image = _image_of_classes(classes)
    identity = {"mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}
    score = SegmentationScore(_ChannelArgmax(), num_classes=3, **identity)
    labels = torch.nn.functional.interpolate(classes[None, None].float(), size=(32, 32), mode="nearest")[0].long()
    score.update(image, labels)  # prediction at 8x8 is up-sampled to the 32x32 labels
    perfect = score.compute()
    assert perfect.miou == pytest.approx(1.0) and perfect.pixel_accuracy == pytest.approx(1.0)
    assert perfect.pixels == 32 * 32

    # Now the labels are wrong on a known block and partly ignored.
    wrong = labels.clone()
    wrong[0, :16, :16] = 1  # the top-left quarter (predicted 0) is labelled 1
    wrong[0, 16:, 16:] = 255  # the bottom-right quarter (predicted 1) is ignored
    score.reset()
    score.update(image, wrong)
    result = score.compute()
    # counted: 768 pixels; class 0 never labelled; class 1 labelled on 512 (256 right), class 2 on 256.
    assert result.pixels == 768
    assert result.pixel_accuracy == pytest.approx(512 / 768)
    assert result.class_iou == pytest.approx((0.0, 256 / 512, 1.0))
    assert result.miou == pytest.approx((0 + 0.5 + 1) / 3)


def test_segmentation_score_checks_label_shape() -> None:
    score = SegmentationScore(_ChannelArgmax(), num_classes=3)
    with pytest.raises(RekoError, match="labels"):
        score.update(torch.zeros(2, 3, 8, 8), torch.zeros(8, 8, dtype=torch.long))


def test_drn_d_105_layout_and_output() -> None:
    model = DRNSeg("drn_d_105", classes=19).eval()
    keys = model.state_dict().keys()
    for key in ("base.0.0.weight", "base.3.0.downsample.0.weight", "base.5.22.conv3.weight", "base.8.1.running_var"):
        assert key in keys
    assert {"seg.weight", "seg.bias", "up.weight"} <= set(keys)
    parameters = sum(p.numel() for p in model.parameters())
    assert 54.2e6 < parameters < 54.4e6  # 54.8M in fyu/drn's table, minus the 1000-way classifier
    with torch.inference_mode():
        out = model(torch.randn(1, 3, 32, 48))
    assert out.shape == (1, 19, 32, 48)
    assert torch.allclose(out.exp().sum(1), torch.ones(1, 32, 48), atol=1e-4)  # log-probabilities
    kernel = model.up.weight[0, 0]
    assert torch.allclose(kernel, kernel.T) and kernel.max() == pytest.approx(kernel[7, 7].item())


def test_load_drn_accepts_fyu_checkpoints(tmp_path: Path) -> None:
    model = DRNSeg("drn_d_22", classes=19)
    path = tmp_path / "drn_d_22_cityscapes.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}, "epoch": 1}, path)
    loaded = load_drn(path, name="drn_d_22")
    assert torch.equal(loaded.seg.weight, model.seg.weight)
    with pytest.raises(RekoError, match="not a drn_d_105"):
        load_drn(path, name="drn_d_105")
    with pytest.raises(RekoError, match="do not exist"):
        load_drn(tmp_path / "missing.pth")
