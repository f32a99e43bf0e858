"""The seam with the proxy (contract C2): what `plan advance` writes, the proxy's reader reads.

Real processes on a real SQLite file: Django migrates and moves routes; the proxy's own
SQLAlchemy functions (`proxy.control_plane`) read the generation and the states back.
"""

from __future__ import annotations

from domain.phases import Phase
from proxy.control_plane import control_engine, read_generation, read_states
from tests.migration_plans.manage_process import SHIPPED_PLANS, control_env, manage, migrate


def test_it_shows_every_change_to_the_proxys_reader(tmp_path):
    database = tmp_path / "control.sqlite3"
    env = control_env(f"sqlite:///{database}", tmp_path, SHIPPED_PLANS, FICUS_EVIDENCE_PROVIDERS="")

    def run(*args):
        result = manage(env, *args)
        assert result.returncode == 0, result.stderr

    migrate(env)
    engine = control_engine(f"sqlite:///{database}")
    try:
        assert read_generation(engine) == 0
        run("plan", "status")
        assert read_generation(engine) == 1
        assert read_states(engine)[("GET", "/api/appointments")].phase is Phase.LEGACY
        for weight in (None, "5"):
            extra = ("--weight", weight) if weight else ()
            run("plan", "advance", "appointments", *extra, "--force", "--reason", "r")
        assert read_generation(engine) == 3
        state = read_states(engine)[("GET", "/api/appointments")]
        assert (state.phase, state.weight) == (Phase.CANARY, 5)
    finally:
        engine.dispose()
