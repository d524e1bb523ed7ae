"""torch wrappers of the EmbLayerNorm and mask -> seq_lens kernels (see emb_layernorm_kernel.h).

Padded: input_ids and token_type_ids are [batch, seq_len] int32 -> [batch, seq_len, hidden].
    y = emb_layer_norm(ids, types, word, pos, type_, gamma, beta, 1e-12, dtype=torch.float16)
Packed: ids are [tokens] int32 with cu_seqlens [batch + 1] int32 -> [tokens, hidden].
    y = emb_layer_norm(ids, types, word, pos, type_, gamma, beta, 1e-12, cu_seqlens=cu)
Tables, gamma and beta are fp32; `dtype` is the output's. An id out of its table (also a
position >= max_pos) gives a NaN row. `version`: as in plugins.layernorm.ops.
"""
from __future__ import annotations

import ctypes

from plugins import kernels
from plugins.layernorm.ops import VERSIONS, fp32_vector, output_tensor  # noqa: F401 (VERSIONS re-exported)

_PTR, _I32 = ctypes.c_void_p, ctypes.c_int32
# bertEmbLayerNorm and bertMaskToSeqLens, see emb_layernorm_kernel.h
_ARGTYPES = [_PTR, _PTR, _PTR, _I32, _I32, _PTR, _PTR, _PTR, _PTR, _PTR, _PTR, _I32, _I32, _I32, _I32,
             ctypes.c_float, ctypes.c_int, _PTR]
_MASK_ARGTYPES = [_PTR, _I32, _I32, _PTR, _PTR]


def _int32(tensor, device, name: str):
    import torch

    if tensor.dtype != torch.int32 or tensor.device != device:
        raise ValueError(f"{name} must be an int32 tensor on {device}")
    return tensor.contiguous()


def _table(tensor, hidden: int, device, name: str):
    import torch

    if tensor.dtype != torch.float32 or tensor.dim() != 2 or tensor.shape[1] != hidden \
            or tensor.device != device or tensor.shape[0] < 1:
        raise ValueError(f"{name} must be a [rows >= 1, {hidden}] float32 tensor on {device}")
    return tensor.contiguous()


def emb_layer_norm(input_ids, token_type_ids, word_emb, pos_emb, type_emb, gamma, beta,
                   epsilon: float, *, cu_seqlens=None, max_seqlen: int | None = None, dtype=None,
                   version: int | None = None, out=None):
    """LayerNorm(word_emb[id] + type_emb[type] + pos_emb[position]) for every token."""
    import torch

    device = input_ids.device
    hidden = word_emb.shape[-1]
    dtype = torch.float32 if dtype is None else dtype
    input_ids = _int32(input_ids, device, "input_ids")
    token_type_ids = _int32(token_type_ids, device, "token_type_ids")
    if token_type_ids.shape != input_ids.shape:
        raise ValueError("token_type_ids must have input_ids' shape")
    word_emb = _table(word_emb, hidden, device, "word_emb")
    pos_emb = _table(pos_emb, hidden, device, "pos_emb")
    type_emb = _table(type_emb, hidden, device, "type_emb")
    gamma = fp32_vector(gamma, hidden, device, "gamma")
    beta = fp32_vector(beta, hidden, device, "beta")
    if cu_seqlens is None:
        if input_ids.dim() != 2:
            raise ValueError("padded mode takes input_ids as [batch, seq_len]")
        batch, seq_len = input_ids.shape
    else:
        if input_ids.dim() != 1:
            raise ValueError("packed mode takes input_ids as [tokens]")
        cu_seqlens = _int32(cu_seqlens, device, "cu_seqlens")
        batch = cu_seqlens.numel() - 1
        if max_seqlen is None:  # reads the GPU: pass it when known
            max_seqlen = int((cu_seqlens[1:] - cu_seqlens[:-1]).max()) if batch > 0 else 0
        seq_len = max_seqlen
    out = output_tensor(out, (*input_ids.shape, hidden), dtype, device)
    args = (kernels.ptr(input_ids), kernels.ptr(token_type_ids), kernels.ptr(cu_seqlens), batch,
            seq_len, kernels.ptr(word_emb), kernels.ptr(pos_emb), kernels.ptr(type_emb),
            kernels.ptr(gamma), kernels.ptr(beta), kernels.ptr(out), hidden, word_emb.shape[0],
            pos_emb.shape[0], type_emb.shape[0], epsilon, kernels.dtype_code(out))
    kernels.launch("bertEmbLayerNorm", _ARGTYPES, args, device, version)
    return out


def mask_to_seq_lens(mask):
    """[batch] int32: the number of non-zero entries in each row of a [batch, seq_len] int32 mask."""
    import torch

    mask = _int32(mask, mask.device, "mask")
    if mask.dim() != 2:
        raise ValueError("mask must be [batch, seq_len]")
    seq_lens = torch.empty(mask.shape[0], dtype=torch.int32, device=mask.device)
    kernels.launch("bertMaskToSeqLens", _MASK_ARGTYPES,
                   (kernels.ptr(mask), mask.shape[0], mask.shape[1], kernels.ptr(seq_lens)), mask.device)
    return seq_lens
