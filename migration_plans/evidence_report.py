"""The shadow evidence of a feature's routes, for people: `manage.py plan evidence` and the API.

One reading (`reports`) feeds both faces: the CLI prints it as text (`render`), the API
answers it as JSON (`as_dict`), so an auditor sees the same numbers either way. Per route:
exchanges compared (and of those, asked of legacy twice), the raw, noise-excused and real
difference rates, then the differing fields worst first with their verdict and a few
de-identified samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.plans import Plan
from migration_plans import evidence, route_moves, selectors
from migration_plans.audit_chain import format_time
from migration_plans.control_errors import ControlError
from migration_plans.evidence import RouteEvidence

MAX_FIELDS_SHOWN = 10


def reports(plans: Sequence[Plan], feature: str, route: str | None = None) -> list[RouteEvidence]:
    """Each route's evidence as the gates read it: its current or last shadow interval (or the
    one route `route`, "METHOD /t")."""
    plan = route_moves.find_plan(plans, feature)
    rows = selectors.status(plans, feature)
    if route is not None:
        rows = [r for r in rows if f"{r.method} {r.template}" == route.strip()]
        if not rows:
            raise ControlError(f"{feature} has no route {route!r}", status=404)
    return [evidence.route_evidence(feature, r.method, r.template, r.since, plan) for r in rows]


def render(feature: str, found: Sequence[RouteEvidence]) -> str:
    lines: list[str] = []
    for report in found:
        a = report.assessment
        since = report.since.strftime("%Y-%m-%d %H:%M:%S UTC") if report.since else "(plan file)"
        until = f" until {report.until:%Y-%m-%d %H:%M:%S} UTC" if report.until else ""
        lines.append(f"{feature}: {report.method} {report.template} (since {since}{until})")
        lines.append(
            f"  compared {a.compared} exchanges ({a.noise_compared} asked of legacy twice); "
            f"differences: raw {_rate(a.raw_diff_rate)}, noise {_rate(report.excused_rate)}, "
            f"real {_rate(a.real_diff_rate)}"
        )
        if not a.fields:
            lines.append("  no differing fields")
        for f in a.fields[:MAX_FIELDS_SHOWN]:
            lines.append(
                f"  {f.verdict.upper():8} {f.field}: {f.raw} differing "
                f"({_rate(f.raw_rate)}), legacy vs legacy {f.noise} ({_rate(f.noise_rate)})"
            )
            for s in report.samples.get(f.field, []):
                lines.append(f"      {s.kind}: legacy {s.legacy}  /  other {s.other}")
        if len(a.fields) > MAX_FIELDS_SHOWN:
            lines.append(f"  ... and {len(a.fields) - MAX_FIELDS_SHOWN} more fields")
    return "\n".join(lines) if lines else f"{feature}: no routes"


def as_dict(report: RouteEvidence) -> dict[str, Any]:
    """The assessment's own JSON (`domain.noise.Assessment.as_dict`), with the route, the
    share excused as noise and each field's de-identified samples."""
    body = report.assessment.as_dict()
    for field in body["fields"]:
        field["samples"] = [
            {"kind": s.kind, "legacy": s.legacy, "other": s.other, "at": format_time(s.at)}
            for s in report.samples.get(field["field"], [])
        ]
    return {
        "route": f"{report.method} {report.template}",
        "since": format_time(report.since) if report.since else None,
        "until": format_time(report.until) if report.until else None,
        "noise_diff_rate": report.excused_rate,
        **body,
    }


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"
