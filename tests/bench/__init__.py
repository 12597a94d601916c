"""Benchmarks: `make bench` (python -m tests.bench) prints one table."""
