"""Step 2: the baseline: TensorRT's ONNX parser turns model.onnx into an engine.

    python onnx2trt.py                 # fp32
    python onnx2trt.py --fp16          # or --int8 (calibrated on calibrator_data.txt)

This is what the hand-built network (builder.py) is compared against: same ONNX weights, same
optimization profile, same precision flags and policy, only the network definition differs.
Needs TensorRT 10 and a GPU (the reference backend has no ONNX parser).
"""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from bertrt import engine_config, precision
from bertrt.backend import TensorRTBackend, engine_metadata
from bertrt.common import ARTIFACTS_DIR, ONNX_PATH, REFERENCE_PATH, UserError, run_main
from bertrt.report import load_reference, report


def parse_onnx(backend, onnx_path: Path):
    """A network definition parsed from ONNX, with the parser's own errors on failure."""
    trt = backend.trt
    if not onnx_path.exists():
        raise UserError(f"{onnx_path} not found: run `python model2onnx.py` first")
    builder = backend.builder()
    network = builder.create_network(0)
    onnx_parser = trt.OnnxParser(network, backend.logger)
    if not onnx_parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(onnx_parser.get_error(i)) for i in range(onnx_parser.num_errors))
        raise UserError(f"TensorRT's ONNX parser rejected {onnx_path}: {errors} (re-export with model2onnx.py)")
    return builder, network, onnx_parser  # the parser must outlive the network


def main(argv=None) -> None:
    import onnx

    from bertrt.onnx_weights import stored_dims
    from builder import add_precision_arguments, make_calibrator

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--onnx", type=Path, default=ONNX_PATH)
    parser.add_argument("--reference", type=Path, default=REFERENCE_PATH)
    parser.add_argument("--engine", type=Path, default=None, help="default artifacts/onnx_<mode>.engine")
    parser.add_argument("--iterations", type=int, default=200)
    add_precision_arguments(parser)
    engine_config.add_profile_arguments(parser)
    args = parser.parse_args(argv)

    shapes = engine_config.profile_from_args(args)
    reference = load_reference(args.reference)
    args.model = args.model or str(reference["model"])
    backend = TensorRTBackend()  # says clearly when TensorRT or a GPU is missing
    builder, network, _parser = parse_onnx(backend, args.onnx)
    dims = stored_dims(onnx.load(str(args.onnx), load_external_data=False))
    if dims is not None:  # positions past the table would gather out of bounds at run time
        shapes.check_model(dims.max_position)
    pinned = precision.apply_to_parsed_network(network, args.mode, backend.trt)
    print(f"precision policy ({args.mode}) on the parsed network: {pinned}")
    config = engine_config.configure(
        builder, network, backend.trt, args.mode, shapes, workspace_mb=args.workspace_mb,
        calibrator=make_calibrator(args, backend, "onnx-parser"), calibration_shape=(args.calib_batch_size, args.calib_seq),
        timing_cache=args.timing_cache)
    engine_path = args.engine or ARTIFACTS_DIR / f"onnx_{args.mode}.engine"
    metadata = engine_metadata("onnx-parser", args.mode, shapes, dims=dims)
    _, seconds = backend.build(builder, network, config, engine_path, metadata)
    engine_config.save_timing_cache(config, args.timing_cache)
    print(f"built {engine_path} from {args.onnx} in {seconds:.1f} s ({json.dumps(asdict(shapes))})")
    report(backend.runner(engine_path), reference, args.mode, iterations=args.iterations,
           title=f"ONNX parser {args.mode} (tensorrt)")


if __name__ == "__main__":
    run_main(main)
