"""Numerics that need no model: significance tests between students, and finite checks on tensors and arrays."""
