"""Team mode: several agents' apps and relays sharing one PostgreSQL database.

- ``notify``: live updates between processes over LISTEN/NOTIFY (``NotifyBridge``);
- ``presence``: who else has a conversation open;
- ``assignment``: round-robin auto-assignment of new conversations;
- ``audit``: the audit trail of agents' actions.

``live.Team`` is the facade's part (``service.team``) holding the bridge and presence of one
process; ``audit.AuditTrail`` is ``service.audit``.
"""
