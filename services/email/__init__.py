"""The email service: order-confirmation and discount emails recorded in a Redis outbox, over gRPC."""
