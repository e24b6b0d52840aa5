"""The end-to-end broadcast's observer (``core.bench.broadcast_e2e_run``), in a process of its
own so that counting is not the app's CPU:

    python -m core.bench.status_poll DATABASE BROADCAST_ID

Prints, every ``POLL_SECONDS`` until its standard input closes, one JSON line: the
broadcast's messages by status (a refused prospect, with no message: ``none``). Reads with
plain ``sqlite3``, read-only.
"""

from __future__ import annotations

import json
import os
import select
import sqlite3
import sys
from pathlib import Path

#: How often the statuses are counted (a count competes with the workers for the database).
POLL_SECONDS = 1.0
COUNT = (
    "SELECT m.status, count(*) FROM outbox o LEFT JOIN messages m ON m.id = o.message_id "
    "WHERE o.broadcast_id = ? GROUP BY m.status"
)


def counts(connection: sqlite3.Connection, broadcast_id: str) -> dict[str, int]:
    """The broadcast's messages by status."""
    rows = connection.execute(COUNT, (broadcast_id,)).fetchall()
    return {str(status or "none"): int(n) for status, n in rows}


def main(path: Path, broadcast_id: str) -> None:
    """Count until standard input closes."""
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        while True:
            print(json.dumps(counts(connection, broadcast_id)), flush=True)
            ready, _, _ = select.select([sys.stdin], [], [], POLL_SECONDS)
            if ready and not os.read(sys.stdin.fileno(), 4096):
                return
    finally:
        connection.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
