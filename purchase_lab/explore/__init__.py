"""`purchase explore`: every fault at every call site of the checkout, checked against the checkout table.

lab.py starts the lab for the run, traces.py receives its spans to see which calls a checkout made,
space.py names what is explored (flags, user kinds, sites, faults), table.py holds the checkout table
as data and oracle.py reads it, runner.py runs and checks each case, report.py writes what came of it.
See docs/explore.md.
"""
