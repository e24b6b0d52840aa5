"""Broadcast, first half: queueing a message to 10,000 prospects of the dataset (one decision,
conversation and outbox row each, in the service's chunks), with the process's peak memory.

Sending the queue through the sandbox is not measured here yet. Runs on a copy of the dataset.
"""

from __future__ import annotations

import resource
import shutil
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict

from core.bench.context import BenchContext
from core.bench.results import Result, Summary, Target
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageType, Provider
from core.storage.database import Database, sqlite_url

PROSPECTS = 10_000
TEXT = "Bonjour {{first_name}}, nouvelles annonces dans votre quartier cette semaine."


async def measure(ctx: BenchContext) -> list[Result]:
    """Queue one broadcast on a copy; rate over the whole run, peak RSS of this process."""
    from core.service import InboxService

    copy = ctx.dataset.path.with_name("broadcast.db")
    shutil.copyfile(ctx.dataset.path, copy)
    try:
        with closing(sqlite3.connect(copy)) as con:
            ids = [
                r[0]
                for r in con.execute("SELECT id FROM prospects ORDER BY id LIMIT ?", (PROSPECTS,))
            ]
        db = await Database.open(sqlite_url(copy))
        try:
            service = await InboxService.connect(db, ctx.dataset.tenant)
            await service.tenant_settings.save_channel(
                Channel.SMS, provider=Provider.TWILIO, config={"from_number": "+33700000000"}
            )
            await service.tenant_settings.save_channel(
                Channel.EMAIL,
                provider=Provider.SENDGRID,
                config={"from_email": "agence@example.fr"},
            )
            draft = ReplyDraft(
                text=TEXT.replace("{{first_name}}", ""), message_type=MessageType.MARKETING
            )
            start = time.perf_counter()
            broadcast_id = await service.outbound.broadcast(ids, draft)
            elapsed = time.perf_counter() - start
            progress = await service.outbound.broadcast_progress(broadcast_id)
        finally:
            await db.close()
    finally:
        for leftover in copy.parent.glob(copy.name + "*"):
            leftover.unlink()
    rate = len(ids) / elapsed
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    details = {
        "prospects": len(ids),
        "seconds": round(elapsed, 1),
        "progress": asdict(progress),
    }
    return [
        Result("broadcast.queue_rate", "/s", Summary(rate, rate, rate, 1), details=details),
        Result(
            "broadcast.peak_rss", "MB", Summary(peak, peak, peak, 1), target=Target("value", 300)
        ),
    ]
