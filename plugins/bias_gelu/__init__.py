"""Bias + exact GELU: CUDA kernels and their torch wrapper."""
