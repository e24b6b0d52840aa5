"""How many rows an UPDATE or DELETE changed, typed.

SQLAlchemy types ``session.execute()`` as the generic ``Result``, whose type has no ``rowcount``;
a data-changing statement always answers a ``CursorResult``, which has it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult, Result
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.base import Executable


def rows_changed(result: Result[Any]) -> int:
    """The number of rows the UPDATE or DELETE behind ``result`` matched."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no row count")
    return result.rowcount


async def execute_changes(session: AsyncSession, statement: Executable) -> int:
    """Run an UPDATE or DELETE in ``session``; the number of rows it matched."""
    return rows_changed(await session.execute(statement))
