"""LayerNorm: CUDA kernels and their torch wrapper."""
