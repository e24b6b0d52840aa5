"""The crash relay's ingest process (``crash_relay`` with ``RELAY_INGEST_PROCESS`` set):
the ingest worker with the fake adapters, woken through standard input until it ends.

    python -m tests.integration.relay.crash_ingest DATABASE_URL [SCHEMA]
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from core.ingest.worker import IngestWorker
from core.relay.ingest_process import follow_wakes
from core.service import InboxService
from core.storage.database import Database
from tests.relay_fakes import FakeAdapters


async def main(url: str, schema: str | None) -> None:
    options: dict[str, Any] = {}
    if schema:
        options["connect_args"] = {"server_settings": {"search_path": schema}}
    db = await Database.open(url, **options)
    try:
        service = await InboxService.connect(db, "acme")
        await follow_wakes(IngestWorker(service.ctx, FakeAdapters(), booking=service.booking))
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
