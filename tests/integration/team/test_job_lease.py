"""Once-per-tenant jobs run in one process at a time, and move on when that process dies."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import textwrap

import pytest

from core.team.lease import JobLease
from tests.integration.team.helpers import open_core, until

pytestmark = pytest.mark.postgres


def _recording_job(runs: list[str], who: str, active: list[int] | None = None):
    async def job(stop: asyncio.Event) -> None:
        runs.append(who)
        if active is not None:
            active.append(active[-1] + 1)
        try:
            await stop.wait()
        finally:
            if active is not None:
                active.append(active[-1] - 1)

    return job


async def test_only_one_process_runs_a_job_and_another_takes_over(pg_schema) -> None:
    first, second = await open_core(pg_schema), await open_core(pg_schema)
    runs: list[str] = []
    active = [0]  # how many run at once, after each start and end
    stop = asyncio.Event()
    leases = [JobLease(core.team.bridge, retry=0.1, grace=0.3) for core in (first, second)]
    tasks = [
        asyncio.create_task(lease.exclusive("reminders", _recording_job(runs, name, active))(stop))
        for lease, name in zip(leases, ("first", "second"), strict=True)
    ]
    try:
        await until(lambda: len(runs) == 1)
        await asyncio.sleep(0.5)  # several retries of the other process
        assert len(runs) == 1
        holder = 0 if runs == ["first"] else 1
        # The holder loses its connection (as when its machine dies): its job is told to stop
        # and the job runs again in whichever process takes the lock next (the other, or the
        # same one once reconnected), never in two at once.
        conn = (first, second)[holder].team.bridge._connection
        await (first, second)[1 - holder].team.bridge._connection.execute(
            "SELECT pg_terminate_backend($1)", conn.get_server_pid()
        )
        await until(lambda: len(runs) >= 2)
        assert max(active) == 1
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await first.close()
        await second.close()


async def test_another_process_takes_a_job_over_after_a_sigkill(pg_schema) -> None:
    script = textwrap.dedent(
        f"""
        import asyncio
        from core.service import InboxService
        from core.storage.database import Database

        async def main():
            db = await Database.open({pg_schema.base_url!r}, **{pg_schema.engine_options!r})
            service = await InboxService.connect(db, "acme")
            await service.team.start()

            async def job(stop):
                print("holding", flush=True)
                await stop.wait()

            await service.team.lease.exclusive("analytics", job)(asyncio.Event())

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    # The schema is created first: two processes creating it at once collide in the catalogue.
    local = await open_core(pg_schema)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE, env=env
    )
    runs: list[str] = []
    stop = asyncio.Event()
    lease = JobLease(local.team.bridge, retry=0.1, grace=0.3)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line.strip() == b"holding"
        task = asyncio.create_task(lease.exclusive("analytics", _recording_job(runs, "me"))(stop))
        await asyncio.sleep(0.5)
        assert runs == []  # the other process holds it
        process.send_signal(signal.SIGKILL)
        await process.wait()
        await until(lambda: runs == ["me"], timeout=10)
        stop.set()
        await task
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await local.close()


async def test_on_sqlite_the_job_simply_runs(tmp_path) -> None:
    from core.service import InboxService
    from core.storage.database import Database, sqlite_url

    db = await Database.open(sqlite_url(tmp_path / "one.db"))
    service = await InboxService.connect(db, "acme")
    runs: list[str] = []
    stop = asyncio.Event()
    job = _recording_job(runs, "only")
    assert service.team.lease.exclusive("reminders", job) is job
    task = asyncio.create_task(service.team.lease.exclusive("reminders", job)(stop))
    await until(lambda: runs == ["only"])
    stop.set()
    await task
    await service.close()
