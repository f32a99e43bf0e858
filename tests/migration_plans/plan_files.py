"""Plan texts and helpers shared by the plan-file tests: write a plan, collect its errors, and
assert an error is located at file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

from domain.plans import Plan, PlanError, check_plans, load_plans

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "migration_plans" / "plans"
SCHEMA = ROOT / "docs" / "plan.schema.json"

# The smallest valid plan: every optional field left to its default.
GOOD = """\
feature: appointments
owner: Scheduling IT <scheduling-it@hospital.example>
description: Appointment book and booking API.
upstream:
  name: appointments
  instances: [http://127.0.0.1:8101]
legacy_tables: [APPT_SCHED]
routes:
  - method: GET
    path: /api/appointments/{id:int}
    phase: migrated
"""

# Every field of C1 set. Line numbers matter to the tests: keep the layout.
FULL = """\
feature: appointments
owner: Scheduling IT
upstream:
  name: appointments
  instances: [http://127.0.0.1:8101]
  health: {path: /healthz, interval_seconds: 5, timeout_seconds: 0.5, unhealthy_after: 3, healthy_after: 2}
legacy_tables: [APPT_SCHED]
cohort: {key: path, name: id}
data_owner: {key: path, name: id}
canary_writes: true
trailing_slash: match
allow_path_params: true
routes:
  - method: GET
    path: /api/appointments
  - method: GET
    path: /api/appointments/{id:int}
    phase: canary
  - method: PUT
    path: /api/appointments/{id:int}
    phase: shadow
gates:
  shadow: {max_sync_lag_seconds: 5}
  canary: {min_samples: 200, max_error_rate: 0.01, max_p99_ratio: 1.5, min_compared: 500, max_diff_rate: 0.02}
  migrated: {min_samples: 1000, max_sync_lag_seconds: 5, max_drift_rows: 0}
shadow: {sample_percent: 25, timeout_seconds: 1.5, max_in_flight: 8, include_writes: true}
contract:
  volatile_fields:
    - {field: UPD_TS, reason: stamped by the writer's clock}
  differences:
    - route: PUT /api/appointments/{id:int}
      what: 201 instead of 200
      reason: ticket CAB-7
sync: {non_owner_writes: owner_wins}
legacy_session:
  credential: header
  name: X-Legacy-Session
  resolve: whoami
  whoami: {path: /api/whoami, method: POST, body: "{}", user_id: result.id, login: result.login, role: result.role, timeout_seconds: 1, max_in_flight: 8}
"""  # noqa: E501 - a plan file's own lines

# (old, new, field): an unknown field added to FULL at each level of the document.
UNKNOWN_FIELDS = [
    ("owner: Scheduling IT", "owner: Scheduling IT\nowners: [a]", "owners"),
    ("  name: appointments", "  name: appointments\n  weight: 3", "upstream.weight"),
    ("healthy_after: 2}", "healthy_after: 2, retries: 1}", "upstream.health.retries"),
    ("cohort: {key: path, name: id}", "cohort: {key: path, name: id, type: int}", "cohort.type"),
    (
        "data_owner: {key: path, name: id}",
        "data_owner: {key: path, name: id, table: X}",
        "data_owner.table",
    ),
    ("    phase: canary", "    phase: canary\n    weight: 5", "routes[1].weight"),
    (
        "  shadow: {max_sync_lag_seconds: 5}",
        "  shadow: {max_sync_lag: 5}",
        "gates.shadow.max_sync_lag",
    ),
    ("gates:", "gates:\n  production: {}", "gates.production"),
    ("include_writes: true}", "include_writes: true, mode: x}", "shadow.mode"),
    (
        "reason: stamped by the writer's clock}",
        "reason: x, note: y}",
        "contract.volatile_fields[0].note",
    ),
    (
        "      reason: ticket CAB-7",
        "      reason: ticket CAB-7\n      ticket: CAB-7",
        "contract.differences[0].ticket",
    ),
    ("{non_owner_writes: owner_wins}", "{non_owner_writes: owner_wins, mode: x}", "sync.mode"),
    ("contract:", "contract:\n  strict: true", "contract.strict"),
    ("  resolve: whoami", "  resolve: whoami\n  cache: 1", "legacy_session.cache"),
    ("max_in_flight: 8}\n", "max_in_flight: 8, retries: 1}\n", "legacy_session.whoami.retries"),
]


def billing_plan(path: str, extra: str = "") -> str:
    """A second feature's plan (billing) with one GET route on `path` (line 9), then `extra`."""
    return (
        "feature: billing\n"
        "owner: Billing IT\n"
        "upstream:\n"
        "  name: billing\n"
        "  instances: [http://127.0.0.1:8103]\n"
        "legacy_tables: [BILL_CHARGE]\n"
        "routes:\n"
        "  - method: GET\n"
        f"    path: {path}\n" + extra
    )


def appointments_plan(routes: str, extra: str = "") -> str:
    """A plan of the appointments feature with the given `routes:` items, indented as in the
    file, and top-level extra fields after them; its first route stands on line 8."""
    return (
        "feature: appointments\n"
        "owner: Scheduling IT\n"
        "upstream:\n"
        "  name: appointments\n"
        "  instances: [http://127.0.0.1:8101]\n"
        "legacy_tables: [APPT_SCHED]\n"
        "routes:\n" + routes + extra
    )


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def errors_for(directory: Path, environ: dict[str, str] | None = None) -> list[PlanError]:
    return list(check_plans(directory, environ=environ or {}).errors)


def only_error(directory: Path, environ: dict[str, str] | None = None) -> PlanError:
    errors = errors_for(directory, environ)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def assert_located(error: PlanError, path: Path, line: int, field: str, text: str) -> None:
    assert (error.file, error.line, error.field) == (str(path), line, field), str(error)
    assert text in error.message, error.message
    assert str(error).startswith(f"{path}:{line}: {field}: ")


def load_one(directory: Path, text: str) -> Plan:
    write(directory, "appointments.yaml", text)
    (plan,) = load_plans(directory, environ={})
    return plan


def refused(directory: Path, text: str) -> tuple[Path, PlanError]:
    """Write text as the appointments plan and return its one error."""
    path = write(directory, "appointments.yaml", text)
    return path, only_error(directory)


def replaced(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)
