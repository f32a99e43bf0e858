"""The demo's Prometheus: it scrapes every process of the stack, from the stack's own files."""

from __future__ import annotations

import json
from pathlib import Path

from demo.launcher import Ports, Stack, StackConfig
from demo.prometheus import Target, command, config_text


def test_the_stack_is_scraped_whole_and_prometheus_runs_only_when_installed(tmp_path: Path) -> None:
    ports = Ports(
        proxy=1, legacy=2, control=3, services={"appointments": 4, "patients": 5},
        proxy_metrics=6, sync_metrics=7, prometheus=8,
    )  # fmt: skip
    stack = Stack(StackConfig(var_dir=tmp_path, ports=ports))
    assert {(t.job, t.address, t.path) for t in stack.scrape_targets()} == {
        ("proxy", "127.0.0.1:6", "/metrics"),
        ("sync", "127.0.0.1:7", "/metrics"),
        ("control", "127.0.0.1:3", "/__ficus/metrics"),
        ("appointments", "127.0.0.1:4", "/__ficus/metrics"),
        ("patients", "127.0.0.1:5", "/__ficus/metrics"),
    }
    names = [name for name, _argv, _health in stack.commands()]
    assert names[-1] == "prometheus"
    without = Stack(StackConfig(var_dir=tmp_path, ports=ports, prometheus=None))
    assert "prometheus" not in [name for name, _argv, _health in without.commands()]


def test_its_configuration_and_command_line_stay_under_the_stacks_directory(tmp_path: Path):
    config = json.loads(config_text([Target("proxy", "127.0.0.1:6")], interval="1s"))
    assert config["global"]["scrape_interval"] == "1s"
    assert config["scrape_configs"] == [
        {
            "job_name": "proxy",
            "metrics_path": "/metrics",
            "static_configs": [{"targets": ["127.0.0.1:6"]}],
        }
    ]
    assert Path(config["rule_files"][0]).name == "alerts.yml"
    argv = command(
        Path("/usr/bin/prometheus"), tmp_path / "p.yml", tmp_path / "data", "127.0.0.1:8"
    )
    assert f"--storage.tsdb.path={tmp_path / 'data'}" in argv
    assert "--web.listen-address=127.0.0.1:8" in argv
