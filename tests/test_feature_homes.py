"""A feature lives in its homes: its plan, its service app, its mapping (and the demo's own
legacy app, which plays the monolith). Issue 13's check, `git grep -il patients` over product
code, kept true: a module that names the feature elsewhere is one more list of features."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FEATURE = "patients"
HOMES = (
    f"migration_plans/plans/{FEATURE}.yaml",
    f"extracted/{FEATURE}/",
    f"legacy_adapter/mapping/{FEATURE}.py",
    "demo/legacy/",
)


def product_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [
        name
        for name in listed
        if not name.startswith(("tests/", "docs/", ".")) and not name.endswith(".md")
    ]


def test_only_the_features_homes_name_it():
    named = [
        name
        for name in product_files()
        if (REPO / name).is_file()
        and FEATURE in (REPO / name).read_bytes().decode("utf-8", "replace").lower()
    ]
    assert named, "the feature's own homes name it: the check reads the files"
    assert [name for name in named if not name.startswith(HOMES)] == []
