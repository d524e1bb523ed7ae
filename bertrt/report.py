"""What every script prints after building: accuracy against PyTorch, latency, and the fill-mask
answer for the masked reference sentence."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from bertrt.check import accuracy_report
from bertrt.common import INPUT_NAMES, OUTPUT_NAME, UserError
from bertrt.runtime import pack, unpack


def load_reference(path: Path) -> dict:
    if not Path(path).exists():
        raise UserError(f"{path} not found: run `python model2onnx.py` first")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def run_reference_batch(runner, reference: dict, packed: bool) -> np.ndarray:
    """Logits [batch, seq, vocab] for the reference sentences, whatever the engine's layout."""
    feed = {name: reference[name] for name in INPUT_NAMES}
    if packed:
        return unpack(runner.infer(pack(feed))[OUTPUT_NAME], feed["attention_mask"])
    return runner.infer(feed)[OUTPUT_NAME]


def top_words(scores: np.ndarray, token_of, k: int = 10) -> list[tuple[str, float]]:
    """The k most likely tokens of one position's logits, with their softmax probabilities."""
    scores = scores.astype(np.float64)
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    return [(str(token_of(int(i))), float(probs[i])) for i in np.argsort(-scores)[:k]]


def fill_mask(logits: np.ndarray, reference: dict, k: int = 10) -> list[tuple[str, float]]:
    """Top-k words for the first [MASK] of the first sentence, with probabilities."""
    if not len(reference["mask_positions"]):
        return []
    row, col = reference["mask_positions"][0]
    return top_words(logits[row, col], lambda i: reference["vocab"][i], k)


def report(runner, reference: dict, precision: str, packed: bool = False, iterations: int = 200,
           title: str = "") -> dict:
    logits = run_reference_batch(runner, reference, packed)
    valid = reference["attention_mask"].astype(bool)
    positions = [tuple(p) for p in reference["mask_positions"]]
    accuracy = accuracy_report(logits, reference["logits"], valid, precision, positions)
    feed = {name: reference[name] for name in INPUT_NAMES}
    timing = runner.benchmark(pack(feed) if packed else feed, iterations=iterations)
    words = fill_mask(logits, reference)
    print(f"== {title}")
    print(f"   accuracy vs PyTorch fp32: max abs diff {accuracy['max_abs_diff']:.3e}, "
          f"top-1 agreement {accuracy['top1_agreement']:.1%}, top-5 {accuracy['top5_agreement']:.1%}"
          + (f", masked-token KL {accuracy['masked_kl']:.2e}" if "masked_kl" in accuracy else ""))
    print(f"   {accuracy['check']}")
    print(f"   latency (batch {feed['input_ids'].shape[0]} x seq {feed['input_ids'].shape[1]}): {timing.line()}")
    if words:
        print("   fill-mask top-10: " + ", ".join(f"{w} ({p:.2f})" for w, p in words))
    return {"accuracy": accuracy, "timing": timing, "fill_mask": words}
