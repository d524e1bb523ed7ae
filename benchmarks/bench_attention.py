"""Benchmark the QkvToContext kernels against PyTorch's scaled_dot_product_attention.

    python3 benchmarks/bench_attention.py [--out benchmarks/results/<gpu>_attention.txt]

First a correctness re-check of every kernel version against float64 attention (the benchmark
refuses to time wrong kernels), then one table at BERT-base shapes (12 heads x 64, fp16, then
fp32 where our default is v8 on CUDA cores and PyTorch's is its fp32 SDPA, TF32 off):
  - "full" rows: every sequence full length. Our kernel in padded mode without seq_lens;
    SDPA without a mask, so its flash backend applies.
  - a ragged batch (mixed lengths): our kernel padded (seq_lens) and packed (cu_seqlens), SDPA
    with a key mask (flash takes none: the other backends run it) and, where this PyTorch has
    it, flash's own variable-length entry point on the packed tokens.
PyTorch at its best: SDPA "eager" is the fastest backend that accepts the call (each tried),
SDPA "compiled" is torch.compile(mode="max-autotune-no-cudagraphs") of the same function.
SDPA reads q, k, v as strided views of the same qkv buffer and returns [tokens, hidden] like
ours. Everything is timed alike: warm-up, a CUDA graph of several launches, replays timed with
CUDA events, median per launch (no host launch overhead on either side).
FLOPs: 4 * heads * head_size * sum over sequences of (query rows x keys): the two matmuls; for
ragged batches only the real tokens count (useful work), so padded runs look slower per FLOP.
Bytes: qkv read once plus context written once, the least any kernel must move.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402

from bertrt.common import atomic_write_bytes  # noqa: E402
from plugins.attention.ops import VERSIONS, qkv_to_context, version_supported  # noqa: E402

TIMED_VERSIONS = VERSIONS  # --versions

NUM_HEADS, HEAD_SIZE = 12, 64
HIDDEN = NUM_HEADS * HEAD_SIZE
SCALE = 1.0 / math.sqrt(HEAD_SIZE)
BATCHES, SEQS = (1, 8, 32), (64, 128, 384)
BACKENDS = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
            "cudnn": SDPBackend.CUDNN_ATTENTION, "math": SDPBackend.MATH}
DEVICE = torch.device("cuda")


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------
def time_us(fn, launches_per_graph=20, replays=15, warmup=3):
    """Median microseconds per call of fn, replayed from a CUDA graph of several calls."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up off the default stream, as graph capture wants
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(launches_per_graph):
            fn()
    graph.replay()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = []
    for _ in range(replays):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) * 1000.0 / launches_per_graph)
    return statistics.median(samples)


# ---------------------------------------------------------------------------------------------
# the contenders, each a no-argument function returning the context [.., hidden]
# ---------------------------------------------------------------------------------------------
def ours(qkv, version, seq_lens=None, cu_seqlens=None, max_seqlen=None):
    out = torch.empty(*qkv.shape[:-1], HIDDEN, dtype=qkv.dtype, device=DEVICE)
    return lambda: qkv_to_context(qkv, seq_lens, cu_seqlens, num_heads=NUM_HEADS,
                                  head_size=HEAD_SIZE, scale=SCALE, version=version,
                                  max_seqlen=max_seqlen, out=out)


def sdpa_attention(qkv, key_mask):
    """HF-style attention on views of the fused qkv buffer: [batch, seq, 3*hidden] -> [batch,
    seq, hidden]; key_mask [batch, 1, 1, seq] bool (True = attend) or None."""
    batch, seq, _ = qkv.shape
    q, k, v = qkv.view(batch, seq, 3, NUM_HEADS, HEAD_SIZE).permute(2, 0, 3, 1, 4)
    context = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, scale=SCALE)
    return context.transpose(1, 2).reshape(batch, seq, HIDDEN)


def sdpa_on_backend(name, qkv, key_mask):
    """sdpa_attention computed by one SDPA backend alone (RuntimeError if it does not take the call)."""
    with sdpa_kernel([BACKENDS[name]]):
        return sdpa_attention(qkv, key_mask)


def backend_takes(name, qkv, key_mask) -> bool:
    """Whether SDPA backend `name` takes this call (flash takes no mask, nor fp32), found by trying."""
    try:
        with warnings.catch_warnings():  # a refusing backend warns why, then raises
            warnings.simplefilter("ignore")
            sdpa_on_backend(name, qkv, key_mask)
    except RuntimeError:
        return False
    return True


def best_sdpa_eager(qkv, key_mask):
    """(microseconds, backend name) of the fastest SDPA backend that takes this call."""
    best = None
    for name in BACKENDS:
        if not backend_takes(name, qkv, key_mask):
            continue
        try:
            us = time_us(lambda name=name: sdpa_on_backend(name, qkv, key_mask))
        except RuntimeError:  # as before run 16: a backend that fails under a graph is left out
            continue
        if best is None or us < best[0]:
            best = (us, name)
    return best


def attention_flops(batch, seq):
    """The two matmuls of full-length attention: 4 * batch * heads * seq^2 * head size."""
    return 4 * batch * NUM_HEADS * seq * seq * HEAD_SIZE


def attention_bytes(tokens, element_size):
    """The least any kernel must move: qkv [tokens, 3 * hidden] read, context [tokens, hidden] written."""
    return 4 * tokens * HIDDEN * element_size


_compiled = None


def sdpa_compiled(qkv, key_mask):
    global _compiled
    if _compiled is None:
        _compiled = torch.compile(sdpa_attention, mode="max-autotune-no-cudagraphs",
                                  dynamic=False)
    return lambda: _compiled(qkv, key_mask)


def varlen_flash(qkv_packed, cu_seqlens, max_seqlen):
    """Flash attention's variable-length entry point, where this PyTorch has it."""
    from torch.nn.attention.varlen import varlen_attn

    tokens = qkv_packed.shape[0]
    q, k, v = qkv_packed.view(tokens, 3, NUM_HEADS, HEAD_SIZE).unbind(1)
    return lambda: varlen_attn(q, k, v, cu_seqlens, cu_seqlens, max_seqlen, max_seqlen,
                               scale=SCALE).reshape(tokens, HIDDEN)


# ---------------------------------------------------------------------------------------------
# correctness first
# ---------------------------------------------------------------------------------------------
def reference(qkv, lengths):
    batch, seq, _ = qkv.shape
    q, k, v = qkv.double().view(batch, seq, 3, NUM_HEADS, HEAD_SIZE).permute(2, 0, 3, 1, 4)
    scores = q @ k.transpose(-1, -2) * SCALE
    key_valid = torch.arange(seq, device=DEVICE)[None, :] < lengths[:, None]
    scores = scores.masked_fill(~key_valid[:, None, None, :], -math.inf)
    return (scores.softmax(-1) @ v).transpose(1, 2).reshape(batch, seq, HIDDEN)


def recheck(log):
    log("correctness re-check (max |error| vs float64 attention):")
    g = torch.Generator(device=DEVICE).manual_seed(0)
    lengths = torch.tensor([384, 1, 77, 130, 383, 256, 5, 300], dtype=torch.int32, device=DEVICE)
    qkv32 = torch.randn(8, 384, 3 * HIDDEN, device=DEVICE, generator=g)
    for dtype, tolerance in [(torch.float32, 1e-5), (torch.float16, 1e-2)]:
        qkv = qkv32.to(dtype)
        expected = reference(qkv, lengths)
        cu = torch.cat([lengths.new_zeros(1), lengths.cumsum(0, dtype=torch.int32)])
        packed = torch.cat([qkv[b, :n] for b, n in enumerate(lengths.tolist())])
        expected_packed = torch.cat([expected[b, :n] for b, n in enumerate(lengths.tolist())])
        for version in (0, *TIMED_VERSIONS):
            if version and not version_supported(version, HEAD_SIZE, dtype):
                continue
            padded = ours(qkv, version, seq_lens=lengths)()
            ragged = ours(packed, version, cu_seqlens=cu, max_seqlen=384)()
            error = max((padded.double() - expected).abs().max().item(),
                        (ragged.double() - expected_packed).abs().max().item())
            log(f"  v{version} {str(dtype)[6:]}: {error:.2e} (tolerance {tolerance:g})")
            if not error <= tolerance:
                raise SystemExit(f"version {version} {dtype} is wrong: refusing to benchmark it")
        if dtype == torch.float16:  # and the contender computes the same thing
            mask = (torch.arange(384, device=DEVICE)[None, :] < lengths[:, None])[:, None, None]
            error = (sdpa_attention(qkv, mask).double() - expected).abs().max().item()
            log(f"  sdpa fp16 (masked): {error:.2e}")


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------
HEADER = ("| version | batch x seq | mode | dtype | us | TFLOP/s | vs SDPA eager | vs SDPA compiled "
          "| GB/s |")


class Table:
    def __init__(self, log):
        self.log = log
        log(HEADER)
        log("|" + "---|" * (HEADER.count("|") - 1))

    def row(self, name, shape, mode, dtype, us, flops, bytes_moved, eager_us, compiled_us):
        def ratio(base):
            return f"{base / us:.2f}x" if base else "-"
        self.log(f"| {name} | {shape} | {mode} | {dtype} | {us:.1f} | {flops / us / 1e6:.1f} | "
                 f"{ratio(eager_us)} | {ratio(compiled_us)} | {bytes_moved / us / 1e3:.0f} |")


def bench_full_length(table, dtype, shapes, compile_sdpa):
    name = str(dtype)[6:]
    element = torch.finfo(dtype).bits // 8
    for batch, seq in shapes:
        qkv = torch.randn(batch, seq, 3 * HIDDEN, device=DEVICE).to(dtype)
        flops = attention_flops(batch, seq)
        bytes_moved = attention_bytes(batch * seq, element)
        eager_us, backend = best_sdpa_eager(qkv, None)
        compiled_us = time_us(sdpa_compiled(qkv, None)) if compile_sdpa else None
        shape = f"{batch} x {seq}"
        table.row(f"SDPA eager ({backend})", shape, "full", name, eager_us, flops, bytes_moved,
                  eager_us, compiled_us)
        if compiled_us:
            table.row("SDPA compiled", shape, "full", name, compiled_us, flops, bytes_moved,
                      eager_us, compiled_us)
        for version in (*TIMED_VERSIONS, 0):
            if version and not version_supported(version, HEAD_SIZE, dtype):
                continue
            # v1 is the slow reference kernel: fewer launches keep the run short.
            launches = 3 if version == 1 else 20
            us = time_us(ours(qkv, version), launches_per_graph=launches,
                         replays=5 if version == 1 else 15)
            label = f"ours v{version}" if version else "ours default"
            table.row(label, shape, "full", name, us, flops, bytes_moved, eager_us, compiled_us)


def bench_ragged(batch, max_len, compile_sdpa, log):
    g = torch.Generator(device="cpu").manual_seed(1)
    lengths_list = torch.randint(32, max_len + 1, (batch,), generator=g).tolist()
    lengths_list[0] = max_len
    lengths = torch.tensor(lengths_list, dtype=torch.int32, device=DEVICE)
    cu = torch.tensor([0, *torch.tensor(lengths_list).cumsum(0).tolist()], dtype=torch.int32,
                      device=DEVICE)
    qkv = torch.randn(batch, max_len, 3 * HIDDEN, device=DEVICE, dtype=torch.float16)
    packed = torch.cat([qkv[b, :n] for b, n in enumerate(lengths_list)])
    tokens = packed.shape[0]
    log(f"\nragged batch: {batch} sequences, lengths {min(lengths_list)}..{max_len}, "
        f"{tokens} real tokens of {batch * max_len} padded ({100 * tokens / (batch * max_len):.0f}%)")
    table = Table(log)
    useful_flops = 4 * NUM_HEADS * HEAD_SIZE * sum(n * n for n in lengths_list)
    bytes_moved = 4 * tokens * HIDDEN * 2
    mask = (torch.arange(max_len, device=DEVICE)[None, :] < lengths[:, None])[:, None, None]
    eager_us, backend = best_sdpa_eager(qkv, mask)
    compiled_us = time_us(sdpa_compiled(qkv, mask)) if compile_sdpa else None
    shape = f"{batch} x <={max_len}"
    table.row(f"SDPA eager ({backend}) + mask", shape, "padded", "fp16", eager_us, useful_flops,
              bytes_moved, eager_us, compiled_us)
    if compiled_us:
        table.row("SDPA compiled + mask", shape, "padded", "fp16", compiled_us, useful_flops,
                  bytes_moved, eager_us, compiled_us)
    try:
        varlen_us = time_us(varlen_flash(packed, cu, max_len))
        table.row("varlen_attn (flash)", shape, "packed", "fp16", varlen_us, useful_flops,
                  bytes_moved, eager_us, compiled_us)
    except (ImportError, RuntimeError, TypeError) as error:
        log(f"(torch varlen_attn not timed: {type(error).__name__}: {str(error)[:120]})")
    for version in (*[v for v in TIMED_VERSIONS
                      if v >= 2 and version_supported(v, HEAD_SIZE, torch.float16)], 0):
        label = f"ours v{version}" if version else "ours default"
        padded_us = time_us(ours(qkv, version, seq_lens=lengths))
        packed_us = time_us(ours(packed, version, cu_seqlens=cu, max_seqlen=max_len))
        table.row(label, shape, "padded", "fp16", padded_us, useful_flops, bytes_moved, eager_us,
                  compiled_us)
        table.row(label, shape, "packed", "fp16", packed_us, useful_flops, bytes_moved, eager_us,
                  compiled_us)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="also write the output to this file")
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile rows")
    parser.add_argument("--quick", action="store_true", help="fp16 full-length rows only")
    parser.add_argument("--versions", nargs="+", type=int, choices=VERSIONS,
                        help="time only these numbered versions (default: all; the launcher's "
                             "default is always timed)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU")
    global TIMED_VERSIONS
    TIMED_VERSIONS = tuple(args.versions or VERSIONS)
    lines = []

    def log(line=""):
        print(line, flush=True)
        lines.append(line)

    torch.backends.cuda.matmul.allow_tf32 = False
    dynamo = torch._dynamo.config
    for limit in ("cache_size_limit", "recompile_limit"):  # one compile per shape is expected
        if hasattr(dynamo, limit):
            setattr(dynamo, limit, 64)
    log(f"GPU: {torch.cuda.get_device_name()}  torch {torch.__version__}  "
        f"CUDA {torch.version.cuda}")
    log(f"command: python3 {' '.join(sys.argv)}")
    log(f"BERT-base attention: {NUM_HEADS} heads x {HEAD_SIZE}, scale 1/sqrt({HEAD_SIZE})\n")
    recheck(log)
    log("")
    compile_sdpa = not args.no_compile
    table = Table(log)
    shapes = [(b, s) for b in BATCHES for s in SEQS]
    bench_full_length(table, torch.float16, shapes, compile_sdpa)
    if not args.quick:
        bench_full_length(table, torch.float32, shapes, compile_sdpa)
        bench_ragged(32, 384, compile_sdpa, log)
    if args.out:
        atomic_write_bytes(args.out, ("\n".join(lines) + "\n").encode())


if __name__ == "__main__":
    main()
