"""Real TensorRT engines: run only where TensorRT 10 and a GPU are present (never in this
project's CI, which has neither); elsewhere they skip and say why."""
from pathlib import Path

import numpy as np
import pytest

from bertrt.trt_api import runtime_problem

problem = runtime_problem()
pytestmark = pytest.mark.skipif(problem is not None, reason=f"real engines need TensorRT 10 and a GPU: {problem}")

CONFIG = dict(hidden=64, heads=4, layers=2, intermediate=128)


@pytest.fixture()
def tiny(tiny_models, tmp_path, monkeypatch):
    model = tiny_models("legacy", **CONFIG)
    monkeypatch.chdir(tmp_path)
    return model


def profile_args(tiny):
    return ["--onnx", tiny.onnx, "--reference", tiny.reference, "--max-seq", 64, "--max-batch", 4,
            "--iterations", 20]


@pytest.mark.parametrize("mode", ["fp32", "fp16"])
def test_onnx_parser_engine_matches_pytorch(tiny, mode, capsys):
    import onnx2trt

    onnx2trt.main([*map(str, profile_args(tiny)), "--mode", mode])
    assert "PASS logits vs PyTorch fp32" in capsys.readouterr().out


@pytest.mark.parametrize("mode,fusions", [("fp32", "none"), ("fp16", "none"), ("fp16", "all"), ("fp16", "all,packed")])
def test_hand_built_engine_matches_pytorch(tiny, mode, fusions, capsys):
    import builder

    builder.main([*map(str, profile_args(tiny)), "--backend", "tensorrt", "--mode", mode, "--fusions", fusions])
    assert "PASS logits vs PyTorch fp32" in capsys.readouterr().out


def test_int8_engine_keeps_the_predictions(tiny, capsys):
    import builder

    builder.main([*map(str, profile_args(tiny)), "--backend", "tensorrt", "--int8", "--calib-batches", 8,
                  "--calib-seq", 32, "--calib-batch-size", 4])
    out = capsys.readouterr().out
    top5 = float(out.split("top-5 ")[1].split("%")[0])
    assert top5 >= 90.0, out


def test_engine_and_reference_backend_agree(tiny):
    """The reference backend is the CPU stand-in for exactly this engine."""
    from bertrt.backend import ReferenceBackend, TensorRTBackend
    from bertrt.engine_config import ProfileShapes, configure
    from bertrt.onnx_weights import load_weights
    from builder import Fusions, build_network

    feed = {k: tiny.batch[k] for k in ("input_ids", "token_type_ids", "attention_mask")}
    outputs = []
    for backend in (TensorRTBackend(), ReferenceBackend()):
        b, network, _ = build_network(backend, load_weights(tiny.onnx), Fusions(), "fp32")
        config = configure(b, network, backend.trt, "fp32", ProfileShapes(1, 4, 4, 1, 16, 64))
        artifact, _ = backend.build(b, network, config, Path("tiny.engine"), {})
        outputs.append(backend.runner(artifact).infer(feed)["logits"])
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-4, rtol=1e-4)
