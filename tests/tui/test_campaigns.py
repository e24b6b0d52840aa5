"""The campaigns screen (F4) on the demo data: steps' progress as the service counts it, pause
and resume written to the database, the A/B test's verdict; the help lists the key."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, TabbedContent

from core.demo.campaigns import AB_TEST_NAME, CAMPAIGN_NAME
from core.demo.seeder import seed_demo
from core.domain.enums import CampaignStatus
from core.i18n import t
from core.service import InboxService
from inbox_app.app import InboxApp
from inbox_app.screens.campaigns import CampaignsScreen
from inbox_app.widgets.campaigns.words import COUNTS
from tests.tui.helpers import settle, static_text


@pytest.fixture
async def demo(db, clock) -> InboxService:
    """The demo agency (its campaign and A/B test run by the engine) at the clock's time."""
    await seed_demo(db, now=clock())
    return await InboxService.connect(db, "demo", clock=clock)


def cells(app, selector: str) -> list[list[str]]:
    table = app.screen.query_one(selector, DataTable)
    return [
        [getattr(cell, "plain", str(cell)) for cell in table.get_row_at(i)]
        for i in range(table.row_count)
    ]


async def open_campaigns(app, pilot) -> None:
    await settle(pilot)
    await pilot.press("f4")
    await settle(pilot)
    assert isinstance(app.screen, CampaignsScreen)


async def test_each_step_shows_the_progress_the_service_counts(demo) -> None:
    (campaign,) = await demo.campaigns.list()
    progress = await demo.campaigns.progress(campaign.id)
    assert progress.enrolled and any(s.sent for s in progress.steps)  # non-trivial demo data
    assert any(s.skipped for s in progress.steps) and any(s.waiting for s in progress.steps)
    app = InboxApp(demo, clock=demo.ctx.clock)
    async with app.run_test(size=(180, 50)) as pilot:
        await open_campaigns(app, pilot)
        (row,) = cells(app, "#campaigns")
        assert row[0] == CAMPAIGN_NAME
        assert row[1] == t("campaignsui.status.running")
        totals = (progress.enrolled, progress.active, progress.completed, progress.left)
        assert row[2:] == [str(n) for n in totals]
        steps = cells(app, "#steps")
        assert [r[10] for r in steps] == [s.template for s in campaign.steps]
        assert [r[11] for r in steps] == [
            t(f"campaignsui.condition.{s.condition or 'none'}") for s in campaign.steps
        ]
        assert [r[3:10] for r in steps] == [
            [str(getattr(s, key)) for key in COUNTS] for s in progress.steps
        ]
        assert CAMPAIGN_NAME in static_text(app, "#steps_title")


async def test_pause_then_resume_changes_the_campaign_in_the_database(demo) -> None:
    (campaign,) = await demo.campaigns.list()
    app = InboxApp(demo, clock=demo.ctx.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_campaigns(app, pilot)
        await pilot.press("p")
        await settle(pilot)
        assert (await demo.campaigns.get(campaign.id)).status == CampaignStatus.PAUSED
        assert cells(app, "#campaigns")[0][1] == t("campaignsui.status.paused")
        await pilot.press("p")
        await settle(pilot)
        assert (await demo.campaigns.get(campaign.id)).status == CampaignStatus.RUNNING
        assert cells(app, "#campaigns")[0][1] == t("campaignsui.status.running")


async def test_a_finished_campaign_is_left_alone(demo) -> None:
    (campaign,) = await demo.campaigns.list()
    await demo.campaigns.finish(campaign.id)
    app = InboxApp(demo, clock=demo.ctx.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_campaigns(app, pilot)
        await pilot.press("p")
        await settle(pilot)
        assert isinstance(app.screen, CampaignsScreen)  # a warning, no crash
    assert (await demo.campaigns.get(campaign.id)).status == CampaignStatus.FINISHED


async def test_the_ab_test_shows_its_rates_and_its_verdict(demo) -> None:
    (test,) = await demo.abtests.list()
    result = await demo.abtests.results(test.id)
    assert result.finished
    app = InboxApp(demo, clock=demo.ctx.clock)
    async with app.run_test(size=(180, 50)) as pilot:
        await open_campaigns(app, pilot)
        await pilot.press("a")
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "abtests_tab"
        shown = static_text(app, "#abtests")
    assert AB_TEST_NAME in shown
    assert t("campaignsui.metric.response_rate") in shown
    comparison = result.comparisons["B"]
    assert f"p-value {comparison.p_value:.3f}" in shown
    if result.winner is None:
        assert t("campaignsui.ab.no_winner").strip() in shown
    else:
        assert t("campaignsui.ab.winner", group=result.winner).strip() in shown
    for group in result.groups:
        assert f"{group.successes} of {group.size}" in shown


async def test_an_untrusted_campaign_name_is_shown_as_written(demo) -> None:
    from core.campaigns.model import CampaignDraft, StepDraft

    evil = "[bold red]Evil[/] \x1b[31mCampaign"
    await demo.campaigns.create(CampaignDraft(name=evil, steps=[StepDraft(template="welcome")]))
    app = InboxApp(demo, clock=demo.ctx.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_campaigns(app, pilot)
        names = [row[0] for row in cells(app, "#campaigns")]
    assert any(name.startswith("[bold red]Evil[/]") for name in names)  # markup not applied
    assert not any("\x1b" in name for name in names)


async def test_the_help_lists_the_campaigns_key(app, ids) -> None:
    async with app.run_test(size=(120, 50)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        shown = static_text(app, "#keys")
    line = next(line for line in shown.splitlines() if t("campaignsui.key.campaigns") in line)
    assert "f4" in line


async def test_p_on_the_ab_tests_tab_leaves_the_hidden_campaign_alone(demo) -> None:
    (campaign,) = await demo.campaigns.list()
    assert campaign.status == CampaignStatus.RUNNING
    app = InboxApp(demo, clock=demo.ctx.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_campaigns(app, pilot)
        await pilot.press("a")
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "abtests_tab"
        await pilot.press("p")
        await settle(pilot)
        assert not app._notifications
        await pilot.press("a")  # back on the campaigns tab, p works again
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
    assert (await demo.campaigns.get(campaign.id)).status == CampaignStatus.PAUSED
