"""SkipLayerNorm (residual add + LayerNorm): CUDA kernels and their torch wrapper."""
