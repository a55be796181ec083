"""The pricing service: the catalogue, cart prices and discounts, over gRPC. It keeps no state."""
