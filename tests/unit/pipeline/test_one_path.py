"""One path to the prospect: only ``core.pipeline`` decides a channel and writes outbox rows.

Read from the source (AST), so that a new sender written beside the pipeline fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
#: Deciding is the orchestrator's own business (``per_channel`` builds on ``decide``) and the
#: benchmark times the pure function; everything else goes through the pipeline.
MAY_DECIDE = ("core/pipeline/", "core/orchestrator/", "core/bench/")
MAY_WRITE_OUTBOX = ("core/pipeline/",)
DECIDERS = {"decide", "decide_per_channel"}
_MODULES = {"decide", "per_channel", "orchestrator"}


def _sources() -> list[tuple[str, ast.Module]]:
    found = []
    for folder in ("core", "inbox_app"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            found.append((name, ast.parse(path.read_text(encoding="utf-8"), name)))
    return found


def _called(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_outbox(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id in {"OutboxRow", "Out"}) or (
        isinstance(node, ast.Attribute) and node.attr == "OutboxRow"
    )


def _deciding(tree: ast.Module) -> list[int]:
    """Lines calling the orchestrator's ``decide`` (not a method of the same name)."""
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("core.orchestrator"):
            imported |= {a.asname or a.name for a in node.names if a.name in DECIDERS}
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in imported:
            lines.append(node.lineno)
        elif isinstance(func, ast.Attribute) and func.attr in DECIDERS:
            owner = func.value
            if isinstance(owner, ast.Name) and owner.id in {
                "decide",
                "per_channel",
                "orchestrator",
            }:
                lines.append(node.lineno)
    return lines


def _writing_outbox(tree: ast.Module) -> list[int]:
    """Lines building an outbox row or inserting into its table."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        inserting = _called(node) == "insert" and any(_is_outbox(a) for a in node.args)
        if _is_outbox(node.func) or inserting:
            lines.append(node.lineno)
    return lines


def test_nothing_outside_the_pipeline_calls_decide() -> None:
    offenders = [
        f"{name}:{line}"
        for name, tree in _sources()
        if not name.startswith(MAY_DECIDE)
        for line in _deciding(tree)
    ]
    assert offenders == [], "send through core.pipeline.submit instead of calling decide"


def test_nothing_outside_the_pipeline_writes_outbox_rows() -> None:
    offenders = [
        f"{name}:{line}"
        for name, tree in _sources()
        if not name.startswith(MAY_WRITE_OUTBOX)
        for line in _writing_outbox(tree)
    ]
    assert offenders == [], "queue through core.pipeline instead of writing outbox rows"


def test_the_checks_see_a_direct_write_and_a_decide_call() -> None:
    """The detectors are not blind: a sender written beside the pipeline is caught."""
    tree = ast.parse(
        "from core.orchestrator.decide import decide\n"
        "from sqlalchemy import insert\n"
        "d = decide(ctx, draft)\n"
        "session.add(t.OutboxRow(tenant_id=1))\n"
        "await session.execute(insert(t.OutboxRow).values())\n"
    )
    assert _deciding(tree) == [3]
    assert _writing_outbox(tree) == [4, 5]
