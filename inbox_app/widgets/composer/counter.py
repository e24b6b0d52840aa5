"""The live counter under the composer: characters, SMS segments and the estimated cost."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.widgets import Static

from core.channels.segments import count_segments
from core.domain.enums import Channel
from core.i18n import t
from inbox_app.render.words import money


def describe(text: str, channel: Channel | None, prices: dict[Channel, Decimal]) -> str:
    """ "42 characters · 1 SMS segment (GSM-7) · 0.05 €" for ``text`` on ``channel``."""
    parts = [t("ui.counter.chars", n=len(text))]
    if channel in (Channel.SMS, None):
        info = count_segments(text)
        parts.append(t("ui.counter.segments", count=info.segments, encoding=info.encoding))
    if channel is not None:
        price = prices.get(channel, Decimal("0"))
        units = max(count_segments(text).segments, 1) if channel == Channel.SMS else 1
        parts.append(t("ui.counter.cost", cost=money(price * units)))
    return " · ".join(parts)


class Counter(Static):
    """Redrawn on every keystroke."""

    def show(self, text: str, channel: Channel | None, prices: dict[Channel, Decimal]) -> None:
        """Count ``text`` for ``channel`` (None: Auto, segments shown for SMS)."""
        self.update(Text(describe(text, channel, prices)))
