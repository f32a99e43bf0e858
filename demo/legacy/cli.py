"""`python -m demo.legacy init-db | serve`: create and seed the legacy database, or run the app.

The database comes from `--database-url`, else `LEGACY_DATABASE_URL`, else the demo's SQLite
file `var/legacy.sqlite3` relative to the current directory. Exit codes: 0 success, 1 refused
(the database already holds data), 2 usage or connection problems.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from demo.legacy import ddl, seed
from demo.legacy.db import ENV_VAR, create_legacy_engine, database_url_from_env, write_transaction
from demo.legacy.legacy_time import parse_legacy_date, to_legacy_date
from demo.legacy.server import serve

PROGRESS_THRESHOLD = 50_000  # appointments; smaller seeds finish before progress would help

EPILOG = f"""\
The database URL comes from --database-url, else ${ENV_VAR}, else sqlite:///var/legacy.sqlite3
(relative to the current directory). Supported: sqlite:///PATH, postgresql+psycopg://...,
mysql+pymysql://... (MariaDB).

examples:
  python -m demo.legacy init-db                       # 2,000 patients, 20,000 appointments
  python -m demo.legacy init-db --anchor 20261120 --seed 7
  python -m demo.legacy init-db --appointments 1000000 --force
  python -m demo.legacy serve --port 8001 --workers 2
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo.legacy",
        description="Oakridge General's patient access system, a sample legacy hospital "
        "monolith: WSGI, hand-written SQL, server-rendered pages and a small JSON API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        default=None,
        help=f"SQLAlchemy URL of the legacy database (default: ${ENV_VAR} or the demo SQLite file)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    init = commands.add_parser(
        "init-db",
        help="create the legacy tables and fill them with synthetic data",
        description="Create the legacy schema and seed it with deterministic synthetic data: "
        "the same --seed and --anchor always give the same rows. Refuses to touch a database "
        "that already holds legacy data unless --force is given.",
    )
    init.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    init.add_argument(
        "--patients", type=_positive, default=2_000, help="patients to create (default: 2000)"
    )
    init.add_argument(
        "--appointments",
        type=_non_negative,
        default=20_000,
        help="appointments to create (default: 20000; 1000000 works, and adds providers)",
    )
    init.add_argument(
        "--providers",
        type=_positive,
        default=40,
        help="providers to create, at least (default: 40; raised when the appointments "
        f"would average more than {seed.TARGET_PER_DAY} a provider-day)",
    )
    init.add_argument(
        "--anchor",
        type=_anchor,
        default=None,
        metavar="YYYYMMDD",
        help="the seed's 'today': appointments run from 60 days before to 30 days after it "
        "(default: today's date in UTC)",
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="drop and recreate the seven legacy tables if they hold data; other tables in "
        "the database are left alone",
    )
    init.set_defaults(run=_init_db)

    serve = commands.add_parser(
        "serve",
        help="run the web app under gunicorn",
        description="Serve the legacy app with gunicorn until SIGTERM or SIGINT. The access log "
        "records the method, route template and status, never paths with ids or query strings.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8001, help="port to bind (default: 8001)")
    serve.add_argument("--workers", type=_positive, default=2, help="worker processes (default: 2)")
    serve.add_argument(
        "--threads",
        type=_positive,
        default=1,
        help="threads per worker; more than 1 switches to gthread workers with keep-alive "
        "(default: 1, plain sync workers)",
    )
    serve.set_defaults(run=_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    url = args.database_url or database_url_from_env()
    run: Callable[[argparse.Namespace, str], int] = args.run
    try:
        return run(args, url)
    except OperationalError as e:
        print(f"error: cannot use the database {_safe(url)}: {e.orig}", file=sys.stderr)
        return 2


def _init_db(args: argparse.Namespace, url: str) -> int:
    anchor: date = args.anchor or datetime.now(UTC).date()
    spec = seed.SeedSpec(
        anchor=anchor,
        seed=args.seed,
        patients=args.patients,
        appointments=args.appointments,
        providers=args.providers,
    )
    _make_sqlite_directory(url)
    engine = create_legacy_engine(url)
    try:
        return _create_and_seed(engine, spec, url, force=args.force)
    finally:
        engine.dispose()


def _create_and_seed(engine: Engine, spec: seed.SeedSpec, url: str, *, force: bool) -> int:
    needed = seed.providers_needed(spec)
    if needed > spec.providers:
        print(
            f"note: {spec.appointments} appointments need {needed} providers to fit in "
            f"working hours; seeding {needed} instead of {spec.providers}",
            file=sys.stderr,
        )
    started = time.perf_counter()
    with write_transaction(engine) as conn:
        occupied = ddl.tables_with_data(conn)
        if occupied and not force:
            print(
                f"error: {_safe(url)} already holds legacy data (in {', '.join(occupied)}); "
                "nothing was changed. Use --force to drop and recreate the legacy tables.",
                file=sys.stderr,
            )
            return 1
        if force:
            ddl.drop_schema(conn)
        ddl.create_schema(conn)
        progress = _progress_printer() if spec.appointments >= PROGRESS_THRESHOLD else None
        summary = seed.seed_database(conn, spec, progress=progress)
    elapsed = time.perf_counter() - started
    print(
        f"seeded {_safe(url)}: {summary.patients} patients, {summary.providers} providers, "
        f"{summary.appointments} appointments, {summary.charges} charges, {summary.users} users "
        f"(seed {spec.seed}, anchor {to_legacy_date(spec.anchor)}) in {elapsed:.1f}s"
    )
    return 0


def _serve(args: argparse.Namespace, url: str) -> int:
    engine = create_legacy_engine(url)
    try:
        with engine.connect() as conn:
            ready = ddl.has_schema(conn)
    finally:
        engine.dispose()  # before gunicorn forks: workers open their own connections
    if not ready:
        print(
            f"error: {_safe(url)} has no legacy schema; run `python -m demo.legacy init-db` first",
            file=sys.stderr,
        )
        return 2
    serve(url, host=args.host, port=args.port, workers=args.workers, threads=args.threads)
    return 0


def _progress_printer() -> seed.ProgressFn:
    last_decile: dict[str, int] = {}

    def report(table: str, done: int, total: int) -> None:
        decile = 10 if total == 0 else done * 10 // total
        if decile != last_decile.get(table):
            last_decile[table] = decile
            print(f"  {table}: {done}/{total} rows ({decile * 10}%)", file=sys.stderr, flush=True)

    return report


def _make_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _positive(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative(text: str) -> int:
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def _port(text: str) -> int:
    value = _integer(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 1 to 65535, got {text!r}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _anchor(text: str) -> date:
    day = parse_legacy_date(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"expected a date as YYYYMMDD, got {text!r}")
    return day
