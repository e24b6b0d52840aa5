"""The orchestrator's decision, as the composer shows it before sending."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from core.domain.decision import Decision
from core.i18n import format_datetime, format_percent, t
from inbox_app.render.words import channel_name, money


def decision_text(
    decision: Decision,
    tz: str | None,
    *,
    forced: bool = False,
    picked: bool = False,
    next_channel: str | None = None,
) -> Text:
    """Channel, confidence, reasons with points, cost, the two alternatives, warnings.

    ``forced``: the channel was chosen by the agent (a switch): no "Auto", no alternatives.
    ``picked``: the agent picked the channel in the composer: the alternatives are listed, and
    ``next_channel`` says where ctrl+o goes (the walk follows Auto's ranking, not this one).
    """
    text = Text()
    if decision.channel is None:
        text.append(t("ui.decision.blocked") + "\n", style="bold")
        for reason in decision.blocked:
            text.append(f"  ✗ {reason.text}\n")
        return text
    text.append(
        t(
            _HEADINGS[forced, picked],
            channel=channel_name(decision.channel),
            confidence=format_percent(decision.confidence),
            cost=money(decision.estimated_cost),
        )
        + "\n",
        style="bold",
    )
    for reason in decision.reasons:
        text.append(f"  {reason.points:+g}  {reason.text}\n")
    for number, alternative in enumerate(() if forced else decision.alternatives[:2], start=1):
        text.append(
            t(
                "ui.decision.other" if picked else "ui.decision.alternative",
                n=number,
                channel=channel_name(alternative.channel),
                confidence=format_percent(alternative.confidence),
                cost=money(alternative.estimated_cost),
            )
            + "\n"
        )
    if picked and next_channel:
        text.append(t("ui.decision.next", channel=next_channel) + "\n")
    return text


#: The first line's message, by (forced by a switch, picked in the composer).
_HEADINGS = {
    (False, False): "ui.decision.chosen",
    (False, True): "ui.decision.picked",
    (True, False): "ui.decision.forced",
    (True, True): "ui.decision.forced",
}


def warnings_text(decision: Decision | None, local: list[str], tz: str | None) -> Text:
    """The decision's warnings (quiet hours with the leaving time…) and the composer's own."""
    text = Text()
    lines = list(local)
    aside: list[str] = []
    if decision is not None:
        if decision.held_until is not None:
            when = format_datetime(decision.held_until, tz, fmt="short")
            lines.append(t("ui.warning.held", time=when))
        for warning in decision.warnings:
            if warning.key.endswith("warning.held"):
                continue  # the line above says it, with a readable time
            # a channel the message cannot take, when another was chosen: a note, not an alarm
            left_out = warning.key.startswith("pipeline.left_out.") and decision.channel
            (aside if left_out else lines).append(warning.text)
    for line in dict.fromkeys(lines):
        text.append(f"⚠ {line}\n", style="bold")
    for line in dict.fromkeys(aside):
        text.append(f"{line}\n", style="dim")
    return text


class DecisionPanel(Static):
    """Shows a decision, or why there is none."""

    def show(
        self,
        decision: Decision | None,
        tz: str | None,
        note: str = "",
        *,
        forced: bool = False,
        picked: bool = False,
        next_channel: str | None = None,
    ) -> None:
        """Draw ``decision`` (None: ``note`` explains); see ``decision_text`` for the flags."""
        if decision is None:
            self.update(Text(note, style="dim"))
            return
        self.update(
            decision_text(decision, tz, forced=forced, picked=picked, next_channel=next_channel)
        )
