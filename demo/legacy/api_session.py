"""`GET /api/session`: the legacy "who am I", open to every role including OPER and AUDIT."""

from __future__ import annotations

from demo.legacy import roles
from demo.legacy.http import Response, json_response
from demo.legacy.routes import Ctx, Route


def whoami(ctx: Ctx) -> Response:
    user = ctx.user
    return json_response(
        {
            "USER_ID": user.user_id,
            "LOGIN_NM": user.login_nm,
            "FULL_NM": user.full_nm,
            "ROLE_CD": user.role_cd,
            "EXPIRES_TS": user.expires_ts,
        }
    )


ROUTES = [Route("GET", "/api/session", whoami, roles.ANY_USER)]
