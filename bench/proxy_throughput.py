"""Proxy throughput and latency: direct vs stock mitmdump vs Ficus's proxy, in one run.

The backend (bench/backend.py) answers a small JSON body. Each proxy runs pinned to CPU 1 while
wrk and the backend share CPU 0, so "one core" means the same for stock mitmdump and for Ficus.
Ficus is measured on two routes: an unmatched path (forwarded to the legacy upstream) and the
migrated `GET /api/appointments/{id}` with a clinician's session (routing plus the identity
bridge's session lookup and signing).
"""

from __future__ import annotations

import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, insert

from bench.processes import REPO_ROOT, free_port, running
from bench.wrk import LoadResult, run_wrk
from legacy_adapter.schema import AppUser, LegacyBase, UserSession

PROXY_CPU = 1
LOAD_CPU = 0
SESSION_ID = "bench-session-" + "0" * 40


@dataclass(frozen=True)
class ProxyRun:
    name: str
    throughput: LoadResult
    single_connection: LoadResult


def _legacy_db_with_a_session(directory: Path) -> str:
    url = f"sqlite:///{directory / 'legacy.sqlite3'}"
    engine = create_engine(url)
    LegacyBase.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(AppUser).values(
                USER_ID=1,
                LOGIN_NM="clinician",
                PWD_HASH="x",
                FULL_NM="Bench Clinician",
                ROLE_CD="CLIN",
                PROV_ID=1,
                ACTIVE_FLG="Y",
            )
        )
        conn.execute(
            insert(UserSession).values(
                SESS_ID=SESSION_ID, USER_ID=1, ROLE_CD="CLIN", EXPIRES_TS="29991231235959"
            )
        )
    engine.dispose()
    return url


def _measure(
    name: str, url: str, *, connections: int, seconds: float, headers: dict[str, str] | None = None
) -> ProxyRun:
    return ProxyRun(
        name=name,
        throughput=run_wrk(
            url, connections=connections, seconds=seconds, cpu=LOAD_CPU, headers=headers
        ),
        single_connection=run_wrk(
            url, connections=1, seconds=seconds, cpu=LOAD_CPU, headers=headers
        ),
    )


def run(*, seconds: float, connections: int) -> list[ProxyRun]:
    py = sys.executable
    results: list[ProxyRun] = []
    with tempfile.TemporaryDirectory(prefix="ficus-bench-") as tmp:
        tmp_path = Path(tmp)
        legacy_db = _legacy_db_with_a_session(tmp_path)
        backend_port = free_port()
        backend = f"http://127.0.0.1:{backend_port}"
        with running(
            [py, "-m", "bench.backend", "--port", str(backend_port)],
            port=backend_port,
            cpu=LOAD_CPU,
        ):
            results.append(
                _measure(
                    "direct",
                    f"{backend}/api/appointments/1",
                    connections=connections,
                    seconds=seconds,
                )
            )

            port = free_port()
            mitmdump = [
                str(Path(py).parent / "mitmdump"),
                "--quiet",
                "--mode",
                f"reverse:{backend}",
                "--listen-host",
                "127.0.0.1",
                "--listen-port",
                str(port),
                "--set",
                f"confdir={tmp_path / 'mitmproxy'}",
            ]
            with running(mitmdump, port=port, cpu=PROXY_CPU):
                results.append(
                    _measure(
                        "stock mitmdump",
                        f"http://127.0.0.1:{port}/api/appointments/1",
                        connections=connections,
                        seconds=seconds,
                    )
                )

            port = free_port()
            runproxy = [
                py,
                str(REPO_ROOT / "manage.py"),
                "runproxy",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--legacy",
                backend,
                "--legacy-db",
                legacy_db,
                "--access-log",
                str(tmp_path / "access.log"),
            ]
            env = {
                "FICUS_UPSTREAM_APPOINTMENTS": backend,
                "FICUS_IDENTITY_KEY": secrets.token_urlsafe(48),
                "FICUS_VAR_DIR": str(tmp_path),
            }
            with running(runproxy, port=port, cpu=PROXY_CPU, env=env):
                base = f"http://127.0.0.1:{port}"
                results.append(
                    _measure(
                        "Ficus, legacy route",
                        f"{base}/api/patients/17",
                        connections=connections,
                        seconds=seconds,
                    )
                )
                results.append(
                    _measure(
                        "Ficus, migrated route + identity",
                        f"{base}/api/appointments/1",
                        connections=connections,
                        seconds=seconds,
                        headers={"Cookie": f"SESSID={SESSION_ID}"},
                    )
                )
    return results
