"""Where a network is built and run: TensorRT on a GPU, or the reference backend on the CPU.

Both expose the same builder objects (Builder, network, config, profile), so `builder.py` and
`onnx2trt.py` run the same code on either; only building and running the result differ.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bertrt.common import UserError, atomic_write_bytes
from bertrt.trt_api import INSTALL_HINT, require_runtime, runtime_problem, trt, trt_version

PLUGIN_LIBRARY = Path(__file__).resolve().parent.parent / "plugins" / "build" / "libbert_plugins.so"
PLUGIN_BUILD_HINT = ("build it with: cmake -S plugins -B plugins/build && cmake --build plugins/build -j "
                     "(TensorRT headers needed; see plugins/README.md)")


_plugin_library_handle = None  # TensorRT's plugin registry is per process: load the library once


class TensorRTBackend:
    name = "tensorrt"

    def __init__(self, alternative: str = ""):
        require_runtime(alternative)
        self.trt = trt
        self.logger = trt.Logger(trt.Logger.WARNING)

    def builder(self):
        return trt.Builder(self.logger)

    def plugin_registry(self):
        """TensorRT's registry with our plugin library loaded. Loading it a second time would
        fail ("any of the plugins already registered"), so the handle is kept per process."""
        global _plugin_library_handle
        registry = trt.get_plugin_registry()
        if _plugin_library_handle is None:
            if not PLUGIN_LIBRARY.exists():
                raise UserError(f"{PLUGIN_LIBRARY} not found: {PLUGIN_BUILD_HINT}")
            _plugin_library_handle = registry.load_library(str(PLUGIN_LIBRARY))
            if _plugin_library_handle is None:
                raise UserError(f"TensorRT could not load {PLUGIN_LIBRARY}: rebuild it against this TensorRT")
        return registry

    def build(self, builder, network, config, engine_path: Path, metadata: dict):
        """Build, then write the engine and its metadata atomically (a failed build writes nothing)."""
        started = time.perf_counter()
        serialized = builder.build_serialized_network(network, config)
        seconds = time.perf_counter() - started
        if serialized is None:
            raise UserError("TensorRT failed to build the engine (see the log above); nothing was written")
        data = bytes(serialized)
        import torch

        metadata = dict(metadata, tensorrt=trt_version(), gpu=torch.cuda.get_device_name(),
                        build_seconds=round(seconds, 2), engine_bytes=len(data))
        atomic_write_bytes(engine_path, data)
        atomic_write_bytes(metadata_path(engine_path), json.dumps(metadata, indent=2).encode())
        return engine_path, seconds

    def runner(self, engine_path: Path):
        from bertrt.runtime import TensorRTRunner

        return TensorRTRunner(engine_path, self)


class ReferenceBackend:
    name = "reference"

    def __init__(self):
        from bertrt.refnet.builder import RefRuntimeBackend
        from trt_helper import trt as names

        self._ref = RefRuntimeBackend(names)
        self.trt = names

    def builder(self):
        return self._ref.builder()

    def plugin_registry(self):
        return self._ref.registry

    def build(self, builder, network, config, engine_path: Path | None, metadata: dict):
        """The reference 'engine' lives in memory: nothing is written."""
        started = time.perf_counter()
        engine = builder.build_serialized_network(network, config)
        return engine, time.perf_counter() - started

    def runner(self, engine):
        from bertrt.runtime import ReferenceRunner

        return ReferenceRunner(engine)


def metadata_path(engine_path: Path) -> Path:
    return Path(str(engine_path) + ".json")


def engine_metadata(builder_kind: str, mode: str, profile, fusions=None, dims=None) -> dict:
    """What an engine's .json says about how it was built, with the same keys whichever script
    built it (TensorRTBackend.build adds the TensorRT version, the GPU, the build time and the
    size): builder ("hand-built" or "onnx-parser"), mode (precision), fusions (builder.Fusions'
    label; "none" for the ONNX parser), plugins (whether the plugin library must be loaded before
    the engine deserializes: what TensorRTRunner reads), profile (the shape profile), dims (the
    model's BertDims as a dict, or None where the builder did not read them)."""
    return {"builder": builder_kind, "mode": mode,
            "fusions": fusions.label() if fusions is not None else "none",
            "plugins": bool(fusions is not None and fusions.plugins),
            "profile": asdict(profile), "dims": asdict(dims) if dims is not None else None}


def select_backend(requested: str):
    """'tensorrt', 'reference', or 'auto' (TensorRT when it can run here, else the reference
    backend, saying so)."""
    if requested == "reference":
        return ReferenceBackend()
    if requested == "tensorrt":
        return TensorRTBackend(alternative="use --backend reference to run the network on the CPU")
    problem = runtime_problem()
    if problem is None:
        return TensorRTBackend()
    print(f"note: {problem}; running the reference backend on the CPU instead "
          f"(accuracy only, no TensorRT latency). To use TensorRT: {INSTALL_HINT}", file=sys.stderr)
    return ReferenceBackend()
