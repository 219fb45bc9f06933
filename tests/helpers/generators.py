"""One small spec per registered generator family and block, so tests cover a new one for free."""

from __future__ import annotations

from reko.models import GENERATORS, GeneratorSpec
from reko.models.spec import BLOCKS


def variants(**bases: GeneratorSpec) -> dict[str, GeneratorSpec]:
    """``{"resnet": ..., "mobile_resnet": ..., "unet": ..., "mobile_unet": ...}``: every family of
    `GENERATORS` (``bases`` gives one small spec per family) with every block of `BLOCKS`.
    A family registered without a base here fails loudly: add it."""
    missing = sorted(set(GENERATORS) - set(bases))
    assert not missing, f"tests/helpers/generators.variants needs a small spec for {missing}"
    return {
        (family if block == "conv" else f"{block}_{family}"): bases[family].replace(block=block)
        for family in GENERATORS
        for block in BLOCKS
    }
