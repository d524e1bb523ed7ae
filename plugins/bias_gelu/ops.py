"""torch wrapper of the bias + exact GELU kernels in bias_gelu_kernel.cu (see its header).

    y = bias_gelu(x, bias)               # gelu(x + bias), erf form; bertBiasGelu
    y = bias_gelu(x, bias, version=2)    # bertBiasGeluVersion(2, ...)
    bias_gelu(x, bias, out=x)            # in place (input and output may alias)

x is [..., n] fp32 or fp16 on the GPU; bias is [n] fp32 or None.
"""
from __future__ import annotations

import ctypes

from plugins import kernels
from plugins.layernorm.ops import fp32_vector, output_tensor

# Version numbers accepted by bertBiasGeluVersion.
VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8, 9)
FP16_ONLY_VERSIONS = (4, 5, 7, 8)  # ShortGelu: fp16 outputs only (bias_gelu_kernel.cu)
ONE_PASS_VERSIONS = (6, 7, 8)  # no rows loop: they refuse more rows than one grid holds
EXACT_GRID_VERSION = 9  # the grid is the tensor: rows of whole 128-vector blocks, <= 65535 rows, < 2^31 elements

_ARGTYPES = [ctypes.c_void_p] * 3 + [ctypes.c_int64, ctypes.c_int32, ctypes.c_int,
                                 ctypes.c_void_p]  # bertBiasGelu, see bias_gelu_kernel.h


def version_takes(version: int, n: int, dtype) -> bool:
    """bertBiasGeluVersionTakes: whether bertBiasGeluVersion(version) takes rows of n values of
    `dtype` (torch.float32 or torch.float16) from 16-byte aligned tensors (6-9 up to one grid of
    rows); the versions the plugin offers TensorRT's builder as tactics (version 1 only where no
    other takes the rows: plugin_base.h, versionsTaken). Host code: no GPU."""
    return kernels.version_rule("bertBiasGeluVersionTakes", version, n, dtype)


def bias_gelu(x, bias=None, version: int | None = None, out=None):
    """gelu(x + bias) with the exact erf GELU, computed in fp32; a new tensor unless `out` is given."""
    n = x.shape[-1]
    if not x.is_contiguous():
        raise ValueError("x must be contiguous")  # no silent copy: out=x must stay in place
    bias = fp32_vector(bias, n, x.device, "bias")
    out = output_tensor(out, x.shape, x.dtype, x.device)
    rows = x.numel() // n if n else 0
    args = (kernels.ptr(x), kernels.ptr(bias), kernels.ptr(out), rows, n, kernels.dtype_code(x))
    kernels.launch("bertBiasGelu", _ARGTYPES, args, x.device, version)
    return out
