"""Shadow copies: which requests are copied, and a sender that is bounded and never blocks.

The service is a real recording backend on loopback; a slow service is a socket that accepts
connections and never answers (a black hole), released by the test.
"""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest

from domain.plans import ShadowSettings
from proxy.shadow import ShadowSender, noise_headers, shadow_headers, should_shadow
from proxy.upstreams import Instance
from tests.support.backends import recording_backend
from tests.support.ports import LOOPBACK


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Outcomes:
    def __init__(self):
        self.results = []
        self.answers = []
        self.event = asyncio.Event()

    def __call__(self, answer, latency_ms):
        self.answers.append(answer)
        self.results.append((None if answer is None else answer.status_code, latency_ms))
        self.event.set()


def no_extra_headers():
    async def headers():
        return [(b"Host", b"service"), (b"X-Ficus-Request-Id", b"r1")]

    return headers


def test_reads_are_shadowed_and_writes_only_when_the_plan_and_a_signer_allow():
    reads_only = ShadowSettings()
    writes = ShadowSettings(include_writes=True)
    rid = uuid.uuid4().hex
    assert should_shadow(True, reads_only, rid, can_sign_dry_run=False)
    assert not should_shadow(False, reads_only, rid, can_sign_dry_run=True)
    assert not should_shadow(False, writes, rid, can_sign_dry_run=False)
    assert should_shadow(False, writes, rid, can_sign_dry_run=True)


def test_the_sample_percent_is_the_share_of_requests_copied():
    settings = ShadowSettings(sample_percent=20.0)
    ids = [uuid.uuid4().hex for _ in range(5000)]
    share = sum(should_shadow(True, settings, i, can_sign_dry_run=False) for i in ids) / 5000
    assert 0.17 < share < 0.23
    none = ShadowSettings(sample_percent=0.0)
    assert not any(should_shadow(True, none, i, can_sign_dry_run=False) for i in ids[:500])


def test_the_copy_goes_to_the_service_host_with_the_extra_headers():
    fields = [(b"Host", b"legacy:8001"), (b"Connection", b"keep-alive"), (b"Accept", b"*/*")]
    headers = shadow_headers(fields, "127.0.0.1:8102", [("X-Ficus-Dry-Run", "v1.x.y")])
    assert headers == [
        (b"Host", b"127.0.0.1:8102"),
        (b"Accept", b"*/*"),
        (b"X-Ficus-Dry-Run", b"v1.x.y"),
    ]


@pytest.mark.anyio
async def test_a_copy_reaches_the_service_and_its_status_is_reported():
    sender = ShadowSender()
    outcomes = Outcomes()
    with recording_backend("patients") as service:
        service.answer("/api/patients/3", status=503)
        assert sender.submit(
            "patients",
            4,
            no_extra_headers(),
            instance=Instance("http", LOOPBACK, service.port),
            method="PUT",
            target=b"/api/patients/3?x=1",
            body=b'{"a": 1}',
            deadline=5.0,
            outcome=outcomes,
        )
        await outcomes.event.wait()
        await sender.aclose()
        (received,) = service.requests
    assert (received.method, received.path, received.body) == (
        "PUT",
        "/api/patients/3?x=1",
        b'{"a": 1}',
    )
    assert received.header("x-ficus-request-id") == "r1"
    assert outcomes.results[0][0] == 503


@pytest.mark.anyio
async def test_beyond_max_in_flight_copies_are_dropped_and_counted_and_slow_ones_time_out():
    hole = socket.create_server((LOOPBACK, 0), backlog=16)  # accepts, never answers
    sender = ShadowSender()
    outcomes = Outcomes()
    instance = Instance("http", LOOPBACK, hole.getsockname()[1])
    try:
        started = [
            None
            is not sender.submit(
                "patients",
                2,
                no_extra_headers(),
                instance=instance,
                method="GET",
                target=b"/api/patients",
                body=b"",
                deadline=0.3,
                outcome=outcomes,
            )
            for _ in range(5)
        ]
        assert started == [True, True, False, False, False]
        assert sender.dropped == {"patients": 3}
        assert sender.in_flight("patients") == 2
        while len(outcomes.results) < 2:
            outcomes.event.clear()
            await outcomes.event.wait()
    finally:
        await sender.aclose()
        hole.close()
    assert [status for status, _ in outcomes.results] == [None, None]  # failures, not answers


@pytest.mark.anyio
async def test_a_dead_service_is_an_outcome_not_an_exception():
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port = sock.getsockname()[1]  # nothing listens here once closed
    sender = ShadowSender()
    outcomes = Outcomes()
    sender.submit(
        "patients",
        1,
        no_extra_headers(),
        instance=Instance("http", LOOPBACK, port),
        method="GET",
        target=b"/",
        body=b"",
        deadline=2.0,
        outcome=outcomes,
    )
    await outcomes.event.wait()
    await sender.aclose()
    assert outcomes.results[0][0] is None


@pytest.mark.anyio
async def test_headers_that_say_none_skip_the_copy():
    sender = ShadowSender()
    outcomes = Outcomes()

    async def none():
        return None

    with recording_backend("patients") as service:
        task = sender.submit(
            "patients",
            1,
            none,
            instance=Instance("http", LOOPBACK, service.port),
            method="GET",
            target=b"/",
            body=b"",
            deadline=2.0,
            outcome=outcomes,
        )
        assert task is not None
        await task
        await sender.aclose()
        assert service.requests == []
    assert outcomes.results == []


@pytest.mark.anyio
async def test_the_answer_is_kept_for_comparison_and_a_body_over_the_budget_is_not_held():
    sender = ShadowSender(max_body_bytes=16)
    outcomes = Outcomes()
    with recording_backend("patients") as service:
        service.answer("/small", status=200, body=b'{"ok": true}')
        service.answer("/big", status=200, body=b"x" * 10_000)
        for target in (b"/small", b"/big"):
            outcomes.event.clear()
            sender.submit(
                "patients",
                4,
                no_extra_headers(),
                instance=Instance("http", LOOPBACK, service.port),
                method="GET",
                target=target,
                body=b"",
                deadline=5.0,
                outcome=outcomes,
            )
            await outcomes.event.wait()
        await sender.aclose()
    small, big = outcomes.answers
    assert (small.body, small.body_truncated) == (b'{"ok": true}', False)
    assert (big.status_code, big.body, big.body_truncated) == (200, b"", True)


@pytest.mark.anyio
async def test_noise_copies_have_a_bound_of_their_own():
    hole = socket.create_server((LOOPBACK, 0), backlog=16)
    sender = ShadowSender()
    instance = Instance("http", LOOPBACK, hole.getsockname()[1])
    try:
        for pool in (None, None, "patients noise", "patients noise", "patients noise"):
            sender.submit(
                "patients",
                2,
                no_extra_headers(),
                instance=instance,
                method="GET",
                target=b"/api/patients",
                body=b"",
                deadline=5.0,
                outcome=Outcomes(),
                pool=pool,
            )
        assert sender.in_flight("patients") == 2
        assert sender.dropped == {"patients noise": 1}
    finally:
        await sender.aclose()
        hole.close()


def test_legacy_is_asked_again_with_the_host_it_got_the_first_time():
    fields = [(b"Host", b"legacy.example"), (b"Connection", b"keep-alive"), (b"Cookie", b"s=1")]
    assert noise_headers(fields, "legacy.example") == [
        (b"Host", b"legacy.example"),
        (b"Cookie", b"s=1"),
    ]
    assert noise_headers([(b"Accept", b"*/*")], "clinic.example:8443")[0] == (
        b"Host",
        b"clinic.example:8443",
    )


@pytest.mark.anyio
async def test_a_request_body_over_the_budget_is_not_copied_and_is_counted():
    """Copies hold their bodies: a large upload is never held max_in_flight times over."""
    sender = ShadowSender(max_body_bytes=16)
    outcomes = Outcomes()
    sent = sender.submit(
        "patients",
        4,
        no_extra_headers(),
        instance=Instance("http", LOOPBACK, 9),
        method="POST",
        target=b"/api/patients",
        body=b"x" * 17,
        deadline=2.0,
        outcome=outcomes,
    )
    assert sent is None
    assert (sender.too_large, sender.in_flight("patients")) == ({"patients": 1}, 0)
    assert outcomes.results == []
    await sender.aclose()
