"""The paper-scale recipes in configs/paper/: they load, their headers' commands and step arithmetic agree
with their keys and the download catalogue, and each kind (paired, cyclegan, teacher) runs two steps at a
tiny scale (small random teachers, 32-64 px) on the shared data."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from tests.helpers.tiny_runs import FAST, size, tiny_teacher

from reko.api import distill, train_teacher
from reko.config import TeacherConfig, load_config
from reko.distill.build import resolve_mode
from reko.distill.config import DistillConfig
from reko.eval.macs import count_parameters
from reko.models import GeneratorSpec, create_generator, load_generator
from reko.zoo import CATALOG

REPO = Path(__file__).resolve().parents[1]
PAPER = REPO / "configs" / "paper"
RECIPES = sorted(PAPER.glob("*.yaml"))
TEACHER_RECIPES = sorted((PAPER / "teachers").glob("*.yaml"))

STEPS = re.compile(
    r"^# steps: ([\d,]+) images x (\d+) epochs / batch (\d+) = ([\d,]+) \(decay: the last ([\d,]+)\)$", re.M
)
DOWNLOAD = re.compile(r"reko download (\S+)(?: --root (\S+))?")
TRAIN = re.compile(r"reko train --config (\S+)")


def _header(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if line.startswith("#"))


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def _targets(header: str) -> dict[str, str]:
    """Catalogue name -> the path `reko download NAME --root ROOT` leaves (`reko.zoo.download`)."""
    targets = {}
    for name, root in DOWNLOAD.findall(header):
        assert name in CATALOG, f"{name} is not in reko's download catalogue"
        assert root, f"`reko download {name}` without --root: give every download an explicit place"
        stem = name.split("/", 1)[1]
        targets[name] = f"{root}/{stem}.pth" if CATALOG[name].kind == "generator" else f"{root}/{stem}"
    return targets


def test_the_paper_recipes_are_all_there() -> None:
    names = {path.stem for path in RECIPES}
    assert names == {"horse2zebra", "summer2winter", "edges2shoes", "cityscapes", "facades"}
    assert [path.stem for path in TEACHER_RECIPES] == ["cityscapes_pix2pix"]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_recipe_loads_and_its_schedule_matches_its_header(recipe: Path) -> None:
    config = load_config(DistillConfig, recipe)
    assert config.distill.method == "reko" and config.data.crop_size == 256 and config.data.load_size == 286
    assert config.mode in ("paired", "cyclegan") and resolve_mode(config) == config.mode
    assert config.student.ngf == (24 if config.mode == "cyclegan" else 16)  # ResNet-9 / U-Net students
    found = STEPS.findall(_header(recipe))
    assert len(found) == 1, f"{recipe.name}: one '# steps: N images x E epochs / batch B = S (decay: ...)' line"
    images, epochs, batch, steps, decay = (_number(v) for v in found[0])
    assert steps == math.ceil(images * epochs / batch) == config.train.steps
    assert (batch, decay) == (config.train.batch_size, config.train.decay_steps)
    assert f"reko distill --config configs/paper/{recipe.name}" in _header(recipe)


@pytest.mark.parametrize("recipe", TEACHER_RECIPES, ids=lambda p: p.stem)
def test_teacher_recipe_loads_and_its_schedule_matches_its_header(recipe: Path) -> None:
    config = load_config(TeacherConfig, recipe)
    assert config.generator.ngf == 64 and config.data.crop_size == 256
    (found,) = STEPS.findall(_header(recipe))
    images, epochs, batch, steps, decay = (_number(v) for v in found)
    assert steps == math.ceil(images * epochs / batch) == config.train.steps
    assert (batch, decay) == (config.train.batch_size, config.train.decay_steps)
    assert f"reko train --config configs/paper/teachers/{recipe.name}" in _header(recipe)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_header_commands_name_catalogue_entries_and_the_recipes_paths(recipe: Path) -> None:
    """Every `reko download` names a catalogue entry, and the teacher(s) and data of the recipe are
    where those commands (or a teacher recipe's run, or the manual preparation described) put them."""
    header = _header(recipe)
    config = load_config(DistillConfig, recipe)
    targets = _targets(header)
    trained = {}
    for teacher_recipe in TRAIN.findall(header):
        out = load_config(TeacherConfig, REPO / teacher_recipe).out
        trained[teacher_recipe] = f"{out}/generator_latest.safetensors"
    made = {*targets.values(), *trained.values()}
    for teacher in filter(None, (config.teacher, config.teacher_ba)):
        assert teacher in made, f"{recipe.name}: no command in the header makes {teacher}"
    if any(CATALOG[name].kind == "dataset" for name in targets):
        assert config.data.root in targets.values()
    else:  # a dataset reko may not download (Cityscapes' licence): the header says how to build it there
        assert f"--output_dir {config.data.root}" in header


def test_the_cyclegan_datasets_of_the_recipes_are_checksummed() -> None:
    named = {name for recipe in RECIPES for name, _ in DOWNLOAD.findall(_header(recipe))}
    names = {name for name in named if name.startswith("cyclegan/")}
    assert names == {"cyclegan/horse2zebra", "cyclegan/summer2winter_yosemite"}
    for name in names:
        assert re.fullmatch(r"[0-9a-f]{64}", CATALOG[name].sha256 or ""), f"{name} has no sha256"


def test_readme_reproduction_section_names_every_recipe() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.find("## Reproducing the paper")
    assert start >= 0, "README.md has no '## Reproducing the paper' section"
    end = text.find("\n## ", start + 1)
    section = text[start : end if end > 0 else len(text)]
    for recipe in [*RECIPES, *TEACHER_RECIPES]:
        assert str(recipe.relative_to(REPO)) in section, f"README's reproduction section does not name {recipe.name}"
    assert "docs/reproduction.md" in section


def test_the_cyclegan_student_is_the_papers_7x_compression() -> None:
    """ResNet-9 at ngf 64 over ngf 24: 11.38M / 1.61M parameters = 7.08, the paper's "7.08x compressed"."""
    teacher = count_parameters(create_generator(GeneratorSpec(ngf=64)))
    student = count_parameters(create_generator(GeneratorSpec(ngf=24)))
    assert (teacher, student) == (11_378_179, 1_605_699)
    assert math.floor(teacher / student * 100) / 100 == 7.08


def _tiny(recipe: str, *overrides: str) -> DistillConfig:
    """The recipe at 64 px (or 32) with FAST's small heads and cadences and two steps."""
    return load_config(DistillConfig, PAPER / recipe, [*overrides, *FAST, "train.steps=2", "train.decay_steps=1"])


def test_paired_recipe_runs_two_steps(tmp_path: Path, facades_dir: Path) -> None:
    teacher = tiny_teacher(tmp_path / "unet.safetensors", family="unet", num_downs=6, norm="batch", dropout=True)
    config = _tiny("facades.yaml", f"teacher={teacher}", f"data.root={facades_dir}", "student.ngf=4", *size(64))
    assert (config.mode, config.data.direction, config.loss.gan_mode) == ("paired", "BtoA", "vanilla")
    result = distill(config, tmp_path / "run")
    assert result.finished and set(result.metrics) == {"psnr", "l1", "psnr_teacher"}
    student = load_generator(result.latest["student"])
    assert student.spec == load_generator(teacher).spec.with_width(4)  # U-Net, BatchNorm and dropout kept


def test_cyclegan_recipe_runs_two_steps(tmp_path: Path, horse2zebra_dir: Path) -> None:
    ab = tiny_teacher(tmp_path / "ab.safetensors", seed=1)
    ba = tiny_teacher(tmp_path / "ba.safetensors", seed=2)
    overrides = [f"teacher={ab}", f"teacher_ba={ba}", f"data.root={horse2zebra_dir}", "student.ngf=4"]
    config = _tiny("horse2zebra.yaml", *overrides, *size(32), "loss.pool_size=2")
    assert resolve_mode(config) == "cyclegan"
    result = distill(config, tmp_path / "run")
    assert result.finished and set(result.latest) == {"student_AB", "student_BA"}


def test_teacher_recipe_runs_two_steps(tmp_path: Path, facades_dir: Path) -> None:
    fast = [o for o in FAST if not o.startswith("distill.")]
    overrides = [f"data.root={facades_dir}", "generator.ngf=4", "generator.num_downs=6", *size(64), *fast]
    config = load_config(TeacherConfig, TEACHER_RECIPES[0], [*overrides, "train.steps=2", "train.decay_steps=1"])
    result = train_teacher(config, tmp_path / "run")
    assert result.finished and load_generator(result.latest["generator"]).spec.norm == "batch"
