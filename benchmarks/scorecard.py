"""The fused kernels against PyTorch's best at BERT-base shapes, in one table with one verdict per cell.

    python3 benchmarks/scorecard.py --out benchmarks/results/<gpu>_scorecard.txt

The issue's question, asked the same way of every kernel: is ours at least as fast as PyTorch's
best at batch 1/8/32 x sequence 64/128/384 (hidden 768, 12 heads x 64, FFN width 3072)?

Per cell (kernel, dtype, batch x sequence):
  1. Inputs rotate over sets that move >= 3x the L2 per pass (bench_memory_bound_kernels.py's rule),
     so every contender reads from DRAM as inside a network that has streamed its weights since.
  2. Ours: every version the TensorRT plugin offers as a tactic (plugins/common/plugin_base.h), each
     checked against float64 on the inputs it is timed on, then timed once: the fastest is what a
     TensorRT builder keeps ("pick"). The launcher's default is kept beside it.
  3. PyTorch: eager and torch.compile(mode="max-autotune-no-cudagraphs") compiled afresh for the cell
     with static shapes; attention: every SDPA backend that takes the call (flash, efficient,
     cuDNN) and SDPA compiled. Every contender runs as a CUDA graph (no host launch cost anywhere).
  4. Rounds: all contenders are replayed round after round (ROUNDS, each contender once a round,
     the median of its replays). In each round, PyTorch's best is its fastest contender of that
     round, and the ratio is that time over ours (> 1: ours faster).
  5. Verdict: "ahead" if ours is faster in every round, "behind" if slower in every round, "level"
     otherwise (the rounds disagree: the difference is within the spread of the measurement).

Memory-bound kernels also show a copy floor: torch's one elementwise kernel moving the same
activation bytes (bench_memory_bound_kernels.py's --copy-floor), timed in the same rounds, and the
percentage of the copy peak (a 1 GiB device-to-device copy) ours reaches. Where PyTorch's best and
ours both sit on that floor no kernel can be ahead: the bytes take that long to move.
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch.nn.attention import sdpa_kernel  # noqa: E402

import benchmarks.bench_memory_bound_kernels as memory_bound  # noqa: E402
from benchmarks import bench_attention as attention  # noqa: E402
from benchmarks.interleaved import time_in_rounds  # noqa: E402
from bertrt.common import atomic_write_bytes  # noqa: E402
from plugins.attention.ops import VERSIONS as ATTENTION_VERSIONS, qkv_to_context, version_supported  # noqa: E402

BATCHES, SEQS = attention.BATCHES, attention.SEQS
HIDDEN = attention.HIDDEN
MEMORY_BOUND = ("LayerNorm", "SkipLayerNorm", "EmbLayerNorm", "BiasGelu")
KERNELS = MEMORY_BOUND + ("QkvToContext",)
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
ROUNDS = 9
CALLS_PER_GRAPH = 20
REPLAYS = 10
SDPA_BACKENDS = ("flash", "efficient", "cudnn")  # math: never the fastest, and slow


@dataclass
class Cell:
    kernel: str
    dtype: str
    batch: int
    seq: int
    pick: str          # our fastest version, the builder's pick
    ours_us: float     # its median over the rounds
    default_ratio: float  # PyTorch's best / the launcher's default (medians)
    best_torch: str    # PyTorch's contender that was fastest in most rounds
    torch_us: float    # PyTorch's best, median over the rounds of each round's fastest
    ratios: list       # PyTorch's best / ours, per round
    extra: str         # % of copy peak and copy floor, or TFLOP/s

    @property
    def verdict(self) -> str:
        if min(self.ratios) > 1.0:
            return "ahead"
        if max(self.ratios) < 1.0:
            return "behind"
        return "level"

    def line(self) -> str:
        r = self.ratios
        return (f"| {self.kernel} | {self.dtype} | {self.batch} x {self.seq} | {self.pick} | {self.ours_us:.2f} | "
                f"{self.best_torch} | {self.torch_us:.2f} | {statistics.median(r):.2f}x [{min(r):.2f}-{max(r):.2f}] | "
                f"**{self.verdict}** | {self.default_ratio:.2f}x | {self.extra} |")


HEADER = ("| kernel | dtype | batch x seq | ours (pick) | us | PyTorch's best | us | vs PyTorch: median "
          "[min-max of rounds] | verdict | default vs PyTorch | notes |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def fastest_once(contenders: dict, sets: int) -> str:
    """The label of the fastest contender, each timed once (the builder's tactic timing)."""
    times = {label: memory_bound.time_in_graph(call, sets) for label, call in contenders.items()}
    return min(times, key=times.get)


def with_compiled(contenders: dict, label: str, log, where: str):
    """Compiles (and autotunes) contenders[label] by calling it once; a failing torch.compile is
    logged and left out rather than costing the whole run."""
    try:
        contenders[label](0)
    except Exception as error:  # noqa: BLE001 - any compiler failure
        log(f"  {label} failed at {where}, left out: {type(error).__name__}: {error}")
        del contenders[label]


def score(kernel, dtype_name, batch, seq, ours: dict, pick: str, torch_contenders: dict, sets: int,
          floor=None, extra=lambda us, floor_us: "") -> Cell:
    """Times the pick, the default and every PyTorch contender (and the floor) in interleaved rounds."""
    timed = {"pick": ours[pick], **({"default": ours["default"]} if pick != "default" else {}),
             **torch_contenders, **({"copy floor": floor} if floor else {})}
    calls = sets * math.ceil(CALLS_PER_GRAPH / sets)  # every set once a pass: the rotation holds
    rounds = time_in_rounds(timed, sets, calls, ROUNDS, REPLAYS)
    torch_labels = list(torch_contenders)
    best_per_round = [min(rounds[label][i] for label in torch_labels) for i in range(ROUNDS)]
    winners = [min(torch_labels, key=lambda label: rounds[label][i]) for i in range(ROUNDS)]
    default_rounds = rounds["default" if pick != "default" else "pick"]
    ours_us = statistics.median(rounds["pick"])
    floor_us = statistics.median(rounds["copy floor"]) if floor else None
    return Cell(kernel, dtype_name, batch, seq, pick, ours_us,
                statistics.median(best_per_round) / statistics.median(default_rounds),
                max(set(winners), key=winners.count), statistics.median(best_per_round),
                [t / o for t, o in zip(best_per_round, rounds["pick"])], extra(ours_us, floor_us))


def memory_bound_cell(name, dtype_name, batch, seq, l2_bytes, copy_peak_gbs, log) -> Cell:
    workload = memory_bound.WORKLOADS[name]
    dtype = DTYPES[dtype_name]
    width = workload.width_of(HIDDEN)
    tokens = batch * seq
    memory_bound.SEQ_LEN = seq  # EmbLayerNorm's sequences (its position rows)
    inputs, nbytes = memory_bound.make_inputs(workload, dtype, width, tokens, l2_bytes)
    where = f"{batch} x {seq} {dtype_name}"
    ours = memory_bound.our_contenders(workload, inputs, dtype, workload.versions, where, log)
    candidates = memory_bound.builder_candidates({label: 0.0 for label in ours})
    pick = fastest_once({label: ours[label] for label in candidates}, len(inputs))
    torch._dynamo.reset()  # compiled afresh for this shape, static: what a fixed-shape model gets
    compiled = memory_bound.compile_torch_fn(workload)
    torch_contenders = {"torch eager": lambda i: workload.torch_fn(**inputs[i]),
                        "torch.compile": lambda i: compiled(**inputs[i])}
    with_compiled(torch_contenders, "torch.compile", log, where)
    floor = (lambda i: workload.copy_fn(**inputs[i])) if workload.copy_fn else None

    def extra(us, floor_us):
        text = f"{100 * nbytes / us / 1e3 / copy_peak_gbs:.0f}% of copy peak"
        return text + (f", copy floor {floor_us:.2f} us" if floor_us else "")
    return score(name, dtype_name, batch, seq, ours, pick, torch_contenders, len(inputs), floor, extra)


def attention_cell(dtype_name, batch, seq, l2_bytes, log) -> Cell:
    dtype = DTYPES[dtype_name]
    nbytes = 4 * batch * seq * HIDDEN * dtype.itemsize  # qkv read, context written
    sets = max(1, math.ceil(memory_bound.WORKING_SET_OVER_L2 * l2_bytes / nbytes))
    torch.manual_seed(batch * 7919 + seq)
    qkvs = [torch.randn(batch, seq, 3 * HIDDEN, device="cuda").to(dtype) for _ in range(sets)]
    lengths = torch.full((batch,), seq, dtype=torch.int32, device="cuda")
    expected = attention.reference(qkvs[0], lengths)
    tolerance = memory_bound.TOLERANCE[dtype]

    def ours_call(version):
        return lambda i: qkv_to_context(qkvs[i], num_heads=attention.NUM_HEADS, head_size=attention.HEAD_SIZE,
                                        scale=attention.SCALE, version=version)
    offered = [v for v in ATTENTION_VERSIONS if version_supported(v, attention.HEAD_SIZE, dtype)]
    if len(offered) > 1:
        offered = [v for v in offered if v != 1]  # v1 only where nothing else runs (versionsTaken)
    ours = {"default": ours_call(None), **{f"v{v}": ours_call(v) for v in offered}}
    for label, call in ours.items():
        error = (call(0).double() - expected).abs().max().item()
        if not error <= tolerance:
            raise SystemExit(f"QkvToContext {label} {batch} x {seq} {dtype_name}: max |error| {error:.3g} "
                             f"> {tolerance} against float64: refusing to time it")
    pick = fastest_once(ours, sets)

    torch_contenders = {}
    for name in SDPA_BACKENDS:
        def call(i, backend=attention.BACKENDS[name]):
            with sdpa_kernel([backend]):
                return attention.sdpa_attention(qkvs[i], None)
        try:
            with warnings.catch_warnings():  # a refusing backend warns why, then raises
                warnings.simplefilter("ignore")
                call(0)
        except RuntimeError:
            continue
        torch_contenders[f"SDPA {name}"] = call
    torch._dynamo.reset()
    compiled = torch.compile(attention.sdpa_attention, mode="max-autotune-no-cudagraphs", dynamic=False)
    torch_contenders["SDPA compiled"] = lambda i: compiled(qkvs[i], None)
    with_compiled(torch_contenders, "SDPA compiled", log, f"{batch} x {seq} {dtype_name}")
    flops = 4 * batch * attention.NUM_HEADS * seq * seq * attention.HEAD_SIZE
    return score("QkvToContext", dtype_name, batch, seq, ours, pick, torch_contenders, sets,
                 extra=lambda us, _: f"{flops / us / 1e6:.0f} TFLOP/s")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kernels", nargs="+", default=list(KERNELS), choices=KERNELS)
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    parser.add_argument("--seqs", nargs="+", type=int, default=list(SEQS))
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU (and the kernels built: cmake --build plugins/build)")
    if not all(1 <= s <= memory_bound.MAX_POS for s in args.seqs):
        raise SystemExit(f"--seqs must be 1..{memory_bound.MAX_POS} (BERT's position table)")
    torch._dynamo.config.cache_size_limit = 64
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, for SDPA too
    lines = []

    def log(text=""):
        print(text, flush=True)
        lines.append(text)

    props = torch.cuda.get_device_properties(0)
    started = time.time()
    memory_bound.warm_up_gpu()
    copy_peak = memory_bound.copy_bandwidths().stream_memcpy
    log(f"GPU: {props.name} ({props.multi_processor_count} SMs, L2 {props.L2_cache_size >> 20} MiB); "
        f"torch {torch.__version__}, CUDA {torch.version.cuda}; copy peak {copy_peak:.0f} GB/s")
    log(f"command: python3 {' '.join(sys.argv)}")
    log(f"{ROUNDS} interleaved rounds per cell, each contender a CUDA graph of {CALLS_PER_GRAPH} calls, "
        f"median of {REPLAYS} replays a round (the module docstring says how the verdict is reached)")
    cells = []
    for kernel in args.kernels:
        for dtype_name in args.dtypes:
            for batch in args.batches:
                for seq in args.seqs:
                    if kernel == "QkvToContext":
                        cell = attention_cell(dtype_name, batch, seq, props.L2_cache_size, log)
                    else:
                        cell = memory_bound_cell(kernel, dtype_name, batch, seq, props.L2_cache_size,
                                                 copy_peak, log)
                    cells.append(cell)
                    log(f"  {cell.line()}  ({time.time() - started:.0f} s)")
                    if args.out:  # what is done so far survives a run cut short
                        atomic_write_bytes(args.out, ("\n".join(lines) + "\n(partial)\n").encode())
                    torch.cuda.empty_cache()
    log("")
    log(HEADER)
    for cell in cells:
        log(cell.line())
    log("")
    for kernel in args.kernels:
        mine = [c for c in cells if c.kernel == kernel]
        counts = {v: sum(c.verdict == v for c in mine) for v in ("ahead", "level", "behind")}
        medians = [statistics.median(c.ratios) for c in mine]
        log(f"{kernel}: {counts['ahead']} ahead, {counts['level']} level, {counts['behind']} behind of {len(mine)}; "
            f"median ratio {min(medians):.2f}-{max(medians):.2f}x")
    log(f"total {time.time() - started:.0f} s")
    if args.out:
        atomic_write_bytes(args.out, ("\n".join(lines) + "\n").encode())


if __name__ == "__main__":
    main()
