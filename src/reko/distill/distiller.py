"""Distillers: a frozen teacher, a student, a method and discriminators, in one `Trainable`.

Every distiller adds the *task* losses of its data mode to the method's term (which is
``output_weight * L1(student, teacher) + weight * own term``; `none` adds nothing), so that methods
differ only in their own term:

==============  ========================================================================================
mode            student's loss
==============  ========================================================================================
``paired``      pix2pix: GAN with a conditional D on (input, output) + l1_weight * L1 to ground truth
                + method (`PairedDistiller`)
``unpaired``    one direction, any photos: GAN whose "real" samples are the teacher's outputs (no
                pairing needed by D) + method; the L1 to the teacher comes from the method's
                ``output_weight`` (`UnpairedDistiller`)
``cyclegan``    two students, two teachers, CycleGAN data: CycleGAN's losses (GAN each way, cycle,
                identity) + each direction's method term against its own teacher (`CycleDistiller`)
==============  ========================================================================================

The teacher runs without gradients under `FeatureTap` on the method's taps; the student runs
under the same taps; the method compares the two.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from reko.config import LossConfig
from reko.distill.method import DistillMethod
from reko.distill.taps import FeatureTap
from reko.distill.visuals import heatmap_overlay, patch_overlay
from reko.gan import cyclegan, pix2pix
from reko.gan.losses import discriminator_loss, generator_loss
from reko.gan.pool import ImagePool
from reko.gan.trainable import Batch, Parts, Trainable, frozen, l1, psnr
from reko.results.heads import Heads

MODES: tuple[str, ...] = ("paired", "unpaired", "cyclegan")


class FrozenTeacher(nn.Module):
    """A teacher generator that is never trained and never saved in a training state.

    The generator is held outside the module tree, so it has no parameters for an optimiser to
    find, ``train()`` leaves it in eval mode, and ``state_dict()`` does not copy its weights (its
    checkpoint file is its record); ``.to()`` still moves it.
    """

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        generator.eval().requires_grad_(False)
        self._held = [generator]

    @property
    def generator(self) -> nn.Module:
        return self._held[0]

    def _apply(self, fn: Any, recurse: bool = True) -> FrozenTeacher:
        self.generator._apply(fn, recurse)
        return super()._apply(fn, recurse)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.generator(x)


class Direction(nn.Module):
    """A student learning one translation from one teacher with one method."""

    def __init__(self, teacher: nn.Module, student: nn.Module, method: DistillMethod) -> None:
        super().__init__()
        self.teacher = FrozenTeacher(teacher)
        self.student, self.method = student, method
        self._eval_cache: dict[str, torch.Tensor] = {}

    def distill(
        self, x: torch.Tensor, need_teacher: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, Parts]:
        """Runs teacher (if the method or ``need_teacher`` asks) and student on x (B, C, H, W) in [-1, 1].

        Returns (student output, teacher output or None, method loss, method parts).
        """
        taps = self.method.taps if self.method.uses_teacher else []
        teacher_out, teacher_features = None, {}
        if self.method.uses_teacher or need_teacher:
            with torch.no_grad(), FeatureTap(self.teacher.generator, taps) as tap:
                teacher_out = self.teacher(x)
                teacher_features = dict(tap.features)
        with FeatureTap(self.student, taps) as tap:
            student_out = self.student(x)
            student_features = dict(tap.features)
        loss, parts = self.method(student_features, teacher_features, student_out, teacher_out)
        return student_out, teacher_out, loss, parts

    @torch.no_grad()
    def teacher_output(self, x: torch.Tensor, paths: list[str]) -> torch.Tensor:
        """The teacher's outputs on validation images, computed once per image path."""
        if not all(path in self._eval_cache for path in paths):
            for path, out in zip(paths, self.teacher(x), strict=True):
                self._eval_cache[path] = out.detach()
        return torch.stack([self._eval_cache[path] for path in paths]).to(x.device)

    def parameters_to_train(self) -> list[nn.Parameter]:
        return [p for p in [*self.student.parameters(), *self.method.parameters()] if p.requires_grad]

    @torch.no_grad()
    def region_columns(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Teacher, student and, if the method reports them, its attention map and chosen patches."""
        if type(self.method).visuals is DistillMethod.visuals:  # no pictures: skip the method's forward
            columns = {"teacher": self.teacher(x), "student": self.student(x)}
            return {name: value.to(x.device) for name, value in columns.items()}
        student_out, teacher_out, _, _ = self.distill(x, need_teacher=True)
        columns = {"teacher": teacher_out, "student": student_out}
        visuals = self.method.visuals()
        attention, selected = visuals.get("attention") or {}, visuals.get("selected") or {}
        if attention:
            tap = next(iter(attention))
            scores = attention[tap]  # (B, h, w)
            columns["attention"] = heatmap_overlay(x, scores)
            if tap in selected:
                columns["patches"] = patch_overlay(x, selected[tap], tuple(scores.shape[-2:]))
        return {name: value.to(x.device) for name, value in columns.items()}


class Distiller(Trainable):
    """Shared parts of the three modes (see the module docstring)."""

    mode: ClassVar[str] = ""

    def __init__(self, loss: LossConfig, metadata: dict[str, str]) -> None:
        super().__init__()
        self.loss = loss
        self._metadata = metadata

    def checkpoint_metadata(self) -> dict[str, str]:
        return {**self._metadata, "mode": self.mode}

    def heads(self, step: int) -> dict[str, Heads]:
        """Each student's method heads (`reko.results.heads`), keyed like `generators`."""
        names = {id(student): name for name, student in self.generators().items()}
        directions = [m for m in self.modules() if isinstance(m, Direction)]
        return {names[id(d.student)]: Heads.of(d.method, step) for d in directions if d.method.uses_teacher}


class OneWayDistiller(Distiller):
    """One student and one discriminator (the ``unpaired`` and ``paired`` modes)."""

    best_metric = ("psnr", "max")  # on the validation split

    def __init__(self, direction: Direction, discriminator: nn.Module, loss: LossConfig, metadata: dict[str, str]):
        super().__init__(loss, metadata)
        self.direction, self.discriminator = direction, discriminator
        self._pair: tuple[torch.Tensor, torch.Tensor] | None = None  # (real, fake) of the last generator step

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {
            "generator": self.direction.parameters_to_train(),
            "discriminator": list(self.discriminator.parameters()),
        }

    def generators(self) -> dict[str, nn.Module]:
        return {"student": self.direction.student}


class UnpairedDistiller(OneWayDistiller):
    """One direction from photos alone: the teacher's outputs are the targets. Batches ``{"input", "path"}``.

    Validation: the student against the teacher."""

    mode = "unpaired"

    def generator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        student_out, teacher_out, method_loss, parts = self.direction.distill(batch["input"], need_teacher=True)
        assert teacher_out is not None
        self._pair = (teacher_out.detach(), student_out.detach())
        with frozen(self.discriminator):
            gan = generator_loss(self.discriminator(student_out), self.loss.gan_mode)
        total = self.loss.gan_weight * gan + method_loss
        return total, {"gan": gan.detach(), "method": method_loss.detach(), **parts}

    def discriminator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        assert self._pair is not None, "generator_step comes first"
        real, fake = self._pair
        loss = discriminator_loss(self.discriminator(real), self.discriminator(fake), self.loss.gan_mode)
        return loss, {"gan": loss.detach()}

    @torch.no_grad()
    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch["input"]
        teacher_out = self.direction.teacher_output(x, list(batch["path"]))
        student_out = self.direction.student(x)
        return {"psnr": psnr(student_out, teacher_out), "l1": l1(student_out, teacher_out)}

    @torch.no_grad()
    def grid(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {"input": batch["input"], **self.direction.region_columns(batch["input"])}


class PairedDistiller(OneWayDistiller):
    """pix2pix data: GAN + L1 to the ground truth + method. Batches ``{"input", "target", "path"}``.

    Validation: the student against the ground truth (``psnr``, best checkpoint) and the teacher."""

    mode = "paired"

    def generator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        x, target = batch["input"], batch["target"]
        student_out, _, method_loss, parts = self.direction.distill(x)
        self._pair = (target, student_out.detach())
        task, task_parts = pix2pix.generator_losses(self.discriminator, x, student_out, target, self.loss)
        return task + method_loss, {**task_parts, "method": method_loss.detach(), **parts}

    def discriminator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        assert self._pair is not None, "generator_step comes first"
        target, fake = self._pair
        return pix2pix.discriminator_losses(self.discriminator, batch["input"], fake, target, self.loss.gan_mode)

    @torch.no_grad()
    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        x, target = batch["input"], batch["target"]
        student_out = self.direction.student(x)
        teacher_out = self.direction.teacher_output(x, list(batch["path"]))
        return {
            "psnr": psnr(student_out, target),
            "l1": l1(student_out, target),
            "psnr_teacher": psnr(student_out, teacher_out),
        }

    @torch.no_grad()
    def grid(self, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch["input"]
        return {"input": x, "target": batch["target"], **self.direction.region_columns(x)}


class CycleDistiller(Distiller):
    """Both directions on CycleGAN data: two students, CycleGAN losses + each direction's method term.

    Batches ``{"A", "B", "path_A", "path_B"}``; ``ab`` learns A -> B from its teacher, ``ba`` B -> A.
    """

    mode = "cyclegan"
    best_metric = ("psnr", "max")  # mean over both directions of student vs teacher PSNR

    def __init__(
        self,
        ab: Direction,
        ba: Direction,
        d_a: nn.Module,
        d_b: nn.Module,
        loss: LossConfig,
        metadata: dict[str, str],
    ) -> None:
        super().__init__(loss, metadata)
        self.ab, self.ba, self.d_a, self.d_b = ab, ba, d_a, d_b
        self.pool_a, self.pool_b = ImagePool(loss.pool_size), ImagePool(loss.pool_size)
        self._fakes: tuple[torch.Tensor, torch.Tensor] | None = None

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        return {
            "generator": [*self.ab.parameters_to_train(), *self.ba.parameters_to_train()],
            "discriminator": [*self.d_a.parameters(), *self.d_b.parameters()],
        }

    def generator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        real_a, real_b = batch["A"], batch["B"]
        fake_b, _, method_ab, parts_ab = self.ab.distill(real_a)
        fake_a, _, method_ba, parts_ba = self.ba.distill(real_b)
        self._fakes = (fake_a.detach(), fake_b.detach())
        task, parts = cyclegan.generator_losses(
            self.ab.student, self.ba.student, self.d_a, self.d_b, real_a, real_b, fake_b, fake_a, self.loss
        )
        parts.update({f"AB/{k}": v for k, v in parts_ab.items()})
        parts.update({f"BA/{k}": v for k, v in parts_ba.items()})
        parts.update({"method_AB": method_ab.detach(), "method_BA": method_ba.detach()})
        return task + method_ab + method_ba, parts

    def discriminator_step(self, batch: Batch) -> tuple[torch.Tensor, Parts]:
        assert self._fakes is not None, "generator_step comes first"
        fake_a, fake_b = self._fakes
        return cyclegan.discriminator_losses(
            self.d_a, self.d_b, batch["A"], batch["B"], fake_a, fake_b, self.pool_a, self.pool_b, self.loss.gan_mode
        )

    @torch.no_grad()
    def evaluate(self, batch: Batch) -> dict[str, torch.Tensor]:
        real_a, real_b = batch["A"], batch["B"]
        fake_b, fake_a = self.ab.student(real_a), self.ba.student(real_b)
        psnr_ab = psnr(fake_b, self.ab.teacher_output(real_a, list(batch["path_A"])))
        psnr_ba = psnr(fake_a, self.ba.teacher_output(real_b, list(batch["path_B"])))
        return {"psnr": 0.5 * (psnr_ab + psnr_ba), "psnr_AB": psnr_ab, "psnr_BA": psnr_ba}

    @torch.no_grad()
    def grid(self, batch: Batch) -> dict[str, torch.Tensor]:
        columns = {"A": batch["A"]}
        columns.update({f"{k} AB": v for k, v in self.ab.region_columns(batch["A"]).items()})
        columns["B"] = batch["B"]
        columns.update({f"{k} BA": v for k, v in self.ba.region_columns(batch["B"]).items()})
        return columns

    def generators(self) -> dict[str, nn.Module]:
        return {"student_AB": self.ab.student, "student_BA": self.ba.student}
