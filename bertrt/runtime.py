"""Running engines: TensorRT 10 with torch CUDA tensors as buffers (no pycuda), or the reference
backend on the CPU; both with `infer()` and `benchmark()`.

TensorRT 10's execution API: name every I/O tensor (`set_input_shape`, `set_tensor_address`),
then `execute_async_v3(stream)`. Timing: CUDA events on the engine's stream, warm-up first,
then per-iteration times, reported as median / p90 / p99.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bertrt.common import UserError
from bertrt.engine_config import profile_violation


@dataclass
class Timing:
    median_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    iterations: int
    device: str

    @classmethod
    def from_samples(cls, samples_ms: list[float], device: str) -> "Timing":
        s = np.asarray(samples_ms, dtype=np.float64)
        return cls(float(np.median(s)), float(np.percentile(s, 90)), float(np.percentile(s, 99)),
                   float(s.mean()), len(s), device)

    def line(self) -> str:
        return (f"median {self.median_ms:.3f} ms, p90 {self.p90_ms:.3f}, p99 {self.p99_ms:.3f} "
                f"({self.iterations} iterations, {self.device})")


# --- packed (variable sequence length) batches ------------------------------------------------

def pack(feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A right-padded batch -> the real tokens back to back, with cumulative offsets."""
    mask = feed["attention_mask"].astype(bool)
    lengths = mask.sum(axis=1)
    if not np.array_equal(mask, np.arange(mask.shape[1])[None, :] < lengths[:, None]):
        raise UserError("packed engines need right-padded batches (ones, then zeros in attention_mask)")
    cu_seqlens = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return {"input_ids": feed["input_ids"][mask].astype(np.int32),
            "token_type_ids": feed["token_type_ids"][mask].astype(np.int32),
            "cu_seqlens": cu_seqlens,
            "max_seqlen": np.zeros(int(lengths.max()), dtype=np.int32)}  # only its shape is read


def unpack(packed_rows: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """[tokens, ...] -> [batch, seq, ...] with zeros where the batch had padding."""
    mask = attention_mask.astype(bool)
    out = np.zeros(mask.shape + packed_rows.shape[1:], dtype=packed_rows.dtype)
    out[mask] = packed_rows
    return out


# --- TensorRT -----------------------------------------------------------------------------------

class TensorRTRunner:
    def __init__(self, engine_path: Path, backend):
        import torch

        from bertrt.backend import metadata_path
        from bertrt.trt_api import trt, trt_version

        engine_path = Path(engine_path)
        if not engine_path.exists():
            raise UserError(f"{engine_path} not found: build it with builder.py or onnx2trt.py")
        meta_file = metadata_path(engine_path)
        self.metadata = json.loads(meta_file.read_text()) if meta_file.exists() else {}
        gpu = torch.cuda.get_device_name()
        built_for = (self.metadata.get("tensorrt"), self.metadata.get("gpu"))
        if self.metadata and built_for != (trt_version(), gpu):
            raise UserError(f"{engine_path} was built with TensorRT {built_for[0]} on {built_for[1]}, this is "
                            f"TensorRT {trt_version()} on {gpu}: rebuild it (engines are not portable)")
        if self.metadata.get("plugins"):
            backend.plugin_registry()  # the plugin library must be loaded before deserializing
        self.trt = trt
        runtime = trt.Runtime(backend.logger)
        self.engine = runtime.deserialize_cuda_engine(engine_path.read_bytes())
        if self.engine is None:
            raise UserError(f"TensorRT could not deserialize {engine_path} (another TensorRT version or GPU?): "
                            "rebuild it")
        self.context = self.engine.create_execution_context()
        self.stream = torch.cuda.Stream()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        self.input_names = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self.output_names = [n for n in names if n not in self.input_names]
        self._alive = []

    def _bind(self, feed: dict[str, np.ndarray]) -> dict:
        import torch

        trt = self.trt
        torch_types = {trt.DataType.FLOAT: torch.float32, trt.DataType.HALF: torch.float16,
                       trt.DataType.INT32: torch.int32, trt.DataType.INT64: torch.int64}
        self._alive = []
        for name in self.input_names:
            if name not in feed:
                raise UserError(f"engine input {name!r} missing (the engine expects {self.input_names})")
            low, _, high = self.engine.get_tensor_profile_shape(name, 0)
            problem = profile_violation(name, feed[name].shape, low, high)
            if problem:
                raise UserError(problem)
            dtype = torch_types[self.engine.get_tensor_dtype(name)]
            tensor = torch.from_numpy(np.ascontiguousarray(feed[name])).to("cuda", dtype)
            if not self.context.set_input_shape(name, tuple(tensor.shape)):
                raise UserError(f"TensorRT refused shape {tuple(tensor.shape)} for input {name!r}")
            self._set_address(name, tensor)
        outputs = {}
        for name in self.output_names:
            shape = tuple(self.context.get_tensor_shape(name))
            tensor = torch.empty(shape, dtype=torch_types[self.engine.get_tensor_dtype(name)], device="cuda")
            self._set_address(name, tensor)
            outputs[name] = tensor
        return outputs

    def _set_address(self, name: str, tensor) -> None:
        """Bind a buffer and keep it alive: TensorRT writes to it until the next _bind."""
        if not self.context.set_tensor_address(name, tensor.data_ptr()):
            raise RuntimeError(f"TensorRT refused the buffer of {name!r}")
        self._alive.append(tensor)

    def _execute(self) -> None:
        if not self.context.execute_async_v3(self.stream.cuda_stream):
            raise RuntimeError("execute_async_v3 failed (see the TensorRT log)")

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = self._bind(feed)
        self._execute()
        self.stream.synchronize()
        return {name: t.float().cpu().numpy() for name, t in outputs.items()}

    def benchmark(self, feed: dict[str, np.ndarray], warmup: int = 20, iterations: int = 200) -> Timing:
        import torch

        self._bind(feed)
        for _ in range(warmup):
            self._execute()
        events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                  for _ in range(iterations)]
        with torch.cuda.stream(self.stream):
            for start, end in events:
                start.record(self.stream)
                self._execute()
                end.record(self.stream)
        self.stream.synchronize()
        return Timing.from_samples([s.elapsed_time(e) for s, e in events], torch.cuda.get_device_name())


# --- reference backend --------------------------------------------------------------------------

class ReferenceRunner:
    def __init__(self, engine):
        self.engine = engine

    def infer(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from bertrt.refnet.builder import ShapeOutOfProfile

        try:
            return self.engine.execute(feed)
        except ShapeOutOfProfile as err:
            raise UserError(str(err))

    def benchmark(self, feed: dict[str, np.ndarray], warmup: int = 1, iterations: int = 3) -> Timing:
        """Wall-clock of the numpy execution: useful to compare CPU runs, not a TensorRT latency.
        A few iterations only: numpy on a CPU takes seconds per BERT-base batch."""
        self.infer(feed)
        iterations = min(iterations, 3)
        samples = []
        for _ in range(max(1, iterations)):
            started = time.perf_counter()
            self.engine.execute(feed)
            samples.append((time.perf_counter() - started) * 1e3)
        return Timing.from_samples(samples, "reference backend, CPU numpy")
