"""One real demo stack (legacy app, appointments service, proxy, sync worker) for the e2e tests.

It runs on free loopback ports in a temporary directory, started and stopped by the same
`demo.launcher.Stack` that `make demo` uses.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from demo.launcher import Ports, Stack, StackConfig
from tests.support.ports import free_port

ANCHOR = "20261116"  # a Monday: a full working day of appointments


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    config = StackConfig(
        var_dir=tmp_path_factory.mktemp("demo-var"),
        ports=Ports(proxy=free_port(), legacy=free_port(), appointments=free_port()),
        patients=80,
        appointments=600,
        anchor=ANCHOR,
        sync_interval_seconds=0.5,
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
