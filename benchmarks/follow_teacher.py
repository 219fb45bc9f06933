"""How closely student checkpoints follow their teacher on held-out photos (e.g. horse2zebra testA).

For each student checkpoint: mean L1 and PSNR between the student's and the teacher's outputs
on every image of ``--images``, resized to ``--size``. ``--initial`` also scores the untrained
student of a run (re-created from the run's config and seed, exactly as the run initialised it).

    python benchmarks/follow_teacher.py --teacher ../shared/weights/teachers/vintage_resnet9_ngf64_G_A2B.pth \
        --images ../shared/data/horse2zebra/testA --size 128 --initial runs/reko_h2z_128 \
        runs/reko_h2z_128/student_latest.safetensors
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from reko.data import ImageFolderDataset, TransformConfig
from reko.distill.config import DistillConfig
from reko.gan.trainable import l1, psnr
from reko.models import load_generator
from reko.train.state import seed_everything


def initial_student(run_dir: Path) -> torch.nn.Module:
    from reko.distill.build import build_distiller, resolve_mode
    from reko.train.runner import load_run_config

    config = load_run_config(DistillConfig, run_dir)
    seed_everything(config.train.seed)  # as reko.train.runner.run_trainer does before building
    return build_distiller(config, resolve_mode(config)).generators()["student"].eval()


@torch.no_grad()
def follow(student: torch.nn.Module, teacher: torch.nn.Module, images: ImageFolderDataset) -> dict[str, float]:
    l1s, psnrs = [], []
    for i in range(len(images)):
        x = images[i]["input"].unsqueeze(0)
        s, t = student(x), teacher(x)
        l1s.append(l1(s, t).item())
        psnrs.append(psnr(s, t).item())
    return {"l1": sum(l1s) / len(l1s), "psnr": sum(psnrs) / len(psnrs), "images": len(l1s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", type=Path, required=True)
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--initial", type=Path, help="run folder whose untrained student to score too")
    parser.add_argument("checkpoints", type=Path, nargs="*")
    args = parser.parse_args()
    images = ImageFolderDataset(args.images, TransformConfig("resize", args.size, args.size, flip=False))
    teacher = load_generator(args.teacher)
    results = {}
    if args.initial:
        results["initial"] = follow(initial_student(args.initial), teacher, images)
    for path in args.checkpoints:
        results[str(path)] = follow(load_generator(path), teacher, images)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
