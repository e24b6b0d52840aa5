"""A worker process for the crash test: sends through a file-backed fake provider until killed.

    python crash_worker.py <database url> <tenant> <sends file> <lookup 0|1> [<pg schema>]

The fake provider appends each accepted reference to the sends file *before* answering, as a
real provider would have the message once it accepted it: the file is the ground truth of what
was sent, whatever moment the process is killed at.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from pathlib import Path

from core.channels.adapter import OutgoingMessage, SendResult
from core.domain.enums import Channel
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.storage.database import Database
from tests.unit.outbox.fakes import FakeRuntime, RecordingAdapter


class FileProvider(RecordingAdapter):
    """Accepts every message, recording its reference in a shared append-only file."""

    def __init__(self, channel: Channel, path: Path, lookup: bool) -> None:
        super().__init__(channel, lookup=lookup)
        self.path = path

    async def send(self, message: OutgoingMessage) -> SendResult:
        await asyncio.sleep(random.random() / 500)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{message.reference}\n".encode())
        finally:
            os.close(fd)
        await asyncio.sleep(random.random() / 500)
        return SendResult(provider_message_id=f"SM{message.reference}")

    async def lookup(self, reference: str) -> SendResult | None:
        sent = set(read_sends(self.path))
        return SendResult(provider_message_id=f"SM{reference}") if reference in sent else None


def read_sends(path: Path) -> list[str]:
    """Every reference the provider accepted, in order (repeats mean double sends)."""
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line]


async def main(url: str, tenant: str, sends: Path, lookup: bool, schema: str | None) -> None:
    options = {"connect_args": {"server_settings": {"search_path": schema}}} if schema else {}
    db = await Database.open(url, **options)
    service = await InboxService.connect(db, tenant)
    runtime = FakeRuntime(FileProvider(Channel.SMS, sends, lookup))
    worker = OutboxWorker(service.ctx, runtime, batch_size=10, lease_seconds=1, poll_seconds=0.05)
    await worker.run_forever(asyncio.Event())


if __name__ == "__main__":
    schema = sys.argv[5] if len(sys.argv) > 5 else None
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "1", schema))
