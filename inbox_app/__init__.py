"""Coccinelle Inbox: the Textual app and the ``coccinelle`` command line."""
