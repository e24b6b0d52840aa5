"""The one path to the prospect: every outgoing message is an ``OutgoingRequest`` that
``submit`` renders per channel, decides and queues (``core.outbox`` sends it)."""

from core.pipeline.policy import PolicyCheck, Verdict
from core.pipeline.request import Kind, Origin, OutgoingRequest, Rendering
from core.pipeline.submit import Outcome, preview, submit, tenant_providers

__all__ = [
    "Kind",
    "Origin",
    "Outcome",
    "OutgoingRequest",
    "PolicyCheck",
    "Rendering",
    "Verdict",
    "preview",
    "submit",
    "tenant_providers",
]
