"""Benchmark of the memory-bound kernels (LayerNorm, SkipLayerNorm, EmbLayerNorm, BiasGelu, and
SkipLayerNorm with INT8 I/O: --dtypes int8, its only dtype), llm.c
dev/cuda style: every kernel version is first checked against a float64 reference on the very
inputs it is timed on, then timed next to PyTorch computing the same function, eagerly and
through torch.compile(mode="max-autotune-no-cudagraphs").

    python3 benchmarks/bench_memory_bound_kernels.py --out-dir benchmarks/results
    (writes <gpu-slug>_memory_bound_kernels.txt there, e.g. nvidia-h100-80gb-hbm3_...)

Timing: every contender (our launches through ctypes, torch eager, torch compiled) is captured
N times into one CUDA graph and replayed, so launch overhead is the same small graph-launch cost
for all; CUDA events around each replay, warm-up first, median over many replays.

Caches: the captured calls rotate over enough input sets that together they move at least
WORKING_SET_OVER_L2 times the L2 size, and each set's output stays alive until that set comes
round again, so outputs rotate too (one reused output buffer would let L2 absorb the writes).
EmbLayerNorm's word table (94 MB in fp32, within 2x of an H100's or H200's L2) rotates over
enough copies to be WORD_TABLES_OVER_L2 times the L2, so its random row gathers mostly miss, as
they do in a real forward pass that has streamed 12 layers of weights since the last one.
--hot-l2 times the other case, the one a small batch meets inside a network: every call reads the
same inputs (one set, no rotation, no table copies), so they sit in L2 as the output of the
kernel before would; the floor under small shapes is then a launch and an L2 round trip.

Bandwidth: the fewest bytes the function must move (each input read once, the output written
once; gamma/beta/bias and, for EmbLayerNorm, the ids, the position and type rows used and one
word row per token), over the time. "% of copy peak" compares that with the ceiling: a 1 GiB
device-to-device copy on a plain stream (bytes read + written; copy_bandwidths says why that
one and what else is measured). "vs torch ..." is torch's time over ours: above 1 we are faster.

Parameters: gamma/beta/bias in the activation dtype, for our LayerNorm and SkipLayerNorm kernels
(their contract) and for torch (what an fp16 PyTorch model holds: PyTorch at its best); fp32 for
both in EmbLayerNorm (its tables' dtype; torch casts its output) and for our BiasGelu's bias.
torch.compile is built once per (kernel, dtype, hidden), from a reset dynamo state, with only
the token dimension dynamic; its first call (which autotunes) is at the largest token count, and
its pick serves every count. --compile-static compiles afresh for every token count with static
shapes instead (autotuned there, as a fixed-shape model is; it can be faster at small counts).
Compiling is slow, so by default only hidden 768 gets that baseline.
"tuned (vN)": what the plugins with tactics (LayerNorm family, BiasGelu) get inside a TensorRT
engine, whose builder times their kernel versions and keeps the fastest (plugins/common/plugin_base.h;
version 1 is offered only where no other version takes the shape, so it is left out here). Where the
run times the default and at least two numbered versions of such a kernel, the fastest of them is
timed again, in TUNED_ROUNDS rounds alternating with torch.compile, and reported under that label
(the median of those timings, not the minimum of the first ones, which would favour whichever
version's timing happened to come out low); its "vs torch.compile" is against torch.compile's
median of the same rounds. torch.compile's row is the same thing on its side, a pick among
autotuned configs.
Before anything is timed the GPU is kept busy for a second so its clocks leave idle, and the copy
peak is the better of a copy timed before and one timed after the kernels.
"""
from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from bertrt.common import atomic_write_bytes  # noqa: E402
from plugins.bias_gelu.ops import VERSIONS as GELU_VERSIONS, bias_gelu  # noqa: E402
from plugins.emb_layernorm.ops import emb_layer_norm  # noqa: E402
from plugins.layernorm.ops import VERSIONS as NORM_VERSIONS, layer_norm  # noqa: E402
from plugins.skip_layernorm.ops import INT8_VERSIONS, skip_layer_norm, skip_layer_norm_int8  # noqa: E402

EPSILON = 1e-12
TOLERANCE = {torch.float32: 1e-5, torch.float16: 1e-2}  # atol = rtol, against float64
TUNED_ROUNDS = 3  # the tuned row and torch.compile, timed again in alternation
INT8_STEPS = 1.0  # int8 outputs: within one quantization step of float64 (ties may round either way)
VOCAB, MAX_POS, TYPE_VOCAB, SEQ_LEN = 30522, 512, 2, 128  # BERT-base embeddings, sequences of 128
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "int8": torch.int8}
INT8_SCALES = (0.05, 0.04, 8 / 127)  # SkipLayerNormInt8's input, skip and output scales
WORKING_SET_OVER_L2 = 3  # bytes moved by one pass over the rotating sets, in L2 sizes
WORD_TABLES_OVER_L2 = 8  # EmbLayerNorm: all word-table copies together, in L2 sizes


# ---------------------------------------------------------------------------------------------
# Timing


MIN_CALLS_PER_GRAPH = 20


def graph_calls(input_sets: int, min_calls: int = MIN_CALLS_PER_GRAPH) -> int:
    """Calls captured in one graph: at least min_calls, and every input set equally often, so that
    a replay's pass over the sets moves the working set the rotation was sized for."""
    return input_sets * math.ceil(min_calls / input_sets)


def time_in_graph(call: Callable[[int], object], input_sets: int, min_calls: int = MIN_CALLS_PER_GRAPH,
                  target_ms: float = 25.0) -> float:
    """Median microseconds of one call(i), i cycling over input sets, from CUDA-graph replays.
    call(i)'s result is kept until set i comes round again: the next call allocates its output
    while the previous ones are still alive, so outputs rotate over input_sets + 1 buffers."""
    outputs = [None] * input_sets
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up off the capture: module loads, autotuning, allocator
        for i in range(input_sets):
            outputs[i] = call(i)
    torch.cuda.current_stream().wait_stream(side)
    torch.cuda.synchronize()

    calls = graph_calls(input_sets, min_calls)
    graph = torch.cuda.CUDAGraph()
    outputs = [None] * input_sets
    with torch.cuda.graph(graph):
        for c in range(calls):
            outputs[c % input_sets] = call(c % input_sets)
    first_ms = min(replay_us(graph, calls, 1) for _ in range(3)) * calls / 1000.0  # warm replays
    reps = max(5, min(100, int(target_ms / max(first_ms, 1e-3))))
    us = replay_us(graph, calls, reps)
    del graph, outputs
    return us


def replay_us(graph, calls: int, reps: int) -> float:
    """Median microseconds per call over `reps` timed replays of a captured graph of `calls` calls
    (CUDA events around each replay)."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples = []
    for _ in range(reps):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        samples.append(start.elapsed_time(end) * 1000.0 / calls)
    return statistics.median(samples)


@dataclass
class CopyBandwidth:
    """GB/s, bytes read + written, of one 1 GiB device-to-device copy timed three ways."""
    stream_memcpy: float  # the ceiling
    graph_memcpy: float
    graph_kernel: float

    def line(self) -> str:
        return (f"{self.stream_memcpy:.0f} GB/s memcpy on a stream (the ceiling), "
                f"{self.graph_kernel:.0f} copy kernel in a graph, "
                f"{self.graph_memcpy:.0f} memcpy node in a graph")


def copy_bandwidths(megabytes: int = 1024, reps: int = 30) -> CopyBandwidth:
    """The copy peak, measured three ways (1 GiB is 17x an H200's L2: no rotation needed):
      stream_memcpy  torch's copy_ (cudaMemcpyAsync) on a plain stream, CUDA events around each
                     copy, median of `reps`. At 1 GiB the launch is ~0.01% of the time: this is
                     the device's copy bandwidth, and the ceiling "% of copy peak" divides by.
      graph_kernel   a copy done by a kernel (torch's elementwise y = x * 1: one read, one write
                     per element), captured and replayed by time_in_graph exactly as the
                     kernels are: the same method as every row of the table.
      graph_memcpy   the same copy_ captured in a graph, where it becomes a memcpy node. Reported
                     because the first H200 run used it as the peak: it moved only ~2.8 TB/s
                     while kernels moved ~4.3 TB/s (the node is not run like a stream copy)."""
    src = torch.randn((megabytes << 20) // 4, device="cuda")
    dst = torch.empty_like(src)
    nbytes = 2 * src.numel() * src.element_size()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    stream_ms = []
    for _ in range(reps):
        start.record()
        dst.copy_(src)
        end.record()
        end.synchronize()
        stream_ms.append(start.elapsed_time(end))
    stream_us = statistics.median(stream_ms) * 1000.0
    memcpy_node_us = time_in_graph(lambda i: dst.copy_(src), 1, min_calls=10, target_ms=200.0)
    kernel_us = time_in_graph(lambda i: torch.mul(src, 1.0, out=dst), 1, min_calls=10,
                              target_ms=200.0)
    return CopyBandwidth(*(nbytes / us / 1e3 for us in (stream_us, memcpy_node_us, kernel_us)))


def launch_floor_us(calls: int = 1000) -> float:
    """Per call, a kernel that does nothing (torch.cuda._sleep(0): one launch, no memory access),
    captured and replayed like every row: the floor under the small-token rows."""
    return time_in_graph(lambda i: torch.cuda._sleep(0), 1, min_calls=calls)


def warm_up_gpu(seconds: float = 1.0):
    """Keep the GPU busy long enough for its clocks to leave idle before anything is timed."""
    a = torch.randn(4096, 4096, device="cuda")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(10):
            a = torch.tanh(a @ a)
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------------------------
# The four kernels: inputs, our launch, the torch function, the float64 reference, the bytes


@dataclass
class Workload:
    name: str
    versions: tuple
    make_shared: Callable  # (tokens, width, dtype, l2_bytes) -> dict every input set shares
    make_set: Callable  # (tokens, width, dtype, shared, index) -> dict: the index-th rotating set
    ours: Callable  # (inputs, version, dtype) -> output
    torch_fn: Callable  # (**inputs) -> output, also what torch.compile gets
    reference: Callable  # (inputs) -> float64 output
    min_bytes: Callable  # (tokens, width, element size) -> int
    dynamic: tuple  # names of the inputs whose dim 0 grows with the token count
    width_of: Callable = lambda hidden: hidden  # BiasGelu runs on the FFN width, 4 * hidden
    dtypes: tuple = ("fp32", "fp16")  # the activation types it runs in
    # --copy-floor: one torch elementwise kernel that reads the same activations and writes an
    # output of the same size, nothing else: what moving the row's bytes costs in one launch.
    copy_fn: Callable | None = None
    # Its TensorRT plugin offers the numbered versions as tactics (plugins/common/plugin_base.h):
    # the table then gets a "tuned" row, the builder's pick.
    tactics: bool = False


def norm_weights(width, dtype):
    """gamma and beta of `dtype`, shared by our kernel and torch (see the docstring)."""
    return {"gamma": (1.0 + 0.1 * torch.randn(width, device="cuda")).to(dtype),
            "beta": (0.1 * torch.randn(width, device="cuda")).to(dtype)}


def torch_layer_norm(x, gamma, beta):
    return F.layer_norm(x, (x.shape[-1],), gamma, beta, EPSILON)


def double_layer_norm(x, gamma, beta):
    return F.layer_norm(x.double(), (x.shape[-1],), gamma.double(), beta.double(), EPSILON)


LAYER_NORM = Workload(
    "LayerNorm", NORM_VERSIONS,
    make_shared=lambda t, h, dt, l2: norm_weights(h, dt),
    make_set=lambda t, h, dt, s, i: {"x": torch.randn(t, h, device="cuda").to(dt)},
    ours=lambda i, v, dt: layer_norm(i["x"], i["gamma"], i["beta"], EPSILON, version=v),
    torch_fn=lambda x, gamma, beta, **_: torch_layer_norm(x, gamma, beta),
    reference=lambda i: double_layer_norm(i["x"], i["gamma"], i["beta"]),
    min_bytes=lambda t, h, e: 2 * t * h * e + 2 * h * e,
    dynamic=("x",),
    copy_fn=lambda x, **_: torch.mul(x, 1),
    tactics=True)


def _skip_shared(t, h, dt, l2_bytes):
    shared = norm_weights(h, dt)
    shared["bias"] = (0.5 * torch.randn(h, device="cuda")).to(dt)
    return shared


SKIP_LAYER_NORM = Workload(
    "SkipLayerNorm", NORM_VERSIONS,
    make_shared=_skip_shared,
    make_set=lambda t, h, dt, s, i: {"x": torch.randn(t, h, device="cuda").to(dt),
                                     "skip": torch.randn(t, h, device="cuda").to(dt)},
    ours=lambda i, v, dt: skip_layer_norm(i["x"], i["skip"], i["gamma"], i["beta"], EPSILON,
                                          bias=i["bias"], version=v),
    torch_fn=lambda x, skip, bias, gamma, beta, **_: torch_layer_norm(x + skip + bias, gamma, beta),
    reference=lambda i: double_layer_norm(i["x"].double() + i["skip"].double() + i["bias"].double(),
                                          i["gamma"], i["beta"]),
    min_bytes=lambda t, h, e: 3 * t * h * e + 3 * h * e,
    dynamic=("x", "skip"),
    copy_fn=lambda x, skip, **_: torch.add(x, skip),
    tactics=True)


def _emb_shared(t, h, dt, l2_bytes):
    shared = norm_weights(h, torch.float32)
    copies = max(1, math.ceil(WORD_TABLES_OVER_L2 * l2_bytes / (VOCAB * h * 4)))  # l2_bytes 0: --hot-l2
    # "_": make_set picks one per set; not an input of the functions themselves.
    shared["_word_tables"] = [torch.randn(VOCAB, h, device="cuda") for _ in range(copies)]
    shared["pos"] = 0.5 * torch.randn(MAX_POS, h, device="cuda")
    shared["types_table"] = 0.5 * torch.randn(TYPE_VOCAB, h, device="cuda")
    shared["out_dtype"] = dt
    return shared


def _emb_set(t, h, dt, shared, index):
    batch = t // SEQ_LEN
    tables = shared["_word_tables"]
    return {"ids": torch.randint(0, VOCAB, (batch, SEQ_LEN), device="cuda", dtype=torch.int32),
            "types": torch.randint(0, TYPE_VOCAB, (batch, SEQ_LEN), device="cuda", dtype=torch.int32),
            "word": tables[index % len(tables)]}


def _torch_embeddings(ids, types, word, pos, types_table, gamma, beta, out_dtype, **_):
    summed = F.embedding(ids, word) + F.embedding(types, types_table) + pos[: ids.shape[1]]
    return F.layer_norm(summed, (word.shape[1],), gamma, beta, EPSILON).to(out_dtype)


def _emb_reference(i):
    summed = i["word"].double()[i["ids"].long()] + i["types_table"].double()[i["types"].long()] \
        + i["pos"].double()[: i["ids"].shape[1]]
    return double_layer_norm(summed, i["gamma"], i["beta"])


EMB_LAYER_NORM = Workload(
    "EmbLayerNorm", NORM_VERSIONS,
    make_shared=_emb_shared,
    make_set=_emb_set,
    ours=lambda i, v, dt: emb_layer_norm(i["ids"], i["types"], i["word"], i["pos"], i["types_table"],
                                         i["gamma"], i["beta"], EPSILON, dtype=dt, version=v),
    torch_fn=_torch_embeddings,
    reference=_emb_reference,
    # ids + types, one word row per token, the position and type rows used, gamma/beta, output.
    min_bytes=lambda t, h, e: t * 8 + t * h * 4 + (min(t, SEQ_LEN) + TYPE_VOCAB + 2) * h * 4 + t * h * e,
    dynamic=("ids", "types"),
    tactics=True)


def _skip_int8_shared(t, h, dt, l2_bytes):
    return {**norm_weights(h, torch.float32), "bias": 0.5 * torch.randn(h, device="cuda")}


def _skip_int8_set(t, h, dt, shared, index):
    return {name: torch.randint(-128, 128, (t, h), device="cuda", dtype=torch.int8)
            for name in ("x", "skip")}


def _quantized_skip_layer_norm(x, skip, bias, gamma, beta, float_type):
    """TensorRT's INT8 semantics in torch: dequantize, (x + skip) + bias, LayerNorm, quantize."""
    x_scale, skip_scale, out_scale = INT8_SCALES
    summed = x.to(float_type) * x_scale + skip.to(float_type) * skip_scale + bias.to(float_type)
    y = F.layer_norm(summed, (x.shape[-1],), gamma.to(float_type), beta.to(float_type), EPSILON)
    return torch.clamp(torch.round(y / out_scale), -128, 127)


SKIP_LAYER_NORM_INT8 = Workload(
    "SkipLayerNormInt8", INT8_VERSIONS,
    make_shared=_skip_int8_shared,
    make_set=_skip_int8_set,
    ours=lambda i, v, dt: skip_layer_norm_int8(i["x"], INT8_SCALES[0], i["skip"], INT8_SCALES[1],
                                               i["gamma"], i["beta"], INT8_SCALES[2], EPSILON,
                                               bias=i["bias"], version=v),
    torch_fn=lambda x, skip, bias, gamma, beta, **_: _quantized_skip_layer_norm(
        x, skip, bias, gamma, beta, torch.float32).to(torch.int8),
    reference=lambda i: _quantized_skip_layer_norm(i["x"], i["skip"], i["bias"], i["gamma"], i["beta"],
                                                   torch.float64),
    min_bytes=lambda t, h, e: 3 * t * h * e + 3 * h * 4,
    dynamic=("x", "skip"),
    dtypes=("int8",),
    copy_fn=lambda x, skip, **_: torch.add(x, skip))


def _gelu_shared(t, n, dt, l2_bytes):
    bias = torch.randn(n, device="cuda")
    return {"bias": bias, "bias_t": bias.to(dt)}


BIAS_GELU = Workload(
    "BiasGelu", GELU_VERSIONS,
    make_shared=_gelu_shared,
    make_set=lambda t, n, dt, s, i: {"x": (3 * torch.randn(t, n, device="cuda")).to(dt)},
    ours=lambda i, v, dt: bias_gelu(i["x"], i["bias"], version=v),
    torch_fn=lambda x, bias_t, **_: F.gelu(x + bias_t, approximate="none"),
    reference=lambda i: F.gelu(i["x"].double() + i["bias"].double(), approximate="none"),
    min_bytes=lambda t, n, e: 2 * t * n * e + n * 4,
    dynamic=("x",),
    width_of=lambda hidden: 4 * hidden,
    copy_fn=lambda x, **_: torch.mul(x, 1),  # torch's broadcast add of the bias is slower than a copy
    tactics=True)

WORKLOADS = {w.name: w for w in (LAYER_NORM, SKIP_LAYER_NORM, EMB_LAYER_NORM, BIAS_GELU,
                                  SKIP_LAYER_NORM_INT8)}


# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    kernel: str
    version: str
    shape: str
    dtype: str
    us: float | None
    gbs: float | None = None
    peak_pct: float | None = None
    vs_eager: float | None = None
    vs_compiled: float | None = None


HEADER = ("kernel", "version", "tokens x hidden", "dtype", "us", "GB/s", "% of copy peak",
          "vs torch eager", "vs torch.compile")


def format_rows(rows: list[Row]) -> str:
    def cell(value, fmt):
        return "n/a" if value is None else format(value, fmt)

    table = [HEADER] + [(r.kernel, r.version, r.shape, r.dtype, cell(r.us, ".2f"), cell(r.gbs, ".0f"),
                         cell(r.peak_pct, ".1f"), cell(r.vs_eager, ".2f") + ("x" if r.vs_eager else ""),
                         cell(r.vs_compiled, ".2f") + ("x" if r.vs_compiled else "")) for r in rows]
    widths = [max(len(line[c]) for line in table) for c in range(len(HEADER))]
    lines = ["| " + " | ".join(text.ljust(w) for text, w in zip(line, widths)) + " |" for line in table]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def check(output, expected, dtype, label):
    """llm.c's validate_result: stop before timing anything wrong."""
    expected = expected.reshape(output.shape)
    tol = INT8_STEPS if dtype == torch.int8 else TOLERANCE[dtype]
    rtol = 0.0 if dtype == torch.int8 else tol
    if output.double().isnan().any() or not torch.allclose(output.double(), expected, atol=tol, rtol=rtol):
        worst = (output.double() - expected).abs().nan_to_num(math.inf).max().item()
        raise SystemExit(f"MISMATCH {label}: max |error| {worst:.3g} > {tol}")


def compile_torch_fn(workload):
    return torch.compile(workload.torch_fn, mode="max-autotune-no-cudagraphs")


def input_set_count(nbytes: int, rotate_over: int) -> int:
    """How many input sets of `nbytes` each it takes for one pass over them to move
    WORKING_SET_OVER_L2 x `rotate_over` bytes (the L2's size; 0: one set, left in L2)."""
    return max(1, math.ceil(WORKING_SET_OVER_L2 * rotate_over / nbytes))


def make_inputs(workload, dtype, width, tokens, rotate_over, dynamic=False):
    """(input sets, bytes moved per call) of one cell: enough sets that one pass over them moves
    WORKING_SET_OVER_L2 x `rotate_over` bytes (0: one set, left in L2: --hot-l2), seeded by the
    cell. dynamic: the token dimension marked dynamic for torch.compile (one compile, many counts)."""
    torch.manual_seed(tokens * 7919 + width)
    shared = workload.make_shared(tokens, width, dtype, rotate_over)
    element = torch.empty((), dtype=dtype).element_size()
    nbytes = workload.min_bytes(tokens, width, element)
    sets = input_set_count(nbytes, rotate_over)
    common = {name: value for name, value in shared.items() if not name.startswith("_")}
    inputs = [{**common, **workload.make_set(tokens, width, dtype, shared, i)} for i in range(sets)]
    if dynamic:
        for one in inputs:
            for name in workload.dynamic:
                if one[name].shape[0] > 1:  # dynamo specializes sizes 0 and 1 anyway
                    torch._dynamo.mark_dynamic(one[name], 0)
    return inputs, nbytes


def our_contenders(workload, inputs, dtype, versions, where, log, expected=None):
    """label -> call(i) of our kernel on input set i: "default" (the launcher's choice), then "vN"
    for each of `versions` that takes the shape (the others are logged and left out), each
    checked against float64 on set 0 first (`expected`: that reference, if the caller has it)."""
    contenders = {}
    if expected is None:
        expected = workload.reference(inputs[0])
    for version in (None, *versions):
        label = "default" if version is None else f"v{version}"
        try:
            output = workload.ours(inputs[0], version, dtype)
        except RuntimeError as error:  # a numbered version that does not take this shape
            if version is None or "not supported" not in str(error):
                raise
            log(f"  {workload.name} {label} does not take {where}: left out")
            continue
        check(output, expected, dtype, f"{workload.name} {label} {where}")
        del output
        contenders[label] = lambda i, v=version: workload.ours(inputs[i], v, dtype)
    return contenders


def builder_candidates(labels) -> list[str]:
    """Those of our labels ("default", "vN") a TensorRT builder would choose among: the default and
    the numbered versions, v1 only where no other version runs (plugin_base.h's versionsTaken)."""
    ours = [label for label in labels if label == "default" or label.startswith("v")]
    if any(label.startswith("v") and label != "v1" for label in ours):
        ours = [label for label in ours if label != "v1"]
    return ours


def bench_group(workload, dtype_name, hidden, token_counts, l2_bytes, compile_enabled, log,
                versions=None, static_compile=False, copy_floor=False, hot_l2=False):
    """All rows of one (kernel, dtype, hidden), largest token count first; `versions`: the
    numbered versions to time (None: all of the workload's). torch.compile: once for the group
    with the token dimension dynamic (autotuned at the largest count), or with static_compile
    afresh for every token count (autotuned there: what a fixed-shape model gets)."""
    dtype = DTYPES[dtype_name]
    width = workload.width_of(hidden)
    compiled = None
    if compile_enabled and not static_compile:
        compiled = compile_torch_fn(workload)
    rows = []
    # A fresh dynamo state per group: otherwise, having seen several hidden sizes and dtypes for
    # the same torch function, dynamo would make those dimensions dynamic too (slower kernels).
    torch._dynamo.reset()
    for tokens in sorted(token_counts, reverse=True):
        if compile_enabled and static_compile:
            torch._dynamo.reset()
            compiled = compile_torch_fn(workload)
        inputs, nbytes = make_inputs(workload, dtype, width, tokens, 0 if hot_l2 else l2_bytes,
                                     dynamic=not static_compile)
        sets = len(inputs)
        shape = f"{tokens} x {width}"
        timed = [v for v in workload.versions if versions is None or v in versions]
        contenders = our_contenders(workload, inputs, dtype, timed, f"{shape} {dtype_name}", log)
        contenders["torch eager"] = lambda i: workload.torch_fn(**inputs[i])
        if copy_floor and workload.copy_fn is not None:
            contenders["copy floor"] = lambda i: workload.copy_fn(**inputs[i])
        if compiled is not None:
            contenders["torch.compile"] = lambda i: compiled(**inputs[i])

        times = {}
        for label, call in contenders.items():
            started = time.perf_counter()
            try:
                times[label] = time_in_graph(call, sets)
            except Exception as error:  # a failing torch.compile must not cost the whole run
                if label != "torch.compile":
                    raise
                log(f"  torch.compile failed, left out of this group: {type(error).__name__}: {error}")
                compiled = None
                continue
            log(f"  {workload.name:13s} {shape:>14s} {dtype_name} {label:13s} {times[label]:9.2f} us"
                f"  ({time.perf_counter() - started:.1f} s, {sets} input sets)")
        candidates = {label: times[label] for label in builder_candidates(times)}
        tuned_vs_compile = None
        if workload.tactics and len(candidates) > 2:
            pick = min(candidates, key=candidates.get)
            # Timed again, alternating with torch.compile (when there is one) in TUNED_ROUNDS rounds:
            # the tuned row's "vs torch.compile" compares medians taken side by side, not timings
            # from two places of the run (the same kernel has come out up to 6.5% apart between the
            # first pass and a later one).
            again = [pick] + (["torch.compile"] if "torch.compile" in times else [])
            rounds = {label: [] for label in again}
            for _ in range(TUNED_ROUNDS):
                for label in again:
                    rounds[label].append(time_in_graph(contenders[label], sets))
            medians = {label: statistics.median(us) for label, us in rounds.items()}
            times[f"tuned ({pick})"] = medians[pick]
            if "torch.compile" in medians:
                tuned_vs_compile = medians["torch.compile"] / medians[pick]
                log(f"  {workload.name:13s} {shape:>14s} {dtype_name} tuned ({pick}) {medians[pick]:.2f} us, "
                    f"torch.compile {medians['torch.compile']:.2f} us: medians of {TUNED_ROUNDS} alternating rounds")
        for label, us in times.items():
            gbs = nbytes / us / 1e3
            vs_compiled = times["torch.compile"] / us if "torch.compile" in times else None
            if label.startswith("tuned (") and tuned_vs_compile is not None:
                vs_compiled = tuned_vs_compile
            rows.append(Row(workload.name, label, shape, dtype_name, us, gbs, None,
                            times["torch eager"] / us, vs_compiled))
        del inputs, contenders
        torch.cuda.empty_cache()
    # Present groups smallest token count first, as the table reads naturally.
    order = {t: k for k, t in enumerate(sorted(token_counts))}
    rows.sort(key=lambda r: order[int(r.shape.split(" x ")[0])])
    return rows


def main(argv=None):
    global SEQ_LEN  # --seq-len: read by EmbLayerNorm's input sets and byte count
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument("--out-dir", type=Path,
                        help="also write the report to <gpu-slug>_memory_bound_kernels.txt here")
    parser.add_argument("--kernels", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--hidden", nargs="+", type=int, default=[768, 1024])
    parser.add_argument("--tokens", nargs="+", type=int, default=[128, 1024, 4096, 16384, 65536])
    parser.add_argument("--versions", nargs="+", type=int,
                        help="time only these numbered versions (default: all; 'default' is always timed)")
    parser.add_argument("--compile-hidden", nargs="*", type=int, default=[768],
                        help="hidden sizes that get the torch.compile baseline (compiling is slow)")
    parser.add_argument("--compile-static", action="store_true",
                        help="compile torch.compile's baseline afresh for every token count with static "
                             "shapes (autotuned at that count) instead of once with the token "
                             "dimension dynamic (autotuned at the largest count); slower")
    parser.add_argument("--copy-floor", action="store_true",
                        help="also time a 'copy floor' row: one torch elementwise kernel reading the same "
                             "activations and writing the same output bytes (the report's notes say which), "
                             "the floor under the small-token rows")
    parser.add_argument("--hot-l2", action="store_true",
                        help="no input rotation: every call reads the same inputs, resident in L2 (as a "
                             "small batch's are, written by the kernel before); default: inputs from DRAM")
    parser.add_argument("--seq-len", type=int, default=SEQ_LEN,
                        help=f"EmbLayerNorm's sequence length, 1..{MAX_POS} (default {SEQ_LEN}); "
                             "token counts are batches of it")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU")
    if not 1 <= args.seq_len <= MAX_POS:
        raise SystemExit(f"--seq-len must be 1..{MAX_POS} (BERT's position table), got {args.seq_len}")
    SEQ_LEN = args.seq_len
    if any(t % SEQ_LEN for t in args.tokens) and "EmbLayerNorm" in args.kernels:
        raise SystemExit(f"token counts must be multiples of {SEQ_LEN} (EmbLayerNorm's sequences); "
                         "pass --seq-len or other --tokens")
    torch._dynamo.config.cache_size_limit = 64
    torch._dynamo.config.automatic_dynamic_shapes = False  # only the token dimension is dynamic

    def log(text):
        print(text, flush=True)

    gpu = torch.cuda.get_device_name(0)
    outputs = [args.out] if args.out else []
    if args.out_dir:
        slug = re.sub(r"[^a-z0-9]+", "-", gpu.lower()).strip("-")
        outputs.append(args.out_dir / f"{slug}_memory_bound_kernels.txt")
    props = torch.cuda.get_device_properties(0)
    started = time.time()
    warm_up_gpu()
    copy_before = copy_bandwidths()
    floor = launch_floor_us()
    head = [f"GPU: {gpu} ({props.multi_processor_count} SMs, L2 {props.L2_cache_size >> 20} MiB)",
            f"torch {torch.__version__}, CUDA {torch.version.cuda}",
            f"command: python3 {' '.join(sys.argv)}",
            ("timing: each contender captured N times into one CUDA graph, median of the replays "
             "(CUDA events), per call;"),
            ("  --hot-l2: every call reads the same inputs (one set, one word table), resident in L2."
             if args.hot_l2 else
             (f"  its calls rotate over input sets (and outputs) moving >= {WORKING_SET_OVER_L2}x "
              f"the L2 per pass, EmbLayerNorm over word-table copies of >= {WORD_TABLES_OVER_L2}x "
              "the L2.")),
            (f"launch floor: an empty kernel (torch.cuda._sleep(0)) timed like the rows takes "
             f"{floor:.2f} us per call."),
            ("GB/s: the fewest bytes the function must move / time. % of copy peak: against a "
             "1 GiB device-to-device copy on a plain stream (cudaMemcpyAsync, events, median of 30),")]
    for line in head:
        log(line)
    log(f"copy before the kernels: {copy_before.line()}")
    rows = []
    for name in args.kernels:
        for dtype_name in (d for d in args.dtypes if d in WORKLOADS[name].dtypes):
            for hidden in args.hidden:
                rows += bench_group(WORKLOADS[name], dtype_name, hidden, args.tokens,
                                    props.L2_cache_size, hidden in args.compile_hidden, log,
                                    args.versions, args.compile_static, args.copy_floor, args.hot_l2)
                for path in outputs:  # what is done so far survives a run cut short
                    text = "\n".join(head + ["", format_rows(rows), "(partial)"]) + "\n"
                    atomic_write_bytes(path, text.encode())
    copy_after = copy_bandwidths()
    log(f"copy after the kernels: {copy_after.line()}")
    peak = max(copy_before.stream_memcpy, copy_after.stream_memcpy)
    kernel_copy = max(copy_before.graph_kernel, copy_after.graph_kernel)
    memcpy_node = max(copy_before.graph_memcpy, copy_after.graph_memcpy)
    head += [(f"  read + written, best of before and after the kernels: {peak:.0f} GB/s "
              f"({copy_before.stream_memcpy:.0f} before, {copy_after.stream_memcpy:.0f} after)."),
             (f"  The same copy by a kernel (y = x * 1) timed like the rows below: "
              f"{kernel_copy:.0f} GB/s ({100 * kernel_copy / peak:.1f}%); as a memcpy node in a "
              f"graph: {memcpy_node:.0f} GB/s (not a ceiling: see copy_bandwidths).")]
    for line in head[-2:]:
        log(line)
    for row in rows:
        row.peak_pct = 100 * row.gbs / peak
    table = format_rows(rows)
    notes = ["", "Every version was checked against float64 (atol = rtol = 1e-5 fp32, 1e-2 fp16; int8: "
             "within one quantization step) on the inputs it was timed on before timing.",
             "'default' is the launcher's own choice (bertLayerNorm, ...), tactic 0 of the TensorRT plugins; "
             "'tuned (vN)' the fastest of it and the versions the plugin offers (v1 only where nothing else "
             "runs), what a TensorRT builder keeps, timed again "
             f"in {TUNED_ROUNDS} rounds, alternating with torch.compile where there is one (its vs torch.compile: "
             "the medians of those rounds). "
             "vs torch: torch's time / ours (> 1: ours faster).",
             f"torch.compile baseline only for hidden {args.compile_hidden} (compiling takes ~10 s each), "
             + ("compiled per token count with static shapes. " if args.compile_static else
                "compiled once per kernel, dtype and hidden with the token dimension dynamic, "
                "autotuned at the largest token count. ") +
             f"BiasGelu runs on [tokens, 4 * hidden] (the FFN intermediate). "
             f"SkipLayerNormInt8: int8 input, skip and output (scales {', '.join(f'{x:.4g}' for x in INT8_SCALES)}), "
             "fp32 bias/gamma/beta; torch dequantizes, adds, normalizes and quantizes (eager: several kernels). "
             f"EmbLayerNorm: sequences of {SEQ_LEN}, vocab {VOCAB}, fp32 tables.",
             *(["'copy floor' (--copy-floor): torch's elementwise kernel reading the same activations and "
                "writing an output of the same size and dtype (LayerNorm x * 1, SkipLayerNorm x + skip, BiasGelu x * 1), no "
                "parameters and no reduction: what one launch moving the row's bytes costs; its GB/s counts "
                "the kernel's bytes as the other rows do."] if args.copy_floor else []),
             f"total {time.time() - started:.0f} s"]
    report = "\n".join(head + ["", table] + notes) + "\n"
    print("\n" + table + "\n" + "\n".join(notes), flush=True)
    for path in outputs:
        atomic_write_bytes(path, report.encode())
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
