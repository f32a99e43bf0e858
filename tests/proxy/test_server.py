"""The curated master: only the addons Ficus needs, with the hardening options set."""

from __future__ import annotations

import dataclasses

import pytest

from proxy.server import ProxyConfig, build_master, mitmproxy_options, parse_args


@pytest.fixture
def anyio_backend():
    return "asyncio"


def config(tmp_path) -> ProxyConfig:
    return ProxyConfig(
        listen_host="127.0.0.1",
        listen_port=0,
        legacy_url="http://127.0.0.1:8001",
        plans_dir=tmp_path,
        legacy_db_url=f"sqlite:///{tmp_path / 'legacy.sqlite3'}",
        access_log=str(tmp_path / "access.log"),
        confdir=tmp_path / "mitmproxy",
    )


@pytest.mark.anyio
async def test_the_master_loads_only_the_addons_ficus_needs(tmp_path):
    proxy = build_master(config(tmp_path))
    try:
        names = [type(addon).__name__ for addon in proxy.addons.chain]
        assert names == [
            "TermLog",
            "ErrorCheck",
            "Proxyserver",
            "NextLayer",
            "TlsConfig",
            "HeadLimits",
            "BodyBudget",
            "BodyDeadline",
            "Guard",
            "FicusOptions",
            "RequestSanitizer",
            "Router",
            "ShadowCopies",
            "IdentityBridge",
            "RouteCounter",
            "Responses",
            "AccessLogger",
            "RouteLimitsAddon",
            "Forwarder",
            "_Announce",
        ]
        options = proxy.options
        assert options.mode == ["reverse:http://127.0.0.1:8001"]
        assert options.connection_strategy == "lazy"
        assert options.validate_inbound_headers is True
        assert options.keep_host_header is True
        assert options.upstream_cert is False
        assert options.ficus_plans == str(tmp_path)
        assert options.body_size_limit == "10m"
        assert (options.ficus_connect_timeout, options.ficus_read_timeout) == (3.0, 30.0)
        assert options.ficus_head_timeout == 15.0
        assert options.ficus_max_buffered_bodies == "64m"
        assert (options.ficus_body_timeout, options.ficus_body_min_rate) == (20.0, 500)
    finally:
        proxy.addons.get("errorcheck").finish()
        await proxy.done()


def test_the_identity_key_is_only_an_option_when_given(tmp_path):
    assert "ficus_identity_key" not in mitmproxy_options(config(tmp_path))


def test_each_worker_holds_its_share_of_the_proxys_buffered_bodies(tmp_path):
    one = dataclasses.replace(config(tmp_path), max_buffered_bodies="64m")
    four = dataclasses.replace(one, workers=4, worker_index=2)
    assert mitmproxy_options(one)["ficus_max_buffered_bodies"] == "64m"
    assert mitmproxy_options(four)["ficus_max_buffered_bodies"] == str(16 * 1024 * 1024)


def test_the_process_entry_point_takes_every_setting_explicitly(tmp_path):
    parsed, worker_argv = parse_args(
        [
            *("--host", "127.0.0.1", "--port", "8000"),
            *("--legacy", "http://127.0.0.1:8001", "--plans", str(tmp_path)),
            *("--legacy-db", "sqlite://", "--access-log", "-", "--confdir", str(tmp_path)),
        ]
    )
    assert (parsed.listen_port, parsed.plans_dir, parsed.access_log) == (8000, tmp_path, "-")
    assert (parsed.workers, parsed.worker_index) == (1, None)
    assert worker_argv[1:4] == ["-m", "proxy.server", "--host"]
    with pytest.raises(SystemExit):
        parse_args(["--host", "127.0.0.1"])


@pytest.mark.parametrize(
    "extra",
    [
        ["--workers", "0"],
        ["--connect-timeout", "0"],
        ["--read-timeout", "-1"],
        ["--head-timeout", "0"],
        ["--max-buffered-bodies", "lots"],
        ["--max-body", "big"],
        # 64m / 7 workers is 9.1 MiB a worker: a 10 MiB body --max-body allows never fits.
        ["--max-buffered-bodies", "64m", "--workers", "7"],
        ["--body-timeout", "0"],
        ["--body-min-rate", "0"],
    ],
)
def test_an_operator_gets_an_error_for_impossible_numbers(tmp_path, extra, capsys):
    base = [
        *("--host", "127.0.0.1", "--port", "8000"),
        *("--legacy", "http://127.0.0.1:8001", "--plans", str(tmp_path)),
        *("--legacy-db", "sqlite://", "--access-log", "-", "--confdir", str(tmp_path)),
    ]
    with pytest.raises(SystemExit):
        parse_args([*base, *extra])
    assert extra[0] in capsys.readouterr().err
