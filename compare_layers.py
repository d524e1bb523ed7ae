"""Debug a hand-built network layer by layer against PyTorch, on the CPU.

    python compare_layers.py --model ./my-bert [--mode fp16] [--fusions all]

Builds the network on the reference backend, runs the reference sentences through it keeping
every named tensor, runs HF's BertForMaskedLM with a hook on every module, and prints one
check() per tensor whose name is an HF module name (the builder names layers after modules), in
execution order. The first row that fails its precision's tolerance is where to look.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bertrt.check import check
from bertrt.common import INPUT_NAMES, ONNX_PATH, REFERENCE_PATH, UserError, run_main


def hf_activations(model, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Output of every HF module (the first output where a module returns a tuple)."""
    import torch

    captured, hooks = {}, []

    def hook(name):
        def save(_module, _inputs, output):
            if isinstance(output, tuple):
                output = output[0]
            if isinstance(output, torch.Tensor):
                captured[name] = output.detach().float().numpy()
        return save

    for name, module in model.named_modules():
        if name:
            hooks.append(module.register_forward_hook(hook(name)))
    try:
        with torch.no_grad():
            model(**{k: torch.from_numpy(v).long() for k, v in batch.items()})
    finally:
        for h in hooks:
            h.remove()
    return captured


def compare_layers(onnx_path: Path, model, batch: dict[str, np.ndarray], mode: str = "fp32",
                   fusions_text: str = "none", verbose: bool = True, num_heads: int | None = None):
    """[(name, CheckResult)] for every tensor that has an HF counterpart, in execution order."""
    from bertrt.backend import ReferenceBackend
    from bertrt.engine_config import ProfileShapes, configure
    from bertrt.onnx_weights import load_weights
    from builder import Fusions, build_network

    if mode not in ("fp32", "fp16"):
        raise UserError(f"layer comparison runs fp32 or fp16, not {mode!r}")
    fusions = Fusions.parse(fusions_text)
    if fusions.packed:
        raise UserError("layer comparison needs the padded layout: drop 'packed' from --fusions")
    weights = load_weights(onnx_path, num_heads)
    backend = ReferenceBackend()
    builder, network, _ = build_network(backend, weights, fusions, mode)
    batch_size, seq = batch["input_ids"].shape
    config = configure(builder, network, backend.trt, mode, ProfileShapes(1, batch_size, batch_size, 1, seq, seq))
    ref_engine, _ = backend.build(builder, network, config, None, {})
    ours = ref_engine.execute({name: batch[name] for name in INPUT_NAMES}, keep_all=True)
    theirs = hf_activations(model, batch)
    valid = batch["attention_mask"].astype(bool)
    precision = "fp32" if mode == "fp32" else "fp16"
    rows = []
    for layer in ref_engine.order:
        for index in range(layer.num_outputs):
            name = layer.get_output(index).name
            if name in theirs and name in ours and ours[name].shape == theirs[name].shape:
                rows.append((name, check(name, ours[name], theirs[name], precision, valid=valid, verbose=verbose)))
    return rows


def main(argv=None) -> None:
    from model2onnx import load_model

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=None, help="HF model (default: the one model2onnx.py exported)")
    parser.add_argument("--onnx", type=Path, default=ONNX_PATH)
    parser.add_argument("--reference", type=Path, default=REFERENCE_PATH)
    parser.add_argument("--mode", choices=("fp32", "fp16"), default="fp32")
    parser.add_argument("--fusions", default="none")
    parser.add_argument("--num-heads", type=int, default=None, help="only for ONNX files not made by model2onnx.py")
    args = parser.parse_args(argv)

    from bertrt.report import load_reference

    reference = load_reference(args.reference)
    _, model = load_model(args.model or str(reference["model"]))
    batch = {name: reference[name] for name in INPUT_NAMES}
    rows = compare_layers(args.onnx, model, batch, args.mode, args.fusions, num_heads=args.num_heads)
    failing = [name for name, result in rows if not result.passed]
    print(f"{len(rows)} tensors compared; " + (f"first divergence: {failing[0]}" if failing else "all within tolerance"))


if __name__ == "__main__":
    run_main(main)
