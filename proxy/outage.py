"""A database outage logged once when it starts, with the driver's reason, and once when it
ends: the background writers (route stats, shadow evidence) retry every second, and a log line
per try would bury everything else. The caller catches the error and hands it over."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from domain.redaction import describe_error


class OutageLog:
    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._logger = logger
        self._what = what
        self.down = False

    def failed(self, error: SQLAlchemyError) -> None:
        if not self.down:
            self.down = True
            self._logger.warning(
                "%s not written (%s); counting on and retrying", self._what, describe_error(error)
            )

    def succeeded(self) -> None:
        if self.down:
            self.down = False
            self._logger.warning("%s written again", self._what)
