"""Fill-mask demo: the top-10 words for [MASK] in your own sentence, from an engine.

    python fill_mask.py "The capital of France, [MASK], contains the Eiffel Tower."
    python fill_mask.py --engine artifacts/bert_fp16_none.engine "Paris is the [MASK] of France."
    python fill_mask.py --backend reference "..."     # no TensorRT: the hand-built network on CPU

With TensorRT it runs an engine that builder.py or onnx2trt.py wrote (a padded one; packed
engines are for batches); without, it builds the hand-built fp32 network on the reference backend.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bertrt.common import INPUT_NAMES, ONNX_PATH, OUTPUT_NAME, REFERENCE_PATH, UserError, run_main


def main(argv=None) -> None:
    from bertrt.backend import select_backend
    from bertrt.report import load_reference, top_words
    from model2onnx import load_model, tokenize

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sentence")
    parser.add_argument("--engine", type=Path, default=Path("artifacts/bert_fp32_none.engine"))
    parser.add_argument("--backend", choices=("auto", "tensorrt", "reference"), default="auto")
    parser.add_argument("--onnx", type=Path, default=ONNX_PATH)
    parser.add_argument("--model", default=None, help="tokenizer (default: the model model2onnx.py exported)")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--num-heads", type=int, default=None, help="only for ONNX files not made by model2onnx.py")
    args = parser.parse_args(argv)

    model_name = args.model or str(load_reference(REFERENCE_PATH)["model"])
    tokenizer, _ = load_model(model_name)
    if tokenizer.mask_token not in args.sentence:
        raise UserError(f"the sentence has no {tokenizer.mask_token}: put one where the word should go")
    batch = tokenize(tokenizer, [args.sentence])
    backend = select_backend(args.backend)
    if backend.name == "tensorrt":
        runner = backend.runner(args.engine)
    else:
        from bertrt.engine_config import ProfileShapes, configure
        from bertrt.onnx_weights import load_weights
        from builder import Fusions, build_network

        seq = batch["input_ids"].shape[1]
        weights = load_weights(args.onnx, args.num_heads)
        if seq > weights.dims.max_position:
            raise UserError(f"the sentence is {seq} tokens, the model has {weights.dims.max_position} positions: "
                            "shorten it")
        builder, network, _ = build_network(backend, weights, Fusions(), "fp32")
        config = configure(builder, network, backend.trt, "fp32", ProfileShapes(1, 1, 1, 1, seq, seq))
        runner = backend.runner(backend.build(builder, network, config, None, {})[0])
    logits = runner.infer({name: batch[name] for name in INPUT_NAMES})[OUTPUT_NAME]
    column = int(np.argwhere(batch["input_ids"][0] == tokenizer.mask_token_id)[0, 0])
    for rank, (word, probability) in enumerate(top_words(logits[0, column], tokenizer.convert_ids_to_tokens,
                                                         args.top), 1):
        print(f"{rank:2d}. {word:<15} {probability:.3f}")

if __name__ == "__main__":
    run_main(main)
