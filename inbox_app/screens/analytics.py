"""Analytics: per-channel statistics over a chosen period, daily charts, insights and budget."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from core.analytics.stats import RECEIPT_COUNTS, ChannelStats
from core.i18n import format_number, format_percent, t
from inbox_app.errors import notify_error
from inbox_app.render.words import channel_name, duration, money
from inbox_app.widgets.analytics.source import Report, report, total
from inbox_app.widgets.footer import Footer
from inbox_app.widgets.team.link_status import LinkStatus

PERIODS = (7, 30, 90, 365)
COUNTS = ("sent", "delivered", "opened", "clicked", "failed", "received", "conversions")
RATES = ("delivery_rate", "open_rate", "response_rate", "conversion_rate")
TIMES = ("avg_first_response", "median_first_response")
COSTS = ("avg_cost", "total_cost")
#: the table's rows, top to bottom (one column per channel, and a total)
METRICS = COUNTS + RATES + TIMES + COSTS
#: the rates compared on the second chart
CHARTED_RATES = ("delivery_rate", "open_rate", "response_rate")
TOTAL = "total"
#: one colour per channel on both charts (plotext's own cycle repeats red)
COLOURS = {
    "sms": "red",
    "email": "cyan",
    "whatsapp": "green",
    "telegram": "blue",
    "voice": "orange",
}


def cell(metric: str, value: Any, exact: bool = True) -> Text:
    """One number of the table, formatted for its kind; "—" when there is none."""
    if value is None:
        return Text("—", justify="right")
    if metric in RATES:
        shown = format_percent(value)
    elif metric in TIMES:
        shown = duration(value) if exact else "≈" + duration(value)
    elif metric == "total_cost":
        shown = money(_cents(value))
    elif metric in COSTS:  # a message's cost: a fraction of a cent matters
        shown = money(Decimal(value).quantize(Decimal("0.0001")).normalize())
    else:
        shown = format_number(value)
    return Text(shown, justify="right")


def known(entry: ChannelStats, metric: str) -> Any:
    """The channel's value of ``metric``; None ("—") for a count its provider never reports."""
    if not entry.receipts and metric in RECEIPT_COUNTS:
        return None
    return getattr(entry, metric)


def _cents(amount: Decimal | float) -> Decimal:
    """An amount to the cent, as a budget is read (the table keeps the sub-cent costs)."""
    return Decimal(str(amount)).quantize(Decimal("0.01"))


class AnalyticsScreen(Screen[None]):
    """A metric per row and a channel per column; ``d`` cycles the period."""

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
        self.shown: Report | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield LinkStatus()
        with VerticalScroll(id="body"):
            yield Static(id="budget")
            yield DataTable(id="stats", cursor_type="none", zebra_stripes=True)
            yield Static(id="preferred")
            yield Static(id="insights")
            yield PlotextPlot(id="volume_chart")
            yield PlotextPlot(id="rates_chart")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one("#body").focus()  # arrows and page keys scroll the whole report
        await self.reload()

    async def reload(self) -> None:
        """Read the numbers again for the current period."""
        self.query_one("#title", Static).update(
            Text(t("ui.analytics.title", days=self.days), style="bold")
        )
        try:
            shown = await report(self.app.service, self.days)
        except Exception as exc:
            notify_error(self.app, exc)
            return
        self.shown = shown
        self._table(shown)
        self._preferred(shown)
        self._insights(shown)
        self._volume_chart(shown)
        self._rates_chart(shown)
        self._show_budget(shown.budget)

    def _table(self, shown: Report) -> None:
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_column("", key="metric")
        for entry in shown.stats:
            table.add_column(Text(channel_name(entry.channel), justify="right"), key=entry.channel)
        if not shown.stats:
            table.add_row(Text(t("analytics.no_data")), key="empty")
            return
        table.add_column(Text(t("ui.analytics.total"), justify="right"), key=TOTAL)
        summed = total(shown.stats)
        for metric in METRICS:
            cells = [
                cell(metric, known(entry, metric), entry.median_exact) for entry in shown.stats
            ]
            table.add_row(
                Text(t(f"analytics.{metric}")), *cells, cell(metric, summed[metric]), key=metric
            )

    def _preferred(self, shown: Report) -> None:
        counts = ", ".join(
            f"{channel_name(channel)} {count}" for channel, count in shown.preferred.most_common()
        )
        line = t("ui.analytics.preferred", counts=counts or "—")
        self.query_one("#preferred", Static).update(Text(line))

    def _insights(self, shown: Report) -> None:
        lines = [Text(t("ui.analytics.insights"), style="bold")]
        lines += [Text("• " + text) for text in shown.insights] or [
            Text(t("ui.analytics.no_insight"))
        ]
        self.query_one("#insights", Static).update(Text("\n").join(lines))

    def _volume_chart(self, shown: Report) -> None:
        """Messages per day, stacked by channel (the legend names each channel's colour)."""
        widget = self.query_one("#volume_chart", PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        x = list(range(1, len(shown.days) + 1))
        series = [shown.volume(entry.channel) for entry in shown.stats]
        # Stacked by hand: each channel's bar reaches the sum up to it and is drawn over the
        # next one's, and only where it is not zero (plotext draws a sliver for a zero bar).
        for index in reversed(range(len(series))):
            heights = [sum(s[day] for s in series[: index + 1]) for day in range(len(x))]
            days = [day for day in range(len(x)) if heights[day]]
            if not days:
                continue
            spread = x[days[-1]] - x[days[0]]
            plt.bar(
                [x[day] for day in days],
                [heights[day] for day in days],
                label=channel_name(shown.stats[index].channel),
                color=COLOURS.get(shown.stats[index].channel, "white"),
                # plotext scales the width by the mean gap between bars: 0.8 of a day here
                width=0.8 * (len(days) - 1) / spread if spread else 0.8,
            )
        busy = [sum(day) for day in zip(*series, strict=True)] if series else []
        plt.xlim(0, len(x) + 1)
        top = max(busy, default=0) or 1
        plt.ylim(0, top)
        plt.yticks(list(range(0, top + 1, max(1, top // 5))))
        step = max(1, len(x) // 6)
        ticks = x[::step]
        plt.xticks(ticks, [shown.days[i - 1].strftime("%d/%m") for i in ticks])
        plt.title(t("ui.analytics.volume_title"))
        widget.refresh()

    def _rates_chart(self, shown: Report) -> None:
        """Delivery, open and response rates side by side per channel, in percent."""
        widget = self.query_one("#rates_chart", PlotextPlot)
        plt = widget.plt
        plt.clear_data()
        plt.clear_figure()
        if shown.stats:
            plt.multiple_bar(
                [channel_name(s.channel) for s in shown.stats],
                [
                    [round(100 * (getattr(s, rate) or 0)) for s in shown.stats]
                    for rate in CHARTED_RATES
                ],
                labels=[t(f"analytics.{rate}") for rate in CHARTED_RATES],
                color=["magenta", "yellow", "cyan"],
            )
        plt.title(t("ui.analytics.rates_title"))
        widget.refresh()

    def _show_budget(self, status) -> None:
        if status is None:
            self.query_one("#budget", Static).update("")
            return
        line = t(
            "ui.analytics.budget",
            spent=money(_cents(status.spent)),
            budget=money(_cents(status.budget)),
            ratio=format_percent(status.ratio),
        )
        if status.alert:
            line += "\n⚠ " + t("ui.analytics.budget_alert", ratio=format_percent(status.ratio))
        budget = self.query_one("#budget", Static)
        # Alarm colours only near the budget (its alert threshold), as the ⚠ says without colour.
        budget.set_class(status.alert, "error")
        budget.update(Text(line))

    async def action_period(self) -> None:
        self.days = PERIODS[(PERIODS.index(self.days) + 1) % len(PERIODS)]
        await self.reload()

    def action_back(self) -> None:
        self.app.pop_screen()
