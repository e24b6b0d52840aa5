"""The Telegram bot's commands, answered from real data.

/start, /rdv, /nouveau_rdv, /annuler, /info, /contact and /help. Appointments come from the
database, the company's details from the tenant settings. /nouveau_rdv and /contact are
answered and also left for an agent (they ask for a person).
"""

from __future__ import annotations

from sqlalchemy import select

from core.domain.enums import AppointmentStatus
from core.ingest.context import IngestStep
from core.ingest.replies import queue_reply
from core.intents.recognize import Intent, Recognized
from core.intents.texts import prospect_language, say, when
from core.storage import tables as t

A = t.AppointmentRow
#: Commands that want a person: answered, but the message stays unread for the agents.
FOR_AN_AGENT = frozenset({"nouveau_rdv", "contact"})


async def answer(
    step: IngestStep, prospect: t.ProspectRow, conversation: t.ConversationRow, command: str
) -> bool:
    """Answer ``command``; returns whether Sara fully handled it."""
    language = prospect_language(prospect.language)
    if command == "annuler":
        return await _cancel(step, prospect, conversation, language)
    text = await _text(step, prospect, command, language)
    await queue_reply(step, conversation, text, kind=f"cmd_{command}")
    return command not in FOR_AN_AGENT


async def _text(step: IngestStep, prospect: t.ProspectRow, command: str, language: str) -> str:
    company = step.settings.company
    match command:
        case "start":
            return say(language, "cmd_start", name=prospect.display_name, company=company.name)
        case "rdv":
            return await _appointments(step, prospect, language)
        case "nouveau_rdv":
            return say(language, "cmd_new")
        case "info":
            return say(
                language,
                "cmd_info",
                company=company.name,
                address=company.address,
                hours=company.opening_hours,
                website=company.website,
            )
        case "contact":
            return say(language, "cmd_contact", phone=company.phone, email=company.email)
        case "help":
            lines = [f"/{c.command} — {c.description}" for c in step.settings.telegram_commands]
            return say(language, "cmd_help", commands="\n".join(lines))
    return say(language, "cmd_unknown")


async def _appointments(step: IngestStep, prospect: t.ProspectRow, language: str) -> str:
    query = (
        select(A)
        .where(
            A.prospect_id == prospect.id,
            A.status.in_((AppointmentStatus.PROPOSED, AppointmentStatus.CONFIRMED)),
            A.starts_at >= step.now,
        )
        .order_by(A.starts_at)
        .limit(5)
    )
    rows = (await step.session.execute(query)).scalars().all()
    if not rows:
        return say(language, "cmd_rdv_none")
    lines = [say(language, "cmd_rdv_header")]
    for row in rows:
        kind = say(language, f"kind_{row.kind}") if row.kind == "visit" else row.kind
        lines.append(
            say(
                language,
                "cmd_rdv_line",
                when=when(row.starts_at, language, step.settings.timezone),
                kind=kind,
                status=say(language, f"status_{row.status}"),
                location=f", {row.location}" if row.location else "",
            )
        )
    return "\n".join(lines)


async def _cancel(
    step: IngestStep, prospect: t.ProspectRow, conversation: t.ConversationRow, language: str
) -> bool:
    from core.intents.sara import change_appointment, next_appointment

    appointment = await next_appointment(step, prospect.id)
    if appointment is None:
        await queue_reply(step, conversation, say(language, "no_appointment"), kind="cmd_annuler")
        return True
    recognized = Recognized(Intent.CANCEL, "annuler")
    await change_appointment(step, prospect, conversation, appointment, recognized, None)
    return True
