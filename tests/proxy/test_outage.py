"""A writer's outage is logged once when it starts and once when it ends, whatever the tries."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from proxy.outage import OutageLog

logger = logging.getLogger("tests.outage")


def test_it_logs_the_start_and_the_end_of_an_outage_once_each(caplog):
    outage = OutageLog(logger, "route stats")
    error = OperationalError("INSERT", {}, Exception("connection refused"))
    with caplog.at_level(logging.WARNING, logger="tests.outage"):
        for _ in range(3):
            outage.failed(error)
        for _ in range(2):
            outage.succeeded()
    started, ended = (r.getMessage() for r in caplog.records)
    assert started.startswith("route stats not written (")
    assert ended == "route stats written again"
