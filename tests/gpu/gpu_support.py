"""What every GPU test module checks first: skip the whole module, saying why, unless there is a
CUDA GPU (and, for kernel tests, the built kernel library). The repo root is on sys.path through
tests/conftest.py."""
import pytest


def require_cuda():
    """torch, once a CUDA GPU is known to be visible."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU", allow_module_level=True)
    return torch


def require_kernel_library():
    """torch, once a CUDA GPU and plugins/build/libbert_kernels.so are there (the skip message
    says how to build the library)."""
    torch = require_cuda()
    from plugins import kernels

    try:
        kernels.load()
    except kernels.KernelLibraryMissing as missing:
        pytest.skip(str(missing), allow_module_level=True)
    return torch
