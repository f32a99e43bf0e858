"""The proxy's own answers, in the format of the face the client talks to.

Pure cases for `domain.answers`, then the real proxy process (`manage.py runproxy` in front of a
raw recording backend) refusing an outsider's requests on each face: the legacy JSON error
shape on /api, problem+json on /v2, a FHIR OperationOutcome on /fhir, HTML elsewhere. Never a
framework's page, never mitmproxy's name, always `nosniff` and `no-store`.
"""

from __future__ import annotations

import json

import pytest

from domain.answers import Face, answer, face_of
from tests.proxy.processes import SHIPPED_PLANS, raw_exchange, running_proxy, status_of
from tests.proxy.raw_recorder import raw_recorder

KEY = "an-identity-key-for-tests-only-0123456789"


@pytest.mark.parametrize(
    ("target", "face"),
    [
        (b"/api", Face.LEGACY_API),
        (b"/api/appointments/7?x=1", Face.LEGACY_API),
        (b"http://h.example/api/x", Face.LEGACY_API),
        (b"/apix", Face.HTML),
        (b"/v2/patients", Face.V2),
        (b"/fhir/Patient/1", Face.FHIR),
        (b"/", Face.HTML),
        (b"*", Face.HTML),
        (b"/login", Face.HTML),
    ],
)
def test_the_face_is_the_paths_first_segment(target, face):
    assert face_of(target) is face


def test_the_legacy_face_gets_the_legacy_error_shape_byte_for_byte():
    made = answer(400, "Bad Request: more than one Host header", b"/api/x")
    assert made.body == b'{"ERR": "BAD REQUEST: MORE THAN ONE HOST HEADER", "CODE": 300}'
    assert (b"Content-Type", b"application/json") in made.headers


@pytest.mark.parametrize(
    ("status", "code"),
    [(405, 103), (413, 910), (431, 911), (501, 912), (505, 913), (502, 920), (503, 921)],
)
def test_each_status_has_its_legacy_code(status, code):
    assert json.loads(answer(status, "x", b"/api/x").body)["CODE"] == code


def test_v2_gets_a_problem_document_and_fhir_an_operation_outcome():
    problem = answer(504, "Gateway Timeout: the upstream did not answer in time", b"/v2/x")
    assert json.loads(problem.body) == {
        "type": "about:blank",
        "title": "Gateway Timeout",
        "status": 504,
        "detail": "Gateway Timeout: the upstream did not answer in time",
    }
    assert (b"Content-Type", b"application/problem+json") in problem.headers
    outcome = answer(400, "Bad Request: why", b"/fhir/Patient")
    assert json.loads(outcome.body) == {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "invalid", "diagnostics": "Bad Request: why"}],
    }
    assert (b"Content-Type", b"application/fhir+json") in outcome.headers


def test_html_elsewhere_escapes_the_reason_and_names_no_product():
    made = answer(400, "Bad Request: <script>", b"/login")
    assert b"&lt;script&gt;" in made.body
    assert b"<script>" not in made.body
    assert b"mitmproxy" not in made.body.lower()


def test_every_answer_says_nosniff_and_no_store():
    for target in (b"/api/x", b"/v2/x", b"/fhir/x", b"/x"):
        headers = dict(answer(502, "Bad Gateway", target).headers)
        assert headers[b"X-Content-Type-Options"] == b"nosniff"
        assert headers[b"Cache-Control"] == b"no-store"


# --- through the real proxy ----------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("answers")
    plans = workdir / "plans"
    plans.mkdir()
    (plans / "appointments.yaml").write_text((SHIPPED_PLANS / "appointments.yaml").read_text())
    with raw_recorder() as backend:
        env = {"FICUS_UPSTREAM_APPOINTMENTS": backend.url, "FICUS_IDENTITY_KEY": KEY}
        with running_proxy(workdir, legacy_url=backend.url, plans_dir=plans, env=env) as proxy:
            yield proxy, backend


def request(method: bytes, target: bytes, version: bytes = b"HTTP/1.1") -> bytes:
    return method + b" " + target + b" " + version + b"\r\nHost: hospital.example\r\n\r\n"


def split(raw: bytes) -> tuple[dict[bytes, bytes], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    fields = [line.split(b":", 1) for line in head.split(b"\r\n")[1:]]
    return {name.strip().lower(): value.strip() for name, value in fields}, body


def test_an_outsiders_refusal_on_the_legacy_api_is_legacy_json(world):
    proxy, backend = world
    raw = raw_exchange(proxy.port, request(b"GET", b"/api/appointments%2F7"))
    headers, body = split(raw)
    assert status_of(raw) == 400
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body) == {
        "ERR": "BAD REQUEST: ENCODED SLASHES (%2F) ARE NOT ALLOWED IN PATHS",
        "CODE": 300,
    }
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"cache-control"] == b"no-store"
    assert b"server" not in headers
    assert backend.exchanges == []


@pytest.mark.parametrize(
    ("target", "content_type", "key"),
    [
        (b"/v2/patients/%2e%2e", b"application/problem+json", "detail"),
        (b"/fhir/Patient/%2e%2e", b"application/fhir+json", "issue"),
    ],
)
def test_an_outsiders_refusal_on_v2_and_fhir_is_in_their_format(world, target, content_type, key):
    proxy, _backend = world
    raw = raw_exchange(proxy.port, request(b"GET", target))
    headers, body = split(raw)
    assert status_of(raw) == 400
    assert headers[b"content-type"] == content_type
    assert key in json.loads(body)


def test_an_outsiders_refusal_on_a_page_is_html_without_mitmproxys_name(world):
    proxy, _backend = world
    raw = raw_exchange(proxy.port, request(b"GET", b"/pages/%2e%2e/admin"))
    headers, body = split(raw)
    assert status_of(raw) == 400
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert b"<h1>400 Bad Request</h1>" in body
    assert b"mitmproxy" not in raw.lower()


@pytest.mark.parametrize(("method", "status", "code"), [(b"TRACE", 405, 103), (b"BREW", 501, 912)])
def test_trace_and_unknown_methods_are_refused_with_allow(world, method, status, code):
    proxy, backend = world
    raw = raw_exchange(proxy.port, request(method, b"/api/appointments/7"))
    headers, body = split(raw)
    assert status_of(raw) == status
    assert json.loads(body)["CODE"] == code
    assert headers[b"allow"] == b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    assert backend.exchanges == []


def test_connect_is_refused_by_mitmproxy_in_the_legacy_shape_without_its_name(world):
    # mitmproxy refuses CONNECT in reverse mode before any addon hook; the answer is Ficus's.
    proxy, backend = world
    raw = raw_exchange(proxy.port, request(b"CONNECT", b"hospital.example:443"))
    headers, _body = split(raw)
    assert status_of(raw) == 400
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert b"mitmproxy" not in raw.lower()
    assert backend.exchanges == []


def test_a_version_the_proxy_does_not_speak_gets_505_in_the_legacy_shape(world):
    proxy, backend = world
    raw = raw_exchange(proxy.port, request(b"GET", b"/api/appointments/7", b"HTTP/9.9"))
    _headers, body = split(raw)
    assert status_of(raw) == 505
    assert json.loads(body)["CODE"] == 913
    assert backend.exchanges == []
    assert proxy.log_lines()[-1]["status"] == 505
