"""`python -m demo.legacy`: init-db seeds, refuses to clobber data, --force recreates."""

from __future__ import annotations

import subprocess
import sys

import pytest

from demo.legacy import cli
from demo.legacy.db import create_legacy_engine, execute, fetch_value, write_transaction

TINY = ["--patients", "20", "--appointments", "100", "--providers", "2", "--anchor", "20261120"]


def count(url, table):
    engine = create_legacy_engine(url)
    try:
        with engine.connect() as conn:
            return fetch_value(conn, f"SELECT COUNT(*) FROM {table}")
    finally:
        engine.dispose()


def test_the_module_runs_and_explains_itself():
    result = subprocess.run(
        [sys.executable, "-m", "demo.legacy", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "init-db" in result.stdout
    assert "serve" in result.stdout
    assert "LEGACY_DATABASE_URL" in result.stdout


def test_init_db_help_lists_every_option(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["init-db", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--seed", "--patients", "--appointments", "--providers", "--anchor", "--force"):
        assert option in out


def test_init_db_creates_and_seeds_the_database(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'new' / 'legacy.sqlite3'}"
    assert cli.main(["--database-url", url, "init-db", *TINY]) == 0
    assert "20 patients, 2 providers, 100 appointments" in capsys.readouterr().out
    assert count(url, "APPT_SCHED") == 100
    assert count(url, "APP_USER") == 6


def test_init_db_reads_the_url_from_the_environment(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'env.sqlite3'}"
    monkeypatch.setenv("LEGACY_DATABASE_URL", url)
    assert cli.main(["init-db", *TINY]) == 0
    assert count(url, "PATIENT_MASTER") == 20


def test_the_default_database_is_var_legacy_sqlite3_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("LEGACY_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init-db", *TINY]) == 0
    assert (tmp_path / "var" / "legacy.sqlite3").is_file()


def test_init_db_refuses_a_database_with_data(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    cli.main(["--database-url", url, "init-db", *TINY])
    capsys.readouterr()
    assert cli.main(["--database-url", url, "init-db", *TINY, "--seed", "9"]) == 1
    err = capsys.readouterr().err
    assert "already holds legacy data" in err
    assert "--force" in err
    assert count(url, "APPT_SCHED") == 100


def test_force_drops_and_recreates_only_the_legacy_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    cli.main(["--database-url", url, "init-db", *TINY])
    engine = create_legacy_engine(url)
    with write_transaction(engine) as conn:
        execute(conn, "CREATE TABLE ficus_change (ID INTEGER PRIMARY KEY)")
        execute(conn, "INSERT INTO ficus_change (ID) VALUES (1)")
        execute(conn, "DELETE FROM APPT_SCHED WHERE APPT_ID > 10")
    engine.dispose()
    assert cli.main(["--database-url", url, "init-db", *TINY, "--force"]) == 0
    assert count(url, "APPT_SCHED") == 100
    assert count(url, "ficus_change") == 1


def test_empty_legacy_tables_are_not_data(tmp_path):
    url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    cli.main(["--database-url", url, "init-db", "--patients", "1", "--appointments", "0"])
    engine = create_legacy_engine(url)
    with write_transaction(engine) as conn:
        for table in ("PATIENT_MASTER", "PROVIDER", "APP_USER", "LEGACY_SEQ"):
            execute(conn, f"DELETE FROM {table}")
    engine.dispose()
    assert cli.main(["--database-url", url, "init-db", *TINY]) == 0


def test_big_seeds_report_progress_on_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(cli, "PROGRESS_THRESHOLD", 50)
    url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    assert cli.main(["--database-url", url, "init-db", *TINY]) == 0
    captured = capsys.readouterr()
    assert "APPT_SCHED: 100/100 rows (100%)" in captured.err
    assert "APPT_SCHED" not in captured.out


def test_crowded_seeds_say_they_add_providers(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
    args = [
        "init-db",
        "--patients",
        "10",
        "--appointments",
        "2000",
        "--providers",
        "1",
        "--anchor",
        "20261120",
    ]
    assert cli.main(["--database-url", url, *args]) == 0
    assert "need 3 providers" in capsys.readouterr().err
    assert count(url, "PROVIDER") == 3


@pytest.mark.parametrize(
    "args",
    [
        ["init-db", "--anchor", "2026-11-20"],
        ["init-db", "--anchor", "20261131"],
        ["init-db", "--patients", "0"],
        ["init-db", "--appointments", "-1"],
        ["init-db", "--seed", "x"],
        ["serve", "--port", "70000"],
        ["serve", "--workers", "0"],
        [],
    ],
)
def test_bad_arguments_exit_2_with_a_message(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    assert exit_info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_serve_refuses_a_database_without_the_schema(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    assert cli.main(["--database-url", url, "serve", "--port", "1"]) == 2
    assert "run `python -m demo.legacy init-db` first" in capsys.readouterr().err


def test_an_unreachable_database_is_reported_without_a_traceback(tmp_path, capsys):
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    assert cli.main(["--database-url", url, "init-db", *TINY]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot use the database")
    assert "secret" not in err
