"""torch wrapper of the LayerNorm kernels in layernorm_kernel.cu (see layernorm_kernel.h).

    y = layer_norm(x, gamma, beta, 1e-12)             # bertLayerNorm, the default version
    y = layer_norm(x, gamma, beta, 1e-12, version=5)  # bertLayerNormVersion(5, ...)

x is [..., hidden] fp32 or fp16 on the GPU; gamma and beta are [hidden] of x's dtype (fp16
parameters for fp16 x, as the kernels take them: layernorm_kernel.h). `out` (optional)
receives the result, so a test can poison it first; it must not overlap x (layernorm_kernel.h says
why). The argument checks below are shared by the other LayerNorm-family wrappers (skip_layernorm,
emb_layernorm).
"""
from __future__ import annotations

import ctypes

from plugins import kernels

# Version numbers accepted by bertLayerNormVersion (also SkipLayerNorm and EmbLayerNorm).
VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
# The versions that need rows of whole 16-byte vectors and 16-byte aligned pointers (else they
# refuse with cudaErrorNotSupported); 1 takes anything. 10 to 20 also refuse rows their splits
# cannot take (layernorm_kernel.h).
VECTOR_VERSIONS = (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)

_ARGTYPES = [ctypes.c_void_p] * 4 + [ctypes.c_int64, ctypes.c_int32, ctypes.c_float, ctypes.c_int,
                                 ctypes.c_void_p]  # bertLayerNorm, see layernorm_kernel.h


def param_vector(tensor, size: int, dtype, device, name: str):
    """A [size] parameter (gamma, beta, bias) of `dtype` on `device`, contiguous; None stays None."""
    if tensor is None:
        return None
    if tensor.dtype != dtype or tuple(tensor.shape) != (size,) or tensor.device != device:
        raise ValueError(f"{name} must be a [{size}] {dtype} tensor on {device}, got "
                         f"{tuple(tensor.shape)} {tensor.dtype} on {tensor.device}")
    return tensor.contiguous()


def fp32_vector(tensor, size: int, device, name: str):
    """A [size] fp32 parameter (EmbLayerNorm's gamma and beta, BiasGelu's bias)."""
    import torch

    return param_vector(tensor, size, torch.float32, device, name)


def output_tensor(out, shape, dtype, device, reads=None):
    """`out` checked against the expected result, or a new empty tensor. `reads` (name -> tensor):
    what a kernel that cannot run in place reads, which `out` must not overlap (layernorm_kernel.h)."""
    import torch

    if out is None:
        return torch.empty(shape, dtype=dtype, device=device)
    if tuple(out.shape) != tuple(shape) or out.dtype != dtype or out.device != device \
            or not out.is_contiguous():
        raise ValueError(f"out must be a contiguous {tuple(shape)} {dtype} tensor on {device}")
    for name, tensor in (reads or {}).items():
        if _overlaps(out, tensor):
            raise ValueError(f"out must not overlap {name}: this kernel does not run in place; pass a new "
                             "tensor (or out=None)")
    return out


def _overlaps(a, b) -> bool:
    """Whether the bytes of two contiguous tensors overlap."""
    a_start, b_start = a.data_ptr(), b.data_ptr()
    return (a_start < b_start + b.numel() * b.element_size()
            and b_start < a_start + a.numel() * a.element_size())


def layer_norm(x, gamma, beta, epsilon: float, version: int | None = None, out=None):
    """LayerNorm over the last dimension, statistics in fp32; a new tensor unless `out` is given."""
    hidden = x.shape[-1]
    x = x.contiguous()
    gamma = param_vector(gamma, hidden, x.dtype, x.device, "gamma")
    beta = param_vector(beta, hidden, x.dtype, x.device, "beta")
    out = output_tensor(out, x.shape, x.dtype, x.device, reads={"x": x})
    rows = x.numel() // hidden if hidden else 0
    args = (kernels.ptr(x), kernels.ptr(out), kernels.ptr(gamma), kernels.ptr(beta), rows, hidden,
            epsilon, kernels.dtype_code(x))
    kernels.launch("bertLayerNorm", _ARGTYPES, args, x.device, version)
    return out


def version_takes(version: int, hidden: int, dtype) -> bool:
    """bertLayerNormVersionTakes: whether bertLayerNormVersion(version) takes rows of `hidden` values
    of `dtype` (torch.float32 or torch.float16) from 16-byte aligned tensors, at any row count; the
    versions the LayerNorm-family plugins offer TensorRT's builder as tactics (version 1 only where
    no other takes the rows: plugin_base.h, versionsTaken). Host code: no GPU."""
    return kernels.version_rule("bertLayerNormVersionTakes", version, hidden, dtype)
