"""One agent's process for the team bench: the app's core and engine, reporting what it hears.

    python -m core.bench.team_agent DATABASE_URL TENANT

Opens the service and starts the engine exactly as the app does in team mode (without the relay,
which runs in its own processes), prints ``ready`` once its live link is up, then one line
``<message id> <unix time>`` for each message it hears of, until SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time


async def main(url: str, tenant: str) -> None:
    """Run until SIGTERM, printing what arrives."""
    from core.config.settings import Settings
    from core.engine import Engine
    from core.events import MessageChanged
    from core.service import InboxService

    settings = Settings(
        mode="team", database_url=url, tenant=tenant, relay={"enabled": False}, language="en"
    )
    service = await InboxService.open(settings)
    engine = Engine(service, settings)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await engine.start()
        async with service.bus.subscribe() as events:
            print("ready" if service.team.online else "deaf", flush=True)
            while not stop.is_set():
                try:
                    event = await asyncio.wait_for(events.get(), 0.5)
                except TimeoutError:
                    continue
                if isinstance(event, MessageChanged):
                    print(event.message_id, f"{time.time():.6f}", flush=True)
    finally:
        await engine.stop()
        await service.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
