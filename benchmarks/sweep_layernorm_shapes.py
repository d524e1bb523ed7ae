"""Which block shape suits a LayerNorm of BERT's rows: a sweep, hidden 768, fp32 or fp16.

    python3 benchmarks/sweep_layernorm_shapes.py --dtype fp32 --out benchmarks/results/<gpu>_layernorm_shapes_fp32.txt

benchmarks/ablation/layernorm_shapes.cu holds one plain LayerNorm kernel (v12's code: every load
first, two plain reductions) with its block shape as template constants: G groups of W warps a
block, R rows a group, K 16-byte vectors a thread of each row (the file's header says more). This
script builds it with nvcc, checks every shape against float64, and times each next to our own
versions (--ours), a torch copy (x * 1) and torch.compile compiled afresh for every token count
(static shapes, max-autotune, so autotuned at that count). Run 11 read v13 and v14 off this sweep.

Timing as benchmarks/ablate_layernorm.py (benchmarks/interleaved.py): every contender captured into
one CUDA graph rotating over input sets of >= 3x the L2, all graphs captured first, then replayed in
interleaved rounds (median and spread), so a drift of the clocks hits every contender alike.
"""
from __future__ import annotations

import argparse
import ctypes
import math
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks.bench_memory_bound_kernels import (EPSILON, TOLERANCE, WORKING_SET_OVER_L2,  # noqa: E402
                                                   double_layer_norm, torch_layer_norm, warm_up_gpu)
from benchmarks.interleaved import (LAUNCHER_ARGTYPES, check_all, compile_library, launcher_call,  # noqa: E402
                                    time_in_rounds)
from bertrt.common import atomic_write_bytes  # noqa: E402
from plugins.layernorm.ops import VERSIONS, layer_norm  # noqa: E402

SOURCE = Path(__file__).resolve().parent / "ablation" / "layernorm_shapes.cu"
HIDDEN = 768  # the shapes are written for 768 (fp32 192 vectors a row, fp16 96)
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
DEFAULT_OURS = {"fp32": [3, 12, 13, 14], "fp16": [8, 12, 13]}


def build(out_dir: Path) -> ctypes.CDLL:
    lib = compile_library(SOURCE, out_dir, "layernorm_shapes")
    lib.shape_launch.argtypes = LAUNCHER_ARGTYPES
    return lib


def shapes_of(lib, fp16: bool) -> list[tuple[int, str]]:
    """(index, label) of the library's shapes for this dtype."""
    found = []
    for index in range(lib.shape_count()):
        info = (ctypes.c_int * 5)()
        lib.shape_info(index, info)
        if bool(info[0]) == fp16:
            found.append((index, "G{} W{} R{} K{}".format(*info[1:])))
    return found


def run_tokens(lib, dtype, tokens: int, ours: list[int], rounds: int, log) -> list[str]:
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    element = torch.tensor([], dtype=dtype).element_size()
    torch.manual_seed(tokens)
    gamma = (1.0 + 0.1 * torch.randn(HIDDEN, device="cuda")).to(dtype)
    beta = (0.1 * torch.randn(HIDDEN, device="cuda")).to(dtype)
    sets = max(1, math.ceil(WORKING_SET_OVER_L2 * l2 / (2 * tokens * HIDDEN * element)))
    xs = [(3.0 * torch.randn(tokens, HIDDEN, device="cuda") + 1.0).to(dtype) for _ in range(sets)]
    contenders = {label: launcher_call(lib.shape_launch, index, xs, gamma, beta, EPSILON, "shape_launch")
                   for index, label in shapes_of(lib, dtype == torch.float16)}
    for version in ours:
        label = f"ours v{version}" if version else "ours default"
        contenders[label] = (lambda v: lambda i: layer_norm(xs[i], gamma, beta, EPSILON, version=v or None))(version)
    contenders["torch copy x*1"] = lambda i: torch.mul(xs[i], 1)
    compiled = torch.compile(torch_layer_norm, mode="max-autotune-no-cudagraphs")  # static: this count's
    contenders["torch.compile"] = lambda i: compiled(xs[i], gamma, beta)
    check_all(contenders, double_layer_norm(xs[0], gamma, beta), TOLERANCE[dtype], f"{tokens} tokens",
              skip=lambda label: label.startswith("torch copy"))
    calls = sets * math.ceil((200 if tokens <= 8192 else 50) / sets)
    replays = 20 if tokens <= 8192 else 8  # per round: a 64K-row graph of 50 calls is ~5 ms
    times = time_in_rounds(contenders, sets, calls, rounds, replays)
    compile_us = statistics.median(times["torch.compile"])
    copy_us = statistics.median(times["torch copy x*1"])
    lines = [f"{tokens} x {HIDDEN} {'fp16' if dtype == torch.float16 else 'fp32'}, {sets} input sets from DRAM; "
             f"median of {rounds} interleaved rounds (min-max), fastest first",
             "| contender        | us      | min-max         | vs torch.compile | copy / this |",
             "|------------------|---------|-----------------|------------------|-------------|"]
    for label, values in sorted(times.items(), key=lambda item: statistics.median(item[1])):
        median = statistics.median(values)
        lines.append(f"| {label:16s} | {median:7.3f} | {min(values):7.3f}-{max(values):7.3f} | "
                     f"{compile_us / median:15.3f}x | {copy_us / median:11.3f} |")
    for line in lines:
        log(line)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dtype", choices=list(DTYPES), default="fp32")
    parser.add_argument("--tokens", nargs="+", type=int, default=[1024, 2048, 3072, 4096, 12288, 65536])
    parser.add_argument("--ours", nargs="*", type=int,
                        help="our versions to time next to the shapes (0: the default launcher; "
                             "default: fp32 3 12 13 14 0, fp16 8 12 13 0)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (default 7)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    ours = DEFAULT_OURS[args.dtype] + [0] if args.ours is None else args.ours
    if any(t < 1 for t in args.tokens) or args.rounds < 1:
        raise SystemExit("--tokens and --rounds must be positive")
    if any(v != 0 and v not in VERSIONS for v in ours):
        raise SystemExit(f"--ours takes 0 (the default) or a version of {VERSIONS}")
    if args.out and args.out.is_dir():
        raise SystemExit(f"--out {args.out} is a folder: give the report's file path")
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU (and nvcc): this script times CUDA kernels")
    dtype = DTYPES[args.dtype]
    for version in ours:  # a version that refuses these rows: one clear line, before any timing
        try:
            zeros = torch.zeros(HIDDEN, dtype=dtype, device="cuda")
            layer_norm(zeros.view(1, HIDDEN), zeros + 1, zeros, EPSILON, version=version or None)
        except RuntimeError as error:
            raise SystemExit(f"--ours {version}: {error} ({args.dtype} hidden {HIDDEN}); leave it out")
    torch._dynamo.config.automatic_dynamic_shapes = False  # each count compiles its own static kernel
    torch._dynamo.config.cache_size_limit = 64

    def log(text):
        print(text, flush=True)

    head = [f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}, CUDA {torch.version.cuda}",
            f"command: python3 benchmarks/sweep_layernorm_shapes.py {' '.join(sys.argv[1:] if argv is None else argv)}",
            f"LayerNorm {args.dtype}, hidden 768; shapes: benchmarks/ablation/layernorm_shapes.cu (G groups of W "
            "warps a block, R rows a group, K vectors a thread), each checked against float64 (atol = rtol = "
            f"{TOLERANCE[DTYPES[args.dtype]]:g}) first;",
            "torch.compile: max-autotune-no-cudagraphs, compiled afresh at every token count (static shapes).",
            "copy / this: the time of torch's x * 1 (the same bytes read and written) over the contender's."]
    for line in head:
        log(line)
    warm_up_gpu()
    body = []
    with tempfile.TemporaryDirectory() as build_dir:
        lib = build(Path(build_dir))
        for tokens in args.tokens:
            body += [""] + run_tokens(lib, DTYPES[args.dtype], tokens, ours, args.rounds, log)
    if args.out:
        atomic_write_bytes(args.out, ("\n".join(head + body) + "\n").encode())
        log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
