"""The webhook relay: the only door through which provider events reach the core."""
