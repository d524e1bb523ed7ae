"""run.py (bertrt/bench): planning, the engine cache, and whole CPU runs on tiny models.

The runs are of a machine with no TensorRT and no GPU (made so on any machine, see `cpu_only`):
they use the reference backend for the hand-built variants' accuracy and PyTorch fp32 eager on the
CPU, and every GPU-only variant must say why it was skipped.
"""
import csv
import dataclasses
import json
import struct

import numpy as np
import pytest

from bertrt.bench import engine_cache, runner, variants
from bertrt.bench.engine_cache import EngineKey, build_cached, file_sha256
from bertrt.bench.model_source import RANDOM_LABEL, ModelSource
from bertrt.bench.results import Row, add_speedups
from bertrt.bench.timing import plan_iterations
from bertrt.bench.variants import Capabilities, plan, select
from bertrt.common import UserError

TINY = dict(hidden=32, heads=4, layers=2, intermediate=37)
TINY_CONFIG = "config:bert-base,num_hidden_layers=1,hidden_size=32,num_attention_heads=4,intermediate_size=37," \
              "vocab_size=120,max_position_embeddings=64"
FAST = ["--batch", "1,2", "--seq", "8,16", "--iterations", "5", "--warmup", "1", "--min-seconds", "0.05"]

NO_GPU = Capabilities(tensorrt_problem="TensorRT is not installed", cuda_problem="no CUDA GPU is visible",
                      plugins_problem="libbert_plugins.so not found", kernels_problem="libbert_kernels.so not found")
GPU_TRT_NO_PLUGINS = Capabilities(None, None, "libbert_plugins.so not found", None)


@pytest.fixture(autouse=True)
def cpu_only(monkeypatch):
    """Every run here is the fallback without TensorRT or a GPU. On a machine that has them, hide
    both, so the same variants are planned and skipped and the environment records no GPU."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # what environment() asks
    monkeypatch.setattr(runner, "detect_capabilities", lambda: NO_GPU)


def by_name(planned):
    return {p.variant.name: p for p in planned}


# --- planning -----------------------------------------------------------------------------------

def test_select_takes_names_and_globs_in_registry_order():
    assert [v.name for v in select("torch-fp32-eager,onnx-*")] == ["onnx-fp32", "onnx-fp16", "onnx-int8",
                                                                 "torch-fp32-eager"]
    single = [v for v in select("hand-fp16-*") if v.fusions in variants.SINGLE_FUSIONS]
    assert [v.fusions for v in single] == list(variants.SINGLE_FUSIONS)
    assert {v.name for v in select("hand-fp16-*")} >= {"hand-fp16-all", "hand-fp16-all-packed"}
    assert len(select("all")) == len(variants.VARIANTS)
    assert select("torch-*", skip_pytorch=True) == []
    with pytest.raises(UserError, match="matches no variant"):
        select("hand-fp64")


def test_every_variant_the_issue_asks_for_exists():
    names = {v.name for v in variants.VARIANTS}
    assert {"onnx-fp32", "onnx-fp16", "onnx-int8", "hand-fp32", "hand-fp16", "hand-int8", "hand-fp16-layernorm",
            "hand-fp16-all", "hand-fp16-all-packed", "torch-fp32-eager", "torch-fp16-sdpa",
            "torch-fp16-sdpa-graph", "torch-fp16-compile-graph"} <= names
    from builder import Fusions

    for v in variants.VARIANTS:  # every fusion text is one builder.py accepts
        if v.kind == "hand":
            Fusions.parse(v.fusions)


def test_without_tensorrt_or_gpu_everything_is_placed_or_skipped_with_a_reason():
    planned = by_name(plan(select("all"), NO_GPU))
    for name in ("onnx-fp32", "onnx-fp16", "onnx-int8"):
        assert not planned[name].runs and "TensorRT is not installed" in planned[name].skip_reason
        assert "ONNX parser" in planned[name].skip_reason
    for name in ("hand-fp32", "hand-int8", "hand-fp16-attention", "hand-fp16-all-packed"):
        assert planned[name].backend == "reference" and "accuracy only" in planned[name].note
    assert planned["torch-fp32-eager"].backend == "cpu"
    for name in ("torch-fp16-sdpa", "torch-fp16-sdpa-graph", "torch-fp16-compile-graph"):
        assert not planned[name].runs
        assert planned[name].skip_reason == ("no CUDA GPU is visible: fp16 SDPA, CUDA graphs and torch.compile "
                                             "are GPU baselines")
    assert planned["kernel-attention"].skip_reason == "no CUDA GPU is visible"


def test_capabilities_come_from_torch_and_tensorrt():
    caps = variants.detect_capabilities()  # the real detection, under cpu_only's torch
    assert caps.cuda_problem == "no CUDA GPU is visible"
    from bertrt.trt_api import runtime_problem

    assert caps.tensorrt_problem == runtime_problem()


def test_with_tensorrt_plugin_variants_need_the_plugin_library():
    planned = by_name(plan(select("hand-*,kernel-layernorm"), GPU_TRT_NO_PLUGINS))
    assert planned["hand-fp16"].backend == "tensorrt"
    assert planned["hand-fp16-fused_qkv"].backend == "tensorrt"  # one GEMM: no plugin involved
    for name in ("hand-fp16-layernorm", "hand-fp16-attention", "hand-fp16-all-packed"):
        assert planned[name].skip_reason == "libbert_plugins.so not found"
    assert planned["kernel-layernorm"].backend == "cuda"


def test_backend_choices():
    with pytest.raises(UserError, match="--backend tensorrt: TensorRT is not installed"):
        plan(select("hand-fp32"), NO_GPU, "tensorrt")
    forced = by_name(plan(select("onnx-fp16,hand-fp16"), GPU_TRT_NO_PLUGINS, "reference"))
    assert forced["hand-fp16"].backend == "reference"
    assert "--backend reference" in forced["onnx-fp16"].skip_reason
    assert plan(select("torch-*"), NO_GPU, "tensorrt")[0].backend == "cpu"  # no engine variant: no error


def test_random_weights_skip_the_accuracy_only_reference_runs():
    planned = by_name(plan(select("hand-fp32,torch-fp32-eager"), NO_GPU, random_weights=True))
    assert "random weights" in planned["hand-fp32"].skip_reason
    assert planned["torch-fp32-eager"].runs
    with_trt = by_name(plan(select("hand-fp32"), GPU_TRT_NO_PLUGINS, random_weights=True))
    assert with_trt["hand-fp32"].backend == "tensorrt"  # latency is the point there


def test_model_specs():
    base = ModelSource.parse("config:bert-base")
    assert base.random_weights and base.weights_label == RANDOM_LABEL
    assert base.dims().hidden_size == 768 and base.dims().num_layers == 12 and base.dims().vocab_size == 30522
    small = ModelSource.parse("config:bert-large,num_hidden_layers=2,layer_norm_eps=1e-5")
    assert (small.dims().num_layers, small.dims().hidden_size, small.dims().layer_norm_eps) == (2, 1024, 1e-5)
    assert not ModelSource.parse("bert-base-uncased").random_weights
    assert ModelSource.parse("bert-base-uncased").slug != ModelSource.parse("./bert-base-uncased").slug
    for bad in ("config:gpt2", "config:bert-base,layers", "config:bert-base,num_hidden_layers=two"):
        with pytest.raises(UserError):
            ModelSource.parse(bad)


# --- engine cache -------------------------------------------------------------------------------

BASE_KEY = dict(builder="hand-built", onnx_sha256="a" * 64, mode="fp16", fusions="none",
                profile=dict(min_batch=1, opt_batch=1, max_batch=8, min_seq=1, opt_seq=128, max_seq=384),
                tensorrt="10.16.0", gpu="NVIDIA H100 80GB HBM3")


class FakeBuild:
    """Writes an engine the way the backend does and counts how often it ran."""

    def __init__(self, path):
        self.path, self.calls = path, 0

    def __call__(self):
        self.calls += 1
        self.path.write_bytes(f"engine {self.calls}".encode())
        return 1.5


@pytest.mark.parametrize("change", [
    dict(mode="int8"), dict(fusions="layernorm"), dict(onnx_sha256="b" * 64), dict(tensorrt="10.8.0"),
    dict(gpu="NVIDIA H200"), dict(profile=dict(BASE_KEY["profile"], opt_seq=384)),
    dict(extra={"plugin_library_sha256": "c" * 64})], ids=lambda c: next(iter(c)))
def test_each_input_of_an_engine_invalidates_it(tmp_path, change):
    engine = tmp_path / "hand-fp16.engine"
    build = FakeBuild(engine)
    assert build_cached(engine, EngineKey(**BASE_KEY), build) == (1.5, False)
    assert build_cached(engine, EngineKey(**BASE_KEY), build) == (1.5, True)  # same inputs: reused
    assert build.calls == 1
    assert build_cached(engine, EngineKey(**dict(BASE_KEY, **change)), build) == (1.5, False)
    assert build.calls == 2 and engine.read_bytes() == b"engine 2"
    assert build_cached(engine, EngineKey(**dict(BASE_KEY, **change)), build)[1]


def test_a_missing_engine_or_a_failed_build_is_never_taken_as_cached(tmp_path):
    engine = tmp_path / "x.engine"
    build = FakeBuild(engine)
    build_cached(engine, EngineKey(**BASE_KEY), build)
    engine.unlink()
    assert not engine_cache.is_fresh(engine, EngineKey(**BASE_KEY))
    build_cached(engine, EngineKey(**BASE_KEY), build)
    assert build.calls == 2

    def failing():
        engine.write_bytes(b"half an engine")
        raise RuntimeError("builder crashed")

    with pytest.raises(RuntimeError):
        build_cached(engine, EngineKey(**dict(BASE_KEY, mode="fp32")), failing)
    assert not engine_cache.key_path(engine).exists()  # the old key went before the build started
    assert not engine_cache.is_fresh(engine, EngineKey(**BASE_KEY))


def test_onnx_hash_follows_the_content(tmp_path):
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"first model")
    first = file_sha256(onnx)
    onnx.write_bytes(b"other model")  # same size, other bytes
    assert file_sha256(onnx) != first and len(first) == 64


# --- measurement arithmetic ---------------------------------------------------------------------

def test_iteration_count_gives_enough_timed_work():
    assert plan_iterations(0.5, 200, min_seconds=1.0) == 2000       # 1 s of 0.5 ms calls
    assert plan_iterations(20.0, 200, min_seconds=1.0) == 200       # the minimum count rules
    assert plan_iterations(100.0, 200, min_seconds=1.0, max_seconds=10.0) == 100  # capped at 10 s
    assert plan_iterations(5000.0, 200, max_seconds=10.0) == 3      # a median needs a few samples


def test_speedups_are_against_pytorch_fp32_eager_at_the_same_shape():
    rows = [Row("torch-fp32-eager", "torch", "fp32", "cuda", 1, 128, median_ms=10.0),
            Row("torch-fp32-eager", "torch", "fp32", "cuda", 8, 128, median_ms=40.0),
            Row("hand-fp16", "hand", "fp16", "tensorrt", 1, 128, median_ms=2.5),
            Row("hand-fp16", "hand", "fp16", "tensorrt", 8, 128, median_ms=8.0),
            Row("hand-fp16", "hand", "fp16", "tensorrt", 8, 384, median_ms=20.0),  # no baseline there
            Row("kernel-layernorm", "kernel", "fp16", "cuda", 1, 128, median_ms=0.002, torch_op_ms=0.005)]
    add_speedups(rows)
    assert [r.speedup for r in rows] == [1.0, 1.0, 4.0, 5.0, None, pytest.approx(2.5)]


# --- whole runs on the CPU ----------------------------------------------------------------------

def read_outputs(out_dir):
    document = json.loads((out_dir / "results.json").read_text())
    with open(out_dir / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    return document, table, (out_dir / "results.txt").read_text()


def rows_of(document, variant):
    return [r for r in document["rows"] if r["variant"] == variant]


def assert_valid_png(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 500 and height > 300
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width) and pixels.std() > 0  # decodes, and is not blank


def test_cpu_run_on_a_tiny_model_writes_consistent_table_csv_json_png(tiny_models, tmp_path, capsys):
    tiny = tiny_models("legacy", **TINY)
    out = tmp_path / "bench"
    runner.main(["--model", str(tiny.model_dir), "--onnx", str(tiny.onnx), "--reference", str(tiny.reference),
                 "--out-dir", str(out), "--variants", "onnx-fp32,hand-fp32,hand-fp16,hand-int8,hand-fp16-all-packed,"
                 "torch-*,kernel-attention", *FAST])
    printed = capsys.readouterr().out
    document, table, text = read_outputs(out)

    # Accuracy of the hand-built network on the reference backend, against PyTorch fp32.
    [fp32] = rows_of(document, "hand-fp32")
    assert fp32["status"] == "ok" and fp32["backend"] == "reference"
    assert fp32["top1"] == 1.0 and fp32["max_abs_diff"] < 1e-4 and fp32["accuracy_ok"] is True
    assert fp32["median_ms"] is None  # numpy wall-clock is not a TensorRT latency
    [fp16] = rows_of(document, "hand-fp16")
    assert 1e-5 < fp16["max_abs_diff"] < 0.1 and fp16["top1"] >= 0.9 and fp16["accuracy_ok"] is True
    [packed] = rows_of(document, "hand-fp16-all-packed")
    assert packed["accuracy_ok"] is True and packed["top1"] >= 0.9
    [int8] = rows_of(document, "hand-int8")
    assert int8["status"] == "ok" and int8["top1"] >= 0.8 and "calibration batches" in int8["reason"]

    # PyTorch fp32 eager, timed on the CPU at every shape; the speedup baseline is itself.
    eager = rows_of(document, "torch-fp32-eager")
    assert [(r["batch"], r["seq"]) for r in eager] == [(1, 8), (1, 16), (2, 8), (2, 16)]
    for r in eager:
        assert r["backend"] == "cpu" and r["status"] == "ok"
        assert 0 < r["median_ms"] <= r["p90_ms"] <= r["p99_ms"] and r["iterations"] >= 5
        assert r["speedup"] == 1.0 and r["top1"] == 1.0 and r["max_abs_diff"] < 1e-4

    # What could not run says why.
    assert "TensorRT" in rows_of(document, "onnx-fp32")[0]["reason"]
    for name in ("torch-fp16-sdpa", "torch-fp16-sdpa-graph", "torch-fp16-compile-graph"):
        [row] = rows_of(document, name)
        assert row["status"] == "skipped" and "no CUDA GPU is visible" in row["reason"]
    assert rows_of(document, "kernel-attention")[0]["status"] == "skipped"
    assert "torch-fp16-sdpa, torch-fp16-sdpa-graph, torch-fp16-compile-graph: no CUDA GPU is visible" in text
    assert text in printed  # the terminal shows the same table as results.txt

    # CSV and JSON hold the same rows, in the same order.
    # one row per skipped or accuracy-only variant (9), one per shape for the timed one (4)
    assert len(table) == len(document["rows"]) == 9 + 4
    for csv_row, json_row in zip(table, document["rows"]):
        assert csv_row == {k: "" if v is None else str(v) for k, v in json_row.items()}
    assert document["model"]["export"]["onnx_sha256"] == file_sha256(tiny.onnx)
    assert document["environment"]["torch"] and document["environment"]["gpu"] is None
    assert_valid_png(out / "results.png")
    (out / "results.png").unlink()
    from bertrt.bench.results import render

    assert render(out / "results.json") == [out / "results.txt", out / "results.png"]
    assert (out / "results.txt").read_text() == text
    assert_valid_png(out / "results.png")


def test_a_failing_variant_leaves_a_row_and_the_others_run(tiny_models, tmp_path, monkeypatch):
    tiny = tiny_models("legacy", **TINY)
    real = runner.engines._reference_row

    def broken(variant, *args):
        if variant.name == "hand-fp16":
            raise RuntimeError("planted failure")
        return real(variant, *args)

    monkeypatch.setattr(runner.engines, "_reference_row", broken)
    out = tmp_path / "bench"
    runner.main(["--model", str(tiny.model_dir), "--onnx", str(tiny.onnx), "--reference", str(tiny.reference),
                 "--out-dir", str(out), "--variants", "hand-fp16,hand-fp32", "--no-plots", *FAST])
    document, _, text = read_outputs(out)
    [failed] = rows_of(document, "hand-fp16")
    assert failed["status"] == "failed" and failed["reason"] == "RuntimeError: planted failure"
    assert rows_of(document, "hand-fp32")[0]["top1"] == 1.0
    assert "failed:\n  hand-fp16: RuntimeError: planted failure" in text
    assert "planted failure" in (out / "errors.log").read_text()
    assert not (out / "results.png").exists()


def test_an_interrupted_run_keeps_its_results_and_says_what_did_not_run(tiny_models, tmp_path, monkeypatch):
    tiny = tiny_models("legacy", **TINY)
    real = runner.engines._reference_row

    def interrupted(variant, ctx, status, note):
        if variant.name == "hand-fp16":
            status("building on the CPU")
            raise KeyboardInterrupt
        return real(variant, ctx, status, note)

    monkeypatch.setattr(runner.engines, "_reference_row", interrupted)
    out = tmp_path / "bench"
    with pytest.raises(SystemExit) as stop:
        runner.main(["--model", str(tiny.model_dir), "--onnx", str(tiny.onnx), "--reference", str(tiny.reference),
                     "--out-dir", str(out), "--variants", "hand-fp32,hand-fp16,hand-int8,torch-fp32-eager", *FAST])
    assert stop.value.code == 130
    document, _, _ = read_outputs(out)
    assert rows_of(document, "hand-fp32")[0]["top1"] == 1.0
    assert rows_of(document, "hand-fp16")[0]["reason"] == "interrupted while building on the CPU"
    for name in ("hand-int8", "torch-fp32-eager"):
        assert rows_of(document, name)[0]["reason"] == "not run: the run was interrupted"
    assert not (out / "results.png").exists()  # no timed row: nothing to plot

    (out / "results.txt").unlink()  # the saved JSON alone re-renders the table
    from bertrt.bench.results import render

    assert render(out / "results.json") == [out / "results.txt"]
    assert "hand-fp16: interrupted while building on the CPU" in (out / "results.txt").read_text()


def test_export_runs_once_per_model_then_is_reused(tiny_models, tmp_path):
    tiny = tiny_models("legacy", **TINY)
    out = tmp_path / "bench"
    args = ["--model", str(tiny.model_dir), "--exporter", "legacy", "--out-dir", str(out), "--variants",
            "hand-fp32", "--no-plots", *FAST]
    runner.main(args)
    first = json.loads((out / "results.json").read_text())["model"]["export"]
    assert first["exported_now"] and first["model"] == str(tiny.model_dir)
    assert str(out / "models") in first["onnx"]
    runner.main(args)
    second = json.loads((out / "results.json").read_text())
    assert not second["model"]["export"]["exported_now"] and second["model"]["export"]["onnx_sha256"] == \
        first["onnx_sha256"]
    assert rows_of(second, "hand-fp32")[0]["top1"] == 1.0


def test_random_weights_time_pytorch_and_leave_accuracy_empty(tmp_path):
    out = tmp_path / "bench"
    runner.main(["--model", TINY_CONFIG, "--out-dir", str(out), "--variants", "hand-fp32,torch-fp32-eager",
                 "--no-plots", *FAST])
    document, _, text = read_outputs(out)
    assert document["model"]["weights"] == RANDOM_LABEL and document["model"]["export"] is None
    assert f"({RANDOM_LABEL})" in text
    eager = rows_of(document, "torch-fp32-eager")
    assert len(eager) == 4 and all(r["median_ms"] > 0 and r["top1"] is None and r["max_abs_diff"] is None
                                   and r["weights"] == RANDOM_LABEL for r in eager)
    assert rows_of(document, "hand-fp32")[0]["status"] == "skipped"


def test_a_random_weight_model_can_be_exported_for_tensorrt(tmp_path):
    """What a TensorRT machine without the real weights does: save the random model, export it."""
    from bertrt.bench.model_source import ensure_export
    from bertrt.onnx_weights import load_weights

    source = ModelSource.parse(TINY_CONFIG)
    export = ensure_export(source, tmp_path, exporter="legacy")
    dims, expected = load_weights(export.onnx).dims, source.dims()
    assert dims.layer_norm_eps == pytest.approx(expected.layer_norm_eps)  # stored as float32 in ONNX
    assert dims == dataclasses.replace(expected, layer_norm_eps=dims.layer_norm_eps)
    with np.load(export.reference) as reference:
        assert reference["logits"].shape[-1] == 120 and len(reference["mask_positions"]) == 2
    assert not ensure_export(source, tmp_path, exporter="legacy").exported  # reused


def test_sequence_longer_than_the_model_is_refused(tmp_path):
    with pytest.raises(UserError, match="exceeds the model's 64 positions"):
        runner.main(["--model", TINY_CONFIG, "--out-dir", str(tmp_path), "--variants", "torch-fp32-eager",
                     "--seq", "128"])


class StandInTensorRT:
    """The TensorRT path of the runner without TensorRT: 'engines' are built by the reference
    backend and kept in memory; the engine file holds a marker so the cache has a file to see."""

    name = "tensorrt"

    def __init__(self):
        from bertrt.backend import ReferenceBackend

        self.reference = ReferenceBackend()
        self.trt = self.reference.trt
        self.engines, self.builds = {}, []

    def builder(self):
        return self.reference.builder()

    def plugin_registry(self):
        return self.reference.plugin_registry()

    def build(self, builder, network, config, engine_path, metadata):
        engine, seconds = self.reference.build(builder, network, config, None, metadata)
        self.engines[str(engine_path)] = engine
        engine_path.parent.mkdir(parents=True, exist_ok=True)
        engine_path.write_bytes(b"stand-in engine")
        self.builds.append(engine_path.name)
        return engine_path, seconds

    def runner(self, engine_path):
        return self.reference.runner(self.engines[str(engine_path)])


def test_tensorrt_path_builds_each_engine_once_and_times_every_shape(tiny_models, tmp_path, monkeypatch):
    tiny = tiny_models("legacy", **TINY)
    stand_in = StandInTensorRT()
    monkeypatch.setattr("bertrt.backend.TensorRTBackend", lambda: stand_in)
    monkeypatch.setattr(runner, "detect_capabilities", lambda: Capabilities(None, "no CUDA GPU is visible", None,
                                                                            "libbert_kernels.so not found"))
    plugin_library = tmp_path / "libbert_plugins.so"  # the reference backend emulates the plugins
    plugin_library.write_bytes(b"plugins v1")
    monkeypatch.setattr("bertrt.backend.PLUGIN_LIBRARY", plugin_library)
    out = tmp_path / "bench"
    args = ["--model", str(tiny.model_dir), "--onnx", str(tiny.onnx), "--reference", str(tiny.reference),
            "--out-dir", str(out), "--variants", "hand-fp32,hand-fp16-all-packed", "--no-plots", *FAST]
    runner.main(args)
    assert stand_in.builds == ["hand-fp32.engine", "hand-fp16-all-packed.engine"]  # one engine per variant
    document, _, _ = read_outputs(out)
    for name in ("hand-fp32", "hand-fp16-all-packed"):
        rows = rows_of(document, name)
        assert [(r["batch"], r["seq"]) for r in rows] == [(1, 8), (1, 16), (2, 8), (2, 16)]
        assert all(r["backend"] == "tensorrt" and r["median_ms"] > 0 and r["engine_mb"] > 0 and r["cached"] is False
                   and r["accuracy_ok"] is True for r in rows)
    assert rows_of(document, "hand-fp32")[0]["max_abs_diff"] < 1e-4
    key = json.loads(engine_cache.key_path(out / "engines" / ModelSource(str(tiny.model_dir)).slug
                                           / "hand-fp32.engine").read_text())["key"]
    assert key["profile"] == dict(min_batch=1, opt_batch=1, max_batch=4, min_seq=1, opt_seq=8, max_seq=16)
    assert key["onnx_sha256"] == file_sha256(tiny.onnx) and key["gpu"] == "no GPU"

    stand_in.builds.clear()
    runner.main(args)  # nothing changed: both engines are reused
    assert stand_in.builds == []
    assert all(r["cached"] for r in json.loads((out / "results.json").read_text())["rows"])
    plugin_library.write_bytes(b"plugins v2")  # a rebuilt plugin library: only the plugin engine is stale
    runner.main(args)
    assert stand_in.builds == ["hand-fp16-all-packed.engine"]
    stand_in.builds.clear()

    runner.main(args + ["--profile-per-shape", "--variants", "hand-fp32"])
    assert stand_in.builds == ["hand-fp32-b1-s8.engine", "hand-fp32-b1-s16.engine", "hand-fp32-b2-s8.engine",
                               "hand-fp32-b2-s16.engine"]
