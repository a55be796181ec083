"""Tests of the cart service: its rules, its Redis store and its gRPC API."""
