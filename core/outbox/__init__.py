"""The durable outbox: every outgoing message is a row committed before any provider is called.

``core.pipeline`` writes the thread message and its outbox row in one transaction (nothing else
does); ``OutboxWorker``
leases due rows, sends them under each adapter's rate limit, retries transient failures, falls
back to the decision's alternatives, reconciles rows interrupted mid-send, and expires what would
be sent too late.
"""
