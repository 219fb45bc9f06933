"""What does FID at N~260 reward? Inference-only checks of the vintage benchmark's metric.

The vintage mimicry benchmark (benchmarks/quality.py) scores students by the FID/KID of their
outputs against the teacher's outputs on the 260 horse2zebra test photos at 128x128. Here the
teacher's own outputs are degraded in known ways and scored against the undegraded outputs with
the same metric code (`reko.eval.featureset.compare`, clean-fid protocol, TF-Inception), at the
same N, so a reader can see how many FID points a blur, a colour cast, noise or JPEG costs.

Degradations (on the 8-bit outputs; ours, chosen before the numbers were seen):

* Gaussian blur, sigma 0.5 / 1 / 2 pixels (scipy ``gaussian_filter``, reflected borders);
* a warm colour cast (red up, blue down by the same amount), calibrated by bisection so that a
  student at the benchmark's typical PSNR to the teacher (18.4 dB: ReKo and the output-L1
  methods at ngf 24) would lose 1 dB and 2 dB: a cast alone of 24.3 dB and 20.7 dB PSNR
  (independent errors add in MSE: 10^(-18.4/10) (10^(d/10) - 1) = the cast's MSE);
* Gaussian noise, sigma 2 % and 5 % of the range;
* JPEG, quality 75 / 50 / 25 (Pillow).

    python benchmarks/metric_checks.py [--shared ../shared]   # ~5 min on one thread

Writes ``benchmarks/results/metric_checks.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEACHER = "weights/teachers/vintage_resnet9_ngf64_G_A2B.pth"
SIZE = 128
STUDENT_PSNR_DB = 18.4  # the vintage benchmark's reko / output students at ngf 24 (docs/benchmarks.md)

Pixels = np.ndarray  # (N, H, W, 3) uint8


def blur(sigma: float) -> Callable[[Pixels], Pixels]:
    from scipy.ndimage import gaussian_filter

    def apply(images: Pixels) -> Pixels:
        out = [gaussian_filter(image.astype(np.float64), sigma=(sigma, sigma, 0), mode="reflect") for image in images]
        return np.clip(np.round(np.stack(out)), 0, 255).astype(np.uint8)

    return apply


def colour_cast(delta: float) -> Callable[[Pixels], Pixels]:
    """Red + ``delta``, blue - ``delta`` (in 0..255 units)."""

    def apply(images: Pixels) -> Pixels:
        shifted = images.astype(np.float64) + np.array([delta, 0.0, -delta])
        return np.clip(np.round(shifted), 0, 255).astype(np.uint8)

    return apply


def noise(sigma: float, seed: int = 0) -> Callable[[Pixels], Pixels]:
    def apply(images: Pixels) -> Pixels:
        rng = np.random.default_rng(seed)
        noisy = images.astype(np.float64) + rng.normal(0.0, sigma * 255.0, size=images.shape)
        return np.clip(np.round(noisy), 0, 255).astype(np.uint8)

    return apply


def jpeg(quality: int) -> Callable[[Pixels], Pixels]:
    from PIL import Image

    def apply(images: Pixels) -> Pixels:
        out = []
        for image in images:
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
            out.append(np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")))
        return np.stack(out)

    return apply


def psnr(a: Pixels, b: Pixels) -> float:
    """Mean over images of the per-image PSNR (dB, 8-bit range)."""
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).reshape(len(a), -1).mean(axis=1)
    return float(np.mean(10.0 * np.log10(255.0**2 / np.maximum(mse, 1e-12))))


def calibrate_cast(images: Pixels, target_db: float) -> float:
    """The cast ``delta`` whose PSNR against ``images`` is ``target_db`` (bisection, 30 steps)."""
    low, high = 0.0, 128.0
    for _ in range(30):
        middle = (low + high) / 2.0
        if psnr(colour_cast(middle)(images), images) > target_db:
            low = middle
        else:
            high = middle
    return (low + high) / 2.0


def cast_psnr_for_loss(loss_db: float, student_db: float = STUDENT_PSNR_DB) -> float:
    """PSNR of a cast that, added to a student's independent error at ``student_db``, costs ``loss_db``."""
    student_mse = 10.0 ** (-student_db / 10.0)
    return -10.0 * math.log10(student_mse * (10.0 ** (loss_db / 10.0) - 1.0))


def teacher_outputs(shared: Path) -> Pixels:
    from reko.compare.evaluation import load_eval_images, translate_all
    from reko.eval.protocols import quantize
    from reko.models import load_generator

    teacher = load_generator(shared / TEACHER)
    folders = [shared / "data" / "horse2zebra" / name for name in ("testA", "testB")]
    inputs = [load_eval_images(f, SIZE, False, "AtoB", teacher.spec.size_multiple, None).inputs for f in folders]
    import torch

    return quantize(translate_all(teacher, torch.cat(inputs), 8))


def markdown(payload: dict[str, Any]) -> str:
    lines = [
        "# What FID/KID at N=260 reward: degraded teacher outputs against the undegraded ones",
        "",
        f"Command: `{payload['command']}`. The vintage teacher's outputs on the {payload['images']} horse2zebra "
        f"test photos at {SIZE}x{SIZE}; each degraded copy scored against the undegraded outputs (clean-fid "
        "protocol, TF-Inception; KID x1000). PSNR: of the degraded copy against the undegraded one.",
        "",
        "| degradation | PSNR (dB) | FID | KID x1000 |",
        "|---|---|---|---|",
    ]
    for row in payload["rows"]:
        shown = "∞" if math.isinf(row["psnr"]) else f"{row['psnr']:.2f}"
        lines.append(f"| {row['name']} | {shown} | {row['fid']:.2f} | {row['kid'] * 1000:.2f} |")
    lines += ["", f"Machine: {payload['machine']}; {payload['seconds']:.0f} s.", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=os.environ.get("REKO_SHARED", str(ROOT.parent / "shared")))
    parser.add_argument("--inception", default=None)
    args = parser.parse_args()
    shared = Path(args.shared)

    import torch

    from reko.eval.features import FeatureExtractor
    from reko.eval.featureset import FeatureSet, compare
    from reko.eval.inception import load_inception
    from reko.eval.machine import cpu_name
    from reko.eval.report import write_json

    start = time.perf_counter()
    reference = teacher_outputs(shared)
    network = load_inception(args.inception or shared / "weights" / "inception" / "fid_inception_v3_2015_12_05.pt")
    extractor = FeatureExtractor(network, "clean", batch_size=16, num_workers=0, progress=False)

    def features(pixels: Pixels, source: str) -> FeatureSet:
        return FeatureSet(extractor.from_pixels(pixels), "clean", network.sha256, source)

    undegraded = features(reference, "teacher outputs")
    casts = {loss: calibrate_cast(reference, cast_psnr_for_loss(loss)) for loss in (1.0, 2.0)}
    degradations: list[tuple[str, Callable[[Pixels], Pixels]]] = [
        ("none (the outputs themselves)", lambda images: images),
        *[(f"blur sigma {s}", blur(s)) for s in (0.5, 1.0, 2.0)],
        *[(f"colour cast worth {loss:.0f} dB (delta {d:.1f}/255)", colour_cast(d)) for loss, d in casts.items()],
        *[(f"noise sigma {s:.0%}", noise(s)) for s in (0.02, 0.05)],
        *[(f"JPEG quality {q}", jpeg(q)) for q in (75, 50, 25)],
    ]
    rows = []
    for name, degrade in degradations:
        degraded = degrade(reference)
        distance = compare(features(degraded, name), undegraded)
        value = psnr(degraded, reference) if degraded is not reference else float("inf")
        rows.append({"name": name, "psnr": value, "fid": distance.fid, "kid": distance.kid_mean})
        print(f"{name}: PSNR {value:.2f} dB, FID {distance.fid:.2f}, KID {distance.kid_mean:.5f}", flush=True)
    payload = {
        "command": "python benchmarks/metric_checks.py " + " ".join(sys.argv[1:]),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "images": len(reference),
        "student_psnr_db": STUDENT_PSNR_DB,
        "cast_deltas": {str(k): v for k, v in casts.items()},
        "rows": rows,
        "seconds": time.perf_counter() - start,
    }
    results = ROOT / "benchmarks" / "results"
    write_json(results / "metric_checks.json", payload)
    (results / "metric_checks.md").write_text(markdown(payload), encoding="utf-8")
    print(markdown(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
