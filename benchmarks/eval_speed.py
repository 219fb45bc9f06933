"""How fast reko computes FID/KID on this machine.

Measures, on real 256x256 JPEGs (horse2zebra from the shared folder):

1. decode + clean resize alone (images/s, one process);
2. the Inception network alone on prepared batches (images/s);
3. feature extraction from files end to end, serial (``--workers 0``) and with decoding in a
   thread overlapping the network (``--workers 1``);
4. FID + KID (100 subsets) of 500 images against cached reference features: total time,
   split into feature extraction and the mathematics.

Writes ``benchmarks/results/eval_speed.json`` and ``eval_speed.md`` (``--name``). Run from the
repository root:

    OMP_WAIT_POLICY=PASSIVE python benchmarks/eval_speed.py [--shared ../shared] [--threads 2]

``OMP_WAIT_POLICY=PASSIVE`` (read when torch loads) keeps OpenMP threads from spin-waiting, which
on a machine shared with other jobs makes a 2-thread network 4x slower; on an idle machine it
changes little. The load average is recorded either way.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from reko.data import list_images, load_image
from reko.eval.features import FeatureExtractor
from reko.eval.featureset import compare
from reko.eval.inception import load_inception
from reko.eval.machine import machine
from reko.eval.protocols import prepare
from reko.eval.reference import folder_features

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("REKO_SHARED", "../shared")))
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="torch threads")
    parser.add_argument("--images", type=int, default=96, help="images for the throughput runs")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each throughput measurement")
    parser.add_argument("--batch-size", type=int, default=32, help="images per Inception call")
    parser.add_argument("--fid-images", type=int, default=500, help="generated images for the FID+KID timing")
    parser.add_argument("--protocol", default="clean")
    parser.add_argument("--name", default="eval_speed", help="results/NAME.json and results/NAME.md")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = args.shared / "data" / "horse2zebra"
    pool = list_images(data / "trainA") + list_images(data / "testA") + list_images(data / "testB")
    network = load_inception(args.shared / "weights" / "inception" / "fid_inception_v3_2015_12_05.pt")
    load_before = os.getloadavg()
    results: dict[str, object] = {"machine": _machine(args.threads), "protocol": args.protocol}
    sample = pool[: args.images]

    # 1. Decoding and resizing alone.
    def decode_all() -> list[torch.Tensor]:
        return [prepare(np.asarray(load_image(p)), args.protocol) for p in sample]

    decode, prepared = _rate(decode_all, len(sample), args.repeats)

    # 2. The network alone (after one warm-up batch).
    extractor = FeatureExtractor(network, args.protocol, batch_size=args.batch_size, num_workers=0, progress=False)
    extractor.from_prepared(torch.stack(prepared[: args.batch_size]))

    def network_all() -> None:
        for begin in range(0, len(prepared), args.batch_size):
            extractor.from_prepared(torch.stack(prepared[begin : begin + args.batch_size]))

    network_rate, _ = _rate(network_all, len(prepared), args.repeats)

    # 3. End to end from files, serial and overlapped.
    end_to_end = {}
    for workers in (0, 1):
        files = FeatureExtractor(network, args.protocol, args.batch_size, num_workers=workers, progress=False)
        end_to_end[workers], _ = _rate(lambda e=files: e.from_files(sample), len(sample), args.repeats)
    results["throughput_images_per_s"] = {
        "decode_and_resize_only": decode,
        "inception_only": network_rate,
        "files_serial_workers_0": end_to_end[0],
        "files_overlapped_workers_1": end_to_end[1],
        "images": len(sample),
        "repeats": args.repeats,
        "image_size": "256x256 JPEG",
        "batch_size": args.batch_size,
    }

    # 4. FID + KID of --fid-images images against cached reference features (what fid_between_folders does).
    with tempfile.TemporaryDirectory(prefix="reko-bench-") as tmp:
        generated = Path(tmp) / "generated"
        generated.mkdir()
        for path in pool[: args.fid_images]:
            (generated / f"{path.parent.name}_{path.name}").symlink_to(path.resolve())
        reference_dir = data / "trainB"
        os.environ["REKO_CACHE"] = str(Path(tmp) / "cache")
        extractor = FeatureExtractor(network, args.protocol, args.batch_size, num_workers=1, progress=False)
        folder_features(reference_dir, extractor)  # fill the cache first (not timed)
        start = time.perf_counter()
        features = folder_features(generated, extractor, cache=False)
        extracted = time.perf_counter()
        reference = folder_features(reference_dir, extractor)  # read from the cache
        loaded = time.perf_counter()
        distance = compare(features, reference, kid_subsets=100)
        done = time.perf_counter()
    results["fid_kid"] = {
        "seconds_total": round(done - start, 1),
        "seconds_features": round(extracted - start, 1),
        "seconds_reference_from_cache": round(loaded - extracted, 2),
        "seconds_fid_and_kid_math": round(done - loaded, 2),
        "generated_images": distance.count,
        "reference_images": distance.reference_count,
        "reference": "horse2zebra/trainB, features cached",
        "fid": round(distance.fid, 3),
        "kid_mean": distance.kid_mean,
        "kid_subsets": distance.kid_subsets,
        "kid_subset_size": distance.kid_subset_size,
    }
    results["load_average_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / f"{args.name}.md").write_text(_markdown(results))
    print(_markdown(results))


def _rate(work, count: int, repeats: int) -> tuple[dict[str, float], object]:
    """Images/s of ``work()`` over ``repeats`` runs: best (least disturbed) and median."""
    rates, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work()
        rates.append(count / (time.perf_counter() - start))
    return {"best": round(max(rates), 2), "median": round(float(np.median(rates)), 2)}, result


def _machine(threads: int) -> dict[str, object]:
    info = machine(threads)
    info["torch_threads"] = info.pop("threads")  # the key earlier results were written with
    return {**info, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "(default)")}


def _markdown(results: dict) -> str:
    machine, rate, fid = results["machine"], results["throughput_images_per_s"], results["fid_kid"]

    def cell(entry: dict[str, float]) -> str:
        return f"{entry['best']} | {entry['median']}"

    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']} with "
        f"{machine['torch_threads']} threads, OMP_WAIT_POLICY {machine['OMP_WAIT_POLICY']}; protocol "
        f"`{results['protocol']}`; 1-minute load average before/after {results['load_average_before_after']}.",
        "",
        f"| Inception features, {rate['images']} 256x256 JPEGs, {rate['repeats']} runs | best images/s | median |",
        "|---|---|---|",
        f"| decode + resize to 299 only (1 process) | {cell(rate['decode_and_resize_only'])} |",
        f"| Inception network only (batch {rate['batch_size']}) | {cell(rate['inception_only'])} |",
        f"| files, serial (`--workers 0`) | {cell(rate['files_serial_workers_0'])} |",
        f"| files, 1 decoding thread overlapped (`--workers 1`) | {cell(rate['files_overlapped_workers_1'])} |",
        "",
        f"FID + KID ({fid['kid_subsets']} subsets of {fid['kid_subset_size']}) of {fid['generated_images']} images "
        f"against {fid['reference_images']} cached reference images: **{fid['seconds_total']} s** = features "
        f"{fid['seconds_features']} s + reference from cache {fid['seconds_reference_from_cache']} s + FID and KID "
        f"mathematics {fid['seconds_fid_and_kid_math']} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
