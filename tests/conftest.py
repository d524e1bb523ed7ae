"""Shared fixtures.

TensorRT's Python bindings (`tensorrt_bindings`, from the tensorrt-cu12-bindings wheel) need a
libnvinfer to import. Where no real one is found, before any test imports project code we compile
a stub libnvinfer.so.10 (and the plugin/parser libraries the bindings link to) that exports the
few entry points the bindings resolve, and load them globally. Everything the bindings define in
Python (enums, Weights, PluginField, calibrator base classes, signatures and docstrings) is then
the real thing; creating a Builder or Runtime fails, which is how the project's code knows it
cannot build engines here. Where a real TensorRT 10 is found, it is left alone: the stub would
shadow it and skip every real-engine test.
"""
from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

_STUBS = {
    "libnvinfer.so.10": """
        void* createInferBuilder_INTERNAL(void* logger, int version) { return 0; }
        void* createInferRuntime_INTERNAL(void* logger, int version) { return 0; }
        void* createInferRefitter_INTERNAL(void* engine, void* logger, int version) { return 0; }
        void* getPluginRegistry(void) { return 0; }
        void* getBuilderPluginRegistry(int type) { return 0; }
        int getInferLibVersion(void) { return 101601; }
    """,
    "libnvinfer_plugin.so.10": "int initLibNvInferPlugins(void* logger, const char* ns) { return 0; }",
    "libnvonnxparser.so.10": """
        void* createNvOnnxParser_INTERNAL(void* network, void* logger, int version) { return 0; }
        void* createNvOnnxParserRefitter_INTERNAL(void* refitter, void* logger, int version) { return 0; }
        int getNvOnnxParserVersion(void) { return 101601; }
    """,
}


def _bindings_import_on_their_own() -> bool:
    """Whether the bindings find a real libnvinfer (the tensorrt_libs wheel, LD_LIBRARY_PATH, the
    loader's cache). Tried in a child process: a library loaded into this one cannot be unloaded,
    and a failed import here would leave half-initialised modules behind."""
    probe = subprocess.run([sys.executable, "-c", "import tensorrt_bindings"], capture_output=True)
    return probe.returncode == 0


def _load_stub_tensorrt() -> str | None:
    """Compile and load the stub libraries unless a real libnvinfer is there; return why the
    bindings are unusable, or None."""
    if importlib.util.find_spec("tensorrt_bindings") is None:
        return "tensorrt_bindings is not installed (pip install tensorrt-cu12-bindings)"
    if _bindings_import_on_their_own():
        return None  # a real TensorRT: the stub would shadow it
    if os.environ.get("BERT_TESTS_NO_STUB"):
        return "BERT_TESTS_NO_STUB is set: testing without TensorRT's bindings"
    if shutil.which("gcc") is None:
        return "gcc is needed to compile the stub libnvinfer"
    folder = Path(tempfile.mkdtemp(prefix="stub-nvinfer-"))
    for soname, source in _STUBS.items():
        c_file = folder / (soname.split(".")[0] + ".c")
        c_file.write_text(source)
        subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(folder / soname), f"-Wl,-soname,{soname}",
                        str(c_file)], check=True)
        ctypes.CDLL(str(folder / soname), mode=ctypes.RTLD_GLOBAL)
    return None


# Before any project import, so bertrt.trt_api sees the real bindings.
STUB_PROBLEM = _load_stub_tensorrt()


@pytest.fixture(scope="session")
def real_trt():
    """The real TensorRT 10 Python bindings, over the real libnvinfer where there is one, else over
    the stub (no engines can be built)."""
    if STUB_PROBLEM:
        pytest.skip(STUB_PROBLEM)
    import tensorrt_bindings

    return tensorrt_bindings


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    """A factory of tiny random BERT MLMs exported to ONNX, cached per (config, exporter)."""
    from tiny_bert import export_tiny

    cache = {}

    def make(exporter="legacy", **config):
        key = (exporter, tuple(sorted(config.items())))
        if key not in cache:
            cache[key] = export_tiny(tmp_path_factory.mktemp("bert"), exporter, **config)
        return cache[key]

    return make
