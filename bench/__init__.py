"""Benchmarks that print numbers; never run by the test suite."""
