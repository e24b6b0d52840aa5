"""Settings → Channels: a switch turned off or on applies in the running engine at once."""

from __future__ import annotations

from textual.widgets import Switch, TabbedContent

from core.domain.enums import Channel
from inbox_app.app import InboxApp
from tests.integration.engine.test_live_settings import inbound_telegram, telegram_says
from tests.tui.helpers import settle
from tests.tui.test_end_to_end import demo_service, wait_until  # noqa: F401 (fixture)
from tests.tui.test_settings_analytics import open_settings


async def test_the_telegram_switch_applies_without_restart(demo_service) -> None:  # noqa: F811
    service, settings = demo_service
    app = InboxApp(service=service, settings=settings, engine=True)
    async with app.run_test(size=(160, 48)) as pilot:

        async def engine_ready() -> bool:
            return app.engine is not None and app.engine.runtime is not None

        await wait_until(pilot, engine_ready)
        await open_settings(app, pilot)
        app.screen.query_one(TabbedContent).active = "channels"
        await settle(pilot)
        switch = app.screen.query_one("#enabled_telegram", Switch)
        assert switch.value
        switch.value = False
        await settle(pilot)

        async def off() -> bool:
            return Channel.TELEGRAM not in app.engine.status.channels

        await wait_until(pilot, off)
        telegram_says(app.engine, "STOP")
        await app.engine.sandbox.flush()
        await pilot.pause(1.5)
        assert "STOP" not in await inbound_telegram(service)
        assert not app.engine.sandbox.requests("telegram", "sendMessage")

        switch.value = True
        await settle(pilot)
        telegram_says(app.engine, "STOP")

        async def received() -> bool:
            await app.engine.sandbox.flush()
            return "STOP" in await inbound_telegram(service)

        await wait_until(pilot, received)
