"""Compare settings and exchanges for the evidence pipeline's tests (synthetic data only)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from domain.comparison import CompareRules
from proxy.shadow_compare import Exchange, Reply

KEY = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
JSON = ((b"Content-Type", b"application/json"),)


@dataclass(frozen=True)
class Settings:
    rules: CompareRules = field(default_factory=CompareRules)
    max_samples_per_field: int = 5
    retention_days: float = 30.0


def reply(body: object, status: int = 200) -> Reply:
    return Reply(status, JSON, json.dumps(body).encode())


def exchange(legacy, service, noise=None, *, offer=None, template="/api/patients/{id:int}"):
    """A complete exchange (each part already settled)."""
    done = []
    ex = Exchange("patients", "GET", template, False, offer or done.append)
    ex.noise_asked = noise is not None
    ex.settle("legacy", legacy)
    ex.settle("service", service)
    if noise is not None:
        ex.settle("noise", noise)
    return ex
