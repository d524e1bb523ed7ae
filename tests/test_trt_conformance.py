"""Every TensorRT name and call the project uses exists in the real TensorRT 10 bindings.

TensorRT cannot run here, so nothing would catch `config.set_flags(...)` or a misspelt enum until
a user with a GPU tried. These tests check the project's uses against the real `tensorrt_bindings`
(imported over a stub libnvinfer, see conftest.py) three ways:
  1. the reference backend logs every member read, written or called and every keyword passed
     while the real builder code runs on it; each must exist on the TensorRT class it mirrors;
  2. every `trt.X.Y` chain in the source resolves in the real module;
  3. calls on objects only TensorRT creates (runtime, engine, context, parser, registry...) are
     found in the source and checked against the real classes, keywords included.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from bertrt.refnet import network as refnetwork
from bertrt.refnet import shim

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for p in ROOT.rglob("*.py")
           if not {"tests", "build", ".git", "scratch"} & set(p.relative_to(ROOT).parts)]

# Where TensorRT objects live (file -> class scope, or None for the whole file), and the
# variable names that hold one kind of TensorRT object there.
TRT_SCOPES = {"onnx2trt.py": None, "builder.py": None, "trt_helper.py": None, "calibrator.py": None,
              "inspect_engine.py": None,
              "bertrt/engine_config.py": None, "bertrt/backend.py": "TensorRTBackend",
              "bertrt/runtime.py": "TensorRTRunner"}
OBJECT_CLASSES = {
    "runtime": "Runtime", "engine": "ICudaEngine", "context": "IExecutionContext",
    "onnx_parser": "OnnxParser", "registry": "IPluginRegistry", "creator": "IPluginCreatorV3One",
    "config": "IBuilderConfig", "profile": "IOptimizationProfile", "network": "INetworkDefinition",
    "builder": "Builder", "calibration": "IOptimizationProfile", "cache": "ITimingCache",
    "serialized": "IHostMemory", "inspector": "EngineInspector",
}


def keywords_of(member) -> set[str] | None:
    """Parameter names from a pybind11 docstring (all overloads); None if not a function."""
    doc = getattr(member, "__doc__", None) or ""
    if not callable(member):
        return None
    name = getattr(member, "__name__", "")
    names = set()
    for match in re.finditer(rf"(?:^|\n)\s*(?:\d+\.\s*)?{re.escape(name)}\((.*?)\)\s*->", doc):
        for param in match.group(1).split(","):
            param = param.strip().split(":")[0].split("=")[0].strip().lstrip("*")
            if param:
                names.add(param)
    return names


def check_member(real_trt, class_name: str, member: str, keywords=()) -> str | None:
    cls = getattr(real_trt, class_name, None)
    if cls is None:
        return f"{class_name} is not a TensorRT class"
    if not hasattr(cls, member):
        return f"{class_name}.{member} does not exist in TensorRT {real_trt.__version__}"
    accepted = keywords_of(getattr(cls, member))
    if accepted is not None and keywords and not set(keywords) <= accepted:
        return f"{class_name}.{member} takes no keyword(s) {sorted(set(keywords) - accepted)} (has {sorted(accepted)})"
    return None


def test_stand_in_names_are_spelt_as_in_tensorrt(real_trt):
    for name in ("DataType", "ElementWiseOperation", "ActivationType", "UnaryOperation", "MatrixOperation",
                 "ReduceOperation", "LayerType", "BuilderFlag", "MemoryPoolType", "PluginFieldType",
                 "TensorRTPhase", "ProfilingVerbosity"):
        real = getattr(real_trt, name)
        for member in getattr(shim, name).__members__:
            assert hasattr(real, member), f"shim {name}.{member} is not in TensorRT"
    for name in ("Weights", "PluginField", "PluginFieldCollection", "Logger"):
        assert hasattr(real_trt, name)


def test_everything_the_builder_does_on_the_reference_backend_exists_in_tensorrt(real_trt, tiny_models, tmp_path):
    from bertrt.backend import ReferenceBackend
    from bertrt.engine_config import ProfileShapes, configure
    from bertrt.onnx_weights import load_weights
    from builder import Fusions, build_network
    from calibrator import make_calibrator

    tiny = tiny_models("legacy", hidden=32, heads=4, layers=1, intermediate=37)
    weights = load_weights(tiny.onnx)
    refnetwork.API_USAGE.clear()
    for fusions in ("none", "fused_qkv", "all", "all,packed"):
        for mode in ("fp32", "fp16") + (() if "packed" in fusions else ("int8",)):
            backend = ReferenceBackend()
            parsed = Fusions.parse(fusions)
            builder, network, _ = build_network(backend, weights, parsed, mode)
            calibrator = make_calibrator(batch_size=2, seq_len=8, tokenizer=tiny.tokenizer, max_batches=2,
                                         cache_path=tmp_path / f"{fusions}.cache", onnx_path=tiny.onnx,
                                         device="cpu") if mode == "int8" else None
            config = configure(builder, network, backend.trt, mode, ProfileShapes(1, 2, 4, 1, 8, 16),
                               packed=parsed.packed, calibrator=calibrator, calibration_shape=(2, 8))
            backend.build(builder, network, config, None, {})
    used = sorted(refnetwork.API_USAGE)
    assert len(used) > 60, "the reference backend logged suspiciously few API uses"
    problems = [p for cls, member, kw in used if (p := check_member(real_trt, cls, member, kw))]
    assert not problems, "\n".join(problems)


def _trt_chains(tree: ast.AST):
    """(line, ['DataType', 'FLOAT']) for every outermost attribute chain through a name `trt`
    (`trt.X`, `self.trt.X`, `backend.trt.X`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(getattr(node, "parent", None), ast.Attribute):
            chain, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                chain.append(value.attr)
                value = value.value
            if not isinstance(value, ast.Name):
                continue
            full = [value.id] + list(reversed(chain))
            if "trt" in full[:-1]:
                yield node.lineno, full[full.index("trt") + 1:]


def _parse(path: Path) -> ast.AST:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child.parent = node
    return tree


def test_every_trt_attribute_chain_in_the_source_resolves(real_trt):
    problems, checked = [], 0
    for path in SOURCES:
        for line, names in _trt_chains(_parse(path)):
            obj = real_trt
            for name in names:
                if not hasattr(obj, name):
                    problems.append(f"{path.relative_to(ROOT)}:{line}: trt.{'.'.join(names)}")
                    break
                obj = getattr(obj, name)
            checked += 1
    assert checked > 20
    assert not problems, "\n".join(problems)


def test_calls_on_tensorrt_objects_exist_with_their_keywords(real_trt):
    """`self.context.execute_async_v3(...)`, `runtime.deserialize_cuda_engine(...)`, ..."""
    problems, checked = [], 0
    for relative, scope in TRT_SCOPES.items():
        path = ROOT / relative
        tree = _parse(path)
        if scope:
            tree = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == scope)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute):
                continue
            owner = node.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
            if name not in OBJECT_CLASSES:
                continue
            call = node.parent if isinstance(node.parent, ast.Call) and node.parent.func is node else None
            keywords = [k.arg for k in call.keywords if k.arg] if call else []
            problem = check_member(real_trt, OBJECT_CLASSES[name], node.attr, keywords)
            checked += 1
            if problem:
                problems.append(f"{relative}:{node.lineno}: {problem}")
    assert checked > 20
    assert not problems, "\n".join(problems)


def test_the_checker_would_catch_a_wrong_name(real_trt):
    """The checks above can fail: a misspelt member and a wrong keyword are reported."""
    assert check_member(real_trt, "IBuilderConfig", "set_flags")
    assert check_member(real_trt, "INetworkDefinition", "add_normalization", ["axes"])
    assert check_member(real_trt, "INetworkDefinition", "add_normalization", ["axesMask"]) is None
    assert keywords_of(real_trt.INetworkDefinition.add_gather) >= {"input", "indices", "axis"}
    weights = real_trt.Weights(np.zeros(3, np.float32))
    assert weights.size == 3
