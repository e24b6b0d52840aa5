"""The app with its engine on the demo: replies typed in the composer reach the sandbox.

Nothing is faked: the app starts the sandbox, the relay and the outbox worker as `coccinelle`
does; the reply goes through the orchestrator, the outbox and the real provider SDK to the
sandbox, and the delivery webhooks come back through the relay.
"""

from __future__ import annotations

import pytest
from textual.widgets import Select

from core.config import load_settings
from core.domain.enums import DEFAULT_PROVIDER, Channel, MessageStatus
from core.engine import open_service
from core.service import InboxFilter, InboxService
from inbox_app.app import InboxApp
from tests.tui.helpers import settle, wait_for_decision
from tests.tui.test_composer import open_composer


@pytest.fixture
async def demo_service():
    settings = load_settings()  # nothing configured: demo mode in the test's data dir
    service = await open_service(settings)
    tenant = await service.tenant_settings.get()
    tenant.quiet_hours.enabled = False  # the test must not depend on the time of day
    await service.tenant_settings.save(tenant)
    yield service, settings
    await service.close()


async def first_conversation(service: InboxService, channel: Channel) -> int:
    page = await service.conversations.page(InboxFilter(channel=channel), limit=1)
    return page.items[0].id


async def wait_until(pilot, predicate, tries: int = 150) -> None:
    for _ in range(tries):
        if await predicate():
            return
        await pilot.pause(0.2)
    raise AssertionError("condition not met in time")


async def test_replies_from_the_composer_reach_the_sandbox(demo_service) -> None:
    service, settings = demo_service
    sms = await first_conversation(service, Channel.SMS)
    email = await first_conversation(service, Channel.EMAIL)
    app = InboxApp(service=service, settings=settings, engine=True)
    async with app.run_test(size=(120, 40)) as pilot:

        async def engine_ready() -> bool:
            return app.engine is not None

        await wait_until(pilot, engine_ready)
        sandbox = app.engine.sandbox

        # An explicit channel.
        await open_composer(app, pilot, sms)
        app.screen.query_one("#channel", Select).value = "sms"
        await pilot.press(*"Visite confirmee jeudi 15h", "ctrl+s")
        await settle(pilot)

        async def sms_received() -> bool:
            return any(
                r.provider == "twilio" and "Visite confirmee jeudi 15h" in str(r.body)
                for r in sandbox.received
            )

        await wait_until(pilot, sms_received)

        async def sms_delivered() -> bool:
            thread = await service.conversations.thread(sms)
            last = [m for m in thread.messages if m.content == "Visite confirmee jeudi 15h"]
            return bool(last) and last[0].status in (MessageStatus.DELIVERED, MessageStatus.READ)

        await wait_until(pilot, sms_delivered)

        # Auto: the orchestrator's decision is shown, then used.
        await pilot.press("escape")
        await settle(pilot)
        await open_composer(app, pilot, email)
        await pilot.press(*"Voici le dossier de location")
        await wait_for_decision(pilot)
        chosen = app.screen.decision.channel
        await pilot.press("ctrl+s")
        await settle(pilot)
        provider = str(DEFAULT_PROVIDER[chosen])

        async def auto_received() -> bool:
            return any(
                r.provider == provider and "Voici le dossier de location" in str(r.body)
                for r in sandbox.received
            )

        await wait_until(pilot, auto_received)
    assert app.engine is not None and app.engine.sandbox is None  # stopped with the app
