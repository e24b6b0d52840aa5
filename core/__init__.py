"""Coccinelle Inbox core: everything that is neither drawing nor talking to a provider."""
