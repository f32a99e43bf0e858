"""The upstream hop's HTTP/1.1: the request's bytes, and the strict parser for the answer.

Each hostile answer below is one an upstream (a compromised or broken service, or something
in between) could send to desynchronise the proxy's keep-alive connection or to smuggle a
second answer: the parser refuses it, so the forwarder answers a generic 502.
"""

from __future__ import annotations

import pytest

from proxy.upstream_http import (
    BadRequestHeadError,
    ResponseParser,
    UpstreamGarbageError,
    request_bytes,
)

HEAD_LIMIT = 1024


def parse(data: bytes, method: bytes = b"GET", *, eof: bool = False) -> ResponseParser:
    parser = ResponseParser(max_head_bytes=HEAD_LIMIT)
    parser.start(method)
    complete = parser.feed(data)
    if eof and not complete:
        parser.feed_eof()
    return parser


# --- the request ---------------------------------------------------------------------------


def test_a_request_is_written_as_given_with_its_body_framed_by_content_length():
    data = request_bytes(
        b"POST", b"/api/appointments?x=1", [(b"Host", b"svc"), (b"X-A", b"1")], b"{}"
    )
    assert data == (
        b"POST /api/appointments?x=1 HTTP/1.1\r\nHost: svc\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n{}"
    )


def test_a_bodyless_request_gets_no_content_length_and_a_matching_one_is_kept():
    assert request_bytes(b"GET", b"/", [(b"Host", b"svc")], b"") == (
        b"GET / HTTP/1.1\r\nHost: svc\r\n\r\n"
    )
    kept = request_bytes(b"PUT", b"/", [(b"Content-Length", b"3")], b"abc")
    assert kept == b"PUT / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"


@pytest.mark.parametrize(
    ("method", "target", "headers", "body"),
    [
        (b"GET / HTTP/1.1\r\nX: y", b"/", [], b""),  # a method that carries a second line
        (b"GET", b"/a b", [], b""),  # a space in the target
        (b"GET", b"/a\r\nX: y", [], b""),
        (b"GET", b"/", [(b"X-A\r\nX-B", b"1")], b""),  # CRLF in a name
        (b"GET", b"/", [(b"X-A\nX-B", b"1")], b""),  # a bare LF in a name
        (b"GET", b"/", [(b"X-A:X-B", b"1")], b""),  # a colon in a name
        (b"GET", b"/", [(b"X A", b"1")], b""),  # not a token
        (b"GET", b"/", [(b"X-A:", b"1")], b""),
        (b"GET", b"/", [(b"X-A", b"1\r\nX-Injected: 1")], b""),  # CRLF in a value
        (b"GET", b"/", [(b"X-A", b"1\nX-Injected: 1")], b""),
        (b"GET", b"/", [(b"X-A", b"a\x00b")], b""),
        (b"POST", b"/", [(b"Transfer-Encoding", b"chunked")], b"ab"),
        (b"POST", b"/", [(b"Content-Length", b"5")], b"ab"),  # not the body's length
        (b"POST", b"/", [(b"Content-Length", b"2"), (b"Content-Length", b"2")], b"ab"),
    ],
)
def test_a_request_that_could_split_or_smuggle_is_never_written(method, target, headers, body):
    with pytest.raises(BadRequestHeadError):
        request_bytes(method, target, headers, body)


def test_a_tab_in_a_header_value_is_allowed():
    assert b"X-A: a\tb\r\n" in request_bytes(b"GET", b"/", [(b"X-A", b"a\tb")], b"")


# --- the answer ----------------------------------------------------------------------------


def test_a_content_length_answer_is_complete_and_reusable():
    parser = parse(
        b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
    )
    assert (parser.complete, parser.reusable) == (True, True)
    assert (parser.status_code, parser.reason) == (201, b"Created")
    assert parser.headers == [(b"Content-Type", b"text/plain"), (b"Content-Length", b"2")]
    assert b"".join(parser.body) == b"ok"


def test_an_answer_in_pieces_completes_with_its_last_byte():
    parser = ResponseParser(max_head_bytes=HEAD_LIMIT)
    parser.start(b"GET")
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Le") is False
    assert parser.feed(b"ngth: 5\r\n\r\nhel") is False
    assert parser.feed(b"lo") is True
    assert b"".join(parser.body) == b"hello"


def test_a_chunked_answer_is_unframed_and_its_trailers_dropped():
    parser = parse(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2;ext=1\r\nok\r\n3\r\n!!!\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    assert (parser.complete, parser.reusable) == (True, True)
    assert b"".join(parser.body) == b"ok!!!"
    assert parser.headers == [(b"Transfer-Encoding", b"chunked")]


def test_interim_answers_are_skipped():
    parser = parse(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    )
    assert (parser.complete, parser.status_code) == (True, 200)
    assert parser.headers == [(b"Content-Length", b"2")]


def test_an_answer_without_framing_ends_when_the_upstream_closes():
    parser = parse(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it", eof=True)
    assert (parser.complete, parser.reusable) == (True, False)
    assert b"".join(parser.body) == b"all of it"


def test_a_framed_answer_cut_short_by_a_close_is_not_complete():
    parser = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", eof=True)
    assert parser.complete is False


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        # Bytes after a complete answer: the two sides disagree on where it ended.
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokgarbage",
    ],
)
def test_the_connection_is_not_reused_after(answer):
    parser = parse(answer)
    assert parser.complete is True
    assert parser.reusable is False


def test_the_answer_to_head_has_no_body_whatever_its_content_length_says():
    parser = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", b"HEAD")
    assert (parser.complete, parser.status_code, parser.body) == (True, 200, [])
    assert parser.reusable is False  # llhttp cannot be told; the connection is not trusted


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_statuses_are_complete_at_the_end_of_the_head(status):
    parser = parse(f"HTTP/1.1 {status} X\r\nContent-Length: 5\r\n\r\n".encode())
    assert (parser.complete, parser.status_code, parser.body) == (True, status, [])


def test_one_parser_serves_a_kept_alive_connections_answers_in_turn():
    parser = ResponseParser(max_head_bytes=HEAD_LIMIT)
    for body in (b"one", b"three"):
        parser.start(b"GET")
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        assert parser.feed(answer) is True
        assert b"".join(parser.body) == body
        assert parser.reusable is True


HOSTILE = {
    "not http": b"garbage\r\n\r\n",
    "lower-case version": b"http/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "HTTP/2 in HTTP/1 syntax": b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    "two-digit status": b"HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok",
    "four-digit status": b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
    "bare LF line ends": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    "space before colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
    "NUL in a value": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    "bare CR in a value": b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok",
    "CL and TE": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n"
    ),
    "two Content-Lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok",
    "negative Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok",
    "signed Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\nok",
    "TE gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok",
    "TE chunked, gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nok",
    "TE xchunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\nok",
    # The chunk-terminator tricks (CVE-2025-43859 was h11 skipping the two bytes after data).
    "chunk not ended by CRLF": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX0\r\n\r\n"
    ),
    "chunk lines ended by LF": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\n0\n\n",
    "space after chunk size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nok\r\n0\r\n\r\n"
    ),
    "chunk size overflow": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nok\r\n"
    ),
    "101 Switching Protocols": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
    "head over the limit": b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * HEAD_LIMIT + b"\r\n",
    # Whole, in one read: it used to be parsed before the limit was looked at.
    "whole head over the limit in one read": (
        b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * HEAD_LIMIT + b"\r\nContent-Length: 2\r\n\r\nok"
    ),
    "status 099": b"HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok",
    "status 600": b"HTTP/1.1 600 Odd\r\nContent-Length: 2\r\n\r\nok",
}


@pytest.mark.parametrize("answer", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_answer_is_refused(answer):
    with pytest.raises(UpstreamGarbageError):
        parse(answer)


def test_a_head_over_the_limit_is_refused_even_when_it_trickles_in():
    parser = ResponseParser(max_head_bytes=HEAD_LIMIT)
    parser.start(b"GET")
    parser.feed(b"HTTP/1.1 200 OK\r\n")
    line = b"X-Pad: aaaaaaaaaa\r\n"
    for _ in range(HEAD_LIMIT // len(line)):
        parser.feed(line)  # each piece is small; together they pass the limit
    with pytest.raises(UpstreamGarbageError):
        parser.feed(line)


def test_a_large_body_in_the_same_read_as_a_small_head_is_no_head_over_the_limit():
    body = b"b" * (HEAD_LIMIT * 4)
    parser = parse(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert b"".join(parser.body) == body


def test_a_body_over_the_budget_is_read_to_its_end_but_not_kept():
    parser = ResponseParser(max_head_bytes=1024)
    parser.start(b"GET", max_body_bytes=4)
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n"
    )
    assert parser.feed(chunked)
    assert (parser.body, parser.body_truncated, parser.reusable) == ([], True, True)
    parser.start(b"GET", max_body_bytes=4)  # the next answer on the connection starts afresh
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd")
    assert (b"".join(parser.body), parser.body_truncated) == (b"abcd", False)
