"""The Telegram bot's commands, answered from real data.

/start, /rdv, /nouveau_rdv, /annuler, /info, /contact and /help. Appointments come from the
database, the company's details from the tenant settings. /nouveau_rdv offers the next free
slots as buttons and /annuler the prospect's appointments (``core.booking.chat``); /contact,
and /nouveau_rdv when no slot is free, are answered and also left for an agent.
"""

from __future__ import annotations

from core.booking import chat as booking
from core.domain.appointment_display import kind_in, when_of
from core.domain.tenant_settings import Company
from core.i18n.prospect import prospect_language
from core.i18n.sara import say
from core.pipeline.replies import queue_reply
from core.storage import tables as t
from core.storage.inbound_step import IngestStep

#: Commands that want a person: answered, but the message stays unread for the agents.
FOR_AN_AGENT = frozenset({"contact"})


async def answer(
    step: IngestStep, prospect: t.ProspectRow, conversation: t.ConversationRow, command: str
) -> bool:
    """Answer ``command``; returns whether Sara fully handled it."""
    language = prospect_language(prospect.language, step.settings.language)
    if command == "annuler":
        return await booking.cancel_menu(step, prospect, conversation)
    if command == "nouveau_rdv":
        offered = await booking.offer(step, prospect, conversation, reply_kind="cmd_nouveau_rdv")
        return offered > 0
    text = await _text(step, prospect, command, language)
    await queue_reply(step, conversation, text, kind=f"cmd_{command}")
    return command not in FOR_AN_AGENT


async def _text(step: IngestStep, prospect: t.ProspectRow, command: str, language: str) -> str:
    company = step.settings.company
    match command:
        case "start":
            if not company.name:
                return say(language, "cmd_start_unnamed", name=prospect.display_name)
            return say(language, "cmd_start", name=prospect.display_name, company=company.name)
        case "rdv":
            return await _appointments(step, prospect, language)
        case "info":
            return _info(company, language)
        case "contact":
            return _contact(company, language)
        case "help":
            lines = [f"/{c.command} — {c.description}" for c in step.settings.telegram_commands]
            return say(language, "cmd_help", commands="\n".join(lines))
    return say(language, "cmd_unknown")


def _info(company: Company, language: str) -> str:
    """The company's details the tenant filled in; else that an adviser will answer."""
    lines = [company.name, company.address]
    if company.opening_hours:
        lines.append(say(language, "cmd_info_hours", hours=company.opening_hours))
    lines.append(company.website)
    known = [line for line in lines if line.strip()]
    return "\n".join(known) if known else say(language, "cmd_agent_will_answer")


def _contact(company: Company, language: str) -> str:
    """How to reach the agency, with only the details the tenant filled in."""
    ways = [way for way in (company.phone, company.email) if way.strip()]
    if not ways:
        return say(language, "cmd_agent_will_answer")
    return say(language, "cmd_contact_ways", ways=say(language, "or").join(ways))


async def _appointments(step: IngestStep, prospect: t.ProspectRow, language: str) -> str:
    rows = await booking.upcoming(step, prospect.id)
    if not rows:
        return say(language, "cmd_rdv_none")
    lines = [say(language, "cmd_rdv_header")]
    for row in rows:
        lines.append(
            say(
                language,
                "cmd_rdv_line",
                when=when_of(row.starts_at, step.settings.timezone, prospect.timezone, language),
                kind=kind_in(language, row.kind, step.settings.booking),
                status=say(language, f"status_{row.status}"),
                location=f", {row.location}" if row.location else "",
            )
        )
    return "\n".join(lines)
