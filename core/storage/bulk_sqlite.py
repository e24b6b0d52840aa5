"""Many rows of one table inserted on SQLite in one multi-row ``INSERT … VALUES (…), (…)``
with values converted here, for a batch of plain values (a broadcast chunk).

SQLAlchemy's own multi-row insert spends much of a broadcast's main thread turning each row's
values into the driver's (``construct_params``, a type processor call per value). Here each
value still goes through its column's own conversion (the stored text is the same to the
byte), but a timestamp once per distinct value (a batch's rows share their ``now``). One
statement for many rows, not the driver's ``executemany``: run row by row, SQLite's full-text
index on messages (a trigger) costs it more than twice as much.

The ids are those SQLite gives a statement's rows: inside the write transaction nothing else
inserts into the table, and each row takes the largest id plus one, so they are the
``len(rows)`` ids ending at ``last_insert_rowid()`` (which a trigger's inserts do not change).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

#: ORM attribute names that differ from their column's name.
_COLUMN_OF = {"meta": "metadata"}

#: SQLite's default limit on a statement's parameters (SQLITE_MAX_VARIABLE_NUMBER).
_MAX_PARAMETERS = 32_766

_Convert = Callable[[Any], Any] | None
_Prepared = tuple[str, list[_Convert], list[bool], list[Any]]
_converters: dict[tuple[str, tuple[str, ...]], _Prepared] = {}


def _prepared(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Prepared:
    """The statement for rows of ``keys``, each value's conversion, which are timestamps, and
    the defaults of the columns the rows leave out (as SQLAlchemy's insert fills them)."""
    found = _converters.get((table.name, keys))
    if found is None:
        given = [table.c[_COLUMN_OF.get(k, k)] for k in keys]
        named = {c.name for c in given}
        missing = [c for c in table.c if c.name not in named and c.default is not None]
        defaults: list[Any] = [c.default for c in missing]
        columns = given + missing
        quote = dialect.identifier_preparer.quote
        names = ", ".join(quote(c.name) for c in columns)
        sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES "
        converts: list[_Convert] = [
            c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns
        ]
        stamps = [_is_timestamp(c.type) for c in columns]
        found = (sql, converts, stamps, defaults)
        _converters[(table.name, keys)] = found
    return found


def _is_timestamp(kind: Any) -> bool:
    """Whether a column holds timestamps: a type decorator's ``python_type`` is ``object``,
    so its underlying type (``impl``) says."""
    return getattr(kind, "impl", kind).python_type is datetime


def _default(default: Any) -> Any:
    """A column default's value for one row (a callable's called, as for each row inserted)."""
    return default.arg(None) if default.is_callable else default.arg


async def sqlite_insert(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert ``rows`` (values by ORM attribute name, the same keys each) into ``table``; their
    ids in the same order. The session's connection must be SQLite's."""
    connection = await session.connection()
    keys = tuple(rows[0])
    sql, converts, stamps, defaults = _prepared(table, keys, connection.dialect)
    one = "(" + ", ".join("?" * len(converts)) + ")"
    memo: dict[Any, Any] = {}
    steps = list(zip(converts, stamps, strict=True))
    params = []
    for row in rows:
        given = [row[k] for k in keys]
        if defaults:
            given += [_default(d) for d in defaults]
        values = []
        for value, (convert, stamp) in zip(given, steps, strict=True):
            if convert is not None:
                if stamp and value is not None:
                    done = memo.get(value)
                    if done is None:
                        done = memo[value] = convert(value)
                    value = done
                else:
                    value = convert(value)
            values.append(value)
        params.append(tuple(values))
    last = 0
    for start in range(0, len(params), _rows_per_statement(len(converts))):
        page = params[start : start + _rows_per_statement(len(converts))]
        statement = sql + ", ".join([one] * len(page))
        flat = [value for values in page for value in values]
        await connection.exec_driver_sql(statement, tuple(flat))
        last = (await connection.exec_driver_sql("SELECT last_insert_rowid()")).scalar_one()
    return list(range(last - len(rows) + 1, last + 1))


def _rows_per_statement(columns: int) -> int:
    """How many rows of ``columns`` values one statement may carry (SQLite's limit on
    parameters, 32,766 since 3.32)."""
    return max(1, _MAX_PARAMETERS // columns)
