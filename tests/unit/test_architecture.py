"""The import direction of docs/style.md, checked rather than hoped for."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_core_loads_without_textual_or_provider_sdks() -> None:
    code = (
        "import sys, core.service, core.channels.registry, core.config, core.i18n;"
        "bad = [m for m in ('textual', 'aiogram', 'twilio', 'sendgrid', 'inbox_app', 'providers')"
        " if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _runtime_imports(node: ast.AST) -> Iterator[str]:
    """The absolute modules ``node`` imports at run time (``if TYPE_CHECKING:`` blocks left out)."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        yield node.module
        yield from (f"{node.module}.{alias.name}" for alias in node.names)
    elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
        for child in node.orelse:
            yield from _runtime_imports(child)
        return
    for child in ast.iter_child_nodes(node):
        yield from _runtime_imports(child)


def core_import_graph() -> dict[str, set[str]]:
    """Which of the core's subpackages (and loose modules) each one imports."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in (ROOT / "core").rglob("*.py"):
        part = path.relative_to(ROOT / "core").parts[0].removesuffix(".py")
        for name in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            target = name.split(".")
            if target[0] == "core" and len(target) > 1 and target[1] != part:
                graph[part].add(target[1])
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_cycle_between_the_cores_subpackages() -> None:
    found = cycles(core_import_graph())
    for component in found:
        print("cycle:", " <-> ".join(component))
    assert found == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
