"""The agent's own keys: ``[keymap]`` in ``config.toml`` maps binding ids to keys.

    [keymap]
    reply = "R"          # the inbox's reply key
    calendar = "ctrl+k"

Every binding of the app with an id can be moved this way (``known_ids`` lists them; the README
has the table). The map is checked at start: an unknown id, or a key that would then do two
things on the same screen or widget, stops the app with a clear message instead of a silent
surprise. ``j``/``k``/``g``/``G`` in lists come from ``ListKeys`` on the app.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Mapping

from textual.binding import Binding
from textual.dom import DOMNode

from core.i18n import t

#: The packages whose screens and widgets declare the app's bindings.
_PACKAGES = ("inbox_app.screens", "inbox_app.widgets")


class KeymapError(ValueError):
    """The ``[keymap]`` section cannot be applied; the message says why, in the agent's words."""


def _load_all() -> None:
    importlib.import_module("inbox_app.app")
    for name in _PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(module.name)


def _classes() -> Iterator[type[DOMNode]]:
    seen: set[type] = set()
    todo: list[type] = [DOMNode]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                if sub.__module__.startswith("inbox_app."):
                    yield sub


def _bindings(cls: type[DOMNode]) -> list[Binding]:
    """The bindings ``cls`` itself declares and inherits from the app's own classes."""
    found: list[Binding] = []
    for base in reversed(cls.__mro__):
        if base.__module__.startswith("inbox_app.") and "BINDINGS" in base.__dict__:
            found += [b for b in base.__dict__["BINDINGS"] if isinstance(b, Binding)]
    return found


def known_ids() -> dict[str, str]:
    """Every binding id of the app, with the keys it has by default."""
    _load_all()
    ids: dict[str, str] = {}
    for cls in _classes():
        for binding in _bindings(cls):
            if binding.id:
                ids.setdefault(binding.id, binding.key)
    return dict(sorted(ids.items()))


def check_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """``keymap`` cleaned (keys trimmed), once checked against the app's bindings.

    Raises:
        KeymapError: an id no binding has, an empty key, or a key that would do two things
            on the same screen or widget.
    """
    if not keymap:
        return {}
    known = known_ids()
    wanted = {str(k).strip(): str(v).replace(" ", "") for k, v in keymap.items()}
    for binding_id, keys in wanted.items():
        if binding_id not in known:
            raise KeymapError(t("keymap.unknown_id", id=binding_id, known=", ".join(sorted(known))))
        if not keys or any(not key for key in keys.split(",")):
            raise KeymapError(t("keymap.empty", id=binding_id))
    for cls in _classes():
        _check_class(cls, wanted)
    return wanted


def _check_class(cls: type[DOMNode], wanted: Mapping[str, str]) -> None:
    """A key the agent moved must not land on another binding of the same class (keys the
    app itself shares between bindings that take turns stay shared)."""
    defaults = _holders(cls, {})
    for key, holders in _holders(cls, wanted).items():
        moved = {who for who, _ in holders if who in wanted}
        actions = {action for _, action in holders}
        if not moved or len(actions) < 2 or holders <= defaults.get(key, set()):
            continue
        first, second = sorted({who for who, _ in holders})[:2]
        raise KeymapError(t("keymap.conflict", key=key, first=first, second=second))


def _holders(cls: type[DOMNode], wanted: Mapping[str, str]) -> dict[str, set[tuple[str, str]]]:
    """Each key of ``cls``, with the (id or action, action) of the bindings on it."""
    holders: dict[str, set[tuple[str, str]]] = {}
    for binding in _bindings(cls):
        keys = wanted.get(binding.id, binding.key) if binding.id else binding.key
        who = binding.id or binding.action
        for key in keys.split(","):
            holders.setdefault(key.strip(), set()).add((who, binding.action))
    return holders
