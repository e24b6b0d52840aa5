"""Everything ``decide`` looks at, loaded beforehand so that deciding never waits on I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal

from core.analytics.engagement import ChannelEngagement
from core.config.settings import OrchestratorSettings
from core.domain.enums import Channel, MessageType, Urgency
from core.domain.tenant_settings import DEFAULT_PRICES, ChannelLimits, QuietHours


@dataclass(frozen=True, slots=True)
class RoutingContext:
    """A prospect, what we know of them, and the tenant's rules, at one moment.

    ``contacts`` maps each channel to the prospect's identifier on it (absent: unreachable).
    ``enabled`` are the channels the tenant has set up and switched on. ``allowed`` restricts the
    candidates (a reminder that must go by SMS only); None allows every enabled channel.
    """

    now: datetime
    contacts: Mapping[Channel, str]
    enabled: frozenset[Channel]
    prospect_id: int | None = None
    prospect_name: str = ""
    conversation_id: int | None = None
    message_type: MessageType = MessageType.CONVERSATION
    urgency: Urgency = Urgency.NORMAL
    preferred_channel: Channel | None = None
    opted_out: frozenset[Channel] = frozenset()
    unreachable: frozenset[Channel] = frozenset()
    allowed: frozenset[Channel] | None = None
    timezone: str = "Europe/Paris"
    quiet_hours: QuietHours = field(default_factory=QuietHours)
    limits: Mapping[Channel, ChannelLimits] = field(default_factory=dict)
    sent_today: Mapping[Channel, int] = field(default_factory=dict)
    prices: Mapping[Channel, Decimal] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    settings: OrchestratorSettings = field(default_factory=OrchestratorSettings)
    last_inbound_channel: Channel | None = None
    whatsapp_last_inbound_at: datetime | None = None
    whatsapp_template_approved: bool = False
    engagement: Mapping[Channel, ChannelEngagement] = field(default_factory=dict)
    monthly_budget: Decimal | None = None
    spent_this_month: Decimal = Decimal("0")

    def quiet_window(self) -> tuple[time, time]:
        """Start and end of the quiet hours (tenant setting)."""
        return self.quiet_hours.start, self.quiet_hours.end
