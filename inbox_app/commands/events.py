"""``coccinelle events failed|retry|show``: provider events ingest could not apply.

An event that keeps failing is parked (never dropped); these commands list them with the
reason, show one (its headers and a cleaned preview of its body) and put them back in the
ingest queue once the cause is fixed.
"""

from __future__ import annotations

import argparse
import json

from core.config.settings import Settings
from core.i18n import t
from core.sanitize import clean_line
from inbox_app.commands.common import run_with_service


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``events`` and its sub-commands."""
    parser = subparsers.add_parser("events", help=t("events.help"))
    actions = parser.add_subparsers(dest="events_action", required=True)
    failed = actions.add_parser("failed", help=t("events.failed_help"))
    failed.set_defaults(handler=failed_command)
    retry = actions.add_parser("retry", help=t("events.retry_help"))
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help=t("events.ids_help"))
    retry.add_argument("--all", action="store_true", help=t("events.all_help"))
    retry.set_defaults(handler=retry_command)
    show = actions.add_parser("show", help=t("events.show_help"))
    show.add_argument("id", type=int, metavar="ID")
    show.set_defaults(handler=show_command)


def failed_command(args: argparse.Namespace, settings: Settings) -> int:
    """List parked events, then those waiting for their next attempt."""

    async def work(service):  # type: ignore[no-untyped-def]
        return await service.inbound_events.parked(), await service.inbound_events.retrying()

    parked, retrying = run_with_service(settings, work)
    if not parked and not retrying:
        print(t("events.none"))
        return 0
    if parked:
        print(t("events.parked_header", count=len(parked)))
        for event in parked:
            print(_row(event))
        print(t("events.retry_hint"))
    if retrying:
        print(t("events.retrying_header", count=len(retrying)))
        for event in retrying:
            print(_row(event))
    return 1 if parked else 0


def retry_command(args: argparse.Namespace, settings: Settings) -> int:
    """Put parked events back in the queue."""
    if not args.ids and not args.all:
        print(t("events.retry_what"))
        return 2

    async def work(service):  # type: ignore[no-untyped-def]
        return await service.inbound_events.retry(None if args.all else args.ids)

    count = run_with_service(settings, work)
    print(t("events.requeued", count=count))
    return 0 if count else 1


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    """One event: what, why, and what it says."""

    async def work(service):  # type: ignore[no-untyped-def]
        return await service.inbound_events.show(args.id)

    detail = run_with_service(settings, work)
    print(_row(detail.event))
    print(t("events.content_type", value=detail.content_type or "-"))
    print(t("events.headers"))
    print(clean_line(json.dumps(detail.headers, ensure_ascii=False), max_length=4000))
    print(t("events.body", size=detail.body_bytes))
    print(detail.body_preview)
    return 0


def _row(event) -> str:  # type: ignore[no-untyped-def]
    when = event.next_attempt_at.isoformat(timespec="seconds") if event.next_attempt_at else "-"
    return t(
        "events.row",
        id=event.id,
        endpoint=event.endpoint,
        channel=event.channel or "-",
        status=t(f"events.status_{event.status}"),
        attempts=t("events.attempts", count=event.attempts),
        received=event.received_at.isoformat(timespec="seconds"),
        next=when,
        error=clean_line(event.error, max_length=300),
    )
