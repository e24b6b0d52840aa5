"""Settings (templates with live preview, sending rules refused in place) and Analytics."""

from __future__ import annotations

from textual.widgets import DataTable, TabbedContent, TextArea

from core.domain.enums import Channel
from inbox_app.screens.analytics import AnalyticsScreen
from inbox_app.screens.settings import SettingsScreen
from inbox_app.widgets.settings.template_editor import TemplateEditor
from tests.tui.helpers import settle, static_text


async def open_settings(app, pilot) -> None:
    await settle(pilot)
    await pilot.press("f2")
    await settle(pilot)
    assert isinstance(app.screen, SettingsScreen)


async def test_edit_a_template_and_see_the_preview(app, ids, service) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_settings(app, pilot)
        app.screen.query_one(TabbedContent).active = "templates"
        await settle(pilot)
        editor = app.screen.query_one(TemplateEditor)
        editor.edit(editor.templates[str(ids["template"])])
        await settle(pilot)
        editor.query_one(
            "#template_content", TextArea
        ).text = "Salut {{prospect_name}}, {{inconnu}} !"
        await settle(pilot)
        preview = static_text(app, "#template_preview")
        assert "Salut Marie Dupont, [inconnu] !" in preview
        assert "Unknown variables (no demo value): inconnu" in preview
        assert "1 SMS segment(s)" in preview
        await pilot.press("ctrl+s")
        await settle(pilot)
    saved = await service.templates.get(ids["template"])
    assert saved.content == "Salut {{prospect_name}}, {{inconnu}} !"
    assert saved.variables == ("prospect_name", "inconnu")


async def test_a_broken_template_is_refused_in_place(app, ids, service) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_settings(app, pilot)
        app.screen.query_one(TabbedContent).active = "templates"
        await settle(pilot)
        editor = app.screen.query_one(TemplateEditor)
        editor.edit(editor.templates[str(ids["template"])])
        editor.query_one("#template_content", TextArea).text = "Bonjour {{ prospect_name"
        await settle(pilot)
        await editor.save()
        await settle(pilot)
        assert "Refused" in static_text(app, "#template_problem")
    assert (await service.templates.get(ids["template"])).content.startswith(
        "Bonjour {{prospect_name}}, RDV"
    )


async def test_quiet_hours_are_saved_and_a_bad_time_is_refused_whole(app, ids, service) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await open_settings(app, pilot)
        app.screen.query_one("#quiet_start").value = "21:00"
        app.screen.query_one("#quiet_french").value = True
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = await service.tenant_settings.get()
        assert saved.quiet_hours.start.hour == 21 and saved.quiet_hours.french_commercial_preset
        app.screen.query_one("#quiet_start").value = "19:30"
        app.screen.query_one("#quiet_end").value = "25:00"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "quiet_hours.end" in static_text(app, "#rules_problem")
    after = await service.tenant_settings.get()
    assert after.quiet_hours.start.hour == 21  # nothing half-saved


async def test_analytics_counts_match_the_database(app, ids) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, AnalyticsScreen)
        table = app.screen.query_one(DataTable)
        sms = [c.plain for c in table.get_row(str(Channel.SMS))]
        email = [c.plain for c in table.get_row(str(Channel.EMAIL))]
        assert sms[1:6] == ["1", "0", "0", "1", "2"]  # one failed reply; two received
        assert email[1:6] == ["1", "1", "0", "0", "2"]
        await pilot.press("d")
        await settle(pilot)
        assert "90" in static_text(app, "#title")
