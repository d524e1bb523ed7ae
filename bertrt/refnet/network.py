"""A reference `INetworkDefinition`: the subset this project uses, with TensorRT's rules, run on CPU.

Why: TensorRT cannot run everywhere (not in CI, not on a laptop), but the network we assemble by
hand can still be checked layer by layer. Each class mirrors a TensorRT class (`_TRT_NAME`) and
enforces the rules that make hand-built networks fail on a real builder: elementwise inputs of
equal rank (broadcast only over size-1 dims), matrix-multiply ranks, shuffle placeholders (`0`
copies a dim, one `-1`), axes given as bitmasks, constants whose weight count matches the shape,
dtype agreement. Execution is numpy in float32; precision (FP16 rounding, INT8 fake-quantization)
is applied by the engine in `refnet.builder`, following the builder flags and layer precisions.

Every public attribute read or written and every keyword passed is logged in `API_USAGE`, so a
test can check each one exists in the real TensorRT bindings (tests/test_trt_conformance.py).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from bertrt.refnet import plugins as ref_plugins

# (TensorRT class name, member, keywords) for every public use; see module docstring.
API_USAGE: set[tuple[str, str, tuple[str, ...]]] = set()


class RefNetworkError(ValueError):
    """A network TensorRT would reject; the message says which layer and why."""


def enum_name(value) -> str:
    """Enum member name, for TensorRT's own enums and the shim's alike."""
    return value.name


def volume(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if len(shape) else 1


class Recorded:
    """Logs public member use into API_USAGE under the TensorRT class name."""

    _TRT_NAME = "?"

    def __getattribute__(self, name):
        value = object.__getattribute__(self, name)
        if name.startswith("_"):
            return value
        trt_name = object.__getattribute__(self, "_TRT_NAME")
        if callable(value) and not isinstance(value, type):
            def logged(*args, **kwargs):
                API_USAGE.add((trt_name, name, tuple(sorted(kwargs))))
                return value(*args, **kwargs)
            return logged
        API_USAGE.add((trt_name, name, ()))
        return value

    def __setattr__(self, name, value):
        if not name.startswith("_"):
            API_USAGE.add((object.__getattribute__(self, "_TRT_NAME"), name, ()))
        object.__setattr__(self, name, value)


# ---------------------------------------------------------------------------------------------
# Data types

_FLOAT_TYPES = ("FLOAT", "HALF", "BF16")
_NUMPY = {"FLOAT": np.float32, "HALF": np.float32, "BF16": np.float32, "INT8": np.float32,
          "INT32": np.int32, "INT64": np.int64, "BOOL": np.bool_}


def _dtype_from_numpy(trt, array: np.ndarray):
    name = {np.dtype(np.float32): "FLOAT", np.dtype(np.float16): "HALF",
            np.dtype(np.int32): "INT32", np.dtype(np.int64): "INT64",
            np.dtype(np.bool_): "BOOL"}.get(array.dtype)
    if name is None:
        raise RefNetworkError(f"constant of numpy dtype {array.dtype} has no TensorRT type")
    return getattr(trt.DataType, name)


def is_float(dtype) -> bool:
    return enum_name(dtype) in _FLOAT_TYPES


# ---------------------------------------------------------------------------------------------
# Tensors and layers


class RefTensor(Recorded):
    _TRT_NAME = "ITensor"

    def __init__(self, name: str, dtype, shape: tuple[int, ...], producer: "RefLayer | None"):
        self.name = name
        self._dtype = dtype
        self._shape = tuple(int(d) for d in shape)
        self._producer = producer
        self._is_input = producer is None
        self._is_output = False
        self._dynamic_range: tuple[float, float] | None = None

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def is_network_input(self) -> bool:
        return self._is_input

    @property
    def is_network_output(self) -> bool:
        return self._is_output

    @property
    def dynamic_range(self):
        return self._dynamic_range

    @dynamic_range.setter
    def dynamic_range(self, value):
        low, high = value
        self._dynamic_range = (float(low), float(high))

    def set_dynamic_range(self, min: float, max: float) -> bool:  # noqa: A002 (TensorRT's names)
        self._dynamic_range = (float(min), float(max))
        return True

    def __repr__(self):
        return f"RefTensor({self.name!r}, {enum_name(self._dtype)}, {self._shape})"


class RefLayer(Recorded):
    """Base of every layer. Subclasses define `_infer()` (output dtypes/shapes, may be -1) and
    `_run(values)` (numpy in, numpy out), and check TensorRT's rules when created."""

    _TRT_NAME = "ILayer"
    _TYPE = ""

    def __init__(self, network: "RefNetwork", inputs: list[RefTensor | None], num_outputs: int = 1):
        self._network = network
        self._inputs = list(inputs)
        self._index = len(network._layers)
        self._precision = None
        self._output_types: dict[int, object] = {}
        self._outputs = [RefTensor("", None, (), self) for _ in range(num_outputs)]
        self._name = f"(Unnamed Layer* {self._index}) [{self._TYPE.title().replace('_', '')}]"
        self._check()
        self._update_outputs()
        for i, t in enumerate(self._outputs):
            object.__setattr__(t, "name", f"{self._name}_output" + (f"_{i}" if num_outputs > 1 else ""))

    # TensorRT's ILayer members ---------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str):
        self._name = value

    @property
    def type(self):
        return getattr(self._network._trt.LayerType, self._TYPE)

    @property
    def num_inputs(self) -> int:
        return len(self._inputs)

    @property
    def num_outputs(self) -> int:
        return len(self._outputs)

    def get_input(self, index: int) -> RefTensor | None:
        return self._inputs[index]

    def get_output(self, index: int) -> RefTensor:
        return self._outputs[index]

    def set_input(self, index: int, tensor: RefTensor) -> None:
        while len(self._inputs) <= index:
            self._inputs.append(None)
        self._inputs[index] = tensor
        self._check()
        self._update_outputs()

    @property
    def precision(self):
        return self._precision if self._precision is not None else self._network._trt.DataType.FLOAT

    @precision.setter
    def precision(self, dtype):
        self._precision = dtype

    @property
    def precision_is_set(self) -> bool:
        return self._precision is not None

    def reset_precision(self) -> None:
        self._precision = None

    def set_output_type(self, index: int, dtype) -> None:
        self._output_types[index] = dtype

    def get_output_type(self, index: int):
        return self._output_types.get(index, self._outputs[index].dtype)

    def output_type_is_set(self, index: int) -> bool:
        return index in self._output_types

    # Implementation --------------------------------------------------------------------------
    def _fail(self, why: str):
        raise RefNetworkError(f"layer {self._name!r} ({self._TYPE}): {why}")

    def _check(self):
        pass

    def _update_outputs(self):
        for tensor, (dtype, shape) in zip(self._outputs, self._infer()):
            tensor._dtype, tensor._shape = dtype, tuple(int(d) for d in shape)

    def _infer(self) -> list[tuple[object, tuple[int, ...]]]:
        raise NotImplementedError

    def _run(self, values: list[np.ndarray | None]) -> list[np.ndarray]:
        raise NotImplementedError

    @property
    def _first(self) -> RefTensor:
        return self._inputs[0]


def _broadcast_dims(layer: RefLayer, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """TensorRT broadcast: equal ranks; per dim equal, or one of them 1 (-1: unknown yet)."""
    if len(a) != len(b):
        layer._fail(f"input ranks differ ({len(a)} vs {len(b)}); TensorRT broadcasts only between "
                    "tensors of equal rank: reshape the smaller one with leading 1s")
    out = []
    for x, y in zip(a, b):
        if x == 1:
            out.append(y)
        elif y == 1 or x == y:
            out.append(x)
        elif x == -1 or y == -1:
            out.append(max(x, y))  # the known dim: the unknown one can only be 1 or equal to it
        else:
            layer._fail(f"dims {a} and {b} do not broadcast")
    return tuple(out)


def _axes_from_mask(layer: RefLayer, mask: int, rank: int) -> tuple[int, ...]:
    if mask <= 0 or mask >> rank:
        layer._fail(f"axes bitmask {mask:#b} does not fit a rank-{rank} tensor")
    return tuple(i for i in range(rank) if mask >> i & 1)


class RefConstantLayer(RefLayer):
    _TRT_NAME, _TYPE = "IConstantLayer", "CONSTANT"

    def __init__(self, network, shape, weights):
        array = weights.numpy() if hasattr(weights, "numpy") else np.asarray(weights)
        self._shape_value = tuple(int(d) for d in shape)
        if array.size != volume(self._shape_value):
            raise RefNetworkError(f"constant of shape {self._shape_value} given {array.size} weights")
        self._array = np.ascontiguousarray(array).reshape(self._shape_value)
        self._trt_dtype = _dtype_from_numpy(network._trt, self._array)
        super().__init__(network, [])

    @property
    def weights(self):
        return self._network._trt.Weights(self._array)

    def _infer(self):
        return [(self._trt_dtype, self._shape_value)]

    def _run(self, values):
        return [self._array.astype(_NUMPY[enum_name(self._trt_dtype)], copy=False)]


class RefElementWiseLayer(RefLayer):
    _TRT_NAME, _TYPE = "IElementWiseLayer", "ELEMENTWISE"
    _OPS = {"SUM": np.add, "PROD": np.multiply, "SUB": np.subtract, "DIV": np.divide,
            "MAX": np.maximum, "MIN": np.minimum, "POW": np.power,
            "EQUAL": np.equal, "GREATER": np.greater, "LESS": np.less,
            "AND": np.logical_and, "OR": np.logical_or}

    def __init__(self, network, a, b, op):
        self._op = enum_name(op)
        super().__init__(network, [a, b])

    @property
    def op(self):
        return getattr(self._network._trt.ElementWiseOperation, self._op)

    def _check(self):
        a, b = self._inputs
        # NvInfer.h, addElementWise: "Two types are compatible if they are the same type or are
        # both in the set {kFLOAT, kHALF}."
        types = {enum_name(a.dtype), enum_name(b.dtype)}
        if len(types) > 1 and not types <= {"FLOAT", "HALF"}:
            self._fail(f"input types {sorted(types)} are not compatible; cast one")
        if self._op not in self._OPS:
            self._fail(f"operation {self._op} not supported by the reference backend")

    def _infer(self):
        a, b = self._inputs
        shape = _broadcast_dims(self, a.shape, b.shape)
        dtype = b.dtype if enum_name(b.dtype) == "FLOAT" else a.dtype
        if self._op in ("EQUAL", "GREATER", "LESS"):
            dtype = self._network._trt.DataType.BOOL
        return [(dtype, shape)]

    def _run(self, values):
        a, b = values
        _broadcast_dims(self, a.shape, b.shape)  # runtime shapes must broadcast too
        if self._op == "DIV" and np.issubdtype(a.dtype, np.integer):
            return [np.trunc(a / b).astype(a.dtype)]
        return [self._OPS[self._op](a, b)]


class RefMatrixMultiplyLayer(RefLayer):
    _TRT_NAME, _TYPE = "IMatrixMultiplyLayer", "MATRIX_MULTIPLY"

    def __init__(self, network, a, op0, b, op1):
        self._ops = [enum_name(op0), enum_name(op1)]
        super().__init__(network, [a, b])

    @property
    def op0(self):
        return getattr(self._network._trt.MatrixOperation, self._ops[0])

    @property
    def op1(self):
        return getattr(self._network._trt.MatrixOperation, self._ops[1])

    def _matrix_dims(self, shape, op):
        rows, cols = shape[-2], shape[-1]
        return (cols, rows) if op == "TRANSPOSE" else (rows, cols)

    def _check(self):
        a, b = self._inputs
        if "VECTOR" in self._ops:
            self._fail("MatrixOperation.VECTOR is not used by this project's reference backend")
        if len(a.shape) != len(b.shape) or len(a.shape) < 2:
            self._fail(f"input ranks must be equal and >= 2, got {len(a.shape)} and {len(b.shape)}")
        if not (is_float(a.dtype) and is_float(b.dtype)):
            self._fail("matrix multiply takes floating-point inputs")
        k_a = self._matrix_dims(a.shape, self._ops[0])[1]
        k_b = self._matrix_dims(b.shape, self._ops[1])[0]
        if k_a != -1 and k_b != -1 and k_a != k_b:
            self._fail(f"inner dimensions differ: {a.shape} ({self._ops[0]}) x {b.shape} ({self._ops[1]})")

    def _infer(self):
        a, b = self._inputs
        batch = _broadcast_dims(self, a.shape[:-2], b.shape[:-2])
        m = self._matrix_dims(a.shape, self._ops[0])[0]
        n = self._matrix_dims(b.shape, self._ops[1])[1]
        return [(a.dtype, batch + (m, n))]

    def _run(self, values):
        a, b = values
        if self._ops[0] == "TRANSPOSE":
            a = np.swapaxes(a, -1, -2)
        if self._ops[1] == "TRANSPOSE":
            b = np.swapaxes(b, -1, -2)
        if a.shape[-1] != b.shape[-2]:
            self._fail(f"inner dimensions differ at run time: {a.shape} x {b.shape}")
        _broadcast_dims(self, a.shape[:-2], b.shape[:-2])
        return [np.matmul(a, b)]


class RefShuffleLayer(RefLayer):
    """transpose -> reshape -> transpose; input 1 (optional) is a shape tensor for the reshape."""

    _TRT_NAME, _TYPE = "IShuffleLayer", "SHUFFLE"

    def __init__(self, network, x):
        self._first_transpose: tuple[int, ...] | None = None
        self._reshape_dims: tuple[int, ...] | None = None
        self._second_transpose: tuple[int, ...] | None = None
        self._zero_is_placeholder = True
        super().__init__(network, [x])

    def _prop(name):  # noqa: N805  (property factory used in the class body)
        def get(self):
            return getattr(self, "_" + name)

        def set_(self, value):
            setattr(self, "_" + name, tuple(int(v) for v in value) if not isinstance(value, bool) else value)
            self._check()
            self._update_outputs()
        return property(get, set_)

    first_transpose = _prop("first_transpose")
    reshape_dims = _prop("reshape_dims")
    second_transpose = _prop("second_transpose")
    zero_is_placeholder = _prop("zero_is_placeholder")
    del _prop

    def _check_perm(self, perm, rank, which):
        if perm is not None and sorted(perm) != list(range(rank)):
            self._fail(f"{which} {perm} is not a permutation of a rank-{rank} tensor")

    def _reshape(self, in_shape, dims):
        """TensorRT reshape rules; in_shape may hold -1 (unknown until run time)."""
        dims = list(dims)
        if dims.count(-1) > 1:
            self._fail(f"reshape_dims {tuple(dims)} has more than one -1")
        out = []
        for i, d in enumerate(dims):
            if d == 0 and self._zero_is_placeholder:
                if i >= len(in_shape):
                    self._fail(f"reshape_dims {tuple(dims)}: 0 at index {i} copies a dim the input lacks")
                out.append(in_shape[i])
            else:
                out.append(d)
        if -1 in out:
            known = [d for d in out if d != -1]
            wildcard = out.index(-1)
            unknown_input = -1 in in_shape
            copied_unknown = any(d == -1 for i, d in enumerate(out) if i != wildcard)
            if not unknown_input and not copied_unknown:
                total, rest = volume(in_shape), volume(known)
                if rest == 0 or total % rest:
                    self._fail(f"cannot reshape {tuple(in_shape)} into {tuple(dims)}")
                out[wildcard] = total // rest
        elif -1 not in in_shape and volume(out) != volume(in_shape):
            self._fail(f"reshape {tuple(in_shape)} -> {tuple(out)} changes the volume")
        return tuple(out)

    def _check(self):
        rank = len(self._first.shape)
        self._check_perm(self._first_transpose, rank, "first_transpose")

    def _infer(self):
        shape = self._first.shape
        if self._first_transpose is not None:
            shape = tuple(shape[p] for p in self._first_transpose)
        if len(self._inputs) > 1 and self._inputs[1] is not None:
            shape = (-1,) * self._inputs[1].shape[0]
        elif self._reshape_dims is not None:
            shape = self._reshape(shape, self._reshape_dims)
        self._check_perm(self._second_transpose, len(shape), "second_transpose")
        if self._second_transpose is not None:
            shape = tuple(shape[p] for p in self._second_transpose)
        return [(self._first.dtype, shape)]

    def _run(self, values):
        x = values[0]
        if self._first_transpose is not None:
            x = np.transpose(x, self._first_transpose)
        if len(values) > 1 and values[1] is not None:
            x = x.reshape(self._reshape(x.shape, [int(v) for v in values[1]]))
        elif self._reshape_dims is not None:
            target = self._reshape(x.shape, self._reshape_dims)
            x = x.reshape(target)
        if self._second_transpose is not None:
            x = np.transpose(x, self._second_transpose)
        return [np.ascontiguousarray(x)]


class RefSoftMaxLayer(RefLayer):
    _TRT_NAME, _TYPE = "ISoftMaxLayer", "SOFTMAX"

    def __init__(self, network, x):
        rank = len(x.shape)
        self._axes = 1 << (rank - 3 if rank >= 3 else 0)  # TensorRT's documented default
        super().__init__(network, [x])

    @property
    def axes(self) -> int:
        return self._axes

    @axes.setter
    def axes(self, mask: int):
        axes = _axes_from_mask(self, mask, len(self._first.shape))
        if len(axes) != 1:
            self._fail(f"softmax takes exactly one axis, bitmask {mask:#b} has {len(axes)}")
        self._axes = mask

    def _infer(self):
        return [(self._first.dtype, self._first.shape)]

    def _run(self, values):
        axis = _axes_from_mask(self, self._axes, values[0].ndim)[0]
        x = values[0] - values[0].max(axis=axis, keepdims=True)
        e = np.exp(x)
        return [e / e.sum(axis=axis, keepdims=True)]


class RefNormalizationLayer(RefLayer):
    """y = (x - mean) / sqrt(var + epsilon) * scale + bias over the axes of the bitmask."""

    _TRT_NAME, _TYPE = "INormalizationLayer", "NORMALIZATION"

    def __init__(self, network, x, scale, bias, axes_mask):
        self._axes = axes_mask
        self.epsilon = 1e-5  # TensorRT's default; the builder sets the model's
        self.compute_precision = network._trt.DataType.FLOAT
        super().__init__(network, [x, scale, bias])

    @property
    def axes(self) -> int:
        return self._axes

    def _check(self):
        x, scale, bias = self._inputs
        _axes_from_mask(self, self._axes, len(x.shape))
        for t in (scale, bias):
            if len(t.shape) != len(x.shape):
                self._fail(f"scale/bias rank {len(t.shape)} must equal input rank {len(x.shape)}")

    def _infer(self):
        return [(self._first.dtype, self._first.shape)]

    def _run(self, values):
        x, scale, bias = values
        axes = _axes_from_mask(self, self._axes, x.ndim)
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        return [(x - mean) / np.sqrt(var + np.float32(self.epsilon)) * scale + bias]


class RefGatherLayer(RefLayer):
    _TRT_NAME, _TYPE = "IGatherLayer", "GATHER"

    def __init__(self, network, data, indices, axis):
        self._axis = int(axis)
        super().__init__(network, [data, indices])

    @property
    def axis(self) -> int:
        return self._axis

    def _check(self):
        data, indices = self._inputs
        if enum_name(indices.dtype) not in ("INT32", "INT64"):
            self._fail(f"indices must be INT32 or INT64, got {enum_name(indices.dtype)}")
        if not 0 <= self._axis < len(data.shape):
            self._fail(f"axis {self._axis} out of range for rank {len(data.shape)}")

    def _infer(self):
        data, indices = self._inputs
        shape = data.shape[:self._axis] + indices.shape + data.shape[self._axis + 1:]
        return [(data.dtype, shape)]

    def _run(self, values):
        data, indices = values
        size = data.shape[self._axis]
        if indices.size and (indices.min() < -size or indices.max() >= size):
            self._fail(f"index out of range [0, {size}) (min {indices.min()}, max {indices.max()})")
        return [np.take(data, indices, axis=self._axis)]


class RefActivationLayer(RefLayer):
    _TRT_NAME, _TYPE = "IActivationLayer", "ACTIVATION"

    def __init__(self, network, x, kind):
        self._kind = enum_name(kind)
        super().__init__(network, [x])

    def _check(self):
        if self._kind not in ("RELU", "SIGMOID", "TANH", "GELU_ERF", "GELU_TANH"):
            self._fail(f"activation {self._kind} not supported by the reference backend")

    def _infer(self):
        return [(self._first.dtype, self._first.shape)]

    def _run(self, values):
        x = values[0]
        if self._kind == "RELU":
            return [np.maximum(x, 0)]
        if self._kind == "SIGMOID":
            return [1 / (1 + np.exp(-x))]
        if self._kind == "TANH":
            return [np.tanh(x)]
        if self._kind == "GELU_ERF":
            return [(0.5 * x * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype)]
        return [(0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))).astype(x.dtype)]


def _erf(x: np.ndarray) -> np.ndarray:
    # float64 erf through math.erf: exact, and the reference backend is about truth, not speed.
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64)).astype(x.dtype) \
        if x.size < 4096 else _erf_torch(x)


def _erf_torch(x: np.ndarray) -> np.ndarray:
    import torch

    return torch.erf(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))).numpy().astype(x.dtype)


class RefUnaryLayer(RefLayer):
    _TRT_NAME, _TYPE = "IUnaryLayer", "UNARY"
    _OPS = {"EXP": np.exp, "LOG": np.log, "SQRT": np.sqrt, "RECIP": np.reciprocal,
            "ABS": np.abs, "NEG": np.negative, "ERF": _erf}

    def __init__(self, network, x, op):
        self._op = enum_name(op)
        super().__init__(network, [x])

    def _check(self):
        if self._op not in self._OPS:
            self._fail(f"unary {self._op} not supported by the reference backend")

    def _infer(self):
        return [(self._first.dtype, self._first.shape)]

    def _run(self, values):
        return [self._OPS[self._op](values[0])]


class RefCastLayer(RefLayer):
    _TRT_NAME, _TYPE = "ICastLayer", "CAST"

    def __init__(self, network, x, to_type):
        self._to_type = to_type
        super().__init__(network, [x])

    @property
    def to_type(self):
        return self._to_type

    def _infer(self):
        return [(self._to_type, self._first.shape)]

    def _run(self, values):
        return [values[0].astype(_NUMPY[enum_name(self._to_type)])]


class RefIdentityLayer(RefLayer):
    _TRT_NAME, _TYPE = "IIdentityLayer", "IDENTITY"

    def _infer(self):
        return [(self._first.dtype, self._first.shape)]

    def _run(self, values):
        return [values[0]]


class RefShapeLayer(RefLayer):
    """Shape of its input as a rank-1 INT64 shape tensor (TensorRT 10's shape layer type)."""

    _TRT_NAME, _TYPE = "IShapeLayer", "SHAPE"

    def _infer(self):
        return [(self._network._trt.DataType.INT64, (len(self._first.shape),))]

    def _run(self, values):
        return [np.array(values[0].shape, dtype=np.int64)]


class RefSliceLayer(RefLayer):
    """Static start/shape/stride, each replaceable by a shape tensor via set_input(1|2|3)."""

    _TRT_NAME, _TYPE = "ISliceLayer", "SLICE"

    def __init__(self, network, x, start, shape, stride):
        self._start, self._size, self._stride = (tuple(int(v) for v in d) for d in (start, shape, stride))
        super().__init__(network, [x])

    @property
    def start(self):
        return self._start

    @property
    def shape(self):
        return self._size

    @property
    def stride(self):
        return self._stride

    def _check(self):
        rank = len(self._first.shape)
        if not len(self._start) == len(self._size) == len(self._stride) == rank:
            self._fail(f"start/shape/stride must each have {rank} entries")

    def _param(self, index, static, values=None):
        dynamic = len(self._inputs) > index and self._inputs[index] is not None
        if values is None:
            return (-1,) * len(static) if dynamic else static
        return tuple(int(v) for v in values[index]) if dynamic else static

    def _infer(self):
        return [(self._first.dtype, self._param(2, self._size))]

    def _run(self, values):
        start, size, stride = (self._param(i, s, values) for i, s in
                               ((1, self._start), (2, self._size), (3, self._stride)))
        x = values[0]
        index = []
        for axis, (b, n, s) in enumerate(zip(start, size, stride)):
            last = b + (n - 1) * s
            if n and not (0 <= b < x.shape[axis] and 0 <= last < x.shape[axis]):
                self._fail(f"slice [{b}:{last + 1}:{s}] out of bounds on axis {axis} of size {x.shape[axis]}")
            index.append(slice(b, last + 1 if n else b, s))
        return [np.ascontiguousarray(x[tuple(index)])]


class RefConcatenationLayer(RefLayer):
    _TRT_NAME, _TYPE = "IConcatenationLayer", "CONCATENATION"

    def __init__(self, network, inputs):
        rank = len(inputs[0].shape)
        self._axis = rank - 3 if rank >= 3 else 0  # TensorRT's documented default
        super().__init__(network, list(inputs))

    @property
    def axis(self) -> int:
        return self._axis

    @axis.setter
    def axis(self, value: int):
        self._axis = int(value)
        self._check()
        self._update_outputs()

    def _check(self):
        ranks = {len(t.shape) for t in self._inputs}
        types = {enum_name(t.dtype) for t in self._inputs}
        if len(ranks) != 1 or len(types) != 1:
            self._fail("concatenated tensors must share rank and type")
        if not 0 <= self._axis < ranks.pop():
            self._fail(f"axis {self._axis} out of range")

    def _infer(self):
        shapes = [t.shape for t in self._inputs]
        sizes = [s[self._axis] for s in shapes]
        out = list(shapes[0])
        out[self._axis] = -1 if -1 in sizes else sum(sizes)
        return [(self._first.dtype, tuple(out))]

    def _run(self, values):
        return [np.concatenate(values, axis=self._axis)]


class RefReduceLayer(RefLayer):
    _TRT_NAME, _TYPE = "IReduceLayer", "REDUCE"
    _OPS = {"SUM": np.sum, "PROD": np.prod, "MAX": np.max, "MIN": np.min, "AVG": np.mean}

    def __init__(self, network, x, op, axes, keep_dims):
        self._op, self._axes_mask, self._keep = enum_name(op), int(axes), bool(keep_dims)
        super().__init__(network, [x])

    @property
    def axes(self) -> int:
        return self._axes_mask

    @property
    def keep_dims(self) -> bool:
        return self._keep

    def _check(self):
        _axes_from_mask(self, self._axes_mask, len(self._first.shape))

    def _infer(self):
        axes = _axes_from_mask(self, self._axes_mask, len(self._first.shape))
        shape = [1 if i in axes else d for i, d in enumerate(self._first.shape)]
        if not self._keep:
            shape = [d for i, d in enumerate(shape) if i not in axes]
        return [(self._first.dtype, tuple(shape))]

    def _run(self, values):
        axes = _axes_from_mask(self, self._axes_mask, values[0].ndim)
        out = self._OPS[self._op](values[0], axis=axes, keepdims=self._keep)
        return [np.asarray(out, dtype=values[0].dtype)]


class RefPluginV3Layer(RefLayer):
    _TRT_NAME, _TYPE = "IPluginV3Layer", "PLUGIN_V3"

    def __init__(self, network, inputs, plugin: ref_plugins.RefPlugin):
        self._plugin = plugin
        super().__init__(network, list(inputs), num_outputs=plugin.num_outputs)

    def _check(self):
        self._plugin.check_inputs([(enum_name(t.dtype), t.shape) for t in self._inputs], self._fail)

    def _infer(self):
        trt = self._network._trt
        return [(getattr(trt.DataType, dtype), shape) for dtype, shape in
                self._plugin.output_types_and_shapes([(enum_name(t.dtype), t.shape) for t in self._inputs])]

    def _run(self, values):
        return self._plugin.run(values, half=self._half_io)

    _half_io = False  # set by the engine when the plugin runs with fp16 I/O


# ---------------------------------------------------------------------------------------------
# The network


class RefNetwork(Recorded):
    _TRT_NAME = "INetworkDefinition"

    def __init__(self, trt_module):
        self._trt = trt_module
        self._layers: list[RefLayer] = []
        self._inputs: list[RefTensor] = []
        self._outputs: list[RefTensor] = []
        self.name = "bert"

    def _add(self, layer: RefLayer) -> RefLayer:
        self._layers.append(layer)
        return layer

    def _check_tensor(self, tensor, what="input"):
        if not isinstance(tensor, RefTensor):
            raise RefNetworkError(f"{what} is {type(tensor).__name__}, not a tensor of this network")
        return tensor

    # INetworkDefinition members --------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return len(self._layers)

    @property
    def num_inputs(self) -> int:
        return len(self._inputs)

    @property
    def num_outputs(self) -> int:
        return len(self._outputs)

    def get_layer(self, index: int) -> RefLayer:
        return self._layers[index]

    def get_input(self, index: int) -> RefTensor:
        return self._inputs[index]

    def get_output(self, index: int) -> RefTensor:
        return self._outputs[index]

    def add_input(self, name: str, dtype, shape) -> RefTensor:
        if any(t.name == name for t in self._inputs):
            raise RefNetworkError(f"network input {name!r} added twice")
        tensor = RefTensor(name, dtype, tuple(shape), None)
        self._inputs.append(tensor)
        return tensor

    def mark_output(self, tensor: RefTensor) -> None:
        self._check_tensor(tensor, "output")
        tensor._is_output = True
        self._outputs.append(tensor)

    def add_constant(self, shape, weights) -> RefLayer:
        return self._add(RefConstantLayer(self, shape, weights))

    def add_elementwise(self, input1, input2, op) -> RefLayer:
        return self._add(RefElementWiseLayer(self, self._check_tensor(input1), self._check_tensor(input2), op))

    def add_matrix_multiply(self, input0, op0, input1, op1) -> RefLayer:
        return self._add(RefMatrixMultiplyLayer(self, self._check_tensor(input0), op0,
                                                self._check_tensor(input1), op1))

    def add_shuffle(self, input) -> RefLayer:  # noqa: A002 (TensorRT's keyword)
        return self._add(RefShuffleLayer(self, self._check_tensor(input)))

    def add_softmax(self, input) -> RefLayer:  # noqa: A002
        return self._add(RefSoftMaxLayer(self, self._check_tensor(input)))

    def add_normalization(self, input, scale, bias, axesMask) -> RefLayer:  # noqa: A002,N803
        return self._add(RefNormalizationLayer(self, self._check_tensor(input), self._check_tensor(scale),
                                               self._check_tensor(bias), int(axesMask)))

    def add_gather(self, input, indices, axis) -> RefLayer:  # noqa: A002
        return self._add(RefGatherLayer(self, self._check_tensor(input), self._check_tensor(indices), axis))

    def add_activation(self, input, type) -> RefLayer:  # noqa: A002
        return self._add(RefActivationLayer(self, self._check_tensor(input), type))

    def add_unary(self, input, op) -> RefLayer:  # noqa: A002
        return self._add(RefUnaryLayer(self, self._check_tensor(input), op))

    def add_cast(self, input, to_type) -> RefLayer:  # noqa: A002
        return self._add(RefCastLayer(self, self._check_tensor(input), to_type))

    def add_identity(self, input) -> RefLayer:  # noqa: A002
        return self._add(RefIdentityLayer(self, [self._check_tensor(input)]))

    def add_shape(self, input) -> RefLayer:  # noqa: A002
        return self._add(RefShapeLayer(self, [self._check_tensor(input)]))

    def add_slice(self, input, start, shape, stride) -> RefLayer:  # noqa: A002
        return self._add(RefSliceLayer(self, self._check_tensor(input), start, shape, stride))

    def add_concatenation(self, inputs) -> RefLayer:
        return self._add(RefConcatenationLayer(self, [self._check_tensor(t) for t in inputs]))

    def add_reduce(self, input, op, axes, keep_dims) -> RefLayer:  # noqa: A002
        return self._add(RefReduceLayer(self, self._check_tensor(input), op, axes, keep_dims))

    def add_plugin_v3(self, inputs, shape_inputs, plugin) -> RefLayer:
        if shape_inputs:
            raise RefNetworkError("shape inputs to plugins are not used by this project")
        if not isinstance(plugin, ref_plugins.RefPlugin):
            raise RefNetworkError("plugin was not created by the reference backend's registry")
        return self._add(RefPluginV3Layer(self, [self._check_tensor(t) for t in inputs], plugin))
