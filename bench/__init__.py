"""Benchmarks: run from the repository root (`python bench/extraction.py`)."""
