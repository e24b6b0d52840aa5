"""The orchestrator's decision: the seed's worked examples, the rules it left implicit, and bad
input that must come back as a decision, never an exception."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from core.analytics.engagement import ChannelEngagement
from core.config.settings import OrchestratorSettings
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageType, Urgency
from core.domain.tenant_settings import ChannelLimits, QuietHours
from core.holidays import easter_sunday, public_holidays
from core.orchestrator.decide import decide
from tests.unit.orchestrator.helpers import MORNING, NIGHT, PHONE, context


def keys(reasons) -> list[str]:
    return [r.key.removeprefix("orchestrator.") for r in reasons]


# --- The seed's worked examples -------------------------------------------------------------


def test_example_1_urgent_notification_goes_by_sms() -> None:
    ctx = context(message_type=MessageType.NOTIFICATION, urgency=Urgency.URGENT)
    decision = decide(ctx, ReplyDraft(text="Votre visite de 15h est avancée à 14h."))
    assert decision.channel == Channel.SMS
    assert decision.confidence > 0.8
    assert "reason.urgency.urgent.good" in keys(decision.reasons)
    assert decision.estimated_delivery_seconds == 10
    assert decision.estimated_cost == Decimal("0.05")
    assert [a.channel for a in decision.alternatives] == [Channel.EMAIL]


def test_example_2_rich_marketing_with_attachment_goes_by_email(tmp_path: Path) -> None:
    brochure = tmp_path / "brochure.pdf"
    brochure.write_bytes(b"%PDF")
    ctx = context(message_type=MessageType.MARKETING, urgency=Urgency.LOW)
    draft = ReplyDraft(
        text="Découvrez notre nouvelle propriété… " * 8,
        html="<html><img src='x.jpg'> newsletter</html>",
        attachments=(brochure,),
    )
    decision = decide(ctx, draft)
    assert decision.channel == Channel.EMAIL
    reasons = keys(decision.reasons)
    assert "reason.content.rich_good" in reasons
    assert "reason.type.marketing.good" in reasons
    assert "reason.cost.cheap" in reasons
    assert "reason.length.long_ok" in reasons
    assert decision.confidence > 0.8
    # Five UCS-2 parts (the ellipsis) cost 0.25 €, over the 0.10 € cap: SMS is not even an option.
    assert Channel.SMS not in [a.channel for a in decision.alternatives]


def test_example_3_appointment_at_23h_in_quiet_hours_goes_by_email() -> None:
    ctx = context(now=NIGHT, message_type=MessageType.APPOINTMENT, urgency=Urgency.NORMAL)
    decision = decide(ctx, ReplyDraft(text="Rappel de votre RDV demain à 15h."))
    assert decision.channel == Channel.EMAIL
    assert "reason.quiet.email_respectful" in keys(decision.reasons)
    sms = decision.alternatives[0]
    assert sms.channel == Channel.SMS
    assert "reason.quiet.intrusive" in keys(sms.reasons)


# --- Criteria the seed lists, made real ----------------------------------------------------


def test_explicit_sms_in_quiet_hours_is_held_until_the_end_of_the_window() -> None:
    ctx = context(now=NIGHT)
    decision = decide(ctx, ReplyDraft(text="Bonjour"), Channel.SMS)
    assert decision.channel == Channel.SMS
    assert decision.held_until == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 08:00 Paris
    assert "warning.held" in keys(decision.warnings)


def test_quiet_hours_use_the_prospects_time_zone() -> None:
    # 23:00 in Paris is 18:00 in Montreal: not quiet there.
    ctx = context(now=NIGHT, timezone="America/Montreal", message_type=MessageType.APPOINTMENT)
    decision = decide(ctx, ReplyDraft(text="Rappel RDV"), Channel.SMS)
    assert decision.held_until is None


def test_urgent_passes_quiet_hours_with_a_warning() -> None:
    ctx = context(now=NIGHT, urgency=Urgency.URGENT, message_type=MessageType.NOTIFICATION)
    decision = decide(ctx, ReplyDraft(text="Fuite d'eau signalée"))
    assert decision.channel == Channel.SMS
    assert decision.held_until is None
    assert "warning.urgent_in_quiet_hours" in keys(decision.warnings)


def test_urgent_held_when_the_tenant_does_not_let_it_pass() -> None:
    ctx = context(now=NIGHT, urgency=Urgency.URGENT, quiet_hours=QuietHours(urgent_may_pass=False))
    decision = decide(ctx, ReplyDraft(text="Fuite"), Channel.SMS)
    assert decision.held_until is not None


def test_french_commercial_sms_never_on_a_sunday() -> None:
    sunday_noon = datetime(2026, 3, 15, 11, 0, tzinfo=UTC)
    ctx = context(
        now=sunday_noon,
        message_type=MessageType.MARKETING,
        quiet_hours=QuietHours(french_commercial_preset=True),
    )
    decision = decide(ctx, ReplyDraft(text="Promo"), Channel.SMS)
    assert "reason.quiet.commercial_sms" in keys(decision.reasons)
    assert decision.held_until == datetime(2026, 3, 16, 7, 0, tzinfo=UTC)  # Monday 08:00 Paris


def test_french_commercial_sms_skips_easter_monday() -> None:
    saturday_night = datetime(2026, 4, 4, 20, 30, tzinfo=UTC)  # 22:30 Paris, Easter eve
    ctx = context(
        now=saturday_night,
        message_type=MessageType.MARKETING,
        quiet_hours=QuietHours(enabled=False, french_commercial_preset=True),
    )
    decision = decide(ctx, ReplyDraft(text="Promo"), Channel.SMS)
    # Sunday 5 April is Easter, Monday 6 April a holiday: Tuesday 08:00 Paris (06:00 UTC, DST).
    assert decision.held_until == datetime(2026, 4, 7, 6, 0, tzinfo=UTC)


def test_french_holidays_include_the_easter_based_ones() -> None:
    assert easter_sunday(2026) == date(2026, 4, 5)
    assert easter_sunday(2025) == date(2025, 4, 20)
    holidays = set(public_holidays("FR", 2026))
    assert {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)} <= holidays
    assert date(2026, 7, 14) in holidays and len(holidays) == 11


def test_sms_length_uses_real_segments() -> None:
    ctx = context()
    gsm = decide(ctx, ReplyDraft(text="a" * 160), Channel.SMS)
    assert gsm.estimated_cost == Decimal("0.05")
    ucs = decide(ctx, ReplyDraft(text="é" * 70 + "✓"), Channel.SMS)  # UCS-2: 71 > 70 → 2 parts
    assert ucs.estimated_cost == Decimal("0.10")
    assert "reason.length.segments" in keys(ucs.reasons)


def test_preferred_channel_wins_a_normal_message() -> None:
    ctx = context(preferred_channel=Channel.EMAIL)
    decision = decide(ctx, ReplyDraft(text="Voici les documents demandés."))
    assert decision.channel == Channel.EMAIL
    assert keys(decision.reasons)[0] == "reason.preferred"


def test_history_of_answers_moves_the_choice() -> None:
    replies_by_email = ChannelEngagement(
        Channel.EMAIL, sent=10, replied=9, response_rate=11 / 14, prior_rate=0.5
    )
    ignores_sms = ChannelEngagement(
        Channel.SMS, sent=10, replied=0, response_rate=2 / 14, prior_rate=0.5
    )
    ctx = context(engagement={Channel.EMAIL: replies_by_email, Channel.SMS: ignores_sms})
    decision = decide(ctx, ReplyDraft(text="Avez-vous pu visiter ?"))
    assert decision.channel == Channel.EMAIL
    assert "reason.engagement.good" in keys(decision.reasons)


def test_weights_come_from_configuration() -> None:
    heavy_cost = OrchestratorSettings(weights={"cost": 200})
    decision = decide(context(settings=heavy_cost), ReplyDraft(text="Bonjour"))
    assert decision.channel == Channel.EMAIL


def test_channel_over_the_cost_cap_is_never_chosen() -> None:
    ctx = context(settings=OrchestratorSettings(max_cost_per_message=Decimal("0.01")))
    decision = decide(ctx, ReplyDraft(text="Urgent !", urgency=Urgency.URGENT))
    assert decision.channel == Channel.EMAIL
    blocked = decide(ctx, ReplyDraft(text="x"), Channel.SMS)
    assert blocked.channel is None
    assert "blocked.too_expensive" in keys(blocked.blocked)


def test_daily_limit_and_allowed_hours_per_channel() -> None:
    limits = {
        Channel.SMS: ChannelLimits(daily_limit=100),
        Channel.EMAIL: ChannelLimits(allowed_start="14:00", allowed_end="18:00"),
    }
    ctx = context(limits=limits, sent_today={Channel.SMS: 100})
    assert "blocked.daily_limit" in keys(decide(ctx, ReplyDraft(text="x"), Channel.SMS).blocked)
    email = decide(ctx, ReplyDraft(text="x"), Channel.EMAIL)
    assert email.held_until == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 14:00 Paris


def test_whatsapp_free_form_only_within_24h() -> None:
    contacts = {Channel.WHATSAPP: PHONE}
    inside = context(contacts=contacts, whatsapp_last_inbound_at=MORNING - timedelta(hours=23))
    decision = decide(inside, ReplyDraft(text="Bonjour"))
    assert decision.channel == Channel.WHATSAPP
    assert "warning.window_closing" in keys(decision.warnings)
    outside = context(contacts=contacts, whatsapp_last_inbound_at=MORNING - timedelta(hours=25))
    refused = decide(outside, ReplyDraft(text="Bonjour"))
    assert refused.channel is None
    assert "blocked.whatsapp_window" in keys(refused.blocked)
    templated = context(contacts=contacts, whatsapp_template_approved=True)
    assert decide(templated, ReplyDraft(text="Bonjour")).channel == Channel.WHATSAPP


def test_body_over_the_hard_limit_blocks_the_channel() -> None:
    ctx = context(contacts={Channel.TELEGRAM: "123", Channel.EMAIL: "a@b.fr"})
    decision = decide(ctx, ReplyDraft(text="x" * 4097))
    assert decision.channel == Channel.EMAIL
    tg = decide(ctx, ReplyDraft(text="x" * 4097), Channel.TELEGRAM)
    assert tg.channel is None
    assert "blocked.too_long" in keys(tg.blocked)


# --- Bad input: a decision that says so, no exception --------------------------------------


def test_no_reachable_channel_gives_a_decision_saying_so() -> None:
    ctx = context(contacts={}, opted_out=frozenset({Channel.SMS}))
    decision = decide(ctx, ReplyDraft(text="Bonjour"))
    assert decision.channel is None
    assert decision.confidence == 0
    assert keys(decision.reasons) == ["blocked.no_channel"]
    assert decision.blocked and all(r.text != r.key for r in decision.blocked)


def test_opted_out_and_disabled_channels_are_never_chosen() -> None:
    ctx = context(
        opted_out=frozenset({Channel.SMS}),
        enabled=frozenset({Channel.SMS, Channel.WHATSAPP}),
        urgency=Urgency.URGENT,
    )
    decision = decide(ctx, ReplyDraft(text="Urgent"))
    assert decision.channel is None
    assert {"blocked.opted_out", "blocked.disabled"} <= set(keys(decision.blocked))


def test_every_reason_has_a_translation() -> None:
    ctx = context(now=NIGHT, message_type=MessageType.MARKETING, urgency=Urgency.LOW)
    decision = decide(ctx, ReplyDraft(text="Promo " * 40))
    for reason in (*decision.reasons, *decision.warnings, *decision.alternatives[0].reasons):
        assert reason.text != reason.key


def test_budget_warning_near_the_monthly_budget() -> None:
    ctx = context(monthly_budget=Decimal("10"), spent_this_month=Decimal("9.99"))
    decision = decide(ctx, ReplyDraft(text="x"), Channel.SMS)
    assert "warning.budget" in keys(decision.warnings)
    assert decision.warnings[-1].params["percent"] == 100


def test_engagement_prior_keeps_one_message_from_deciding() -> None:
    from core.analytics.engagement import HistoryItem, engagement_from_history
    from core.domain.enums import Direction

    t0 = datetime(2026, 3, 1, 9, tzinfo=UTC)
    history = [
        HistoryItem(Channel.SMS, Direction.OUTBOUND, t0),
        HistoryItem(Channel.SMS, Direction.INBOUND, t0 + timedelta(minutes=4)),
        HistoryItem(Channel.EMAIL, Direction.OUTBOUND, t0),
        HistoryItem(Channel.EMAIL, Direction.OUTBOUND, t0 + timedelta(days=1)),
    ]
    stats = engagement_from_history(history)
    assert stats[Channel.SMS].replied == 1
    assert stats[Channel.SMS].response_rate == 0.6  # (2 + 1) / (4 + 1)
    assert stats[Channel.SMS].median_response_seconds == 240
    assert stats[Channel.EMAIL].response_rate == 2 / 6
    assert stats[Channel.EMAIL].median_response_seconds is None


def test_reasons_name_the_channel_in_the_readers_language() -> None:
    """A French reason says "E-mail" (not the English "Email"); the same decision reads in
    English once the language changes, since reasons are rendered when read."""
    from core import i18n

    ctx = context(message_type=MessageType.MARKETING, urgency=Urgency.LOW)
    decision = decide(ctx, ReplyDraft(text="Découvrez notre nouvelle propriété " * 8))
    assert decision.channel == Channel.EMAIL
    previous = i18n.language()
    try:
        i18n.set_language("fr")
        french = " ".join(r.text for r in decision.reasons)
        i18n.set_language("en")
        english = " ".join(r.text for r in decision.reasons)
    finally:
        i18n.set_language(previous)
    assert "E-mail" in french and "Email" not in french.replace("E-mail", "")
    assert "Email" in english
