"""Benchmark datasets on disk: generated once per scale and seed, then reused.

A dataset is an SQLite file in ``<data dir>/bench/`` named for its scale and seed. It is built
under a temporary name and renamed when complete, so an interrupted build is never reused.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from core.bench.generate import SCALES, generate
from core.errors import InvalidInput
from core.storage.database import Database, sqlite_url

TENANT = "bench"


@dataclass(frozen=True)
class BenchDataset:
    """A ready dataset file."""

    path: Path
    scale: str
    seed: int
    conversations: int
    messages: int
    tenant: str = TENANT
    built: bool = False
    """True when this run generated it, False when it was reused."""


def cache_path(data_dir: Path, scale: str, seed: int) -> Path:
    """Where the dataset of ``scale`` and ``seed`` lives."""
    # v2: the large scale has 100k prospects (was 66,666); an older file is not reused.
    return data_dir / "bench" / f"{scale}-seed{seed}-v2.db"


async def ensure_dataset(path: Path, scale: str, seed: int) -> BenchDataset:
    """The dataset at ``path``: reused if complete, else generated there."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}")
    counts = _existing_counts(path)
    if counts is not None:
        return BenchDataset(path, scale, seed, *counts)
    if path.exists():
        raise InvalidInput("bench database", path, "a bench dataset or a file that does not exist")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".building")
    for leftover in path.parent.glob(partial.name + "*"):
        leftover.unlink()
    db = await Database.open(sqlite_url(partial))
    try:
        made = await generate(db, scale, seed=seed, tenant=TENANT)
    finally:
        await db.close()
    with closing(sqlite3.connect(partial)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for leftover in path.parent.glob(partial.name + "-*"):
        leftover.unlink()
    partial.rename(path)
    return BenchDataset(path, scale, seed, made.conversations, made.messages, built=True)


def _existing_counts(path: Path) -> tuple[int, int] | None:
    """(conversations, messages) of the bench tenant in an existing file, or None."""
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            row = con.execute(
                "SELECT (SELECT count(*) FROM conversations c WHERE c.tenant_id = t.id),"
                " (SELECT count(*) FROM messages m WHERE m.tenant_id = t.id)"
                " FROM tenants t WHERE t.slug = ?",
                (TENANT,),
            ).fetchone()
    except sqlite3.DatabaseError:
        return None
    if row is None or not row[0]:
        return None
    return int(row[0]), int(row[1])
