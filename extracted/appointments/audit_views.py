"""The auditors' view of the access audit: who read or changed which appointment, and when.

`GET /v2/appointments/access-audit?record_id=17&login=clinician&limit=100` answers the newest
rows first as `{"count": n, "results": [{"at", "login", "role", "action", "record_type",
"record_id", "request_id"}]}`. Only the AUDIT role may ask. It is a /v2 path, so it follows the
/v2 conventions (extracted/core/v2.py): no identity 401, another role 403, a bad, unknown or
empty parameter a 400 problem naming it. Reading the audit is not itself audited here: the rows
hold no PHI beyond record ids, and auditing the auditor's reads would make each query change
the answer to the next.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from extracted.appointments import selectors
from extracted.appointments.permissions import PERMISSIONS, READ_AUDIT
from extracted.core.v2 import AsciiIntegerField, V2APIView, problem_responses
from extracted.core.v2_input import QuerySerializer

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_ID = 2**31 - 1  # APPT_ID is 32-bit


class AuditQuerySerializer(QuerySerializer):
    record_id = AsciiIntegerField(
        required=False, min_value=0, max_value=MAX_ID, help_text="Only this appointment id."
    )
    login = serializers.CharField(required=False, max_length=64, help_text="Only this login.")
    limit = AsciiIntegerField(
        required=False, min_value=1, max_value=MAX_LIMIT, default=DEFAULT_LIMIT
    )


class AuditEntrySerializer(serializers.Serializer[object]):
    at = serializers.DateTimeField()
    login = serializers.CharField()
    role = serializers.CharField()
    action = serializers.CharField()
    record_type = serializers.CharField()
    record_id = serializers.CharField(allow_null=True)
    request_id = serializers.CharField()


class AccessAuditView(V2APIView):
    read_roles = PERMISSIONS.roles(READ_AUDIT)
    pagination_class = None  # `limit`, newest first: an auditor's query, not a paged list

    @extend_schema(
        summary="Who accessed which appointment (auditors only)",
        parameters=[AuditQuerySerializer],
        responses={
            200: inline_serializer(
                "AppointmentAccessAudit",
                fields={
                    "count": serializers.IntegerField(),
                    "results": AuditEntrySerializer(many=True),
                },
            ),
            **problem_responses(400, 401, 403),
        },
    )
    def get(self, request: Request) -> Response:
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        record_id = query.validated_data.get("record_id")
        rows = selectors.access_audit_entries(
            record_id=None if record_id is None else str(record_id),
            login=query.validated_data.get("login"),
            limit=query.validated_data["limit"],
        )
        results = [
            {
                "at": row.at.isoformat(),
                "login": row.login,
                "role": row.role,
                "action": row.action,
                "record_type": row.record_type,
                "record_id": row.record_id,
                "request_id": row.request_id,
            }
            for row in rows
        ]
        return Response({"count": len(results), "results": results})
