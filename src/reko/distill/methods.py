"""The registered distillation methods: importing a method's file registers it (`registry.register`).

Adding a method is adding its file (see `reko.distill.template`) and one line here.
"""

from reko.distill import (  # noqa: F401 - imported for their @register
    attention,
    feature,
    none,
    output,
    patchnce_random,
    reko,
    similarity,
    wavelet,
)
