"""`make demo`'s front door: its banner tells the truth, and a busy port stops it at once."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from demo.__main__ import _banner, main
from demo.launcher import Ports, StackConfig


def test_it_names_every_process_and_where_the_operator_tokens_are(tmp_path: Path) -> None:
    config = StackConfig(
        var_dir=tmp_path,
        ports=Ports(proxy=1, legacy=2, control=3, services={"appointments": 4, "patients": 5}),
    )
    banner = _banner(config)
    for port, what in [
        (1, "Ficus routing proxy"),
        (2, "legacy monolith"),
        (3, "control plane API"),
        (4, "appointments service"),
        (5, "patients service"),
    ]:
        assert f"http://127.0.0.1:{port}" in banner
        assert what in banner
    assert str(tmp_path / "secrets") in banner
    for login in ("clinician", "scheduler", "billing", "operator", "auditor"):
        assert login in banner


def test_a_busy_port_stops_it_with_the_flag_to_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["--var", str(tmp_path), "--patients-port", str(port)])
    assert code == 2
    error = capsys.readouterr().err
    assert f"port(s) {port}" in error
    assert "--patients-port" in error
    assert not (tmp_path / "legacy.sqlite3").exists()  # nothing was seeded


def test_it_prints_where_prometheus_is_when_it_is_installed(tmp_path: Path) -> None:
    ports = Ports(proxy=1, legacy=2, control=3, services={"appointments": 4}, prometheus=9)
    installed = StackConfig(var_dir=tmp_path, ports=ports)
    assert installed.runs_prometheus  # make test installs Debian's prometheus
    assert "Prometheus: http://127.0.0.1:9/ scrapes them all" in _banner(installed)

    missing = StackConfig(var_dir=tmp_path, ports=ports, prometheus=tmp_path / "no-prometheus")
    assert "Prometheus: not installed" in _banner(missing)
