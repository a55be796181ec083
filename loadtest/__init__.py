"""Load tests through locust: the shop's users, load shapes, a seeded chaos schedule, a report, an invariant check.

What locust loads (they import locust, which patches the standard library for gevent): locustfile.py,
users.py and shopper.py (the users), shapes.py (the load shapes). run.py drives one headless run in
a process of its own (`python -m loadtest`), check.py checks a finished run (`python -m loadtest.check`).
The rest never import locust: curves, retry, chaos, journal, report, expectations, invariants.
See docs/load.md.
"""
