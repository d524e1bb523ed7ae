"""Where a small LayerNorm's time goes: an ablation, fp16, hidden 768.

    python3 benchmarks/ablate_layernorm.py --out benchmarks/results/<gpu>_layernorm_ablation.txt

benchmarks/ablation/layernorm_ablation.cu holds one kernel in eight modes, each adding one piece
of a LayerNorm to a plain copy (the file's header lists them) in the layout of our v9/v10/v12: a
block of 96 threads per row, a 16-byte vector a thread. This script builds it with nvcc, checks
the modes that compute a whole LayerNorm (4-7) against float64, and times every mode next to our
v10, v12 and default launcher, a torch copy (x * 1) and torch.compile, at each token count.
The differences between neighbouring modes are what each piece costs; the gap between mode 5 (a
two-pass LayerNorm with nothing else) and our v12 is what the generic code around it costs.

Timing: as bench_memory_bound_kernels.py (each contender captured into one CUDA graph rotating
over input sets of >= 3x the L2, or one set with --hot-l2), but every contender's graph is
captured first and they are then replayed in interleaved rounds: the median of the rounds is
printed with their spread, so a drift of the clocks during the run hits every contender alike.
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
from plugins.layernorm.ops import layer_norm  # noqa: E402

SOURCE = Path(__file__).resolve().parent / "ablation" / "layernorm_ablation.cu"
HIDDEN = 768  # the kernel's layout is fixed: 96 threads x 8 halves
MODES = ("copy", "affine", "warp sum", "block sum", "block moments", "two-pass", "smem all", "plain loads")
LAYER_NORM_MODES = (4, 5, 6, 7)  # the modes whose output is a LayerNorm (the others are partial)
REPLAYS_PER_ROUND = 20  # timed replays of each graph per round (their median is the round's time)


def build(out_dir: Path) -> ctypes.CDLL:
    """The ablation kernels, built for this GPU into out_dir."""
    lib = compile_library(SOURCE, out_dir, "layernorm_ablation")
    lib.ablate_launch.argtypes = LAUNCHER_ARGTYPES
    return lib


def run_tokens(lib, tokens: int, hot: bool, rounds: int, compiled, log) -> list[str]:
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    torch.manual_seed(tokens)
    gamma = (1.0 + 0.1 * torch.randn(HIDDEN, device="cuda")).half()
    beta = (0.1 * torch.randn(HIDDEN, device="cuda")).half()
    sets = 1 if hot else max(1, math.ceil(WORKING_SET_OVER_L2 * l2 / (2 * tokens * HIDDEN * 2)))
    xs = [torch.randn(tokens, HIDDEN, device="cuda").half() for _ in range(sets)]
    for x in xs:
        torch._dynamo.mark_dynamic(x, 0)
    contenders = {f"{m} {name}": launcher_call(lib.ablate_launch, m, [xs], [gamma, beta], EPSILON, "ablate_launch mode")
                   for m, name in enumerate(MODES)}
    contenders["ours v10"] = lambda i: layer_norm(xs[i], gamma, beta, EPSILON, version=10)
    contenders["ours v12"] = lambda i: layer_norm(xs[i], gamma, beta, EPSILON, version=12)
    contenders["ours default"] = lambda i: layer_norm(xs[i], gamma, beta, EPSILON)
    contenders["torch copy x*1"] = lambda i: torch.mul(xs[i], 1)
    contenders["torch.compile"] = lambda i: compiled(xs[i], gamma, beta)
    partial_modes = {f"{m} {name}" for m, name in enumerate(MODES) if m not in LAYER_NORM_MODES}
    check_all(contenders, double_layer_norm(xs[0], gamma, beta), TOLERANCE[torch.float16], f"{tokens} tokens",
              skip=lambda label: label in partial_modes or label.startswith("torch copy"))
    calls = sets * math.ceil(200 / sets)
    times = time_in_rounds(contenders, sets, calls, rounds, REPLAYS_PER_ROUND)
    base = statistics.median(times["torch.compile"])
    lines = [f"{tokens} x {HIDDEN} fp16, " + ("inputs in L2 (one set)" if hot else f"{sets} input sets from DRAM")
             + f"; median of {rounds} interleaved rounds (min-max)",
             "| contender        | us    | min-max     | vs torch.compile |",
             "|------------------|-------|-------------|------------------|"]
    for label, values in times.items():
        median = statistics.median(values)
        lines.append(f"| {label:16s} | {median:5.3f} | {min(values):5.3f}-{max(values):5.3f} | "
                     f"{base / median:15.3f}x |")
    for line in lines:
        log(line)
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", nargs="+", type=int, default=[128, 1024, 4096])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (default 7)")
    parser.add_argument("--hot-l2", action="store_true", help="one input set, resident in L2")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    if any(t < 1 for t in args.tokens) or args.rounds < 1:
        raise SystemExit("--tokens and --rounds must be positive")
    if args.out and args.out.is_dir():
        raise SystemExit(f"--out {args.out} is a folder: give the report's file path")
    if not torch.cuda.is_available():
        raise SystemExit("needs a CUDA GPU (and nvcc): this script times CUDA kernels")
    torch._dynamo.config.automatic_dynamic_shapes = False

    def log(text):
        print(text, flush=True)

    head = [f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}, CUDA {torch.version.cuda}",
            f"command: python3 benchmarks/ablate_layernorm.py {' '.join(sys.argv[1:] if argv is None else argv)}",
            "LayerNorm fp16, hidden 768; modes: benchmarks/ablation/layernorm_ablation.cu (1-3 are partial "
            "LayerNorms, not checked; 4-7 and ours checked against float64 at atol = rtol = 1e-2);",
            "torch.compile: max-autotune-no-cudagraphs, the token dimension dynamic, first called at the "
            "first --tokens count."]
    for line in head:
        log(line)
    warm_up_gpu()
    compiled = torch.compile(torch_layer_norm, mode="max-autotune-no-cudagraphs")
    body = []
    with tempfile.TemporaryDirectory() as build_dir:
        lib = build(Path(build_dir))
        for tokens in args.tokens:
            body += [""] + run_tokens(lib, tokens, args.hot_l2, args.rounds, compiled, log)
    if args.out:
        atomic_write_bytes(args.out, ("\n".join(head + body) + "\n").encode())
        log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
