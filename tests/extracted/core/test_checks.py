"""Start-up checks stop a process whose settings would fail late and confusingly."""

from __future__ import annotations

from extracted.core.checks import check_hospital_time_zone


def test_a_known_hospital_time_zone_passes(settings):
    settings.FICUS_HOSPITAL_TZ = "America/Chicago"

    assert check_hospital_time_zone() == []


def test_an_unknown_hospital_time_zone_is_an_error(settings):
    settings.FICUS_HOSPITAL_TZ = "America/Springfield"

    [error] = check_hospital_time_zone()

    assert error.id == "ficus.E001"
    assert "FICUS_HOSPITAL_TZ" in error.msg
