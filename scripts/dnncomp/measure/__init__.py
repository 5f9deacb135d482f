"""Measurements beyond accuracy: batch-1 and batched latency (bench, family), energy meters (meters),
the GPU benchmark (gpu) and per-layer pruning sensitivity (sensitivity)."""
