"""Backprop Playground training engine: NumPy only, float64."""
