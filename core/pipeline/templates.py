"""Turning a tenant's approved WhatsApp template into the rendering a request carries."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from core.domain.models import MessageTemplate
from core.pipeline.request import Rendering
from core.templates.message import TemplateNotApproved, render_message
from core.templates.render import TemplateRenderError

log = logging.getLogger(__name__)


def whatsapp_rendering(
    template: MessageTemplate | None, values: Mapping[str, Any]
) -> Rendering | None:
    """``template`` rendered with ``values`` as WhatsApp sends it outside the 24 h window (its
    text as the prospect reads it, the provider reference with its parameters); None when there
    is no template, it is not approved, or a parameter has no value (logged)."""
    if template is None:
        return None
    try:
        rendered = render_message(template, values).require_approved()
    except (TemplateRenderError, TemplateNotApproved) as exc:
        log.warning("WhatsApp template %s cannot be used: %s", template.name, exc)
        return None
    reference = rendered.payload()["template"]
    return Rendering(text=rendered.text, template=reference, template_name=rendered.template_name)
