"""Appointment reminders (24 h, 2 h, 30 min before) and the post-appointment survey.

``plan`` says what to send when (pure); ``Reminders.sync`` turns an appointment's plan into outbox
rows, cancelling those of a moved or cancelled appointment.
"""

# The service package's facade imports this package's modules, and they import the service's
# write path: loading the facade first makes the order the same whichever side is imported first.
import core.service  # noqa: F401
