"""Per-channel analytics: statistics, daily series, observed preferences and insights."""
