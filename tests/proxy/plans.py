"""Plan files the proxy process tests share, so one feature's plan is written once."""

from __future__ import annotations

from pathlib import Path

# One migrated feature, `flaky`, on one service that fails (tests/proxy/raw_recorder.py
# `misbehaving("failing")`): its reads fall back to legacy, its writes never do.
_FLAKY_PLAN = """\
feature: flaky
owner: Test
upstream:
  name: flaky
  instances: [{url}]
legacy_tables: []
routes:
  - method: GET
    path: /api/flaky/{{id:int}}
    phase: migrated
  - method: POST
    path: /api/flaky/{{id:int}}
    phase: migrated
  - method: GET
    path: /api/flaky/by-name/{{name}}
    phase: migrated
"""


def write_flaky_plan(plans_dir: Path, service_url: str) -> None:
    """Write the `flaky` plan, served by the service at `service_url`, into `plans_dir`."""
    (plans_dir / "flaky.yaml").write_text(_FLAKY_PLAN.format(url=service_url))
