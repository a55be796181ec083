"""Deploys: move a service's replicas to another release (rolling, blue-green, canary), gated, with rollback."""
