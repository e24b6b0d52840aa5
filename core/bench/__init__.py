"""Benchmarks: a realistic data generator and the measurements of ``coccinelle bench``."""
