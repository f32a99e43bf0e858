"""What gunicorn refuses before Django runs comes back in the client's face, not as its HTML page.

Real processes: the patients service under `manage.py runservice` (gunicorn, 2 workers) on a
loopback port, its database filled by the real backfill. A clinician sends a request line over
gunicorn's 4094-byte limit, or header fields over its limits, to each face of the service
(extracted/core/gunicorn_refusals.py); the service answers the next request as usual.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.extracted.identities import headers_for
from tests.support.ownership import plans_with_writes_in
from tests.support.sync_stack import SyncStack

pytestmark = pytest.mark.e2e

PERSONA = "clinician"
LONG = "x" * 5000  # over gunicorn's 4094-byte request line
PROBLEM = "application/problem+json"
FHIR = "application/fhir+json"
LEGACY = "application/json"


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gunicorn-refusals")


@pytest.fixture(scope="module")
def patients(directory: Path) -> Iterator[tuple[str, int]]:
    plans = plans_with_writes_in(directory / "plans", "migrated")
    stack = SyncStack(directory, features=("patients",), plans_dir=plans)
    try:
        stack.prepare(patients=3)
        url = urlsplit(stack.start_service("patients"))
        yield str(url.hostname), int(url.port or 0)
    finally:
        stack.close()


def _send(service: tuple[str, int], target: str, **extra: str) -> Reply:
    """A GET as the proxy would send it for the clinician, with `extra` header fields."""
    connection = http.client.HTTPConnection(*service, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in {**headers_for(PERSONA, method="GET", target=target), **extra}.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def _raw(service: tuple[str, int], head: bytes) -> Reply:
    """`head` as it is, for a request line http.client would not write."""
    with socket.create_connection(service, timeout=30) as sock:
        sock.sendall(head)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Reply(response.status, response.headers, response.read())


def _assert_in_face(reply: Reply, status: int, content_type: str) -> Any:
    assert reply.status == status, reply.body[:300]
    assert reply.headers["Content-Type"] == content_type
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert reply.headers["Referrer-Policy"] == "same-origin"
    assert "Server" not in reply.headers
    assert b"<html" not in reply.body.lower()
    return reply.json()


def _assert_still_serving(service: tuple[str, int]) -> None:
    reply = _send(service, "/v2/patients")
    assert reply.status == 200, reply.body[:300]
    assert reply.json()["results"]


def test_a_too_long_v2_target_is_a_414_problem(patients: tuple[str, int]) -> None:
    reply = _send(patients, f"/v2/patients?family={LONG}")

    problem = _assert_in_face(reply, 414, PROBLEM)
    assert problem["status"] == 414
    assert problem["title"] == HTTPStatus(414).phrase
    assert LONG not in problem["detail"]
    _assert_still_serving(patients)


def test_a_too_long_fhir_target_is_a_414_operation_outcome(patients: tuple[str, int]) -> None:
    reply = _send(patients, f"/fhir/Patient?family={LONG}")

    outcome = _assert_in_face(reply, 414, FHIR)
    assert outcome["resourceType"] == "OperationOutcome"
    assert [(i["severity"], i["code"]) for i in outcome["issue"]] == [("error", "too-long")]
    _assert_still_serving(patients)


def test_a_too_long_legacy_target_is_a_414_in_the_legacy_shape(
    patients: tuple[str, int],
) -> None:
    reply = _send(patients, f"/api/patients?name={LONG}")

    _assert_in_face(reply, 414, LEGACY)
    # Serialized as the legacy app does: its key order and separators.
    assert reply.body == b'{"ERR": "URI TOO LONG", "CODE": 915}'
    _assert_still_serving(patients)


def test_a_request_line_without_a_target_is_a_414_problem(patients: tuple[str, int]) -> None:
    # No space in the first 5000 bytes: no path to choose a face by.
    reply = _raw(patients, b"G" * 5000 + b" / HTTP/1.1\r\nHost: x\r\n\r\n")

    assert _assert_in_face(reply, 414, PROBLEM)["status"] == 414
    _assert_still_serving(patients)


@pytest.mark.parametrize(
    ("target", "content_type"),
    [("/v2/patients", PROBLEM), ("/fhir/Patient", FHIR), ("/api/patients?name=LUN", LEGACY)],
)
def test_an_over_large_header_field_is_a_431_in_face(
    patients: tuple[str, int], target: str, content_type: str
) -> None:
    reply = _send(patients, target, **{"X-Padding": "p" * 9000})  # over 8190 bytes

    found = _assert_in_face(reply, 431, content_type)
    if content_type == LEGACY:
        assert found == {"ERR": "REQUEST HEAD TOO LARGE", "CODE": 911}
    elif content_type == PROBLEM:
        assert found["status"] == 431
    else:
        assert found["issue"][0]["code"] == "too-long"
    _assert_still_serving(patients)


def test_too_many_header_fields_are_a_431_problem(patients: tuple[str, int]) -> None:
    many = {f"X-Field-{n}": "1" for n in range(101)}  # over gunicorn's 100

    reply = _send(patients, "/v2/patients", **many)

    assert _assert_in_face(reply, 431, PROBLEM)["status"] == 431
    _assert_still_serving(patients)


def test_an_unparsable_header_is_a_400_in_face(patients: tuple[str, int]) -> None:
    reply = _raw(patients, b"GET /fhir/Patient HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")

    outcome = _assert_in_face(reply, 400, FHIR)
    assert outcome["issue"][0]["code"] == "invalid"
    _assert_still_serving(patients)


@pytest.fixture(scope="module")
def service_log(patients: tuple[str, int], directory: Path) -> Path:
    return directory / "patients.log"  # the service's stdout and stderr (SyncStack)


def test_a_transfer_coding_gunicorn_lacks_is_a_501_that_says_so(
    patients: tuple[str, int],
) -> None:
    head = b"POST /api/patients HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: bogus\r\n\r\n"

    reply = _raw(patients, head)

    _assert_in_face(reply, 501, LEGACY)
    assert reply.body == b'{"ERR": "TRANSFER CODING NOT IMPLEMENTED", "CODE": 916}'
    _assert_still_serving(patients)


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/patients?name=LUNDQVIST MARTA HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /api/patients HTTP/1.1\r\nHost: x\r\nX-Note LUNDQVIST MARTA\r\n\r\n",
        b"GET /api/patients?name=LUNDQVIST" + b"M" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
    ids=["bad-request-line", "bad-header-line", "too-long"],
)
def test_an_outsiders_refused_head_leaves_no_patient_text_in_the_service_log(
    patients: tuple[str, int], service_log: Path, head: bytes
) -> None:
    before = service_log.stat().st_size

    assert _raw(patients, head).status in (400, 414)

    logged = service_log.read_bytes()[before:]
    assert b"refused (" in logged  # the refusal is logged, by kind
    assert b"LUNDQVIST" not in logged
