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
VERSIONS = (1, 2, 3)

_declared = False


def _lib() -> ctypes.CDLL:
    global _declared
    lib = kernels.load()
    if not _declared:
        ptr = ctypes.c_void_p
        lib.bertBiasGelu.restype = ctypes.c_int
        lib.bertBiasGelu.argtypes = [ptr, ptr, ptr, ctypes.c_int64, ctypes.c_int32, ctypes.c_int, ptr]
        lib.bertBiasGeluVersion.restype = ctypes.c_int
        lib.bertBiasGeluVersion.argtypes = [ctypes.c_int] + lib.bertBiasGelu.argtypes
        _declared = True
    return lib


def bias_gelu(x, bias=None, version: int | None = None, out=None):
    """gelu(x + bias) with the exact erf GELU, computed in fp32; a new tensor unless `out` is given."""
    n = x.shape[-1]
    if not x.is_contiguous():
        raise ValueError("x must be contiguous")  # no silent copy: out=x must stay in place
    bias = fp32_vector(bias, n, x.device, "bias")
    out = output_tensor(out, x.shape, x.dtype, x.device)
    rows = x.numel() // n if n else 0
    args = (kernels.ptr(x), kernels.ptr(bias), kernels.ptr(out), rows, n, kernels.dtype_code(x),
            kernels.stream())
    if version is None:
        kernels.check(_lib().bertBiasGelu(*args), "bertBiasGelu")
    else:
        kernels.check(_lib().bertBiasGeluVersion(version, *args), f"bertBiasGelu (version {version})")
    return out
