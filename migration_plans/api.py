"""The control plane's DRF API (`/control/v1/`): the same operations as `manage.py plan`.

Thin views over `services` (writes) and `selectors` (reads), with token authentication and two
roles (Django groups): `operator` may change state, `auditor` may only read; anyone else gets
401 (no or bad token) or 403 (no role), always as JSON `{"reason": ...}`. A refused advance or
rollback is 409 with every gate and its numbers, exactly what the CLI prints.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from domain.plans import Plan, PlanError, load_plans
from domain.transitions import ORDER
from migration_plans import (
    audit_chain,
    audit_log,
    autopilot_controls,
    control_errors,
    evidence_report,
    route_moves,
    selectors,
    services,
)
from migration_plans import schema as doc
from migration_plans.plan_cache import PlanCaches

MAX_PAGE = 500
# Parsed once per generation of the plan files, not on every request.
PLANS = PlanCaches(partial(load_plans, environ=os.environ), environ=os.environ)


class HasControlRole(BasePermission):
    """Reads need operator or auditor; writes need operator."""

    message = "your user has no control-plane role (operator or auditor)"

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        roles = set(user.groups.values_list("name", flat=True))
        if request.method in SAFE_METHODS:
            return bool(roles & {"operator", "auditor"})
        if "operator" not in roles:
            self.message = "only an operator may change route state"
            return False
        return True


class ControlView(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [HasControlRole]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        # Route states, tokens' roles and the audit chain: no cache in between may keep them,
        # the refusals (401/403) included.
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, control_errors.GateRefusalError):
            return Response(
                {"reason": exc.reason, "gates": exc.results, "evidence": exc.evidence},
                status=exc.status,
            )
        if isinstance(exc, control_errors.ControlError):
            return Response({"reason": exc.reason}, status=exc.status)
        if isinstance(exc, ValidationError):
            return Response({"reason": "invalid request", "fields": exc.detail}, status=400)
        response = super().handle_exception(exc)
        if isinstance(exc, APIException) and isinstance(response.data, dict):
            response.data = {"reason": str(response.data.get("detail", exc.detail))}
        return response

    def plans(self) -> tuple[Plan, ...]:
        try:
            return PLANS.of(Path(settings.FICUS_PLANS_DIR)).plans()
        except PlanError as e:
            raise control_errors.ControlError(f"the plan files are broken: {e}", status=503) from e


class RoutesView(ControlView):
    @extend_schema(
        summary="Every route's phase and weight",
        parameters=[doc.FEATURE_FILTER],
        responses={200: doc.ROUTES, **doc.refusals(401, 403, 404, 503)},
    )
    def get(self, request: Request) -> Response:
        plans = self.plans()
        feature = request.query_params.get("feature") or None
        if feature:
            route_moves.find_plan(plans, feature)
        services.register_routes(plans=plans)
        return Response({"routes": [_row(r) for r in selectors.status(plans, feature)]})


class FeatureView(ControlView):
    @extend_schema(
        summary="One feature: its plan's gates and its routes",
        parameters=[doc.FEATURE_PATH],
        responses={200: doc.FEATURE, **doc.refusals(401, 403, 404, 503)},
    )
    def get(self, request: Request, feature: str) -> Response:
        plans = self.plans()
        plan = route_moves.find_plan(plans, feature)
        services.register_routes(plans=plans)
        return Response(
            {
                "feature": plan.feature,
                "owner": plan.owner,
                "upstream": plan.upstream.name,
                "canary_writes": plan.canary_writes,
                "gates": {
                    str(phase): plan.gates[phase].thresholds()
                    for phase in ORDER
                    if phase in plan.gates
                },
                "routes": [_row(r) for r in selectors.status(plans, feature)],
            }
        )


class HistoryView(ControlView):
    @extend_schema(
        summary="Every transition of a feature's routes",
        parameters=[doc.FEATURE_PATH],
        responses={200: doc.HISTORY, **doc.refusals(401, 403, 404, 503)},
    )
    def get(self, request: Request, feature: str) -> Response:
        route_moves.find_plan(self.plans(), feature)
        return Response(
            {
                "feature": feature,
                "transitions": [
                    {
                        "at": audit_chain.format_time(t.at),
                        "actor": t.actor,
                        "action": t.action,
                        "scope": t.scope,
                        "route": f"{t.method} {t.template}",
                        "from": t.from_phase or None,
                        "to": t.to_phase,
                        "from_weight": t.from_weight,
                        "to_weight": t.to_weight,
                        "forced": t.forced,
                        "reason": t.reason,
                        "gates": t.gate_results,
                        "evidence": t.evidence,
                        "audit_seq": t.audit_seq,
                    }
                    for t in selectors.history(feature)
                ],
            }
        )


class EvidenceView(ControlView):
    @extend_schema(
        summary="A feature's shadow evidence: differences per route, field and verdict",
        parameters=[doc.FEATURE_PATH, doc.ROUTE_FILTER],
        responses={200: doc.EVIDENCE, **doc.refusals(401, 403, 404, 503)},
    )
    def get(self, request: Request, feature: str) -> Response:
        plans = self.plans()
        route_moves.find_plan(plans, feature)
        services.register_routes(plans=plans)
        route = request.query_params.get("route") or None
        found = evidence_report.reports(plans, feature, route)
        return Response({"feature": feature, "routes": [evidence_report.as_dict(r) for r in found]})


class MoveInput(serializers.Serializer[dict[str, Any]]):
    to = serializers.ChoiceField(choices=[str(p) for p in ORDER], required=False)
    weight = serializers.IntegerField(required=False)
    route = serializers.CharField(required=False, max_length=220)
    reason = serializers.CharField(max_length=2000)
    force = serializers.BooleanField(default=False)


class MoveView(ControlView):
    action_name = "advance"

    @extend_schema(
        summary="Advance or roll back a feature (or one route)",
        parameters=[doc.FEATURE_PATH],
        request=MoveInput,
        responses={200: doc.OUTCOME, **doc.refusals(400, 401, 403, 404, 409, 503)},
    )
    def post(self, request: Request, feature: str) -> Response:
        data = MoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        operation = services.advance if self.action_name == "advance" else services.rollback
        outcome = operation(
            plans=self.plans(),
            feature=feature,
            to=values.get("to"),
            weight=values.get("weight"),
            route=values.get("route"),
            reason=values["reason"],
            actor=request.user.get_username(),
            force=values["force"],
        )
        return Response(
            {
                "feature": outcome.feature,
                "action": outcome.action,
                "forced": outcome.forced,
                "changes": [
                    {
                        "route": f"{c.method} {c.template}",
                        "from": c.from_phase,
                        "to": c.to_phase,
                        "from_weight": c.from_weight,
                        "to_weight": c.to_weight,
                    }
                    for c in outcome.changes
                ],
                "gates": list(outcome.gate_results),
                "evidence": outcome.evidence,
                "audit_seq": outcome.audit_seq,
                "generation": outcome.generation,
            }
        )


class AdvanceView(MoveView):
    action_name = "advance"


class RollbackView(MoveView):
    action_name = "rollback"


class StopInput(serializers.Serializer[dict[str, Any]]):
    reason = serializers.CharField(max_length=2000)


class AutopilotView(ControlView):
    @extend_schema(
        summary="The autopilot's state for a feature: kill switch, lock, last decision",
        parameters=[doc.FEATURE_PATH],
        responses={200: doc.AUTOPILOT, **doc.refusals(401, 403, 404, 503)},
    )
    def get(self, request: Request, feature: str) -> Response:
        plan = route_moves.find_plan(self.plans(), feature)
        return Response(_autopilot(plan))


class AutopilotStopView(ControlView):
    @extend_schema(
        summary="Kill switch: the feature's autopilot stops at once and acts on nothing",
        parameters=[doc.FEATURE_PATH],
        request=StopInput,
        responses={200: doc.AUTOPILOT, **doc.refusals(400, 401, 403, 404, 503)},
    )
    def post(self, request: Request, feature: str) -> Response:
        data = StopInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = route_moves.find_plan(self.plans(), feature)
        message = autopilot_controls.stop(
            feature=feature,
            actor=request.user.get_username(),
            reason=data.validated_data["reason"],
        )
        return Response({**_autopilot(plan), "message": message})


def _autopilot(plan: Plan) -> dict[str, Any]:
    return {"configured": plan.autopilot is not None, **autopilot_controls.state_of(plan.feature)}


def _whole(request: Request, name: str, default: int, low: int, high: int) -> int:
    """A query integer in [low, high], ASCII digits only (`int` also reads "١٢" and "1_0"),
    so a number the database cannot compare with is a 400, never a 500."""
    raw = request.query_params.get(name, str(default))
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise control_errors.ControlError(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


class AuditRecordsView(ControlView):
    @extend_schema(
        summary="The audit chain's records, oldest first",
        parameters=doc.audit_page_parameters(MAX_PAGE),
        responses={200: doc.AUDIT_RECORDS, **doc.refusals(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        after = _whole(request, "after", 0, 0, doc.MAX_SEQ)
        limit = _whole(request, "limit", 100, 1, MAX_PAGE)
        rows = selectors.audit_records().filter(seq__gt=after)[:limit]
        return Response({"records": [selectors.record_as_dict(r) for r in rows]})


class AuditVerifyView(ControlView):
    @extend_schema(
        summary="Verify the audit chain (and its signatures, when the key is set)",
        responses={200: doc.AUDIT_VERIFY, **doc.refusals(401, 403)},
    )
    def get(self, request: Request) -> Response:
        key = audit_log.audit_key() if os.environ.get(audit_log.AUDIT_KEY_VAR) else None
        count, broken = selectors.verify_audit(key)
        body: dict[str, Any] = {
            "ok": broken is None,
            "records": count,
            "signatures_checked": key is not None,
        }
        if broken is not None:
            body["broken"] = {"seq": broken.seq, "kind": broken.kind, "message": broken.message}
        return Response(body)


def _row(row: selectors.StatusRow) -> dict[str, Any]:
    return {
        "feature": row.feature,
        "route": f"{row.method} {row.template}",
        "method": row.method,
        "template": row.template,
        "phase": row.phase,
        "weight": row.weight,
        "since": audit_chain.format_time(row.since) if row.since else None,
        "actor": row.actor or None,
    }
