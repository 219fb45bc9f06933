"""Image datasets (paired, unpaired, plain folders), pix2pix transforms, and [-1, 1] tensors.

``to_tensor`` / ``to_pil`` are the one place where pixels become ``(3, H, W)`` tensors in
[-1, 1] and back; ``load_image`` is the one place files become RGB images.
"""

from reko.data.base import SeededDataset
from reko.data.folder import ImageFolderDataset
from reko.data.images import (
    IMAGE_EXTENSIONS,
    is_image_file,
    list_images,
    load_image,
    read_size,
    save_png,
    split_aligned,
    to_pil,
    to_tensor,
)
from reko.data.paired import DIRECTIONS, PairedImageDataset
from reko.data.transforms import (
    PREPROCESS_MODES,
    TransformConfig,
    TransformParams,
    apply_transform,
    item_rng,
    output_size,
    sample_params,
    transform_image,
    transform_pair,
)
from reko.data.unpaired import UnpairedImageDataset

__all__ = [
    "DIRECTIONS",
    "IMAGE_EXTENSIONS",
    "PREPROCESS_MODES",
    "ImageFolderDataset",
    "PairedImageDataset",
    "SeededDataset",
    "TransformConfig",
    "TransformParams",
    "UnpairedImageDataset",
    "apply_transform",
    "is_image_file",
    "item_rng",
    "list_images",
    "load_image",
    "output_size",
    "read_size",
    "sample_params",
    "save_png",
    "split_aligned",
    "to_pil",
    "to_tensor",
    "transform_image",
    "transform_pair",
]
