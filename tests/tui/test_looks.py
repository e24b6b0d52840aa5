"""Issue 19 item 14: colour with meaning, readable without colour; the narrow inbox; snoozes."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from decimal import Decimal

from textual.widgets import Static

from core import i18n
from core.domain.enums import Priority
from core.service import InboxFilter, View
from inbox_app.app import InboxApp
from inbox_app.render.words import priority_mark
from inbox_app.widgets.inbox.conversation_list import ConversationList
from tests.tui.helpers import rows, settle, static_text
from tests.tui.scenario import say


def _row(app, name: str) -> list[str]:
    return next(r for r in rows(app) if r[2] == name)


def _cells(app, name: str):
    table = app.screen.query_one(ConversationList)
    index = next(i for i, r in enumerate(rows(app)) if r[2] == name)
    return table.get_row_at(index)


async def test_priority_and_channel_carry_a_mark_and_a_colour(app, ids) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        marie = _cells(app, "Marie Dupont")
        assert marie[5].plain.startswith("!!")  # Urgent, readable without colour
        assert "red" in str(marie[5].style) or any("red" in str(s.style) for s in marie[5].spans)
        jean = _cells(app, "Jean Martin")
        assert jean[5].plain.startswith("!")
        styles = {str(s.style) for s in jean[5].spans} | {str(jean[5].style)}
        assert not any("red" in s for s in styles), "only Urgent is red"
        channel_styles = {
            str(_cells(app, n)[1].spans[0].style) for n in ("Marie Dupont", "Jean Martin")
        }
        assert len(channel_styles) == 2  # SMS and e-mail: two colours, and two tags
        assert "│" not in _row(app, "Marie Dupont")[4]  # wide: the columns say it


async def test_at_80_columns_priority_assignee_and_labels_stay_visible(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert _row(app, "Marie Dupont")[4].startswith("!! #acheteur+1 │ ")
        assert _row(app, "Jean Martin")[4].startswith("! @Camille │ ")
        table = app.screen.query_one(ConversationList)
        # and they are on screen: the preview starts inside the 80 columns
        assert table.region.right <= 80 and table.size.width > 50


async def test_a_snoozed_row_says_when_it_wakes(app, ids, service, lang) -> None:
    wake = service.ctx.now() + timedelta(days=2)
    await service.conversations.snooze(ids["jean_email"], wake)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.filter = dataclasses.replace(InboxFilter(), view=View.SNOOZED)
        await screen.reload()
        await settle(pilot)
        preview = _row(app, "Jean Martin")[4]
    tz = (await service.tenant_settings.get()).timezone
    expected = i18n.t("ui.inbox.wakes", when=i18n.format_datetime(wake, tz, "short"))
    assert preview.startswith(expected)
    assert ("wakes" if lang == "en" else "réveil") in preview


async def test_the_budget_line_is_alarm_coloured_only_near_the_budget(app, ids, service) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        budget = app.screen.query_one("#budget", Static)
        assert "Budget" in static_text(app, "#budget")
        assert not budget.has_class("error") and "⚠" not in static_text(app, "#budget")
    marie = (await service.conversations.thread(ids["marie_sms"])).prospect.id
    await say(service, marie, "Merci !", outbound=True, cost=Decimal("0.05"))
    settings = await service.tenant_settings.get()
    settings.monthly_budget = Decimal("0.06")  # 83 % spent: past the 80 % alert
    await service.tenant_settings.save(settings)
    again = InboxApp(service, clock=service.ctx.clock)
    async with again.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        budget = again.screen.query_one("#budget", Static)
        assert budget.has_class("error"), static_text(again, "#budget")
        assert "⚠" in static_text(again, "#budget")


def test_low_priority_has_a_mark_too() -> None:
    marks = {p: priority_mark(p) for p in Priority}
    assert marks[Priority.URGENT] == "!!" and marks[Priority.HIGH] == "!"
    assert marks[Priority.LOW] == "↓" and marks[Priority.MEDIUM] == ""


async def test_checkbox_and_switch_states_read_without_colour(app, ids, lang) -> None:
    from textual.widgets import Label, Switch, TabbedContent

    from inbox_app.widgets.toggles import StateCheckbox
    from tests.tui.test_settings_analytics import open_settings

    async with app.run_test(size=(160, 48)) as pilot:
        await open_settings(app, pilot)
        box = app.screen.query_one("#quiet_enabled", StateCheckbox)
        box.value = True
        await settle(pilot)
        assert box.render().plain.startswith("▐X▌")
        box.value = False
        await settle(pilot)
        assert box.render().plain.startswith("▐ ▌")
        app.screen.query_one(TabbedContent).active = "channels"
        await settle(pilot)
        app.screen.query_one("#enabled_sms", Switch).value = False
        await settle(pilot)
        off = i18n.t("ui.settings.switch_off")
        assert str(app.screen.query_one("#state_sms", Label).render()) == off
        app.screen.query_one("#enabled_sms", Switch).value = True
        await settle(pilot)
        assert str(app.screen.query_one("#state_sms", Label).render()) == i18n.t(
            "ui.settings.switch_on"
        )
        assert ("Off" in off) if lang == "en" else ("Désactivé" in off)


async def test_french_colons_english_dates_and_the_zone_named(app, ids, service, lang) -> None:
    from inbox_app.screens.conversation import ConversationScreen
    from inbox_app.widgets.conversation.prospect_panel import ProspectPanel
    from tests.tui.test_conversation import timeline_text

    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        panel = str(app.screen.query_one(ProspectPanel).text)
        title = static_text(app, "#title")
        thread = timeline_text(app)
    label = "SMS"
    if lang == "fr":
        assert f"{label} :" in panel and f"{label}:" not in panel
        assert "heure de Paris" in title
        assert "/03/2026" in thread or "/2026" in thread
    else:
        assert f"{label}:" in panel and f"{label} :" not in panel
        assert "Paris time" in title
        assert "Mar 2026" in thread
        assert not re.search(r"\d{2}/\d{2}/\d{4}", thread), "no dd/mm/yyyy"
