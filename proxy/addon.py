"""Ficus's mitmproxy addons, in hook order: each does one job, all share one `Runtime`.

Per request, after `proxy.guard` has checked the head (loaded before these) and before
`proxy.forwarder` sends it (loaded after):

- `FicusOptions` (`proxy.configuration`): the options, and what they open (plans, control
  plane, legacy sessions, access log, identity key);
- `RequestSanitizer` (`proxy.sanitizer`): the canonical target, hop-by-hop and client claims
  stripped, the legacy session id read once; starts the flow state (`proxy.flow_state`);
- `Router` (`proxy.router`): the route decision, and the flow pointed at its upstream;
- `ShadowCopies` (`proxy.shadow_copies`): in `shadow`, a copy to the service in the background;
- `IdentityBridge` (`proxy.identity_bridge`): the signed `X-Ficus-Identity` for a service;
- `RouteCounter` (`proxy.route_counter`): route stats, the service's answer before fallback;
- `Responses` (`proxy.responses`): fallback to legacy, read-your-writes pins, response headers;
- `AccessLogger` (`proxy.access_logger`): the access log line, and the request's Prometheus
  counts (`proxy.metrics`) when they are exported.

Load them with `runproxy` (proxy/server.py, the curated master) or, for debugging, with
`mitmdump -s proxy/addon.py --mode reverse:http://127.0.0.1:8001 --set keep_host_header=true`
(mitmproxy loads a script's module-level `addons` list).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from proxy.access_logger import AccessLogger
from proxy.configuration import FicusOptions
from proxy.identity_bridge import IdentityBridge
from proxy.metrics import ProxyMetrics
from proxy.responses import Responses
from proxy.route_counter import RouteCounter
from proxy.router import Router
from proxy.runtime import Runtime
from proxy.sanitizer import RequestSanitizer
from proxy.shadow_copies import ShadowCopies

FicusAddons = tuple[
    FicusOptions,
    RequestSanitizer,
    Router,
    ShadowCopies,
    IdentityBridge,
    RouteCounter,
    Responses,
    AccessLogger,
]


def ficus_addons(
    *, clock: Callable[[], float] = time.monotonic, metrics: ProxyMetrics | None = None
) -> FicusAddons:
    """A fresh set of Ficus's addons, in the order their hooks must run; `clock` (pins and
    the session cache) is injectable for tests; `metrics`: Prometheus counts, when exported."""
    runtime = Runtime(clock=clock, metrics=metrics)
    return (
        FicusOptions(runtime),
        RequestSanitizer(runtime.identities),
        Router(runtime),
        ShadowCopies(runtime),
        IdentityBridge(runtime),
        RouteCounter(runtime),
        Responses(runtime),
        AccessLogger(runtime),
    )


addons = list(ficus_addons())
