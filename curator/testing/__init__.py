"""Test doubles that speak real protocols (used by curator's tests and benchmarks)."""
