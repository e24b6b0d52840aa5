"""Multi-step campaigns: steps with a channel, a delay, a template and a condition."""
