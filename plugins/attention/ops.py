"""torch wrapper of the QkvToContext kernels in attention_kernel.cu (see attention_kernel.h).

    context = qkv_to_context(qkv, seq_lens, num_heads=12, head_size=64, scale=0.125)

Padded mode: qkv is [batch, seq_len, 3 * hidden] (every sequence right-padded to seq_len),
seq_lens [batch] int32 on the GPU says how many keys of each are real (None: all of them).
Packed mode: qkv is [tokens, 3 * hidden] holding the sequences back to back, cu_seqlens
[batch + 1] int32 on the GPU where each starts. `version` picks a numbered kernel (None: the
launcher's choice, the TensorRT plugin's tactic 0).
"""
from __future__ import annotations

import ctypes

from plugins import kernels

# Version numbers accepted by bertQkvToContextVersion; 0 is the launcher's own choice.
VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8)

_PTR, _I32 = ctypes.c_void_p, ctypes.c_int32
# bertQkvToContext, see attention_kernel.h
_ARGTYPES = [_PTR, _PTR, _PTR, _PTR, _I32, _I32, _I32, _I32, ctypes.c_float, ctypes.c_int, _PTR]


def version_supported(version: int, head_size: int, dtype) -> bool:
    """Whether kernel `version` handles this head size and torch dtype on the current GPU with
    the library as built (v5/v6 need a Hopper GPU and sm_90a code)."""
    return kernels.version_rule("bertQkvToContextVersionSupported", version, head_size, dtype)


def _int32_on(tensor, device, name):
    import torch

    if tensor is None:
        return None
    if tensor.dtype != torch.int32 or tensor.device != device or tensor.dim() != 1:
        raise ValueError(f"{name} must be a 1-D int32 tensor on {device}")
    return tensor.contiguous()


def qkv_to_context(qkv, seq_lens=None, cu_seqlens=None, *, num_heads: int, head_size: int,
                   scale: float, version: int | None = None, max_seqlen: int | None = None,
                   out=None):
    """softmax(Q K^T * scale, padded keys masked) V per head; heads concatenated in the output.

    Padded mode (cu_seqlens None): qkv [batch, seq_len, 3 * hidden] -> [batch, seq_len, hidden].
    Packed mode: qkv [tokens, 3 * hidden] -> [tokens, hidden]; max_seqlen (the longest sequence)
    is read from cu_seqlens when not given, which waits for the GPU.
    """
    import torch

    hidden = num_heads * head_size
    if qkv.shape[-1] != 3 * hidden:
        raise ValueError(f"qkv's last dimension is {qkv.shape[-1]}, expected 3 * {hidden}")
    qkv = qkv.contiguous()
    seq_lens = _int32_on(seq_lens, qkv.device, "seq_lens")
    cu_seqlens = _int32_on(cu_seqlens, qkv.device, "cu_seqlens")
    if cu_seqlens is None:
        if qkv.dim() != 3:
            raise ValueError("padded mode takes qkv as [batch, seq_len, 3 * hidden]")
        batch, seq_len = qkv.shape[0], qkv.shape[1]
        if seq_lens is not None and seq_lens.numel() != batch:
            raise ValueError(f"seq_lens has {seq_lens.numel()} entries for a batch of {batch}")
    else:
        if qkv.dim() != 2:
            raise ValueError("packed mode takes qkv as [tokens, 3 * hidden]")
        batch = cu_seqlens.numel() - 1
        if batch < 0:
            raise ValueError("cu_seqlens needs batch + 1 entries")
        if max_seqlen is None:
            max_seqlen = int((cu_seqlens[1:] - cu_seqlens[:-1]).max()) if batch > 0 else 0
        seq_len = max_seqlen
    if out is None:
        out = torch.empty(*qkv.shape[:-1], hidden, dtype=qkv.dtype, device=qkv.device)
    elif out.shape != (*qkv.shape[:-1], hidden) or out.dtype != qkv.dtype or out.device != qkv.device \
            or not out.is_contiguous():
        raise ValueError("out must be a contiguous tensor shaped like qkv with hidden features, on qkv's device")
    args = (kernels.ptr(qkv), kernels.ptr(out), kernels.ptr(seq_lens), kernels.ptr(cu_seqlens), batch, seq_len,
            num_heads, head_size, scale, kernels.dtype_code(qkv))
    kernels.launch("bertQkvToContext", _ARGTYPES, args, qkv.device, version)
    return out
