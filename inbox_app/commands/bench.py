"""``coccinelle bench``: generate (or reuse) a dataset and measure what users feel."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from core.config.settings import Settings
from core.i18n import t

SCALES = ("small", "medium", "large")
NAMES = (
    "search",
    "inbox",
    "decide",
    "ingest",
    "ingest_drain",
    "ingest_drain_pg",
    "startup",
    "broadcast",
    "broadcast_e2e",
    "broadcast_pg",
    "keys",
    "team",
    "inbound_mail",
    "serve",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``bench``."""
    parser = subparsers.add_parser("bench", help=t("bench.help"))
    parser.add_argument("--scale", choices=SCALES, default="small", help=t("bench.scale_help"))
    parser.add_argument("--json", type=Path, metavar="FILE", help=t("bench.json_help"))
    parser.add_argument("--database", type=Path, metavar="PATH", help=t("bench.database_help"))
    parser.add_argument(
        "--only",
        nargs="+",
        choices=NAMES,
        metavar="NAME",
        help=t("bench.only_help", names=", ".join(NAMES)),
    )
    parser.add_argument("--runs", type=_positive, default=5, help=t("bench.runs_help"))
    parser.add_argument("--duration", type=_seconds, default=10.0, help=t("bench.duration_help"))
    parser.add_argument("--seed", type=int, default=7, help=t("bench.seed_help"))
    parser.set_defaults(handler=bench_command)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(t("bench.not_positive", value=text))
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(t("bench.not_seconds", value=text))
    return value


async def _serve(ctx: object) -> list[object]:
    """Memory per browser session of ``coccinelle serve`` (runs the server and its apps)."""
    from inbox_app.bench_serve import measure

    return await measure(ctx)  # type: ignore[arg-type]


async def _keys(ctx: object) -> list[object]:
    """Keypress to repaint (needs Textual, hence measured from the app's side)."""
    from inbox_app.bench_keys import measure

    return await measure(ctx)  # type: ignore[arg-type]


def bench_command(args: argparse.Namespace, settings: Settings) -> int:
    """Run the benchmark, print the table, write the JSON if asked."""
    from core.bench.context import BenchContext
    from core.bench.dataset import cache_path, ensure_dataset
    from core.bench.runner import MEASUREMENTS, run
    from core.bench.table import render

    path = args.database or cache_path(settings.data_dir, args.scale, args.seed)
    print(t("bench.dataset", scale=args.scale, path=path), file=sys.stderr, flush=True)
    dataset = asyncio.run(ensure_dataset(path, args.scale, args.seed))
    ctx = BenchContext(dataset, runs=args.runs, duration=args.duration)

    def progress(name: str) -> None:
        print(t("bench.running", name=name), file=sys.stderr, flush=True)

    report = asyncio.run(
        run(ctx, {**MEASUREMENTS, "keys": _keys, "serve": _serve}, args.only, progress)
    )
    print(render(report))
    if args.json:
        try:
            args.json.write_text(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
        except OSError as exc:
            print(t("cli.error", message=f"{args.json}: {exc.strerror}"), file=sys.stderr)
            return 2
        print(t("bench.json_written", path=args.json), file=sys.stderr)
    return 1 if report.failed else 0
