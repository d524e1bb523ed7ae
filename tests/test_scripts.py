"""The scripts as a user runs them, in fresh processes without TensorRT or a GPU (hidden where the
machine has them): they work on the reference backend, and every problem ends in one line naming
the fix, exit status 2, and no half-written file."""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# Modules that shadow TensorRT's in the scripts' processes, so that they find none wherever the
# tests run (bertrt.trt_api then says "TensorRT is not installed", as on a machine without it).
NO_TENSORRT = Path(tempfile.mkdtemp(prefix="no-tensorrt-"))
for _name in ("tensorrt", "tensorrt_bindings"):
    (NO_TENSORRT / f"{_name}.py").write_text('raise ImportError("hidden by tests/test_scripts.py")\n')
atexit.register(shutil.rmtree, NO_TENSORRT, True)


def run(*args, cwd):
    # CUDA_VISIBLE_DEVICES="": torch sees no GPU either, so the scripts take the CPU paths everywhere.
    env = dict(os.environ, PYTHONPATH=f"{NO_TENSORRT}{os.pathsep}{ROOT}", CUDA_VISIBLE_DEVICES="",
               TRANSFORMERS_VERBOSITY="error", HF_HUB_OFFLINE="1")
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def one_line_error(result) -> str:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    return lines[0]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    from tiny_bert import make_tiny_bert

    folder = tmp_path_factory.mktemp("scripts")
    make_tiny_bert(folder / "model", max_position=64)
    result = run(ROOT / "model2onnx.py", "--model", folder / "model", "--exporter", "legacy", cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (folder / "artifacts" / "model.onnx").exists() and (folder / "artifacts" / "reference.npz").exists()
    return folder


def test_builder_falls_back_to_the_reference_backend_and_reports_accuracy(workdir):
    result = run(ROOT / "builder.py", "--max-seq", 64, "--opt-seq", 16, "--fusions", "all", cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "running the reference backend on the CPU instead" in result.stderr
    assert "PASS logits vs PyTorch fp32" in result.stdout
    assert "top-1 agreement 100.0%" in result.stdout
    assert "fill-mask top-10:" in result.stdout


def test_onnx_parser_baseline_needs_tensorrt_and_says_so(workdir):
    line = one_line_error(run(ROOT / "onnx2trt.py", "--max-seq", 64, cwd=workdir))
    assert "TensorRT is not installed" in line and "install TensorRT 10" in line


def test_forcing_tensorrt_without_it_fails_cleanly(workdir):
    line = one_line_error(run(ROOT / "builder.py", "--backend", "tensorrt", "--max-seq", 64, cwd=workdir))
    assert "TensorRT is not installed" in line and "--backend reference" in line
    assert not list((workdir / "artifacts").glob("*.engine"))


def test_a_sequence_longer_than_the_model_allows(workdir):
    line = one_line_error(run(ROOT / "builder.py", "--max-seq", 1000, cwd=workdir))
    assert "--max-seq 1000 exceeds the model's 64 positions" in line


def test_a_batch_larger_than_the_profile(workdir):
    line = one_line_error(run(ROOT / "builder.py", "--backend", "reference", "--max-seq", 64, "--opt-batch", 1,
                              "--max-batch", 2, cwd=workdir))
    assert "outside the engine's profile" in line and "--max-batch" in line


def test_a_wrong_onnx_file(workdir, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    line = one_line_error(run(ROOT / "builder.py", "--onnx", bad, "--max-seq", 64, cwd=workdir))
    assert "re-export with model2onnx.py" in line
    line = one_line_error(run(ROOT / "builder.py", "--onnx", tmp_path / "missing.onnx", cwd=workdir))
    assert "run `python model2onnx.py` first" in line


def test_an_unknown_fusion_and_int8_packed(workdir):
    assert "unknown fusion" in one_line_error(run(ROOT / "builder.py", "--fusions", "flash", cwd=workdir))
    assert "packed" in one_line_error(run(ROOT / "builder.py", "--fusions", "all,packed", "--int8", cwd=workdir))
    assert "--mode int8" in one_line_error(run(ROOT / "builder.py", "--fusions", "all,int8_residual", "--fp16",
                                               cwd=workdir))


def test_a_model_that_cannot_be_loaded_writes_nothing(tmp_path):
    line = one_line_error(run(ROOT / "model2onnx.py", "--model", tmp_path / "no-such-model", cwd=tmp_path))
    assert "--model PATH" in line
    assert not (tmp_path / "artifacts").exists()


def test_layer_comparison_script(workdir):
    result = run(ROOT / "compare_layers.py", "--fusions", "all", cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "all within tolerance" in result.stdout


def test_fill_mask_demo_on_the_reference_backend(workdir):
    result = run(ROOT / "fill_mask.py", "the capital of france , [MASK] , contains the eiffel tower .", cwd=workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    ranks = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert ranks[-10:] == [f"{i}." for i in range(1, 11)]
    assert "no [MASK]" in one_line_error(run(ROOT / "fill_mask.py", "nothing to fill", cwd=workdir))


def test_engine_metadata_has_the_same_keys_for_every_builder():
    """builder.py, onnx2trt.py and the runner's engines record how an engine was built through one
    function; TensorRTRunner reads `plugins` from it to load the plugin library first."""
    import json

    from bertrt.backend import engine_metadata
    from bertrt.common import BertDims
    from bertrt.engine_config import ProfileShapes
    from builder import Fusions

    profile = ProfileShapes()
    parsed = engine_metadata("onnx-parser", "fp16", profile)
    dims = BertDims(vocab_size=8, hidden_size=768, num_layers=1, num_heads=12, intermediate_size=3072, max_position=16,
                    type_vocab_size=2, layer_norm_eps=1e-12)
    hand_built = engine_metadata("hand-built", "fp16", profile, Fusions.parse("all"), dims)
    plain = engine_metadata("hand-built", "fp32", profile, Fusions.parse("none"))
    assert parsed.keys() == hand_built.keys() == plain.keys()
    assert (parsed["plugins"], hand_built["plugins"], plain["plugins"]) == (False, True, False)
    assert (parsed["fusions"], plain["fusions"]) == ("none", "none")
    assert hand_built["fusions"] == Fusions.parse("all").label() != "none"
    assert parsed["profile"] == hand_built["profile"] and parsed["dims"] is None
    assert hand_built["dims"] == json.loads(dims.to_json())  # the same dict the ONNX metadata holds
