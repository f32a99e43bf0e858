"""`manage.py` as operators run it: a real child process on a control database of the test's own.

The control-plane tests that cross a process boundary (the CLI's exit codes, the proxy's reader,
a real PostgreSQL server) all start it the same way; only the database, the plans and a few
extra variables differ.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_PLANS = ROOT / "migration_plans" / "plans"


def control_env(
    database_url: str, var_dir: Path, plans: Path | str, **extra: str
) -> dict[str, str]:
    """This process's environment pointed at database_url, var_dir and the plans directory."""
    return {
        **os.environ,
        "FICUS_DB_DEFAULT_URL": database_url,
        "FICUS_VAR_DIR": str(var_dir),
        "FICUS_PLANS_DIR": str(plans),
        **extra,
    }


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def migrate(env: dict[str, str]) -> None:
    migrated = manage(env, "migrate", "--database", "default", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
