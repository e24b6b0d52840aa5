"""A batch's outbox rows and messages read with Core and written back in a few statements.

The worker's rules (mark sending, record a send's outcome, schedule a retry, fall back) set
attributes on a row and its message. Through the ORM each row of a batch of 100 became an
instance with its identity, its loaded state and its attribute history, and each changed row
an ``UPDATE`` of its own at the flush: about a third of the worker's CPU per message end to
end (issue 17). Here a row is read as a plain record (``Loaded``), the rules run on it
unchanged, and what they changed is written back in one ``executemany`` per table and set of
changed columns (a batch's sent rows all change the same columns: one statement each for
the outbox and the messages). The values go through the columns' own types (JSON, UTC
timestamps); ``updated_at`` is stamped by its column as the ORM's flush stamped it.
"""

from __future__ import annotations

from collections.abc import Iterable
from json import loads
from typing import Any, cast

from sqlalchemy import JSON, Table, Text, bindparam, inspect, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.storage import tables as t

#: A record's own attributes (set with ``object.__setattr__``), not its row's columns.
_OWN = ("_values", "_changed", "_table")


class Loaded:
    """One row as read: its columns as attributes (by their ORM names); what is set on it is
    kept to be written back (``write_back``), or dropped (``forget``)."""

    __slots__ = _OWN

    def __init__(self, table: type[t.Base], values: dict[str, Any]) -> None:
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_values", values)
        object.__setattr__(self, "_changed", {})

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._values[name]
        except KeyError:
            raise AttributeError(name) from None
        if type(value) is _Json:  # decoded on first use: most rules read one or two of them
            value = self._values[name] = value.decoded()
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise AttributeError(f"{self._table.__name__} has no column {name}")
        self._values[name] = value
        self._changed[name] = value

    def forget(self, original: dict[str, Any]) -> None:
        """Drop what was set since ``original`` (a copy of the values) was taken."""
        self._values.clear()
        self._values.update(original)
        self._changed.clear()

    def may_hold(self, name: str, key: str) -> bool:
        """Whether the JSON object in column ``name`` may have ``key`` (an ASCII name): False
        only when its text, not decoded yet, does not spell it (decoding is the dear part)."""
        value = self._values.get(name)
        if type(value) is _Json:
            return f'"{key}"' in value.raw
        return True

    def snapshot(self) -> dict[str, Any]:
        """A copy of the values, for ``forget``."""
        return dict(self._values)


class _Json:
    """A JSON column's value as the database sent it, not decoded yet."""

    __slots__ = ("raw",)

    def __init__(self, raw: str) -> None:
        self.raw = raw

    def decoded(self) -> Any:
        return loads(self.raw)


def _columns(table: type[t.Base]) -> list[tuple[str, Any]]:
    """(attribute name, column) of a mapped class's columns."""
    return [(attr.key, attr.columns[0]) for attr in inspect(table).column_attrs]


_COLUMNS: dict[type[t.Base], list[tuple[str, Any]]] = {}


def _columns_of(table: type[t.Base]) -> list[tuple[str, Any]]:
    if table not in _COLUMNS:
        _COLUMNS[table] = _columns(table)
    return _COLUMNS[table]


async def load(
    session: AsyncSession, table: type[t.Base], ids: Iterable[int], *, lock: bool = False
) -> dict[int, Loaded]:
    """The rows of ``table`` with these ids, by id (locked until the commit, in id order,
    given ``lock``: PostgreSQL; SQLite locks the whole database already)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    columns = _columns_of(table)
    names = [key for key, _ in columns]
    # SQLite sends a JSON column's text (decoded here when first read); asyncpg decodes JSONB
    # itself, so there the columns are read as they are.
    lazy = session.get_bind().dialect.name == "sqlite"
    json = {i for i, (_, c) in enumerate(columns) if lazy and isinstance(c.type, JSON)}
    id_column = dict(columns)["id"]
    selected = [type_coerce(c, Text) if i in json else c for i, (_, c) in enumerate(columns)]
    query = select(*selected).where(id_column.in_(wanted))
    if lock:
        query = query.order_by(id_column).with_for_update()
    found: dict[int, Loaded] = {}
    for row in (await session.execute(query)).all():
        values = dict(zip(names, row, strict=True))
        for i in json:
            raw = row[i]
            values[names[i]] = None if raw is None else _Json(raw)
        found[values["id"]] = Loaded(table, values)
    return found


async def write_back(session: AsyncSession, records: Iterable[Loaded]) -> None:
    """Write what was set on ``records``: one ``executemany`` per table and set of changed
    columns, by id; their changes are then cleared."""
    shapes: dict[tuple[type[t.Base], tuple[str, ...]], list[Loaded]] = {}
    for record in records:
        if record._changed:
            shape = (record._table, tuple(sorted(record._changed)))
            shapes.setdefault(shape, []).append(record)
    for (table, names), group in shapes.items():
        columns = dict(_columns_of(table))
        target = cast(Table, table.__table__)
        statement = (
            update(target)
            .where(target.c.id == bindparam("_id", type_=target.c.id.type))
            .values(
                {
                    columns[name].name: bindparam(f"_v_{name}", type_=columns[name].type)
                    for name in names
                }
            )
        )
        params = [
            {"_id": record.id, **{f"_v_{name}": record._changed[name] for name in names}}
            for record in group
        ]
        await session.execute(statement, params)
        for record in group:
            record._changed.clear()
