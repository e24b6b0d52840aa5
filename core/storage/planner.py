"""Steering SQLite's query planner where it picks the wrong index.

SQLite plans without statistics (no ``ANALYZE`` is run): given ``tenant_id = ?`` and
``status IN (…)``, it prefers the single-column tenant index, which holds every row of the
tenant, over the status index, which holds the few rows still due; given ``id IN (…)`` and
``status IN (…)``, it prefers the status index over a hundred primary-key looks. A broadcast of
100k rows then walks all of them at each round of 100 (issue 17).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement


def not_indexed(column: Any) -> ColumnElement[Any]:
    """The same value, which no index answers, so that the planner takes another index:
    ``column + 0`` for an integer column, ``column || ''`` for a text one.

    For a column compared for equality whose other conditions have a better index
    (PostgreSQL plans with statistics and is not hurt)."""
    integer = column.type.python_type is int
    expression: ColumnElement[Any] = column + 0 if integer else column.concat("")
    return expression
