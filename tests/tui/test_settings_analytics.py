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
        assert "1 SMS segment " in preview
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


def _column(table: DataTable, channel: str) -> dict[str, str]:
    """One channel's column of the analytics table, by metric."""
    return {str(row.value): table.get_cell(row, channel).plain for row in table.rows}


async def test_analytics_numbers_match_the_database(app, ids, service) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert isinstance(app.screen, AnalyticsScreen)
        table = app.screen.query_one(DataTable)
        sms = _column(table, str(Channel.SMS))
        email = _column(table, str(Channel.EMAIL))
        total = _column(table, "total")
        # By hand from the scenario: one failed SMS reply, two SMS received (Marie, Evil Corp);
        # one e-mail sent and delivered, never answered, two received (Marie, Jean).
        assert [sms[m] for m in ("sent", "delivered", "failed", "received")] == ["1", "0", "1", "2"]
        assert sms["delivery_rate"] == "0.0%" and sms["open_rate"] == "—"
        assert [email[m] for m in ("sent", "delivered", "opened", "received")] == [
            "1",
            "1",
            "0",
            "2",
        ]
        assert email["delivery_rate"] == "100.0%" and email["response_rate"] == "0.0%"
        assert email["median_first_response"] == "—"
        assert [total[m] for m in ("sent", "delivered", "failed", "received")] == [
            "2",
            "1",
            "1",
            "6",
        ]
        assert total["delivery_rate"] == "50.0%"
        # A Telegram bot hears of no delivery or read: unknown ("—"), not zero.
        telegram = _column(table, str(Channel.TELEGRAM))
        assert [telegram[m] for m in ("delivered", "opened", "clicked")] == ["—", "—", "—"]
        assert telegram["delivery_rate"] == "—" and telegram["open_rate"] == "—"
        # Every number sits on the right of its column, under a right-aligned channel name.
        for row in table.rows:
            for column in table.columns:
                if column != "metric":
                    assert table.get_cell(row, column).justify == "right"
        sent = "".join(segment.text for segment in table.render_line(1))
        assert sent.split() == ["Sent", "1", "1", "0", "0", "2"]
        assert sent.index("Sent") < sent.index(" 1 ") and sent.rstrip().endswith(" 2")
        # The screen shows what the service computes, channel by channel.
        for stats in await service.analytics.channel_stats():
            column = _column(table, stats.channel)
            assert column["received"] == str(stats.received)
            assert column["conversions"] == str(stats.conversions)
        # Observed preference: Marie wrote last by SMS (tie with e-mail), Evil Corp by SMS,
        # Jean by e-mail, Sophie on Telegram, Luc by a call.
        preferred = static_text(app, "#preferred")
        assert "SMS 2" in preferred and "Telegram 1" in preferred
        assert "Email 1" in preferred
        assert "Budget this month" in static_text(app, "#budget")
        assert "Findings" in static_text(app, "#insights")
        volume = app.screen.shown.volume(str(Channel.SMS))
        assert len(volume) == 30 and volume[-1] == 3  # today: Marie, her failed reply, Evil Corp
        await pilot.press("d")
        await settle(pilot)
        assert "90" in static_text(app, "#title")
        assert len(app.screen.shown.days) == 90
        for _ in range(2):
            await pilot.press("d")
            await settle(pilot)
        assert "7" in static_text(app, "#title")


def test_analytics_amounts_and_rates_follow_the_locale() -> None:
    from decimal import Decimal

    from core import i18n
    from inbox_app.screens.analytics import cell

    previous = i18n.language()
    i18n.set_language("fr")
    try:
        shown = {
            metric: cell(metric.removesuffix("_cents"), value)
            .plain.replace("\u202f", " ")
            .replace("\xa0", " ")
            for metric, value in (
                ("total_cost", Decimal("1234.5")),
                ("avg_cost", Decimal("0.0525")),
                ("total_cost_cents", Decimal("4.2844")),
                ("open_rate", 0.125),
                ("sent", 12345),
            )
        }
    finally:
        i18n.set_language(previous)
    assert shown == {
        "total_cost": "1 234,50 €",
        "avg_cost": "0,0525 €",
        "total_cost_cents": "4,28 €",  # a total reads to the cent; a message's cost does not
        "open_rate": "12,5 %",
        "sent": "12 345",
    }
