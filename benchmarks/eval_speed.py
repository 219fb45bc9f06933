"""How fast reko computes FID/KID on this machine.

Measures, on real 256x256 JPEGs (horse2zebra from the shared folder):

1. decode + clean resize alone (images/s, one process);
2. the Inception network alone on prepared batches (images/s);
3. feature extraction from files end to end, serial (``--workers 0``) and with decoding in a
   worker process overlapping the network (``--workers 1``);
4. FID + KID (100 subsets) of 500 images against cached reference features: total time,
   split into feature extraction and the mathematics.

Writes ``benchmarks/results/eval_speed.json`` and ``eval_speed.md``. Run from the repository:

    python benchmarks/eval_speed.py [--shared ../shared] [--threads 2] [--images 200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from reko.data import list_images, load_image
from reko.eval.features import FeatureExtractor
from reko.eval.featureset import FeatureSet, compare
from reko.eval.fid import fid_between_folders
from reko.eval.inception import load_inception
from reko.eval.protocols import prepare
from reko.eval.reference import folder_features

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("REKO_SHARED", "../shared")))
    parser.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="torch threads")
    parser.add_argument("--images", type=int, default=200, help="images for the throughput runs")
    parser.add_argument("--batch-size", type=int, default=32, help="images per Inception call")
    parser.add_argument("--fid-images", type=int, default=500, help="generated images for the FID+KID timing")
    parser.add_argument("--protocol", default="clean")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = args.shared / "data" / "horse2zebra"
    pool = list_images(data / "trainA") + list_images(data / "testA") + list_images(data / "testB")
    network = load_inception(args.shared / "weights" / "inception" / "fid_inception_v3_2015_12_05.pt")
    load_before = os.getloadavg()
    results: dict[str, object] = {"machine": _machine(args.threads), "protocol": args.protocol}
    sample = pool[: args.images]

    # 1. Decoding and resizing alone.
    start = time.perf_counter()
    prepared = [prepare(np.asarray(load_image(p)), args.protocol) for p in sample]
    decode = len(sample) / (time.perf_counter() - start)

    # 2. The network alone (after one warm-up batch).
    extractor = FeatureExtractor(network, args.protocol, batch_size=args.batch_size, num_workers=0, progress=False)
    batch = torch.stack(prepared[: args.batch_size])
    extractor.from_prepared(batch)
    start = time.perf_counter()
    for begin in range(0, len(prepared), args.batch_size):
        extractor.from_prepared(torch.stack(prepared[begin : begin + args.batch_size]))
    network_rate = len(prepared) / (time.perf_counter() - start)
    del prepared

    # 3. End to end from files, serial and overlapped.
    end_to_end = {}
    for workers in (0, 1):
        extractor = FeatureExtractor(network, args.protocol, args.batch_size, num_workers=workers, progress=False)
        start = time.perf_counter()
        extractor.from_files(sample)
        end_to_end[workers] = len(sample) / (time.perf_counter() - start)
    results["throughput_images_per_s"] = {
        "decode_and_resize_only": round(decode, 1),
        "inception_only": round(network_rate, 2),
        "files_serial_workers_0": round(end_to_end[0], 2),
        "files_overlapped_workers_1": round(end_to_end[1], 2),
        "images": len(sample),
        "image_size": "256x256 JPEG",
        "batch_size": args.batch_size,
    }

    # 4. FID + KID of --fid-images images against cached reference features.
    with tempfile.TemporaryDirectory(prefix="reko-bench-") as tmp:
        generated = Path(tmp) / "generated"
        generated.mkdir()
        for path in pool[: args.fid_images]:
            (generated / f"{path.parent.name}_{path.name}").symlink_to(path.resolve())
        reference_dir = data / "trainB"
        cache = Path(tmp) / "cache"
        os.environ["REKO_CACHE"] = str(cache)
        extractor = FeatureExtractor(network, args.protocol, args.batch_size, num_workers=1, progress=False)
        folder_features(reference_dir, extractor)  # fill the cache first (not timed)
        start = time.perf_counter()
        distance = fid_between_folders(generated, reference_dir, extractor, kid_subsets=100)
        total = time.perf_counter() - start
        start = time.perf_counter()
        features = folder_features(generated, extractor, cache=False)
        extraction = time.perf_counter() - start
        reference = folder_features(reference_dir, extractor)
        start = time.perf_counter()
        compare(FeatureSet(features.features, features.protocol, features.network_sha256, "g"), reference)
        math_seconds = time.perf_counter() - start
    results["fid_kid_500"] = {
        "seconds_total": round(total, 1),
        "seconds_features": round(extraction, 1),
        "seconds_fid_and_kid_math": round(math_seconds, 2),
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
    (RESULTS / "eval_speed.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "eval_speed.md").write_text(_markdown(results))
    print(_markdown(results))


def _machine(threads: int) -> dict[str, object]:
    cpu = "unknown"
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": threads,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _markdown(results: dict) -> str:
    machine, rate, fid = results["machine"], results["throughput_images_per_s"], results["fid_kid_500"]
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']} with "
        f"{machine['torch_threads']} threads; protocol `{results['protocol']}`; load average before/after "
        f"{results['load_average_before_after']}.",
        "",
        "| Inception features, 256x256 JPEGs | images/s |",
        "|---|---|",
        f"| decode + resize to 299 only (1 process) | {rate['decode_and_resize_only']} |",
        f"| Inception network only (batch {rate['batch_size']}) | {rate['inception_only']} |",
        f"| files end to end, serial (`--workers 0`) | {rate['files_serial_workers_0']} |",
        f"| files end to end, decoding overlapped (`--workers 1`) | {rate['files_overlapped_workers_1']} |",
        "",
        f"FID + KID ({fid['kid_subsets']} subsets of {fid['kid_subset_size']}) of {fid['generated_images']} images "
        f"against {fid['reference_images']} cached reference images: **{fid['seconds_total']} s** "
        f"(features {fid['seconds_features']} s, FID + KID mathematics {fid['seconds_fid_and_kid_math']} s).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
