"""Which Host the legacy app gets: the client's (the default) or its own authority.

Legacy apps check a POST's `Origin` against `Host` (trytond, Django's CSRF check, Rails) and
build absolute URLs from it, so Ficus keeps the client's Host toward legacy by default, as
Envoy does and as nginx users get with `proxy_set_header Host $host`: rewriting it turned every
browser POST into a refusal (Ficus issue 15). `rewrite` sends the legacy URL's own authority
instead, for a legacy app behind a virtual host that only answers to its own name; then the
app must read `X-Forwarded-Host` to see the client's. The client's Host is the one the guard
validated (`proxy.guard.check_head`: exactly one, `host[:port]`), so a request without a valid
Host is refused before this matters. Extracted services always get their instance's
authority: their `ALLOWED_HOSTS` are Ficus's own, and they read the client's from
`X-Forwarded-Host`, which the router sends in both modes, with `X-Forwarded-For` and `-Proto`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from mitmproxy.addonmanager import Loader

OPTION: Final = "ficus_legacy_host_header"


class HostHeader(StrEnum):
    PRESERVE = "preserve"
    REWRITE = "rewrite"


def declare(loader: Loader) -> None:
    loader.add_option(
        OPTION,
        str,
        HostHeader.PRESERVE.value,
        "The Host header the legacy app gets: 'preserve' (the client's, as received) or "
        "'rewrite' (the legacy URL's authority). X-Forwarded-Host carries the client's either way.",
        choices=[mode.value for mode in HostHeader],
    )


def legacy_authority(mode: HostHeader, client_host: str | None, legacy: str) -> str:
    """The Host toward legacy: the client's when preserved and it sent one, else legacy's own."""
    if mode is HostHeader.PRESERVE and client_host:
        return client_host
    return legacy
