"""Telegram: aiogram 3 against the sandbox over HTTP (webhook and long polling)."""

from __future__ import annotations

import dataclasses

import pytest

from core.channels.adapter import Attachment, Button, Location, OutgoingMessage
from core.channels.errors import PermanentProviderError, SignatureError, TransientProviderError
from core.domain.enums import Channel
from providers.sandbox.personas import PERSONAS
from providers.telegram.adapter import TelegramAdapter

from .conftest import config_for

CONFIRMS, CANCELS, ASKS, PHOTO = PERSONAS[:4]


@pytest.fixture
async def telegram(sandbox, relay):
    adapter = TelegramAdapter(config_for(sandbox, relay, "telegram", "telegram", timeout=3.0))
    yield adapter
    await adapter.close()


def tg(to, **kw):
    return OutgoingMessage(channel=Channel.TELEGRAM, to=str(to), **kw)


async def test_send_kinds_and_commands(sandbox, telegram):
    await telegram.check_connection()
    text = await telegram.send(
        tg(
            ASKS.chat_id,
            text="Quand êtes-vous disponible ?",
            buttons=(Button("slot-1", "Jeudi 10h"),),
        )
    )
    assert text.provider_message_id.startswith(f"{ASKS.chat_id}:")
    sent = sandbox.requests("telegram", "/sendMessage")[-1].body
    assert sent["chat_id"] == str(ASKS.chat_id) and sent["text"] == "Quand êtes-vous disponible ?"
    assert sent["reply_markup"] == {
        "inline_keyboard": [[{"text": "Jeudi 10h", "callback_data": "slot-1"}]]
    }

    await telegram.send(
        tg(
            ASKS.chat_id,
            text="Le plan",
            attachments=(Attachment("plan.jpg", "image/jpeg", content=b"\xff\xd8jpeg"),),
        )
    )
    photo = sandbox.requests("telegram", "/sendPhoto")[-1]
    assert photo.headers.get("transfer-encoding") == "chunked"
    assert photo.body["photo"]["filename"] == "plan.jpg" and photo.body["caption"] == "Le plan"

    await telegram.send(
        tg(
            ASKS.chat_id,
            attachments=(
                Attachment("bail.pdf", "application/pdf", url="https://cdn.test/bail.pdf"),
            ),
        )
    )
    assert (
        sandbox.requests("telegram", "/sendDocument")[-1].body["document"]
        == "https://cdn.test/bail.pdf"
    )

    await telegram.send(tg(ASKS.chat_id, location=Location(48.85, 2.35)))
    location = sandbox.requests("telegram", "/sendLocation")[-1].body
    assert (location["latitude"], location["longitude"]) == ("48.85", "2.35")

    await telegram.set_commands([("start", "Commencer"), ("/rdv", "Prendre rendez-vous")])
    assert sandbox.telegram.commands == [
        {"command": "start", "description": "Commencer"},
        {"command": "rdv", "description": "Prendre rendez-vous"},
    ]


async def test_webhook_with_secret_and_button_reply(sandbox, relay, telegram):
    await telegram.set_webhook(relay.url + "/webhooks/telegram")
    assert sandbox.telegram.webhook_secret == sandbox.credentials["telegram"]["webhook_secret"]
    await telegram.send(
        tg(
            CONFIRMS.chat_id,
            text="On confirme ?",
            buttons=(Button("yes", "Oui"), Button("no", "Non")),
        )
    )
    await telegram.send(tg(PHOTO.chat_id, text="Une photo ?"))
    await sandbox.flush()
    tap, photo = relay.at("/webhooks/telegram")
    for request in (tap, photo):
        telegram.verify(request)
    (event,) = telegram.parse(tap)
    assert event.button_payload == "yes" and event.sender == str(CONFIRMS.chat_id)
    await telegram.answer_button(event.extra["callback_query_id"])
    assert sandbox.telegram.answered == [event.extra["callback_query_id"]]
    (picture,) = telegram.parse(photo)
    assert picture.attachments[0].content_type == "image/jpeg" and picture.text == PHOTO.reply
    assert telegram.dedupe_keys(tap) != telegram.dedupe_keys(photo)

    wrong = dataclasses.replace(
        tap, headers={**tap.headers, "x-telegram-bot-api-secret-token": "guess"}
    )
    with pytest.raises(SignatureError):
        telegram.verify(wrong)
    with pytest.raises(PermanentProviderError) as caught:
        await telegram.get_updates()
    assert caught.value.status == 409


async def test_long_polling_returns_raw_updates(sandbox, telegram):
    await telegram.delete_webhook()
    await telegram.send(tg(CANCELS.chat_id, text="Confirmez-vous ?"))
    command = sandbox.telegram.push(
        {
            "message": {
                "message_id": 99,
                "from": {"id": 5, "is_bot": False, "first_name": "Zoé"},
                "chat": {"id": -100123, "type": "group", "title": "Famille"},
                "date": 1700000000,
                "text": "/rdv@coccinelle_sandbox_bot demain",
                "entities": [{"type": "bot_command", "offset": 0, "length": 27}],
            }
        }
    )
    updates = await telegram.get_updates(timeout=1)
    assert len(updates) == 2
    reply, group = (telegram.parse_update(u)[0] for u in updates)
    assert reply.text == "ANNULER" and reply.sender == str(CANCELS.chat_id)
    assert group.extra["command"] == "/rdv" and group.extra["chat_type"] == "group"
    assert group.sender == "-100123" and group.sender_name == "Zoé"
    assert await telegram.get_updates(offset=command + 1) == []


async def test_errors(sandbox, relay, telegram):
    sandbox.inject("telegram", "rate_limit")
    with pytest.raises(TransientProviderError) as caught:
        await telegram.send(tg(ASKS.chat_id, text="x"))
    assert caught.value.retry_after == 5.0
    config = config_for(sandbox, relay, "telegram", "telegram")
    bad = TelegramAdapter(
        dataclasses.replace(config, credentials={**config.credentials, "bot_token": "1:wrong"})
    )
    try:
        with pytest.raises(PermanentProviderError) as caught:
            await bad.check_connection()
        assert caught.value.status == 401
    finally:
        await bad.close()


async def test_a_reply_acknowledges_the_tap_it_answers(sandbox, telegram):
    tapped = sandbox.telegram.push(
        {
            "callback_query": {
                "id": "tap-1",
                "from": {"id": ASKS.chat_id, "is_bot": False, "first_name": "Zoé"},
                "chat_instance": "1",
                "data": "rdv:visit.1.1773151200",
            }
        }
    )
    assert tapped
    only = await telegram.send(
        tg(ASKS.chat_id, callback_query_id="tap-1", callback_text="Réservé ✓")
    )
    assert only.provider_message_id == "callback:tap-1"
    assert sandbox.telegram.answer_texts == {"tap-1": "Réservé ✓"}
    assert sandbox.requests("telegram", "/sendMessage") == []
    # a query Telegram no longer knows: alone it fails, with a reply the reply still goes
    with pytest.raises(PermanentProviderError):
        await telegram.send(tg(ASKS.chat_id, callback_query_id="unknown", callback_text="x"))
    sent = await telegram.send(
        tg(ASKS.chat_id, text="Ce créneau est pris", callback_query_id="unknown")
    )
    assert sent.provider_message_id.startswith(f"{ASKS.chat_id}:")
    assert sandbox.requests("telegram", "/sendMessage")[-1].body["text"] == "Ce créneau est pris"


async def test_callback_data_longer_than_64_bytes_is_refused(sandbox, telegram):
    with pytest.raises(PermanentProviderError) as caught:
        await telegram.send(tg(ASKS.chat_id, text="?", buttons=(Button("é" * 33, "Trop long"),)))
    assert "BUTTON_DATA_INVALID" in str(caught.value)


async def test_a_restarted_sandbox_never_reuses_a_chats_message_id(sandbox, relay, telegram):
    from providers.sandbox import start_sandbox

    first = await telegram.send(tg(ASKS.chat_id, text="Premier passage"))
    again = await start_sandbox(relay.url)  # the demo started once more, same chats
    try:
        adapter = TelegramAdapter(config_for(again, relay, "telegram", "telegram", timeout=3.0))
        try:
            second = await adapter.send(tg(ASKS.chat_id, text="Deuxième passage"))
        finally:
            await adapter.close()
    finally:
        await again.stop()
    assert second.provider_message_id != first.provider_message_id
    first_id = int(first.provider_message_id.split(":")[1])
    assert int(second.provider_message_id.split(":")[1]) > first_id  # ids keep rising
