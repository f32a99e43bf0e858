"""Fuzzing the plan parser: whatever an operator's editor leaves in a plan file, `plan check`
answers with a plan or with errors that name the file, a line inside it and a field, and never
with a traceback.

Bounded in `make test` (the `ci` Hypothesis profile), long in `make fuzz`. The inputs are the
shipped plans and the full example mutated line by line (a line dropped, doubled, re-indented,
its value replaced by a hostile scalar) and raw text.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.plans import PlanError, parse_plan
from tests.migration_plans.plan_files import FULL, GOOD, SHIPPED

pytestmark = pytest.mark.fuzz

FILE = "appointments.yaml"
BASES = [GOOD, FULL, *(path.read_text() for path in sorted(SHIPPED.glob("*.yaml")))]
HOSTILE_SCALARS = [
    "", "~", "null", "-1", "0", "1e309", "nan", ".inf", "true", "[]", "{}", "[[[", "'", '"',
    "&a", "*a", "!!python/object:os.system", "!!binary AAAA", "<<: *a", "? x", "|", ">-",
    "\t", "\x00", "\ud7ff", "é", "999999999999999999999999", "http://", "{id:int}", "/",
    "legacy", "retired", "GET", "a" * 300,
]  # fmt: skip


@st.composite
def mutated_plans(draw: st.DrawFn) -> str:
    lines = draw(st.sampled_from(BASES)).splitlines()
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not lines:
            break
        at = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        kind = draw(st.sampled_from(["drop", "double", "indent", "dedent", "value", "key"]))
        line = lines[at]
        if kind == "drop":
            del lines[at]
        elif kind == "double":
            lines.insert(at, line)
        elif kind == "indent":
            lines[at] = "  " + line
        elif kind == "dedent":
            lines[at] = line.lstrip()
        elif kind == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[at] = f"{key}: {draw(st.sampled_from(HOSTILE_SCALARS) | st.text(max_size=8))}"
        else:
            lines[at] = draw(st.text(max_size=10)) + ": " + line.split(":", 1)[-1]
    return "\n".join(lines) + "\n"


def _check(text: str) -> None:
    plan, errors = parse_plan(text, file=FILE, feature="appointments", environ={})
    assert (plan is None) == bool(errors)
    if plan is not None:
        assert plan.feature == "appointments"
        assert plan.routes
        return
    # YAML breaks lines at CR and NEL too (an old editor's file); splitlines() counts those
    # and a few more, so it bounds the line numbers a located error may name.
    last_line = len(text.splitlines()) + 1
    for error in errors:
        assert isinstance(error, PlanError)
        assert error.file == FILE
        assert 0 <= error.line <= last_line, (error.line, last_line)
        assert error.field
        assert error.message
        assert str(error).startswith(f"{FILE}:{error.line}: {error.field}: ")


@given(text=mutated_plans())
@example(text=GOOD.replace("phase: migrated", "phase: [migrated]"))
@example(text=GOOD + "gates: {canary: {min_samples: -1}}\n")
def test_a_mutated_plan_is_a_plan_or_located_errors(text: str) -> None:
    _check(text)


@given(text=st.text(max_size=200))
@example(text="!!python/object/apply:os.system ['true']")
@example(text="a: &a [*a]")
@example(text="\ufeff")
@example(text=": x")  # an empty key: still named ('""'), so the operator can find it
@example(text="\r0")  # a bare CR is a line break to YAML: the error is on line 2
def test_any_text_is_a_plan_or_located_errors(text: str) -> None:
    _check(text)
