"""Run mitmproxy in reverse mode with a curated master: only the addons Ficus needs.

Stock `mitmdump` loads about 40 addons, and mitmproxy offers every event of every flow to each
of them; measured on this machine that dispatch is about half of its time per request. Ficus
builds a `mitmproxy.master.Master` itself with:

- `termlog` (Master's own): mitmproxy's warnings and errors on stderr;
- `errorcheck`: exit with status 1 when start-up logs an error (a port in use, a bad option);
- `proxyserver`: the listening socket and the connection handlers, and the options
  `connection_strategy`, `validate_inbound_headers`, `keep_host_header`;
- `nextlayer`: picks the protocol stack for each connection (reverse proxy, TLS or not, HTTP);
- `tlsconfig`: certificates for clients that speak TLS to the proxy (and so HTTP/2 by ALPN);
- Ficus's addons, in hook order: `proxy.mitm_patches.head_limits` (declares `--head-timeout`; the
  limits on HTTP/1 heads being read live in the layer it patches), `proxy.mitm_patches.body_budget`
  (declares `--max-buffered-bodies`; the count lives in the layer it patches),
  `proxy.mitm_patches.body_deadline` (declares `--body-timeout` and `--body-min-rate`; the deadline
  lives in the HTTP stream, after the budget's count), `proxy.guard` (refuses ambiguous heads with a
  400), the addons of `proxy.addon` (options, sanitizing, routing, shadow, identity, route stats,
  fallback, access log), `proxy.forwarder` (sends the request upstream with connect/read timeouts,
  breaker and health checks), and a one-line announcement once the port is open.

Events are dispatched by `proxy.dispatch.CuratedAddonManager`, which offers each event only to the
addons that handle it and skips mitmproxy's per-flow `update` events (no addon here has that hook).
Each client connection is served by `proxy.mitm_patches.connection_handler`'s handler, which runs a
hook inline when its handlers all return at once (a task only for the `request` hook's forwarding)
and sends a response's head and body in one write.

Left out on purpose: `core` (interactive commands), `script` (Ficus is not a script host),
`dumper` (the access log replaces it), `disable_h2c` (Ficus strips `Upgrade` itself),
`keepserving`/`readfile`/playback/`save` (no flow files), and the interception helpers.

Options that are hardening, not taste: `validate_inbound_headers` on (mitmproxy refuses
smuggling-prone heads), `connection_strategy=lazy` (no connection to the legacy app before a
request has been routed, possibly elsewhere), `keep_host_header` (the addon sets Host for the
upstream itself and reports the client's in X-Forwarded-Host), `upstream_cert` off (no
upstream round trip during a client's TLS handshake).

Limits: `body_size_limit` (mitmproxy's own check, before any upstream connection) answers
413 with its reason for a body over `--max-body`; the bodies held at once are capped by
`--max-buffered-bodies` for the whole proxy, each worker holding its share (503 with
Retry-After, proxy/mitm_patches/body_budget.py). HTTP/2 clients get
Ficus's stream limits (proxy/mitm_patches/h2_server.py, installed with the connection handler): 32
concurrent streams, 8 forwarded at a time per connection, a cancelled stream never forwarded.

Workers (`--workers N`, N > 1): this process becomes a small supervisor that starts N worker
processes (`python -m proxy.server ... --worker-index I`), each a full curated master on the
same port. mitmproxy 11.0.2 binds with `asyncio.start_server(handler, host, port)` in
`ReverseInstance.listen`; a worker replaces that one method so its socket gets SO_REUSEPORT,
and the kernel spreads new connections over the workers' accept queues (evenly, by a hash of
the 4-tuple, unlike one shared queue where the busiest worker keeps winning). The supervisor
restarts a worker that dies, stops all of them with SIGTERM on SIGTERM/SIGINT and then exits
0, and exits with a worker's status if one fails before every worker has opened the port (a
bad plan, a port in use). Each worker reports its readiness on an inherited pipe and finds its
index in `FICUS_WORKER` (for per-worker stats).

Metrics (`--metrics-port`): Prometheus `/metrics` on `--metrics-host` (loopback by default),
served by the worker itself or, with workers, by the supervisor from the snapshots each worker
sends it on a pipe (proxy/metrics_link.py, docs/observability.md).

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mitmproxy import ctx, exceptions, master, options
from mitmproxy.addons import errorcheck, next_layer, proxyserver, termlog, tlsconfig
from mitmproxy.utils import human

from proxy import mitm_patches
from proxy.addon import ficus_addons
from proxy.dispatch import CuratedAddonManager
from proxy.forwarder import Forwarder
from proxy.guard import Guard
from proxy.host_header import OPTION as HOST_HEADER_OPTION
from proxy.host_header import HostHeader
from proxy.metrics import ProxyMetrics
from proxy.metrics_link import MetricsPortError, export_worker
from proxy.mitm_patches import body_budget, body_deadline, head_limits
from proxy.route_limits import OPTION as ROUTE_LIMITS_OPTION
from proxy.route_limits import RouteLimitsAddon
from proxy.supervisor import READY_FD_ENV, Supervisor
from proxy.upstreams import STATES


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
    workers: int = 1
    # Set in the worker processes a supervisor starts (then the socket gets SO_REUSEPORT).
    worker_index: int | None = None
    connect_timeout: float = 3.0
    read_timeout: float = 30.0
    max_body: str = "10m"
    breaker_failures: int = 5
    breaker_cooldown: float = 10.0
    head_timeout: float = head_limits.HEAD_TIMEOUT_SECONDS
    max_buffered_bodies: str = body_budget.DEFAULT_LIMIT
    body_timeout: float = body_deadline.BODY_TIMEOUT_SECONDS
    body_min_rate: int = body_deadline.BODY_MIN_RATE
    # Prometheus /metrics (docs/observability.md): off when the port is None.
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    # The Host the legacy app gets (`proxy.host_header`): the client's, or legacy's own.
    legacy_host_header: str = HostHeader.PRESERVE.value
    # Per-route read timeouts (`domain.route_limits`): a YAML file, or "" for none.
    route_limits: str = ""


class _Announce:
    """Say where the proxy listens once the socket is open (termlog is quiet below warnings),
    and tell a supervisor this worker is ready."""

    def __init__(self, legacy_url: str, worker_index: int | None = None) -> None:
        self._legacy_url = legacy_url
        self._worker_index = worker_index

    def running(self) -> None:
        server = ctx.master.addons.get("proxyserver")  # type: ignore[no-untyped-call]
        who = (
            "Ficus proxy"
            if self._worker_index is None
            else f"Ficus proxy worker {self._worker_index}"
        )
        for host, port, *_ in server.listen_addrs():
            print(
                f"{who} listening on http://{host}:{port} (legacy: {self._legacy_url})",
                file=sys.stderr,
                flush=True,
            )
        ready_fd = os.environ.pop(READY_FD_ENV, None)
        if ready_fd is not None:
            try:
                os.write(int(ready_fd), b"r")
                os.close(int(ready_fd))
            except (OSError, ValueError):
                pass  # the supervisor is gone or was not ours; nothing to tell


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
        "body_size_limit": config.max_body,
        "termlog_verbosity": "warn",
        "ficus_plans": str(config.plans_dir),
        "ficus_legacy_db": config.legacy_db_url,
        "ficus_access_log": config.access_log,
        "ficus_connect_timeout": config.connect_timeout,
        "ficus_read_timeout": config.read_timeout,
        "ficus_breaker_failures": config.breaker_failures,
        "ficus_breaker_cooldown": config.breaker_cooldown,
        "ficus_head_timeout": config.head_timeout,
        # The flag is the whole proxy's; each worker holds its share.
        "ficus_max_buffered_bodies": body_budget.share(config.max_buffered_bodies, config.workers),
        "ficus_body_timeout": config.body_timeout,
        "ficus_body_min_rate": config.body_min_rate,
        HOST_HEADER_OPTION: config.legacy_host_header,
        ROUTE_LIMITS_OPTION: config.route_limits,
    }
    if config.identity_key is not None:
        values["ficus_identity_key"] = config.identity_key
    return values


def build_master(
    config: ProxyConfig,
    *,
    forwarder: Callable[[], Forwarder] = Forwarder,
    metrics: ProxyMetrics | None = None,
) -> master.Master:
    """The curated master, configured. Call from inside a running event loop. `forwarder`:
    who sends upstream (the benchmarks compare others, bench/forwarders.py); `metrics`: the
    Prometheus counts its addons add to (none when None)."""
    config.confdir.mkdir(parents=True, exist_ok=True)
    # Every patch of mitmproxy's internals, listed and pinned in proxy/mitm_patches/.
    mitm_patches.apply_all(reuse_port_for_workers=config.worker_index is not None)
    opts = options.Options()
    # Deferred: each value is applied as soon as the addon declaring it is loaded, so the first
    # `configure` an addon sees already has Ficus's values, never the defaults (the default
    # plans directory could hold routes this proxy is not meant to serve).
    opts.update_defer(**mitmproxy_options(config))  # type: ignore[no-untyped-call]
    proxy = master.Master(opts)
    # Events go only to the addons that handle them (proxy/dispatch.py); termlog is added here,
    # as Master(with_termlog=True) would, but on the curated manager.
    opts.changed.disconnect(proxy.addons._configure_all)
    proxy.addons = CuratedAddonManager(proxy)
    proxy._termlog_addon = termlog.TermLog()  # Master.done() uninstalls it
    proxy.addons.add(proxy._termlog_addon)  # type: ignore[no-untyped-call]
    # mitmproxy's AddonManager and OptManager are not annotated, hence the ignores.
    proxy.addons.add(  # type: ignore[no-untyped-call]
        errorcheck.ErrorCheck(repeat_errors_on_stderr=True),
        proxyserver.Proxyserver(),  # type: ignore[no-untyped-call]
        next_layer.NextLayer(),
        tlsconfig.TlsConfig(),
        head_limits.HeadLimits(),
        body_budget.BodyBudget(),
        body_deadline.BodyDeadline(),
        Guard(),
        *ficus_addons(metrics=metrics),
        RouteLimitsAddon(),
        forwarder(),
        _Announce(config.legacy_url, config.worker_index),
    )
    if opts.deferred:
        raise exceptions.OptionsError(  # type: ignore[no-untyped-call]
            f"options no addon declares: {', '.join(sorted(opts.deferred))}"
        )
    return proxy


async def serve(config: ProxyConfig, forwarder: Callable[[], Forwarder] = Forwarder) -> None:
    metrics = None
    if config.metrics_port is not None:
        metrics = ProxyMetrics(breakers=STATES.breaker_states)
    proxy = build_master(config, forwarder=forwarder, metrics=metrics)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # master.shutdown() lets addons see `done` (the access log is flushed and closed).
        loop.add_signal_handler(signum, proxy.shutdown)
    stop_export = None
    if metrics is not None and config.metrics_port is not None:
        worker = config.worker_index or 1
        stop_export = export_worker(metrics, config.metrics_host, config.metrics_port, worker)
    try:
        await proxy.run()
    finally:
        if stop_export is not None:
            stop_export()


def run(config: ProxyConfig, forwarder: Callable[[], Forwarder] = Forwarder) -> None:
    """Serve until SIGINT or SIGTERM. Raises mitmproxy's OptionsError on a bad configuration."""
    # A client that goes away mid-response must not kill the proxy.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    for name in ("hpack", "asyncio", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    asyncio.run(serve(config, forwarder))


def parse_args(argv: Sequence[str] | None = None) -> tuple[ProxyConfig, list[str]]:
    """The configuration, and the arguments a worker process is started with."""
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
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--connect-timeout", type=float, default=3.0, help="seconds (504)")
    parser.add_argument("--read-timeout", type=float, default=30.0, help="seconds (504)")
    parser.add_argument("--max-body", default="10m", help="largest request body (413 above)")
    parser.add_argument("--breaker-failures", type=int, default=5, help="to open a breaker")
    parser.add_argument("--breaker-cooldown", type=float, default=10.0, help="seconds open")
    parser.add_argument(
        "--head-timeout",
        type=float,
        default=head_limits.HEAD_TIMEOUT_SECONDS,
        help="seconds to send a whole request head (408 after)",
    )
    parser.add_argument(
        "--max-buffered-bodies",
        default=body_budget.DEFAULT_LIMIT,
        help="request body bytes the whole proxy holds at once, each of --workers its share "
        "(503 above)",
    )
    parser.add_argument(
        "--body-timeout",
        type=float,
        default=body_deadline.BODY_TIMEOUT_SECONDS,
        help="seconds to send a request body, one more per --body-min-rate bytes (408 after)",
    )
    parser.add_argument(
        "--body-min-rate",
        type=int,
        default=body_deadline.BODY_MIN_RATE,
        help="request body bytes that buy one more second",
    )
    parser.add_argument(
        "--metrics-port", type=int, default=None, help="serve Prometheus /metrics (default off)"
    )
    parser.add_argument("--metrics-host", default="127.0.0.1", help="address of /metrics")
    parser.add_argument(
        "--legacy-host-header",
        choices=[mode.value for mode in HostHeader],
        default=HostHeader.PRESERVE.value,
        help="the Host legacy gets: the client's (preserve) or legacy's own (rewrite)",
    )
    parser.add_argument("--route-limits", default="", help="per-route read timeouts (YAML)")
    parser.add_argument("--worker-index", type=int, default=None, help=argparse.SUPPRESS)
    raw = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(raw)
    if not args.legacy_db:
        parser.error("--legacy-db or LEGACY_DATABASE_URL is required")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.breaker_failures < 1:
        parser.error("--breaker-failures must be at least 1")
    if args.body_min_rate < 1:
        parser.error("--body-min-rate must be at least 1 byte")
    for name in (
        "connect_timeout",
        "read_timeout",
        "breaker_cooldown",
        "head_timeout",
        "body_timeout",
    ):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be more than 0 seconds")
    for name in ("max_buffered_bodies", "max_body"):
        try:
            human.parse_size(getattr(args, name))
        except ValueError:
            parser.error(f"--{name.replace('_', '-')} must be a size such as 64m or 512k")
    if problem := body_budget.share_too_small(
        args.max_buffered_bodies, args.workers, args.max_body
    ):
        parser.error(problem)
    config = ProxyConfig(
        listen_host=args.host,
        listen_port=args.port,
        legacy_url=args.legacy,
        plans_dir=args.plans,
        legacy_db_url=args.legacy_db,
        access_log=args.access_log,
        confdir=args.confdir,
        workers=args.workers,
        worker_index=args.worker_index,
        connect_timeout=args.connect_timeout,
        read_timeout=args.read_timeout,
        max_body=args.max_body,
        breaker_failures=args.breaker_failures,
        breaker_cooldown=args.breaker_cooldown,
        head_timeout=args.head_timeout,
        max_buffered_bodies=args.max_buffered_bodies,
        body_timeout=args.body_timeout,
        body_min_rate=args.body_min_rate,
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        legacy_host_header=args.legacy_host_header,
        route_limits=args.route_limits,
    )
    worker_argv = [sys.executable, "-m", "proxy.server", *raw]
    return config, worker_argv


def main(argv: Sequence[str] | None = None, forwarder: Callable[[], Forwarder] = Forwarder) -> int:
    config, worker_argv = parse_args(argv)
    if config.workers > 1 and config.worker_index is None:
        metrics = None
        if config.metrics_port is not None:
            metrics = (config.metrics_host, config.metrics_port)
        try:
            return Supervisor(worker_argv, config.workers, metrics=metrics).run()
        except MetricsPortError as e:
            print(f"runproxy: {e}", file=sys.stderr)
            return 2
    try:
        run(config, forwarder)
    except (exceptions.OptionsError, MetricsPortError) as e:
        print(f"runproxy: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
