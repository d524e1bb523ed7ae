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
     max-autotune times its Triton configs once and keeps the fastest, so separate compiles keep
     different configs, some much slower (1.80x between two runs at one cell, run 17). --compiles K
     compiles K times per cell, each autotuned from nothing (compile_afresh), and PyTorch's best of
     a round is the fastest of them all: a bar that does not depend on one autotuning's luck. (Also
     with K = 1 the compile bypasses inductor's caches, so no earlier process's picks are reused.)
     The log names each compile's Triton kernels and the configs their autotuning kept.
  4. Rounds: all contenders are replayed round after round (ROUNDS, each contender once a round,
     the median of its replays). In each round, PyTorch's best is its fastest contender of that
     round, and the ratio is that time over ours (> 1: ours faster). A minimum over several
     contenders leans PyTorch's way where they run the same kernel (K compiles that kept one
     config): the fastest of K noisy times sits below each one's median (run 18, BiasGelu fp32
     32 x 128: compiles 35.94 / 36.00 / 36.23 us, PyTorch's best 35.92). Ours is one pick, timed
     alone. So the bar is conservative: "behind" by a fraction of a percent may be only that.
  5. Verdict: "ahead" if ours is faster in every round, "behind" if slower in every round, "level"
     otherwise (the rounds disagree: the difference is within the spread of the measurement).

Memory-bound kernels also show a copy floor: torch's one elementwise kernel moving the same
activation bytes (bench_memory_bound_kernels.py's --copy-floor), timed in the same rounds, and the
percentage of the copy peak (a 1 GiB device-to-device copy) ours reaches. Where PyTorch's best and
ours both sit on that floor no kernel can be ahead: the bytes take that long to move.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import types
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import benchmarks.bench_memory_bound_kernels as memory_bound  # noqa: E402
from benchmarks import bench_attention as attention  # noqa: E402
from benchmarks.interleaved import time_in_rounds  # noqa: E402
from bertrt.common import atomic_write_bytes  # noqa: E402
from plugins.attention.ops import VERSIONS as ATTENTION_VERSIONS, qkv_to_context, version_supported  # noqa: E402

BATCHES, SEQS = attention.BATCHES, attention.SEQS
HIDDEN = attention.HIDDEN
MEMORY_BOUND = ("LayerNorm", "SkipLayerNorm", "EmbLayerNorm", "BiasGelu")
KERNELS = MEMORY_BOUND + ("QkvToContext",)
DTYPES = {name: memory_bound.DTYPES[name] for name in ("fp32", "fp16")}
ROUNDS = 9
REPLAYS = 10  # per contender and round; its round time is their median
SDPA_BACKENDS = ("flash", "efficient", "cudnn")  # math: never the fastest, and slow


def verdict(ratios: list) -> str:
    """Per-round ratios (> 1: ours faster) -> "ahead" if every round says so, "behind" if every round
    says the opposite, else "level" (the difference is within the spread of the measurement)."""
    if min(ratios) > 1.0:
        return "ahead"
    if max(ratios) < 1.0:
        return "behind"
    return "level"


@dataclass
class Cell:
    kernel: str
    dtype: str
    batch: int
    seq: int
    pick: str             # our fastest version, the builder's pick
    ours_us: float        # its median over the rounds
    best_torch: str       # PyTorch's contender that was fastest in most rounds
    torch_us: float       # PyTorch's best: the median over the rounds of each round's fastest
    ratios: list          # PyTorch's best / ours, per round
    default_ratios: list  # PyTorch's best / the launcher's default, per round
    notes: str            # % of copy peak and the copy floor, or TFLOP/s

    @property
    def verdict(self) -> str:
        return verdict(self.ratios)

    def line(self) -> str:
        r = self.ratios
        return (f"| {self.kernel} | {self.dtype} | {self.batch} x {self.seq} | {self.pick} | {self.ours_us:.2f} | "
                f"{self.best_torch} | {self.torch_us:.2f} | {statistics.median(r):.2f}x [{min(r):.2f}-{max(r):.2f}] | "
                f"**{self.verdict}** | {statistics.median(self.default_ratios):.2f}x | {self.notes} |")


HEADER = ("| kernel | dtype | batch x seq | ours (pick) | us | PyTorch's best | us | vs PyTorch: median "
          "[min-max of rounds] | verdict | default vs PyTorch | notes |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|")


def check_all(contenders: dict, expected, dtype, where: str):
    """Every contender's output on input set 0 against float64 before anything is timed: PyTorch's
    as well as ours, so that no verdict is against a contender computing something else."""
    for label, call in contenders.items():
        memory_bound.check(call(0), expected, dtype, f"{label} {where}")


def fastest_once(contenders: dict, sets: int) -> str:
    """The label of the fastest contender, each timed once (the builder's tactic timing)."""
    times = {label: memory_bound.time_in_graph(call, sets) for label, call in contenders.items()}
    return min(times, key=times.get)


def compile_afresh(fn, args: tuple = (), kwargs: dict | None = None, **options):
    """torch.compile(fn, mode="max-autotune-no-cudagraphs", **options), called once on (args, kwargs)
    so that it compiles and autotunes now, from nothing, and again at the next call of this function:
      - dynamo keeps compiled graphs per code object, and a second torch.compile of the same function
        reuses the first one's graph, so each compile gets a copy of fn with a code object of its own;
      - inductor's caches (FX graphs, autotuning picks; in memory and on disk) would hand a second
        compile of the same graph the first one's Triton configs: emptied and bypassed.
    Earlier compiles stay usable: each keeps its own graph and kernels."""
    from torch._inductor.codecache import PyCodeCache

    copy = types.FunctionType(fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
    copy.__kwdefaults__ = fn.__kwdefaults__
    PyCodeCache.cache_clear()
    compiled = torch.compile(copy, mode="max-autotune-no-cudagraphs", **options)
    with torch._inductor.config.patch(force_disable_caches=True), warnings.catch_warnings():
        # Bypassing the caches also turns off dynamo's profile-guided recompiles, and it says so
        # at every compile: nothing a static-shape cell uses.
        warnings.filterwarnings("ignore", message="dynamo_pgo force disabled")
        compiled(*args, **(kwargs or {}))
    return compiled


def triton_autotuners() -> dict:
    """id -> every inductor Triton kernel alive in this process (its CachingAutotuner). Found on the
    heap: compile_afresh bypasses inductor's caches, where one would otherwise look them up."""
    from torch._inductor.runtime.triton_heuristics import CachingAutotuner

    # issubclass of the type, not isinstance: the heap holds weak proxies whose target is gone, and
    # isinstance would ask the proxy (ReferenceError).
    return {id(obj): obj for obj in gc.get_objects() if issubclass(type(obj), CachingAutotuner)}


def describe_autotuner(tuner) -> str:
    """"triton_per_fused_native_layer_norm_0: XBLOCK 2, 8 warps, 32 registers": the
    config that autotuning kept (its one launcher left); every candidate's where it compiled them and
    has not run yet; "not compiled" before that."""
    configs = []
    for launcher in getattr(tuner, "launchers", None) or []:
        config = launcher.config
        sizes = ", ".join(f"{key} {value}" for key, value in config.kwargs.items())
        configs.append(f"{sizes}, {config.num_warps} warps, {getattr(launcher, 'n_regs', '?')} registers")
    return f"{getattr(tuner.fn, '__name__', '?')}: {' | '.join(configs) or 'not compiled'}"


def compiled_contenders(count: int, name: str, compile_one, log, where: str) -> dict:
    """label -> call(i) for `count` fresh compiles: compile_one() compiles and autotunes one and
    returns its call(i). Labelled `name`, or `name #k` when there are several. Each compile's Triton
    kernels are logged with the configs autotuning kept, so that a fast compile can be told from a
    slow one by what it runs. A compile that fails is logged and left out rather than costing the
    whole run."""
    contenders = {}
    for k in range(count):
        label = name if count == 1 else f"{name} #{k + 1}"
        before = kept_configs_or_error(triton_autotuners)
        try:
            contenders[label] = compile_one()
        except Exception as error:  # noqa: BLE001 - any compiler failure
            log(f"  {label} failed at {where}, left out: {type(error).__name__}: {error}")
            continue
        log(f"  {label} at {where}: {kept_configs_or_error(new_kernels, before)}")
    return contenders


def new_autotuners(before: dict) -> list:
    """The Triton kernels made since `before` (triton_autotuners() then). Inductor may leave a twin of a
    kernel that never ran (no launcher): only those that ran."""
    return [tuner for key, tuner in triton_autotuners().items() if key not in before and getattr(tuner, "launchers", None)]


def new_kernels(before) -> str:
    """The Triton kernels made since `before` (triton_autotuners() then), each with its kept config."""
    if isinstance(before, str):  # the scan before the compile failed: its line says why
        return before
    return "; ".join(describe_autotuner(tuner) for tuner in new_autotuners(before)) or "no Triton kernel"


def kept_configs_or_error(read, *args):
    """read(*args), or a line saying why it failed: the config log reads inductor's internals, which a
    torch release may change, and must never cost the timing run."""
    try:
        return read(*args)
    except Exception as error:  # noqa: BLE001 - any failure of the log alone
        return f"(config log failed: {type(error).__name__}: {error})"


def compile_spread(rounds: dict, labels: list[str]) -> str:
    """The note "compiles a / b / c us": each of several compiles' median, in the order compiled
    ("" for one compile)."""
    if len(labels) < 2:
        return ""
    return "compiles " + " / ".join(f"{statistics.median(rounds[label]):.2f}" for label in labels) + " us"


def score(kernel, dtype_name, batch, seq, ours: dict, pick: str, torch_contenders: dict, sets: int,
          floor=None, notes=lambda ours_us, floor_us: "") -> Cell:
    """Times the pick, the default, every PyTorch contender and the floor in interleaved rounds.
    PyTorch's best is taken per round (its fastest contender of that round); the floor is shown,
    never counted as PyTorch's."""
    timed = {"pick": ours[pick], **({"default": ours["default"]} if pick != "default" else {}),
             **torch_contenders, **({"copy floor": floor} if floor else {})}
    rounds = time_in_rounds(timed, sets, memory_bound.graph_calls(sets), ROUNDS, REPLAYS)
    best_per_round = [min(rounds[label][i] for label in torch_contenders) for i in range(ROUNDS)]
    spread = compile_spread(rounds, [label for label in torch_contenders if "#" in label])
    winners = Counter(min(torch_contenders, key=lambda label: rounds[label][i]) for i in range(ROUNDS))
    default_rounds = rounds["default" if pick != "default" else "pick"]
    ours_us = statistics.median(rounds["pick"])
    floor_us = statistics.median(rounds["copy floor"]) if floor else None
    return Cell(kernel, dtype_name, batch, seq, pick, ours_us,
                winners.most_common(1)[0][0], statistics.median(best_per_round),
                [t / o for t, o in zip(best_per_round, rounds["pick"])],
                [t / d for t, d in zip(best_per_round, default_rounds)],
                ", ".join(filter(None, (notes(ours_us, floor_us), spread))))


@dataclass
class MemoryBoundCase:
    """One memory-bound cell's inputs: what the scorecard, ablate_cache_hints.py and
    interleave_versions.py time at it."""
    workload: memory_bound.Workload
    dtype: torch.dtype
    width: int            # the row length: hidden, or BiasGelu's 4 x hidden
    where: str            # "batch x seq dtype", for messages
    inputs: list          # the input sets, rotating over >= 3x the L2 (one set if l2_bytes is 0)
    nbytes: int           # the fewest bytes a call must move
    expected: torch.Tensor  # float64 reference on input set 0


def memory_bound_case(name: str, dtype_name: str, batch: int, seq: int, l2_bytes: int) -> MemoryBoundCase:
    workload = memory_bound.WORKLOADS[name]
    dtype = memory_bound.DTYPES[dtype_name]
    width = workload.width_of(HIDDEN)
    # EmbLayerNorm's input sets and byte count read the sequence length from the benchmark's module
    # (its --seq-len); each cell sets it.
    memory_bound.SEQ_LEN = seq
    inputs, nbytes = memory_bound.make_inputs(workload, dtype, width, batch * seq, l2_bytes)
    return MemoryBoundCase(workload, dtype, width, f"{batch} x {seq} {dtype_name}", inputs, nbytes,
                           workload.reference(inputs[0]))


def afresh_contenders(torch_fn, inputs: list[dict], count: int, log, where: str) -> dict:
    """label -> call(i) on input set i: `count` torch.compiles of torch_fn, each compiled afresh for its
    static shapes (what a fixed-shape model gets), the previous graphs dropped first; each compile's
    kept configs logged (compiled_contenders). Unchecked."""
    torch._dynamo.reset()

    def compile_one():
        compiled = compile_afresh(torch_fn, kwargs=inputs[0])
        return lambda i: compiled(**inputs[i])
    return compiled_contenders(count, "torch.compile", compile_one, log, where)


def fresh_compiles(case: MemoryBoundCase, count: int, log) -> dict:
    """afresh_contenders of the cell's PyTorch function, each checked against float64."""
    compiled = afresh_contenders(case.workload.torch_fn, case.inputs, count, log, case.where)
    check_all(compiled, case.expected, case.dtype, case.where)
    return compiled


def memory_bound_cell(name, dtype_name, batch, seq, l2_bytes, copy_peak_gbs, compiles, log) -> Cell:
    case = memory_bound_case(name, dtype_name, batch, seq, l2_bytes)
    workload, inputs, nbytes = case.workload, case.inputs, case.nbytes
    ours = memory_bound.our_contenders(workload, inputs, case.dtype, workload.versions, case.where, log,
                                       case.expected)
    pick = fastest_once({label: ours[label] for label in memory_bound.builder_candidates(ours)}, len(inputs))
    eager = {"torch eager": lambda i: workload.torch_fn(**inputs[i])}
    check_all(eager, case.expected, case.dtype, case.where)
    torch_contenders = {**eager, **fresh_compiles(case, compiles, log)}
    floor = (lambda i: workload.copy_fn(**inputs[i])) if workload.copy_fn else None

    def notes(us, floor_us):
        text = f"{100 * nbytes / us / 1e3 / copy_peak_gbs:.0f}% of copy peak"
        return text + (f", copy floor {floor_us:.2f} us" if floor_us else "")
    return score(name, dtype_name, batch, seq, ours, pick, torch_contenders, len(inputs), floor, notes)


def sdpa_contenders(qkvs: list) -> dict:
    """label -> call(i): SDPA on input set i, for each backend that takes these inputs."""
    return {f"SDPA {name}": (lambda i, name=name: attention.sdpa_on_backend(name, qkvs[i], None))
            for name in SDPA_BACKENDS if attention.backend_takes(name, qkvs[0], None)}


def attention_cell(dtype_name, batch, seq, l2_bytes, compiles, log) -> Cell:
    dtype = DTYPES[dtype_name]
    where = f"{batch} x {seq} {dtype_name}"
    sets = memory_bound.input_set_count(attention.attention_bytes(batch * seq, dtype.itemsize), l2_bytes)
    torch.manual_seed(batch * 7919 + seq)
    qkvs = [torch.randn(batch, seq, 3 * HIDDEN, device="cuda").to(dtype) for _ in range(sets)]
    expected = attention.reference(qkvs[0], torch.full((batch,), seq, dtype=torch.int32, device="cuda"))

    def ours_call(version):
        return lambda i: qkv_to_context(qkvs[i], num_heads=attention.NUM_HEADS, head_size=attention.HEAD_SIZE,
                                        scale=attention.SCALE, version=version)
    offered = [f"v{v}" for v in ATTENTION_VERSIONS if version_supported(v, attention.HEAD_SIZE, dtype)]
    ours = {"default": ours_call(None),
            **{label: ours_call(int(label[1:])) for label in memory_bound.builder_candidates(offered)}}
    check_all(ours, expected, dtype, where)
    pick = fastest_once(ours, sets)

    torch._dynamo.reset()  # the previous cell's graphs go

    def compile_one():
        compiled = compile_afresh(attention.sdpa_attention, (qkvs[0], None), dynamic=False)
        return lambda i: compiled(qkvs[i], None)
    torch_contenders = {**sdpa_contenders(qkvs),
                        **compiled_contenders(compiles, "SDPA compiled", compile_one, log, where)}
    check_all(torch_contenders, expected, dtype, where)
    flops = attention.attention_flops(batch, seq)
    return score("QkvToContext", dtype_name, batch, seq, ours, pick, torch_contenders, sets,
                 notes=lambda us, _: f"{flops / us / 1e6:.0f} TFLOP/s")


def add_cell_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that pick a run's cells, and --out (ablate_cache_hints.py shares them)."""
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    parser.add_argument("--seqs", nargs="+", type=int, default=list(SEQS))
    parser.add_argument("--out", type=Path, help="also write the report to this file")


def check_cell_arguments(args, needs: str) -> None:
    """Exits with one line naming the fix: a sequence length BERT cannot have, or no GPU."""
    if not all(1 <= s <= memory_bound.MAX_POS for s in args.seqs):
        raise SystemExit(f"--seqs must be 1..{memory_bound.MAX_POS} (BERT's position table)")
    if not torch.cuda.is_available():
        raise SystemExit(f"needs a CUDA GPU ({needs})")


class Report:
    """log(text): printed at once and kept; save() writes what is kept to `out` (if any) in one
    piece, marked "(partial)" while the run goes on, so a run cut short leaves its rows."""

    def __init__(self, out: Path | None):
        self.out = out
        self.lines: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def save(self, partial: bool = False) -> None:
        if self.out:
            atomic_write_bytes(self.out, ("\n".join(self.lines) + ("\n(partial)\n" if partial else "\n")).encode())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kernels", nargs="+", default=list(KERNELS), choices=KERNELS)
    parser.add_argument("--compiles", type=int, default=1,
                        help="torch.compile each cell this many times, each autotuned afresh; PyTorch's "
                             "best is the fastest of them (default 1)")
    add_cell_arguments(parser)
    args = parser.parse_args(argv)
    if args.compiles < 1:
        raise SystemExit("--compiles must be at least 1")
    check_cell_arguments(args, "and the kernels built: cmake --build plugins/build")
    torch._dynamo.config.cache_size_limit = 64
    torch.backends.cuda.matmul.allow_tf32 = False  # fp32 means fp32, for SDPA too
    log = Report(args.out)

    props = torch.cuda.get_device_properties(0)
    started = time.time()
    memory_bound.warm_up_gpu()
    copy_peak = memory_bound.copy_bandwidths().stream_memcpy
    log(f"GPU: {props.name} ({props.multi_processor_count} SMs, L2 {props.L2_cache_size >> 20} MiB); "
        f"torch {torch.__version__}, CUDA {torch.version.cuda}; copy peak {copy_peak:.0f} GB/s")
    log(f"command: python3 {' '.join(sys.argv)}")
    log(f"torch.compile: {args.compiles} fresh compile(s) per cell, each autotuned from nothing")
    log(f"{ROUNDS} interleaved rounds per cell; each contender a CUDA graph of >= "
        f"{memory_bound.MIN_CALLS_PER_GRAPH} calls, every input set equally often; its round: the median "
        f"of {REPLAYS} replays (the module docstring says how the verdict is reached)")
    cells = []
    for kernel in args.kernels:
        for dtype_name in args.dtypes:
            for batch in args.batches:
                for seq in args.seqs:
                    if kernel == "QkvToContext":
                        cell = attention_cell(dtype_name, batch, seq, props.L2_cache_size, args.compiles, log)
                    else:
                        cell = memory_bound_cell(kernel, dtype_name, batch, seq, props.L2_cache_size,
                                                 copy_peak, args.compiles, log)
                    cells.append(cell)
                    log(f"  {cell.line()}  ({time.time() - started:.0f} s)")
                    log.save(partial=True)  # what is done so far survives a run cut short
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
    log.save()


if __name__ == "__main__":
    main()
