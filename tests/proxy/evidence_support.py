"""Compare settings and exchanges for the evidence pipeline's tests (synthetic data only)."""

from __future__ import annotations

import json
from typing import Any

from domain.plan_model import CompareSettings
from proxy.evidence_compare import FeatureCompare
from proxy.shadow_compare import Exchange, Reply

KEY = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
JSON = ((b"Content-Type", b"application/json"),)


def settings(**compare: Any) -> FeatureCompare:
    """A feature's compare settings with default rules for every route."""
    return FeatureCompare(CompareSettings(**compare), {})


def reply(body: object, status: int = 200) -> Reply:
    return Reply(status, JSON, json.dumps(body).encode())


def exchange(legacy, service, noise=None, *, offer=None, template="/api/patients/{id:int}"):
    """A complete exchange (each part already settled)."""
    done: list[Exchange] = []
    ex = Exchange("patients", "GET", template, False, offer or done.append)
    ex.noise_asked = noise is not None
    ex.settle("legacy", legacy)
    ex.settle("service", service)
    if noise is not None:
        ex.settle("noise", noise)
    return ex
