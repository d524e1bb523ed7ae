"""Kernel versions against each other and against fresh torch.compiles, in interleaved rounds.

    python3 benchmarks/interleave_versions.py --kernel BiasGelu --versions 6 9 \
        --cells fp32:1:64 fp32:8:128 [--hot-l2] [--compiles 2] [--out FILE]

The scorecard asks whether the builder's pick is at least as fast as PyTorch's best. A new version
asks a narrower question: is it faster than the one it would replace, by more than the measurement
spreads? Per cell (dtype:batch:sequence, hidden 768; BiasGelu on rows of 4 x 768 values):

  1. the listed versions and the launcher's default, each checked against float64, then K fresh
     torch.compiles (scorecard.compile_afresh), checked too, and torch's copy of the same bytes;
  2. all timed in interleaved rounds (benchmarks/interleaved.py), inputs rotating over >= 3x the L2
     (cold) or one input set left in L2 (--hot-l2: what a kernel meets right after the one that
     wrote its input, at BERT's small batches).

One line a cell: each contender's median us and "(k/9)", the rounds in which it beat the first
listed version. Where the default is that first version itself, its two medians show how far one
kernel timed twice drifts apart: the yardstick for calling a difference real. (Run 19's comparison
of BiasGelu v9 with v6 was made this way, by the scratch script this file was made from.)
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import benchmarks.bench_memory_bound_kernels as memory_bound  # noqa: E402
from benchmarks.interleaved import time_in_rounds  # noqa: E402
from benchmarks.scorecard import (DTYPES, MEMORY_BOUND, REPLAYS, ROUNDS, Report, fresh_compiles,  # noqa: E402
                                  memory_bound_case)


def parse_cell(text: str, option: str = "--cells") -> tuple[str, int, int]:
    """"fp32:1:64" -> ("fp32", 1, 64); a SystemExit naming the form (and `option`, the flag it came
    with) for anything else."""
    parts = text.split(":")
    form = f"{option} takes dtype:batch:sequence, e.g. fp32:1:64"
    if len(parts) != 3 or parts[0] not in DTYPES or not parts[1].isdigit() or not parts[2].isdigit():
        raise SystemExit(f"{form} (dtype {' or '.join(DTYPES)}), not {text!r}")
    batch, seq = int(parts[1]), int(parts[2])
    if batch < 1 or not 1 <= seq <= memory_bound.MAX_POS:
        raise SystemExit(f"{form}: batch >= 1, sequence 1..{memory_bound.MAX_POS}, not {text!r}")
    return parts[0], batch, seq


def cell_line(kernel: str, dtype_name: str, batch: int, seq: int, versions: list[int], compiles: int,
              l2_bytes: int, log) -> str:
    """Times one cell (module docstring) and returns its line."""
    case = memory_bound_case(kernel, dtype_name, batch, seq, l2_bytes)
    workload, inputs = case.workload, case.inputs
    ours = memory_bound.our_contenders(workload, inputs, case.dtype, versions, case.where, log, case.expected)
    first = f"v{versions[0]}"
    if first not in ours:
        raise SystemExit(f"{kernel} {first} does not take {case.where}: list first a version that does")
    contenders = {label: ours[label] for label in (*(f"v{v}" for v in versions), "default") if label in ours}
    contenders.update(fresh_compiles(case, compiles, log))
    if workload.copy_fn:
        contenders["copy"] = lambda i: workload.copy_fn(**inputs[i])

    rounds = time_in_rounds(contenders, len(inputs), memory_bound.graph_calls(len(inputs)), ROUNDS, REPLAYS)
    base = rounds[first]
    return f"{case.where}: " + " | ".join(
        f"{label} {statistics.median(times):.3f} ({sum(t < b for t, b in zip(times, base))}/{ROUNDS})"
        for label, times in rounds.items())


def check_version_arguments(kernel: str, versions: list[int], compiles: int) -> None:
    """A SystemExit naming the fix for versions `kernel` does not have or a negative compile count."""
    numbered = memory_bound.WORKLOADS[kernel].versions
    if not set(versions) <= set(numbered):
        raise SystemExit(f"--versions of {kernel}: {min(numbered)}-{max(numbered)}")
    if compiles < 0:
        raise SystemExit("--compiles must be 0 or more")


def start_report(out: Path | None, inputs: str, needs: str = "a CUDA GPU and the kernels built: cmake --build "
                                                              "plugins/build"):
    """The report of an interleaved-rounds script: refuses without a GPU, then logs the GPU, the command and
    `inputs` (how the inputs and rounds were taken). Returns the report and the device's properties."""
    if not torch.cuda.is_available():
        raise SystemExit(f"needs {needs}")
    torch._dynamo.config.cache_size_limit = 64
    log = Report(out)
    props = torch.cuda.get_device_properties(0)
    log(f"GPU: {props.name}; torch {torch.__version__}, CUDA {torch.version.cuda}")
    log(f"command: python3 {' '.join(sys.argv)}")
    log(f"inputs: {inputs}")
    return log, props


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kernel", required=True, choices=MEMORY_BOUND)
    parser.add_argument("--versions", required=True, nargs="+", type=int,
                        help="numbered versions; the rounds each contender wins are counted against the first")
    parser.add_argument("--cells", required=True, nargs="+", metavar="DTYPE:BATCH:SEQ")
    parser.add_argument("--compiles", type=int, default=2, help="fresh torch.compiles a cell (default 2)")
    parser.add_argument("--hot-l2", action="store_true", help="one input set, left in L2 (default: rotating)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    cells = [parse_cell(text) for text in args.cells]
    check_version_arguments(args.kernel, args.versions, args.compiles)
    log, props = start_report(args.out, f"{'one set, left in L2' if args.hot_l2 else 'rotating over >= 3x the L2'}; "
                                        f"{ROUNDS} interleaved rounds, each a median of {REPLAYS} graph replays; "
                                        f"(k/{ROUNDS}): rounds won against v{args.versions[0]}")
    memory_bound.warm_up_gpu()
    for dtype_name, batch, seq in cells:
        log(f"{args.kernel} " + cell_line(args.kernel, dtype_name, batch, seq, args.versions, args.compiles,
                                          0 if args.hot_l2 else props.L2_cache_size, log))
        log.save(partial=True)
    log.save()


if __name__ == "__main__":
    main()
