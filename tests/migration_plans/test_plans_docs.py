"""docs/plans.md shows real output: its broken example plan gives exactly the errors printed
under it, and its example is the shipped appointments plan."""

from __future__ import annotations

import re

from tests.migration_plans.plan_files import ROOT, SHIPPED, errors_for, write

DOC = (ROOT / "docs" / "plans.md").read_text()


def blocks(language: str, after: str) -> list[str]:
    section = DOC[DOC.index(after) :]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)


def test_it_shows_the_shipped_appointments_plan():
    assert blocks("yaml", "## Example")[0] == (SHIPPED / "appointments.yaml").read_text()


def test_its_broken_example_gives_exactly_the_errors_it_prints(tmp_path):
    plan = blocks("yaml", "## Errors")[0]
    output = blocks("console", "## Errors")[0]
    printed = [line for line in output.splitlines() if line.startswith("/tmp/plans/")]
    write(tmp_path, "appointments.yaml", plan)
    found = [str(e).replace(str(tmp_path), "/tmp/plans") for e in errors_for(tmp_path)]
    assert found == printed
    assert f"CommandError: {len(found)} errors in plan files" in output
