"""SQLite faults: a full disk, a locked file, a damaged file.

Each gives a clear error naming the file (never a raw driver traceback), keeps nothing of the
failed write (a message and its conversation's counters go together or not at all), and the next
write succeeds once the fault is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text

from core.errors import NotADatabase, StorageError
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database, sqlite_url
from tests.factories import add_message, add_prospect


async def _snapshot(service: InboxService, conversation_id: int) -> tuple[int, int, str]:
    """(number of messages, unread count, preview) of a conversation."""
    async with service.db.session() as session:
        count = await session.scalar(
            select(func.count()).where(t.MessageRow.conversation_id == conversation_id)
        )
        conversation = await session.get(t.ConversationRow, conversation_id)
        assert conversation is not None
        return int(count or 0), conversation.unread_count, conversation.last_message_preview


async def _service_with_a_conversation(path: Path, clock) -> tuple[InboxService, int, int]:
    db = await Database.open(sqlite_url(path))
    service = await InboxService.connect(db, "acme", clock=clock)
    prospect = await add_prospect(service, "Paul Martin", phone="0612345678")
    conversation_id, _ = await add_message(service, prospect, "Bonjour, toujours dispo ?")
    return service, prospect, conversation_id


# -- a full disk ---------------------------------------------------------------------------------


def _limit_pages(db: Database, pages: int) -> None:
    """Every new connection may not grow the file past ``pages`` pages (a full disk)."""

    @event.listens_for(db.engine.sync_engine, "connect")
    def _limit(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")


async def test_full_disk_simulated_keeps_nothing_half_written(tmp_path: Path, clock) -> None:
    path = tmp_path / "inbox.db"
    service, prospect, conversation_id = await _service_with_a_conversation(path, clock)
    try:
        before = await _snapshot(service, conversation_id)
        async with service.db.session() as session:
            pages = await session.scalar(text("PRAGMA page_count"))
        await service.db.engine.dispose()
        _limit_pages(service.db, int(pages))

        with pytest.raises(StorageError) as caught:
            await add_message(service, prospect, "x" * 200_000)
        assert str(path) in str(caught.value)
        assert "full" in str(caught.value)
        assert "Traceback" not in str(caught.value)
    finally:
        await service.close()

    # Space again: the same file reopens, the failed write left nothing, the next one works.
    db = await Database.open(sqlite_url(path))
    service = await InboxService.connect(db, "acme", clock=clock)
    try:
        assert await _snapshot(service, conversation_id) == before
        await add_message(service, prospect, "Je passe demain")
        count, unread, preview = await _snapshot(service, conversation_id)
        assert (count, unread, preview) == (before[0] + 1, before[1] + 1, "Je passe demain")
    finally:
        await service.close()


@contextlib.contextmanager
def _tiny_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir()
    try:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {exc}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, capture_output=True)


def _fill(folder: Path) -> Path:
    """Fill the file system holding ``folder``; returns the filler file."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
async def test_full_tmpfs_gives_a_clear_error_and_recovers(tmp_path: Path, clock) -> None:
    with _tiny_tmpfs(tmp_path / "small", "4m") as folder:
        path = folder / "inbox.db"
        service, prospect, conversation_id = await _service_with_a_conversation(path, clock)
        try:
            before = await _snapshot(service, conversation_id)
            filler = _fill(folder)
            with pytest.raises(StorageError) as caught:
                for _ in range(20):  # the WAL may hold a few pages already
                    await add_message(service, prospect, "y" * 100_000)
            assert str(path) in str(caught.value)
            after_fault = await _snapshot(service, conversation_id)
            # Whatever fitted was written whole (message + counters); nothing half-written.
            assert after_fault[0] - before[0] == after_fault[1] - before[1]

            filler.unlink()
            await add_message(service, prospect, "Après le ménage")
            count, unread, preview = await _snapshot(service, conversation_id)
            assert (count, unread, preview) == (
                after_fault[0] + 1,
                after_fault[1] + 1,
                "Après le ménage",
            )
        finally:
            await service.close()


# -- a locked database ---------------------------------------------------------------------------


async def test_locked_database_is_a_clear_error_and_recovers(tmp_path: Path, clock) -> None:
    path = tmp_path / "inbox.db"
    service, prospect, conversation_id = await _service_with_a_conversation(path, clock)

    @event.listens_for(service.db.engine.sync_engine, "connect")
    def _short_wait(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA busy_timeout = 50")

    await service.db.engine.dispose()
    other = sqlite3.connect(path, isolation_level=None)
    try:
        before = await _snapshot(service, conversation_id)
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StorageError) as caught:
            await add_message(service, prospect, "Pendant le verrou")
        assert str(path) in str(caught.value)
        assert "locked" in str(caught.value)
        other.execute("ROLLBACK")

        assert await _snapshot(service, conversation_id) == before
        await add_message(service, prospect, "Après le verrou")
        assert await _snapshot(service, conversation_id) == (
            before[0] + 1,
            before[1] + 1,
            "Après le verrou",
        )
    finally:
        other.close()
        await service.close()


# -- a damaged file ------------------------------------------------------------------------------


async def test_damaged_file_is_named_and_a_restored_copy_works(tmp_path: Path, clock) -> None:
    path = tmp_path / "inbox.db"
    service, prospect, conversation_id = await _service_with_a_conversation(path, clock)
    for n in range(30):
        await add_message(service, prospect, f"message {n} " + "z" * 500)
    await service.close()
    backup = tmp_path / "backup.db"
    shutil.copy(path, backup)

    size = path.stat().st_size
    with open(path, "r+b") as damaged:
        damaged.seek(size // 2)
        damaged.write(os.urandom(16384))

    with pytest.raises(NotADatabase) as caught:
        db = await Database.open(sqlite_url(path))
        try:
            service = await InboxService.connect(db, "acme", clock=clock)
            for _ in range(3):
                await service.conversations.thread(conversation_id)
                await add_message(service, prospect, "sur un fichier abîmé")
            with sqlite3.connect(path) as check:  # the file really is damaged
                check.execute("PRAGMA quick_check").fetchall()
        finally:
            await db.close()
    message = str(caught.value)
    assert str(path) in message
    assert "damaged" in message
    assert "Traceback" not in message and "sqlite3" not in message

    shutil.copy(backup, path)
    db = await Database.open(sqlite_url(path))
    service = await InboxService.connect(db, "acme", clock=clock)
    try:
        count, _, _ = await _snapshot(service, conversation_id)
        assert count == 31
        await add_message(service, prospect, "restauré")
    finally:
        await service.close()
