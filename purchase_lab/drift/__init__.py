"""`purchase drift`: what the gateway's contract fakes answered, against what the real services answer.

record.py writes, while the gateway's functional tests run, each fake's answer to each call and each
HTTP answer of the scenario; replay.py sends the same calls to the real services under each
downstream flag combination, twice; compare.py diffs and classifies; report.py writes the report.
See docs/drift.md.
"""
