"""Parked provider events in the app: one notice (how many, why), F9 lists them, Retry requeues."""

from __future__ import annotations

from textual.widgets import Static

from core.config.settings import Settings
from core.service import InboxService
from core.storage import tables as t
from inbox_app.app import InboxApp
from inbox_app.screens.parked_events import ParkedEventsScreen
from tests.tui.helpers import settle


async def test_parked_events_are_noticed_listed_and_retried(tmp_path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}"
    settings = Settings(mode="local", database_url=url, language="en")
    service = await InboxService.open(settings)
    async with service.db.session() as session:
        for n in range(3):
            session.add(
                t.InboundEventRow(
                    tenant_id=service.ctx.tenant_id,
                    provider="twilio",
                    endpoint="twilio/sms",
                    dedupe_key=f"SM{n}",
                    headers={"channel": "sms"},
                    body=b"Body=x",
                    status="parked",
                    attempts=5,
                    error="no sms adapter is configured to read this event [bold]",
                )
            )
    app = InboxApp(service=service, settings=settings, live=False)
    try:
        async with app.run_test() as pilot:
            await settle(pilot)
            [notice] = [n for n in app._notifications if "could not be applied" in n.message]
            assert notice.message.startswith("3 provider events could not be applied.")
            assert "no sms adapter" in notice.message and "F9" in notice.message
            await pilot.press("f9")
            await settle(pilot)
            assert isinstance(app.screen, ParkedEventsScreen)
            listed = str(app.screen.query_one("#parked-list", Static).render())
            assert listed.count("no sms adapter") == 3 and "[bold]" in listed
            await pilot.click("#retry")
            await settle(pilot)
            assert not isinstance(app.screen, ParkedEventsScreen)
            assert await service.inbound_events.count_parked() == 0
    finally:
        await service.close()
