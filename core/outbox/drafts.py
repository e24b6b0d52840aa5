"""Checking and rendering what an agent wants to send, before anything is queued."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.decision import ReplyDraft
from core.domain.enums import ApprovalStatus, Channel
from core.domain.tenant_settings import TenantSettings
from core.errors import InvalidInput
from core.i18n import t as tr
from core.orchestrator.channels import HARD_LIMITS
from core.storage import tables as t
from core.templates.render import render_text


@dataclass(frozen=True)
class Prepared:
    """A draft with its template rendered, and the WhatsApp template reference if any."""

    draft: ReplyDraft
    template: dict[str, Any] | None = None


def variables_for(prospect: t.ProspectRow, settings: TenantSettings) -> dict[str, str]:
    """The variables every template may use about the prospect and the agency."""
    name = prospect.display_name or ""
    return {
        "name": name,
        "firstName": name.split(" ")[0] if name else "",
        "first_name": name.split(" ")[0] if name else "",
        "companyName": settings.company.name,
        "company": settings.company.name,
    }


async def prepare(
    session: AsyncSession,
    tenant_id: int,
    draft: ReplyDraft,
    prospect: t.ProspectRow,
    settings: TenantSettings,
) -> Prepared:
    """Render ``draft``'s template and check it is not empty.

    Raises:
        InvalidInput: unknown template id, a missing variable (named), or nothing to send.
    """
    template_ref = None
    if draft.template_id is not None:
        row = await session.get(t.MessageTemplateRow, draft.template_id)
        if row is None or row.tenant_id != tenant_id:
            raise InvalidInput(
                "template", draft.template_id, tr("orchestrator.error.template_unknown")
            )
        values = {**variables_for(prospect, settings), **draft.variables}
        declared = tuple(row.variables or ())
        text = render_text(row.content, values, declared).text
        html = render_text(row.html, values, declared).text if row.html else draft.html
        subject = draft.subject or (render_text(row.subject, values).text if row.subject else None)
        draft = draft.model_copy(
            update={"text": draft.text or text, "html": html, "subject": subject}
        )
        if row.whatsapp_name and row.approval_status == ApprovalStatus.APPROVED:
            template_ref = {
                "name": row.whatsapp_name,
                "language": row.language,
                "parameters": [str(values.get(v, "")) for v in declared],
                "content_sid": row.content_sid,
            }
    if not (draft.text.strip() or draft.html or draft.attachments or draft.share_location):
        raise InvalidInput("text", draft.text, tr("orchestrator.error.empty"))
    return Prepared(draft, template_ref)


def check_length(draft: ReplyDraft, channel: Channel) -> None:
    """Refuse a text longer than ``channel`` accepts.

    Raises:
        InvalidInput: names the channel, the length and the limit.
    """
    limit = HARD_LIMITS.get(channel)
    if limit is not None and len(draft.text) > limit:
        raise InvalidInput(
            "text",
            f"{len(draft.text)} characters",
            tr("orchestrator.error.too_long", limit=limit, channel=tr(f"common.channel.{channel}")),
        )
