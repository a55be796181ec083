"""Tests of the ops console: its admin API, its recording of checkouts, and the page in a real browser."""
