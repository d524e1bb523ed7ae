"""The command line of `python run.py` and the loop over the plan (see run.py for usage)."""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import traceback
from dataclasses import asdict
from pathlib import Path

from bertrt.bench import engines, kernel_bench
from bertrt.bench.model_source import CONFIG_PREFIX, ModelSource, ensure_export
from bertrt.bench.results import Row, format_report, write_all
from bertrt.bench.timing import Protocol
from bertrt.bench.torch_baselines import TorchBaselines
from bertrt.bench.variants import VARIANTS, Planned, detect_capabilities, plan, select
from bertrt.common import ARTIFACTS_DIR, DEFAULT_MODEL, UserError

ROOT = Path(__file__).resolve().parents[2]


def _int_list(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="run.py", description="Build every variant, time it, print the table.")
    parser.add_argument("--variants", default="all",
                        help="comma-separated names or globs (e.g. 'hand-fp16-*,torch-*'); known: "
                             + ", ".join(v.name for v in VARIANTS))
    parser.add_argument("--batch", type=_int_list, default=[1, 8], help="batch sizes to sweep (default 1,8)")
    parser.add_argument("--seq", type=_int_list, default=[128, 384], help="sequence lengths (default 128,384)")
    parser.add_argument("--model", default=DEFAULT_MODEL,
                        help=f"HF name or folder, or {CONFIG_PREFIX}bert-base for random weights (latency only)")
    parser.add_argument("--iterations", type=int, default=200, help="at least this many timed calls per shape")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls first")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="at least this much timed work per shape")
    parser.add_argument("--out-dir", type=Path, default=ARTIFACTS_DIR / "bench")
    parser.add_argument("--backend", choices=("auto", "tensorrt", "reference"), default="auto")
    parser.add_argument("--skip-pytorch", action="store_true", help="no torch-* baselines")
    parser.add_argument("--no-plots", action="store_true")
    engine = parser.add_argument_group("engines")
    engine.add_argument("--profile-per-shape", action="store_true",
                        help="one engine per (batch, seq) with opt = that shape (default: one engine per variant)")
    engine.add_argument("--workspace-mb", type=int, default=2048)
    engine.add_argument("--onnx", type=Path, default=None, help="use this model.onnx (with --reference)")
    engine.add_argument("--reference", type=Path, default=None, help="use this reference.npz (with --onnx)")
    engine.add_argument("--exporter", choices=("dynamo", "legacy"), default="dynamo", help="when exporting")
    engine.add_argument("--calib-algorithm", choices=("entropy", "minmax"), default="entropy")
    engine.add_argument("--calib-batches", type=int, default=32)
    args = parser.parse_args(argv)
    if args.iterations < 1 or args.warmup < 0 or args.min_seconds < 0:
        parser.error("--iterations must be >= 1, --warmup and --min-seconds >= 0")
    return args


def environment() -> dict:
    """What produced the numbers: GPU, driver, library versions, the code's commit."""
    import torch

    from bertrt.trt_api import trt_version

    def command(*cmd) -> str | None:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=20, cwd=ROOT).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None

    try:
        import transformers

        transformers_version = transformers.__version__
    except ImportError:
        transformers_version = None
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    commit = command("git", "rev-parse", "--short", "HEAD")
    return {
        "gpu": gpu,
        "driver": command("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader") if gpu else None,
        "cuda": torch.version.cuda,
        "tensorrt": trt_version(),
        "torch": torch.__version__,
        "transformers": transformers_version,
        "python": platform.python_version(),
        "cpu": f"{platform.machine()}, {os.cpu_count()} cores",
        "git_commit": commit,
        "git_dirty": bool(command("git", "status", "--porcelain", "--untracked-files=no")) if commit else None,
        "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _progress(items):
    """tqdm when installed (a bar on terminals, nothing in logs), else the items as they are."""
    try:
        from tqdm import tqdm

        return tqdm(items, unit="variant", disable=None, file=sys.stderr, dynamic_ncols=True)
    except ImportError:
        return None


def _say(text: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(text, file=sys.stdout)
    except ImportError:
        print(text)


def _skipped_row(p: Planned, weights: str, reason: str | None = None) -> Row:
    return Row(p.variant.name, p.variant.kind, p.variant.precision, status="skipped",
               reason=reason or p.skip_reason, weights=weights)


def _failed_row(p: Planned, err: Exception, weights: str) -> Row:
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return Row(p.variant.name, p.variant.kind, p.variant.precision, p.backend or "", status="failed",
               reason=f"{type(err).__name__}: {message}"[:300], weights=weights)


def _print_plan(source: ModelSource, shapes, planned: list[Planned]) -> None:
    print(f"model: {source.spec} ({source.weights_label}); shapes (batch x seq): "
          + ", ".join(f"{b}x{s}" for b, s in shapes))
    for p in planned:
        where = f"on {p.backend}" + (f" ({p.note})" if p.note else "") if p.runs else f"SKIPPED: {p.skip_reason}"
        print(f"  {p.variant.name:28s} {where}")


def _engine_context(args, source: ModelSource, shapes, engine_variants: list[Planned], protocol: Protocol,
                    gpu: str | None):
    """Export (or reuse) the model, pick the backend: what every engine variant shares."""
    from bertrt.backend import ReferenceBackend, TensorRTBackend
    from bertrt.report import load_reference

    export = ensure_export(source, args.out_dir, args.exporter, args.onnx, args.reference)
    backend = TensorRTBackend() if engine_variants[0].backend == "tensorrt" else ReferenceBackend()
    return engines.EngineContext(
        backend, export, load_reference(export.reference), shapes, args.out_dir / "engines" / source.slug,
        source.random_weights, source.weights_label, gpu or "no GPU", protocol, args.profile_per_shape,
        args.workspace_mb, args.calib_algorithm, args.calib_batches)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    source = ModelSource.parse(args.model)
    shapes = [(b, s) for b in args.batch for s in args.seq]
    planned = plan(select(args.variants, args.skip_pytorch), detect_capabilities(), args.backend,
                   source.random_weights)
    runnable = [p for p in planned if p.runs]
    weights = source.weights_label
    _print_plan(source, shapes, planned)

    dims = source.dims() if runnable else None
    if dims and max(args.seq) > dims.max_position:
        raise UserError(f"--seq {max(args.seq)} exceeds the model's {dims.max_position} positions")
    protocol = Protocol(args.iterations, args.warmup, args.min_seconds)
    env = environment()
    engine_variants = [p for p in runnable if p.backend in ("tensorrt", "reference")]
    context = _engine_context(args, source, shapes, engine_variants, protocol, env["gpu"]) if engine_variants else None
    torch_runs = TorchBaselines(source, context.reference if context else None, protocol)

    def measure(p: Planned, status) -> list[Row]:
        if p.variant.kind in ("onnx", "hand"):
            return engines.run(p, context, status)
        if p.variant.kind == "torch":
            return torch_runs.run(p, shapes, status)
        return kernel_bench.run(p, dims, shapes, protocol, status)

    document = {
        "command": "python run.py " + " ".join(argv),
        "environment": env,
        "model": {"spec": source.spec, "weights": weights, "dims": asdict(dims) if dims else None,
                  "export": context.export.as_dict() if context else None},
        "settings": {"shapes": shapes, "iterations_min": args.iterations, "warmup": args.warmup,
                     "min_seconds": args.min_seconds, "profile_per_shape": args.profile_per_shape,
                     "latency_inputs": "full-length sequences, random token ids (bertrt.bench.timing.latency_feed)"},
        "plan": [{"variant": p.variant.name, "about": p.variant.about, "backend": p.backend,
                  "skip_reason": p.skip_reason or None} for p in planned],
    }
    results = {p.variant.name: [_skipped_row(p, weights)] for p in planned if not p.runs}

    def rows() -> list[Row]:  # in plan order, whatever order they were measured in
        return [row for p in planned for row in results.get(p.variant.name, [])]

    errors_log = args.out_dir / "errors.log"  # full tracebacks of failed variants, this run only
    errors_log.parent.mkdir(parents=True, exist_ok=True)
    errors_log.unlink(missing_ok=True)
    # torch.compile's autotuning takes minutes: measured last, so an interrupted run keeps the rest.
    order = sorted(runnable, key=lambda p: p.variant.recipe == "compile-graph")
    progress = _progress(order)
    doing = {"what": ""}  # the last status, to say where an interrupted run stopped
    for index, p in enumerate(progress if progress is not None else order):
        def status(text: str, name=p.variant.name) -> None:
            doing["what"] = text
            if progress is not None:
                progress.set_description(name)
                progress.set_postfix_str(text)

        status("starting")
        try:
            results[p.variant.name] = measure(p, status)
        except KeyboardInterrupt:  # Ctrl-C or `timeout -s INT`: keep what was measured, say what was not
            results[p.variant.name] = [Row(p.variant.name, p.variant.kind, p.variant.precision, p.backend,
                                           status="failed", reason=f"interrupted while {doing['what']}",
                                           weights=weights)]
            for later in order[index + 1:]:
                results[later.variant.name] = [_skipped_row(later, weights, "not run: the run was interrupted")]
            if progress is not None:
                progress.close()
            _finish(args, rows(), document, errors_log)
            raise SystemExit(130)
        except Exception as err:  # one variant failing must not cost the others' numbers
            results[p.variant.name] = [_failed_row(p, err, weights)]
            with open(errors_log, "a") as log:
                log.write(f"== {p.variant.name}\n{traceback.format_exc()}\n")
        _say(f"{p.variant.name}: " + "; ".join(f"{r.batch}x{r.seq} {r.median_ms:.3f} ms" if r.median_ms
                                                 else (r.reason or r.status) for r in results[p.variant.name]))
        write_all(args.out_dir, rows(), document, plots=False)  # partial results survive an interrupted run
    if progress is not None:
        progress.close()
    _finish(args, rows(), document, errors_log)


def _finish(args, rows: list[Row], document: dict, errors_log: Path) -> None:
    written = write_all(args.out_dir, rows, document, plots=not args.no_plots)
    print()
    print(format_report(rows, document["environment"], document["model"]), end="")
    print("\nwrote " + ", ".join(str(p) for p in written)
          + (f" (tracebacks in {errors_log})" if errors_log.exists() else ""))
