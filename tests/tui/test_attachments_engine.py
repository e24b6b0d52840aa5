"""Attachments through the real engine on the demo: the seeded PDFs and photos show and open,
and a Telegram photo arriving from the sandbox is fetched with getFile by the adapter."""

from __future__ import annotations

import time

from sqlalchemy import select

from core.domain.enums import Channel
from core.service import InboxFilter
from core.storage import tables as t
from inbox_app.app import InboxApp
from inbox_app.screens.conversation import ConversationScreen
from tests.tui.helpers import settle
from tests.tui.test_attachments import opener, timeline_text  # noqa: F401  (fixture)
from tests.tui.test_end_to_end import demo_service, wait_until  # noqa: F401  (fixture)

PHOTO = b"\x89PNG\r\n\x1a\n" + b"sandbox photo bytes" * 10


async def _conversation_with(service, filename: str) -> int:
    async with service.db.session() as session:
        rows = (await session.execute(select(t.MessageRow))).scalars()
        for row in rows:
            names = [a.get("filename") for a in (row.meta or {}).get("attachments") or []]
            if filename in names:
                return row.conversation_id
    raise AssertionError(f"no demo message carries {filename}")


async def test_demo_files_and_a_telegram_photo_open(demo_service, opener) -> None:  # noqa: F811
    service, settings = demo_service
    email = await _conversation_with(service, "taxe_fonciere_2025.pdf")
    photos = await _conversation_with(service, "photo_sejour.png")
    page = await service.conversations.page(InboxFilter(channel=Channel.TELEGRAM), limit=1)
    telegram = page.items[0].id
    chat_id = (await service.conversations.thread(telegram)).prospect.telegram_chat_id
    app = InboxApp(service=service, settings=settings, engine=True)
    async with app.run_test(size=(160, 48)) as pilot:

        async def engine_ready() -> bool:
            return app.engine is not None

        await wait_until(pilot, engine_ready)
        app.push_screen(ConversationScreen(photos))
        await settle(pilot)
        assert "photo_sejour.png · image PNG" in timeline_text(app)
        app.pop_screen()
        app.push_screen(ConversationScreen(email))
        await settle(pilot)
        assert "taxe_fonciere_2025.pdf · PDF" in timeline_text(app)
        _highlight(app, lambda a: a[0]["filename"] == "taxe_fonciere_2025.pdf")
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("enter")  # the first of two
        await wait_until(pilot, _exists(opener))
        with open(opener.read_text(), "rb") as handle:
            assert handle.read().startswith(b"%PDF-")
        opener.unlink()
        app.pop_screen()

        sandbox = app.engine.sandbox
        photo = {**sandbox.telegram.store_file(PHOTO, "photos", "png"), "width": 1, "height": 1}
        sandbox.telegram.push(
            {
                "message": {
                    "message_id": 990001,
                    "from": {"id": chat_id, "is_bot": False, "first_name": "Prospect"},
                    "chat": {"id": chat_id, "type": "private"},
                    "date": int(time.time()),
                    "photo": [photo],
                    "caption": "La façade",
                }
            }
        )

        async def arrived() -> bool:
            thread = await service.conversations.thread(telegram)
            return any(m.metadata.get("attachments") for m in thread.messages)

        await wait_until(pilot, arrived)
        app.push_screen(ConversationScreen(telegram))
        await settle(pilot)
        _highlight(app, lambda a: True)
        await pilot.press("o")
        await wait_until(pilot, _exists(opener), tries=50)
        with open(opener.read_text(), "rb") as handle:
            assert handle.read() == PHOTO  # fetched by getFile + download through the adapter


def _highlight(app, wanted) -> None:
    timeline = app.screen.query_one("Timeline")
    timeline.index = max(
        i
        for i, item in enumerate(timeline.items)
        if getattr(item, "message", None)
        and item.message.metadata.get("attachments")
        and wanted(item.message.metadata["attachments"])
    )


def _exists(path):
    async def check() -> bool:
        return path.exists()

    return check
