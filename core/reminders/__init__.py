"""Appointment reminders (24 h, 2 h, 30 min before) and the post-appointment survey.

``plan`` says what to send when (pure); ``Reminders.sync`` turns an appointment's plan into outbox
rows, cancelling those of a moved or cancelled appointment.
"""
