"""Helpers shared by sub-commands."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.config.settings import Settings
from core.service import InboxService

R = TypeVar("R")


def run_with_service(settings: Settings, work: Callable[[InboxService], Awaitable[R]]) -> R:
    """Open the service, run ``work`` with it, close it."""

    async def main() -> R:
        from core.engine import open_service

        service = await open_service(settings)
        try:
            return await work(service)
        finally:
            await service.close()

    return asyncio.run(main())
