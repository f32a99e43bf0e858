"""The HTTP methods the proxy forwards, as they are on the wire (a pure constant, no imports).

Its own module because the guard (which refuses the others) and the layers' refusals (which
log only a method the proxy knows) both need it, and the guard sits above the addon.
"""

from __future__ import annotations

from typing import Final

METHODS: Final = (b"GET", b"HEAD", b"POST", b"PUT", b"PATCH", b"DELETE", b"OPTIONS")

__all__ = ["METHODS"]
