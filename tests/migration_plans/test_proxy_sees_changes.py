"""The seam with the proxy (contract C2): what `plan advance` writes, the proxy's reader reads.

Real processes on a real SQLite file: Django migrates and moves routes; the proxy's own
SQLAlchemy functions (`proxy.control_plane`) read the generation and the states back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from proxy.control_plane import control_engine, read_generation, read_states
from proxy.routing import Phase

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_PLANS = ROOT / "migration_plans" / "plans"


def test_it_shows_every_change_to_the_proxys_reader(tmp_path):
    database = tmp_path / "control.sqlite3"
    env = {
        **os.environ,
        "FICUS_DB_DEFAULT_URL": f"sqlite:///{database}",
        "FICUS_VAR_DIR": str(tmp_path),
        "FICUS_PLANS_DIR": str(SHIPPED_PLANS),
        "FICUS_EVIDENCE_PROVIDERS": "",
    }

    def manage(*args):
        result = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result

    manage("migrate", "--database", "default", "-v", "0")
    engine = control_engine(f"sqlite:///{database}")
    try:
        assert read_generation(engine) == 0
        manage("plan", "status")
        assert read_generation(engine) == 1
        assert read_states(engine)[("GET", "/api/appointments")].phase is Phase.LEGACY
        for weight in (None, "5"):
            extra = ("--weight", weight) if weight else ()
            manage("plan", "advance", "appointments", *extra, "--force", "--reason", "r")
        assert read_generation(engine) == 3
        state = read_states(engine)[("GET", "/api/appointments")]
        assert (state.phase, state.weight) == (Phase.CANARY, 5)
    finally:
        engine.dispose()
