"""Prospects: create, update, find by any channel identifier, merge."""

from __future__ import annotations

import contextlib

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from core.domain import models as m
from core.domain.contact import normalize_chat_id, normalize_email, normalize_phone
from core.domain.enums import Channel
from core.errors import InvalidInput, NotFound
from core.events import ConversationChanged, ProspectChanged
from core.storage import convert
from core.storage import tables as t
from core.storage.prospect_rows import find_row
from core.storage.search import search_prospect_ids
from core.storage.service_context import ServiceContext
from core.team import audit

P = t.ProspectRow


class Prospects:
    """The people the agency talks with."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(self, draft: m.ProspectDraft) -> m.Prospect:
        """Add a prospect."""
        async with self.ctx.write() as (session, events):
            row = P(tenant_id=self.ctx.tenant_id, **_columns(draft))
            session.add(row)
            await session.flush()
            events.append(ProspectChanged(row.id))
            return convert.prospect(row)

    async def update(self, prospect_id: int, draft: m.ProspectDraft) -> m.Prospect:
        """Replace a prospect's details (the name is copied to their conversations)."""
        async with self.ctx.write() as (session, events):
            row = await self._row(session, prospect_id)
            for name, value in _columns(draft).items():
                setattr(row, name, value)
            await session.execute(
                update(t.ConversationRow)
                .where(t.ConversationRow.prospect_id == prospect_id)
                .values(prospect_name=draft.display_name)
            )
            events.append(ProspectChanged(prospect_id))
            return convert.prospect(row)

    async def get(self, prospect_id: int) -> m.Prospect:
        """One prospect."""
        async with self.ctx.db.session() as session:
            return convert.prospect(await self._row(session, prospect_id))

    async def find(self, channel: Channel, identifier: str) -> m.Prospect | None:
        """The prospect reachable at ``identifier`` on ``channel``, if known."""
        async with self.ctx.db.session() as session:
            row = await find_row(session, self.ctx.tenant_id, channel, identifier)
            return convert.prospect(row) if row else None

    async def search(self, query: str, limit: int = 20) -> list[m.Prospect]:
        """Prospects matching ``query``: a phone number (any way it is written, read in France
        unless it has a country code), an e-mail address, a Telegram chat id, or words of the
        name or e-mail. Exact contact matches come first; merged records are left out."""
        text = (query or "").strip()
        if not text:
            return []
        async with self.ctx.db.session() as session:
            exact = _contact_match(text)
            rows: list[P] = []
            if exact is not None:
                found = await session.execute(
                    select(P)
                    .where(P.tenant_id == self.ctx.tenant_id, P.merged_into_id.is_(None), exact)
                    .order_by(P.id)
                    .limit(limit)
                )
                rows.extend(found.scalars())
            ids = await search_prospect_ids(session, self.ctx.tenant_id, text, limit)
            known = {r.id for r in rows}
            wanted = [i for i in ids if i not in known]
            if wanted:
                found = await session.execute(
                    select(P).where(P.id.in_(wanted), P.merged_into_id.is_(None))
                )
                by_id = {r.id: r for r in found.scalars()}
                rows.extend(by_id[i] for i in wanted if i in by_id)
            return [convert.prospect(r) for r in rows[:limit]]

    async def duplicates(self, draft: m.ProspectDraft) -> list[m.Prospect]:
        """Prospects already reachable at one of ``draft``'s phone, WhatsApp, e-mail or
        Telegram chat id (what creating it again would duplicate)."""
        phones = {p for p in (draft.phone, draft.whatsapp) if p}
        clauses: list[ColumnElement[bool]] = []
        if phones:
            clauses += [P.phone.in_(phones), P.whatsapp.in_(phones)]
        if draft.email:
            clauses.append(func.lower(P.email) == draft.email.lower())
        if draft.telegram_chat_id is not None:
            clauses.append(P.telegram_chat_id == draft.telegram_chat_id)
        if not clauses:
            return []
        async with self.ctx.db.session() as session:
            found = await session.execute(
                select(P)
                .where(P.tenant_id == self.ctx.tenant_id, P.merged_into_id.is_(None), or_(*clauses))
                .order_by(P.id)
            )
            return [convert.prospect(r) for r in found.scalars()]

    async def set_opt_out(self, prospect_id: int, channel: Channel, opted_out: bool) -> None:
        """Record that the prospect refuses (or accepts again) messages on ``channel``."""
        async with self.ctx.write() as (session, events):
            row = await self._row(session, prospect_id)
            current = set(row.opted_out_channels or ())
            current = current | {channel} if opted_out else current - {channel}
            row.opted_out_channels = sorted(current)
            events.append(ProspectChanged(prospect_id))

    async def merge(self, keep_id: int, other_id: int) -> m.Prospect:
        """Fold ``other`` into ``keep``: identifiers, conversations and messages move over.

        Identifiers ``keep`` already has win; ``other`` stays as a record pointing at ``keep``.
        """
        if keep_id == other_id:
            raise InvalidInput("merge", other_id, "two different prospects")
        async with self.ctx.write() as (session, events):
            keep = await self._row(session, keep_id)
            other = await self._row(session, other_id)
            for name in ("phone", "email", "whatsapp", "telegram_chat_id", "timezone", "language"):
                if getattr(keep, name) is None:
                    setattr(keep, name, getattr(other, name))
                    setattr(other, name, None)
            keep.opted_out_channels = sorted(
                set(keep.opted_out_channels or ()) | set(other.opted_out_channels or ())
            )
            moved = await _move_conversations(session, other_id, keep)
            other.merged_into_id = keep_id
            await audit.record(
                session, self.ctx, "merge", "prospect", keep_id, merged=other_id, moved=moved
            )
            events.extend([ProspectChanged(keep_id), ProspectChanged(other_id)])
            events.extend(ConversationChanged(i) for i in moved)
            return convert.prospect(keep)

    async def _row(self, session: AsyncSession, prospect_id: int) -> P:
        row = await session.get(P, prospect_id)
        if row is None or row.tenant_id != self.ctx.tenant_id:
            raise NotFound("prospect", prospect_id)
        return row


def _contact_match(text: str):
    """The column condition ``text`` names exactly, if it reads as a contact detail."""
    if "@" in text.strip("@"):
        try:
            # the local part keeps its case when stored; people type it any way
            return func.lower(P.email) == normalize_email(text).lower()
        except InvalidInput:
            return None
    clauses = []
    try:
        phone = normalize_phone(text)
        clauses += [P.phone == phone, P.whatsapp == phone]
    except InvalidInput:
        pass
    digits = text.lstrip("-")
    if digits.isdigit():
        with contextlib.suppress(InvalidInput):
            clauses.append(P.telegram_chat_id == normalize_chat_id(text))
    return or_(*clauses) if clauses else None


def _columns(draft: m.ProspectDraft) -> dict[str, object]:
    values = draft.model_dump()
    values["opted_out_channels"] = sorted(str(c) for c in draft.opted_out_channels)
    return values


async def _move_conversations(session: AsyncSession, old_id: int, keep: P) -> list[int]:
    ids = (
        (
            await session.execute(
                select(t.ConversationRow.id).where(t.ConversationRow.prospect_id == old_id)
            )
        )
        .scalars()
        .all()
    )
    await session.execute(
        update(t.ConversationRow)
        .where(t.ConversationRow.prospect_id == old_id)
        .values(prospect_id=keep.id, prospect_name=keep.display_name)
    )
    await session.execute(
        update(t.MessageRow).where(t.MessageRow.prospect_id == old_id).values(prospect_id=keep.id)
    )
    # The appointments themselves do not change: their updated_at (a cancellation's time, the
    # calendar event's SEQUENCE) stays, instead of taking the onupdate's wall clock.
    await session.execute(
        update(t.AppointmentRow)
        .where(t.AppointmentRow.prospect_id == old_id)
        .values(prospect_id=keep.id, updated_at=t.AppointmentRow.updated_at)
    )
    return list(ids)
