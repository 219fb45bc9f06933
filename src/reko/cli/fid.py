"""FID and KID between two folders of images (or a folder and a statistics .npz).

DIR_A is the generated set, DIR_B the reference; DIR_B's features are cached (keyed by its
files' contents, the network and the protocol). The network is TensorFlow's 2015-12-05
InceptionV3 (--inception, $REKO_INCEPTION, the shared folder, the cache, or a download).
A TorchScript Inception file runs code when loaded: one whose sha256 is not an official
distribution's is refused unless --trust-inception is given (use only files you trust).
Protocol `clean` resizes to 299 with PIL bicubic (clean-fid); `legacy` with bilinear
F.interpolate (pytorch-fid, as GAN Compression and its successors). KID is the unbiased MMD
with the cubic polynomial kernel, mean and std over seeded random subsets.
"""

from __future__ import annotations

import argparse
import json

from reko.cli.inception_options import add_inception_file_arguments
from reko.cli.values import COUNT, THREADS, int_range
from reko.eval.features import default_workers
from reko.eval.protocols import PROTOCOLS

HELP = "FID and KID between two folders of images"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("generated", metavar="DIR_A", help="folder of generated images")
    parser.add_argument("reference", metavar="DIR_B", help="folder of real images, or a statistics .npz")
    add_inception_arguments(parser)
    parser.add_argument("--no-kid", action="store_true", help="FID only")
    parser.add_argument("--recursive", action="store_true", help="include images in sub-folders")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_inception_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags shared by `reko fid` and `reko eval`."""
    parser.add_argument("--protocol", choices=PROTOCOLS, default="clean", help="resizing protocol to 299x299")
    add_inception_file_arguments(parser)
    parser.add_argument("--no-download", action="store_true", help="never download the Inception network")
    parser.add_argument("--inception-batch", type=COUNT, default=32, help="images per Inception call")
    parser.add_argument(
        "--workers", type=int_range(0), default=default_workers(), help="image decoding workers (0: serial)"
    )
    parser.add_argument("--kid-subsets", type=COUNT, default=100, help="KID subsets")
    parser.add_argument(
        "--kid-subset-size",
        type=int_range(2, note=" (the unbiased MMD needs two images)"),
        default=1000,
        help="KID subset size (capped at set sizes)",
    )
    parser.add_argument("--seed", type=int_range(0), default=0, help="seed of the KID subsets")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write cached reference features")
    parser.add_argument("--threads", type=THREADS, help="torch threads (default: torch's choice)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def build_extractor(args: argparse.Namespace):  # noqa: ANN201 - keeps torch imports lazy
    import torch

    from reko.eval.features import FeatureExtractor
    from reko.eval.inception import load_inception

    if args.threads:
        torch.set_num_threads(args.threads)
    network = load_inception(args.inception, download=not args.no_download, trust=args.trust_inception)
    return FeatureExtractor(
        network, args.protocol, batch_size=args.inception_batch, num_workers=args.workers, progress=not args.no_progress
    )


def run(args: argparse.Namespace) -> int:
    from reko.eval.fid import fid_between_folders

    extractor = build_extractor(args)
    distance = fid_between_folders(
        args.generated,
        args.reference,
        extractor,
        kid=not args.no_kid,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        seed=args.seed,
        cache_reference=not args.no_cache,
        recursive=args.recursive,
    )
    result = {"generated": args.generated, "reference": args.reference, **distance.to_dict()}
    result["inception"] = extractor.network.describe()
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"FID  {distance.fid:.4f}")
    if distance.kid_mean is not None and distance.kid_std is not None:
        print(f"KID  {distance.kid_mean:.6f} +- {distance.kid_std:.6f}  ({distance.kid_subsets} subsets of "
              f"{distance.kid_subset_size})")  # fmt: skip
    elif distance.kid_mean is not None:  # both sets whole in every subset: no spread
        print(f"KID  {distance.kid_mean:.6f}  (whole sets of {distance.kid_subset_size}: no subset spread)")
    network = extractor.network
    print(f"images {distance.count} vs {distance.reference_count}; protocol {distance.protocol}; Inception "
          f"{network.kind} sha256 {network.sha256[:12]}{'' if network.verified else ' (unverified)'}")  # fmt: skip
    return 0
