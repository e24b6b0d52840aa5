"""The relay's event loop: uvloop where it is installed, asyncio's own otherwise.

The relay spends most of its CPU in the event loop and aiohttp's transport (reading requests,
writing answers, waking the SQLite thread); uvloop does that part in C.

    run(main())      # like asyncio.run
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None (asyncio's default loop) when uvloop is not installed."""
    try:
        import uvloop
    except ImportError:  # optional: not built for every platform
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on the relay's event loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
