"""mitmproxy's request and response data built without its `__debug__` type checks.

`MessageData.__post_init__` checks every field's type on each request and response mitmproxy
builds; Ficus's own code builds them with the right types, so the checks are dropped (what
`python -O` does for them, keeping `assert`s). docs/benchmarks.md has the cost it saves.
"""

from __future__ import annotations

from mitmproxy import http


def _no_typecheck(self: http.MessageData) -> None:
    pass


def skip_debug_typechecks() -> None:
    """Build mitmproxy's request and response data without the `__debug__` type checks."""
    http.MessageData.__post_init__ = _no_typecheck  # type: ignore[method-assign]
