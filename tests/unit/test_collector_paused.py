"""``core.collector.paused``: the collector off inside, back as it was after the last block."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from core.collector import paused


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_overlapping_blocks_turn_it_back_on_after_the_last(collector_on: None) -> None:
    async def chunk(started: asyncio.Event, release: asyncio.Event) -> bool:
        with paused():
            started.set()
            await release.wait()
            return gc.isenabled()

    async def main() -> tuple[bool, bool, bool]:
        first_in, second_in = asyncio.Event(), asyncio.Event()
        release_first, release_second = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(chunk(first_in, release_first))
        second = asyncio.create_task(chunk(second_in, release_second))
        await first_in.wait()
        await second_in.wait()
        release_first.set()
        inside_first = await first
        still_off = not gc.isenabled()  # the second chunk is still running
        release_second.set()
        inside_second = await second
        return inside_first, still_off, inside_second

    inside_first, still_off, inside_second = asyncio.run(main())
    assert not inside_first and not inside_second
    assert still_off
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_it_comes_back_on_when_the_block_raises(collector_on: None) -> None:
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("chunk failed")
    assert gc.isenabled()
