"""Analytics: per-channel counts and rates over a chosen period, and the budget alert."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual_plotext import PlotextPlot

from core.i18n import format_number, format_percent, t
from inbox_app.errors import notify_error
from inbox_app.render.words import channel_name, money
from inbox_app.widgets.analytics.source import budget, channel_counts

PERIODS = (7, 30, 90)
COLUMNS = (
    "channel",
    "sent",
    "delivered",
    "read",
    "failed",
    "received",
    "delivery_rate",
    "read_rate",
    "cost",
)


def _rate(part: int, whole: int) -> str:
    return format_percent(part / whole) if whole else "—"


class AnalyticsScreen(Screen[None]):
    """One row per channel, a total row; ``d`` changes the period."""

    CSS_PATH = "analytics.tcss"
    BINDINGS = [
        Binding("d", "period", t("ui.key.period"), id="period", tooltip=t("ui.tip.period")),
        Binding(
            "q,escape", "back", t("ui.key.back"), id="analytics_back", tooltip=t("ui.tip.back")
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.days = PERIODS[1]

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield DataTable(id="stats", cursor_type="row")
        yield PlotextPlot(id="chart")
        yield Static(id="budget", classes="error")
        yield Static(Text(t("ui.analytics.source_counts")), classes="hint")
        yield Footer()

    async def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(t(f"ui.analytics.{name}"), key=name)
        table.focus()
        await self.reload()

    async def reload(self) -> None:
        """Count again for the current period."""
        self.query_one("#title", Static).update(
            Text(t("ui.analytics.title", days=self.days), style="bold")
        )
        try:
            counts = await channel_counts(self.app.service, self.days)
            status = await budget(self.app.service)
        except Exception as exc:
            notify_error(self.app, exc)
            return
        table = self.query_one(DataTable)
        table.clear()
        for entry in counts:
            table.add_row(*self._cells(channel_name(entry.channel), entry), key=str(entry.channel))
        total = type(counts[0])(counts[0].channel)
        for entry in counts:
            for name in ("sent", "delivered", "read", "failed", "received", "cost"):
                setattr(total, name, getattr(total, name) + getattr(entry, name))
        table.add_row(*self._cells(t("ui.analytics.total"), total), key="total")
        self._chart(counts)
        self._show_budget(status)

    def _chart(self, counts) -> None:
        """Sent and received per channel, side by side (plain bars: readable without colour)."""
        plt = self.query_one(PlotextPlot).plt
        plt.clear_data()
        plt.clear_figure()
        names = [channel_name(c.channel) for c in counts]
        plt.multiple_bar(
            names,
            [[c.sent for c in counts], [c.received for c in counts]],
            labels=[t("ui.analytics.sent"), t("ui.analytics.received")],
        )
        plt.title(t("ui.analytics.chart_title"))
        self.query_one(PlotextPlot).refresh()

    @staticmethod
    def _cells(name: str, entry) -> list[Text]:
        numbers = [entry.sent, entry.delivered, entry.read, entry.failed, entry.received]
        return (
            [Text(name)]
            + [Text(format_number(n), justify="right") for n in numbers]
            + [
                Text(_rate(entry.delivered, entry.sent), justify="right"),
                Text(_rate(entry.read, entry.delivered), justify="right"),
                Text(money(entry.cost), justify="right"),
            ]
        )

    def _show_budget(self, status) -> None:
        if status is None:
            self.query_one("#budget", Static).update("")
            return
        line = t(
            "ui.analytics.budget",
            spent=money(status.spent),
            budget=money(status.budget),
            ratio=format_percent(status.ratio),
        )
        if status.alert:
            line += "\n" + t("ui.analytics.budget_alert", ratio=format_percent(status.ratio))
        self.query_one("#budget", Static).update(Text(line))

    async def action_period(self) -> None:
        self.days = PERIODS[(PERIODS.index(self.days) + 1) % len(PERIODS)]
        await self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()
