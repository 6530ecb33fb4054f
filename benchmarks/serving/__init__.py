"""Helpers for benchmarks/serving_benchmark.py."""
