"""The relay's ingest process in the end-to-end broadcast (``core.bench.broadcast_e2e_run``):

    python -m core.bench.ingest_child DATABASE_URL TENANT

What ``coccinelle relay`` runs as its ingest process (``inbox_app.commands.relay``: the ingest
worker woken through standard input until it closes, ``core.relay.ingest_process``), with the
adapters pointed at the bench's sandbox process: its base URLs, credentials and options come as
the JSON the sandbox printed, in the environment variable ``SANDBOX_ENV`` (never in a file or
on the command line). When its input closes it writes its own CPU seconds and peak resident
memory to the file named by ``USAGE_ENV``: the app's share of the work that runs in it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from functools import partial
from pathlib import Path

from core.bench.startup import vm_hwm_kb

#: The sandbox's description (JSON: base_urls, credentials, options).
SANDBOX_ENV = "COCCINELLE_BENCH_SANDBOX"
#: Where this process writes its CPU seconds and peak RSS when it ends.
USAGE_ENV = "COCCINELLE_BENCH_INGEST_USAGE"


def argv(database_url: str, tenant: str) -> list[str]:
    """This module's command line."""
    return [sys.executable, "-m", "core.bench.ingest_child", database_url, tenant]


async def run(database_url: str, tenant: str) -> None:
    """Ingest until standard input closes, then write this process's usage."""
    from core.channels.runtime import ChannelRuntime
    from core.config.settings import ProviderEndpoints
    from core.engine import pointed_at_sandbox, sandbox_secrets
    from core.relay.ingest_process import ingest_until_closed
    from core.service import InboxService
    from core.storage.database import Database

    cpu = time.process_time()
    sandbox = json.loads(os.environ[SANDBOX_ENV])
    db = await Database.open(database_url)
    service = await InboxService.connect(db, tenant)
    channels = pointed_at_sandbox(await service.tenant_settings.channels(), sandbox["options"])
    runtime = ChannelRuntime(
        channels,
        partial(sandbox_secrets, sandbox["credentials"]),
        ProviderEndpoints(**sandbox["base_urls"]),
    )
    try:
        await ingest_until_closed(service, runtime)
    finally:
        await db.close()
    usage = {"cpu_seconds": time.process_time() - cpu, "peak_rss_mb": vm_hwm_kb("self") / 1024}
    Path(os.environ[USAGE_ENV]).write_text(json.dumps(usage))


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], sys.argv[2]))
