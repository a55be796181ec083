"""The lab's four services, one package each."""
