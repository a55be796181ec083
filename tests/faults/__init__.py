"""Tests of the fault-injection package, purchase_lab.faults."""
