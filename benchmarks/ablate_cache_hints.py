"""What cache hints buy the memory-bound kernels, and what they cost the GEMM after them.

    python3 benchmarks/ablate_cache_hints.py [--switch streaming|keep-parameters|l2-prefetch-128|...] \
        [--hot-l2] --out benchmarks/results/<gpu>_cache_hints.txt

plugins/common/vector_io.cuh and layernorm_rows.cuh have build switches for the memory-bound kernels (LayerNorm,
SkipLayerNorm, EmbLayerNorm, BiasGelu); this script measures any of them:

  streaming        (BERT_STREAMING_ACTIVATIONS) activation rows are read and written once, so
                   marking those accesses evict-first (ld.global.cs and st.global.cs) looks natural;
  keep-parameters  (BERT_KEEP_PARAMETERS) what every row reads again (gamma, beta, biases,
                   EmbLayerNorm's position and type rows) loaded evict-last in L1 and L2, as
                   torch.compile's Triton kernels load their weights;
  l2-prefetch-N    (BERT_L2_PREFETCH_BYTES=N, N = 64, 128 or 256) activation-row loads carry an L2
                   prefetch size (ld.global.L2::NB): a miss fetches the whole aligned N bytes.
  read-only        (BERT_READONLY_ACTIVATIONS) LayerNorm's and SkipLayerNorm's rows loaded through
                   the read-only path (ld.global.nc), as the shape sweep's kernel loads them
                   (BiasGelu, which may run in place, and EmbLayerNorm, already there, unchanged).
  read-only-40     the same, with v14's fp32 kernel held to 40 registers a thread
                   (BERT_SHAPED_MAX_REGISTERS=40, common/layernorm_rows.cuh), as many as it takes
                   without the read-only path, against the default build: the read-only path at
                   the same occupancy, and the capped kernel's own schedule with it (run 23's).
  read-only-at-40  both builds capped at 40 registers, the read-only path the one difference: the
                   load instruction alone (run 24: 3 faster, 12 level, 3 slower of 18).
  prefer-l1        (BERT_PREFER_L1, common/layernorm_rows.cuh) the shaped kernel (v12-v15, v18, v19) launched with the
                   carveout preference set to the most L1, where the driver otherwise picks it.
  whole-blocks     (BERT_SHAPED_WHOLE_BLOCKS, common/layernorm_rows.cuh) v13's, v14's, v18's and v19's kernel in an
                   instance without the row clamp and the stores' range check, launched where the rows
                   fill every block.
  ftz-rsqrt        (BERT_FTZ_RSQRT, the same file) the shaped kernel's 1 / sqrt as rsqrt.approx.ftz, without the
                   denormal guard rsqrtf adds.
  plain-mean       (BERT_PLAIN_MEAN, the same file) every LayerNorm-family version's mean as sum * (1 / hidden),
                   without the correction step that makes it the correctly rounded quotient: what exactness costs.

It builds the kernel files with nvcc twice, the switch off (its macros 0, its shared ones as set) and on, loads both builds into one
process (plugins.kernels.library) and, at the scorecard's cells (batch 1/8/32 x sequence
64/128/384, hidden 768, FFN width 3072):

  1. checks each kernel's default launcher from both builds against float64;
  2. times both in interleaved rounds (benchmarks/interleaved.py), inputs rotating over >= 3x the L2
     as in every benchmark here, or one input set left in L2 (--hot-l2: what an engine at small
     batch gives a kernel whose input the previous kernel has just written);
  3. up to --pair-tokens tokens, times each again followed by the GEMM that reads its output in
     BERT: the QKV projection ([tokens, 768] x [768, 2304]) after a LayerNorm, the FFN
     down-projection ([tokens, 3072] x [3072, 768]) after BiasGelu. With the streaming switch an
     evict-first output line is the first to leave the L2, so a gain of the kernel alone could come
     back as a loss in its consumer; the pair shows the sum.

Each row: the median us of both builds, off / on (> 1: the hints faster) and the scorecard's
verdict over the rounds (faster in every round, slower in every round, or level).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import benchmarks.bench_memory_bound_kernels as memory_bound  # noqa: E402
from benchmarks.interleaved import build_library, time_in_rounds  # noqa: E402
from benchmarks.scorecard import (HIDDEN, REPLAYS, ROUNDS, Report, add_cell_arguments,  # noqa: E402
                                  check_cell_arguments, memory_bound_case, verdict)
from plugins import kernels  # noqa: E402

KERNELS = ("LayerNorm", "SkipLayerNorm", "EmbLayerNorm", "BiasGelu")
KERNEL_DIRS = ("layernorm", "skip_layernorm", "emb_layernorm", "bias_gelu")
# --switch -> (its macros and their values when on, what the builds are called off (all 0) and on[,
# macros both builds get]).
SWITCHES = {"streaming": ({"BERT_STREAMING_ACTIVATIONS": 1}, ("plain", "evict-first")),
            "keep-parameters": ({"BERT_KEEP_PARAMETERS": 1}, ("plain", "evict-last params")),
            **{f"l2-prefetch-{n}": ({"BERT_L2_PREFETCH_BYTES": n}, ("plain", f"L2::{n}B")) for n in (64, 128, 256)},
            "read-only": ({"BERT_READONLY_ACTIVATIONS": 1}, ("plain", "ld.global.nc")),
            "read-only-40": ({"BERT_READONLY_ACTIVATIONS": 1, "BERT_SHAPED_MAX_REGISTERS": 40},
                             ("plain", "ld.global.nc, v14 40 regs")),
            "read-only-at-40": ({"BERT_READONLY_ACTIVATIONS": 1}, ("v14 40 regs", "ld.global.nc, v14 40 regs"),
                                {"BERT_SHAPED_MAX_REGISTERS": 40}),
            "prefer-l1": ({"BERT_PREFER_L1": 1}, ("default carveout", "most L1")),
            "whole-blocks": ({"BERT_SHAPED_WHOLE_BLOCKS": 1}, ("row clamp", "whole blocks")),
            "ftz-rsqrt": ({"BERT_FTZ_RSQRT": 1}, ("rsqrtf", "rsqrt.ftz")),
            "plain-mean": ({"BERT_PLAIN_MEAN": 1}, ("rounded mean", "plain mean"))}
# The GEMM that reads each kernel's output in BERT: the output width -> the weight's columns.
CONSUMER_COLUMNS = {HIDDEN: 3 * HIDDEN, 4 * HIDDEN: HIDDEN}


def header(off: str, on: str) -> str:
    """The table's header; the verdict is of `on` against `off`, by the scorecard's rule (ahead:
    faster in every round)."""
    return (f"| kernel | dtype | batch x seq | {off} us | {on} us | {off} / {on} | verdict "
            f"| + GEMM: {off} us | {on} us | {off} / {on} | verdict |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")


def sources() -> list[Path]:
    """The kernel files of the four kernels and the shared ones (plugins/CMakeLists.txt's glob, less
    attention, which the hints do not touch)."""
    plugins = ROOT / "plugins"
    return [*(f for d in KERNEL_DIRS for f in sorted((plugins / d).glob("*_kernel.cu"))),
            *sorted((plugins / "common").glob("*.cu"))]


def definitions(switch: str, on: bool = True) -> tuple[list[str], list[str]]:
    """The switch's -D flags: its own macros (their values when on, 0 when off), and those both builds get."""
    macros, _, *shared = SWITCHES[switch]
    own = [f"-D{macro}={value if on else 0}" for macro, value in macros.items()]
    both = [f"-D{macro}={value}" for macro, value in (shared[0] if shared else {}).items()]
    return own, both


def build_both(out_dir: Path, switch: str) -> dict[str, Path]:
    """label -> the library built with the switch's macros off (0) and on (both at once: nvcc is
    single-threaded)."""
    labels = SWITCHES[switch][1]

    def build(on: bool):
        own, both = definitions(switch, on)
        return build_library(sources(), out_dir, f"bert_kernels_{switch}_{'on' if on else 'off'}",
                             ("-DNDEBUG", "--expt-relaxed-constexpr", *own, *both))
    with ThreadPoolExecutor(len(labels)) as pool:
        libraries = dict(zip(labels, pool.map(build, (False, True))))
    off, on = (path.read_bytes() for path in libraries.values())
    if off == on:
        raise SystemExit(f"the two builds are the same library: {switch_text(switch)} did not reach the kernels")
    return libraries


def switch_text(switch: str) -> str:
    """The switch's definitions when on, e.g. "-DBERT_STREAMING_ACTIVATIONS=1" (and "both: ..." for
    the ones both builds get)."""
    own, both = definitions(switch)
    return f"{' '.join(own)} (both: {' '.join(both)})" if both else " ".join(own)


def launcher(workload, inputs, dtype, path: Path):
    """call(i): the kernel's default launcher from the library at `path` on input set i."""
    def call(i):
        with kernels.library(path):
            return workload.ours(inputs[i], None, dtype)
    return call


def then_gemm(call, weight):
    """call(i) followed by the GEMM that reads its output, as the next layer of BERT does."""
    return lambda i: torch.mm(call(i).reshape(-1, weight.shape[0]), weight)


def compare(contenders: dict, sets: int) -> tuple[float, float, list[float]]:
    """(off us, on us, per-round off / on) of an {off label: call, on label: call} pair."""
    rounds = time_in_rounds(contenders, sets, memory_bound.graph_calls(sets), ROUNDS, REPLAYS)
    off, on = rounds.values()
    return statistics.median(off), statistics.median(on), [a / b for a, b in zip(off, on)]


def cell(name, dtype_name, batch, seq, libraries, l2_bytes, pair_tokens) -> tuple[str, str]:
    """(the table row, the verdict of the kernel alone) of one cell."""
    case = memory_bound_case(name, dtype_name, batch, seq, l2_bytes)
    inputs, dtype, width = case.inputs, case.dtype, case.width
    calls = {label: launcher(case.workload, inputs, dtype, path) for label, path in libraries.items()}
    for label, call in calls.items():
        memory_bound.check(call(0), case.expected, dtype, f"{name} {label} {case.where}")
    off_us, on_us, ratios = compare(calls, len(inputs))
    alone = verdict(ratios)
    line = (f"| {name} | {dtype_name} | {batch} x {seq} | {off_us:.2f} | {on_us:.2f} | "
            f"{statistics.median(ratios):.3f}x [{min(ratios):.2f}-{max(ratios):.2f}] | {alone} |")
    if batch * seq > pair_tokens:
        return line + " | | | |", alone
    weight = (torch.randn(width, CONSUMER_COLUMNS[width], device="cuda") / width ** 0.5).to(dtype)
    off_us, on_us, ratios = compare({label: then_gemm(call, weight) for label, call in calls.items()},
                                    len(inputs))
    return line + (f" {off_us:.2f} | {on_us:.2f} | {statistics.median(ratios):.3f}x "
                   f"[{min(ratios):.2f}-{max(ratios):.2f}] | {verdict(ratios)} |"), alone


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--switch", default="streaming", choices=SWITCHES,
                        help="which build switch to measure (default: streaming)")
    parser.add_argument("--kernels", nargs="+", default=list(KERNELS), choices=KERNELS)
    add_cell_arguments(parser)
    parser.add_argument("--pair-tokens", type=int, default=3072,
                        help="time the kernel + GEMM pairs up to this many tokens (default 3072; 0: none)")
    parser.add_argument("--hot-l2", action="store_true", help="one input set, left in L2 (default: rotating)")
    args = parser.parse_args(argv)
    check_cell_arguments(args, "and nvcc: it builds the kernels itself")
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 GEMMs stay fp32, as in an fp32 engine
    log = Report(args.out)

    props = torch.cuda.get_device_properties(0)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        libraries = build_both(Path(tmp), args.switch)
        off, on = libraries
        log(f"GPU: {props.name} ({props.multi_processor_count} SMs, L2 {props.L2_cache_size >> 20} MiB); "
            f"torch {torch.__version__}, CUDA {torch.version.cuda}; built in {time.time() - started:.0f} s")
        log(f"command: python3 {' '.join(sys.argv)}")
        log(f"inputs: {'one set, left in L2' if args.hot_l2 else 'rotating over >= 3x the L2'}; "
            f"{ROUNDS} interleaved rounds, each a median of {REPLAYS} graph replays")
        memory_bound.warm_up_gpu()
        log(f"switch: {switch_text(args.switch)} (on: {on}; off: {off})")
        log(header(off, on))
        l2_bytes = 0 if args.hot_l2 else props.L2_cache_size
        verdicts = []
        for name in args.kernels:
            for dtype_name in args.dtypes:
                for batch in args.batches:
                    for seq in args.seqs:
                        line, alone = cell(name, dtype_name, batch, seq, libraries, l2_bytes, args.pair_tokens)
                        verdicts.append(alone)
                        log(line)
                        log.save(partial=True)
                        torch.cuda.empty_cache()
    counts = {v: verdicts.count(v) for v in ("ahead", "level", "behind")}
    log(f"\nthe kernel alone, {on} against {off}: {counts['ahead']} faster, {counts['level']} level, "
        f"{counts['behind']} slower of {len(verdicts)} cells; total {time.time() - started:.0f} s")
    log.save()


if __name__ == "__main__":
    main()
