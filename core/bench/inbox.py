"""The inbox list through the facade: pages, filters, sorts, counts and opening a thread, against
a bare indexed ``SELECT … ORDER BY last_message_at DESC LIMIT 50`` run with ``sqlite3``."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from typing import Any

from core.bench.context import BenchContext, timed, timed_sync
from core.bench.results import Result, Summary
from core.domain.enums import Channel
from core.service import InboxFilter, Sort

#: Samples per operation: at least this many, or ten per run.
MIN_SAMPLES = 30
REFERENCE_SQL = (
    "SELECT id, prospect_name, channel_type, last_message_preview, unread_count, last_message_at"
    " FROM conversations WHERE tenant_id = ? AND status IN ('open', 'pending')"
    " ORDER BY last_message_at DESC LIMIT 50"
)


async def measure(ctx: BenchContext) -> list[Result]:
    """Time each inbox operation (first call is a warm-up) and the bare reference query."""
    count = max(MIN_SAMPLES, 10 * ctx.runs)
    async with ctx.service() as service:
        tenant_id = service.ctx.tenant_id
        conversations = service.conversations
        first = await conversations.page()
        cursors = itertools.cycle([first.next_cursor])
        channels = itertools.cycle(list(Channel))
        opened = itertools.cycle([item.id for item in first.items])
        operations: dict[str, Callable[[], Awaitable[Any]]] = {
            "inbox.first_page": lambda: conversations.page(),
            "inbox.next_page": lambda: conversations.page(cursor=next(cursors)),
            "inbox.channel": lambda: conversations.page(InboxFilter(channel=next(channels))),
            "inbox.sort_priority": lambda: conversations.page(InboxFilter(sort=Sort.PRIORITY)),
            "inbox.sort_waiting": lambda: conversations.page(InboxFilter(sort=Sort.WAITING)),
            "inbox.counts": conversations.counts,
            "inbox.thread": lambda: conversations.thread(next(opened)),
        }
        samples: dict[str, list[float]] = {}
        for name, call in operations.items():
            await call()
            samples[name] = [(await timed(call))[0] for _ in range(count)]
    with closing(sqlite3.connect(ctx.dataset.path)) as con:
        con.execute(REFERENCE_SQL, (tenant_id,)).fetchall()
        bare = [
            timed_sync(lambda: con.execute(REFERENCE_SQL, (tenant_id,)).fetchall())[0]
            for _ in range(count)
        ]
    reference = Summary.of(bare)
    return [
        Result(name, "ms", Summary.of(values), "p95", "inbox.reference", reference)
        for name, values in samples.items()
    ]
