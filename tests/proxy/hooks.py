"""Calling an addon's hook in a test the way mitmproxy does: a hook may return at once, or
return an awaitable that finishes it (FicusAddon.response does when legacy must be asked)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable


async def finished(result: Awaitable[object] | None) -> None:
    if result is not None and inspect.isawaitable(result):
        await result
