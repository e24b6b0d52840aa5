"""Per-channel analytics over the message history: statistics, daily series, observed
preferences, insights, and the engagement figures the orchestrator's criterion 8 reads."""
