"""Internal thread events have one writer, ``core.storage.timeline.record_event``: stored as a
catalog key and parameters, never as text in one agent's language, never counted as messages."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
WRITER = CORE / "storage" / "timeline.py"


def _event_kind_arguments(tree: ast.AST) -> int:
    """How many calls pass ``kind=MessageKind.EVENT``."""
    found = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg == "kind"
                    and isinstance(value, ast.Attribute)
                    and value.attr == "EVENT"
                ):
                    found += 1
    return found


def test_only_record_event_writes_thread_events() -> None:
    offenders = [
        str(path.relative_to(CORE))
        for path in CORE.rglob("*.py")
        if path != WRITER and _event_kind_arguments(ast.parse(path.read_text()))
    ]
    assert offenders == [], "write internal events with core.storage.timeline.record_event"


def test_the_check_sees_a_direct_write() -> None:
    assert _event_kind_arguments(ast.parse("append_message(s, c, kind=MessageKind.EVENT)")) == 1
