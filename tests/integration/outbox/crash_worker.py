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
from core.storage.types import utcnow
from tests.unit.outbox.fakes import FakeAdapter, FakeRuntime


class FileProvider(FakeAdapter):
    """Accepts every message, recording its reference in a shared append-only file."""

    #: Whether it lists the latest messages to a recipient (``recent``).
    listing = False

    def __init__(self, channel: Channel, path: Path, lookup: bool) -> None:
        super().__init__(channel, lookup=lookup, recent=self.listing)
        self.path = path

    async def send(self, message: OutgoingMessage) -> SendResult:
        await asyncio.sleep(random.random() / 500)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            line = f"{message.reference}\t{message.to}\t{message.text}\t{utcnow().isoformat()}\n"
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        await asyncio.sleep(random.random() / 500)
        return SendResult(provider_message_id=f"SM{message.reference}")

    async def lookup(self, reference: str) -> SendResult | None:
        for ref, to, body, at in read_lines(self.path):
            if ref == reference:
                return _result(ref, to, body, at)
        return None


class ListingFileProvider(FileProvider):
    """The same provider, with a message list to reconcile against (like Twilio's)."""

    listing = True

    async def recent(self, to: str, limit: int = 20) -> list[SendResult]:
        """The latest messages sent to ``to``, newest first."""
        found = [_result(*line) for line in read_lines(self.path) if line[1] == to]
        return list(reversed(found))[:limit]


def _result(reference: str, to: str, body: str, at: str) -> SendResult:
    raw = {"to": to, "body": body, "date_created": at}
    return SendResult(provider_message_id=f"SM{reference}", raw=raw)


def provider(sends: Path, lookup: bool) -> FileProvider:
    """The provider of a run: with look-up and message list, or with neither."""
    return (ListingFileProvider if lookup else FileProvider)(Channel.SMS, sends, lookup)


def read_lines(path: Path) -> list[tuple[str, str, str, str]]:
    """Every send the provider accepted: reference, recipient, text, time."""
    if not path.exists():
        return []
    return [tuple(line.split("\t")) for line in path.read_text().splitlines() if line]  # type: ignore[misc]


def read_sends(path: Path) -> list[str]:
    """Every reference the provider accepted, in order (repeats mean double sends)."""
    return [line[0] for line in read_lines(path)]


async def main(url: str, tenant: str, sends: Path, lookup: bool, schema: str | None) -> None:
    options = {"connect_args": {"server_settings": {"search_path": schema}}} if schema else {}
    db = await Database.open(url, **options)
    service = await InboxService.connect(db, tenant)
    runtime = FakeRuntime(provider(sends, lookup))
    worker = OutboxWorker(service.ctx, runtime, batch_size=10, lease_seconds=1, poll_seconds=0.05)
    await worker.run_forever(asyncio.Event())


if __name__ == "__main__":
    schema = sys.argv[5] if len(sys.argv) > 5 else None
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4] == "1", schema))
