"""Live updates change what changed, in place: the reader keeps their place, nothing is rebuilt."""

from __future__ import annotations

from core.domain.enums import Channel, MessageStatus
from core.events import ConversationChanged, MessageChanged
from core.storage import tables as t
from core.storage.timeline import apply_status
from inbox_app.render.words import status_word
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.thread_window import FIRST_PAGE, WINDOW
from inbox_app.widgets.conversation.prospect_panel import ProspectPanel
from inbox_app.widgets.conversation.timeline import Timeline, TimelineItem, build_entries
from inbox_app.widgets.inbox.conversation_list import ConversationList
from inbox_app.widgets.inbox.sidebar import Sidebar
from tests.factories import add_prospect
from tests.tui.helpers import names, settle, settle_until
from tests.tui.scenario import say


def _item_text(item: TimelineItem) -> str:
    return item.text


async def _long_thread(service, ids, count: int) -> int:
    """Earlier messages in Marie's SMS thread; the id of a sent message among the last ones."""
    for n in range(count):
        await say(service, ids["marie"], f"Message {n}", minutes_ago=3000 - n)
    _, sent = await say(
        service, ids["marie"], "Je vous rappelle.", minutes_ago=1, outbound=True,
        status=MessageStatus.SENT,
    )  # fmt: skip
    return sent


async def test_a_status_change_keeps_the_readers_place_and_rebuilds_nothing(
    app, ids, service
) -> None:
    sent = await _long_thread(service, ids, 20)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        screen = app.screen
        timeline, panel = screen.query_one(Timeline), screen.query_one(ProspectPanel)
        timeline.index = 3  # the reader went up to an early message
        await settle(pilot)
        items, scroll = list(timeline.items), timeline.scroll_y
        assert scroll < timeline.max_scroll_y
        assert not timeline.children  # the timeline draws its items: no widget per message
        drawn = {id(i): i._strips for i in items if i._strips is not None}

        async with service.db.session() as session:
            apply_status(await session.get(t.MessageRow, sent), MessageStatus.DELIVERED)
        service.bus.publish(MessageChanged(sent, ids["marie_sms"]))
        service.bus.publish(ConversationChanged(ids["marie_sms"]))
        changed = next(i for i in items if isinstance(i, TimelineItem) and i.message
                       and i.message.id == sent)  # fmt: skip
        await settle_until(pilot, lambda: changed.message.status == MessageStatus.DELIVERED)

        assert app.screen is screen
        assert screen.query_one(Timeline) is timeline and screen.query_one(ProspectPanel) is panel
        assert list(timeline.items) == items  # the very same items, none rebuilt
        assert timeline.index == 3 and timeline.scroll_y == scroll
        assert status_word(MessageStatus.DELIVERED) in _item_text(changed)
        assert changed.message.status == MessageStatus.DELIVERED
        # only the changed item is drawn again; the others keep the lines drawn before
        assert drawn and all(
            i._strips is drawn[id(i)] for i in items if id(i) in drawn and i is not changed
        )
        lines = timeline._lines(changed, timeline.scrollable_content_region.width, False)
        assert status_word(MessageStatus.DELIVERED) in "".join(line.text for line in lines)


async def test_a_new_message_is_appended_and_followed_when_the_reader_is_at_the_end(
    app, ids, service
) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        timeline = app.screen.query_one(Timeline)
        items = list(timeline.items)
        _, new = await say(service, ids["marie"], "Et le parking ?")
        service.bus.publish(MessageChanged(new, ids["marie_sms"]))
        await settle(pilot)
        assert list(timeline.items)[:-1] == items
        assert "Et le parking ?" in _item_text(timeline.items[-1])
        assert timeline.index == len(timeline) - 1


async def test_a_long_thread_opens_on_its_newest_items_and_reveals_older_ones(
    app, ids, service
) -> None:
    await _long_thread(service, ids, 2 * WINDOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await app.open_conversation(ids["jean_email"])  # the screen, kept for the next thread
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        await app.open_conversation(ids["marie_sms"])
        await settle(pilot)
        timeline = app.screen.query_one(Timeline)
        # a screen's worth and one item more, drawn; the rest not even drawn
        first = len(timeline)
        assert first < WINDOW and timeline.virtual_size.height > timeline.size.height
        assert timeline.virtual_size.height - timeline.size.height < 10
        assert any("Je vous rappelle." in _item_text(i) for i in timeline.items[-3:])
        assert not any(_item_text(i).endswith("\nMessage 0") for i in timeline.items)
        older = [e for e in timeline._older if e.message is not None]
        assert older and not any(e.drawn for e in older)  # drawn when shown
        newest = timeline.highlighted_child
        timeline.index = 0
        await pilot.press("up")
        await settle(pilot)
        assert len(timeline) == first + WINDOW and newest in timeline.items
        assert timeline.index == WINDOW - 1  # the item above the one that was first
        assert any("\nMessage " in _item_text(i) for i in timeline.items[:WINDOW])


async def test_a_long_thread_is_read_a_page_at_a_time_as_the_reader_goes_up(
    app, ids, service
) -> None:
    await _long_thread(service, ids, FIRST_PAGE + WINDOW + 5)
    whole = await service.conversations.thread(ids["marie_sms"])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        screen = app.screen
        timeline = screen.query_one(Timeline)
        assert not screen.thread.complete and len(screen.thread.messages) == FIRST_PAGE
        assert screen.thread.messages == whole.messages[-FIRST_PAGE:]
        items = list(timeline.items)

        # a live message: appended, the items shown kept (the oldest read drops out of the read)
        _, new = await say(service, ids["marie"], "Et le parking ?")
        service.bus.publish(MessageChanged(new, ids["marie_sms"]))
        await settle_until(pilot, lambda: "Et le parking ?" in _item_text(timeline.items[-1]))
        assert list(timeline.items)[:-1] == items
        whole = await service.conversations.thread(ids["marie_sms"])

        newest = timeline.items[-1]
        while timeline._older:  # up, a window at a time; further back read on the way
            timeline.index = 0
            await pilot.press("up")
            await settle(pilot)
        assert screen.thread.complete and timeline._complete
        assert newest in timeline.items
        # the same items, in the same order, as the whole thread drawn at once
        drawn = [i.text for i in timeline.items]
        assert drawn == [e.body.plain for e in build_entries(whole, timeline.tz)]
        assert sum(i.has_class("separator") for i in timeline.items) == 2  # e-mail, then SMS


async def test_a_new_message_elsewhere_updates_its_row_in_place(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        table.move_cursor(row=1)
        await settle(pilot)
        selected, count = table.current_id(), table.row_count
        assert selected != ids["jean_email"]
        await say(service, ids["jean"], "Finalement je suis disponible.", channel=Channel.EMAIL)
        service.bus.publish(ConversationChanged(ids["jean_email"]))
        await settle(pilot)

        assert app.screen.query_one(ConversationList) is table
        assert table.row_count == count
        assert names(app)[0] == "Jean Martin"  # newest first: it moved up
        row = table.get_row(str(ids["jean_email"]))
        assert "Finalement je suis disponible." in row[4].plain
        assert table.current_id() == selected  # the highlighted conversation stays highlighted


async def test_search_narrows_the_list_as_you_type(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        await pilot.press("slash", *"doss")
        await settle(pilot)
        assert names(app) == ["Jean Martin"]  # no Enter needed
        assert app.screen.query_one(ConversationList) is table
        await pilot.press("backspace", "backspace", "backspace", "backspace")
        await settle(pilot)
        assert len(names(app)) == 6


async def test_the_tenant_time_zone_is_read_once_then_again_after_the_settings_change(
    app, service, monkeypatch
) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert await app.tenant_timezone() == "Europe/Paris"
        real, zone, reads = service.tenant_settings.get, service.tenant_settings.timezone, []

        async def counted():
            reads.append(1)
            return await real()

        async def counted_zone():
            reads.append(1)
            return await zone()

        monkeypatch.setattr(service.tenant_settings, "get", counted)
        monkeypatch.setattr(service.tenant_settings, "timezone", counted_zone)
        app.push_screen(ConversationScreen(next(iter(await _conversation_ids(service)))))
        await settle(pilot)
        assert await app.tenant_timezone() == "Europe/Paris"
        assert reads == []  # opening a thread read no settings

        settings = await real()
        await service.tenant_settings.save(settings.model_copy(update={"timezone": "Asia/Tokyo"}))
        await settle(pilot)
        assert await app.tenant_timezone() == "Asia/Tokyo"
        assert await app.tenant_timezone() == "Asia/Tokyo"
        assert len(reads) == 1


async def _conversation_ids(service) -> list[int]:
    return [c.id for c in (await service.conversations.page()).items]


async def test_opening_marks_read_without_reading_the_thread_again(app, ids, service) -> None:
    """The read marking's own change only zeroes a count the thread does not show: the screen
    does not read and redraw the thread for it, but it does for the next real change."""
    from core.domain.enums import ConversationStatus

    await say(service, ids["marie"], "Vous êtes là ?")
    reads: list[int] = []
    real = service.conversations.thread

    async def counted(conversation_id: int, *args, **kwargs):
        reads.append(conversation_id)
        return await real(conversation_id, *args, **kwargs)

    service.conversations.thread = counted
    app.read_threads_ahead = lambda ids: None  # the reads counted are the screen's own
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        inbox = app.screen
        table = inbox.query_one(ConversationList)
        assert table.summaries[ids["marie_sms"]].unread_count
        await app.open_conversation(ids["marie_sms"])
        await settle_until(pilot, lambda: not table.summaries[ids["marie_sms"]].unread_count)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ConversationScreen)
        assert reads == [ids["marie_sms"]]  # opened once, not read again for its own marking
        assert screen.thread is not None and screen.thread.conversation.unread_count == 0
        assert not +screen._own_reads  # the marking's event came and was taken

        await service.conversations.set_status(ids["marie_sms"], ConversationStatus.CLOSED)
        await settle_until(
            pilot, lambda: screen.thread.conversation.status == ConversationStatus.CLOSED
        )
        assert reads == [ids["marie_sms"]] * 2  # a real change is read


async def test_the_hidden_sidebar_counts_without_reading_and_reads_when_it_must(
    app, ids, service
) -> None:
    """While a thread is open, a change to a conversation of the list is counted without a
    query (reading the counts competed with the thread's paint); one the list does not hold
    makes the counts be read when the inbox shows again. Either way they are right."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        inbox = app.screen
        sidebar = inbox.query_one(Sidebar)
        reads = []
        counts = service.conversations.counts

        async def counted():
            reads.append(1)
            return await counts()

        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        service.conversations.counts = counted
        await say(service, ids["jean"], "Je passe demain.", channel=Channel.EMAIL)
        service.bus.publish(ConversationChanged(ids["jean_email"]))
        await settle(pilot)
        await pilot.press("escape")
        await settle_until(pilot, lambda: app.screen is inbox)
        assert reads == [] and sidebar.counts == await counts()

        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        newcomer = await add_prospect(service, "Nouvelle Personne", phone="+33611223344")
        conversation_id, _ = await say(service, newcomer, "Bonjour !")
        service.bus.publish(ConversationChanged(conversation_id))
        await settle(pilot)
        assert reads == []  # not read for a hidden sidebar
        await pilot.press("escape")
        await settle_until(pilot, lambda: app.screen is inbox and reads)
        assert sidebar.counts == await counts()
