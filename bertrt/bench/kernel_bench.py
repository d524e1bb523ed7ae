"""A quick look at our CUDA kernels without TensorRT: each called through its C API
(plugins/<name>/ops.py, ctypes on libbert_kernels.so) at the model's sizes, next to the PyTorch
op it replaces in an fp16 model. The kernels' own benchmarks (benchmarks/bench_*.py) go deeper:
every version, bandwidth, torch.compile; this is the one-line summary per kernel in the table.

Each contender is captured CALLS_PER_GRAPH times into one CUDA graph and the replays are timed,
so Python and ctypes launch costs are out of both numbers. Every kernel's output is first compared
with the op computed in fp32 from the same fp16 inputs (max |diff|, and bertrt.check's fp16 tolerance).
"""
from __future__ import annotations

import importlib
import math

from bertrt.bench.results import Row
from bertrt.bench.timing import Protocol, cuda_benchmark, cuda_graph
from bertrt.bench.variants import Planned
from bertrt.check import check
from bertrt.common import BertDims

CALLS_PER_GRAPH = 20


def _ops(name: str):
    """plugins/<name>/ops.py, or ImportError/KernelLibraryMissing with the reason."""
    return importlib.import_module(f"plugins.{name}.ops")


def _case(name: str, ops, dims: BertDims, batch: int, seq: int):
    """(ours, torch_op, exact): three functions computing the same thing on the same inputs."""
    import torch
    import torch.nn.functional as F

    generator = torch.Generator(device="cuda").manual_seed(0)
    tokens, hidden, eps = batch * seq, dims.hidden_size, dims.layer_norm_eps

    def randn(*shape, scale=1.0, shift=0.0, dtype=torch.float16):
        return (shift + scale * torch.randn(*shape, generator=generator, device="cuda")).to(dtype)

    # Parameters as each side holds them (converted here, once, so no conversion is timed): fp16
    # for an fp16 PyTorch model and for our LayerNorm and SkipLayerNorm (their contract: the
    # activations' type), fp32 for our EmbLayerNorm and BiasGelu (theirs). The fp32 "exact"
    # reference sees the values the kernel under test was given.
    gamma = randn(hidden, scale=0.1, shift=1.0, dtype=torch.float32)
    beta = randn(hidden, scale=0.1, dtype=torch.float32)
    gamma16, beta16 = gamma.half(), beta.half()
    if name == "layernorm":
        x = randn(tokens, hidden)
        return (lambda: ops.layer_norm(x, gamma16, beta16, eps),
                lambda: F.layer_norm(x, (hidden,), gamma16, beta16, eps),
                lambda: F.layer_norm(x.float(), (hidden,), gamma16.float(), beta16.float(), eps))
    if name == "skip_layernorm":
        x, skip, bias = randn(tokens, hidden), randn(tokens, hidden), randn(hidden, scale=0.1, dtype=torch.float32)
        bias16 = bias.half()
        return (lambda: ops.skip_layer_norm(x, skip, gamma16, beta16, eps, bias=bias16),
                lambda: F.layer_norm(x + skip + bias16, (hidden,), gamma16, beta16, eps),
                lambda: F.layer_norm(x.float() + skip.float() + bias16.float(), (hidden,), gamma16.float(),
                                     beta16.float(), eps))
    if name == "emb_layernorm":
        ids = torch.randint(0, dims.vocab_size, (batch, seq), generator=generator, device="cuda", dtype=torch.int32)
        types = torch.randint(0, dims.type_vocab_size, (batch, seq), generator=generator, device="cuda",
                              dtype=torch.int32)
        tables = [randn(rows, hidden, scale=0.05, dtype=torch.float32)
                  for rows in (dims.vocab_size, dims.max_position, dims.type_vocab_size)]
        tables16 = [t.half() for t in tables]
        long_ids, long_types = ids.long(), types.long()

        def embed(word, pos, kind, g, b):  # what BertEmbeddings computes
            return F.layer_norm(word[long_ids] + pos[:seq] + kind[long_types], (hidden,), g, b, eps)

        return (lambda: ops.emb_layer_norm(ids, types, *tables, gamma, beta, eps, dtype=torch.float16),
                lambda: embed(*tables16, gamma16, beta16), lambda: embed(*tables, gamma, beta))
    if name == "bias_gelu":
        x, bias = randn(tokens, dims.intermediate_size), randn(dims.intermediate_size, scale=0.1, dtype=torch.float32)
        bias16 = bias.half()
        return (lambda: ops.bias_gelu(x, bias), lambda: F.gelu(x + bias16), lambda: F.gelu(x.float() + bias))
    if name == "attention":
        heads, size = dims.num_heads, dims.head_size
        qkv = randn(batch, seq, 3 * hidden)

        def sdpa(t):  # [B, S, 3, heads, size] -> q, k, v as [B, heads, S, size] views of qkv
            q, k, v = t.view(batch, seq, 3, heads, size).permute(2, 0, 3, 1, 4)
            return F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, seq, hidden)

        return (lambda: ops.qkv_to_context(qkv, num_heads=heads, head_size=size, scale=1.0 / math.sqrt(size)),
                lambda: sdpa(qkv), lambda: sdpa(qkv.float()))
    raise ValueError(f"no micro-benchmark for kernel {name!r}")


def _per_call_timing(fn, protocol: Protocol):
    """Median time of one call, from replays of a graph of CALLS_PER_GRAPH calls."""
    def many():
        for _ in range(CALLS_PER_GRAPH):
            fn()

    timing = protocol.time(cuda_benchmark(cuda_graph(many)))
    return timing, timing.median_ms / CALLS_PER_GRAPH


def run(planned: Planned, dims: BertDims, shapes: list[tuple[int, int]], protocol: Protocol,
        status=lambda text: None) -> list[Row]:
    import torch

    name = planned.variant.recipe
    ops = _ops(name)  # an ImportError here becomes the variant's 'failed' row, with its message
    rows = []
    with torch.inference_mode():
        for batch, seq in shapes:
            status(f"batch {batch} x seq {seq}")
            ours, torch_op, exact = _case(name, ops, dims, batch, seq)
            actual, expected = (f().float().cpu().numpy() for f in (ours, exact))
            accuracy = check(planned.variant.name, actual, expected, "fp16", verbose=False)
            timing, ours_ms = _per_call_timing(ours, protocol)
            _, torch_ms = _per_call_timing(torch_op, protocol)
            rows.append(Row(planned.variant.name, "kernel", "fp16", "cuda", batch, seq,
                            reason=f"per call: CUDA-graph replays of {CALLS_PER_GRAPH} calls",
                            median_ms=ours_ms, p90_ms=timing.p90_ms / CALLS_PER_GRAPH,
                            p99_ms=timing.p99_ms / CALLS_PER_GRAPH, iterations=timing.iterations,
                            max_abs_diff=accuracy.max_abs, accuracy_ok=accuracy.passed, torch_op_ms=torch_ms))
    return rows
