"""Real demo stacks (legacy app, both services, proxy, sync worker) for the e2e tests.

They run on free loopback ports in temporary directories, started and stopped by the same
`demo.launcher.Stack` that `make demo` uses. Prometheus scrapes every one of them
(tests/e2e/test_observability.py). `stack` is shared by the package's read-mostly
tests; a test that moves routes through the control plane starts its own with `started_stack`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from demo.launcher import Ports, Stack, StackConfig
from migration_plans.feature_registry import feature_names
from tests.support.ports import free_port

ANCHOR = "20261116"  # a Monday: a full working day of appointments


def stack_ports() -> Ports:
    return Ports(
        proxy=free_port(),
        legacy=free_port(),
        control=free_port(),
        services={name: free_port() for name in feature_names()},
        proxy_metrics=free_port(),
        sync_metrics=free_port(),
        prometheus=free_port(),
    )


@contextmanager
def started_stack(
    var_dir: Path, *, extra_env: Mapping[str, str] | None = None, ports: Ports | None = None
) -> Iterator[Stack]:
    config = StackConfig(
        var_dir=var_dir,
        ports=ports or stack_ports(),
        legacy_seed_args=("--patients", "80", "--appointments", "600"),
        anchor=ANCHOR,
        sync_interval_seconds=0.5,
        # Debian's Prometheus (the Makefile installs it) scrapes the stack every second.
        scrape_interval="1s",
        extra_env=dict(extra_env or {}),
    )
    running = Stack(config)
    running.prepare()
    running.start()
    try:
        yield running
    finally:
        exits = dict(running.stop())
        # Every process must have stopped on SIGTERM, not been killed after the grace period.
        assert all(code in (0, -15) for code in exits.values()), exits


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with started_stack(tmp_path_factory.mktemp("demo-var")) as running:
        yield running
