"""Identity resolution: which prospect wrote, from the channel identifier they wrote from.

The same E.164 number on SMS, WhatsApp and voice is one prospect; an email address or a Telegram
chat id links to the prospect who has it, otherwise a new prospect is created, named from the
profile name the provider gave, else from the address.
"""

from __future__ import annotations

from email.utils import parseaddr
from functools import lru_cache

from core.domain.contact import normalize_chat_id, normalize_email, normalize_phone
from core.domain.enums import Channel
from core.events import ProspectChanged
from core.storage import tables as t
from core.storage.inbound_step import IngestStep
from core.storage.prospect_rows import find_row


@lru_cache(maxsize=4096)
def canonical_identifier(channel: Channel, raw: str) -> str:
    """``raw`` as stored for ``channel``: E.164, a normalised address, or a chat id (kept
    for the next events of the same sender: a batch reads it three times per event).

    Raises:
        InvalidInput: ``raw`` is not an identifier of that channel.
    """
    match Channel(channel):
        case Channel.SMS | Channel.VOICE | Channel.WHATSAPP:
            return normalize_phone(raw)
        case Channel.EMAIL:
            return normalize_email(parseaddr(raw)[1] or raw)
        case Channel.TELEGRAM:
            return str(normalize_chat_id(raw))


async def resolve_prospect(
    step: IngestStep,
    channel: Channel,
    raw_identifier: str,
    name: str | None = None,
    *,
    flush: bool = True,
    new_row: t.ProspectRow | None = None,
) -> tuple[t.ProspectRow, bool]:
    """The prospect reachable at ``raw_identifier`` on ``channel``, created if unknown.

    Returns the row and whether it was created. ``flush=False`` leaves a new prospect pending
    (no id yet, inserted with the rest of a group): the caller calls ``prospect_created`` once
    it is flushed. ``new_row``: the row to add if the prospect is unknown, built by
    ``new_prospect`` before the transaction took the write lock.
    """
    identifier = canonical_identifier(channel, raw_identifier)
    key = (identifier_kind(channel), identifier)
    lookups = step.lookups
    if lookups is not None and key in lookups.prospects:
        row = lookups.prospects[key]
    else:
        row = await find_row(step.session, step.tenant_id, channel, identifier)
    if row is not None:
        if channel == Channel.WHATSAPP and row.whatsapp is None:
            row.whatsapp = identifier
            step.events.append(ProspectChanged(row.id))
        return row, False
    if new_row is None:
        new_row = new_prospect(step, channel, raw_identifier, name)
    row = new_row
    step.session.add(row)
    if flush:
        await step.session.flush()
        prospect_created(step, channel, row)
    return row, True


def new_prospect(
    step: IngestStep, channel: Channel, raw_identifier: str, name: str | None = None
) -> t.ProspectRow:
    """The row of a prospect first seen at ``raw_identifier`` on ``channel`` (in no session).

    Raises:
        InvalidInput: ``raw_identifier`` is not an identifier of that channel.
    """
    identifier = canonical_identifier(channel, raw_identifier)
    row = t.ProspectRow(
        tenant_id=step.tenant_id,
        display_name=_display_name(channel, identifier, name, raw_identifier),
        opted_out_channels=[],
        created_at=step.now,
        updated_at=step.now,
    )
    match Channel(channel):
        case Channel.SMS | Channel.VOICE:
            row.phone = identifier
        case Channel.WHATSAPP:
            row.phone = row.whatsapp = identifier
        case Channel.EMAIL:
            row.email = identifier
        case Channel.TELEGRAM:
            row.telegram_chat_id = int(identifier)
    return row


def prospect_created(step: IngestStep, channel: Channel, row: t.ProspectRow) -> None:
    """Note a prospect the step created, once flushed: announced, and known to the batch's
    lookups (with no conversation yet)."""
    step.events.append(ProspectChanged(row.id))
    lookups = step.lookups
    if lookups is not None:
        identifier = row.email if channel == Channel.EMAIL else row.phone
        if channel == Channel.TELEGRAM:
            identifier = str(row.telegram_chat_id)
        lookups.prospects[(identifier_kind(channel), str(identifier))] = row
        lookups.conversations.update({(row.id, str(c)): None for c in Channel})


def identifier_kind(channel: Channel) -> str:
    """Which prospect column ``channel``'s identifiers are looked up in (SMS, WhatsApp and
    voice share the phone number)."""
    match Channel(channel):
        case Channel.SMS | Channel.VOICE | Channel.WHATSAPP:
            return "phone"
        case Channel.EMAIL:
            return "email"
        case _:
            return "telegram"


def _display_name(channel: Channel, identifier: str, name: str | None, raw: str) -> str:
    candidate = " ".join((name or "").split())
    if not candidate and channel == Channel.EMAIL:
        candidate = " ".join(parseaddr(raw)[0].split())
        if not candidate:
            local = identifier.split("@", 1)[0]
            candidate = " ".join(p.capitalize() for p in local.replace("_", ".").split(".") if p)
    return (candidate or identifier)[:200]
