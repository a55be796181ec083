"""The cart service: users' carts and orders, stored in Redis, served over gRPC."""
