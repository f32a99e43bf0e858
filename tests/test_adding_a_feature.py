"""docs/adding-a-feature.md, followed to the letter: a throwaway feature runs end to end.

The product tree is copied into a temporary directory; every path-labelled code block of the
walkthrough is written into the copy (a block labelled "after the line `X`" is inserted after
that line), then the walkthrough's commands run there, as real processes with the copy first on
PYTHONPATH: the new feature is in the copy's registry and passes `plan check`, `sync install`
puts capture triggers on its table, `sync backfill` copies its rows into its service's
database, `runservice charges` serves them and `runproxy` in front of the demo legacy app
sends `GET /api/charges/{id}` there. The real repository never gains the feature.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.clients import logged_in
from tests.extracted.identities import headers_for
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
WALKTHROUGH = REPO / "docs" / "adding-a-feature.md"
HOST = "127.0.0.1"
STEP_TIMEOUT_S = 120.0
START_TIMEOUT_S = 60.0
REGISTRY_TEST_FILES = (
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/support/__init__.py",
    "tests/support/databases.py",
    "tests/support/import_contracts.py",
    "tests/migration_plans/__init__.py",
    "tests/migration_plans/test_feature_registry.py",
)

# A label line ("`path`:" or "`path`, after the line `anchor`:"), a blank line, a fenced block.
_BLOCK = re.compile(
    r"^`(?P<path>[^`\s]+)`(?:, after the line `(?P<anchor>[^`]+)`)?:\n\n"
    r"```[a-z]*\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    path: str
    anchor: str | None  # None: the whole file; else insert the body after this line
    body: str


def walkthrough_blocks(text: str) -> list[Block]:
    return [Block(m["path"], m["anchor"], m["body"]) for m in _BLOCK.finditer(text)]


def copy_product(destination: Path) -> None:
    """The repository's files (tracked or new, not ignored) but its tests and docs."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if name.startswith(("tests/", "docs/")) or not (REPO / name).is_file():
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)


def apply_blocks(root: Path, blocks: list[Block]) -> None:
    for block in blocks:
        target = root / block.path
        if block.anchor is None:
            assert not target.exists(), f"the walkthrough overwrites {block.path}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body)
            continue
        lines = target.read_text().splitlines(keepends=True)
        at = [i for i, line in enumerate(lines) if line.rstrip("\n") == block.anchor]
        assert len(at) == 1, f"{block.path}: the line {block.anchor!r} is not there exactly once"
        lines.insert(at[0] + 1, block.body)
        target.write_text("".join(lines))


class Copy:
    """The copied tree, its environment, and the processes started in it."""

    def __init__(self, root: Path, var: Path) -> None:
        self.root = root
        self.var = var
        self.key = "walkthrough-identity-key-" + "k" * 40
        self.ports = {"service": free_port(), "legacy": free_port(), "proxy": free_port()}
        base = {k: v for k, v in os.environ.items() if not k.startswith(("FICUS_", "DJANGO_"))}
        self.env = {
            **base,
            "PYTHONPATH": str(root),
            "PYTHONUNBUFFERED": "1",
            "FICUS_VAR_DIR": str(var),
            "LEGACY_DATABASE_URL": f"sqlite:///{var / 'legacy.sqlite3'}",
            "FICUS_DB_DEFAULT_URL": f"sqlite:///{var / 'control.sqlite3'}",
            "FICUS_DB_CHARGES_URL": f"sqlite:///{var / 'charges.sqlite3'}",
            "FICUS_UPSTREAM_CHARGES": f"http://{HOST}:{self.ports['service']}",
            "FICUS_IDENTITY_KEY": self.key,
        }
        self.processes: list[tuple[str, subprocess.Popen[bytes], Path]] = []

    def run(self, *argv: str) -> str:
        result = subprocess.run(
            [sys.executable, *argv],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def manage(self, *args: str) -> str:
        return self.run("manage.py", *args)

    def start(self, name: str, health_url: str, *argv: str) -> None:
        log_path = self.var / f"{name}.log"
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, *argv],
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a stop reaches gunicorn's workers
            )
        self.processes.append((name, process, log_path))
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{name} exited:\n{log_path.read_text()}"
            with suppress(httpx.HTTPError):
                if httpx.get(health_url, timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{name} did not answer {health_url}:\n{log_path.read_text()}")

    def stop(self) -> None:
        for _name, process, _log in reversed(self.processes):
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for _name, process, _log in reversed(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self.ports[name]}"


@contextmanager
def followed_walkthrough(tmp_path: Path) -> Iterator[Copy]:
    root, var = tmp_path / "product", tmp_path / "var"
    var.mkdir()
    copy_product(root)
    blocks = walkthrough_blocks(WALKTHROUGH.read_text())
    apply_blocks(root, blocks)
    copy = Copy(root, var)
    try:
        yield copy
    finally:
        copy.stop()


def legacy_rows(copy: Copy, query: str) -> list[sqlite3.Row]:
    with sqlite3.connect(copy.var / "legacy.sqlite3") as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute(query).fetchall()


def service_count(copy: Copy) -> int:
    with sqlite3.connect(copy.var / "charges.sqlite3") as conn:
        (count,) = conn.execute("SELECT COUNT(*) FROM charges_charge").fetchone()
    return int(count)


def test_the_walkthrough_names_every_file_of_the_feature():
    paths = {block.path for block in walkthrough_blocks(WALKTHROUGH.read_text())}
    assert {
        "migration_plans/plans/charges.yaml",
        "legacy_adapter/mapping/charges.py",
        "extracted/charges/apps.py",
        "extracted/charges/models.py",
        "extracted/charges/services.py",
        "extracted/charges/sync_target.py",
        "extracted/charges/urls.py",
    } <= paths
    # Nothing else lists features: no shared file is edited.
    assert {
        block.path for block in walkthrough_blocks(WALKTHROUGH.read_text()) if block.anchor
    } == set()
    # The feature exists only in the copies this test makes.
    assert not (REPO / "migration_plans" / "plans" / "charges.yaml").exists()


def test_a_feature_added_as_the_walkthrough_says_runs_end_to_end(tmp_path: Path):
    with followed_walkthrough(tmp_path) as copy:
        # The service's migration is made, as the walkthrough says, not copied.
        copy.manage("makemigrations", "charges")
        assert (copy.root / "extracted/charges/migrations/0001_initial.py").is_file()
        copy.run("-m", "ruff", "format", "extracted/charges/migrations")
        copy.run("-m", "ruff", "check", "extracted/charges", "legacy_adapter/mapping/charges.py")
        # What cannot derive from the registry agrees with it: the registry test, in the copy.
        for name in REGISTRY_TEST_FILES:
            (copy.root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy.root / name)
        copy.run("-m", "pytest", "-q", REGISTRY_TEST_FILES[-1])
        copy.run(str(Path(sys.executable).parent / "lint-imports"), "--config", "setup.cfg")
        checked = copy.manage("plan", "check")
        assert "charges" in checked, checked
        registry = copy.run(
            "-c",
            "from migration_plans.feature_registry import feature_names, legacy_tables; "
            "print(feature_names(), legacy_tables())",
        )
        assert "'charges'" in registry, registry
        assert "'BILL_CHARGE'" in registry, registry

        # The demo's legacy database (synthetic, seeded), then the walkthrough's commands.
        copy.run("-m", "demo.legacy", "init-db", "--patients", "20", "--appointments", "60")
        charges = legacy_rows(copy, "SELECT * FROM BILL_CHARGE ORDER BY CHG_ID")
        assert charges, "the seed made no BILL_CHARGE rows"
        copy.manage("migrate", "--no-input", "-v", "0")
        copy.manage("migrate", "--database", "charges", "--no-input", "-v", "0")
        copy.manage("sync", "install")
        triggers = legacy_rows(
            copy, "SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='BILL_CHARGE'"
        )
        assert {row["name"] for row in triggers} == {
            f"ficus_bill_charge_{suffix}" for suffix in ("ai", "au", "ad")
        }
        copy.manage("sync", "backfill", "charges")
        assert service_count(copy) == len(charges)
        # A charge the legacy app posts from now on is captured (synthetic values), and the
        # sync worker applies it from its change row.
        new_id = max(int(row["CHG_ID"]) for row in charges) + 1
        new_charge = {
            "CHG_ID": new_id,
            "APPT_ID": int(charges[0]["APPT_ID"]),
            "PAT_ID": int(charges[0]["PAT_ID"]),
            "CPT_CD": "99999",
            "AMT_CENTS": 4321,
            "POSTED_DT": "20261117",
        }
        with sqlite3.connect(copy.var / "legacy.sqlite3") as conn:
            conn.execute(
                "INSERT INTO BILL_CHARGE (CHG_ID, APPT_ID, PAT_ID, CPT_CD, AMT_CENTS, POSTED_DT)"
                " VALUES (:CHG_ID, :APPT_ID, :PAT_ID, :CPT_CD, :AMT_CENTS, :POSTED_DT)",
                new_charge,
            )
        captured = legacy_rows(
            copy, f"SELECT op FROM ficus_change WHERE tbl = 'BILL_CHARGE' AND pk = {new_id}"
        )
        assert [row["op"] for row in captured] == ["I"]
        charges = legacy_rows(copy, "SELECT * FROM BILL_CHARGE ORDER BY CHG_ID")
        copy.manage("sync", "run", "--feature", "charges", "--once")
        assert service_count(copy) == len(charges)
        reconciled = copy.manage("sync", "reconcile", "charges")
        assert "(0 differ)" in reconciled, reconciled
        assert "drift rows: 0" in reconciled, reconciled

        service, legacy = str(copy.ports["service"]), str(copy.ports["legacy"])
        copy.start(
            "charges",
            copy.url("service") + "/__ficus/health",
            *("manage.py", "runservice", "charges", "--port", service, "--workers", "1"),
        )
        copy.start(
            "legacy",
            copy.url("legacy") + "/login",
            *("-m", "demo.legacy", "serve", "--port", legacy, "--workers", "1"),
        )
        access_log = copy.var / "proxy-access.log"
        copy.start(
            "proxy",
            copy.url("proxy") + "/login",
            *("manage.py", "runproxy", "--port", str(copy.ports["proxy"])),
            *("--legacy", copy.url("legacy"), "--access-log", str(access_log)),
        )

        wanted = dict(charges[len(charges) // 2])
        unknown = f"/api/charges/{new_id + 1000}"
        with logged_in(copy.url("proxy"), "billing") as client:
            found = client.get(f"/api/charges/{wanted['CHG_ID']}")
            posted = client.get(f"/api/charges/{new_id}")
            missing = client.get(unknown)
        assert found.status_code == 200, found.text
        assert found.headers["content-type"] == "application/json"
        assert found.json() == wanted
        assert list(found.json()) == list(wanted)  # the legacy key order
        assert posted.json() == new_charge
        # An unknown id: the service's 404 is a read the proxy retries on legacy (the read
        # fallback of `migrated`), whose answer is the legacy 404 for a path it does not have.
        assert missing.status_code == 404
        assert missing.text == '{"ERR": "NO SUCH SERVICE", "CODE": 100}'
        entries = [json.loads(line) for line in access_log.read_text().splitlines() if line]
        routed = [
            (e["upstream"], e["reason"], e["status"])
            for e in entries
            if e["route"] == "/api/charges/{id:int}"
        ]
        assert routed == [
            ("charges", "route", 200),
            ("charges", "route", 200),
            ("legacy", "fallback", 404),
        ], entries

        # The service's own answer, asked as the proxy asks it (a signed identity).
        headers = headers_for("billing", method="GET", target=unknown, key=copy.key)
        direct = httpx.get(copy.url("service") + unknown, headers=headers, timeout=10)
        assert direct.status_code == 404
        assert direct.text == '{"ERR": "CHARGE NOT FOUND", "CODE": 203}'
        anonymous = httpx.get(copy.url("service") + unknown, timeout=10)
        assert anonymous.json() == {"ERR": "NOT LOGGED IN", "CODE": 101}
