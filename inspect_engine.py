"""What TensorRT made of a network: the engine's layers, their precisions and fusions.

    python inspect_engine.py artifacts/bert_int8_none.engine
    python inspect_engine.py artifacts/onnx_fp16.engine --json artifacts/onnx_fp16.layers.json

Engines are built with ProfilingVerbosity.DETAILED (bertrt/engine_config.py), so each engine
layer lists the network layers it fused: with the hand-built network those are HF module names,
so you can read off which GEMMs really run INT8 (a pinned layer without scales falls back to
fp16, with only a warning in the build log), whether bias + GELU became one kernel, and where
TensorRT inserted reformats. Needs TensorRT 10 and a GPU.
"""
from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

from bertrt.common import UserError, atomic_write_bytes, run_main


def engine_layers(runner) -> list[dict]:
    """The engine's layers as TensorRT's inspector reports them (JSON format)."""
    trt = runner.trt
    inspector = runner.engine.create_engine_inspector()
    info = json.loads(inspector.get_engine_information(trt.LayerInformationFormat.JSON))
    layers = info.get("Layers", [])
    if layers and isinstance(layers[0], str):
        raise UserError("the engine was built without detailed profiling verbosity: rebuild it with "
                        "builder.py or onnx2trt.py (they set ProfilingVerbosity.DETAILED)")
    return layers


# The precision word in the inspector's "Format/Datatype" strings, e.g. "Row major linear FP16
# format", "Channel major FP16 format where channel % 4 == 0", "Row major Int8 format".
_PRECISION = re.compile(r"\b(FP32|FP16|BF16|FP8|FP4|INT8|Int8|INT4|Int4|Int32|INT32|Int64|INT64|Bool|Half|Float)\b")


def output_types(layer: dict) -> str:
    """Output precisions of an engine layer, e.g. 'FP16' or 'Int8' (what it writes)."""
    formats = [o.get("Format/Datatype") or "?" for o in layer.get("Outputs", [])]
    return ",".join(sorted({(m.group(1) if (m := _PRECISION.search(f)) else f) for f in formats}))


def main(argv=None) -> None:
    from bertrt.backend import TensorRTBackend

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("engine", type=Path)
    parser.add_argument("--json", type=Path, default=None, help="also save the inspector's JSON here")
    args = parser.parse_args(argv)

    runner = TensorRTBackend().runner(args.engine)  # checks TensorRT version, GPU, plugins
    layers = engine_layers(runner)
    print(f"{args.engine}: {len(layers)} engine layers")
    print(f"{'engine layer':60s} {'type':22s} {'writes':10s} tactic")
    for layer in layers:
        print(f"{layer.get('Name', '?')[:60]:60s} {layer.get('LayerType', '?')[:22]:22s} "
              f"{output_types(layer)[:10]:10s} {layer.get('TacticName', '')}")
    counts = Counter(output_types(layer) for layer in layers)
    print("engine layers by output type: " + ", ".join(f"{k}: {v}" for k, v in counts.most_common()))
    if args.json:
        atomic_write_bytes(args.json, json.dumps(layers, indent=2).encode())
        print(f"wrote {args.json}")


if __name__ == "__main__":
    run_main(main)
