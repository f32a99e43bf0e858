"""A real third-party legacy system for tests: GNU Health 5.0 on trytond 7.0 (docs/real-legacy.md).

It runs from `.venv-tryton` (`make tryton-env`), never from Ficus's own venv: its pins are not
Ficus's. Initialising GNU Health takes tens of seconds, so the initialised SQLite database is
kept as a template under var/tryton/, keyed by the hash of the env's lock files, and each test
database is a copy of it. The admin password is synthetic, made once per template and handed to
trytond-admin through TRYTONPASSFILE, as trytond expects.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.ports import LOOPBACK, free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
TRYTON_DIR = REPO_ROOT / "tests" / "e2e" / "tryton"
VENV = REPO_ROOT / ".venv-tryton"
PYTHON = VENV / "bin" / "python"
SAO_ROOT = VENV / "sao-www"
MODULES = ("health",)  # GNU Health's core; trytond-admin activates what it depends on
ADMIN = "admin"
_LOCKS = (
    TRYTON_DIR / "requirements.lock",
    TRYTON_DIR / "sao" / "package-lock.json",
)
RECIPE = "2"  # bump when `template()` makes its database differently


class TrytonEnvMissingError(RuntimeError):
    pass


@dataclass(frozen=True)
class Template:
    database: Path  # an initialised SQLite file; copy it, never open it
    password_file: Path

    @property
    def admin_password(self) -> str:
        return self.password_file.read_text().strip()


def env_key() -> str:
    digest = hashlib.sha256()
    for path in _LOCKS:
        digest.update(path.read_bytes())
    digest.update(f"{RECIPE}:{','.join(MODULES)}".encode())
    return digest.hexdigest()[:16]


def _require_env() -> None:
    if not (VENV / ".installed").exists():
        raise TrytonEnvMissingError(
            f"{VENV} is not built: run `make tryton-env` (docs/real-legacy.md)"
        )


def _config(path: Path, database_dir: Path, port: int) -> Path:
    path.write_text(
        "[database]\n"
        "uri = sqlite://\n"
        f"path = {database_dir}\n"
        "[web]\n"
        f"listen = {LOOPBACK}:{port}\n"
        f"root = {SAO_ROOT}\n"
    )
    return path


def template(var_dir: Path = REPO_ROOT / "var" / "tryton") -> Template:
    """The initialised template database for this env, made now if no earlier run left one."""
    _require_env()
    home = var_dir / env_key()
    made = Template(database=home / "template.sqlite", password_file=home / "admin-password")
    if made.database.exists():
        return made
    work = var_dir / f"{env_key()}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "admin-password").write_text(secrets.token_urlsafe(16) + "\n")
    (work / "template.sqlite").touch()
    config = _config(work / "trytond.conf", work, free_port())
    modules = [arg for name in MODULES for arg in ("-u", name)]
    subprocess.run(
        [
            VENV / "bin" / "trytond-admin",
            "-c",
            config,
            "-d",
            "template",
            "--all",
            *modules,
            "--activate-dependencies",
            "--email",
            "admin@example.test",
        ],
        env={**os.environ, "TRYTONPASSFILE": str(work / "admin-password")},
        check=True,
        capture_output=True,
    )
    _configuration_done(work / "template.sqlite")
    # Publish the finished template in one rename, so a half-made one is never used.
    if home.exists():
        shutil.rmtree(work)  # another run finished first; theirs is as good
    else:
        work.replace(home)
    return made


def _configuration_done(database: Path) -> None:
    """Leave the database as an admin does who has gone through the module configuration
    wizard (company, users...) that a fresh database opens on the first login: the tests log in
    to work, not to set the instance up."""
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE ir_module_config_wizard_item SET state = 'done'")
    connection.close()


@dataclass(frozen=True)
class Trytond:
    port: int
    database_dir: Path
    admin_password: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def new_database(self, name: str, source: Template) -> str:
        """A fresh copy of the template under `name`; trytond opens it on the first call."""
        shutil.copyfile(source.database, self.database_dir / f"{name}.sqlite")
        return name


@contextmanager
def running_trytond(directory: Path, source: Template) -> Iterator[Trytond]:
    """trytond serving the JSON-RPC and XML-RPC APIs and sao on a free loopback port."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = _config(directory / "trytond.conf", directory, port)
    log = directory / "trytond.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [VENV / "bin" / "trytond", "-c", config],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, timeout=60, process=process)
        yield Trytond(port, directory, source.admin_password, log)
    finally:
        # trytond's built-in server has no SIGTERM handler: it ends by the signal, at once.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise RuntimeError(f"trytond ignored SIGTERM for 10 s; its log: {log}") from None


def run_proteus_clinician(url: str, database: str, password: str) -> dict[str, Any]:
    """tests/e2e/tryton/proteus_clinician.py in .venv-tryton against `url`; its JSON output."""
    done = subprocess.run(
        [PYTHON, TRYTON_DIR / "proteus_clinician.py", url, database],
        env={**os.environ, "TRYTON_ADMIN_PASSWORD": password},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"proteus_clinician.py exited {done.returncode}:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result
