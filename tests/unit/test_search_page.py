"""A search's page of the inbox list: which conversations, in which order, with which snippet."""

from __future__ import annotations

from core.service import InboxFilter
from core.storage import search
from tests.factories import add_message, add_prospect


async def _page(service, query: str, cursor: str | None = None, limit: int = 50):
    return await service.conversations.page(InboxFilter(search=query), cursor, limit)


async def test_a_search_lists_conversations_by_their_last_message_with_the_newest_match(
    service, clock
) -> None:
    """Newest conversation first (not newest match first); each result's snippet is its newest
    matching message, not its last one; a prospect found by name has no snippet."""
    anne = await add_prospect(service, "Anne Petit", phone="0612345601")
    bruno = await add_prospect(service, "Bruno Roux", phone="0612345602")
    visite = await add_prospect(service, "Visite Martin", phone="0612345603")
    a, _ = await add_message(service, anne, "Une visite lundi ?")
    clock.advance(minutes=1)
    await add_message(service, anne, "La visite de mardi plutôt")
    clock.advance(minutes=1)
    b, _ = await add_message(service, bruno, "Pour la visite, c'est confirmé")
    clock.advance(minutes=1)
    v, _ = await add_message(service, visite, "Bonjour")
    clock.advance(minutes=1)
    await add_message(service, anne, "Merci beaucoup")  # Anne's last message: no match

    page = await _page(service, "visite")
    assert [c.id for c in page.items] == [a, v, b]
    snippets = {c.id: c.match_snippet for c in page.items}
    assert snippets == {
        a: "La visite de mardi plutôt",
        v: None,
        b: "Pour la visite, c'est confirmé",
    }

    first = await _page(service, "visite", limit=2)
    rest = await _page(service, "visite", first.next_cursor, limit=2)
    assert [c.id for c in first.items] == [a, v]
    assert [c.id for c in rest.items] == [b] and rest.next_cursor is None
    assert (await _page(service, ",;")).items == ()
    assert (await _page(service, "introuvable")).items == ()


async def test_a_search_looks_at_the_newest_matching_messages_only(
    service, clock, monkeypatch
) -> None:
    """Conversations whose matches are all older than the newest ``MESSAGE_MATCH_LIMIT``
    matching messages are not listed, even when their last message is the newest of all."""
    monkeypatch.setattr(search, "MESSAGE_MATCH_LIMIT", 2)
    old = await add_prospect(service, "Claire Blanc", phone="0612345604")
    new = await add_prospect(service, "Denis Noir", phone="0612345605")
    o, _ = await add_message(service, old, "rendez-vous pris")
    clock.advance(minutes=1)
    n, _ = await add_message(service, new, "rendez-vous demain")
    clock.advance(minutes=1)
    await add_message(service, new, "rendez-vous confirmé")
    clock.advance(minutes=1)
    await add_message(service, old, "à bientôt")  # the old one's last message is the newest

    assert [c.id for c in (await _page(service, "rendez")).items] == [n]
    monkeypatch.setattr(search, "MESSAGE_MATCH_LIMIT", 3)
    assert [c.id for c in (await _page(service, "rendez")).items] == [o, n]


async def test_each_key_of_a_search_reuses_the_page_statement_with_its_own_words(
    service, clock
) -> None:
    """The page's statement is made once for a search and given each search's words when read:
    a search typed key by key lists what a search typed at once lists, key after key."""
    anne = await add_prospect(service, "Anne Petit", phone="0612345601")
    marc = await add_prospect(service, "Marc Durand", phone="0612345602")
    a, _ = await add_message(service, anne, "Bonjour, une visite lundi ?")
    clock.advance(minutes=1)
    m, _ = await add_message(service, marc, "Merci pour la visite")
    conversations = service.conversations

    typed = [await _page(service, word) for word in ("m", "ma", "mar", "v", "bo", "merci")]
    made = len(conversations._statements)
    assert [[c.id for c in page.items] for page in typed] == [
        [m],  # Marc's name and "merci"
        [m],
        [m],
        [m, a],
        [a],
        [m],
    ]
    assert [page.items[0].match_snippet for page in typed[3:]] == [
        "Merci pour la visite",
        "Bonjour, une visite lundi ?",
        "Merci pour la visite",
    ]
    assert made == 1
    conversations._statements.clear()  # made afresh for each: the same pages
    for word, page in zip(("m", "ma", "mar", "v", "bo", "merci"), typed, strict=True):
        conversations._statements.clear()
        assert await _page(service, word) == page


async def test_a_page_counts_conversations_not_their_labels(service, clock) -> None:
    """A page's extras come in the same statement, a row per label: a conversation with three
    labels is still one item, its labels sorted, and the page's size and cursor count
    conversations."""
    anne = await add_prospect(service, "Anne Petit", phone="0612345601")
    marc = await add_prospect(service, "Marc Petit", phone="0612345602")
    a, _ = await add_message(service, anne, "Une visite lundi ?")
    clock.advance(minutes=1)
    m, _ = await add_message(service, marc, "La visite de mardi")
    await service.conversations.set_labels(m, ["vente", "urgent", "appel"])
    await service.conversations.set_labels(a, ["visite"])
    await service.drafts.keep(m, "brouillon")
    for query in (None, "visite"):
        first = await service.conversations.page(InboxFilter(search=query), None, 1)
        rest = await service.conversations.page(InboxFilter(search=query), first.next_cursor, 1)
        assert [(c.id, c.labels, c.has_draft) for c in first.items] == [
            (m, ("appel", "urgent", "vente"), True)
        ]
        assert [(c.id, c.labels, c.has_draft) for c in rest.items] == [(a, ("visite",), False)]
        assert rest.next_cursor is None
