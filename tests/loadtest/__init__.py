"""Tests of the load tests: curves, retries, chaos, journal, report, invariants, and bounded runs."""
