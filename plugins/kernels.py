"""Load libbert_kernels.so (the plain C API of every plugin's CUDA kernels) for Python.

The kernels take raw device pointers and a cudaStream_t; here they are called with torch CUDA
tensors, so GPU tests and benchmarks need neither TensorRT nor pycuda. Each plugin folder's
`ops.py` declares its own functions' ctypes signatures and wraps them for torch.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
from pathlib import Path

PLUGINS_DIR = Path(__file__).resolve().parent
BUILD_DIR = Path(os.environ.get("BERT_PLUGINS_BUILD_DIR", PLUGINS_DIR / "build"))
BUILD_HINT = "build it with: cmake -S plugins -B plugins/build && cmake --build plugins/build -j"

# Matches BertDType in plugins/common/bert_kernels_common.h.
BERT_FP32 = 0
BERT_FP16 = 1


class KernelLibraryMissing(RuntimeError):
    pass


_lib: ctypes.CDLL | None = None
_opened: dict[str, ctypes.CDLL] = {}  # path -> library, each loaded once and kept


def _open(path: Path) -> ctypes.CDLL:
    key = str(Path(path).resolve())
    if key not in _opened:
        lib = ctypes.CDLL(key)
        lib.bertKernelErrorString.restype = ctypes.c_char_p
        lib.bertKernelErrorString.argtypes = [ctypes.c_int]
        _opened[key] = lib
    return _opened[key]


def library_path(name: str) -> Path:
    return BUILD_DIR / name


def load() -> ctypes.CDLL:
    """The current kernel library: the default build (loaded once), or library()'s inside its block.
    Raises KernelLibraryMissing with the build command."""
    global _lib
    if _lib is None:
        path = library_path("libbert_kernels.so")
        if not path.exists():
            raise KernelLibraryMissing(f"{path} not found; {BUILD_HINT}")
        _lib = _open(path)
    return _lib


_functions: dict[tuple[str, str], object] = {}  # (library path, name)


def function(name: str, argtypes: list):
    """The C launcher `name` of the loaded library with its signature declared (int status,
    `argtypes`), once per library."""
    lib = load()
    key = (lib._name, name)
    if key not in _functions:
        fn = getattr(lib, name)
        fn.restype = ctypes.c_int
        fn.argtypes = argtypes
        _functions[key] = fn
    return _functions[key]


@contextlib.contextmanager
def library(path: Path):
    """Inside the block, every launch (the ops wrappers too) goes to the kernel library at `path`:
    another build of the same sources, e.g. an ablation's with a different compile flag."""
    global _lib
    lib = _open(path)
    saved = _lib
    _lib = lib
    try:
        yield lib
    finally:
        _lib = saved


def launch(name: str, argtypes: list, args: tuple, device, version: int | None = None) -> None:
    """Run launcher `name` (the kernel's default choice), or `<name>Version` with an explicit
    numbered version first, on `device` (the tensors' GPU) and its current torch stream, which
    every launcher takes as its last argument (not in `args`); raise on a CUDA error. The device
    is made current for the call: launchers launch on, and ask the SM count of, the current one."""
    import torch

    with torch.cuda.device(device):
        stream = ctypes.c_void_p(torch.cuda.current_stream(device).cuda_stream)
        if version is None:
            check(function(name, argtypes)(*args, stream), name)
        else:
            versioned = function(f"{name}Version", [ctypes.c_int, *argtypes])
            check(versioned(version, *args, stream), f"{name} (version {version})")


def version_rule(name: str, version: int, size: int, dtype) -> bool:
    """A launcher family's host-side rule `name(version, size, BertDType)` (bertLayerNormVersionTakes,
    bertBiasGeluVersionTakes, bertQkvToContextVersionSupported) for a torch dtype (float32/float16)."""
    import torch

    code = {torch.float32: BERT_FP32, torch.float16: BERT_FP16}[dtype]
    return function(name, [ctypes.c_int, ctypes.c_int32, ctypes.c_int])(version, size, code) == 1


def last_version() -> int:
    """bertLastLaunchedVersion: the version of the last kernel with numbered versions (LayerNorm
    family, BiasGelu, QkvToContext) launched from this thread, the default resolved; then forgotten
    (0: none since). How a test sees which kernel a default really ran."""
    return function("bertLastLaunchedVersion", [])()


def check(status: int, what: str) -> None:
    """Raise if a launcher returned a CUDA error: errors are never returned and ignored."""
    if status != 0:
        message = load().bertKernelErrorString(status).decode()
        raise RuntimeError(f"{what} failed: {message} (cudaError {status})")


def dtype_code(tensor) -> int:
    import torch

    codes = {torch.float32: BERT_FP32, torch.float16: BERT_FP16}
    if tensor.dtype not in codes:
        raise TypeError(f"kernels take float32 or float16 activations, got {tensor.dtype}")
    return codes[tensor.dtype]


def ptr(tensor) -> ctypes.c_void_p | None:
    """Device pointer of a contiguous CUDA tensor (None passes NULL)."""
    if tensor is None:
        return None
    if not tensor.is_cuda or not tensor.is_contiguous():
        raise ValueError("kernels take contiguous CUDA tensors")
    return ctypes.c_void_p(tensor.data_ptr())

