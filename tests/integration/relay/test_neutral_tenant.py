"""A fresh (non-demo) tenant never sends the demo agency's details, and groups are not prospects;
a Telegram edit updates the stored message and keeps what it said before."""

from __future__ import annotations

from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database
from tests.conftest import FakeClock
from tests.integration.relay.test_ingest_flows import rows
from tests.relay_fakes import body, message
from tests.relay_harness import running_relay

DEMO_WORDS = ("Demo", "demo", "rue de la Paix", "33142000000", "réouverture")
TELEGRAM = "/webhooks/telegram/777"


async def fresh(db: Database, clock: FakeClock) -> InboxService:
    return await InboxService.connect(db, "local", clock=clock)


async def test_a_fresh_tenant_answers_only_with_what_it_configured(
    db: Database, clock: FakeClock
) -> None:
    service = await fresh(db, clock)
    clock.advance(hours=12)  # 22:00 UTC, 23:00 in Paris: out of hours
    async with running_relay(service) as relay:
        for key, text in (("u1", "/info"), ("u2", "/contact"), ("u3", "/start")):
            code, _, _ = await relay.post(TELEGRAM, body(message(key, "5151", text)))
            assert code == 200
        code, _, _ = await relay.post(
            "/webhooks/twilio/sms", body(message("SM1", "+33612345678", "Bonjour ?"))
        )
        assert code == 200
        await relay.worker.run_once()
    texts = [row.payload["text"] for row in await rows(service, t.OutboxRow)]
    assert texts, "Sara answered nothing"
    for text in texts:
        assert not any(word in text for word in DEMO_WORDS), text
    assert texts.count("Un conseiller va vous répondre ici très vite.") == 2  # /info, /contact
    assert any(x.startswith("Bonjour") and "Sara, l'assistante." in x for x in texts)
    assert "Merci pour votre message ! Un conseiller vous répondra dès que possible." in texts


async def test_configured_details_only_are_given(db: Database, clock: FakeClock) -> None:
    service = await fresh(db, clock)
    settings = await service.tenant_settings.get()
    settings.company.name = "Immo Lyon"
    settings.company.email = "bonjour@immo-lyon.fr"
    await service.tenant_settings.save(settings)
    async with running_relay(service) as relay:
        for key, text in (("u1", "/info"), ("u2", "/contact")):
            await relay.post(TELEGRAM, body(message(key, "5151", text)))
        await relay.worker.run_once()
    info, contact = [row.payload["text"] for row in await rows(service, t.OutboxRow)]
    assert info == "Immo Lyon"
    assert contact.endswith("au bonjour@immo-lyon.fr.") and "None" not in contact


async def test_a_telegram_group_is_not_a_prospect(db: Database, clock: FakeClock) -> None:
    service = await fresh(db, clock)
    group = {"chat_type": "supergroup", "chat_title": "Équipe"}
    async with running_relay(service) as relay:
        await relay.post(TELEGRAM, body(message("g1", "-1001234", "/info", extra=group)))
        await relay.worker.run_once()
        [event] = await relay.stored()
    assert event.status == "processed" and "groups are not prospects" in event.error
    assert await rows(service, t.ProspectRow) == []
    assert await rows(service, t.OutboxRow) == []


async def test_a_telegram_edit_updates_the_message_and_keeps_the_previous_text(
    service: InboxService, clock: FakeClock
) -> None:
    async with running_relay(service) as relay:
        await relay.post(TELEGRAM, body(message("u1", "5151", "Visite jeudi 10h ?")))
        await relay.worker.run_once()
        clock.advance(minutes=2)
        edit = message("u1", "5151", "Visite vendredi 10h ?", extra={"edited": True})
        edit["key"] = "update-2"  # Telegram sends an edit as a new update
        await relay.post(TELEGRAM, body(edit))
        await relay.post(TELEGRAM, body(edit))  # a provider retry of the edit
        await relay.worker.run_once()
        assert {e.status for e in await relay.stored()} == {"processed"}
    [row] = await rows(service, t.MessageRow)
    assert row.content == "Visite vendredi 10h ?"
    edited_at = clock.now.isoformat()
    assert row.meta["edits"] == [{"text": "Visite jeudi 10h ?", "replaced_at": edited_at}]
    assert row.meta["edited_at"] == clock.now.isoformat()
    from core.i18n import set_language
    from inbox_app.widgets.conversation.timeline import message_text

    set_language("en")
    shown = await service.messages.get(row.id)
    folded = message_text(shown, "Europe/Paris").plain
    assert "Visite vendredi 10h ?" in folded and "(edited by the prospect: 1" in folded
    assert "Visite jeudi" not in folded
    assert "before: Visite jeudi 10h ?" in message_text(shown, "Europe/Paris", expanded=True).plain
