"""The engine variants: TensorRT's ONNX parser and the hand-built network, at every precision
and fusion, built through the same functions `onnx2trt.py` and `builder.py` use.

On TensorRT: one engine per variant whose profile covers every swept shape and the reference
batch (opt = the smallest swept shape: the latency-critical one), or with --profile-per-shape one
engine per shape with opt = that shape. Engines are cached (engine_cache.py). Accuracy is
measured once per variant on the reference sentences, latency on `timing.latency_feed`.

On the reference backend (no TensorRT): the same network runs on the CPU for the accuracy
columns only; its numpy wall-clock is not a TensorRT latency and is not reported as one.
"""
from __future__ import annotations

import argparse
import functools
from dataclasses import asdict, dataclass
from pathlib import Path

from bertrt import engine_config, precision
from bertrt.backend import engine_metadata
from bertrt.bench.engine_cache import EngineKey, build_cached, file_sha256
from bertrt.bench.model_source import Export
from bertrt.bench.results import Row
from bertrt.bench.timing import Protocol, latency_feed
from bertrt.bench.variants import Planned, Variant
from bertrt.check import accuracy_report
from bertrt.report import run_reference_batch
from bertrt.runtime import pack

# INT8 on the CPU reference backend calibrates through numpy BERT: a few batches keep it minutes
# shorter on bert-base; TensorRT uses --calib-batches.
REFERENCE_CALIB_BATCHES = 4


@dataclass
class EngineContext:
    backend: object                  # bertrt.backend.TensorRTBackend or ReferenceBackend
    export: Export
    reference: dict                  # bertrt.report.load_reference(export.reference)
    shapes: list[tuple[int, int]]    # (batch, seq) to time
    engine_dir: Path
    random_weights: bool
    weights_label: str
    gpu: str                         # engines are specific to the GPU they were built on
    protocol: Protocol = Protocol()
    profile_per_shape: bool = False
    workspace_mb: int = 2048
    calib_algorithm: str = "entropy"
    calib_batches: int = 32
    _weights: object = None

    @property
    def reference_shape(self) -> tuple[int, int]:
        return tuple(self.reference["input_ids"].shape)

    def weights(self):
        if self._weights is None:
            from bertrt.onnx_weights import load_weights

            self._weights = load_weights(self.export.onnx)
        return self._weights

    def profile(self, shapes: list[tuple[int, int]]) -> engine_config.ProfileShapes:
        """min 1x1, opt the smallest of `shapes`, max covering `shapes` and the reference batch."""
        batches, seqs = zip(*shapes, self.reference_shape)
        opt_batch, opt_seq = min(shapes)
        return engine_config.ProfileShapes(1, opt_batch, max(batches), 1, opt_seq, max(seqs))


def _fusions(variant: Variant):
    from builder import Fusions

    return Fusions() if variant.kind == "onnx" else Fusions.parse(variant.fusions)


def _define(variant: Variant, ctx: EngineContext):
    """(builder, network, keep_alive): the network of `variant`, not built yet."""
    from builder import build_network
    from onnx2trt import parse_onnx

    if variant.kind == "onnx":
        builder, network, parser = parse_onnx(ctx.backend, ctx.export.onnx)
        precision.apply_to_parsed_network(network, variant.precision, ctx.backend.trt)
        return builder, network, parser  # the parser owns the weights until the build
    builder, network, helper = build_network(ctx.backend, ctx.weights(), _fusions(variant), variant.precision)
    return builder, network, helper


def _calibration_args(variant: Variant, ctx: EngineContext) -> argparse.Namespace:
    """builder.py's precision options, its defaults included, for this variant: what
    builder.make_calibrator reads (INT8 only; the other modes ignore them)."""
    from builder import add_precision_arguments

    parser = argparse.ArgumentParser()
    add_precision_arguments(parser)
    batches = ctx.calib_batches if ctx.backend.name == "tensorrt" else min(ctx.calib_batches, REFERENCE_CALIB_BATCHES)
    args = parser.parse_args(["--mode", variant.precision, "--calib-algorithm", ctx.calib_algorithm,
                              "--calib-batches", str(batches)])
    args.model, args.onnx = ctx.export.model, ctx.export.onnx
    args.calib_cache = ctx.engine_dir / f"calibration_{ctx.backend.name}_{variant.name}.cache"
    args.calib_seq = min(args.calib_seq, int(ctx.weights().dims.max_position))
    return args


def _build(variant: Variant, ctx: EngineContext, profile, calib_args, engine_path: Path | None, timing_cache):
    """Define, configure and build: (artifact, seconds). TensorRT writes the engine to engine_path."""
    from builder import make_calibrator

    fusions = _fusions(variant)
    builder, network, _keep_alive = _define(variant, ctx)
    config = engine_config.configure(
        builder, network, ctx.backend.trt, variant.precision, profile, packed=fusions.packed,
        workspace_mb=ctx.workspace_mb,
        calibrator=make_calibrator(calib_args, ctx.backend,
                                   "onnx-parser" if variant.kind == "onnx" else f"hand-built:{fusions.label()}"),
        calibration_shape=(calib_args.calib_batch_size, calib_args.calib_seq), timing_cache=timing_cache)
    hand_built = variant.kind != "onnx"  # the parser path reads no weights here: no dims to record
    metadata = engine_metadata("hand-built" if hand_built else "onnx-parser", variant.precision, profile,
                               fusions, ctx.weights().dims if hand_built else None)
    artifact, seconds = ctx.backend.build(builder, network, config, engine_path, metadata)
    if timing_cache is not None:
        engine_config.save_timing_cache(config, timing_cache)
    return artifact, seconds


def _accuracy(runner, variant: Variant, ctx: EngineContext, packed: bool) -> dict:
    """top1/top5/max_abs_diff/accuracy_ok on the reference sentences (empty for random weights)."""
    if ctx.random_weights:
        return {}
    logits = run_reference_batch(runner, ctx.reference, packed)
    positions = [tuple(p) for p in ctx.reference["mask_positions"]]
    report = accuracy_report(logits, ctx.reference["logits"], ctx.reference["attention_mask"].astype(bool),
                             variant.precision, positions)
    return dict(top1=report["top1_agreement"], top5=report["top5_agreement"],
                max_abs_diff=report["max_abs_diff"], accuracy_ok=bool(report["passed"]))


def engine_key(variant: Variant, ctx: EngineContext, profile, fusions, calib_args) -> EngineKey:
    from bertrt.backend import PLUGIN_LIBRARY
    from bertrt.trt_api import trt_version

    extra = {}
    if fusions.plugins:
        extra["plugin_library_sha256"] = file_sha256(PLUGIN_LIBRARY)
    if variant.precision == "int8":
        extra["calibration"] = dict(algorithm=calib_args.calib_algorithm, batches=calib_args.calib_batches,
                                    batch_size=calib_args.calib_batch_size, seq=calib_args.calib_seq,
                                    corpus_sha256=file_sha256(calib_args.calib_data))
    return EngineKey(builder="onnx-parser" if variant.kind == "onnx" else "hand-built",
                     onnx_sha256=file_sha256(ctx.export.onnx), mode=variant.precision, fusions=fusions.label(),
                     profile=asdict(profile), tensorrt=str(trt_version()), gpu=ctx.gpu,
                     extra=extra)


def _tensorrt_rows(variant: Variant, ctx: EngineContext, status) -> list[Row]:
    groups = [[shape] for shape in ctx.shapes] if ctx.profile_per_shape else [list(ctx.shapes)]
    fusions, calib_args = _fusions(variant), _calibration_args(variant, ctx)
    rows, accuracy = [], None
    for shapes in groups:
        profile = ctx.profile(shapes)
        suffix = f"-b{shapes[0][0]}-s{shapes[0][1]}" if ctx.profile_per_shape else ""
        engine_path = ctx.engine_dir / f"{variant.name}{suffix}.engine"

        def build() -> float:
            status(f"building {engine_path.name}")
            return _build(variant, ctx, profile, calib_args, engine_path, ctx.engine_dir / "timing.cache")[1]

        seconds, cached = build_cached(engine_path, engine_key(variant, ctx, profile, fusions, calib_args), build)
        runner = ctx.backend.runner(engine_path)
        if accuracy is None:
            status("accuracy")
            accuracy = _accuracy(runner, variant, ctx, fusions.packed)
        for batch, seq in shapes:
            status(f"timing batch {batch} x seq {seq}")
            feed = latency_feed(batch, seq, ctx.weights().dims.vocab_size)
            feed = pack(feed) if fusions.packed else feed
            timing = ctx.protocol.time(functools.partial(runner.benchmark, feed))
            rows.append(Row(variant.name, variant.kind, variant.precision, "tensorrt", batch, seq,
                            median_ms=timing.median_ms, p90_ms=timing.p90_ms, p99_ms=timing.p99_ms,
                            iterations=timing.iterations, build_s=seconds, cached=cached,
                            engine_mb=engine_path.stat().st_size / 2**20, weights=ctx.weights_label, **accuracy))
    return rows


def _reference_row(variant: Variant, ctx: EngineContext, status, note: str) -> Row:
    batch, seq = ctx.reference_shape
    calib_args = _calibration_args(variant, ctx)
    status("building on the CPU" + (" (INT8 calibration)" if variant.precision == "int8" else ""))
    profile = engine_config.ProfileShapes(1, batch, batch, 1, seq, seq)  # INT8 calibrates at its own profile
    engine, seconds = _build(variant, ctx, profile, calib_args, None, None)
    status("accuracy on the CPU")
    accuracy = _accuracy(ctx.backend.runner(engine), variant, ctx, _fusions(variant).packed)
    if variant.precision == "int8":
        note += f"; INT8 scales from {calib_args.calib_batches} calibration batches"
    return Row(variant.name, variant.kind, variant.precision, "reference", batch, seq, reason=note,
               build_s=seconds, weights=ctx.weights_label, **accuracy)


def run(planned: Planned, ctx: EngineContext, status=lambda text: None) -> list[Row]:
    """The rows of one engine variant: one per swept shape on TensorRT, one accuracy row on the
    reference backend. `status(text)` is told what is happening (for the progress bar)."""
    if planned.backend == "reference":
        return [_reference_row(planned.variant, ctx, status, planned.note)]
    return _tensorrt_rows(planned.variant, ctx, status)
