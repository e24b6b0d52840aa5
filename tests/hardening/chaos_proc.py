"""One process of the chaos test: the relay, the ingest worker or the outbox worker.

    python -m tests.hardening.chaos_proc relay|ingest|outbox

Reads ``CHAOS_DATABASE_URL``, ``CHAOS_TENANT``, ``CHAOS_PORT`` (relay) and ``CHAOS_SANDBOX`` (JSON:
the sandbox's credentials per provider). Channel set-ups (with the sandbox's base URLs) are read
from the database. Prints ``READY`` once running; runs until killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.ingest.worker import IngestWorker
from core.outbox.ratelimit import RateLimiters
from core.outbox.worker import OutboxWorker
from core.relay.run import serve
from core.relay.server import RelayConfig, runtime_lookup
from core.service import InboxService
from core.storage.database import Database


async def main(role: str) -> None:
    db = await Database.open(os.environ["CHAOS_DATABASE_URL"])
    service = await InboxService.connect(db, os.environ["CHAOS_TENANT"])
    credentials = json.loads(os.environ["CHAOS_SANDBOX"])
    channels = await service.tenant_settings.channels()
    runtime = ChannelRuntime(
        channels,
        lambda config, _names: credentials[str(config.provider)],
        ProviderEndpoints(),
        callback_url=f"http://127.0.0.1:{os.environ['CHAOS_PORT']}",
    )
    stop = asyncio.Event()
    if role == "relay":
        await serve(
            service,
            runtime_lookup(runtime),
            RelayConfig(tenant_id=service.ctx.tenant_id),
            host="127.0.0.1",
            port=int(os.environ["CHAOS_PORT"]),
            stop=stop,
            ingest=False,
            on_ready=lambda _host, _port: print("READY", flush=True),
        )
    elif role == "ingest":
        print("READY", flush=True)
        await IngestWorker(service.ctx, runtime_lookup(runtime)).run(stop)
    else:
        print("READY", flush=True)
        worker = OutboxWorker(
            service.ctx,
            runtime,
            batch_size=5,
            lease_seconds=1,
            poll_seconds=0.05,
            limiters=RateLimiters(burst=100_000),  # the sandbox has no send rate to respect
        )
        await worker.run_forever(stop)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
