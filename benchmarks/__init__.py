"""Benchmark scripts of jaxloss (not part of the installed package)."""
