"""Finding prospects for a new conversation, duplicates, first messages, search snippets."""

from __future__ import annotations

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, ConversationStatus
from core.domain.models import ProspectDraft
from core.service import InboxFilter, InboxService
from core.storage.text import snippet
from tests.factories import add_message, add_prospect


async def test_search_by_name_phone_email_and_chat_id(service: InboxService) -> None:
    marie = await add_prospect(service, "Marie Dupont", phone="06 12 34 56 78")
    jean = await add_prospect(service, "Jean Martin", email="Jean.Martin@Example.com")
    sophie = await add_prospect(service, "Sophie Bernard", telegram_chat_id=424242)

    async def found(query: str) -> list[int]:
        return [p.id for p in await service.prospects.search(query)]

    assert await found("dupo") == [marie]  # part of the name
    assert await found("+33 6 12 34 56 78") == [marie]  # the number written another way
    assert await found("0612345678") == [marie]
    assert await found("jean.martin@example.com") == [jean]
    assert await found("424242") == [sophie]
    assert await found("") == []
    assert await found("nobody") == []


async def test_duplicates_are_found_by_any_contact_and_merged_records_left_out(
    service: InboxService,
) -> None:
    marie = await add_prospect(service, "Marie Dupont", phone="+33612345678", email="m@ex.fr")
    other = await add_prospect(service, "M. Dupont", email="other@ex.fr")
    await service.prospects.merge(marie, other)
    by_phone = ProspectDraft(display_name="Marie D.", phone="06 12 34 56 78")
    by_email = ProspectDraft(display_name="Marie D.", email="M@EX.FR")
    fresh = ProspectDraft(display_name="Nouveau", phone="06 98 76 54 32")
    assert [p.id for p in await service.prospects.duplicates(by_phone)] == [marie]
    assert [p.id for p in await service.prospects.duplicates(by_email)] == [marie]
    assert await service.prospects.duplicates(fresh) == []
    assert [p.id for p in await service.prospects.search("dupont")] == [marie]


async def test_a_first_message_opens_the_conversation_on_the_chosen_channel(
    service: InboxService,
) -> None:
    for channel in Channel:
        await service.tenant_settings.save_channel(channel, enabled=True)
    lea = await add_prospect(service, "Léa Petit", email="lea@example.fr")
    draft = ReplyDraft(text="Bonjour Léa, suite à votre appel…")
    decision = await service.outbound.decide_first(lea, draft)
    assert decision.channel == Channel.EMAIL  # her only address
    message = await service.outbound.send_first(lea, draft)
    thread = await service.conversations.thread(message.conversation_id)
    assert thread.prospect.id == lea and thread.conversation.channel == Channel.EMAIL
    assert thread.messages[-1].content == draft.text


async def test_search_covers_every_state_and_says_why_it_matched(service: InboxService) -> None:
    luc = await add_prospect(service, "Luc Moreau", phone="+33611223344")
    conversation, _ = await add_message(service, luc, "Je veux vendre ma maison à Nantes")
    await add_message(service, luc, "Merci !")
    await service.conversations.set_status(conversation, ConversationStatus.CLOSED)
    assert (await service.conversations.page(InboxFilter())).items == ()
    page = await service.conversations.page(InboxFilter(search="nantes"))
    assert [c.id for c in page.items] == [conversation]
    assert page.items[0].match_snippet == "Je veux vendre ma maison à Nantes"
    assert page.items[0].last_message_preview == "Merci !"
    opened = InboxFilter(search="nantes", statuses=frozenset({ConversationStatus.OPEN}))
    assert (await service.conversations.page(opened)).items == ()


def test_a_snippet_is_cut_around_the_match() -> None:
    text = "Bonjour, " + "blabla " * 30 + "la visite de jeudi tient toujours ? " + "fin " * 30
    cut = snippet(text, "jeudi", width=60)
    assert "jeudi" in cut and cut.startswith("…") and cut.endswith("…")
    assert len(cut) <= 62
    assert snippet("court", "x") == "court"
