"""The automation policy: when automated messages stay quiet (issue 15).

``policy.check`` is the one place that decides whether an automated message may be sent;
``detect`` recognises inbound messages a machine sent; ``pauses`` holds, resumes and releases.
"""

from core.automation.policy import (
    HELD_OUTBOX_STATUS,
    AutomatedSend,
    Outcome,
    Reason,
    Verdict,
    check,
)

__all__ = ["HELD_OUTBOX_STATUS", "AutomatedSend", "Outcome", "Reason", "Verdict", "check"]
