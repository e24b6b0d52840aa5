"""The composer's warnings: a channel left out is a dim note once another channel was chosen."""

from __future__ import annotations

from core.domain.decision import Decision, Reason
from core.domain.enums import Channel
from inbox_app.widgets.composer.decision_panel import warnings_text

LEFT_OUT = Reason(
    criterion="rendering",
    points=0,
    key="pipeline.left_out.window_closed",
    params={"channel": "whatsapp"},
)


def test_a_channel_left_out_beside_a_chosen_one_is_no_alarm() -> None:
    shown = warnings_text(Decision(channel=Channel.SMS, warnings=(LEFT_OUT,)), [], None)
    assert LEFT_OUT.text in shown.plain and "⚠" not in shown.plain
    assert all("bold" not in str(span.style) for span in shown.spans)


def test_a_channel_left_out_when_none_can_go_is_a_warning() -> None:
    blocked = Decision(channel=None, warnings=(LEFT_OUT,), blocked=(LEFT_OUT,))
    assert f"⚠ {LEFT_OUT.text}" in warnings_text(blocked, [], None).plain
