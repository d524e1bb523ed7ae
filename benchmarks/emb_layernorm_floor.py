"""What an EmbLayerNorm costs beyond moving its bytes: copy, gather, sum, LayerNorm, hidden 768.

    python3 benchmarks/emb_layernorm_floor.py --cells fp32:32:384 fp16:32:384 [--versions 14] [--compiles 1] \
        [--out benchmarks/results/<gpu>_emb_layernorm_floor.txt]

LayerNorm and SkipLayerNorm have a floor in the scorecard: torch's copy of the same bytes. EmbLayerNorm has
none there, since no torch kernel moves its bytes alone (its rows are gathered by id from an fp32 table, and
written in fp32 or fp16). benchmarks/ablation/emb_layernorm_floor.cu builds one up in four steps, each adding
one piece to the one before (its header says which, and the block shapes): copy, gather (the dependent load of
the id, then its row), sum (+ the position and token-type rows) and plain (+ the LayerNorm: a plain kernel in
our code's style, in the layouts of our v14, v18 and v19, and two variants). This script builds it with nvcc,
checks every kernel (copy, gather and sum bit for bit against torch, plain against float64 at the benchmark's
tolerance) and times all of them next to our EmbLayerNorm (the default launcher and --versions), fresh
torch.compiles and torch's copy of the same bytes (x * 1 in fp32; in fp16 a cast, fp32 in, fp16 out; run 26's
results files, from before this, timed x * 1 in fp32 at every cell), in interleaved rounds (benchmarks/interleaved.py) on the scorecard's
inputs (rotating over >= 3x the L2).

Per cell: every contender's median us, then the steps: each step's fastest shape and what it adds to the
step before, and where our default and PyTorch's best stand against the fastest plain kernel. The steps show
where an EmbLayerNorm's time goes; a plain kernel faster than ours is a lead, not a verdict (it handles
neither packed batches nor ids out of range, and was tuned on nothing).
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

import benchmarks.bench_memory_bound_kernels as memory_bound  # noqa: E402
from benchmarks.interleave_versions import check_version_arguments, parse_cell, start_report  # noqa: E402
from benchmarks.interleaved import build_library, time_in_rounds  # noqa: E402
from benchmarks.scorecard import REPLAYS, ROUNDS, fresh_compiles, memory_bound_case  # noqa: E402

SOURCE = Path(__file__).resolve().parent / "ablation" / "emb_layernorm_floor.cu"
HIDDEN = 768  # the kernels' layouts are written for 768 (192 float4 a row)
STEPS = ("copy", "gather", "sum", "plain")  # in the order each adds a piece; a kernel's name starts with its step
LAUNCH_ARGTYPES = [ctypes.c_int, ctypes.c_int] + [ctypes.c_void_p] * 9 + [ctypes.c_int, ctypes.c_int, ctypes.c_float,
                                                                         ctypes.c_void_p]


def build(out_dir: Path) -> tuple[ctypes.CDLL, list[str]]:
    """The kernel file built and loaded, and its kernels' names in index order."""
    lib = ctypes.CDLL(str(build_library(SOURCE, out_dir, "emb_layernorm_floor")))
    lib.floor_launch.argtypes = LAUNCH_ARGTYPES
    lib.floor_name.restype = ctypes.c_char_p
    lib.floor_name.argtypes = [ctypes.c_int]
    return lib, kernel_names(lib)


def kernel_names(lib) -> list[str]:
    names = [lib.floor_name(i).decode() for i in range(lib.floor_count())]
    unknown = [name for name in names if name.split()[0] not in STEPS]
    if unknown:
        raise SystemExit(f"{SOURCE.name}: kernels of no step {STEPS}: {unknown}")
    return names


def floor_call(lib, index: int, name: str, inputs: list[dict], copies: list, dtype):
    """call(i): kernel `index` on input set i (copies[i]: the copy's source rows), a new output; call(i,
    poisoned=True) fills that output with NaN first, so that a kernel which leaves rows unwritten cannot pass
    its check on what the caching allocator's block held from the kernel checked before."""
    def call(i, poisoned=False):
        s = inputs[i]
        tokens, seq = s["ids"].numel(), s["ids"].shape[-1]
        out = torch.empty(tokens, HIDDEN, device="cuda", dtype=dtype)
        if poisoned:
            out.fill_(math.nan)
        pointers = [s[key].data_ptr() for key in ("ids", "types", "word", "pos", "types_table", "gamma", "beta")]
        status = lib.floor_launch(index, int(dtype == torch.float16), *pointers, copies[i].data_ptr(), out.data_ptr(),
                                  tokens, seq, memory_bound.EPSILON, torch.cuda.current_stream().cuda_stream)
        if status != 0:
            raise RuntimeError(f"{name}: CUDA error {status}")
        return out
    return call


def exact_outputs(s: dict, copy_rows, dtype) -> dict[str, torch.Tensor]:
    """What copy, gather and sum must give on input set s, bit for bit (fp32 sums in Hugging Face's order)."""
    word = s["word"][s["ids"].long()]
    summed = (word + s["types_table"][s["types"].long()]) + s["pos"][: s["ids"].shape[-1]]
    return {"copy": copy_rows.to(dtype), "gather": word.reshape(-1, HIDDEN).to(dtype),
            "sum": summed.reshape(-1, HIDDEN).to(dtype)}


def cell_lines(lib, names: list[str], dtype_name: str, batch: int, seq: int, versions: list[int], compiles: int,
               l2_bytes: int, log) -> tuple[str, str]:
    """Times one cell; returns its line of every contender and its line of the steps."""
    case = memory_bound_case("EmbLayerNorm", dtype_name, batch, seq, l2_bytes)
    inputs, dtype, where = case.inputs, case.dtype, case.where
    if case.width != HIDDEN:  # the kernels index rows of HIDDEN values without bounds checks
        raise SystemExit(f"{SOURCE.name} is written for hidden {HIDDEN}, the scorecard's cells are {case.width}")
    copies = [torch.randn(batch * seq, HIDDEN, device="cuda") for _ in inputs]
    exact = exact_outputs(inputs[0], copies[0], dtype)
    contenders = {}
    for index, name in enumerate(names):
        call = floor_call(lib, index, name, inputs, copies, dtype)
        step = name.split()[0]
        if step == "plain":
            memory_bound.check(call(0, poisoned=True), case.expected, dtype, f"{name} {where}")
        elif not torch.equal(call(0, poisoned=True), exact[step]):
            raise SystemExit(f"MISMATCH {name} {where}: not the {step} of its inputs")
        contenders[name] = call
    ours = memory_bound.our_contenders(case.workload, inputs, dtype, versions, where, log, case.expected)
    contenders.update({f"ours {label}": call for label, call in ours.items()})
    compiled = fresh_compiles(case, compiles, log) if compiles else {}
    contenders.update(compiled)
    # torch's one kernel that moves the copy's bytes: fp32 in and out (x * 1), or fp32 in, fp16 out (a cast).
    contenders["torch copy"] = (lambda i: torch.mul(copies[i], 1)) if dtype == torch.float32 else \
        (lambda i: copies[i].to(dtype))

    rounds = time_in_rounds(contenders, len(inputs), memory_bound.graph_calls(len(inputs)), ROUNDS, REPLAYS)
    us = {label: statistics.median(times) for label, times in rounds.items()}
    everything = f"{where}: " + " | ".join(f"{label} {t:.2f}" for label, t in us.items())
    return everything, steps_line(where, us, names, list(compiled))


def steps_line(where: str, us: dict, names: list[str], compiled: list[str]) -> str:
    """Each step's fastest kernel and what it adds to the step before; our default and PyTorch's best against
    the fastest plain kernel."""
    parts, before = [], None
    for step in STEPS:
        fastest = min((name for name in names if name.split()[0] == step), key=us.get)
        added = f", {100 * (us[fastest] / us[before] - 1):+.1f}%" if before else ""
        parts.append(f"{step} {us[fastest]:.2f} ({fastest.split(' ', 1)[1]}{added})")
        before = fastest
    parts.append(f"ours (default) {us['ours default']:.2f} = {us['ours default'] / us[before]:.2f}x plain")
    if compiled:
        best = min(compiled, key=us.get)
        parts.append(f"PyTorch's best {us[best]:.2f} ({best}) = {us[best] / us[before]:.2f}x plain")
    return f"  steps at {where}: " + " | ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", nargs="+", default=["fp32:32:384", "fp16:32:384"], metavar="DTYPE:BATCH:SEQ",
                        help="hidden 768 (default: fp32:32:384 fp16:32:384)")
    parser.add_argument("--versions", nargs="*", type=int, default=[],
                        help="our numbered EmbLayerNorm versions to time beside the default launcher")
    parser.add_argument("--compiles", type=int, default=1, help="fresh torch.compiles a cell (default 1; 0: none)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args(argv)
    cells = [parse_cell(text) for text in args.cells]
    check_version_arguments("EmbLayerNorm", args.versions, args.compiles)
    log, props = start_report(args.out, f"the scorecard's, rotating over >= 3x the L2; {ROUNDS} interleaved rounds, "
                                        f"each a median of {REPLAYS} graph replays; us",
                              needs="a CUDA GPU, nvcc and the kernels built: cmake --build plugins/build")
    lib, names = build(Path(tempfile.mkdtemp()))
    memory_bound.warm_up_gpu()
    summary = []
    for dtype_name, batch, seq in cells:
        everything, steps = cell_lines(lib, names, dtype_name, batch, seq, args.versions, args.compiles,
                                       props.L2_cache_size, log)
        log(everything)
        log(steps)
        summary.append(steps)
        log.save(partial=True)
    log()
    for line in summary:
        log(line)
    log.save()


if __name__ == "__main__":
    main()
