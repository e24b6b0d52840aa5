"""The conversation screen: timeline, triage actions by keys, help."""

from __future__ import annotations

from textual.geometry import Size

from core.domain.enums import ConversationStatus, MessageKind, MessageStatus, SenderType
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.help import HelpScreen
from inbox_app.widgets.conversation.timeline import Timeline
from tests.tui.helpers import settle, static_text
from tests.tui.scenario import say


def timeline_text(app) -> str:
    timeline = app.screen.query_one(Timeline)
    return "\n".join(item.text for item in timeline.items)


async def open_conversation(app, pilot, conversation_id: int) -> None:
    await settle(pilot)
    app.push_screen(ConversationScreen(conversation_id))
    await settle(pilot)


async def test_the_timeline_spans_channels_with_statuses_notes_and_files(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        text = timeline_text(app)
        assert f"Conversation #{ids['marie_email']} · Email" in text
        assert "Recherche appartement" in text
        assert "Attachment: annonces-lyon.pdf" in text
        assert "failed: Unreachable destination handset" in text
        assert "Private note" in text and "budget 350 k€" in text
        notes = [i for i in app.screen.query_one(Timeline).items if i.has_class("note")]
        assert len(notes) == 1
        assert "Urgent" in static_text(app, "#title")


async def test_a_call_shows_its_summary_and_expands_its_transcript(app, ids) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await open_conversation(app, pilot, ids["luc_voice"])
        assert "Call of 3 min 20 s" in timeline_text(app)
        assert "Je souhaite vendre" not in timeline_text(app)
        timeline = app.screen.query_one(Timeline)
        call = next(
            i
            for i, item in enumerate(timeline.items)
            if item.message and item.message.kind == MessageKind.CALL
        )
        timeline.index = call
        await pilot.press("enter")
        await settle(pilot)
        assert "Luc: Je souhaite vendre ma maison." in timeline_text(app)


async def test_a_location_shows_coordinates_and_address(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["sophie_telegram"])
        assert "Location: 48.8686" in timeline_text(app)
        assert "15 rue de la Paix, Paris" in timeline_text(app)


async def test_triage_by_keys_labels_notes_priority_and_close(app, ids, service) -> None:
    conversation_id = ids["jean_email"]
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, conversation_id)
        await pilot.press("l")
        await settle(pilot)
        app.screen.query_one("Input").value = "Dossier, chaud"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("i", *"Rappeler demain", "enter")
        await settle(pilot)
        await pilot.press("p", "end", "enter")  # the dialog opens on the current priority
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert "chaud, dossier" in static_text(app, "#title")
        assert "Closed" in static_text(app, "#title")
    conversation = await service.conversations.get(conversation_id)
    assert conversation.labels == ("chaud", "dossier")
    assert conversation.status == ConversationStatus.CLOSED
    assert conversation.priority == "low"
    thread = await service.conversations.thread(conversation_id)
    assert [m.content for m in thread.messages if m.kind == MessageKind.NOTE] == ["Rappeler demain"]


async def test_a_bad_label_is_refused_with_the_reason_and_nothing_changes(
    app, ids, service
) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("l")
        await settle(pilot)
        app.screen.query_one("Input").value = "ok, <script>"
        await pilot.press("enter")
        await settle(pilot)
        assert any("label" in n.message for n in app._notifications)
    assert (await service.conversations.get(ids["marie_sms"])).labels == ("acheteur", "visite")


async def test_snooze_until_tomorrow_morning(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("z", "down", "enter")
        await settle(pilot)
    conversation = await service.conversations.get(ids["marie_sms"])
    assert conversation.status == ConversationStatus.SNOOZED
    assert conversation.snoozed_until.isoformat().startswith("2026-03-11T08:00")  # 9:00 Paris


async def test_help_lists_the_keys_of_the_screen_below(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        keys = static_text(app, "#keys")
        assert "Reply" in keys and "Snooze" in keys and "Settings" in keys
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)


async def test_switch_channel_opens_the_new_linked_thread(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("enter")  # the first channel: the preview
        await settle(pilot)
        await pilot.press("ctrl+s")  # switch, sending the transition
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        new_id = app.screen.conversation_id
    assert new_id != ids["marie_sms"]
    new = await service.conversations.get(new_id)
    old = await service.conversations.get(ids["marie_sms"])
    assert new.switched_from_id == old.id and new.id in old.switched_to_ids
    assert new.channel != old.channel
    thread = await service.conversations.thread(new_id)
    assert any(m.conversation_id == new_id and m.direction == "outbound" for m in thread.messages)


class _FailingOutbound:
    """Stands in for ``service.outbound`` only to make the provider fail; records the calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    async def preview_switch(self, conversation_id: int, to_channel: object) -> None:
        from core.channels.errors import TransientProviderError

        self.calls.append(("preview_switch", to_channel))
        raise TransientProviderError("[red]connection reset[/red]", provider="twilio")

    async def call(self, prospect_id: int) -> None:
        self.calls.append(("call", prospect_id))
        raise OSError("network is unreachable")


async def test_provider_and_network_errors_are_notifications(app, ids, service) -> None:
    real, outbound = service.outbound, _FailingOutbound()
    service.outbound = outbound  # type: ignore[assignment]
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await open_conversation(app, pilot, ids["marie_sms"])
            await pilot.press("w", "enter")
            await settle(pilot)
            await pilot.press("escape", "C")
            await settle(pilot)
            await pilot.press("up", "enter")  # the call asks first: "Yes, call now"
            await settle(pilot)
            assert isinstance(app.screen, ConversationScreen)
            messages = [n.message for n in app._notifications]
            assert any("[red]connection reset[/red]" in m for m in messages)
            assert any("network is unreachable" in m for m in messages)
    finally:
        service.outbound = real
    assert [name for name, _ in outbound.calls] == ["preview_switch", "call"]


def test_a_call_whose_text_is_its_summary_shows_it_once() -> None:
    from datetime import UTC, datetime

    from core.domain.enums import Channel, Direction, MessageStatus, SenderType
    from core.domain.models import Message
    from inbox_app.widgets.conversation.timeline import message_text

    summary = "Hélène cherche une location meublée (2 pièces)."
    call = Message(
        id=1,
        conversation_id=1,
        prospect_id=1,
        channel=Channel.VOICE,
        direction=Direction.INBOUND,
        kind=MessageKind.CALL,
        sender_type=SenderType.PROSPECT,
        content=summary,
        metadata={"summary": summary, "duration_seconds": 142},
        status=MessageStatus.RECEIVED,
        created_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
    )
    assert message_text(call, "Europe/Paris").plain.count(summary) == 1
    other = call.model_copy(update={"content": "Rappeler demain."})
    shown = message_text(other, "Europe/Paris").plain
    assert summary in shown and "Rappeler demain." in shown


def test_an_email_whose_text_opens_with_its_subject_shows_it_once() -> None:
    from datetime import UTC, datetime

    from core.domain.enums import Channel, Direction, MessageStatus, SenderType
    from core.domain.models import Message
    from inbox_app.widgets.conversation.timeline import message_text

    mail = Message(
        id=1,
        conversation_id=1,
        prospect_id=1,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        kind=MessageKind.MESSAGE,
        sender_type=SenderType.SARA,
        subject="Votre projet immobilier",
        content="Votre projet immobilier\n\nBonjour Hélène, avez-vous pu réfléchir ?",
        status=MessageStatus.SENT,
        created_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
    )
    shown = message_text(mail, "Europe/Paris").plain
    assert shown.count("Votre projet immobilier") == 1 and "Bonjour Hélène" in shown
    other = mail.model_copy(update={"content": "Votre projet immobilier avance-t-il ?"})
    assert message_text(other, "Europe/Paris").plain.count("Votre projet immobilier") == 2


def test_a_message_that_fell_back_says_why_and_where() -> None:
    """An SMS refused by Twilio (21211) and sent by e-mail instead: the thread tells the agent
    the first channel's failure, in the provider's words, and the fallback (the outbox's
    attempts, as the worker writes them)."""
    from datetime import UTC, datetime

    from core.domain.enums import Channel, Direction, MessageStatus, SenderType
    from core.domain.models import Message
    from inbox_app.widgets.conversation.timeline import message_text

    error = "Twilio 400: The 'To' number +33612000901 is not a valid phone number. [bold]x[/]"
    attempts = [
        {"channel": "sms", "attempt": 1, "outcome": "permanent", "code": "21211", "error": error},
        {"channel": "email", "attempt": 0, "outcome": "fallback", "origin": "sms"},
        {"channel": "email", "attempt": 1, "outcome": "sent", "id": "abc"},
    ]
    sent = Message(
        id=1,
        conversation_id=1,
        prospect_id=1,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        kind=MessageKind.MESSAGE,
        sender_type=SenderType.AGENT,
        content="Un créneau se libère demain à 10h.",
        metadata={"attempts": attempts, "fallback_attempted": True, "first_channel": "sms"},
        status=MessageStatus.DELIVERED,
        created_at=datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
    )
    shown = message_text(sent, "Europe/Paris").plain
    assert "SMS: failed (Twilio 400: The 'To' number +33612000901" in shown
    assert "[bold]x[/]" in shown  # the provider's text is shown as written, not interpreted
    assert "Fallback from SMS to Email" in shown
    plain = sent.model_copy(update={"metadata": {"attempts": attempts[2:]}})
    assert "failed" not in message_text(plain, "Europe/Paris").plain
    # an e-mail accepted, then bounced: the bounce is why the SMS went
    bounce = "550 5.1.1 The email account does not exist."
    bounced = [
        {"channel": "email", "attempt": 1, "outcome": "sent", "id": "a83"},
        {"channel": "email", "attempt": 1, "outcome": "delivery_failed", "error": bounce},
        {"channel": "sms", "attempt": 0, "outcome": "fallback", "origin": "email"},
    ]
    meta = {"attempts": bounced, "fallback_attempted": True, "first_channel": "email"}
    shown = message_text(sent.model_copy(update={"metadata": meta}), "Europe/Paris").plain
    assert f"Email: failed ({bounce})" in shown and "Fallback from Email to SMS" in shown


async def test_the_timelines_scroll_bar_placed_by_a_layout_asks_for_no_other(app, ids) -> None:
    """A thread opening taller than the screen shows the scroll bar: the screen's layout that
    places it paints it too. Textual's bar then asked for one more layout (for a "virtual size"
    a bar has no use for), and the thread's paint took one more frame."""
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        bar = app.screen.query_one(Timeline).vertical_scrollbar
        await settle(pilot)
        bar._size_updated(Size(2, 7), Size(2, 7), Size(80, 20))
        assert not bar._layout_required


async def test_the_prospect_panel_shows_the_prospect_and_takes_no_focus(app, ids) -> None:
    """Drawn by lines, the panel still shows the prospect, and Tab does not stop on it."""
    from inbox_app.widgets.conversation.prospect_panel import ProspectPanel

    async with app.run_test(size=(160, 48)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        panel = app.screen.query_one(ProspectPanel)
        lines = [panel.render_line(y).text for y in range(panel.size.height)]
        assert any("Marie Dupont" in line for line in lines)
        assert panel not in app.screen.focus_chain


async def test_a_withdrawn_message_is_folded_to_one_line_until_unfolded(
    app, ids, service, lang
) -> None:
    """A reminder withdrawn before it went out was never read: one dim line, Enter shows it."""
    marie = (await service.conversations.thread(ids["marie_sms"])).prospect.id
    await say(
        service,
        marie,
        "Rappel : visite demain à 15:00.\nRépondez OUI pour confirmer.",
        outbound=True,
        status=MessageStatus.CANCELLED,
        sender=SenderType.SARA,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        text = timeline_text(app)
        assert "Rappel : visite demain à 15:00. Répondez OUI" in text  # one line
        assert ("never sent" if lang == "en" else "jamais envoyé") in text
        timeline = app.screen.query_one(Timeline)
        timeline.index = max(
            i
            for i, item in enumerate(timeline.items)
            if item.message and item.message.status == MessageStatus.CANCELLED
        )
        await pilot.press("enter")
        await settle(pilot)
        text = timeline_text(app)
    assert "Rappel : visite demain à 15:00.\n" in text and "never sent" not in text
