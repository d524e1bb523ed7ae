"""Which block shape suits a LayerNorm of BERT's rows: a sweep, hidden 768, fp32 or fp16.

    python3 benchmarks/sweep_layernorm_shapes.py --dtype fp32 --out benchmarks/results/<gpu>_layernorm_shapes_fp32.txt
    python3 benchmarks/sweep_layernorm_shapes.py --kernel skip --dtype fp16 --tokens 64 128 384

benchmarks/ablation/layernorm_shapes.cu holds one plain LayerNorm kernel (v12's code: every load
first, two plain reductions) with its block shape as template constants: G groups of W warps a
block, R rows a group, K vectors of B bytes a thread of each row ("partial": the last vector of
some threads masked, as in torch.compile's layouts; "+tree" etc.: v14's shape with one of our own
kernel's code choices, to find what each costs; "+pipe": a second kernel, a persistent grid that
issues a block's next rows' loads before this one's reductions; the file's header says more);
`--kernel skip` normalizes x + skip + bias instead, as SkipLayerNorm does. This script builds it
with nvcc, checks every shape against float64, and times each next to our own versions (--ours), a
torch copy of the same bytes and torch.compile compiled afresh for every token count (static
shapes, max-autotune, so autotuned at that count). Run 11 read v13 and v14 off this sweep.

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

from benchmarks.bench_memory_bound_kernels import (EPSILON, LAYER_NORM, SKIP_LAYER_NORM, TOLERANCE,  # noqa: E402
                                                   WORKING_SET_OVER_L2, warm_up_gpu)
from benchmarks.interleaved import (LAUNCHER_ARGTYPES, check_all, compile_library, launcher_call,  # noqa: E402
                                    time_in_rounds)
from benchmarks.scorecard import afresh_contenders  # noqa: E402
from bertrt.common import atomic_write_bytes  # noqa: E402
from plugins.layernorm.ops import VERSIONS  # noqa: E402

# --kernel: the benchmark's workload (our call, torch's function, the float64 reference, the copy of the
# same activations) and the copy's label.
KERNELS = {"layernorm": (LAYER_NORM, "torch copy x*1"), "skip": (SKIP_LAYER_NORM, "torch copy x+skip")}

SOURCE = Path(__file__).resolve().parent / "ablation" / "layernorm_shapes.cu"
HIDDEN = 768  # the shapes are written for 768 (16-byte vectors: fp32 192 a row, fp16 96)
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
DEFAULT_OURS = {"fp32": [3, 12, 13, 14], "fp16": [8, 12, 13]}
SKIP_LAUNCH_ARGTYPES = [ctypes.c_int] + [ctypes.c_void_p] * 6 + [ctypes.c_int, ctypes.c_float, ctypes.c_float,
                                                                 ctypes.c_void_p]


def build(out_dir: Path) -> ctypes.CDLL:
    lib = compile_library(SOURCE, out_dir, "layernorm_shapes")
    lib.shape_launch.argtypes = LAUNCHER_ARGTYPES
    lib.skip_launch.argtypes = SKIP_LAUNCH_ARGTYPES
    lib.shape_query.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    return lib


# The kernel file's code variants (its kTreeSums ... flags), as the labels name them.
VARIANTS = {1: "+tree", 2: "+i64", 4: "+late", 8: "+plain", 16: "+pipe", 32: "+occ8", 64: "+occ12", 128: "+carve",
            256: "+l1", 512: "+ca", 1024: "+port", 2048: "+keep", 4096: "+exact", 8192: "+ftz"}
SHAPE_INFO_FIELDS = 8  # shape_info: fp16, groups, warps, rows, vectors, bytes, variant, carveout percent


def variant_flags(variant: int, carveout: int) -> str:
    """The labels of a variant's flags, and "+c7%" for a carveout preference of 7% (-1: none)."""
    flags = "".join(name for bit, name in VARIANTS.items() if variant & bit)
    return flags + (f"+c{carveout}%" if carveout >= 0 else "")


def shapes_of(lib, fp16: bool) -> list[tuple[int, str]]:
    """(index, label) of the library's shapes for this dtype; "partial" marks a shape whose threads
    hold more than the row (Triton's power-of-two layouts: the surplus lanes or warps masked), and
    "+tree", "+i64", "+late", "+plain", "+pipe" the code variants the shape carries, "+occ8" / "+occ12" a cap of
    resident blocks an SM, "+carve" the most-shared-memory carveout those caps set, "+l1" the most-L1 one, "+cN%" a
    carveout preference of N%, "+ca" loads through __ldca, "+port" torch.compile's kernel written out in CUDA, "+keep"
    its gamma/beta loaded evict-last, "+exact" without its row clamp where the rows allow, "+ftz" with Triton's rsqrt
    (the file's header)."""
    found = []
    for index in range(lib.shape_count()):
        info = (ctypes.c_int * SHAPE_INFO_FIELDS)()
        lib.shape_info(index, info)
        if bool(info[0]) == fp16:
            _, groups, warps, rows, vecs, vec_bytes, variant, carveout = info
            partial = warps * 32 * vecs * vec_bytes // (2 if fp16 else 4) != HIDDEN
            flags = variant_flags(variant, carveout)
            found.append((index, f"G{groups} W{warps} R{rows} K{vecs} B{vec_bytes}" + (" partial" if partial else "")
                          + (f" {flags}" if flags else "")))
    return found


def occupancy_lines(lib, fp16: bool) -> list[str]:
    """A line a shape: its registers, static and dynamic shared memory and the resident blocks an SM the
    occupancy API counts with the shape's launch setup (carveout, cap) applied. The API's count, not the
    hardware's: whether it honours a carveout preference is one thing this table shows."""
    lines = ["shape | registers | static shared B | dynamic shared B | blocks an SM (occupancy API)"]
    for index, label in shapes_of(lib, fp16):
        out = (ctypes.c_int * 4)()
        status = lib.shape_query(index, out)
        lines.append(f"{label} | " + (" | ".join(str(v) for v in out) if status == 0 else f"CUDA error {status}"))
    return lines


def run_tokens(lib, kernel: str, dtype, tokens: int, ours: list[int], rounds: int, compiles: int, log) -> list[str]:
    l2 = torch.cuda.get_device_properties(0).L2_cache_size
    element = torch.tensor([], dtype=dtype).element_size()
    workload, copy_label = KERNELS[kernel]
    skipping = kernel == "skip"
    torch.manual_seed(tokens)
    # Drawn in this order whatever the kernel, so that a count's inputs are the same in every run.
    gamma = (1.0 + 0.1 * torch.randn(HIDDEN, device="cuda")).to(dtype)
    beta = (0.1 * torch.randn(HIDDEN, device="cuda")).to(dtype)
    bias = (0.5 * torch.randn(HIDDEN, device="cuda")).to(dtype)
    row_tensors = 3 if skipping else 2  # read and written a row: x (and skip), y
    sets = max(1, math.ceil(WORKING_SET_OVER_L2 * l2 / (row_tensors * tokens * HIDDEN * element)))
    xs = [(3.0 * torch.randn(tokens, HIDDEN, device="cuda") + 1.0).to(dtype) for _ in range(sets)]
    skips = [torch.randn(tokens, HIDDEN, device="cuda").to(dtype) for _ in range(sets)] if skipping else []
    inputs = [{"x": x, "gamma": gamma, "beta": beta} for x in xs]
    for one, skip in zip(inputs, skips):
        one.update(skip=skip, bias=bias)
    launch, operands, shared, what = ((lib.skip_launch, [xs, skips], [bias, gamma, beta], "skip_launch") if skipping
                                   else (lib.shape_launch, [xs], [gamma, beta], "shape_launch"))
    contenders = {label: launcher_call(launch, index, operands, shared, EPSILON, what)
                  for index, label in shapes_of(lib, dtype == torch.float16)}
    for version in ours:
        label = f"ours v{version}" if version else "ours default"
        contenders[label] = lambda i, v=version: workload.ours(inputs[i], v or None, dtype)
    contenders[copy_label] = lambda i: workload.copy_fn(**inputs[i])
    # Each compile afresh (static shapes, autotuned at this count, no cache handing it an earlier pick):
    # autotuning keeps a different config from one compile to the next (run 23: at 12,288 fp32 rows
    # XBLOCK 2 with 8 warps in 9 of 24 compiles, faster than every CUDA contender each time), so each
    # compile is a contender, its kept config a line of the report (scorecard.afresh_contenders).
    configs = []

    def log_config(text):
        log(text)
        configs.append(text)
    compiled = afresh_contenders(workload.torch_fn, inputs, compiles, log_config, f"{tokens} tokens")
    if not compiled:
        raise SystemExit(f"every torch.compile failed at {tokens} tokens (the lines above say why): "
                         "nothing to compare against")
    contenders.update(compiled)
    expected = workload.reference(inputs[0])
    check_all(contenders, expected, TOLERANCE[dtype], f"{tokens} tokens",
              skip=lambda label: label.startswith("torch copy"))
    calls = sets * math.ceil((200 if tokens <= 8192 else 50) / sets)
    replays = 20 if tokens <= 8192 else 8  # per round: a 64K-row graph of 50 calls is ~5 ms
    times = time_in_rounds(contenders, sets, calls, rounds, replays)
    compile_us = min(statistics.median(times[label]) for label in compiled)
    copy_us = statistics.median(times[copy_label])
    width = max(map(len, times))
    lines = [f"{'SkipLayerNorm' if skipping else 'LayerNorm'} {tokens} x {HIDDEN} "
             f"{'fp16' if dtype == torch.float16 else 'fp32'}, {sets} input sets from DRAM; "
             f"median of {rounds} interleaved rounds (min-max), fastest first",
             f"| {'contender':{width}s} | us      | min-max         | vs torch.compile | copy / this |",
             f"|{'-' * (width + 2)}|---------|-----------------|------------------|-------------|"]
    for label, values in sorted(times.items(), key=lambda item: statistics.median(item[1])):
        median = statistics.median(values)
        lines.append(f"| {label:{width}s} | {median:7.3f} | {min(values):7.3f}-{max(values):7.3f} | "
                     f"{compile_us / median:15.3f}x | {copy_us / median:11.3f} |")
    for line in lines:
        log(line)
    return configs + lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kernel", choices=["layernorm", "skip"], default="layernorm",
                        help="skip: LayerNorm(x + skip + bias), against our SkipLayerNorm (default: layernorm)")
    parser.add_argument("--dtype", choices=list(DTYPES), default="fp32")
    parser.add_argument("--tokens", nargs="+", type=int, default=[1024, 2048, 3072, 4096, 12288, 65536])
    parser.add_argument("--ours", nargs="*", type=int,
                        help="our versions to time next to the shapes (0: the default launcher; "
                             "default: fp32 3 12 13 14 0, fp16 8 12 13 0)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved timing rounds (default 7)")
    parser.add_argument("--compiles", type=int, default=1,
                        help="fresh torch.compiles a count, each a contender with its config logged; 'vs "
                             "torch.compile' is against the fastest (default 1)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    ours = DEFAULT_OURS[args.dtype] + [0] if args.ours is None else args.ours
    if any(t < 1 for t in args.tokens) or args.rounds < 1 or args.compiles < 1:
        raise SystemExit("--tokens, --rounds and --compiles must be positive")
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
            row = zeros.view(1, HIDDEN)
            KERNELS[args.kernel][0].ours({"x": row, "skip": row, "bias": zeros, "gamma": zeros + 1, "beta": zeros},
                                         version or None, dtype)
        except RuntimeError as error:
            raise SystemExit(f"--ours {version}: {error} ({args.dtype} hidden {HIDDEN}); leave it out")
    torch._dynamo.config.automatic_dynamic_shapes = False  # each count compiles its own static kernel
    torch._dynamo.config.cache_size_limit = 64

    def log(text):
        print(text, flush=True)

    head = [f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}, CUDA {torch.version.cuda}",
            f"command: python3 benchmarks/sweep_layernorm_shapes.py {' '.join(sys.argv[1:] if argv is None else argv)}",
            f"{'SkipLayerNorm (x + skip + bias)' if args.kernel == 'skip' else 'LayerNorm'} {args.dtype}, hidden 768; "
            "shapes: benchmarks/ablation/layernorm_shapes.cu (G groups of W warps a block, R rows a group, K vectors "
            f"of B bytes a thread), each checked against float64 (atol = rtol = {TOLERANCE[DTYPES[args.dtype]]:g}) first;",
            "torch.compile: max-autotune-no-cudagraphs, compiled afresh at every token count (static shapes)"
            + (f", {args.compiles} times (vs torch.compile: against the fastest)." if args.compiles > 1 else "."),
            "copy / this: the time of torch's " + ("x + skip" if args.kernel == "skip" else "x * 1") +
            " (the activations' bytes read and written) over the contender's."]
    for line in head:
        log(line)
    warm_up_gpu()
    body = []
    with tempfile.TemporaryDirectory() as build_dir:
        lib = build(Path(build_dir))
        occupancy = occupancy_lines(lib, args.dtype == "fp16")
        for line in occupancy:
            log(line)
        body += [""] + occupancy
        for tokens in args.tokens:
            body += [""] + run_tokens(lib, args.kernel, DTYPES[args.dtype], tokens, ours, args.rounds, args.compiles, log)
    if args.out:
        atomic_write_bytes(args.out, ("\n".join(head + body) + "\n").encode())
        log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
