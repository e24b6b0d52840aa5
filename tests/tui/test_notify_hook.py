"""The new-activity hook runs a command with arguments, never through a shell."""

from __future__ import annotations

import sys
from pathlib import Path

from core.domain.enums import Channel, ConversationStatus, Priority
from core.domain.models import ConversationSummary
from inbox_app.notify_hook import run_hook, wanted


async def test_title_and_body_arrive_as_plain_arguments(tmp_path: Path) -> None:
    out = tmp_path / "args.txt"
    script = tmp_path / "hook.py"
    script.write_text(f"import sys; open({str(out)!r}, 'w').write('\\n'.join(sys.argv[1:]))")
    body = "$(touch pwned); rm -rf / \x1b[31m"
    code = await run_hook(f"{sys.executable} {script}", "New message", body)
    assert code == 0
    assert out.read_text().splitlines() == ["New message", "$(touch pwned); rm -rf /"]
    assert not (tmp_path / "pwned").exists()


async def test_a_missing_command_is_reported_not_raised() -> None:
    assert await run_hook("/nonexistent/notify-send", "t", "b") is None


def test_scope_mine_means_mine_or_unassigned() -> None:
    base = dict(
        id=1,
        prospect_id=1,
        prospect_name="x",
        channel=Channel.SMS,
        status=ConversationStatus.OPEN,
        priority=Priority.MEDIUM,
    )
    assert wanted(ConversationSummary(**base), "mine", 7)
    assert wanted(ConversationSummary(**base, assignee_id=7), "mine", 7)
    assert not wanted(ConversationSummary(**base, assignee_id=8), "mine", 7)
    assert wanted(ConversationSummary(**base, assignee_id=8), "all", 7)
