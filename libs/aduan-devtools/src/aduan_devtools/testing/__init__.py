"""Test support for the services' tests, the end-to-end tests and the benchmarks: synthetic
histories, stand-in providers and peers. Lives here, not in a service's `src/`, so no image ships it."""
