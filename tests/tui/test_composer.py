"""The reply composer: templates with variables, counter, warnings, and sending."""

from __future__ import annotations

from datetime import time

from textual.widgets import Input, Select, TextArea

from core.domain.enums import Channel, Direction, MessageStatus
from core.domain.models import ProspectDraft
from core.i18n import format_percent
from inbox_app.app import InboxApp
from inbox_app.render.words import channel_name, money
from inbox_app.screens.composer import ComposerScreen
from inbox_app.screens.conversation import ConversationScreen
from tests.tui.helpers import settle, settle_until, static_text, wait_for_decision


async def open_composer(app, pilot, conversation_id: int) -> None:
    await settle(pilot)
    app.push_screen(ConversationScreen(conversation_id))
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot)
    assert isinstance(app.screen, ComposerScreen)


async def test_slash_opens_templates_and_fills_the_prospects_values(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        await pilot.press("slash")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        text = app.screen.query_one(TextArea).text
        assert text.startswith("Bonjour Marie Dupont, RDV le 12 mars 2026 à 15:00.")
        assert "[" not in text
        assert "1 SMS segment " in static_text(app, "#counter")


async def test_the_counter_follows_the_text(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        app.screen.query_one(TextArea).text = "œ" * 80
        await settle(pilot)
        assert "80 characters · 2 SMS segments (UCS-2)" in static_text(app, "#counter")


async def test_changing_quiet_hours_changes_the_warning(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        assert "Quiet hours" not in static_text(app, "#warnings")
        await pilot.press("escape")
    settings = await service.tenant_settings.get()
    settings.quiet_hours.start, settings.quiet_hours.end = time(10, 30), time(12, 0)
    await service.tenant_settings.save(settings)
    again = InboxApp(service, clock=service.ctx.clock)
    async with again.run_test(size=(80, 24)) as pilot:
        await open_composer(again, pilot, ids["marie_sms"])
        assert "it will leave at 12:00 (2026-03-10)" in static_text(again, "#warnings")


async def test_whatsapp_outside_the_24_hour_window_is_warned(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        app.screen.query_one("#channel").value = "whatsapp"
        await settle(pilot)
        assert "24 hours" in static_text(app, "#warnings")


async def test_reply_with_an_explicit_channel_is_queued_in_the_thread(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        app.screen.query_one("#channel").value = "sms"
        await pilot.press(*"A jeudi !", "ctrl+s")
        await settle(pilot)
        notes = [n.message for n in app._notifications]
        assert isinstance(app.screen, ConversationScreen), notes
    thread = await service.conversations.thread(ids["marie_sms"])
    last = thread.messages[-1]
    assert last.content == "A jeudi !" and last.direction == Direction.OUTBOUND
    assert last.status in (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT)


async def test_reply_with_auto_shows_the_decision_before_sending(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        await pilot.pause(0.6)  # past the typing pause: nothing written, no error either
        await settle(pilot)
        assert app.screen.decision is None
        assert "Write the message" in static_text(app, "#decision")
        assert not app._notifications
        await pilot.press(*"Bonjour Marie")
        await wait_for_decision(pilot)
        shown = static_text(app, "#decision")
        decision = app.screen.decision
        assert decision is not None and decision.channel is not None
        # the very decision the orchestrator gives for this draft, drawn in full
        again = await service.outbound.decide(ids["marie_sms"], app.screen.draft(), None)
        assert (again.channel, again.confidence) == (decision.channel, decision.confidence)
        assert f"Auto → {channel_name(decision.channel)}" in shown
        assert f"confidence {format_percent(decision.confidence)}" in shown
        assert money(decision.estimated_cost) in shown
        assert decision.reasons
        for reason in decision.reasons:
            assert f"{reason.points:+g}  {reason.text}" in shown
        assert decision.alternatives
        for number, alternative in enumerate(decision.alternatives[:2], start=1):
            assert f"alternative {number}: {channel_name(alternative.channel)}" in shown
        await pilot.press("ctrl+s")
        await settle(pilot)
    thread = await service.conversations.thread(ids["marie_sms"])
    assert any(m.content == "Bonjour Marie" for m in thread.messages)


async def test_ctrl_o_walks_autos_ranking_and_comes_back_to_auto(app, ids, service) -> None:
    marie = (await service.conversations.thread(ids["marie_sms"])).prospect
    fields = ("display_name", "phone", "email", "language", "timezone")
    draft = ProspectDraft(**{f: getattr(marie, f) for f in fields}, telegram_chat_id=777001)
    await service.prospects.update(marie.id, draft)  # a third channel: two alternatives to walk
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        await pilot.press(*"Bonjour Marie")
        await wait_for_decision(pilot)
        auto = app.screen.decision
        reachable = set(app.screen.thread.prospect.reachable_channels())
        walk = [a.channel for a in auto.alternatives[:2] if a.channel in reachable]
        assert len(walk) == 2
        for channel, after in zip(walk, [channel_name(walk[1]), "Auto ("], strict=True):
            await pilot.press("ctrl+o")
            await settle(pilot)
            assert app.screen.channel() == channel
            await wait_for_decision(pilot)
            await settle_until(pilot, lambda c=channel: app.screen.decision.channel == c)
            shown = static_text(app, "#decision")
            # the agent's pick is not called Auto's, and the panel says where ctrl+o goes next
            assert f"{channel_name(channel)} (your choice)" in shown and "Auto →" not in shown
            assert f"ctrl+o → {after}" in shown
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert app.screen.channel() is None  # back to Auto


async def test_an_empty_draft_asks_for_no_decision_and_shows_no_error(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        await pilot.press("a", "backspace")
        await pilot.pause(0.8)
        await settle(pilot)
        assert not [n for n in app._notifications if n.severity == "error"]
        assert "Auto →" not in static_text(app, "#decision")


async def test_an_email_answer_shows_the_subject_it_will_carry(app, ids, lang) -> None:
    """The subject field, left empty, says the answer continues the prospect's e-mail thread."""
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_email"])
        field = app.screen.query_one("#subject", Input)
        assert field.value == ""
        assert "Re: Recherche appartement" in str(field.placeholder)
        assert ("vide" if lang == "fr" else "empty") in str(field.placeholder)


async def test_the_subject_field_follows_the_channel_the_reply_will_take(app, ids) -> None:
    """No subject to fill for an SMS: the field shows only where the reply will be an e-mail."""
    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        screen = app.screen
        subject = screen.query_one("#subject", Input)
        assert not subject.display  # Auto, nothing decided yet: the conversation's SMS
        await pilot.press(*"Bonjour Marie")
        await wait_for_decision(pilot)
        assert subject.display == (screen.decision.channel == Channel.EMAIL)
        screen.query_one("#channel", Select).value = str(Channel.EMAIL)
        await settle(pilot)
        assert subject.display
        subject.value = "Visite samedi"
        screen.query_one("#channel", Select).value = str(Channel.SMS)
        await settle(pilot)
        assert subject.display  # what the agent wrote is never hidden
        subject.value = ""
        await settle_until(pilot, lambda: not subject.display)


async def test_the_fields_hints_are_whole_at_80_columns(app, ids, lang) -> None:
    """The hints name what to type: cut, a French agent saw "Envoyer plus tard :" and no
    format at all, and "Attach a file: path to a photo or"."""
    from rich.cells import cell_len

    async with app.run_test(size=(80, 24)) as pilot:
        await open_composer(app, pilot, ids["marie_sms"])
        assert "HH:MM" in str(app.screen.query_one("#send_at", Input).placeholder)
        for name in ("#send_at", "#attach"):
            field = app.screen.query_one(name, Input)
            assert cell_len(str(field.placeholder)) <= field.content_region.width, name
