"""What people do to the autopilot: the kill switch (`stop`, `resume`) and the all-clear after
a rollback (`clear_lock`); each is an audit record with the person as its actor and a reason.
Also what they read: `state_of`, for `plan autopilot --status` and the API."""

from __future__ import annotations

from typing import Any, Final

from django.db import transaction

from migration_plans.audit_log import append_audit
from migration_plans.autopilot import locked_state_row
from migration_plans.autopilot_core import ACTOR
from migration_plans.control_errors import ControlError
from migration_plans.models import AutopilotState

POLL_SECONDS: Final = 1.0  # how often a waiting worker looks at the kill switch


def stop(*, feature: str, actor: str, reason: str) -> str:
    """Turn the kill switch on: every tick does nothing until `resume`."""
    return _kill_switch(feature, actor, reason, on=True)


def resume(*, feature: str, actor: str, reason: str) -> str:
    return _kill_switch(feature, actor, reason, on=False)


@transaction.atomic
def _kill_switch(feature: str, actor: str, reason: str, *, on: bool) -> str:
    row = _person_acts(feature, actor, reason)
    if row.stopped == on:
        return f"{feature}: the autopilot is {'already' if on else 'not'} stopped"
    row.stopped = on
    _record_person(row, actor, "autopilot.stop" if on else "autopilot.resume", reason)
    if on:
        return f"{feature}: autopilot stopped; a running worker exits within {POLL_SECONDS:g} s"
    return f"{feature}: autopilot resumed (the kill switch is off)"


@transaction.atomic
def clear_lock(*, feature: str, actor: str, reason: str) -> str:
    """A person's all-clear after a rollback (or a rollback still waiting to finish)."""
    row = _person_acts(feature, actor, reason)
    if not (row.locked or row.rollback_pending):
        raise ControlError(f"{feature}: the autopilot is not locked", status=409)
    was = row.lock_reason
    row.locked, row.rollback_pending, row.lock_reason, row.failures = False, False, "", 0
    _record_person(row, actor, "autopilot.clear_lock", reason, {"lock_reason": was})
    return f"{feature}: lock cleared; the autopilot acts again from the routes' current phase"


def kill_switch_on(feature: str) -> bool:
    return AutopilotState.objects.filter(feature=feature, stopped=True).exists()


def state_of(feature: str) -> dict[str, Any]:
    """The autopilot's memory of feature, for `plan autopilot --status` and the API."""
    row = AutopilotState.objects.filter(feature=feature).first() or AutopilotState(feature=feature)
    return {
        "feature": feature,
        "stopped": row.stopped,
        "locked": row.locked,
        "lock_reason": row.lock_reason,
        "failures": row.failures,
        "rollback_pending": row.rollback_pending,
        "last_decision": row.last_decision or None,
        "last_reason": row.last_reason or None,
        "last_at": row.last_at.isoformat() if row.last_at else None,
        "changed_by": row.changed_by or None,
    }


def _person_acts(feature: str, actor: str, reason: str) -> AutopilotState:
    if not reason.strip():
        raise ControlError("a reason is required (--reason TEXT): it goes into the audit log")
    if not actor.strip() or actor == ACTOR:
        raise ControlError(f"a person acts here: give --actor NAME (not {ACTOR!r})")
    return locked_state_row(feature)


def _record_person(
    row: AutopilotState,
    actor: str,
    action: str,
    reason: str,
    extra: dict[str, Any] | None = None,
) -> None:
    append_audit(
        actor=actor, action=action, subject=row.feature, details={"reason": reason, **(extra or {})}
    )
    row.changed_by = actor
    row.save()
