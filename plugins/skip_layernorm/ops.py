"""torch wrapper of the SkipLayerNorm kernels in skip_layernorm_kernel.cu (see its header).

    y = skip_layer_norm(x, skip, gamma, beta, 1e-12, bias=b)   # LayerNorm(x + skip + b)

x and skip are [..., hidden] fp32 or fp16 on the GPU (same shape and dtype); bias (optional),
gamma and beta are [hidden] of that dtype too. The add happens in fp32 inside the kernel.
`version`: as in plugins.layernorm.ops (None: the default, bertSkipLayerNorm).

    q = skip_layer_norm_int8(xq, 0.05, skipq, 0.05, gamma, beta, 8 / 127, 1e-12, bias=b)

INT8 I/O (bertSkipLayerNormInt8): xq, skipq int8 meaning xq * x_scale, the result int8 meaning
q * out_scale (TensorRT's per-tensor INT8); bias, gamma, beta fp32. `version`: one of INT8_VERSIONS
(None: the default).
"""
from __future__ import annotations

import ctypes

from plugins import kernels
from plugins.layernorm.ops import VERSIONS, output_tensor, param_vector  # noqa: F401 (VERSIONS re-exported)

_ARGTYPES = [ctypes.c_void_p] * 6 + [ctypes.c_int64, ctypes.c_int32, ctypes.c_float, ctypes.c_int,
                                 ctypes.c_void_p]  # bertSkipLayerNorm, see skip_layernorm_kernel.h


def _operands(x, skip, gamma, beta, bias, param_dtype, out, out_dtype):
    """x and skip contiguous, the [hidden] parameters checked (param_dtype), the output, the rows."""
    hidden = x.shape[-1]
    x, skip = x.contiguous(), skip.contiguous()
    bias, gamma, beta = (param_vector(t, hidden, param_dtype, x.device, name)
                         for t, name in ((bias, "bias"), (gamma, "gamma"), (beta, "beta")))
    out = output_tensor(out, x.shape, out_dtype, x.device, reads={"x": x, "skip": skip})
    rows = x.numel() // hidden if hidden else 0
    return x, skip, bias, gamma, beta, out, rows, hidden


def skip_layer_norm(x, skip, gamma, beta, epsilon: float, bias=None, version: int | None = None,
                    out=None):
    """LayerNorm(x + skip + bias) over the last dimension; a new tensor unless `out` is given."""
    if skip.shape != x.shape or skip.dtype != x.dtype or skip.device != x.device:
        raise ValueError(f"skip must match x: {tuple(x.shape)} {x.dtype} on {x.device}")
    x, skip, bias, gamma, beta, out, rows, hidden = _operands(x, skip, gamma, beta, bias, x.dtype, out, x.dtype)
    args = (kernels.ptr(x), kernels.ptr(skip), kernels.ptr(bias), kernels.ptr(gamma),
            kernels.ptr(beta), kernels.ptr(out), rows, hidden, epsilon, kernels.dtype_code(x))
    kernels.launch("bertSkipLayerNorm", _ARGTYPES, args, x.device, version)
    return out


INT8_VERSIONS = (1, 2, 3, 4, 5, 6)  # bertSkipLayerNormInt8Version, skip_layernorm_kernel.cu
_INT8_ARGTYPES = [ctypes.c_void_p, ctypes.c_float, ctypes.c_void_p, ctypes.c_float] + [ctypes.c_void_p] * 4 + [
    ctypes.c_float, ctypes.c_int64, ctypes.c_int32, ctypes.c_float, ctypes.c_void_p]  # bertSkipLayerNormInt8


def skip_layer_norm_int8(x, x_scale: float, skip, skip_scale: float, gamma, beta, out_scale: float,
                         epsilon: float, bias=None, version: int | None = None, out=None):
    """quantize(LayerNorm(x * x_scale + skip * skip_scale + bias), out_scale) over the last dimension,
    x and skip int8; a new int8 tensor unless `out` is given."""
    import torch

    if x.dtype != torch.int8 or skip.shape != x.shape or skip.dtype != x.dtype or skip.device != x.device:
        raise ValueError(f"x and skip must be int8 tensors of one shape on one device, got {x.dtype} "
                         f"{tuple(x.shape)} and {skip.dtype} {tuple(skip.shape)}")
    x, skip, bias, gamma, beta, out, rows, hidden = _operands(x, skip, gamma, beta, bias, torch.float32, out,
                                                              torch.int8)
    args = (kernels.ptr(x), x_scale, kernels.ptr(skip), skip_scale, kernels.ptr(bias), kernels.ptr(gamma),
            kernels.ptr(beta), kernels.ptr(out), out_scale, rows, hidden, epsilon)
    kernels.launch("bertSkipLayerNormInt8", _INT8_ARGTYPES, args, x.device, version)
    return out
