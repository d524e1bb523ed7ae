"""What torch.compile runs at one memory-bound cell, as code, timed next to our kernel versions.

    python3 benchmarks/show_compiled_kernel.py --kernel LayerNorm --cell fp32:32:384 --versions 14 \
        --compiles 3 --out-dir /tmp/compiled

A fast compile is only as explainable as its code. For each of --compiles fresh torch.compiles of the
cell's PyTorch function (scorecard.compile_afresh: static shapes, max-autotune, every cache bypassed),
this writes the Triton kernel autotuning kept, as the compiler left it, to the out folder (new or
empty): compile<k>_<kernel>.triton.py (the kernel's source), .ttgir, .ptx, .cubin and, where cuobjdump
is on PATH, .sass (its SASS and register use). Then it times every compile next to our listed versions in
interleaved rounds (benchmarks/interleaved.py; inputs rotating over >= 3x the L2), one line each.
Our kernels' SASS: `cuobjdump -sass plugins/build/libbert_kernels.so`, the function of the version
(layernorm_rows_shaped<...BlockShape<1, 3, 2, 2...>> is v14 at fp32 h768).

Why each compile is kept: autotuning keeps a different config from one compile to the next. Run 23
(H200, LayerNorm fp32 12,288 rows) found XBLOCK 2 with 8 warps in 9 of 24 compiles, 1.2-1.6% faster
than v14 each time and faster than every other config kept; its SASS and ours are compared in
benchmarks/results/run23_experiments.txt, C. (Run 23 ran this script's first form, a scratch copy
with the cell fixed; this form, which adds the options, ran in run 24: run24_experiments.txt, E.)
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import benchmarks.bench_memory_bound_kernels as memory_bound  # noqa: E402
from benchmarks import scorecard  # noqa: E402
from benchmarks.interleave_versions import parse_cell  # noqa: E402
from benchmarks.interleaved import time_in_rounds  # noqa: E402
from bertrt.common import atomic_write_bytes  # noqa: E402

ROUNDS, REPLAYS = 9, 10


def write_compiled(tuner, out_dir: Path, compile_name: str, log) -> int:
    """The kept launcher's source and binaries as <compile>_<kernel>.<kind>, and its SASS by cuobjdump;
    returns how many files it wrote (0: inductor kept no binary to write)."""
    log(f"{compile_name}: {scorecard.describe_autotuner(tuner)}")
    stem = f"{compile_name}_{getattr(tuner.fn, '__name__', 'kernel')}"
    written = 0
    source = getattr(tuner.fn, "src", None)
    if source:
        atomic_write_bytes(out_dir / f"{stem}.triton.py", source.encode())
        written += 1
    for launcher in tuner.launchers:
        # launcher.bin is kept only with inductor's triton.store_cubin (set in main).
        for kind, text in (getattr(getattr(launcher, "bin", None), "asm", None) or {}).items():
            if kind in ("ttgir", "ptx", "cubin"):
                atomic_write_bytes(out_dir / f"{stem}.{kind}", text if isinstance(text, bytes) else text.encode())
                written += 1
    cubin = out_dir / f"{stem}.cubin"
    if cubin.exists() and shutil.which("cuobjdump"):
        parts = []
        for flag in ("-sass", "-res-usage"):
            done = subprocess.run(["cuobjdump", flag, str(cubin)], capture_output=True, text=True)
            if done.returncode != 0:
                log(f"  cuobjdump {flag} {cubin.name} failed: {done.stderr.strip()[:200]}; no .sass written")
                return written
            parts.append(done.stdout)
        atomic_write_bytes(out_dir / f"{stem}.sass", "\n".join(parts).encode())
        written += 1
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernel", choices=scorecard.MEMORY_BOUND, default="LayerNorm")
    parser.add_argument("--cell", default="fp32:32:384", help="dtype:batch:sequence (default fp32:32:384)")
    parser.add_argument("--versions", nargs="*", type=int, default=[], help="our versions to time (default: none)")
    parser.add_argument("--compiles", type=int, default=3, help="fresh torch.compiles (default 3)")
    parser.add_argument("--out-dir", type=Path, required=True, help="where the compiled kernels go")
    args = parser.parse_args(argv)
    dtype_name, batch, seq = parse_cell(args.cell, "--cell")
    if args.compiles < 1:
        raise SystemExit("--compiles must be at least 1")
    if args.out_dir.exists() and (not args.out_dir.is_dir() or any(args.out_dir.iterdir())):
        raise SystemExit(f"--out-dir {args.out_dir} must be a new or empty folder (no earlier run's files mixed in)")
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU: this script compiles and times CUDA kernels")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    torch._inductor.config.triton.store_cubin = True  # keeps each launcher's compiled binary (launcher.bin)

    def log(text):
        print(text, flush=True)

    props = torch.cuda.get_device_properties(0)
    log(f"GPU: {props.name}; torch {torch.__version__}, CUDA {torch.version.cuda}")
    log(f"command: python3 benchmarks/show_compiled_kernel.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    case = scorecard.memory_bound_case(args.kernel, dtype_name, batch, seq, props.L2_cache_size)
    ours = memory_bound.our_contenders(case.workload, case.inputs, case.dtype, args.versions, case.where, log,
                                       case.expected)
    contenders = {f"v{v}": ours[f"v{v}"] for v in args.versions if f"v{v}" in ours}
    torch._dynamo.reset()
    for k in range(args.compiles):
        before = scorecard.triton_autotuners()
        compiled = scorecard.compile_afresh(case.workload.torch_fn, kwargs=case.inputs[0])
        contenders[f"compile{k}"] = (lambda c: lambda i: c(**case.inputs[i]))(compiled)
        written = sum(write_compiled(tuner, args.out_dir, f"compile{k}", log)
                      for tuner in scorecard.new_autotuners(before))
        if not written:
            log(f"compile{k}: no Triton kernel or binary found to write (this torch's inductor may keep them elsewhere)")
    scorecard.check_all(contenders, case.expected, case.dtype, case.where)
    rounds = time_in_rounds(contenders, len(case.inputs), memory_bound.graph_calls(len(case.inputs)), ROUNDS, REPLAYS)
    log(f"{args.kernel} {case.where}: median of {ROUNDS} interleaved rounds, us")
    for label, values in rounds.items():
        log(f"  {label}: {statistics.median(values):.3f} (rounds {' '.join(f'{v:.2f}' for v in values)})")
    log(f"compiled kernels: {args.out_dir} ({len(list(args.out_dir.iterdir()))} files)")


if __name__ == "__main__":
    main()
