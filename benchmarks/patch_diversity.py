"""Which patches does each region selection give PatchNCE, and how alike are they?

ReKo's PatchNCE pulls the student's embedding at a selected position towards the teacher's at the
same position and pushes it away from the teacher's at the *other selected* positions: those are
its negatives. If the selection picks positions whose teacher features are nearly the same
(neighbouring cells of one bright region), the negatives are near-duplicates of the positive and
the loss pushes apart what should match. This script measures that, on the real teacher and
held-out photos, for the selections the quality benchmark compares:

- ``teacher``: top-K of the channel mean of |teacher activation| (ReKo's default, as the released code)
- ``peaks``: the K best local maxima of that same score (``distill.selection=peaks``)
- ``learned``: top-K of a trained learned scoring head (``--learned-state``: the ``state.pt`` of a
  ``distill.scoring=learned`` run, e.g. the benchmark's ``ablation_scoring_learned`` seed 0)
- ``random``: K uniformly random positions (``patchnce-random``, CUT's sampling)
- ``distinct``: top-K of the distinctiveness score (``distill.scoring=distinct``: the lowest-entropy rows
  of the teacher's patch-similarity softmax, QS-Attn's criterion)
- ``distinct_peaks``: the K best local maxima of that score (``scoring=distinct selection=peaks``)

Per tap, averaged over images (K = ``--patches``):

- ``feature_cos``: mean cosine similarity of the teacher's feature vectors over pairs of distinct
  selected positions (higher: harder, more alike negatives)
- ``near_duplicates``: fraction of selected positions whose most similar other selected position
  has cosine > 0.9 (a negative that is almost the positive)
- ``spread``: mean distance between selected positions, divided by the same for random positions
  (1 = as spread out as random; lower = clustered)
- ``masked``: fraction of the K - 1 negatives of a patch that ``distill.negative_threshold=0.9`` drops
  (teacher cosine to the positive > 0.9), and ``orphans``: fraction of patches left with no negative

    python benchmarks/patch_diversity.py --shared ../shared \\
        --learned-state runs/quality/ablation_scoring_learned/runs/reko/seed0/state.pt

Writes ``benchmarks/results/patch_diversity.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TEACHER = "weights/teachers/vintage_resnet9_ngf64_G_A2B.pth"
NEAR_DUPLICATE_COS = 0.9


def load_photos(shared: Path, size: int, count: int) -> torch.Tensor:
    """(count, 3, size, size) held-out photos in [-1, 1]: testA and testB, alternating."""
    from reko.compare.evaluation import load_eval_images

    horse2zebra = shared / "data" / "horse2zebra"
    half = (count + 1) // 2
    parts = [load_eval_images(horse2zebra / split, size, False, "AtoB", 4, half).inputs for split in ("testA", "testB")]
    return torch.stack([image for pair in zip(*parts, strict=False) for image in pair])[:count]


def learned_scorer(state_path: Path, teacher_info: Any, taps: list[str]) -> Any:
    """The trained ReKo method (learned scoring) of a run's ``state.pt``; its ``attention_heads`` score."""
    from reko.distill.reko import ReKo, ReKoConfig
    from reko.models.layers import FeatureInfo

    state = torch.load(state_path, map_location="cpu", weights_only=False)["trainable"]
    prefix = "direction.method."
    weights = {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    if not any(key.startswith("attention_heads.") for key in weights):
        raise SystemExit(f"{state_path}: no learned attention heads in this state (a distill.scoring=learned run?)")
    # The student's channel counts only size its heads: read them from the state (no student network needed).
    student_info = [
        FeatureInfo(info.name, weights[f"student_heads.{info.name.replace('.', '_')}.0.weight"].shape[1], info.stride)
        if info.name in taps
        else info
        for info in teacher_info
    ]
    method = ReKo(ReKoConfig(scoring="learned", taps=tuple(taps)), teacher_info, student_info)
    method.load_state_dict(weights)
    return method.eval()


def pair_stats(features: torch.Tensor, index: torch.Tensor, width: int) -> dict[str, torch.Tensor]:
    """Per-image similarity and distances of the selected positions. features (B, C, h, w), index (B, K)."""
    from reko.distill.losses.contrastive import near_duplicate_negatives
    from reko.distill.losses.regions import gather_positions

    gathered = gather_positions(features, index).float()  # (B, K, C)
    vectors = torch.nn.functional.normalize(gathered, dim=-1)
    cos = vectors @ vectors.transpose(1, 2)  # (B, K, K)
    dropped = near_duplicate_negatives(gathered, NEAR_DUPLICATE_COS).float().sum(dim=2)  # (B, K)
    k = index.shape[1]
    off_diagonal = ~torch.eye(k, dtype=torch.bool)
    mean_cos = cos[:, off_diagonal].mean(dim=1)
    nearest = cos.masked_fill(~off_diagonal, -2.0).amax(dim=2)  # (B, K): most similar other selected position
    rows, cols = (index // width).float(), (index % width).float()
    distance = ((rows[:, :, None] - rows[:, None, :]) ** 2 + (cols[:, :, None] - cols[:, None, :]) ** 2).sqrt()
    return {
        "feature_cos": mean_cos,
        "near_duplicates": (nearest > NEAR_DUPLICATE_COS).float().mean(dim=1),
        "distance": distance[:, off_diagonal].mean(dim=1),
        "masked": (dropped / (k - 1)).mean(dim=1),
        "orphans": (dropped == k - 1).float().mean(dim=1),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from reko.distill.losses.regions import (
        activation_score,
        distinctiveness_score,
        select_peaks,
        select_random,
        select_topk,
    )
    from reko.distill.tapped import default_taps
    from reko.distill.taps import FeatureTap
    from reko.models import load_generator

    torch.manual_seed(0)
    teacher = load_generator(Path(args.shared) / TEACHER).eval()
    taps = list(args.taps) or default_taps(teacher.feature_info)
    photos = load_photos(Path(args.shared), args.size, args.images)
    with torch.no_grad(), FeatureTap(teacher, taps) as tap:
        teacher(photos)
        features = {name: value.float() for name, value in tap.features.items()}
    scorer = learned_scorer(Path(args.learned_state), teacher.feature_info, taps) if args.learned_state else None
    generator = torch.Generator().manual_seed(0)
    results: dict[str, Any] = {}
    for name in taps:
        maps = features[name]  # (B, C, h, w)
        batch, _, height, width = maps.shape
        k = min(args.patches, height * width)
        selections = {
            "teacher": select_topk(activation_score(maps), k),
            "peaks": select_peaks(activation_score(maps), k, height, width),
            "random": select_random(batch, height * width, k, generator=generator),
        }
        distinct = torch.cat([distinctiveness_score(maps[i : i + 1]) for i in range(batch)])  # (B, N), one at a time
        selections["distinct"] = select_topk(distinct, k)
        selections["distinct_peaks"] = select_peaks(distinct, k, height, width)
        if scorer is not None:
            with torch.no_grad():
                logits = scorer.attention_heads[name.replace(".", "_")](maps).flatten(1)  # (B, h*w), as ReKo._score
            selections["learned"] = select_topk(logits, k)
        stats = {selection: pair_stats(maps, index, width) for selection, index in selections.items()}
        random_distance = stats["random"]["distance"].mean()
        results[name] = {
            "map": f"{height}x{width}",
            "patches": k,
            **{
                selection: {
                    "feature_cos": values["feature_cos"].mean().item(),
                    "near_duplicates": values["near_duplicates"].mean().item(),
                    "spread": (values["distance"].mean() / random_distance).item(),
                    "masked": values["masked"].mean().item(),
                    "orphans": values["orphans"].mean().item(),
                }
                for selection, values in stats.items()
            },
        }
    return results


def markdown(payload: dict[str, Any]) -> str:
    order = ("teacher", "peaks", "distinct", "distinct_peaks", "learned", "random")
    selections = [s for s in order if any(s in row for row in payload["taps"].values())]
    header = ["tap", "map", *[f"{s}: {m}" for s in selections for m in ("cos", "dup", "spread", "masked")]]
    lines = [
        "# Patch diversity of ReKo's region selections",
        "",
        f"Command: `{payload['command']}`",
        "",
        f"Machine: {payload['machine']}. Teacher: the real vintagify CycleGAN generator; {payload['images']} "
        f"held-out horse2zebra photos at {payload['size']}x{payload['size']}; K = {payload['patches']} per "
        "image. cos: mean cosine similarity of the teacher's features between selected positions; dup: "
        f"fraction of selected positions with another selected one at cosine > {NEAR_DUPLICATE_COS}; spread: "
        "mean distance between selected positions relative to random ones; masked: fraction of each patch's "
        f"negatives that `distill.negative_threshold={NEAR_DUPLICATE_COS}` drops. distinct: top-K of the "
        "distinctiveness score (QS-Attn's lowest-entropy rows; `distill.scoring=distinct`); distinct_peaks: its "
        "local maxima. Orphans (patches left with no negative) are in the JSON.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for tap, row in payload["taps"].items():
        cells = [tap, row["map"]]
        for selection in selections:
            values = row[selection]
            cells += [f"{values['feature_cos']:.3f}", f"{values['near_duplicates']:.2f}", f"{values['spread']:.2f}"]
            cells.append(f"{values['masked']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=os.environ.get("REKO_SHARED", str(ROOT.parent / "shared")))
    parser.add_argument("--learned-state", default=None, help="state.pt of a distill.scoring=learned run")
    parser.add_argument("--images", type=int, default=64, help="held-out photos (half testA, half testB)")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--patches", type=int, default=64, help="K, as distill.num_patches")
    parser.add_argument("--name", default="patch_diversity", help="results/NAME.json and NAME.md")
    parser.add_argument("--taps", nargs="*", default=[], help="stages to measure (default: reko's default taps)")
    args = parser.parse_args()

    from reko.eval.machine import cpu_name
    from reko.eval.report import write_json

    payload = {
        "command": "python benchmarks/patch_diversity.py " + " ".join(sys.argv[1:]),
        "machine": f"{cpu_name()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "images": args.images,
        "size": args.size,
        "patches": args.patches,
        "learned_state": args.learned_state,
        "taps": measure(args),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    write_json(RESULTS / f"{args.name}.json", payload)
    (RESULTS / f"{args.name}.md").write_text(markdown(payload), encoding="utf-8")
    print(markdown(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
