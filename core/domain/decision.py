"""The orchestrator's decision and the agent's reply draft, shared by the core and the app.

Reasons carry a translation key and its parameters, not text: the app shows them in the agent's
language (``Reason.text``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.domain.enums import Channel, MessageType, Urgency
from core.i18n import format_money, t

#: Channel values a reason may name (``Reason.text`` translates them).
_CHANNELS = frozenset(str(c) for c in Channel)
#: Reason parameters holding an amount in euros, kept as text, written as the locale writes money.
_AMOUNTS = ("cost", "cap")


class Reason(BaseModel):
    """One criterion that moved a channel's score."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    criterion: str
    points: float
    key: str
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def text(self) -> str:
        """The reason in the active language (its channel named in that language too)."""
        params = dict(self.params)
        if params.get("channel") in _CHANNELS:
            params["channel"] = t(f"common.channel.{params['channel']}")
        for name in _AMOUNTS:
            if isinstance(params.get(name), str):
                params[name] = _amount(params[name])
        return t(self.key, **params)


def _amount(raw: str) -> str:
    try:
        return format_money(Decimal(raw))
    except ArithmeticError:  # not a number (a reason stored by an older version): as it was
        return raw


class ChannelScore(BaseModel):
    """A channel the orchestrator considered: its confidence (0–1) and why."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    channel: Channel
    confidence: float = Field(ge=0, le=1)
    score: float
    reasons: tuple[Reason, ...] = ()
    estimated_cost: Decimal = Decimal("0")
    estimated_delivery_seconds: float = 0
    eligible: bool = True


class Decision(BaseModel):
    """Which channel to use, how sure, why, and what else would do.

    ``channel`` is None when no channel can reach the prospect; ``blocked`` then says why.
    ``held_until`` is set when quiet hours or allowed sending hours delay the send.
    """

    model_config = ConfigDict(frozen=True, defer_build=True)

    channel: Channel | None
    confidence: float = Field(0, ge=0, le=1)
    reasons: tuple[Reason, ...] = ()
    alternatives: tuple[ChannelScore, ...] = ()
    estimated_cost: Decimal = Decimal("0")
    estimated_delivery_seconds: float = 0
    held_until: datetime | None = None
    warnings: tuple[Reason, ...] = ()
    blocked: tuple[Reason, ...] = ()


class ReplyDraft(BaseModel):
    """What an agent (or a reminder, a campaign step) wants to send."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    text: str = ""
    subject: str | None = None
    html: str | None = None
    attachments: tuple[Path, ...] = ()
    share_location: bool = False
    template_id: int | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    urgency: Urgency = Urgency.NORMAL
    message_type: MessageType = MessageType.CONVERSATION
