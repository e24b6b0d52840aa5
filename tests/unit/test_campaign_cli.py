"""``coccinelle campaign list|show|pause|resume`` on the demo data, and bad ids."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.campaigns.model import CampaignProgress
from core.demo.campaigns import CAMPAIGN_NAME
from core.demo.seeder import seed_demo
from core.domain.enums import CampaignStatus
from core.service import InboxService
from core.storage.database import Database, sqlite_url
from inbox_app.cli import main

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def in_demo(url: str, work):
    async def run():
        db = await Database.open(url)
        try:
            return await work(await InboxService.connect(db, "demo", clock=lambda: NOW))
        finally:
            await db.close()

    return asyncio.run(run())


@pytest.fixture
def demo_url(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "demo.db")

    async def seed():
        db = await Database.open(url)
        try:
            await seed_demo(db, now=NOW)
        finally:
            await db.close()

    asyncio.run(seed())
    return url


def run(capsys, url: str, *args: str) -> tuple[int, str, str]:
    code = main(["--language", "en", "--database-url", url, "campaign", *args])
    out, err = capsys.readouterr()
    return code, out, err


def progress(url: str) -> CampaignProgress:
    return in_demo(url, lambda s: s.campaigns.progress(1))


def test_list_names_each_campaign_with_its_counts(capsys, demo_url) -> None:
    code, out, err = run(capsys, demo_url, "list")
    counts = progress(demo_url)
    assert code == 0 and not err
    assert out.strip() == (
        f"#1  {CAMPAIGN_NAME}  [running]  enrolled {counts.enrolled}, active {counts.active}, "
        f"completed {counts.completed}, left {counts.left}"
    )


def test_show_gives_each_step_and_its_progress(capsys, demo_url) -> None:
    code, out, _ = run(capsys, demo_url, "show", "1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"#1  {CAMPAIGN_NAME}  [running]"
    assert lines[2] == "Step 1: SMS, at once, template follow_up, always"
    assert lines[4] == "Step 2: Email, after 2 days, template follow_up, if no reply"
    for position, step in enumerate(progress(demo_url).steps):
        assert (
            lines[3 + 2 * position].split()
            == (
                f"waiting {step.waiting}, queued {step.queued}, deferred {step.deferred}, "
                f"sent {step.sent}, failed {step.failed}, skipped {step.skipped}, left {step.left}"
            ).split()
        )


def test_pause_then_resume_writes_the_status(capsys, demo_url) -> None:
    assert run(capsys, demo_url, "pause", "1")[0] == 0
    assert in_demo(demo_url, lambda s: s.campaigns.get(1)).status == CampaignStatus.PAUSED
    code, _, err = run(capsys, demo_url, "pause", "1")
    assert code == 2 and err.startswith("error: ") and "paused" in err
    code, out, _ = run(capsys, demo_url, "resume", "1")
    assert code == 0 and "running again" in out
    assert in_demo(demo_url, lambda s: s.campaigns.get(1)).status == CampaignStatus.RUNNING


@pytest.mark.parametrize("action", ["show", "pause", "resume"])
@pytest.mark.parametrize("bad", ["99", "abc", "-1", "0"])
def test_a_bad_id_is_one_clear_error_line(capsys, demo_url, action, bad) -> None:
    code, out, err = run(capsys, demo_url, action, bad)
    assert code == 2 and not out
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "campaign" in err and "Traceback" not in err
    assert in_demo(demo_url, lambda s: s.campaigns.get(1)).status == CampaignStatus.RUNNING
