"""Background tasks keep a reference until done, and the set's size is the in-flight count."""

from __future__ import annotations

import asyncio

import pytest

from proxy.tasks import TaskSet, spawn


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_it_holds_a_task_until_it_finishes():
    tasks = TaskSet()
    release = asyncio.Event()
    task = tasks.spawn(release.wait())
    assert len(tasks) == 1
    release.set()
    await task
    await asyncio.sleep(0)  # done callbacks run on the next loop turn
    assert len(tasks) == 0


@pytest.mark.anyio
async def test_cancel_all_stops_what_is_still_running():
    tasks = TaskSet()
    task = tasks.spawn(asyncio.Event().wait())
    await tasks.cancel_all()
    assert task.cancelled()


@pytest.mark.anyio
async def test_the_module_level_spawn_runs_the_coroutine():
    done = asyncio.Event()

    async def work():
        done.set()

    await spawn(work())
    assert done.is_set()
