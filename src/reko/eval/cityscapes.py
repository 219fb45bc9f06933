"""Cityscapes label conventions: label ids, the 19 training classes, their colours, and the
image normalisation of the DRN segmentation network.

From cityscapesScripts ``helpers/labels.py``: 34 label ids map to 19 train ids (0 road ...
18 bicycle); every other id is ignored (train id 255). Label maps come in three forms:
``*_labelIds.png`` (ids), ``*_labelTrainIds.png`` (train ids) and ``*_color.png`` (RGB, the form
pix2pix's cityscapes pairs hold, JPEG-compressed), mapped here by nearest colour.
"""

from __future__ import annotations

import numpy as np

from reko.errors import RekoError

NUM_CLASSES = 19
IGNORE_INDEX = 255

# (label id, name, train id, colour), cityscapesScripts order.
LABELS: tuple[tuple[int, str, int, tuple[int, int, int]], ...] = (
    (0, "unlabeled", 255, (0, 0, 0)),
    (1, "ego vehicle", 255, (0, 0, 0)),
    (2, "rectification border", 255, (0, 0, 0)),
    (3, "out of roi", 255, (0, 0, 0)),
    (4, "static", 255, (0, 0, 0)),
    (5, "dynamic", 255, (111, 74, 0)),
    (6, "ground", 255, (81, 0, 81)),
    (7, "road", 0, (128, 64, 128)),
    (8, "sidewalk", 1, (244, 35, 232)),
    (9, "parking", 255, (250, 170, 160)),
    (10, "rail track", 255, (230, 150, 140)),
    (11, "building", 2, (70, 70, 70)),
    (12, "wall", 3, (102, 102, 156)),
    (13, "fence", 4, (190, 153, 153)),
    (14, "guard rail", 255, (180, 165, 180)),
    (15, "bridge", 255, (150, 100, 100)),
    (16, "tunnel", 255, (150, 120, 90)),
    (17, "pole", 5, (153, 153, 153)),
    (18, "polegroup", 255, (153, 153, 153)),
    (19, "traffic light", 6, (250, 170, 30)),
    (20, "traffic sign", 7, (220, 220, 0)),
    (21, "vegetation", 8, (107, 142, 35)),
    (22, "terrain", 9, (152, 251, 152)),
    (23, "sky", 10, (70, 130, 180)),
    (24, "person", 11, (220, 20, 60)),
    (25, "rider", 12, (255, 0, 0)),
    (26, "car", 13, (0, 0, 142)),
    (27, "truck", 14, (0, 0, 70)),
    (28, "bus", 15, (0, 60, 100)),
    (29, "caravan", 255, (0, 0, 90)),
    (30, "trailer", 255, (0, 0, 110)),
    (31, "train", 16, (0, 80, 100)),
    (32, "motorcycle", 17, (0, 0, 230)),
    (33, "bicycle", 18, (119, 11, 32)),
)
CLASS_NAMES: tuple[str, ...] = tuple(
    name for _, name, train_id, _ in sorted(LABELS, key=lambda r: r[2]) if train_id < 255
)

# Image statistics of the Cityscapes training photos, on [0, 1] (fyu/drn info.json).
MEAN: tuple[float, float, float] = (0.29010095242892997, 0.32808144844279574, 0.28696394422942517)
STD: tuple[float, float, float] = (0.1829540508368939, 0.18656561047509476, 0.18447508988480435)

_ID_TO_TRAIN = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _id, _, _train, _ in LABELS:
    _ID_TO_TRAIN[_id] = _train


def label_ids_to_train_ids(label_ids: np.ndarray) -> np.ndarray:
    """``(H, W)`` Cityscapes label ids (0-33; anything else is ignored) -> train ids (0-18, 255)."""
    ids = np.asarray(label_ids)
    if ids.ndim != 2:
        raise RekoError(f"expected an (H, W) label-id map, got shape {ids.shape}")
    return _ID_TO_TRAIN[np.clip(ids, 0, 255).astype(np.uint8)]


def colors_to_train_ids(colors: np.ndarray, max_distance: float = 30.0) -> np.ndarray:
    """``(H, W, 3)`` uint8 colour label map -> ``(H, W)`` train ids by nearest Cityscapes colour.

    Pixels farther than ``max_distance`` (Euclidean, 0-255 scale) from every colour, e.g. JPEG
    ringing at class borders, are ignored (255). Colours shared by two labels go to the
    training class (pole/polegroup -> pole; license plate, drawn as car, -> car).
    """
    rgb = np.asarray(colors)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise RekoError(f"expected an (H, W, 3) colour label map, got shape {rgb.shape}")
    palette, train_ids = _palette()
    packed = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    unique, inverse = np.unique(packed.reshape(-1), return_inverse=True)  # map each colour once
    colours = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1)
    distances = ((colours[:, None, :] - palette[None].astype(np.int32)) ** 2).sum(axis=2)  # (colours, palette)
    nearest = distances.argmin(axis=1)
    mapped = train_ids[nearest]
    mapped[distances[np.arange(len(nearest)), nearest] > max_distance**2] = IGNORE_INDEX
    return mapped[inverse].reshape(rgb.shape[:2]).astype(np.uint8)


def train_ids_to_colors(train_ids: np.ndarray) -> np.ndarray:
    """``(H, W)`` train ids -> ``(H, W, 3)`` uint8 colours (ignored pixels black)."""
    table = np.zeros((256, 3), dtype=np.uint8)
    for _, _, train_id, colour in LABELS:
        if train_id < 255:
            table[train_id] = colour
    return table[np.asarray(train_ids, dtype=np.uint8)]


def _palette() -> tuple[np.ndarray, np.ndarray]:
    """Distinct colours and the train id each stands for (training classes win ties)."""
    by_colour: dict[tuple[int, int, int], int] = {}
    for _, _, train_id, colour in LABELS:
        if colour not in by_colour or (by_colour[colour] == IGNORE_INDEX and train_id != IGNORE_INDEX):
            by_colour[colour] = train_id
    colours = np.array(list(by_colour), dtype=np.uint8)
    return colours, np.array(list(by_colour.values()), dtype=np.uint8)
