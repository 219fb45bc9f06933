"""`output`: pixel-wise L1 between the student's and the teacher's outputs (plus the GAN term).

The simplest response-based distillation of image-to-image GANs, as in the "reconstruction"
term of GAN Compression (Li et al., CVPR 2020, eq. 2, ``lambda_recon = 10`` for CycleGAN) and
the output term every other method here keeps. It matches the (B, 3, H, W) outputs in [-1, 1];
no intermediate layers.
"""

from __future__ import annotations

from reko.distill.method import DistillMethod, MethodConfig
from reko.distill.registry import register


@register
class OutputDistillation(DistillMethod):
    """``output_weight * L1(student_output, teacher_output)``; ``output_weight`` = 10 by default.

    This method has no term of its own beyond the output L1 (which every method but ``none``
    shares), so ``weight`` has nothing to scale and is ignored: tune ``output_weight``.
    """

    name = "output"
    config_class = MethodConfig
