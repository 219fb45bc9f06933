"""The registered distillation methods: importing a method's file registers it (`registry.register`).

Adding a method is adding its file (see `reko.distill.template`) and one line here.
"""

from reko.distill import (  # noqa: F401 - imported for their @register
    attention,
    channel,
    feature,
    non_local,
    none,
    output,
    patchnce_random,
    perceptual,
    reko,
    reko_released,
    similarity,
    wavelet,
)
