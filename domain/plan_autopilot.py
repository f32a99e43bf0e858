"""Reading a plan's `autopilot:` section into `AutopilotSettings` (pure, located errors).

The section drives `manage.py plan autopilot` (migration_plans.autopilot): how often the loop
looks, the canary weights it steps through, how long and on how many samples each step must
stand, and how many consecutive failed checks roll the feature back. Ranges are bounded like
the other sections: a 0 s interval or a 100-step canary is a typo, not a choice.

Which checks may roll back (`rollback_on`) are names of the plan's gate thresholds. An
"at least" threshold (`min_samples` and its kind) is never one: too few samples is missing
data, and missing data holds, it never fails nor passes.

Pure: PyYAML nodes and the standard library.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

from yaml.nodes import Node

from domain.phases import Phase
from domain.plan_model import AutopilotSettings
from domain.plan_sections import GATE_FIELDS
from domain.plan_yaml import NodeReader

AUTOPILOT_FIELDS: Final = (
    "interval_seconds",
    "steps",
    "dwell_seconds",
    "min_samples",
    "failure_threshold",
    "target",
    "rollback_to",
    "rollback_on",
)
TARGETS: Final = (Phase.CANARY.value, Phase.MIGRATED.value)
ROLLBACK_TARGETS: Final = (Phase.LEGACY.value, Phase.SHADOW.value)
MAX_INTERVAL_SECONDS: Final = 3600.0
MAX_DWELL_SECONDS: Final = 7 * 86_400.0
MAX_STEPS: Final = 20
MAX_SAMPLES: Final = 1_000_000_000
MAX_FAILURE_THRESHOLD: Final = 100
PREFIX: Final = "autopilot"


def rollback_checks() -> tuple[str, ...]:
    """The gate thresholds whose failure can count towards a rollback (the "at most" ones)."""
    return tuple(name for name in GATE_FIELDS if not name.startswith("min_"))


def read_autopilot(reader: NodeReader, node: Node) -> AutopilotSettings | None:
    """The section, or None after reporting every problem found in it."""
    fields = reader.mapping(node, PREFIX, AUTOPILOT_FIELDS)
    if fields is None:
        return None
    values: dict[str, Any] = {}  # the fields given; None where a problem was reported
    for key, maximum in (
        ("interval_seconds", MAX_INTERVAL_SECONDS),
        ("dwell_seconds", MAX_DWELL_SECONDS),
    ):
        if key in fields:
            values[key] = reader.number(
                fields[key],
                f"{PREFIX}.{key}",
                minimum=0,
                above_minimum=key == "interval_seconds",
                maximum=maximum,
                unit="seconds",
            )
    for key, low, high in (
        ("min_samples", 1, MAX_SAMPLES),
        ("failure_threshold", 1, MAX_FAILURE_THRESHOLD),
    ):
        if key in fields:
            values[key] = reader.whole(fields[key], f"{PREFIX}.{key}", minimum=low, maximum=high)
    if "steps" in fields:
        values["steps"] = _steps(reader, fields["steps"])
    for key, choices in (("target", TARGETS), ("rollback_to", ROLLBACK_TARGETS)):
        if key in fields:
            choice = reader.choice(fields[key], f"{PREFIX}.{key}", choices)
            values[key] = None if choice is None else Phase(choice)
    if "rollback_on" in fields:
        values["rollback_on"] = _checks(reader, fields["rollback_on"])
    if any(value is None for value in values.values()):
        return None
    return replace(AutopilotSettings(), **values)


def _steps(reader: NodeReader, node: Node) -> tuple[int, ...] | None:
    field = f"{PREFIX}.steps"
    items = reader.items(node, field)
    if items is None:
        return None
    if not items:
        reader.fail(node, field, "lists no weight (give canary weights such as [5, 25, 50])")
        return None
    if len(items) > MAX_STEPS:
        reader.fail(node, field, f"lists {len(items)} weights (at most {MAX_STEPS})")
        return None
    weights: list[int] = []
    ok = True
    for index, item in enumerate(items):
        weight = reader.whole(item, f"{field}[{index}]", minimum=1, maximum=99)
        if weight is None:
            ok = False
        elif weights and weight <= weights[-1]:
            reader.fail(
                item,
                f"{field}[{index}]",
                f"{weight} is not above the step before it ({weights[-1]}): a canary only "
                "grows, step by step",
            )
            ok = False
        else:
            weights.append(weight)
    return tuple(weights) if ok else None


def _checks(reader: NodeReader, node: Node) -> tuple[str, ...] | None:
    field = f"{PREFIX}.rollback_on"
    items = reader.items(node, field)
    if items is None:
        return None
    allowed = rollback_checks()
    names: list[str] = []
    ok = True
    for index, item in enumerate(items):
        name = reader.choice(item, f"{field}[{index}]", allowed)
        if name is None:
            ok = False
        elif name in names:
            reader.fail(item, f"{field}[{index}]", f"{name!r} is listed twice")
            ok = False
        else:
            names.append(name)
    return tuple(names) if ok else None
