"""EmbLayerNorm (embedding gathers + LayerNorm) and mask -> sequence lengths: CUDA kernels and torch wrappers."""
