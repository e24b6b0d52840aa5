"""Message templates: list, create, update, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.domain import models as m
from core.domain.enums import Channel
from core.domain.models import TemplateDraft
from core.errors import InvalidInput, NotFound
from core.storage import convert
from core.storage import tables as t
from core.storage.service_context import ServiceContext
from core.team import audit
from core.templates.library import library_drafts

if TYPE_CHECKING:
    from core.service import InboxService

T = t.MessageTemplateRow


class Templates:
    """The tenant's templates."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def list(
        self, channel: Channel | None = None, language: str | None = None
    ) -> list[m.MessageTemplate]:
        """Templates, by channel then name."""
        query = select(T).where(T.tenant_id == self.ctx.tenant_id)
        if channel:
            query = query.where(T.channel_type == channel)
        if language:
            query = query.where(T.language == language)
        async with self.ctx.db.session() as session:
            rows = (
                await session.execute(query.order_by(T.channel_type, T.template_name))
            ).scalars()
            return [convert.template(r) for r in rows]

    async def get(self, template_id: int) -> m.MessageTemplate:
        """One template."""
        async with self.ctx.db.session() as session:
            return convert.template(await self._row(session, template_id))

    async def by_name(self, channel: Channel, name: str, language: str = "fr") -> m.MessageTemplate:
        """A template by channel, name and language."""
        query = select(T).where(
            T.tenant_id == self.ctx.tenant_id,
            T.channel_type == channel,
            T.template_name == name,
            T.language == language,
        )
        async with self.ctx.db.session() as session:
            row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            raise NotFound("template", f"{channel}/{name}/{language}")
        return convert.template(row)

    async def save(self, draft: TemplateDraft, template_id: int | None = None) -> m.MessageTemplate:
        """Create (no id) or replace a template.

        Raises:
            InvalidInput: another template of the channel already has that name and language.
        """
        try:
            async with self.ctx.write() as (session, _):
                if template_id is None:
                    row = T(tenant_id=self.ctx.tenant_id, **draft.columns())
                    session.add(row)
                else:
                    row = await self._row(session, template_id)
                    for name, value in draft.columns().items():
                        setattr(row, name, value)
                await session.flush()
                await audit.record(
                    session,
                    self.ctx,
                    "template_save",
                    "template",
                    row.id,
                    channel=draft.channel,
                    name=draft.name,
                    language=draft.language,
                    created=template_id is None,
                )
                return convert.template(row)
        except IntegrityError as exc:
            raise InvalidInput(
                "name", draft.name, "a name not yet used for this channel and language"
            ) from exc

    async def delete(self, template_id: int) -> None:
        """Remove a template."""
        async with self.ctx.write() as (session, _):
            row = await self._row(session, template_id)
            await audit.record(
                session,
                self.ctx,
                "template_delete",
                "template",
                template_id,
                channel=row.channel_type,
                name=row.template_name,
                language=row.language,
            )
            await session.delete(row)

    async def _row(self, session, template_id: int) -> T:
        row = await session.get(T, template_id)
        if row is None or row.tenant_id != self.ctx.tenant_id:
            raise NotFound("template", template_id)
        return row


async def seed_templates(service: InboxService) -> int:
    """Store the library's templates the tenant does not have yet; return how many were added."""
    existing = {(tpl.channel, tpl.name, tpl.language) for tpl in await service.templates.list()}
    added = 0
    for draft in library_drafts():
        if (draft.channel, draft.name, draft.language) in existing:
            continue
        await service.templates.save(draft)
        added += 1
    return added
