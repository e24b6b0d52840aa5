"""A realistic, seeded data generator for benchmarks.

French and English names and text, Zipf-like conversation lengths (a few long threads, many short
ones), all five channels, every delivery status, media, voice calls with summaries. Rows are
written in bulk with explicit ids, and the conversation rows get the same denormalised columns the
write path (``core.storage.timeline``) would give them, so the app reads them as real data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from core.bench import vocabulary as v
from core.domain.enums import Channel, ConversationStatus, Direction, MessageStatus
from core.storage import tables as t
from core.storage.database import Database
from core.storage.tenants import ensure_tenant
from core.storage.timeline import preview_of
from core.storage.types import utcnow

SCALES: dict[str, tuple[int, int]] = {
    "small": (1_000, 10_000),
    "medium": (10_000, 100_000),
    "large": (100_000, 1_000_000),
}
#: Prospects per scale: the large one has 100k, so that a 100k-prospect broadcast can run.
PROSPECTS = {"small": 666, "medium": 6_666, "large": 100_000}
CHUNK = 5_000
#: The tables by name, typed ``Table`` (an ORM class's ``__table__`` is typed as a FROM clause).
_TABLES = t.Base.metadata.tables
CHANNEL_WEIGHTS = {
    Channel.EMAIL: 35,
    Channel.SMS: 30,
    Channel.WHATSAPP: 20,
    Channel.TELEGRAM: 8,
    Channel.VOICE: 7,
}
OUTBOUND_STATUSES = {
    MessageStatus.DELIVERED: 70,
    MessageStatus.READ: 15,
    MessageStatus.SENT: 8,
    MessageStatus.FAILED: 3,
    MessageStatus.QUEUED: 2,
    MessageStatus.UNDELIVERED: 1,
    MessageStatus.UNKNOWN: 1,
}


@dataclass
class Dataset:
    """What was generated."""

    tenant_id: int
    prospects: int
    conversations: int
    messages: int


@dataclass
class _Batch:
    prospects: list[dict[str, Any]] = field(default_factory=list)
    conversations: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


class Generator:
    """Draws prospects, conversations and messages from a seeded random source."""

    def __init__(self, tenant_id: int, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.tenant_id = tenant_id
        self.now = now

    def lengths(self, conversations: int, messages: int) -> list[int]:
        """Messages per conversation: heavy-tailed, at least one each, summing to ``messages``."""
        weights = [self.rng.paretovariate(1.3) for _ in range(conversations)]
        spare = messages - conversations
        scale = spare / sum(weights)
        counts = [1 + int(w * scale) for w in weights]
        for i in range(messages - sum(counts)):
            counts[i % conversations] += 1
        return counts

    def prospect(self, pid: int) -> dict[str, Any]:
        """One prospect row."""
        english = self.rng.random() < 0.12
        first = self.rng.choice(v.FIRST_NAMES_EN if english else v.FIRST_NAMES_FR)
        last = self.rng.choice(v.LAST_NAMES)
        local = f"{first}.{last}".lower().replace(" ", "")
        return {
            "id": pid,
            "tenant_id": self.tenant_id,
            "display_name": f"{first} {last}",
            "phone": f"+336{pid % 100_000_000:08d}",
            "email": f"{local}{pid}@example.fr",
            "whatsapp": None,
            "telegram_chat_id": 100_000 + pid if self.rng.random() < 0.2 else None,
            "preferred_channel": None,
            "opted_out_channels": [],
            "timezone": None,
            "language": "en" if english else "fr",
            "created_at": self.now - timedelta(days=400),
            "updated_at": self.now,
        }

    def conversation(
        self, cid: int, prospect: dict[str, Any], count: int, next_mid: int, recent: bool
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A conversation row and its messages (ids from ``next_mid``)."""
        channel = self.rng.choices(list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values()))[0]
        age = self.rng.expovariate(1 / 40) if not recent else self.rng.random() * 0.2
        last_at = self.now - timedelta(days=min(age, 365))
        step = timedelta(minutes=self.rng.randint(3, 600))
        start = last_at - step * (count - 1)
        messages = [
            self._message(next_mid + i, cid, prospect, channel, start + step * i, i)
            for i in range(count)
        ]
        return self._conversation_row(cid, prospect, channel, messages, recent), messages

    def _message(
        self, mid: int, cid: int, prospect: dict[str, Any], channel: Channel, at: datetime, i: int
    ) -> dict[str, Any]:
        inbound = i % 2 == 0 if self.rng.random() < 0.85 else self.rng.random() < 0.5
        english = prospect["language"] == "en"
        first = prospect["display_name"].split()[0]
        words = {
            "street": self.rng.choice(v.STREETS),
            "first": first,
            "hour": self.rng.randint(9, 18),
            "agent": "Claire",
        }
        if inbound:
            text = self.rng.choice(v.INBOUND_EN if english else v.INBOUND_FR).format(**words)
        else:
            text = self.rng.choice(v.OUTBOUND_EN if english else v.OUTBOUND_FR).format(**words)
        meta: dict[str, Any] = {}
        kind = "message"
        if channel == Channel.VOICE:
            kind = "call"
            meta = {
                "duration_seconds": self.rng.randint(20, 900),
                "summary": self.rng.choice(v.CALL_SUMMARIES),
            }
            text = meta["summary"]
        elif channel == Channel.WHATSAPP and self.rng.random() < 0.05:
            meta = {"attachments": [{"filename": "photo.jpg", "content_type": "image/jpeg"}]}
        status = (
            MessageStatus.RECEIVED
            if inbound
            else self.rng.choices(list(OUTBOUND_STATUSES), list(OUTBOUND_STATUSES.values()))[0]
        )
        return {
            "id": mid,
            "tenant_id": self.tenant_id,
            "conversation_id": cid,
            "prospect_id": prospect["id"],
            "channel_type": channel,
            "kind": kind,
            "direction": Direction.INBOUND if inbound else Direction.OUTBOUND,
            "sender_type": "prospect" if inbound else "agent",
            "sender_id": None,
            "content": text,
            "status": status,
            "meta": meta,
            "subject": self.rng.choice(v.EMAIL_SUBJECTS) if channel == Channel.EMAIL else None,
            "provider": None,
            "provider_message_id": None,
            "error_code": None,
            "error_message": None,
            "segments": None,
            "cost_micros": None,
            "currency": None,
            "created_at": at,
            "sent_at": at if not inbound else None,
            "delivered_at": at + timedelta(seconds=12)
            if status in (MessageStatus.DELIVERED, MessageStatus.READ)
            else None,
            "read_at": at + timedelta(minutes=5) if status == MessageStatus.READ else None,
            "failed_at": None,
        }

    def _conversation_row(
        self,
        cid: int,
        prospect: dict[str, Any],
        channel: Channel,
        messages: list[dict[str, Any]],
        recent: bool,
    ) -> dict[str, Any]:
        last = messages[-1]
        trailing = 0
        for message in reversed(messages):
            if message["direction"] != Direction.INBOUND:
                break
            trailing += 1
        waiting = messages[-trailing]["created_at"] if trailing else None
        roll = self.rng.random()
        status = (
            ConversationStatus.OPEN
            if recent or roll < 0.5
            else ConversationStatus.CLOSED
            if roll < 0.9
            else ConversationStatus.PENDING
        )
        return {
            "id": cid,
            "tenant_id": self.tenant_id,
            "prospect_id": prospect["id"],
            "channel_type": channel,
            "channel_identifier": None,
            "status": status,
            "priority": self.rng.choices([0, 1, 2, 3], [2, 8, 70, 20])[0],
            "assignee_id": None,
            "subject": last["subject"],
            "context": {},
            "switched_from_id": None,
            "snoozed_until": None,
            "prospect_name": prospect["display_name"],
            "last_message_at": last["created_at"],
            "last_message_preview": preview_of(last["subject"] or last["content"]),
            "last_message_direction": last["direction"],
            "unread_count": trailing if recent else 0,
            "waiting_since": waiting,
            "message_count": len(messages),
            "created_at": messages[0]["created_at"],
            "updated_at": last["created_at"],
            "closed_at": None,
        }


async def generate(
    db: Database,
    scale: str = "small",
    *,
    seed: int = 7,
    tenant: str = "bench",
    now: datetime | None = None,
) -> Dataset:
    """Fill ``db`` with a dataset of ``scale`` for tenant ``tenant`` (refuses a non-empty one)."""
    conversations, messages = SCALES[scale]
    tenant_id = await ensure_tenant(db, tenant, "Agence Bench")
    async with db.session() as session:
        existing = (
            await session.execute(
                select(func.count())
                .select_from(t.ConversationRow)
                .where(t.ConversationRow.tenant_id == tenant_id)
            )
        ).scalar_one()
    if existing:
        raise ValueError(f"tenant {tenant!r} already has {existing} conversations")
    gen = Generator(tenant_id, seed, now or utcnow())
    base = await _next_ids(db)
    prospects = PROSPECTS.get(scale) or max(1, conversations * 2 // 3)
    for batch in _batches(gen, base, prospects, gen.lengths(conversations, messages)):
        await _write(db, batch)
    await _advance_sequences(db)
    return Dataset(tenant_id, prospects, conversations, messages)


def _batches(
    gen: Generator, base: dict[str, int], prospects: int, lengths: list[int]
) -> Iterator[_Batch]:
    batch = _Batch()
    people = [gen.prospect(base["prospects"] + i) for i in range(prospects)]
    batch.prospects = people
    mid = base["messages"]
    recent_cut = len(lengths) - max(1, len(lengths) // 50)
    for index, count in enumerate(lengths):
        person = people[gen.rng.randrange(prospects)]
        row, rows = gen.conversation(
            base["conversations"] + index, person, count, mid, recent=index >= recent_cut
        )
        mid += count
        batch.conversations.append(row)
        batch.messages.extend(rows)
        if len(batch.messages) >= CHUNK * 4:
            yield batch
            batch = _Batch()
    yield batch


async def _next_ids(db: Database) -> dict[str, int]:
    async with db.session() as session:
        found = {}
        for name, table in (
            ("prospects", t.ProspectRow),
            ("conversations", t.ConversationRow),
            ("messages", t.MessageRow),
        ):
            found[name] = (await session.execute(select(func.max(table.id)))).scalar() or 0
    return {name: value + 1 for name, value in found.items()}


async def _write(db: Database, batch: _Batch) -> None:
    async with db.session() as session:
        for table, rows in (
            (t.ProspectRow, batch.prospects),
            (t.ConversationRow, batch.conversations),
            (t.MessageRow, batch.messages),
        ):
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                await session.execute(insert(_TABLES[table.__tablename__]), chunk)


async def _advance_sequences(db: Database) -> None:
    """Explicit ids leave PostgreSQL's sequences behind; move them past what was written."""
    if db.dialect != "postgresql":
        return
    async with db.session() as session:
        for table in ("prospects", "conversations", "messages"):
            await session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            )
