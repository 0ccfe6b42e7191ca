"""Benchmarking: timing, the bench run and its reports."""
