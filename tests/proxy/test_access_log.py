"""The access log: one JSON object per line, templates only, no path field at all."""

from __future__ import annotations

import dataclasses
import json

from proxy.access_log import (
    AccessLog,
    AccessRecord,
    format_record,
    iso_timestamp,
    refused_record,
)


def record(**changes) -> AccessRecord:
    base = AccessRecord(
        ts=iso_timestamp(1_800_000_000.25),
        request_id="abc",
        method="GET",
        route="/api/appointments/{id:int}",
        feature="appointments",
        upstream="appointments",
        phase="migrated",
        reason="route",
        status=200,
        duration_ms=1.5,
    )
    return dataclasses.replace(base, **changes)


def test_a_record_is_one_line_of_json_with_every_field():
    line = format_record(record())
    assert "\n" not in line
    assert json.loads(line) == {
        "ts": "2027-01-15T08:00:00.250Z",
        "request_id": "abc",
        "method": "GET",
        "route": "/api/appointments/{id:int}",
        "feature": "appointments",
        "upstream": "appointments",
        "phase": "migrated",
        "reason": "route",
        "status": 200,
        "duration_ms": 1.5,
    }


def test_error_appears_only_when_set_and_status_is_always_there():
    fields = json.loads(format_record(record(status=None, error="upstream_failed")))
    assert fields["status"] is None
    assert fields["error"] == "upstream_failed"


def test_a_fallback_names_the_service_that_failed_and_legacy_as_the_upstream():
    fields = json.loads(
        format_record(record(upstream="legacy", reason="fallback", fallback_from="appointments"))
    )
    assert (fields["upstream"], fields["reason"], fields["fallback_from"]) == (
        "legacy",
        "fallback",
        "appointments",
    )
    assert "fallback_from" not in json.loads(format_record(record()))


def test_a_record_has_no_field_that_could_carry_a_path_or_query():
    names = {f.name for f in dataclasses.fields(AccessRecord)}
    assert not names & {"path", "url", "query", "target", "uri"}


def test_it_appends_lines_to_a_file(tmp_path):
    path = tmp_path / "access.log"
    log = AccessLog(str(path))
    log.write(record(request_id="one"))
    # Line-buffered: visible before close, as a tail -f or a test needs.
    assert json.loads(path.read_text())["request_id"] == "one"
    log.write(record(request_id="two"))
    log.close()
    lines = path.read_text().splitlines()
    assert [json.loads(x)["request_id"] for x in lines] == ["one", "two"]


def test_dash_means_stderr(capsys):
    log = AccessLog("-")
    log.write(record(request_id="to-stderr"))
    log.close()
    assert json.loads(capsys.readouterr().err)["request_id"] == "to-stderr"


def test_a_request_refused_before_routing_names_its_client_and_no_route():
    fields = json.loads(
        format_record(
            refused_record(
                started=1_800_000_000.25,
                request_id="r",
                method="-",
                status=408,
                error="head_timeout",
                client="192.0.2.7",
                now=1_800_000_002.25,
            )
        )
    )
    assert fields == {
        "ts": "2027-01-15T08:00:00.250Z",
        "request_id": "r",
        "method": "-",
        "route": "-",
        "feature": "-",
        "upstream": "-",
        "phase": "-",
        "reason": "-",
        "status": 408,
        "duration_ms": 2000.0,
        "error": "head_timeout",
        "client": "192.0.2.7",
    }
    # A routed request's line has no client field.
    assert "client" not in json.loads(format_record(record()))
