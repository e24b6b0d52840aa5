"""A/B tests: seeded assignment of prospects to groups, metrics from the DB, significance."""
