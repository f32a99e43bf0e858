"""Plans parsed once per generation of the plan files (migration_plans.plan_cache): no Django."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from domain.plans import Plan, PlanError, load_plans
from migration_plans.plan_cache import PlanCache, PlanCaches
from tests.migration_plans.plan_files import GOOD


class CountingLoader:
    """The real loader, counting the directories it was asked to parse."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.loads: list[Path] = []
        self._environ = environ

    def __call__(self, directory: Path) -> tuple[Plan, ...]:
        self.loads.append(directory)
        return load_plans(directory, environ=self._environ)


@pytest.fixture
def plans_dir(tmp_path: Path) -> Path:
    (tmp_path / "appointments.yaml").write_text(GOOD, encoding="utf-8")
    return tmp_path


def test_the_plans_are_parsed_once_per_generation(plans_dir: Path) -> None:
    loader = CountingLoader({})
    cache = PlanCache(plans_dir, loader, environ={})

    first = [cache.plans() for _ in range(5)]

    assert len(loader.loads) == 1
    assert cache.generation == 1
    assert all(plans is first[0] for plans in first)
    assert [p.feature for p in first[0]] == ["appointments"]


def test_an_edited_plan_file_is_a_new_generation(plans_dir: Path) -> None:
    loader = CountingLoader({})
    cache = PlanCache(plans_dir, loader, environ={})
    before = cache.plans()

    # The same size and (very likely) the same mtime tick: the content hash still differs.
    path = plans_dir / "appointments.yaml"
    path.write_text(GOOD.replace("8101", "8102"), encoding="utf-8")
    after = [cache.plans() for _ in range(3)]

    assert len(loader.loads) == 2
    assert cache.generation == 2
    assert before[0].upstream.instances != after[0][0].upstream.instances


def test_a_new_plan_file_and_a_changed_environment_are_new_generations(plans_dir: Path) -> None:
    environ: dict[str, str] = {}
    loader = CountingLoader(environ)
    cache = PlanCache(plans_dir, loader, environ=environ)
    cache.plans()

    (plans_dir / "notes.txt").write_text("not a plan", encoding="utf-8")
    cache.plans()
    assert len(loader.loads) == 1  # only plan files count

    environ["FICUS_SOMETHING"] = "1"
    cache.plans()
    assert len(loader.loads) == 2


def test_a_broken_generation_raises_its_error_without_parsing_again(plans_dir: Path) -> None:
    loader = CountingLoader({})
    cache = PlanCache(plans_dir, loader, environ={})
    path = plans_dir / "appointments.yaml"
    path.write_text(GOOD.replace("feature: appointments", "feature: 7"), encoding="utf-8")

    for _ in range(3):
        with pytest.raises(PlanError):
            cache.plans()
    assert len(loader.loads) == 1

    path.write_text(GOOD, encoding="utf-8")  # the fix is a new generation
    assert [p.feature for p in cache.plans()] == ["appointments"]
    assert len(loader.loads) == 2


def test_a_missing_directory_is_the_loaders_answer_too(tmp_path: Path) -> None:
    loader = CountingLoader({})
    cache = PlanCache(tmp_path / "absent", loader, environ={})

    with pytest.raises(PlanError, match="is not a directory"):
        cache.plans()
    with pytest.raises(PlanError):
        cache.plans()
    assert len(loader.loads) == 1


def test_each_directory_has_its_own_cache(plans_dir: Path, tmp_path_factory) -> None:
    other = tmp_path_factory.mktemp("other")
    (other / "appointments.yaml").write_text(GOOD, encoding="utf-8")
    loader = CountingLoader({})
    caches = PlanCaches(loader, environ={})

    assert caches.of(plans_dir) is caches.of(plans_dir)
    caches.of(plans_dir).plans()
    caches.of(other).plans()
    caches.of(plans_dir).plans()

    assert loader.loads == [plans_dir, other]


def test_the_loader_is_what_the_control_plane_passes(plans_dir: Path) -> None:
    cache = PlanCache(plans_dir, partial(load_plans, environ={}), environ={})

    assert [p.feature for p in cache.plans()] == ["appointments"]
