"""Campaign and A/B test values in words, for the campaigns screen and the ``campaign`` command.

Names (campaigns, templates, A/B tests and groups) are the tenant's text: callers pass them
through ``inbox_app.render.safe`` before showing them.
"""

from __future__ import annotations

from core.abtests.model import ABResult, ABTest, GroupResult, Metric
from core.abtests.stats import Comparison
from core.campaigns.model import AUTO, CampaignStep
from core.i18n import format_number, format_percent, t
from inbox_app.render.safe import one_line
from inbox_app.render.words import channel_name, duration, money, when

#: A step's counts, in the order the screen and the command show them.
COUNTS = ("waiting", "queued", "deferred", "sent", "failed", "skipped", "left")


def status_word(status: str) -> str:
    """draft / running / paused / finished, translated."""
    return t(f"campaignsui.status.{status}")


def step_channel(channel: str) -> str:
    """The step's channel, or "auto" (the orchestrator chooses)."""
    return t("campaignsui.channel.auto") if channel == AUTO else channel_name(channel)


def step_delay(step: CampaignStep, *, short: bool = False) -> str:
    """ "at once" or "after 2 days" ("+2 days" when ``short``): after the previous step, or
    after enrolling for the first."""
    if not step.delay_seconds:
        return t("campaignsui.delay.none")
    key = "campaignsui.delay.short" if short else "campaignsui.delay.after"
    return t(key, duration=duration(step.delay_seconds))


def step_condition(step: CampaignStep) -> str:
    """When the step is sent: always, or under its condition."""
    return t(f"campaignsui.condition.{step.condition or 'none'}")


def metric_name(metric: Metric | str) -> str:
    """The compared metric, in words."""
    return t(f"campaignsui.metric.{metric}")


def _value(metric: Metric, value: float | None) -> str:
    if value is None:
        return t("campaignsui.ab.no_value")
    if metric is Metric.COST_PER_CONVERSION:
        return money(round(value, 2))
    return format_percent(value)


def _signed(metric: Metric, value: float) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return sign + _value(metric, abs(value))


def ab_lines(test: ABTest, result: ABResult) -> list[str]:
    """The test in lines: heading, each group's value, each comparison, the verdict."""
    state = (
        t("campaignsui.ab.finished", end=when(test.ends_at))
        if result.finished and test.ends_at
        else t("campaignsui.ab.running", end=when(test.ends_at) if test.ends_at else "—")
    )
    lines = [
        t(
            "campaignsui.ab.heading",
            name=one_line(test.name, 80),
            metric=metric_name(result.metric),
            state=state,
        )
    ]
    lines += [_group_line(test, result.metric, group) for group in result.groups]
    control = result.groups[0].name if result.groups else ""
    for name, comparison in result.comparisons.items():
        lines.append(
            _compare_line(result.metric, one_line(control, 20), one_line(name, 20), comparison)
        )
    if result.winner is not None:
        lines.append(t("campaignsui.ab.winner", group=one_line(result.winner, 20)))
    else:
        lines.append(t("campaignsui.ab.no_winner"))
    return lines


def _group_line(test: ABTest, metric: Metric, group: GroupResult) -> str:
    config = test.groups.get(group.name, {})
    channel = channel_name(config["channel"]) if config.get("channel") else "—"
    key = "group_cost" if metric is Metric.COST_PER_CONVERSION else "group"
    return t(
        f"campaignsui.ab.{key}",
        group=one_line(group.name, 20),
        channel=channel,
        value=_value(metric, group.value),
        successes=format_number(group.successes),
        size=format_number(group.size),
        cost=money(round(group.cost, 2)),
    )


def _compare_line(metric: Metric, control: str, group: str, comparison: Comparison) -> str:
    if comparison.difference is None or comparison.ci_low is None or comparison.ci_high is None:
        return t("campaignsui.ab.compare_undecided", group=group, control=control)
    return t(
        "campaignsui.ab.compare",
        group=group,
        control=control,
        difference=_signed(metric, comparison.difference),
        low=_signed(metric, comparison.ci_low),
        high=_signed(metric, comparison.ci_high),
        p=format_number(comparison.p_value or 0.0, 3),
    )
