"""Deciding with one rendering per channel: each channel is judged on what it would send."""

from __future__ import annotations

from decimal import Decimal

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageType
from core.orchestrator.decide import decide
from core.orchestrator.per_channel import decide_per_channel
from tests.unit.orchestrator.helpers import NIGHT, PHONE, context

SMS = ReplyDraft(text="Bonjour Paul, votre RDV est confirmé demain à 15h. Agence Demo")
#: A WhatsApp template: long, with emoji (as an SMS it would be 3 UCS-2 segments).
WHATSAPP = ReplyDraft(text="*Confirmation* 📅 " + "Votre rendez-vous est confirmé. " * 6)
EMAIL = ReplyDraft(text="Bonjour Paul", subject="RDV", html="<p>Bonjour Paul</p>")


def paul(**overrides):
    contacts = {Channel.SMS: PHONE, Channel.WHATSAPP: PHONE, Channel.EMAIL: "paul@example.fr"}
    return context(
        contacts=contacts,
        whatsapp_template_approved=True,
        message_type=MessageType.APPOINTMENT,
        **overrides,
    )


def test_each_channel_is_costed_on_its_own_rendering() -> None:
    ctx = paul()
    # One content for all: the WhatsApp text as an SMS costs three segments and is capped out.
    alone = decide(ctx, WHATSAPP, Channel.WHATSAPP)
    assert Channel.SMS not in {a.channel for a in alone.alternatives}
    decision = decide_per_channel(
        ctx, {Channel.SMS: SMS, Channel.WHATSAPP: WHATSAPP}, Channel.WHATSAPP
    )
    assert decision.channel == Channel.WHATSAPP
    [sms] = decision.alternatives
    assert sms.channel == Channel.SMS and sms.estimated_cost == ctx.prices[Channel.SMS]
    assert sms.score > 0 and 0 <= sms.confidence <= 1


def test_auto_ranks_the_channels_by_their_own_points() -> None:
    ctx = paul()
    contents = {Channel.SMS: SMS, Channel.WHATSAPP: WHATSAPP, Channel.EMAIL: EMAIL}
    decision = decide_per_channel(ctx, contents)
    scores = {a.channel: a.score for a in decision.alternatives}
    chosen = sum(r.points for r in decision.reasons)
    assert decision.channel is not None and all(chosen >= s for s in scores.values())
    assert len(decision.alternatives) == 2 and decision.confidence > 0
    preferred = decide_per_channel(paul(preferred_channel=Channel.EMAIL), contents)
    assert preferred.channel == Channel.EMAIL


def test_only_the_rendered_channels_are_candidates() -> None:
    decision = decide_per_channel(paul(), {Channel.EMAIL: EMAIL})
    assert decision.channel == Channel.EMAIL and decision.alternatives == ()


def test_quiet_hours_hold_the_chosen_channel() -> None:
    decision = decide_per_channel(paul(now=NIGHT), {Channel.SMS: SMS}, Channel.SMS)
    assert decision.channel == Channel.SMS
    assert decision.held_until is not None and decision.held_until > NIGHT


def test_no_usable_channel_says_why() -> None:
    ctx = paul(opted_out=frozenset({Channel.SMS}))
    decision = decide_per_channel(ctx, {Channel.SMS: SMS}, Channel.SMS)
    assert decision.channel is None
    assert [r.key for r in decision.blocked] == ["orchestrator.blocked.opted_out"]
    capped = paul(prices={Channel.SMS: Decimal("5")})
    assert decide_per_channel(capped, {Channel.SMS: SMS}).channel is None
