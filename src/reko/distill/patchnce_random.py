"""`patchnce-random`: ReKo with uniformly random patches instead of attention-selected ones.

The ablation that separates ReKo's two ingredients. CUT (Park, Efros, Zhang & Zhu, "Contrastive
Learning for Unpaired Image-to-Image Translation", ECCV 2020) samples the PatchNCE positions
uniformly at random; ReKo (Zhang et al., arXiv 2205.12451) selects them by attention. This
method is ReKo with ``selection = random`` fixed: the same taps, projection heads, PatchNCE
(temperature 0.07, K = 64 patches per layer), the same ``weight = 1`` and ``output_weight = 10``
(see `reko.distill.reko.ReKoConfig`), so any gap to ``reko`` is the effect of region selection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from reko.distill.method import MethodConfig
from reko.distill.registry import register
from reko.distill.reko import ReKo, ReKoConfig
from reko.errors import RekoError


@dataclass(frozen=True)
class PatchNCERandomConfig(ReKoConfig):
    """`ReKoConfig` whose ``selection`` is ``random``; any other value is an error, not a silent fix."""

    selection: str = "random"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.selection != "random":
            raise RekoError(
                f"patchnce-random always selects patches at random (got selection={self.selection!r}); "
                "use distill.method=reko to choose another selection"
            )


@register
class PatchNCERandom(ReKo):
    """ReKo's PatchNCE on uniformly random positions (CUT-style sampling)."""

    name: ClassVar[str] = "patchnce-random"
    config_class: ClassVar[type[MethodConfig]] = PatchNCERandomConfig
