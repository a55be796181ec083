"""Benchmarks: how close Purchase Lab runs to its physical floor, and what each teaching layer costs.

`python -m bench` (`make bench`) runs every section in one process tree and writes bench.json and
bench.md; see docs/benchmarks.md for how to read the numbers.
"""
