"""Benchmarks: each measures annograph against its reference in one run and prints the ratio."""
