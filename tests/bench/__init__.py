"""Tests of the bench: it runs and writes every figure; never a time."""
