"""Which TensorRT this process has.

`trt` is the real `tensorrt` package when installed, else the bare Python bindings
(`tensorrt_bindings`, importable only where a libnvinfer, real or a test stub, is loadable),
else None. Enums, Weights and the calibrator base classes then come from the real bindings.
Whether engines can be built is a separate question (`require_runtime`): the bindings over a
stub library import fine but cannot create a Builder.
"""
from __future__ import annotations

import functools

from bertrt.common import UserError

INSTALL_HINT = "install TensorRT 10 (`pip install -r requirements.txt` on a machine with an NVIDIA GPU and driver)"


def _import_trt():
    try:
        import tensorrt

        return tensorrt
    except ImportError:
        pass
    try:
        import tensorrt_bindings

        return tensorrt_bindings
    except (ImportError, OSError):
        return None


trt = _import_trt()


def trt_version() -> str | None:
    return getattr(trt, "__version__", None)


@functools.lru_cache(maxsize=None)
def runtime_problem() -> str | None:
    """Why real engines cannot be built or run here, or None when they can."""
    if trt is None:
        return "TensorRT is not installed"
    major = int(trt.__version__.split(".")[0])
    if major != 10:
        return f"TensorRT {trt.__version__} found; this exercise targets TensorRT 10.x"
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed (engine buffers are torch CUDA tensors)"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible"
    try:
        trt.Builder(trt.Logger(trt.Logger.ERROR))
    except Exception as err:  # the bindings over a stub libnvinfer land here
        return f"libnvinfer cannot create a builder ({err})"
    return None


def require_runtime(alternative: str = "") -> None:
    """Raise a one-line UserError when engines cannot be built here; `alternative` is what else
    the calling script can do (e.g. its --backend reference)."""
    problem = runtime_problem()
    if problem:
        raise UserError(f"{problem}: {INSTALL_HINT}" + (f", or {alternative}" if alternative else ""))
