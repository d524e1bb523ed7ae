"""torch wrapper of the SkipLayerNorm kernels in skip_layernorm_kernel.cu (see its header).

    y = skip_layer_norm(x, skip, gamma, beta, 1e-12, bias=b)   # LayerNorm(x + skip + b)

x and skip are [..., hidden] fp32 or fp16 on the GPU (same shape and dtype); bias (optional),
gamma and beta are [hidden] fp32. The add happens in fp32 inside the kernel. `version`: as in
plugins.layernorm.ops (None: the default, bertSkipLayerNorm).
"""
from __future__ import annotations

import ctypes

from plugins import kernels
from plugins.layernorm.ops import VERSIONS, fp32_vector, output_tensor  # noqa: F401 (VERSIONS re-exported)

_declared = False


def _lib() -> ctypes.CDLL:
    global _declared
    lib = kernels.load()
    if not _declared:
        ptr, i32, i64, f32 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_int64, ctypes.c_float
        lib.bertSkipLayerNorm.restype = ctypes.c_int
        lib.bertSkipLayerNorm.argtypes = [ptr, ptr, ptr, ptr, ptr, ptr, i64, i32, f32, ctypes.c_int, ptr]
        lib.bertSkipLayerNormVersion.restype = ctypes.c_int
        lib.bertSkipLayerNormVersion.argtypes = [ctypes.c_int] + lib.bertSkipLayerNorm.argtypes
        _declared = True
    return lib


def skip_layer_norm(x, skip, gamma, beta, epsilon: float, bias=None, version: int | None = None,
                    out=None):
    """LayerNorm(x + skip + bias) over the last dimension; a new tensor unless `out` is given."""
    if skip.shape != x.shape or skip.dtype != x.dtype:
        raise ValueError(f"skip must match x: {tuple(x.shape)} {x.dtype}")
    hidden = x.shape[-1]
    x, skip = x.contiguous(), skip.contiguous()
    bias = fp32_vector(bias, hidden, x.device, "bias")
    gamma = fp32_vector(gamma, hidden, x.device, "gamma")
    beta = fp32_vector(beta, hidden, x.device, "beta")
    out = output_tensor(out, x.shape, x.dtype, x.device)
    rows = x.numel() // hidden if hidden else 0
    args = (kernels.ptr(x), kernels.ptr(skip), kernels.ptr(bias), kernels.ptr(gamma),
            kernels.ptr(beta), kernels.ptr(out), rows, hidden, epsilon, kernels.dtype_code(x),
            kernels.stream())
    if version is None:
        kernels.check(_lib().bertSkipLayerNorm(*args), "bertSkipLayerNorm")
    else:
        kernels.check(_lib().bertSkipLayerNormVersion(version, *args),
                      f"bertSkipLayerNorm (version {version})")
    return out
