"""Ratio benchmarks: ours vs the plain tool, measured side by side in one run."""
