"""A template plus values → the message to send on its channel.

Per channel:

- SMS (and Telegram, voice): the text; SMS also says its encoding and segment count.
- WhatsApp: the text as the prospect will read it, and a ``TemplateRef`` carrying Meta's name,
  the language and the positional parameters ``{{1}}``, ``{{2}}``… taken from the named
  variables in the order the template declares them. Outside the 24-hour window only an
  APPROVED template may be sent; ``RenderedMessage.require_approved`` says so.
- Email: subject, HTML (values HTML-escaped, so a prospect's name cannot inject markup), a
  plain-text part derived from the HTML, and the tenant's signature appended to both.

Every declared variable needs a value (else ``TemplateRenderError`` naming it); a placeholder the
template does not declare is reported in ``warnings``.
"""

from __future__ import annotations

import html as htmlmod
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.channels.adapter import TemplateRef
from core.channels.segments import SegmentInfo, count_segments
from core.domain.enums import ApprovalStatus, Channel, TemplateCategory
from core.domain.models import MessageTemplate
from core.html_text import html_to_text
from core.templates.render import (
    Rendered,
    TemplateRenderError,
    placeholders,
    render_text,
    signed_by_agency,
)

_POSITIONAL = re.compile(r"{{\s*(\d+)\s*}}")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


class TemplateNotApproved(TemplateRenderError):
    """A WhatsApp template that Meta has not approved cannot open a conversation."""


@dataclass(frozen=True)
class RenderedMessage:
    """A template rendered for its channel, ready for the outbox."""

    channel: Channel
    template_name: str
    language: str
    text: str
    subject: str | None = None
    html: str | None = None
    template: TemplateRef | None = None
    category: TemplateCategory | None = None
    approval_status: ApprovalStatus | None = None
    segments: SegmentInfo | None = None
    warnings: tuple[str, ...] = ()

    @property
    def approved(self) -> bool:
        """Whether this may be sent outside WhatsApp's 24-hour window (always true elsewhere)."""
        if self.channel != Channel.WHATSAPP:
            return True
        return self.approval_status == ApprovalStatus.APPROVED

    def require_approved(self) -> RenderedMessage:
        """Return self, or raise ``TemplateNotApproved`` for an unapproved WhatsApp template."""
        if not self.approved:
            status = self.approval_status or "none"
            raise TemplateNotApproved(
                "approval_status", f"{self.template_name}: {status}", "a template approved by Meta"
            )
        return self

    def payload(self) -> dict[str, Any]:
        """What the outbox stores for this message (JSON)."""
        data: dict[str, Any] = {"text": self.text, "template_name": self.template_name}
        if self.subject is not None:
            data["subject"] = self.subject
        if self.html is not None:
            data["html"] = self.html
        if self.template is not None:
            data["template"] = {
                "name": self.template.name,
                "language": self.template.language,
                "parameters": list(self.template.parameters),
                "content_sid": self.template.content_sid,
                "approved": self.approved,
            }
        return data


def render_message(
    template: MessageTemplate, values: Mapping[str, Any], *, signature: str | None = None
) -> RenderedMessage:
    """Render ``template`` with ``values`` for its channel.

    Args:
        template: the stored template.
        values: a value per variable (extra values are ignored).
        signature: appended to emails (the tenant's ``email_signature``).

    Raises:
        TemplateRenderError: the template is disabled, a variable has no value (named), or the
            text is not a valid template.
    """
    if not template.enabled:
        raise TemplateRenderError("template", template.name, "an enabled template")
    # No agent known: the agency signs (render_text drops "<agency> de <agency>"); an approved
    # WhatsApp template cannot be rewritten, the agency's name is its agent parameter.
    _, signed = signed_by_agency("", values)
    for name in template.variables:
        if name not in signed:
            raise TemplateRenderError("variable", name, "a value for every variable")
    match template.channel:
        case Channel.WHATSAPP:
            return _whatsapp(template, signed)
        case Channel.EMAIL:
            return _email(template, values, signature)
        case _:
            return _text(template, values)


def whatsapp_parameters(template: MessageTemplate, values: Mapping[str, Any]) -> tuple[str, ...]:
    """The positional parameters {{1}}…{{n}}: the declared variables' values, in order.

    Meta refuses parameters with line breaks or long runs of spaces, so white space is folded.
    """
    return tuple(" ".join(str(values[name]).split()) for name in template.variables)


def _text(template: MessageTemplate, values: Mapping[str, Any]) -> RenderedMessage:
    rendered = render_text(template.content, values, template.variables)
    return RenderedMessage(
        channel=template.channel,
        template_name=template.name,
        language=template.language,
        text=rendered.text,
        segments=count_segments(rendered.text) if template.channel == Channel.SMS else None,
        warnings=_undeclared(template, rendered),
    )


def _whatsapp(template: MessageTemplate, values: Mapping[str, Any]) -> RenderedMessage:
    parameters = whatsapp_parameters(template, values)
    positions = [int(n) for n in _POSITIONAL.findall(template.content)]
    if positions:
        if max(positions) > len(parameters) or min(positions) < 1:
            raise TemplateRenderError(
                "template",
                template.name,
                f"positional parameters between {{{{1}}}} and {{{{{len(parameters)}}}}}",
            )
        text = _POSITIONAL.sub(lambda match: parameters[int(match.group(1)) - 1], template.content)
        warnings: tuple[str, ...] = ()
    else:
        rendered = render_text(template.content, values, template.variables)
        text, warnings = rendered.text, _undeclared(template, rendered)
    ref = TemplateRef(
        name=template.whatsapp_name or template.name,
        language=template.language,
        parameters=parameters,
        content_sid=template.content_sid,
    )
    return RenderedMessage(
        channel=Channel.WHATSAPP,
        template_name=template.name,
        language=template.language,
        text=text,
        template=ref,
        category=template.whatsapp_category,
        approval_status=template.approval_status,
        warnings=warnings,
    )


def _email(
    template: MessageTemplate, values: Mapping[str, Any], signature: str | None
) -> RenderedMessage:
    subject = render_text(template.subject or "", values, template.variables)
    warnings = set(_undeclared(template, subject))
    html: str | None = None
    if template.html:
        escaped = {name: htmlmod.escape(str(value)) for name, value in values.items()}
        rendered_html = render_text(template.html, escaped, template.variables)
        warnings.update(_undeclared(template, rendered_html))
        html = _sign_html(rendered_html.text, signature)
        text = html_to_text(rendered_html.text)
    else:
        body = render_text(template.content, values, template.variables)
        warnings.update(_undeclared(template, body))
        text = body.text.strip()
    if signature:
        text = f"{text}\n\n-- \n{signature.strip()}"
    return RenderedMessage(
        channel=Channel.EMAIL,
        template_name=template.name,
        language=template.language,
        text=text,
        subject=" ".join(subject.text.split()) or None,
        html=html,
        warnings=tuple(name for name in placeholders_in(template) if name in warnings),
    )


def _undeclared(template: MessageTemplate, rendered: Rendered) -> tuple[str, ...]:
    return tuple(name for name in rendered.used if name not in template.variables)


def placeholders_in(template: MessageTemplate) -> list[str]:
    """Every named placeholder of the template (subject, text and HTML), first use first."""
    names = placeholders(template.subject or "") + placeholders(template.content)
    names += placeholders(template.html or "")
    return list(dict.fromkeys(names))


def _sign_html(document: str, signature: str | None) -> str:
    if not signature or not signature.strip():
        return document
    lines = "<br>".join(htmlmod.escape(line) for line in signature.strip().splitlines())
    block = f'<p class="signature">{lines}</p>\n'
    ends = list(_BODY_END.finditer(document))
    if not ends:
        return f"{document}\n{block}"
    at = ends[-1].start()
    return document[:at] + block + document[at:]
