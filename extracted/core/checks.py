"""Start-up checks for settings that would otherwise fail late and confusingly."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.checks import CheckMessage, Error


def check_hospital_time_zone(**kwargs: Any) -> list[CheckMessage]:
    """Every legacy date and time is read in this zone; a typo must stop the process early."""
    try:
        ZoneInfo(settings.FICUS_HOSPITAL_TZ)
    except (ZoneInfoNotFoundError, ValueError):
        return [
            Error(
                "FICUS_HOSPITAL_TZ is not a known IANA time zone",
                hint="Use a name such as America/Chicago (the tzdata package provides them).",
                id="ficus.E001",
            )
        ]
    return []
