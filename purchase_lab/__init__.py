"""Purchase Lab's shared library: what every service and the CLI need, written once."""
