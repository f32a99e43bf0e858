"""/v2/docs/ is Swagger UI from the pinned local copy, under a Content-Security-Policy, and the
control plane's answers are never cached: all checked on real `manage.py runservice` processes
(gunicorn), as production serves them.

The docs page used to load Swagger UI `@latest` from the jsDelivr CDN: a different script every
day it changed, fetched by every browser, and a blank page without internet access.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.extracted.core.test_runservice import MANAGE, get, manage, service_env
from tests.support.ports import LOOPBACK, free_port, wait_for_port

pytestmark = pytest.mark.e2e


class _References(HTMLParser):
    """Every URL the page makes the browser load (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def _serve(tmp_path: Path, name: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / f"{name}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, MANAGE, "runservice", name, "--port", str(port), "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, process=process)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


@pytest.fixture(scope="module")
def appointments(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp_path = tmp_path_factory.mktemp("docs")
    yield from _serve(tmp_path, "appointments", service_env(tmp_path))


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp_path = tmp_path_factory.mktemp("control")
    env = service_env(tmp_path, FICUS_IDENTITY_KEY="")
    assert manage(env, "migrate", "--database", "default", "-v", "0").returncode == 0
    created = manage(env, "controlplane", "token", "create", "--user", "ana", "--role", "auditor")
    assert created.returncode == 0, created.stderr
    token = created.stdout.splitlines()[0].split()[-1]
    for base in _serve(tmp_path, "control", env):
        yield base, token


def test_the_docs_page_loads_only_local_urls_and_each_answers(appointments):
    status, headers, body = get(f"{appointments}/v2/docs/")
    page = _References()
    page.feed(body.decode())

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert len(page.urls) >= 4  # icon, stylesheet, two Swagger UI scripts, the start-up script
    for url in page.urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("", ""), url  # no CDN, no other origin
        assert url.startswith("/"), url
        assert get(f"{appointments}{url}")[0] == 200, url
    assert b"jsdelivr" not in body
    assert b"@latest" not in body


def test_the_docs_page_forbids_inline_scripts_and_other_origins(appointments):
    _status, headers, body = get(f"{appointments}/v2/docs/")
    policy = {
        part.split()[0]: part.split()[1:] for part in headers["Content-Security-Policy"].split("; ")
    }

    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]  # the start-up script is a URL of its own
    assert policy["frame-ancestors"] == ["'none'"]
    assert b"<script>" not in body


def test_the_start_up_script_and_the_schema_are_local_too(appointments):
    status, headers, script = get(f"{appointments}/v2/docs/?script=")

    assert status == 200
    assert headers["Content-Type"].startswith("application/javascript")
    assert b"http://" not in script
    assert b"https://" not in script
    assert get(f"{appointments}/v2/schema/")[0] == 200


def test_json_answers_get_no_policy_and_stay_as_they_were(appointments):
    # The legacy face's refusal, byte for byte, with none of the HTML page's headers.
    status, headers, body = get(f"{appointments}/api/appointments/1")

    assert (status, body) == (401, b'{"ERR": "NOT LOGGED IN", "CODE": 101}')
    assert "Content-Security-Policy" not in headers
    problem = get(f"{appointments}/v2/appointments")  # the outsider: a 401 problem
    assert "Content-Security-Policy" not in problem[1]


def test_a_file_outside_the_pinned_copy_is_not_served(appointments):
    assert get(f"{appointments}/__ficus/static/rest_framework/js/default.js")[0] == 404
    # gunicorn or Django refuses the dot segments before the view: either way, not the file.
    escape = get(f"{appointments}/__ficus/static/drf_spectacular_sidecar/../../settings.py")
    assert escape[0] in (400, 404)
    assert b"SECRET_KEY" not in escape[2]


@pytest.mark.parametrize("persona", ["auditor", "outsider"])
def test_control_plane_answers_are_never_cached(control, persona):
    base, token = control
    headers = {"Authorization": f"Token {token}"} if persona == "auditor" else {}

    status, answered, _body = get(f"{base}/control/v1/routes", headers)

    assert status == (200 if persona == "auditor" else 401)
    assert answered["Cache-Control"] == "no-store"
