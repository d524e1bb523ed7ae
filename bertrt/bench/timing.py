"""How every latency in the table is measured, one protocol for all contenders.

GPU: CUDA events recorded around each call on one stream, after a warm-up (module loading,
cuBLAS handles, autotuning and graph instantiation stay out of the numbers). Events sit in the
stream between calls, so a call whose host side is slower than its GPU work (eager PyTorch at
batch 1) shows that cost: it is part of the latency a user sees.

"Enough iterations for a stable median": a short probe estimates one call, then at least
`min_iterations` calls and at least `min_seconds` of timed work are run (capped by `max_seconds`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from bertrt.runtime import Timing

PROBE_ITERATIONS = 10
CPU_WARMUP = 2  # a CPU BERT call is slow enough that a couple of warm-up calls suffice


def plan_iterations(estimate_ms: float, min_iterations: int, min_seconds: float = 1.0,
                    max_seconds: float = 10.0) -> int:
    """Calls to time: enough for min_seconds, at least min_iterations, at most max_seconds' worth
    (but never fewer than 3: a median needs a few samples)."""
    estimate_ms = max(estimate_ms, 1e-3)
    wanted = max(min_iterations, math.ceil(min_seconds * 1e3 / estimate_ms))
    return max(3, min(wanted, math.floor(max_seconds * 1e3 / estimate_ms)))


def stable_timing(benchmark: Callable[[int, int], Timing], min_iterations: int, warmup: int,
                  min_seconds: float = 1.0, max_seconds: float = 10.0,
                  probe_iterations: int = PROBE_ITERATIONS) -> Timing:
    """`benchmark(warmup, iterations) -> Timing`: warm up and probe once, then time for real."""
    probe = benchmark(warmup, probe_iterations)
    iterations = plan_iterations(probe.median_ms, min_iterations, min_seconds, max_seconds)
    return benchmark(1, iterations)


@dataclass(frozen=True)
class Protocol:
    """The measurement settings of a run (--iterations, --warmup, --min-seconds)."""

    min_iterations: int = 200
    warmup: int = 20
    min_seconds: float = 1.0
    max_seconds: float = 10.0

    def time(self, benchmark: Callable[[int, int], Timing], on_cpu: bool = False) -> Timing:
        if on_cpu:  # one probe call: a bert-base CPU forward takes seconds
            return stable_timing(benchmark, self.min_iterations, min(self.warmup, CPU_WARMUP), self.min_seconds,
                                 self.max_seconds, probe_iterations=1)
        return stable_timing(benchmark, self.min_iterations, self.warmup, self.min_seconds, self.max_seconds)


def cuda_benchmark(fn: Callable[[], object]) -> Callable[[int, int], Timing]:
    """A `benchmark(warmup, iterations)` timing fn() with CUDA events on one stream."""
    import torch

    stream = torch.cuda.Stream()

    def benchmark(warmup: int, iterations: int) -> Timing:
        stream.wait_stream(torch.cuda.current_stream())  # inputs were made on the default stream
        with torch.cuda.stream(stream):
            for _ in range(warmup):
                fn()
            events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                      for _ in range(iterations)]
            for start, end in events:
                start.record(stream)
                fn()
                end.record(stream)
        stream.synchronize()
        return Timing.from_samples([s.elapsed_time(e) for s, e in events], torch.cuda.get_device_name())

    return benchmark


def cpu_benchmark(fn: Callable[[], object], device: str = "CPU") -> Callable[[int, int], Timing]:
    """The same for CPU work: the host clock around each call."""

    def benchmark(warmup: int, iterations: int) -> Timing:
        for _ in range(warmup):
            fn()
        samples = []
        for _ in range(iterations):
            started = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - started) * 1e3)
        return Timing.from_samples(samples, device)

    return benchmark


def cuda_graph(fn: Callable[[], object], warmup: int = 3):
    """fn captured into a CUDA graph (after a warm-up on a side stream, as capture requires):
    returns the graph's replay. fn must use static input tensors and no host synchronization."""
    import torch

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    torch.cuda.synchronize()
    return graph.replay


def latency_feed(batch: int, seq: int, vocab_size: int, seed: int = 0) -> dict:
    """The inputs every variant is timed on: full-length sequences (no padding, so packed
    engines do the same work as padded ones), random token ids, token type 0. int32, as the
    engines take them; PyTorch gets the same values."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {"input_ids": rng.integers(0, vocab_size, size=(batch, seq), dtype=np.int32),
            "token_type_ids": np.zeros((batch, seq), dtype=np.int32),
            "attention_mask": np.ones((batch, seq), dtype=np.int32)}
