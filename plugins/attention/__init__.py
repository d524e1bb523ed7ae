"""Fused multi-head attention (QkvToContext): CUDA kernels and their torch wrapper."""
