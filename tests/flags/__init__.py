"""Tests of feature flags: definitions, rollouts, the live file, and evaluation across processes."""
