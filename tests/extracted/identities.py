"""Signed identity headers for the personas, as the proxy would send them."""

from __future__ import annotations

import time

from proxy.identity import IDENTITY_HEADER, Identity, sign_identity

KEY = "test-identity-key-0123456789-abcdefghijklmnop"
OTHER_KEY = "an-attackers-guess-at-the-key-0123456789abcdef"

PERSONAS = {
    # persona: (user_id, login, role)
    "clinician": (1, "clinician", "CLIN"),
    "scheduler": (2, "scheduler", "SCHED"),
    "billing": (3, "billing", "BILL"),
    "admin": (6, "admin", "ADMIN"),
    "operator": (4, "operator", "OPER"),
    "auditor": (5, "auditor", "AUDIT"),
}


def identity_header(
    persona: str, *, key: str = KEY, expires_in: int = 60, request_id: str = "rid-test"
) -> str:
    user_id, login, role = PERSONAS[persona]
    identity = Identity(
        user_id=user_id,
        login=login,
        role=role,
        expires_at=int(time.time()) + expires_in,
        request_id=request_id,
    )
    return sign_identity(identity, key.encode())


def headers_for(persona: str, **kwargs) -> dict[str, str]:
    return {IDENTITY_HEADER: identity_header(persona, **kwargs)}
