"""Ingest: stored raw provider events turned into prospects, conversations and messages."""
