"""The out-of-hours replies of one ingest transaction, submitted through the pipeline together.

On a closed day each new conversation gets Sara's out-of-hours reply. Submitting each one as
its event is applied costs a pipeline call per event (loading the tenant's inputs, the
prospect, the policy's history): the worker collects them instead and submits them in one
call, in a savepoint of their own, before the transaction commits. So that nothing reads the
thread before its reply is in it, the collected replies are submitted first whenever the next
event is from a sender who already has one waiting, or is anything but an inbound message.
If that call fails, the worker rolls the transaction back and applies its events again, each
submitting its reply at once (``RepliesFailed``), so that only an event whose reply cannot be
queued fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from core.channels.adapter import InboundMessage
from core.ingest.identity import canonical_identifier, identifier_kind
from core.ingest.retry import database_down
from core.pipeline.replies import DeferredReplies

if TYPE_CHECKING:
    from core.ingest.worker import PendingEvent


class RepliesFailed(Exception):
    """Submitting the transaction's collected replies failed (not the database): roll back."""


class Replies(DeferredReplies):
    """``DeferredReplies`` that know whose events were applied since they were last
    submitted."""

    def __init__(self) -> None:
        super().__init__()
        self.senders: set[tuple[str, str]] = set()

    async def before(self, session: AsyncSession, rows: Iterable[PendingEvent]) -> None:
        """Submit the waiting replies if one of ``rows`` could read what they change."""
        if not self.items:
            self.senders.clear()  # nothing waits: what was applied before cannot read it
        keys = [_sender(event) for row in rows for event in row.events]
        if self.items and any(key is None or key in self.senders for key in keys):
            await self.flush(session)
        self.senders.update(key for key in keys if key is not None)

    async def flush(self, session: AsyncSession) -> None:
        """Submit the waiting replies, in a savepoint.

        Raises:
            RepliesFailed: the pipeline refused them (the caller rolls back and retries).
            StorageError and driver errors: the database failed.
        """
        self.senders.clear()
        if not self.items:
            return
        try:
            async with session.begin_nested():
                await self.submit_all(session)
        except Exception as exc:
            if database_down(exc):
                raise
            raise RepliesFailed(str(exc)) from exc


def _sender(event: object) -> tuple[str, str] | None:
    """Whose thread an inbound message goes to; None for any other event (or an identifier
    that does not read), which may touch any thread."""
    if not isinstance(event, InboundMessage):
        return None
    try:
        return identifier_kind(event.channel), canonical_identifier(event.channel, event.sender)
    except Exception:  # not an identifier of its channel: it fails when applied
        return None
