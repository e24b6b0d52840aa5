"""Campaigns: each campaign's status and enrolments, the highlighted one's steps and their
progress (``p`` pauses or resumes it); and the A/B tests with their results."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from core.campaigns.model import Campaign, CampaignProgress
from core.domain.enums import CampaignStatus
from core.i18n import format_number, t
from inbox_app.errors import notify_error
from inbox_app.render.safe import inert, one_line
from inbox_app.widgets.campaigns.source import Overview, overview
from inbox_app.widgets.campaigns.words import (
    COUNTS,
    ab_lines,
    status_word,
    step_channel,
    step_condition,
    step_delay,
)
from inbox_app.widgets.footer import Footer
from inbox_app.widgets.team.link_status import LinkStatus

#: How often the numbers are read again (the engine runs due steps every 30 s).
REFRESH_SECONDS = 30.0
_TOTALS = ("enrolled", "active", "completed", "left")


def _number(value: int) -> Text:
    return Text(format_number(value), justify="right")


class CampaignsScreen(Screen[None]):
    """Campaigns on one tab (the highlighted one's steps below), A/B tests on the other."""

    CSS_PATH = "campaigns.tcss"
    BINDINGS = [
        Binding("p", "toggle", t("campaignsui.key.pause"), tooltip=t("campaignsui.key.pause_tip")),
        Binding(
            "a", "switch_tab", t("campaignsui.key.tabs"), tooltip=t("campaignsui.key.tabs_tip")
        ),
        Binding(
            "q,escape", "back", t("ui.key.back"), id="campaigns_back", tooltip=t("ui.tip.back")
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.shown: Overview | None = None

    def compose(self) -> ComposeResult:
        yield Static(Text(t("campaignsui.screen.title"), style="bold"), id="title")
        yield LinkStatus()
        with TabbedContent(id="tabs"):
            with TabPane(t("campaignsui.screen.title"), id="campaigns_tab"):
                yield DataTable(id="campaigns", cursor_type="row", zebra_stripes=True)
                yield Static(id="steps_title")
                yield DataTable(id="steps", cursor_type="none", zebra_stripes=True)
            with (
                TabPane(t("campaignsui.screen.ab_title"), id="abtests_tab"),
                VerticalScroll(id="abtests_body"),
            ):
                yield Static(id="abtests")
        yield Footer()

    async def on_mount(self) -> None:
        self._columns()
        self.query_one("#campaigns", DataTable).focus()
        await self.reload()
        self.set_interval(REFRESH_SECONDS, self.reload)

    def _columns(self) -> None:
        campaigns = self.query_one("#campaigns", DataTable)
        campaigns.add_column(t("campaignsui.column.name"), key="name")
        campaigns.add_column(t("campaignsui.column.status"), key="status")
        for key in _TOTALS:
            campaigns.add_column(Text(t(f"campaignsui.column.{key}"), justify="right"), key=key)
        steps = self.query_one("#steps", DataTable)
        # The counts come before the template and condition: on 80 columns they stay in view.
        for key in ("step", "channel", "delay"):
            steps.add_column(t(f"campaignsui.column.{key}"), key=key)
        for key in COUNTS:
            steps.add_column(Text(t(f"campaignsui.column.{key}"), justify="right"), key=key)
        for key in ("template", "condition"):
            steps.add_column(t(f"campaignsui.column.{key}"), key=key)

    async def reload(self) -> None:
        """Read the campaigns, their progress and the A/B tests again."""
        try:
            shown = await overview(self.app.service)
        except Exception as exc:
            notify_error(self.app, exc)
            return
        self.shown = shown
        self._campaigns(shown)
        self._steps()
        self._abtests(shown)

    def _campaigns(self, shown: Overview) -> None:
        table = self.query_one("#campaigns", DataTable)
        row = table.cursor_row
        table.clear()
        for campaign, progress in shown.campaigns:
            table.add_row(
                inert(campaign.name, single_line=True),
                status_word(campaign.status),
                *(_number(getattr(progress, key)) for key in _TOTALS),
                key=str(campaign.id),
            )
        if shown.campaigns:
            table.move_cursor(row=min(row, len(shown.campaigns) - 1))

    def highlighted(self) -> tuple[Campaign, CampaignProgress] | None:
        """The campaign under the cursor, with its progress."""
        if self.shown is None or not self.shown.campaigns:
            return None
        row = self.query_one("#campaigns", DataTable).cursor_row
        return self.shown.campaigns[min(max(row, 0), len(self.shown.campaigns) - 1)]

    def _steps(self) -> None:
        table = self.query_one("#steps", DataTable)
        title = self.query_one("#steps_title", Static)
        table.clear()
        chosen = self.highlighted()
        if chosen is None:
            title.update(Text(t("campaignsui.screen.none")))
            return
        campaign, progress = chosen
        name = one_line(campaign.name, 60)
        title.update(Text(t("campaignsui.screen.steps_title", name=name), style="bold"))
        for step, counts in zip(campaign.steps, progress.steps, strict=True):
            table.add_row(
                Text(str(step.position + 1), justify="right"),
                step_channel(step.channel),
                step_delay(step, short=True),
                *(_number(getattr(counts, key)) for key in COUNTS),
                inert(step.template, single_line=True),
                step_condition(step),
            )

    def _abtests(self, shown: Overview) -> None:
        text = Text()
        if not shown.tests:
            text.append(t("campaignsui.screen.ab_none"))
        for index, (test, result) in enumerate(shown.tests):
            lines = ab_lines(test, result)
            if index:
                text.append("\n\n")
            text.append(lines[0], style="bold")
            for line in lines[1:-1]:
                text.append("\n" + line)
            verdict = "bold green" if result.winner is not None else "dim"
            text.append("\n" + lines[-1], style=verdict)
        self.query_one("#abtests", Static).update(text)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # The focus follows the tab, else the hidden table keeps it and takes its tab back.
        on_tests = event.pane.id == "abtests_tab"
        self.query_one("#abtests_body" if on_tests else "#campaigns").focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``p`` acts on the campaigns tab only: never on a campaign the agent cannot see."""
        if action == "toggle":
            return self.query_one(TabbedContent).active != "abtests_tab"
        return True

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "campaigns":
            self._steps()

    async def action_toggle(self) -> None:
        """Pause the highlighted campaign if it runs, resume it if paused."""
        chosen = self.highlighted()
        if chosen is None:
            return
        campaign, _ = chosen
        name = one_line(campaign.name, 60)
        campaigns = self.app.service.campaigns
        try:
            if campaign.status == CampaignStatus.RUNNING:
                await campaigns.pause(campaign.id)
                message = t("campaignsui.screen.paused", name=name)
            elif campaign.status == CampaignStatus.PAUSED:
                await campaigns.resume(campaign.id)
                message = t("campaignsui.screen.resumed", name=name)
            else:
                status = status_word(campaign.status)
                message = t("campaignsui.screen.cannot_toggle", name=name, status=status)
                self.app.notify(message, severity="warning", markup=False)
                return
        except Exception as exc:
            notify_error(self.app, exc)
            return
        self.app.notify(message, markup=False)
        await self.reload()

    def action_switch_tab(self) -> None:
        """Show the A/B tests, or the campaigns again."""
        tabs = self.query_one(TabbedContent)
        tabs.active = "campaigns_tab" if tabs.active == "abtests_tab" else "abtests_tab"

    def action_back(self) -> None:
        self.app.pop_screen()
