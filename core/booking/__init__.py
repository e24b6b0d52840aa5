"""Booking (RDV), in one place: free slots, reading a prospect's "demain 15h", iCalendar, the
booking service with its one path to book, move, confirm and cancel (``service.Booking``), the
prospect's notices and re-booking offers (``notices``), booking by chat inside the ingest
transaction (``chat``), the agenda and the facade's appointment list (``agenda``,
``appointments``).

The pure parts (``slots``, ``parse_when``, ``ics``, ``proposal``, ``errors``) have no database
and no clock of their own. Booking settings, how an appointment is shown and what changed about
one live below, in ``core.domain`` (``availability``, ``appointment_display``,
``appointment_changes``); reminders in ``core.reminders``, which the booking hooks drive.
"""
