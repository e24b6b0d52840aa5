"""Asking a provider whether a send interrupted mid-way reached it.

Two ways, in order: ``adapter.lookup(reference)`` (a provider that keeps our reference, or an
adapter that can map it), then, where ``capabilities.recent`` says so, ``adapter.recent(to)`` —
the latest messages to that recipient (Twilio's message list) — matched on the text and the
time. Only a
complete listing can prove a message absent; otherwise the answer is "don't know", and the outbox
shows the message as "outcome unknown" rather than risk sending it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.channels.adapter import ChannelAdapter, SendResult

#: How many of a recipient's latest messages are listed (one page).
LISTED = 20


@dataclass(frozen=True, slots=True)
class ProviderAnswer:
    """What the provider said: the message it has, or whether it surely has none."""

    found: SendResult | None = None
    surely_absent: bool = False


async def ask_provider(
    adapter: ChannelAdapter, reference: str, to: str | None, text: str, since: datetime
) -> ProviderAnswer:
    """Look for the send of ``text`` to ``to`` made under ``reference`` after ``since``.

    Raises:
        ProviderError: the provider could not be asked (try again later).
    """
    if adapter.capabilities.lookup:
        found = await adapter.lookup(reference)
        if found is not None:
            return ProviderAnswer(found)
    if not adapter.capabilities.recent or not to:
        return ProviderAnswer()
    items = await adapter.recent(to, LISTED)
    dates = [d for d in (_when(i.raw.get("date_created")) for i in items) if d is not None]
    if len(dates) < len(items) or any("body" not in i.raw for i in items):
        return ProviderAnswer()  # the listing cannot be compared: no proof either way
    for item, created in zip(items, dates, strict=True):
        if item.raw["body"] == text and created >= since:
            return ProviderAnswer(item)
    if len(items) >= LISTED and min(dates) >= since:
        return ProviderAnswer()  # a full page, every one since: an older send may be past it
    return ProviderAnswer(surely_absent=True)


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
