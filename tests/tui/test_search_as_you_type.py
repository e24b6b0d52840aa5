"""Search as you type with keys faster than the reads: the list always ends on the newest
search, whatever order the pages come back in."""

from __future__ import annotations

import asyncio
import dataclasses

from textual import events

from core.service import InboxFilter
from tests.tui.helpers import names, settle, settle_until


async def paused_until(pilot, done) -> None:
    """Let the app run until ``done()`` (``settle`` would wait for the held search)."""
    for _ in range(500):
        if done():
            return
        await pilot.pause(0.01)
    raise AssertionError("the app never reached the expected state")


def slow_reads(monkeypatch, service, held: set[str | None]) -> asyncio.Event:
    """The first read of each search in ``held`` waits until the returned event is set
    (a slow query, the keys going on meanwhile); every other read goes through."""
    release = asyncio.Event()
    read = service.conversations.page

    async def page(flt: InboxFilter, cursor=None, limit=50):
        if flt.search in held:
            held.discard(flt.search)
            await release.wait()
        return await read(flt, cursor, limit)

    monkeypatch.setattr(service.conversations, "page", page)
    return release


async def test_an_older_search_read_last_never_replaces_the_newer_one(
    app, ids, service, monkeypatch
) -> None:
    """A list read for an earlier filter that comes back after the newer one's is dropped
    (seen failing: the list showed "dossier"'s result under the search "jeudi")."""
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        release = slow_reads(monkeypatch, service, {"dossier"})
        older = asyncio.create_task(
            screen.refilter(dataclasses.replace(screen.filter, search="dossier"))
        )
        await pilot.pause()
        await screen.refilter(dataclasses.replace(screen.filter, search="jeudi"))
        assert names(app) == ["Marie Dupont"]
        release.set()
        await older
        await settle(pilot)
        assert screen.filter.search == "jeudi"
        assert screen.table.query_text == "jeudi"
        assert names(app) == ["Marie Dupont"]


async def test_a_key_that_cancels_a_search_for_the_same_words_still_shows_them(
    app, ids, service, monkeypatch
) -> None:
    """Typing "jeudi" then a space before its list came: the space's search is "jeudi" again,
    and the list shows it (seen failing: the cancelled search had already taken the filter,
    so the space's saw nothing to do and the list stayed unfiltered)."""
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        everyone = names(app)
        await pilot.press("slash")
        await settle(pilot)
        slow_reads(monkeypatch, service, {"jeudi"})  # never released: as if still running
        for char in "jeudi":
            app.post_message(events.Key(char, char))
        await paused_until(pilot, lambda: app.screen.filter.search == "jeudi")
        assert names(app) == everyone  # still reading
        await pilot.press("space")  # the search for "jeudi" is cancelled
        await settle_until(pilot, lambda: app.screen.table.query_text == "jeudi")
        assert names(app) == ["Marie Dupont"]


async def test_a_next_page_read_for_a_replaced_list_is_not_added_to_it(
    app, ids, service, monkeypatch
) -> None:
    """The list asked for its next page, then a search replaced it before the page came: the
    page is dropped (seen failing: the unfiltered rows were added under the search)."""
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen._cursor, screen._exhausted = "next", False  # as if more pages followed
        release = asyncio.Event()
        read = service.conversations.page

        async def page(flt: InboxFilter, cursor=None, limit=50):
            if cursor == "next":
                await release.wait()
                return await read(dataclasses.replace(flt, search=None), None, limit)
            return await read(flt, cursor, limit)

        monkeypatch.setattr(service.conversations, "page", page)
        more = asyncio.create_task(screen._load_page())
        await pilot.pause()
        await screen.refilter(dataclasses.replace(screen.filter, search="jeudi"))
        release.set()
        await more
        await settle(pilot)
        assert names(app) == ["Marie Dupont"]
