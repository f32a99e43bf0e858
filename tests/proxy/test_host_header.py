"""The Host the legacy app gets: the client's by default, legacy's own with `rewrite`.

Through a real proxy process in front of a real legacy app that refuses a POST whose Origin
names another host than its Host (like trytond and Django's CSRF check): a clinician's
browser-like POST succeeds while Ficus preserves the Host, and fails as documented when the
operator asks for `--legacy-host-header rewrite`. X-Forwarded-Host is the client's either way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from proxy.host_header import HostHeader, legacy_authority
from tests.proxy.origin_checker import OriginChecker, origin_checker
from tests.proxy.processes import RunningProxy, running_proxy

LEGACY = "legacy.internal:8001"


def test_it_keeps_the_clients_host_unless_told_to_rewrite() -> None:
    assert legacy_authority(HostHeader.PRESERVE, "hospital.example", LEGACY) == "hospital.example"
    assert legacy_authority(HostHeader.REWRITE, "hospital.example", LEGACY) == LEGACY


def test_it_falls_back_to_legacys_own_when_the_client_sent_none() -> None:
    assert legacy_authority(HostHeader.PRESERVE, None, LEGACY) == LEGACY
    assert legacy_authority(HostHeader.PRESERVE, "", LEGACY) == LEGACY


@pytest.fixture(scope="module")
def legacy() -> Iterator[OriginChecker]:
    with origin_checker() as checker:
        yield checker


@pytest.fixture(scope="module")
def preserving(tmp_path_factory, legacy) -> Iterator[RunningProxy]:
    """A proxy with the default, `--legacy-host-header preserve`."""
    with _proxy(tmp_path_factory.mktemp("host-preserve"), legacy, None) as proxy:
        yield proxy


def _proxy(
    tmp_path: Path, legacy: OriginChecker, mode: str | None
) -> AbstractContextManager[RunningProxy]:
    extra = () if mode is None else ("--legacy-host-header", mode)
    plans = tmp_path / "plans"  # no plan: every route is legacy's
    plans.mkdir()
    return running_proxy(tmp_path, legacy_url=legacy.url, plans_dir=plans, extra_args=extra)


def _browser_post(proxy: RunningProxy) -> httpx.Response:
    """What a clinician's browser sends: Origin is the page's, the address it typed."""
    return httpx.post(
        f"{proxy.url}/hospital/model/res.user",
        headers={"Origin": proxy.url},
        json={"method": "common.db.login"},
        timeout=10,
    )


def test_a_clinicians_browser_post_reaches_legacy_with_the_host_it_sent(preserving, legacy):
    proxy = preserving
    answer = _browser_post(proxy)
    assert answer.status_code == 200
    seen = legacy.seen[-1]
    client_host = proxy.url.removeprefix("http://")
    assert seen["HTTP_HOST"] == client_host
    assert seen["HTTP_X_FORWARDED_HOST"] == client_host
    assert seen["HTTP_X_FORWARDED_PROTO"] == "http"
    assert seen["HTTP_X_FORWARDED_FOR"] == "127.0.0.1"


def test_with_rewrite_the_legacy_app_sees_its_own_host_and_refuses_the_post(tmp_path, legacy):
    with _proxy(tmp_path, legacy, "rewrite") as proxy:
        answer = _browser_post(proxy)
    assert answer.status_code == 403  # the documented cost of rewrite for an Origin check
    seen = legacy.seen[-1]
    assert seen["HTTP_HOST"] == legacy.url.removeprefix("http://")
    assert seen["HTTP_X_FORWARDED_HOST"] == proxy.url.removeprefix("http://")


def test_an_outsider_with_an_invalid_host_is_still_refused_before_legacy(preserving, legacy):
    before = len(legacy.seen)
    answer = httpx.post(f"{preserving.url}/hospital/bus", headers={"Host": "a b"}, timeout=10)
    assert answer.status_code == 400
    assert len(legacy.seen) == before
