"""A relay process with the fake adapters, for the crash test: ``python -m`` this module.

    python -m tests.integration.relay.crash_relay DATABASE_URL [SCHEMA]

Prints ``PORT <n>`` once listening; runs until killed. With ``RELAY_INGEST_PROCESS`` set,
ingest runs in a process of its own (``crash_ingest``).
"""

from __future__ import annotations

import asyncio
import os
import sys

from core.relay.run import serve
from core.relay.server import RelayConfig
from core.service import InboxService
from core.storage.database import Database
from tests.relay_fakes import FakeAdapters
from tests.relay_harness import PUBLIC_URL


async def main(url: str, schema: str | None) -> None:
    options = {"connect_args": {"server_settings": {"search_path": schema}}} if schema else {}
    db = await Database.open(url, **options)
    service = await InboxService.connect(db, "acme")
    config = RelayConfig(tenant_id=service.ctx.tenant_id, public_url=PUBLIC_URL)
    child = [sys.executable, "-m", "tests.integration.relay.crash_ingest", *sys.argv[1:]]
    await serve(
        service,
        FakeAdapters(),
        config,
        host="127.0.0.1",
        port=0,
        stop=asyncio.Event(),
        ingest=os.environ.get("RELAY_NO_INGEST") is None,
        ingest_process=child if os.environ.get("RELAY_INGEST_PROCESS") else None,
        on_ready=lambda _host, port: print(f"PORT {port}", flush=True),
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
