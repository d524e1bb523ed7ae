"""What benchmarks/ablate_layernorm.py and sweep_layernorm_shapes.py share: building a kernel file
with nvcc, checking every contender against float64, and timing in interleaved rounds.

Interleaved rounds: every contender is captured into its own CUDA graph first (`calls` calls
rotating over the input sets), then the graphs are replayed round after round, each contender once
a round; a contender's time is the median of its rounds. A drift of the clocks during the run then
hits every contender alike, where timing one contender after another would give it to some.
"""
from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import torch

from benchmarks.bench_memory_bound_kernels import replay_us


def nvcc_command(sources: Path | list[Path], library: Path, arch: str, flags: tuple[str, ...] = ()) -> list[str]:
    """The nvcc command that builds kernel files into a shared library for sm_<arch> (`flags`: more
    options, e.g. -D definitions)."""
    sources = [sources] if isinstance(sources, (str, Path)) else sources
    return ["nvcc", "-O3", f"-arch=sm_{arch}", "-shared", "-Xcompiler", "-fPIC", *flags, "-o", str(library),
            *map(str, sources)]


def build_library(sources: Path | list[Path], out_dir: Path, name: str, flags: tuple[str, ...] = ()) -> Path:
    """Compiles `sources` with nvcc -O3 for this GPU into out_dir/<name>_sm<XY>.so (temp name, then
    renamed); returns its path."""
    major, minor = torch.cuda.get_device_capability()
    library = out_dir / f"{name}_sm{major}{minor}.so"
    partial = library.with_suffix(".so.partial")
    command = nvcc_command(sources, partial, f"{major}{minor}", flags)
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise SystemExit(f"needs nvcc (the CUDA toolkit) on PATH to build {name}")
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"nvcc failed on {name}:\n{error.stderr}")
    partial.rename(library)
    return library


def compile_library(source: Path, out_dir: Path, name: str) -> ctypes.CDLL:
    """build_library of one kernel file, loaded."""
    return ctypes.CDLL(str(build_library(source, out_dir, name)))


# The LayerNorm entry points' arguments: (index, x, gamma, beta, y, rows, 1 / hidden, epsilon, stream).
LAUNCHER_ARGTYPES = [ctypes.c_int] + [ctypes.c_void_p] * 4 + [ctypes.c_int, ctypes.c_float, ctypes.c_float,
                                                               ctypes.c_void_p]


def launcher_call(launch, index: int, sets: list[list], shared: list, epsilon: float, what: str):
    """call(i): a new output y of input set i through `launch(index, *row tensors of set i, *shared,
    y, rows, 1 / hidden, epsilon, stream)`, the C entry points of the kernel files here: `sets` holds
    one list of tensors a row operand (x first, y shaped like it), `shared` the [hidden] parameters,
    e.g. [xs], [gamma, beta] for LayerNorm. On the current stream, so that a CUDA graph capture
    records it."""
    def call(i):
        x = sets[0][i]
        y = torch.empty_like(x)
        rows = [operand[i].data_ptr() for operand in sets]
        status = launch(index, *rows, *(t.data_ptr() for t in shared), y.data_ptr(), x.shape[0],
                        1.0 / x.shape[-1], epsilon, torch.cuda.current_stream().cuda_stream)
        if status != 0:
            raise RuntimeError(f"{what} {index}: CUDA error {status}")
        return y
    return call


def check_all(contenders: dict, expected, tolerance: float, where: str, skip=lambda label: False):
    """Exits with the first contender whose output on input set 0 is off `expected` (float64) by more
    than atol = rtol = tolerance; `skip(label)` leaves out the ones that compute something else."""
    for label, call in contenders.items():
        if skip(label):
            continue
        error = (call(0).double() - expected).abs()
        if not bool((error <= tolerance + tolerance * expected.abs()).all()):
            raise SystemExit(f"{label} at {where}: max abs error {error.max().item():.3g} "
                             f"against float64 (tolerance {tolerance})")


def capture(call, sets: int, calls: int):
    """A CUDA graph of `calls` calls rotating over the input sets (outputs kept until reused)."""
    outputs = [call(i) for i in range(sets)]  # warm-up, off the capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for c in range(calls):
            outputs[c % sets] = call(c % sets)
    return graph, outputs


def time_in_rounds(contenders: dict, sets: int, calls: int, rounds: int, replays: int) -> dict[str, list[float]]:
    """us per call of each contender in each round (a round's time: the median of `replays` replays)."""
    graphs = {label: capture(call, sets, calls) for label, call in contenders.items()}
    times = {label: [] for label in contenders}
    for _ in range(rounds):
        for label, (graph, _) in graphs.items():
            times[label].append(replay_us(graph, calls, replays))
    return times
