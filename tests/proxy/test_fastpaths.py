"""The fast paths give exactly what mitmproxy's originals give, input by input.

Each case runs mitmproxy's original (restored for the test, whatever another test installed)
and Ficus's replacement on the same value and compares results, or the exception raised.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any

import pytest
from mitmproxy import http, optmanager
from mitmproxy.version import VERSION

from proxy.mitm_patches import fastpaths
from proxy.mitm_patches.fastpaths import ORIGINALS, headers_contains, headers_get, headers_get_all


@pytest.fixture(autouse=True)
def originals(monkeypatch: pytest.MonkeyPatch) -> None:
    # build_master installs the fast paths for the whole process; compare against the originals.
    monkeypatch.setattr(http.Headers, "get_all", ORIGINALS["Headers.get_all"])
    monkeypatch.setattr(http.Headers, "get", ORIGINALS["Headers.get"])
    monkeypatch.setattr(http.Headers, "__contains__", ORIGINALS["Headers.__contains__"])
    monkeypatch.setattr(optmanager._Option, "current", ORIGINALS["_Option.current"])


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return ("value", call())
    except Exception as e:  # the same exception type, whatever the message
        return ("raises", type(e))


HEADERS = [
    http.Headers(),
    http.Headers([(b"Host", b"ficus"), (b"Content-Length", b"12")]),
    http.Headers(
        [
            (b"Accept", b"text/html"),
            (b"ACCEPT", b"application/json"),
            (b"accept", b""),
            (b"X-Caf\xc3\xa9", b"caf\xc3\xa9"),
            (b"X-Raw", b"\xff\xfe not utf-8"),
            (b"Cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ]
    ),
]
NAMES: list[Any] = [
    "accept",
    "Accept",
    b"ACCEPT",
    "cookie",
    b"Cookie",
    "host",
    b"content-length",
    "missing",
    b"missing",
    "",
    "X-Café",
    "x-caf\udcc3\udca9",  # the surrogate-escaped spelling of the same bytes
    b"X-Raw",
    "x-raw",
    1,
    None,
]


@pytest.mark.parametrize("headers", HEADERS)
@pytest.mark.parametrize("name", NAMES)
def test_header_lookups_answer_as_mitmproxy_s_do(headers: http.Headers, name: Any) -> None:
    original_get_all = ORIGINALS["Headers.get_all"]
    original_get = ORIGINALS["Headers.get"]
    original_contains = ORIGINALS["Headers.__contains__"]
    assert outcome(lambda: headers_get_all(headers, name)) == outcome(
        lambda: original_get_all(headers, name)
    )
    assert outcome(lambda: headers_get(headers, name)) == outcome(
        lambda: original_get(headers, name)
    )
    assert outcome(lambda: headers_get(headers, name, "fallback")) == outcome(
        lambda: original_get(headers, name, "fallback")
    )
    assert outcome(lambda: headers_contains(headers, name)) == outcome(
        lambda: original_contains(headers, name)
    )


def test_the_installed_headers_answer_the_http_layer_s_questions() -> None:
    fastpaths.install()
    headers = HEADERS[2]
    assert headers.get("accept") == "text/html, application/json, "
    assert headers.get_all("COOKIE") == ["a=1", "b=2"]
    assert "x-raw" in headers
    assert "missing" not in headers
    assert headers.get("missing", "none") == "none"


OPTION_VALUES: list[tuple[type | object, Any, Any]] = [
    (str, "ficus", "legacy"),
    (int, 8000, 9000),
    (float, 3.0, 0.5),
    (bool, False, True),
    (bytes, b"", b"x"),
    (str | None, None, "set"),
]


@pytest.mark.parametrize(("typespec", "default", "value"), OPTION_VALUES)
def test_an_immutable_option_is_read_as_mitmproxy_reads_it(
    typespec: Any, default: Any, value: Any
) -> None:
    option = optmanager._Option("o", typespec, default, "help", None)
    assert fastpaths.option_current(option) == ORIGINALS["_Option.current"](option)
    assert fastpaths.option_current(option) is option._default  # left at its default
    option.set(value)
    assert fastpaths.option_current(option) == ORIGINALS["_Option.current"](option) == value


def test_a_list_option_is_still_a_copy_that_cannot_change_the_option() -> None:
    option = optmanager._Option("modes", typing.Sequence[str], ["reverse:http://a"], "help", None)
    read = fastpaths.option_current(option)
    assert read == ORIGINALS["_Option.current"](option)
    read.append("regular")
    assert fastpaths.option_current(option) == ["reverse:http://a"]
    option.set(["reverse:http://b"])
    again = fastpaths.option_current(option)
    again[0] = "changed"
    assert option.value == ["reverse:http://b"]


def test_the_fast_paths_are_for_the_pinned_mitmproxy() -> None:
    # Equivalence was checked against 11.0.2's code; a new mitmproxy must be checked again.
    assert VERSION == "11.0.2"
