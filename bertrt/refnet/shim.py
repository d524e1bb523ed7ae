"""Stand-ins for the few TensorRT names the network code needs, for machines without TensorRT.

Only used when neither `tensorrt` nor `tensorrt_bindings` imports. Every name and member here is
spelled exactly as in TensorRT 10 (tests/test_trt_conformance.py checks that against the real
bindings), so `trt_helper.py` reads the same with either.
"""
from __future__ import annotations

import enum

import numpy as np

__version__ = None  # no TensorRT: nothing to report


def _enum(name: str, members: str):
    return enum.Enum(name, [(m, i) for i, m in enumerate(members.split())], module=__name__)


DataType = _enum("DataType", "FLOAT HALF BF16 INT8 INT32 INT64 BOOL UINT8 FP8")
ElementWiseOperation = _enum(
    "ElementWiseOperation", "SUM PROD MAX MIN SUB DIV POW FLOOR_DIV AND OR XOR EQUAL GREATER LESS")
ActivationType = _enum("ActivationType", "RELU SIGMOID TANH GELU_ERF GELU_TANH")
UnaryOperation = _enum("UnaryOperation", "EXP LOG SQRT RECIP ABS NEG ERF")
MatrixOperation = _enum("MatrixOperation", "NONE TRANSPOSE VECTOR")
ReduceOperation = _enum("ReduceOperation", "SUM PROD MAX MIN AVG")
LayerType = _enum(
    "LayerType",
    "ACTIVATION CONCATENATION ELEMENTWISE UNARY SHUFFLE REDUCE GATHER MATRIX_MULTIPLY CONSTANT "
    "IDENTITY CAST SLICE SHAPE SOFTMAX NORMALIZATION PLUGIN_V3")
BuilderFlag = _enum("BuilderFlag", "FP16 INT8 TF32 OBEY_PRECISION_CONSTRAINTS PREFER_PRECISION_CONSTRAINTS")
MemoryPoolType = _enum("MemoryPoolType", "WORKSPACE")
PluginFieldType = _enum("PluginFieldType", "FLOAT16 FLOAT32 FLOAT64 INT8 INT16 INT32 CHAR")
TensorRTPhase = _enum("TensorRTPhase", "BUILD RUNTIME")
ProfilingVerbosity = _enum("ProfilingVerbosity", "LAYER_NAMES_ONLY DETAILED NONE")


class Logger:
    INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

    def __init__(self, min_severity=WARNING):
        self.min_severity = min_severity


class Weights:
    """Like trt.Weights over a numpy array: no copy, the array must outlive the build."""

    def __init__(self, a: np.ndarray):
        self._array = a
        self.dtype = {np.dtype(np.float32): DataType.FLOAT, np.dtype(np.float16): DataType.HALF,
                      np.dtype(np.int32): DataType.INT32, np.dtype(np.int64): DataType.INT64}[a.dtype]
        self.size = a.size

    def numpy(self) -> np.ndarray:
        return self._array


class PluginField:
    def __init__(self, name: str = "", data=None, type=None):  # noqa: A002 (TensorRT's keyword)
        self.name = name
        self.data = np.asarray(data) if data is not None else np.zeros(0)
        self.type = type
        self.size = self.data.size


class PluginFieldCollection(list):
    pass
