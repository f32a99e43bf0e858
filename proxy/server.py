"""Run mitmproxy in reverse mode with a curated master: only the addons Ficus needs.

Stock `mitmdump` loads about 40 addons, and mitmproxy offers every event of every flow to each
of them; measured on this machine that dispatch is about half of its time per request. Ficus
builds a `mitmproxy.master.Master` itself with:

- `termlog` (Master's own, `with_termlog=True`): mitmproxy's warnings and errors on stderr;
- `errorcheck`: exit with status 1 when start-up logs an error (a port in use, a bad option);
- `proxyserver`: the listening socket and the connection handlers, and the options
  `connection_strategy`, `validate_inbound_headers`, `keep_host_header`;
- `nextlayer`: picks the protocol stack for each connection (reverse proxy, TLS or not, HTTP);
- `tlsconfig`: certificates for clients that speak TLS to the proxy (and so HTTP/2 by ALPN);
- Ficus's own addon (`proxy.addon`), and a one-line announcement once the port is open.

Left out on purpose: `core` (interactive commands), `script` (Ficus is not a script host),
`dumper` (the access log replaces it), `disable_h2c` (Ficus strips `Upgrade` itself),
`keepserving`/`readfile`/playback/`save` (no flow files), and the interception helpers.

Options that are hardening, not taste: `validate_inbound_headers` on (mitmproxy refuses
smuggling-prone heads), `connection_strategy=lazy` (no connection to the legacy app before a
request has been routed, possibly elsewhere), `keep_host_header` (the addon sets Host for the
upstream itself and reports the client's in X-Forwarded-Host), `upstream_cert` off (no
upstream round trip during a client's TLS handshake).

`python -m proxy.server` is what `manage.py runproxy` execs once it has resolved Ficus's
settings, so the proxy process carries no Django (and import-linter keeps mitmproxy out of the
Django apps). Every flag is required here (the legacy database URL may come from
LEGACY_DATABASE_URL instead, as runproxy passes it); the defaults live in runproxy.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mitmproxy import ctx, exceptions, master, options
from mitmproxy.addons import errorcheck, next_layer, proxyserver, tlsconfig

from proxy.addon import FicusAddon


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    listen_host: str
    listen_port: int
    legacy_url: str
    plans_dir: Path
    legacy_db_url: str
    access_log: str
    confdir: Path
    # None: the addon reads FICUS_IDENTITY_KEY from the environment (never put it on argv).
    identity_key: str | None = None


class _Announce:
    """Say where the proxy listens once the socket is open (termlog is quiet below warnings)."""

    def __init__(self, legacy_url: str) -> None:
        self._legacy_url = legacy_url

    def running(self) -> None:
        server = ctx.master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
        for host, port, *_ in server.listen_addrs():
            print(
                f"Ficus proxy listening on http://{host}:{port} (legacy: {self._legacy_url})",
                file=sys.stderr,
                flush=True,
            )


def mitmproxy_options(config: ProxyConfig) -> dict[str, object]:
    values: dict[str, object] = {
        "mode": [f"reverse:{config.legacy_url}"],
        "listen_host": config.listen_host,
        "listen_port": config.listen_port,
        "confdir": str(config.confdir),
        "connection_strategy": "lazy",
        "validate_inbound_headers": True,
        "keep_host_header": True,
        "upstream_cert": False,
        "termlog_verbosity": "warn",
        "ficus_plans": str(config.plans_dir),
        "ficus_legacy_db": config.legacy_db_url,
        "ficus_access_log": config.access_log,
    }
    if config.identity_key is not None:
        values["ficus_identity_key"] = config.identity_key
    return values


def build_master(config: ProxyConfig) -> master.Master:
    """The curated master, configured. Call from inside a running event loop."""
    config.confdir.mkdir(parents=True, exist_ok=True)
    opts = options.Options()
    proxy = master.Master(opts, with_termlog=True)
    # mitmproxy's AddonManager and OptManager are not annotated, hence the ignores.
    proxy.addons.add(  # type: ignore[no-untyped-call]
        errorcheck.ErrorCheck(repeat_errors_on_stderr=True),
        proxyserver.Proxyserver(),  # type: ignore[no-untyped-call]
        next_layer.NextLayer(),
        tlsconfig.TlsConfig(),
        FicusAddon(),
        _Announce(config.legacy_url),
    )
    opts.update(**mitmproxy_options(config))  # type: ignore[no-untyped-call]
    return proxy


async def serve(config: ProxyConfig) -> None:
    proxy = build_master(config)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # master.shutdown() lets addons see `done` (the access log is flushed and closed).
        loop.add_signal_handler(signum, proxy.shutdown)
    await proxy.run()


def run(config: ProxyConfig) -> None:
    """Serve until SIGINT or SIGTERM. Raises mitmproxy's OptionsError on a bad configuration."""
    # A client that goes away mid-response must not kill the proxy.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    for name in ("hpack", "asyncio"):
        logging.getLogger(name).setLevel(logging.WARNING)
    asyncio.run(serve(config))


def parse_args(argv: Sequence[str] | None = None) -> ProxyConfig:
    parser = argparse.ArgumentParser(
        prog="python -m proxy.server",
        description="Ficus's proxy process. Use `manage.py runproxy`, which fills in defaults.",
    )
    parser.add_argument("--host", required=True, help="address to listen on")
    parser.add_argument("--port", required=True, type=int, help="port to listen on")
    parser.add_argument("--legacy", required=True, help="URL of the legacy app")
    parser.add_argument("--plans", required=True, type=Path, help="plan files directory")
    parser.add_argument(
        "--legacy-db",
        default=os.environ.get("LEGACY_DATABASE_URL"),
        help="SQLAlchemy URL of the legacy DB (default: $LEGACY_DATABASE_URL, which keeps a "
        "password out of the process list)",
    )
    parser.add_argument("--access-log", required=True, help="access log path, or - for stderr")
    parser.add_argument("--confdir", required=True, type=Path, help="mitmproxy's CA directory")
    args = parser.parse_args(argv)
    if not args.legacy_db:
        parser.error("--legacy-db or LEGACY_DATABASE_URL is required")
    return ProxyConfig(
        listen_host=args.host,
        listen_port=args.port,
        legacy_url=args.legacy,
        plans_dir=args.plans,
        legacy_db_url=args.legacy_db,
        access_log=args.access_log,
        confdir=args.confdir,
    )


def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    try:
        run(config)
    except exceptions.OptionsError as e:
        print(f"runproxy: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
