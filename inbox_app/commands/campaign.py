"""``coccinelle campaign list|show|pause|resume``: the tenant's multi-step campaigns."""

from __future__ import annotations

import argparse

from core.config.settings import Settings
from core.i18n import t


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``campaign`` and its sub-commands."""
    parser = subparsers.add_parser("campaign", help=t("campaignsui.cli.help"))
    actions = parser.add_subparsers(dest="campaign_action", required=True)
    listing = actions.add_parser("list", help=t("campaignsui.cli.list_help"))
    listing.set_defaults(handler=list_command)
    for name, handler in (("show", show_command), ("pause", pause_command)):
        action = actions.add_parser(name, help=t(f"campaignsui.cli.{name}_help"))
        action.add_argument("id", help=t("campaignsui.cli.id_help"))
        action.set_defaults(handler=handler)
    resume = actions.add_parser("resume", help=t("campaignsui.cli.resume_help"))
    resume.add_argument("id", help=t("campaignsui.cli.id_help"))
    resume.set_defaults(handler=resume_command)


def campaign_id(value: str) -> int:
    """The campaign number given on the command line.

    Raises:
        InvalidInput: it is not a positive whole number.
    """
    from core.errors import InvalidInput

    if not value.strip().isdigit() or int(value) <= 0:
        raise InvalidInput(
            "campaign id", value, "a campaign number (see: coccinelle campaign list)"
        )
    return int(value)


def list_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print every campaign with its status and enrolment counts."""
    from core.service import InboxService
    from inbox_app.commands.common import run_with_service
    from inbox_app.render.safe import one_line
    from inbox_app.widgets.campaigns.words import status_word

    async def work(service: InboxService) -> list[str]:
        lines = []
        for campaign in await service.campaigns.list():
            progress = await service.campaigns.progress(campaign.id)
            lines.append(
                t(
                    "campaignsui.cli.line",
                    id=campaign.id,
                    name=one_line(campaign.name, 80),
                    status=status_word(campaign.status),
                    enrolled=progress.enrolled,
                    active=progress.active,
                    completed=progress.completed,
                    left=progress.left,
                )
            )
        return lines

    lines = run_with_service(settings, work)
    print("\n".join(lines) if lines else t("campaignsui.cli.none"))
    return 0


def show_command(args: argparse.Namespace, settings: Settings) -> int:
    """Print a campaign's steps, each with its progress counts."""
    from core.service import InboxService
    from inbox_app.commands.common import run_with_service
    from inbox_app.render.safe import one_line
    from inbox_app.widgets.campaigns.words import (
        COUNTS,
        status_word,
        step_channel,
        step_condition,
        step_delay,
    )

    number = campaign_id(args.id)

    async def work(service: InboxService) -> list[str]:
        campaign = await service.campaigns.get(number)
        progress = await service.campaigns.progress(number)
        lines = [
            t(
                "campaignsui.cli.show_title",
                id=campaign.id,
                name=one_line(campaign.name, 80),
                status=status_word(campaign.status),
            ),
            t(
                "campaignsui.cli.show_totals",
                enrolled=progress.enrolled,
                active=progress.active,
                completed=progress.completed,
                left=progress.left,
            ),
        ]
        for step, counts in zip(campaign.steps, progress.steps, strict=True):
            lines.append(
                t(
                    "campaignsui.cli.step",
                    number=step.position + 1,
                    channel=step_channel(step.channel),
                    delay=step_delay(step),
                    template=one_line(step.template, 60),
                    condition=step_condition(step),
                )
            )
            lines.append(
                t("campaignsui.cli.step_counts", **{c: getattr(counts, c) for c in COUNTS})
            )
        return lines

    print("\n".join(run_with_service(settings, work)))
    return 0


def pause_command(args: argparse.Namespace, settings: Settings) -> int:
    """Pause a running campaign."""
    return _set(args, settings, pause=True)


def resume_command(args: argparse.Namespace, settings: Settings) -> int:
    """Resume a paused campaign."""
    return _set(args, settings, pause=False)


def _set(args: argparse.Namespace, settings: Settings, *, pause: bool) -> int:
    from core.service import InboxService
    from inbox_app.commands.common import run_with_service
    from inbox_app.render.safe import one_line

    number = campaign_id(args.id)

    async def work(service: InboxService) -> str:
        campaigns = service.campaigns
        campaign = await (campaigns.pause(number) if pause else campaigns.resume(number))
        key = "campaignsui.cli.paused" if pause else "campaignsui.cli.resumed"
        return t(key, id=campaign.id, name=one_line(campaign.name, 80))

    print(run_with_service(settings, work))
    return 0
