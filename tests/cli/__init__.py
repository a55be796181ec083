"""End-to-end tests of the `purchase` command against a real lab."""
