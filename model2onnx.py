"""Step 1: HF BertForMaskedLM -> model.onnx, plus PyTorch's own answers to check every engine by.

    python model2onnx.py                       # bert-base-uncased (needs the HF hub or its cache)
    python model2onnx.py --model ./my-bert     # a local folder: config.json, weights, vocab.txt

Writes (atomically) artifacts/model.onnx with dynamic batch and sequence axes and int32 inputs
(input_ids, token_type_ids, attention_mask), and artifacts/reference.npz: the tokenized
reference sentences (a padded batch, the [MASK] sentence first), PyTorch fp32 logits, and the
vocabulary so later scripts can print words without the tokenizer.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from bertrt.common import (DEFAULT_MODEL, INPUT_NAMES, ONNX_PATH, OUTPUT_NAME, REFERENCE_PATH,
                           REFERENCE_SENTENCES, BertDims, atomic_output, atomic_save_npz, cannot_load, run_main)
from bertrt.onnx_weights import METADATA_KEY

OPSET = 17  # the first opset with LayerNormalization as one node; TensorRT 10 parses it


def load_model(name_or_path: str):
    """Tokenizer and eager-attention BertForMaskedLM (eager: its graph is plain MatMul/Softmax,
    which is what we rebuild by hand and what every exporter handles)."""
    from transformers import AutoTokenizer, BertForMaskedLM

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        model = BertForMaskedLM.from_pretrained(name_or_path, attn_implementation="eager")
    except (OSError, ValueError) as err:
        raise cannot_load(name_or_path, err) from None
    return tokenizer, model.eval()


def tokenize(tokenizer, sentences) -> dict[str, np.ndarray]:
    """A right-padded int32 batch: the layout every engine and the fused plugins expect."""
    encoded = tokenizer(list(sentences), padding=True, return_tensors="np")
    return {name: encoded[name].astype(np.int32) for name in INPUT_NAMES}


class Int32Inputs(torch.nn.Module):
    """The HF model taking int32 inputs (TensorRT's native index type) and returning the logits."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, token_type_ids, attention_mask):
        return self.model(input_ids=input_ids.long(), token_type_ids=token_type_ids.long(),
                          attention_mask=attention_mask.long()).logits


def export_onnx(model, batch: dict[str, np.ndarray], path: Path, exporter: str, dims: BertDims) -> None:
    """Export with dynamic batch/sequence axes, tagged with the model's dimensions, atomically
    (a crash never leaves a half-written model.onnx)."""
    import onnx
    from onnx import helper

    wrapper = Int32Inputs(model).eval()
    args = tuple(torch.from_numpy(batch[name]) for name in INPUT_NAMES)
    # The dynamo exporter may write the weights to a side file (<tmp>.data); loading and saving
    # again below makes the model self-contained, and atomic_output removes the side file.
    with atomic_output(path, extra_suffixes=(".data",)) as tmp:
        if exporter == "dynamo":
            batch_dim, seq_dim = torch.export.Dim("batch"), torch.export.Dim("seq", max=dims.max_position)
            shapes = {name: {0: batch_dim, 1: seq_dim} for name in INPUT_NAMES}
            torch.onnx.export(wrapper, args, tmp, input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
                              opset_version=OPSET, dynamo=True, dynamic_shapes=shapes, verbose=False)
        else:
            axes = {name: {0: "batch", 1: "seq"} for name in (*INPUT_NAMES, OUTPUT_NAME)}
            torch.onnx.export(wrapper, args, tmp, input_names=list(INPUT_NAMES), output_names=[OUTPUT_NAME],
                              opset_version=OPSET, dynamo=False, dynamic_axes=axes)
        onnx_model = onnx.load(tmp)
        helper.set_model_props(onnx_model, {METADATA_KEY: dims.to_json()})
        onnx.checker.check_model(onnx_model)
        onnx.save(onnx_model, tmp)


def reference_outputs(model, batch: dict[str, np.ndarray]) -> np.ndarray:
    with torch.no_grad():
        return Int32Inputs(model)(*(torch.from_numpy(batch[n]) for n in INPUT_NAMES)).numpy()


def mask_positions(batch: dict[str, np.ndarray], mask_token_id: int) -> np.ndarray:
    """(row, column) of every [MASK] token: where fill-mask answers are read."""
    return np.argwhere(batch["input_ids"] == mask_token_id).astype(np.int32)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="HF model name or local folder")
    parser.add_argument("--onnx", type=Path, default=ONNX_PATH)
    parser.add_argument("--reference", type=Path, default=REFERENCE_PATH)
    parser.add_argument("--exporter", choices=("dynamo", "legacy"), default="dynamo",
                        help="torch.onnx exporter; builder.py reads the weights of either")
    args = parser.parse_args(argv)

    tokenizer, model = load_model(args.model)
    dims = BertDims.from_hf_config(model.config)
    batch = tokenize(tokenizer, REFERENCE_SENTENCES)
    started = time.perf_counter()
    export_onnx(model, batch, args.onnx, args.exporter, dims)
    print(f"exported {args.onnx} ({args.exporter} exporter, opset {OPSET}) in {time.perf_counter() - started:.1f} s: "
          f"{dims.num_layers} layers, hidden {dims.hidden_size}, {dims.num_heads} heads, vocab {dims.vocab_size}")

    logits = reference_outputs(model, batch)
    by_id = {index: token for token, index in tokenizer.get_vocab().items()}
    vocab = [by_id.get(index, "[UNUSED]") for index in range(dims.vocab_size)]
    atomic_save_npz(args.reference, **batch, logits=logits.astype(np.float32),
                    mask_positions=mask_positions(batch, tokenizer.mask_token_id),
                    vocab=np.array(vocab), sentences=np.array(REFERENCE_SENTENCES), model=np.array(args.model))
    print(f"saved PyTorch fp32 reference for {len(REFERENCE_SENTENCES)} sentences to {args.reference}")


if __name__ == "__main__":
    run_main(main)
