"""``coccinelle bench`` runs end to end on the small scale (a smoke test: no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.bench.results import Result, Summary, Target, percentile
from core.i18n import t
from inbox_app.cli import main

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COCCINELLE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COCCINELLE_LANGUAGE", "en")
    return tmp_path / "data"


def _labels(results: list[dict]) -> list[str]:
    return [t(f"bench.name.{r['name']}") for r in results]


def test_small_bench_prints_and_writes_every_measurement(data_dir, tmp_path, capsys) -> None:
    out = tmp_path / "bench.json"
    argv = ["bench", "--scale", "small", "--runs", "1", "--json", str(out)]
    code = main([*argv, "--only", "search", "inbox", "decide", "broadcast"])
    printed = capsys.readouterr().out
    assert code == 0
    report = json.loads(out.read_text())
    names = {r["name"] for r in report["results"]}
    assert {"search.inbox", "search.messages", "inbox.first_page", "inbox.thread"} <= names
    assert {"decide.reference", "decide.orchestrator"} <= names
    assert {"broadcast.queue_rate", "broadcast.peak_rss"} <= names
    queued = next(r for r in report["results"] if r["name"] == "broadcast.queue_rate")
    assert queued["details"]["progress"]["total"] == queued["details"]["prospects"] > 0
    bare = next(r for r in report["results"] if r["name"] == "broadcast.bare_sqlite")
    assert bare["details"]["outbox"] == queued["details"]["prospects"]
    assert queued["reference"] == "broadcast.bare_sqlite" and queued["ratio"] > 0
    assert all(label in printed for label in _labels(report["results"]))
    assert report["machine"]["cpus"] >= 1
    assert report["dataset"]["conversations"] == 1_000
    for result in report["results"]:
        assert result["summary"]["runs"] >= 1 and result["summary"]["median"] > 0
    searched = next(r for r in report["results"] if r["name"] == "search.inbox")
    assert searched["ratio"] > 0 and searched["met"] in (True, False)

    # The dataset is cached per scale and seed, and reused by the next run.
    cached = data_dir / "bench" / "small-seed7-v2.db"
    assert cached.exists()
    before = cached.stat().st_mtime_ns
    assert main(["bench", "--scale", "small", "--runs", "1", "--only", "inbox"]) == 0
    assert cached.stat().st_mtime_ns == before


def _end_to_end(tmp_path: Path) -> tuple[dict, dict]:
    """``--only broadcast_e2e`` at the small scale: its rate and peak rows."""
    out = tmp_path / "bench.json"
    argv = ["bench", "--scale", "small", "--runs", "1", "--json", str(out)]
    assert main([*argv, "--only", "broadcast_e2e"]) == 0
    report = json.loads(out.read_text())
    rate = next(r for r in report["results"] if r["name"] == "broadcast.end_to_end_rate")
    peak = next(r for r in report["results"] if r["name"] == "broadcast.end_to_end_peak_rss")
    details = rate["details"]
    assert details["prospects"] == details["settled"] == 12
    assert sum(details["statuses"].values()) == 12
    assert set(details["statuses"]) <= {"delivered", "read"}  # none failed, none still queued
    assert rate["summary"]["median"] > 0 and peak["summary"]["median"] > 0
    # the sandbox in a process of its own: its CPU is the providers', not counted as the app's
    assert details["cpu_ms_per_message"] > 0 and details["sandbox_cpu_ms_per_message"] > 0
    return rate, peak


def test_broadcast_end_to_end_waits_for_every_status(data_dir, tmp_path, monkeypatch) -> None:
    """Queued, sent to the sandbox, each status back through the relay: the rate counts only
    messages whose final status was applied, and the run waits for all of them."""
    from core.bench import broadcast

    monkeypatch.setattr(broadcast, "END_TO_END_PROSPECTS", {"small": 12})
    rate, _ = _end_to_end(tmp_path)
    assert "in its event loop" in rate["details"]["process"]
    assert "ingest_cpu_ms_per_message" not in rate["details"]


def test_broadcast_end_to_end_with_ingest_in_its_own_process(
    data_dir, tmp_path, monkeypatch
) -> None:
    """With the relay's ingest in a process of its own (as ``coccinelle relay`` runs it), that
    process applies every status (the app's has no ingest then), and its CPU and memory are
    counted as the app's."""
    from core.bench import broadcast

    monkeypatch.setattr(broadcast, "END_TO_END_PROSPECTS", {"small": 12})
    monkeypatch.setattr(broadcast, "END_TO_END_INGEST_PROCESS", True)
    rate, peak = _end_to_end(tmp_path)
    details = rate["details"]
    main_cpu, ingest_cpu = details["main_cpu_ms_per_message"], details["ingest_cpu_ms_per_message"]
    assert main_cpu > 0 and ingest_cpu > 0
    assert details["cpu_ms_per_message"] == pytest.approx(main_cpu + ingest_cpu, abs=0.002)
    assert details["main_peak_rss_mb"] > 0 and details["ingest_peak_rss_mb"] > 0
    both = details["main_peak_rss_mb"] + details["ingest_peak_rss_mb"]
    assert peak["summary"]["median"] == pytest.approx(both, abs=0.1)


def test_startup_measures_the_app_to_its_first_painted_page(data_dir, tmp_path) -> None:
    """In fresh processes, as users start it: the app exits by itself after its first paint."""
    out = tmp_path / "startup.json"
    argv = ["bench", "--scale", "small", "--runs", "1", "--only", "startup", "--json", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "inbox_app.cli", *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())["results"]
    names = [r["name"] for r in results]
    assert names == [
        "startup.python",
        "startup.import_textual",
        "startup.minimal_app",
        "startup.app",
        "startup.app_memory",
    ]
    memory = results[-1]
    assert memory["unit"] == "MB" and memory["summary"]["median"] > 10
    assert all(label in done.stdout for label in _labels(results))
    assert "Traceback" not in done.stderr


def test_bad_input_is_refused_clearly(data_dir, tmp_path, capsys) -> None:
    not_a_dataset = tmp_path / "notes.db"
    not_a_dataset.write_text("my notes, not a database")
    assert main(["bench", "--database", str(not_a_dataset), "--only", "inbox"]) == 2
    assert "bench database" in capsys.readouterr().err
    assert not_a_dataset.read_text() == "my notes, not a database"
    bad = (["--runs", "0"], ["--only", "everything"], ["--scale", "huge"], ["--duration", "-1"])
    for argv in (*bad, ["--duration", "soon"]):
        with pytest.raises(SystemExit) as exited:
            main(["bench", *argv])
        assert exited.value.code == 2


def test_an_unwritable_json_file_is_a_clear_error(data_dir, tmp_path, capsys) -> None:
    target = tmp_path / "missing-dir" / "bench.json"
    argv = ["bench", "--runs", "1", "--only", "inbox", "--json", str(target)]
    assert main(argv) == 2
    assert "missing-dir" in capsys.readouterr().err


def test_ratios_are_costs_relative_to_the_reference() -> None:
    assert percentile([5, 1, 3, 2, 4], 50) == 3 and percentile(list(range(1, 101)), 95) == 95
    fast, slow = Summary.of([1.0, 1.0]), Summary.of([4.0, 4.0])
    latency = Result(
        "search.inbox", "ms", slow, "median", "search.reference", fast, Target("median", 3)
    )
    assert latency.ratio == 4.0 and latency.met is False
    rate = Result("decide.orchestrator", "/s", fast, "median", "decide.reference", slow)
    assert rate.ratio == 4.0 and rate.met is None


def test_keys_are_measured_in_the_app_with_pilot(data_dir, tmp_path) -> None:
    out = tmp_path / "keys.json"
    argv = ["bench", "--scale", "small", "--runs", "1", "--only", "keys", "--json", str(out)]
    assert main(argv) == 0
    results = {r["name"]: r for r in json.loads(out.read_text())["results"]}
    keys = {"keys.move", "keys.open", "keys.back", "keys.search", "keys.channel", "keys.open_long"}
    keys |= {"keys.open_long_cold"}
    assert keys <= set(results)
    for name in keys:
        assert results[name]["summary"]["runs"] == 10
        assert results[name]["reference"] == "keys.reference"
        assert results[name]["reference_summary"]["runs"] == 10
    # the long thread really is long, and the collector's pauses were watched meanwhile
    assert min(results["keys.open_long"]["details"]["messages"]) >= 100
    assert min(results["keys.open_long_cold"]["details"]["messages"]) >= 100
    assert results["keys.open_long_cold"]["target"] is None  # shown, with no floor
    pauses = results["keys.gc_pause"]
    assert pauses["stat"] == "max" and pauses["target"]["bound"] == 16
    assert set(pauses["details"]) == {"collections", "collected", "longest_ms", "longest_wall_ms"}
    # the conversations opened were read in a copy: the next run finds the same unread ones
    [dataset] = (data_dir / "bench").glob("small-*.db")
    unread = "SELECT count(*) FROM conversations WHERE unread_count > 0"
    before = _scalar(dataset, unread)
    assert main(argv) == 0
    assert _scalar(dataset, unread) == before > 0
    assert [p.name for p in dataset.parent.iterdir() if ".keys." in p.name] == []


def _scalar(path: Path, query: str) -> int:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(path)) as con:
        return int(con.execute(query).fetchone()[0])


async def test_a_broken_measurement_is_reported_and_the_others_still_run(tmp_path) -> None:
    from core.bench.context import BenchContext
    from core.bench.dataset import BenchDataset
    from core.bench.runner import run
    from core.bench.table import render

    async def broken(ctx):
        raise RuntimeError("relay did not start")

    async def fine(ctx):
        return [Result("inbox.counts", "ms", Summary.of([1.0]))]

    dataset = BenchDataset(tmp_path / "x.db", "small", 7, 1, 1)
    report = await run(BenchContext(dataset), {"ingest": broken, "inbox": fine})
    assert report.failed == {"ingest": "RuntimeError: relay did not start"}
    assert [r.name for r in report.results] == ["inbox.counts"]
    assert "relay did not start" in render(report)


def test_relay_ingest_under_load_loses_nothing(data_dir, tmp_path) -> None:
    """Short load on the relay (both variants) and the bare handler: every 2xx has its row."""
    out = tmp_path / "ingest.json"
    argv = ["bench", "--scale", "small", "--runs", "1", "--duration", "1.5"]
    assert main([*argv, "--only", "ingest", "--json", str(out)]) == 0
    results = {r["name"]: r for r in json.loads(out.read_text())["results"]}
    assert set(results) == {
        "ingest.relay_rate",
        "ingest.relay_latency",
        "ingest.relay_store_only_rate",
        "ingest.relay_store_only_latency",
    }
    for name in ("ingest.relay_rate", "ingest.relay_store_only_rate"):
        details = results[name]["details"]
        assert details["answered_2xx"] > 0 and details["failed"] == 0
        # wrk stops with requests in flight: stored, not counted as answered.
        assert details["lost"] == 0 and details["stored"] >= details["answered_2xx"]
        assert details["load_generator"] in ("wrk", "python-aiohttp")


def test_serve_measures_memory_per_browser_session(data_dir, tmp_path) -> None:
    """``coccinelle serve`` in its own process; one session opened through a one-time link."""
    out = tmp_path / "serve.json"
    argv = ["bench", "--scale", "small", "--runs", "1", "--only", "serve", "--json", str(out)]
    assert main(argv) == 0
    results = {r["name"]: r for r in json.loads(out.read_text())["results"]}
    assert list(results) == [
        "serve.minimal_app_memory",
        "serve.session_memory",
        "serve.server_memory",
        "serve.sessions_per_machine",
    ]
    session = results["serve.session_memory"]
    assert session["details"]["sessions"] == 1 and session["summary"]["median"] > 10
    assert session["reference"] == "serve.minimal_app_memory"
    assert results["serve.server_memory"]["summary"]["median"] > 10
    fit = results["serve.sessions_per_machine"]
    assert fit["summary"]["median"] >= 1
    assert fit["details"]["per_session_mb"] == session["summary"]["median"]
