"""A count of bytes held at once against a capacity: the pure core of the body budget patch.

(proxy/mitm_patches/body_budget.py.)
"""

from __future__ import annotations


class Budget:
    """Bytes held at once, against a capacity. Not thread-safe: one event loop uses it."""

    __slots__ = ("capacity", "held")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0

    def fits(self, size: int) -> bool:
        """Whether `size` more bytes would fit now (nothing is counted)."""
        return self.held + size <= self.capacity

    def take(self, size: int) -> bool:
        """Count `size` more bytes if they fit; False (nothing counted) if they do not."""
        if not self.fits(size):
            return False
        self.held += size
        return True

    def give(self, size: int) -> None:
        self.held -= size
