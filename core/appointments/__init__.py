"""Appointments (RDV): availability settings, holidays, free slots, iCalendar and answers' dates.

Everything here is pure (no database, no clock of its own); ``core.service.booking`` is the part
of the facade that reads and writes appointments with it.
"""
