"""The reference backend's Builder, BuilderConfig, OptimizationProfile and engine.

The same builder code (`builder.py`, `onnx2trt.py`'s config part) drives these and TensorRT's.
Building resolves each layer's precision the way the TensorRT builder is told to (builder flags,
layer precisions, OBEY_PRECISION_CONSTRAINTS), runs INT8 calibration through the calibrator's own
`get_batch`, and returns an engine that executes the network on the CPU with that precision
emulated:
  - FLOAT: float32 math.
  - HALF:  float inputs rounded to fp16, float32 math, outputs rounded to fp16 (how tensor-core
           GEMMs and fp16 kernels with fp32 accumulation behave; reductions inside a layer are
           not rounded, so this slightly under-states fp16 error).
  - INT8:  (layers pinned to INT8: the linear layers) every input fake-quantized per tensor
           with its dynamic range (amax / 127): calibrated for activations, the largest weight
           for weights (bertrt/precision.py sets those); float32 accumulation. A plugin pinned to
           INT8 (SkipLayerNorm's int8_residual) quantizes only the inputs and outputs its formats
           make INT8 (RefPlugin.int8_inputs/int8_outputs), with their calibrated ranges; its
           kernel's arithmetic is fp32. Fake quantization clamps to [-127, 127] (TensorRT: [-128,
           127]; they differ only for values below -amax).
"""
from __future__ import annotations

import ctypes

import numpy as np

from bertrt.engine_config import profile_violation
from bertrt.refnet import network as refnetwork
from bertrt.refnet.network import RefNetwork, RefNetworkError, Recorded, enum_name, is_float
from bertrt.refnet.plugins import RefPluginRegistry, fp16_round


class ShapeOutOfProfile(ValueError):
    pass


class RefOptimizationProfile(Recorded):
    _TRT_NAME = "IOptimizationProfile"

    def __init__(self):
        self._shapes: dict[str, tuple[tuple[int, ...], ...]] = {}

    def set_shape(self, input: str, min, opt, max) -> None:  # noqa: A002 (TensorRT's keywords)
        shapes = tuple(tuple(int(d) for d in s) for s in (min, opt, max))
        if not all(lo <= mid <= hi for lo, mid, hi in zip(*shapes)):
            raise ValueError(f"profile for {input}: need min <= opt <= max, got {shapes}")
        self._shapes[input] = shapes

    def get_shape(self, input: str):  # noqa: A002
        return list(self._shapes[input])


class RefTimingCache(Recorded):
    """The reference backend times no kernels: its timing cache only carries bytes through."""

    _TRT_NAME = "ITimingCache"

    def __init__(self, data: bytes):
        self._data = bytes(data)

    def serialize(self) -> bytes:
        return self._data


class RefBuilderConfig(Recorded):
    _TRT_NAME = "IBuilderConfig"

    def __init__(self):
        self._flags: set[str] = set()
        self._profiles: list[RefOptimizationProfile] = []
        self._calibration_profile: RefOptimizationProfile | None = None
        self._pool_limits: dict[str, int] = {}
        self._timing_cache: RefTimingCache | None = None
        self.int8_calibrator = None
        self.profiling_verbosity = None

    def set_flag(self, flag) -> None:
        self._flags.add(enum_name(flag))

    def clear_flag(self, flag) -> None:
        self._flags.discard(enum_name(flag))

    def get_flag(self, flag) -> bool:
        return enum_name(flag) in self._flags

    def set_memory_pool_limit(self, pool, pool_size: int) -> None:
        self._pool_limits[enum_name(pool)] = int(pool_size)

    def add_optimization_profile(self, profile: RefOptimizationProfile) -> int:
        self._profiles.append(profile)
        return len(self._profiles) - 1

    def set_calibration_profile(self, profile: RefOptimizationProfile) -> bool:
        self._calibration_profile = profile
        return True

    def get_calibration_profile(self):
        return self._calibration_profile

    def create_timing_cache(self, serialized_timing_cache: bytes) -> RefTimingCache:
        return RefTimingCache(serialized_timing_cache)

    def set_timing_cache(self, cache: RefTimingCache, ignore_mismatch: bool) -> bool:
        self._timing_cache = cache
        return True

    def get_timing_cache(self) -> RefTimingCache | None:
        return self._timing_cache


class RefBuilder(Recorded):
    _TRT_NAME = "Builder"

    def __init__(self, trt_module, logger=None):
        self._trt = trt_module
        self.logger = logger

    def create_network(self, flags: int = 0) -> RefNetwork:
        return RefNetwork(self._trt)

    def create_builder_config(self) -> RefBuilderConfig:
        return RefBuilderConfig()

    def create_optimization_profile(self) -> RefOptimizationProfile:
        return RefOptimizationProfile()

    @property
    def platform_has_fast_fp16(self) -> bool:
        return True

    def build_serialized_network(self, network: RefNetwork, config: RefBuilderConfig) -> "RefEngine":
        if not network._outputs:
            raise RefNetworkError("network has no outputs: mark_output() was never called")
        if not config._profiles:
            raise RefNetworkError("dynamic-shape inputs need an optimization profile")
        for tensor in network._inputs:
            if -1 in tensor.shape and tensor.name not in config._profiles[0]._shapes:
                raise RefNetworkError(f"optimization profile has no shapes for input {tensor.name!r}")
        if "INT8" in config._flags:
            _apply_int8_scales(network, config, self._trt)
        return RefEngine(network, config)  # after calibration: precisions depend on the ranges


def _layer_precision(layer, flags: set[str]) -> str:
    """The precision a layer runs in, by the rules the TensorRT builder is given."""
    if not any(is_float(t.dtype) for t in layer._outputs):
        return "FLOAT"  # integer / shape computations: precision does not apply
    if layer.precision_is_set and flags & {"OBEY_PRECISION_CONSTRAINTS", "PREFER_PRECISION_CONSTRAINTS"}:
        wanted = enum_name(layer._precision)
        if wanted == "INT8":
            if "INT8" not in flags:
                raise RefNetworkError(f"layer {layer.name!r} is constrained to INT8 but BuilderFlag.INT8 is off")
            unscaled = [t.name for t in _int8_tensors(layer) if t._dynamic_range is None
                        and not isinstance(t._producer, refnetwork.RefConstantLayer)]
            if unscaled:  # TensorRT falls back to a float precision too (with a warning)
                return "HALF" if "FP16" in flags else "FLOAT"
        return wanted
    return "HALF" if "FP16" in flags else "FLOAT"


def _int8_tensors(layer) -> list:
    """The tensors an INT8 layer needs scales for: every input, or for a plugin the inputs and
    outputs its formats make INT8."""
    if isinstance(layer, refnetwork.RefPluginV3Layer):
        plugin = layer._plugin
        return [layer._inputs[i] for i in plugin.int8_inputs] + [layer._outputs[o] for o in plugin.int8_outputs]
    return list(layer._inputs)


def _topological_order(network: RefNetwork) -> list:
    """Layers in an order where every input is computed first. Like TensorRT, the network may
    add a layer before the one feeding it (e.g. a slice whose size input is set afterwards)."""
    producer = {id(t): layer for layer in network._layers for t in layer._outputs}
    order, state = [], {}

    def visit(layer):
        if state.get(id(layer)) == "done":
            return
        if state.get(id(layer)) == "visiting":
            raise RefNetworkError(f"layer {layer.name!r} is part of a cycle")
        state[id(layer)] = "visiting"
        for tensor in layer._inputs:
            if tensor is not None and id(tensor) in producer:
                visit(producer[id(tensor)])
        state[id(layer)] = "done"
        order.append(layer)

    for layer in network._layers:
        visit(layer)
    return order


def _round(array: np.ndarray, precision: str) -> np.ndarray:
    return fp16_round(array) if precision == "HALF" and array.dtype == np.float32 else array


def _fake_quantize(array: np.ndarray, amax: np.ndarray | float) -> np.ndarray:
    scale = np.maximum(np.asarray(amax, dtype=np.float32), np.float32(1e-12)) / 127
    return (np.clip(np.round(array / scale), -127, 127) * scale).astype(np.float32)


class RefEngine:
    """An executable network with each layer's precision fixed at build time."""

    def __init__(self, network: RefNetwork, config: RefBuilderConfig):
        self.network = network
        self.flags = frozenset(config._flags)
        self.profile = dict(config._profiles[0]._shapes)
        self.precisions = {layer.name: _layer_precision(layer, set(self.flags)) for layer in network._layers}
        self.order = _topological_order(network)
        self.nbytes = sum(layer._array.nbytes for layer in network._layers
                          if isinstance(layer, refnetwork.RefConstantLayer))

    def check_shapes(self, feed: dict[str, np.ndarray]) -> None:
        for tensor in self.network._inputs:
            if tensor.name not in feed:
                raise ShapeOutOfProfile(f"missing input {tensor.name!r}")
            if tensor.name in self.profile:
                low, _, high = self.profile[tensor.name]
                problem = profile_violation(tensor.name, feed[tensor.name].shape, low, high)
                if problem:
                    raise ShapeOutOfProfile(problem)

    def execute(self, feed: dict[str, np.ndarray], keep_all: bool = False) -> dict[str, np.ndarray]:
        """Run the network. Returns the outputs by name (every tensor by name with keep_all)."""
        self.check_shapes(feed)
        values: dict[int, np.ndarray] = {}
        for tensor in self.network._inputs:
            values[id(tensor)] = np.asarray(feed[tensor.name])
        for layer in self.order:
            precision = self.precisions[layer.name]
            inputs = [values[id(t)] if t is not None else None for t in layer._inputs]
            int8_plugin = precision == "INT8" and isinstance(layer, refnetwork.RefPluginV3Layer)
            if int8_plugin:
                inputs = [_fake_quantize(v, _amax(layer._inputs[i])) if i in layer._plugin.int8_inputs else v
                          for i, v in enumerate(inputs)]
            elif precision == "INT8":
                inputs = self._quantize_inputs(layer, inputs)
            elif precision == "HALF":
                inputs = [_round(v, "HALF") if v is not None else None for v in inputs]
            if isinstance(layer, refnetwork.RefPluginV3Layer):
                layer._half_io = precision == "HALF"
            outputs = layer._run(inputs)
            # An INT8 GEMM writes its result in the best float type the flags allow.
            output_precision = "HALF" if precision == "HALF" or (
                precision == "INT8" and "FP16" in self.flags) else "FLOAT"
            for index, (tensor, value) in enumerate(zip(layer._outputs, outputs)):
                if int8_plugin and index in layer._plugin.int8_outputs:
                    value = _fake_quantize(np.asarray(value, dtype=np.float32), _amax(tensor))
                elif is_float(tensor.dtype):
                    value = _round(np.asarray(value, dtype=np.float32), output_precision)
                    if index in layer._output_types:
                        value = _round(value, enum_name(layer._output_types[index]))
                values[id(tensor)] = value
        by_name = {}
        for layer in self.network._layers if keep_all else []:
            for tensor in layer._outputs:
                by_name[tensor.name] = values[id(tensor)]
        for tensor in self.network._outputs:
            by_name[tensor.name] = values[id(tensor)]
        return by_name

    @staticmethod
    def _quantize_inputs(layer, inputs):
        quantized = []
        for tensor, value in zip(layer._inputs, inputs):
            if tensor._dynamic_range is not None:  # activations, and weights given a range
                low, high = tensor._dynamic_range
                quantized.append(_fake_quantize(value, max(abs(low), abs(high))))
            elif isinstance(tensor._producer, refnetwork.RefConstantLayer):
                # Weights without a range: symmetric per output channel.
                transposed = enum_name(layer.op1) == "TRANSPOSE" if tensor is layer._inputs[1] else False
                axis = -2 if transposed else -1
                reduce_axes = tuple(a for a in range(value.ndim) if a != value.ndim + axis)
                quantized.append(_fake_quantize(value, np.abs(value).max(axis=reduce_axes, keepdims=True)))
            else:
                raise RefNetworkError(f"layer {layer.name!r} runs INT8 but {tensor.name!r} has no dynamic range")
        return quantized


def _amax(tensor) -> float:
    low, high = tensor._dynamic_range
    return max(abs(low), abs(high))


def _read_host_buffer(pointer: int, shape: tuple[int, ...], dtype) -> np.ndarray:
    """Read a calibration batch the way TensorRT reads device memory, from the host pointer the
    calibrator returns (the reference backend's calibrator keeps its buffers on the CPU)."""
    count = int(np.prod(shape))
    ctype = {np.dtype(np.int32): ctypes.c_int32, np.dtype(np.float32): ctypes.c_float}[np.dtype(dtype)]
    return np.ctypeslib.as_array((ctype * count).from_address(int(pointer))).reshape(shape).copy()


def _calibration_algorithm(calibrator, trt) -> str:
    """'entropy' or 'minmax': the project's calibrators say it (`kind`: they also exist without
    TensorRT's classes); any other calibrator by the TensorRT base class it derives from."""
    kind = getattr(calibrator, "kind", None)
    if kind:
        return kind
    for base, algorithm in (("IInt8MinMaxCalibrator", "minmax"), ("IInt8EntropyCalibrator2", "entropy")):
        if hasattr(trt, base) and isinstance(calibrator, getattr(trt, base)):
            return algorithm
    raise RefNetworkError(f"calibrator {type(calibrator).__name__}: the reference backend calibrates with "
                          "IInt8EntropyCalibrator2 or IInt8MinMaxCalibrator only")


def _apply_int8_scales(network: RefNetwork, config: RefBuilderConfig, trt) -> None:
    """Calibrate (or read the calibrator's cache) and set every tensor's dynamic range."""
    from bertrt import entropy

    calibrator = config.int8_calibrator
    if calibrator is None:
        return  # ranges set by hand (tensor.dynamic_range) are used as they are
    algorithm = _calibration_algorithm(calibrator, trt)
    cache = calibrator.read_calibration_cache()
    if cache:
        _, scales = entropy.read_cache(bytes(cache))
    else:
        # Like TensorRT: batches have the calibration profile's shapes, not the main profile's.
        profile = config.get_calibration_profile() or config._profiles[0]
        names = [t.name for t in network._inputs]
        missing = [name for name in names if name not in profile._shapes]
        if missing:
            raise RefNetworkError(f"calibration profile has no shapes for input(s) {missing}")
        collector = entropy.HistogramCollector()
        # Histograms only of what gets quantized: the inputs of matrix multiplies, and the INT8
        # inputs and outputs of plugins that have them.
        watched = {t.name for layer in network._layers
                   if isinstance(layer, (refnetwork.RefMatrixMultiplyLayer, refnetwork.RefPluginV3Layer))
                   for t in _int8_tensors(layer)
                   if not isinstance(t._producer, refnetwork.RefConstantLayer)}
        fp32_engine = RefEngine(network, _fp32_config(profile))
        while (pointers := calibrator.get_batch(names)) is not None:
            feed = {t.name: _read_host_buffer(p, profile.get_shape(t.name)[1], refnetwork._NUMPY[enum_name(t.dtype)])
                    for t, p in zip(network._inputs, pointers)}
            for name, value in fp32_engine.execute(feed, keep_all=True).items():
                if name in watched:
                    collector.add(name, value)
        amax = collector.thresholds(algorithm)
        scales = {name: entropy.amax_to_scale(value) for name, value in amax.items()}
        calibrator.write_calibration_cache(entropy.write_cache(scales, algorithm))
    tensors = {t.name: t for layer in network._layers for t in layer._outputs}
    tensors.update({t.name: t for t in network._inputs})
    for name, scale in scales.items():
        if name in tensors:
            amax = scale * 127.0
            tensors[name]._dynamic_range = (-amax, amax)


def _fp32_config(profile: RefOptimizationProfile) -> RefBuilderConfig:
    """The calibration run's config: no precision flags, and the profile it checks batches against."""
    plain = RefBuilderConfig()
    plain._profiles = [profile]
    return plain


class RefRuntimeBackend:
    """What `bertrt.backend` needs from the reference backend."""

    def __init__(self, trt_module):
        self.trt = trt_module
        self.registry = RefPluginRegistry()

    def builder(self, logger=None) -> RefBuilder:
        return RefBuilder(self.trt, logger)
