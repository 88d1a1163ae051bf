"""Benchmark harness: `python -m bench --users 10000` (see bench/RESULTS.md)."""
