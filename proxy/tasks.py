"""Fire-and-forget asyncio tasks that are never garbage-collected mid-flight.

The event loop keeps only a weak reference to a task, so a task nobody holds may vanish before
it finishes (the asyncio docs' warning, and why ruff here bans a bare `asyncio.create_task`).
`TaskSet.spawn` keeps each task in a set until it is done, and its size is the in-flight count
that bounded background work (shadow copies) checks before starting more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


class TaskSet:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run coro in the background on the running loop, holding a reference until done."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


_default = TaskSet()


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    """`TaskSet.spawn` on one process-wide set, for tasks that need no bound of their own."""
    return _default.spawn(coro)
