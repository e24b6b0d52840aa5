"""New conversation (`N` and the palette): find a prospect or create one, then write to them.

The demo test runs the real engine: the sandbox, the relay and the outbox worker; the first
message goes through the pipeline and the provider SDK to the sandbox persona.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList

from core import i18n
from core.domain.enums import DEFAULT_PROVIDER, Channel
from inbox_app.app import InboxApp
from inbox_app.render.words import channel_name
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.inbox import InboxScreen
from inbox_app.screens.new_conversation import (
    FirstMessageComposer,
    NewConversationScreen,
    NewProspectScreen,
)
from tests.tui.helpers import settle, static_text, wait_for_decision
from tests.tui.test_end_to_end import demo_service, wait_until  # noqa: F401 - the fixture

CAMILLE_PHONE = "+33612000001"  # the sandbox persona who answers "OUI"


async def type_query(pilot, text: str) -> None:
    """Type in the search box and let the search run."""
    await pilot.press(*text)
    await pilot.pause(0.4)
    await settle(pilot)


async def pick(pilot, option_id: str) -> None:
    """Move the result list's highlight to ``option_id`` and press Enter."""
    results = pilot.app.screen.query_one("#results", OptionList)
    results.focus()
    ids = [results.get_option_at_index(i).id for i in range(results.option_count)]
    assert option_id in ids, ids
    results.highlighted = 0
    for _ in range(ids.index(option_id)):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


async def test_a_demo_persona_found_by_part_of_its_name_gets_a_first_message(
    demo_service,  # noqa: F811 - the fixture
) -> None:
    service, settings = demo_service
    app = InboxApp(service=service, settings=settings, engine=True)
    async with app.run_test(size=(120, 40)) as pilot:

        async def engine_ready() -> bool:
            return app.engine is not None

        await wait_until(pilot, engine_ready)
        sandbox = app.engine.sandbox
        persona = await service.prospects.find(Channel.SMS, CAMILLE_PHONE)  # the engine adds it
        assert persona is not None
        await settle(pilot)
        await pilot.press("N")
        await settle(pilot)
        assert isinstance(app.screen, NewConversationScreen)
        await type_query(pilot, "camille mart")
        found = [p.id for p in app.screen.found]
        assert persona.id in found
        await pick(pilot, str(persona.id))

        assert isinstance(app.screen, FirstMessageComposer)
        assert app.screen.channel() is None  # Auto by default
        await pilot.press(*"Bonjour Camille, votre visite est confirmee")
        await wait_for_decision(pilot)
        chosen = app.screen.decision.channel
        assert chosen is not None
        # the decision is shown, the very one the orchestrator gives for this first message
        again = await service.outbound.decide_first(persona.id, app.screen.draft(), None)
        assert again.channel == chosen
        assert f"Auto → {channel_name(chosen)}" in static_text(app, "#decision")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        provider = str(DEFAULT_PROVIDER[chosen])

        async def received() -> bool:
            return any(
                r.provider == provider and "votre visite est confirmee" in str(r.body)
                for r in sandbox.received
            )

        await wait_until(pilot, received)
        thread = await service.conversations.thread(app.screen.conversation_id)
        assert thread.prospect.id == persona.id
        assert thread.conversation.channel == chosen


async def test_the_palette_offers_new_conversation(app) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.action_command_palette()
        await settle(pilot)
        # the description the binding was declared with (bindings are read once, at import)
        (binding,) = [b for b in InboxScreen.BINDINGS if b.id == "new_conversation"]
        await pilot.press(*binding.description[:12])
        hits = app.screen.query_one(OptionList)
        for _ in range(50):  # the palette searches in a worker
            await pilot.pause(0.1)
            if hits.option_count and i18n.t("newconv.key") in str(
                hits.get_option_at_index(0).prompt
            ):
                break
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, NewConversationScreen)


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_a_new_prospect_from_a_written_phone_then_the_duplicate_is_offered(
    service, language
) -> None:
    app = InboxApp(service, clock=service.ctx.clock)  # an agency with nobody yet
    previous = i18n.language()
    i18n.set_language(language)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            # First time: nobody has this number; create them from the search text.
            await pilot.press("N")
            await settle(pilot)
            await type_query(pilot, "06 12 34 56 78")
            assert app.screen.found == []
            await pick(pilot, "create")
            assert isinstance(app.screen, NewProspectScreen)
            assert app.screen.query_one("#phone", Input).value == "06 12 34 56 78"
            title = str(app.screen.query_one(".question").render())
            assert title == i18n.t("newconv.form.title")
            await pilot.press("ctrl+s")  # no name yet: refused in place, in the language
            await settle(pilot)
            assert str(app.screen.query_one("#problem").render()) == i18n.t(
                "newconv.bad.display_name"
            )
            app.screen.query_one("#display_name", Input).value = "Odile Marchand"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, FirstMessageComposer)
            created = app.screen.thread.prospect
            assert created.phone == "+33612345678"
            assert (await service.prospects.get(created.id)).display_name == "Odile Marchand"
            await pilot.press("escape")
            await settle(pilot)

            # Second time, written another way: the existing prospect is offered, not a twin.
            await pilot.press("N")
            await settle(pilot)
            await type_query(pilot, "+33 6 12 34 56 78")
            assert [p.id for p in app.screen.found] == [created.id]  # found by phone already
            await pick(pilot, "create")
            app.screen.query_one("#display_name", Input).value = "O. Marchand"
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, ChoiceScreen)
            question = str(app.screen.query_one(".question").render())
            assert question == i18n.t("newconv.duplicate")
            await pilot.press("enter")  # open the existing prospect
            await settle(pilot)
            assert isinstance(app.screen, FirstMessageComposer)
            assert app.screen.thread.prospect.id == created.id
            twins = await service.prospects.search("+33612345678")
            assert [p.id for p in twins] == [created.id]
    finally:
        i18n.set_language(previous)
