"""Issue 19 item 10: after a template, the counter and the channel explanation agree."""

from __future__ import annotations

import asyncio
import re
from datetime import time

from textual.widgets import OptionList, Select

from core import i18n
from core.domain.enums import Channel
from core.domain.models import TemplateDraft
from inbox_app.screens.composer import ComposerScreen
from inbox_app.screens.conversation import ConversationScreen
from tests.tui.helpers import settle, static_text, wait_for_decision

LONG = "Bonjour {{prospect_name}}, " + "votre visite est confirmée, merci de votre confiance. " * 3


async def test_the_explanation_follows_an_inserted_template(app, ids, service, lang) -> None:
    await service.templates.save(TemplateDraft(channel=Channel.SMS, name="long", content=LONG))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ComposerScreen)
        await pilot.press("slash")  # "/" first opens the templates; the decision on "/" lands
        await settle(pilot)
        await pilot.pause(1.0)
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        options.highlighted = next(i for i, p in enumerate(prompts) if p.startswith("long "))
        await pilot.press("enter")
        await settle(pilot)
        # At once: the counter has the new text, the explanation no longer claims the old one.
        one_sms = i18n.t(
            "orchestrator.reason.length.one_segment", units=1, capacity=160, encoding="GSM-7"
        )
        two = i18n.t("ui.counter.segments", count=2, encoding="GSM-7")
        assert two in static_text(app, "#counter")
        # "deciding…", or already the new text's decision on a slow machine: never the old one's
        assert one_sms.split("(")[0].strip() not in static_text(app, "#decision")
        await pilot.pause(1.0)  # longer than the composer's typing pause: the decision is asked
        await wait_for_decision(pilot)
        counter = static_text(app, "#counter")
        decision = static_text(app, "#decision")
        assert i18n.t("ui.counter.segments", count=2, encoding="GSM-7") in counter
        cost = counter.rsplit("≈", 1)[1].strip()
        assert cost in decision.splitlines()[0]  # same cost in the counter and the explanation
        units = len(app.screen.query_one("#body").text)
        assert f"{units} " in counter and str(units) in decision
        assert one_sms.split("(")[0].strip() not in decision


async def test_a_decision_that_lands_after_the_text_changed_is_not_shown(app, ids, service) -> None:
    """The core decides slowly for "Hi"; the agent types on meanwhile: the late decision for
    "Hi" is not shown as the explanation of the longer text (its own is asked for)."""
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        composer = app.screen
        assert isinstance(composer, ComposerScreen)
        gate, asked = asyncio.Event(), asyncio.Event()
        original = composer.ask_decision

        async def slow(draft):
            decision = await original(draft)
            if draft.text == "Hi":
                asked.set()
                await gate.wait()
            return decision

        composer.ask_decision = slow  # type: ignore[method-assign]
        await pilot.press("H", "i")
        await asyncio.wait_for(asked.wait(), 10)  # the decision for "Hi" is on its way
        await pilot.press("space", "t", "h", "e", "r", "e")
        gate.set()
        await pilot.pause(0.05)  # well within the typing pause: only the late answer can land
        assert composer.decision is None
        assert "→" not in static_text(app, "#decision")  # no channel explained yet
        await wait_for_decision(pilot)
        assert composer.draft().text == "Hi there"


async def test_the_quiet_hours_warning_shows_once_with_a_human_time(
    app, ids, service, lang
) -> None:
    settings = await service.tenant_settings.get()
    settings.quiet_hours.start, settings.quiet_hours.end = time(10, 30), time(12, 0)
    await service.tenant_settings.save(settings)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        app.screen.query_one("#channel", Select).value = "sms"
        app.screen.query_one("#body").text = "Bonjour, une question sur la visite."
        await pilot.pause(1.0)
        await wait_for_decision(pilot)
        assert app.screen.decision is not None and app.screen.decision.held_until is not None
        shown = static_text(app, "#warnings")
    lines = [x for x in shown.splitlines() if "12:00" in x or "12:00:00" in x]
    assert len(lines) == 1, shown  # once (other warnings, e.g. WhatsApp, may follow)
    day = "10 Mar 2026" if lang == "en" else "10/03/2026"  # English: no 10/03 to misread
    assert "12:00" in lines[0] and day in lines[0]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", shown)  # no ISO date or timestamp anywhere


async def test_a_template_signs_with_the_agents_name(app, ids, service) -> None:
    service.ctx.agent_id = ids["agent"]  # the demo without --agent is its first agent too
    await service.templates.save(
        TemplateDraft(channel=Channel.SMS, name="signe", content="À bientôt. {{agent_name}}")
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        options.highlighted = next(i for i, p in enumerate(prompts) if p.startswith("signe "))
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.query_one("#body").text == "À bientôt. Camille"
