"""`none`: no distillation; the student learns from its task losses alone (the lower bound).

The distiller still adds the student's task losses (the GAN term, and the L1 to ground truth
for paired data), so this row of a comparison shows what the student reaches without any
teacher signal. ``uses_teacher = False`` tells the distiller not to run the teacher at all.
"""

from __future__ import annotations

from reko.distill.method import DistillMethod, MethodConfig
from reko.distill.registry import register


@register
class NoDistillation(DistillMethod):
    """No teacher term: the loss is a zero that keeps the student's graph valid (`DistillMethod.forward`).

    ``weight`` and ``output_weight`` are ignored: there is no term for them to scale.
    """

    name = "none"
    config_class = MethodConfig
    uses_teacher = False
