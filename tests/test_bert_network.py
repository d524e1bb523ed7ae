"""The hand-built network, run on the reference backend, matches HF PyTorch on tiny random BERTs."""
import numpy as np
import pytest

from bertrt.backend import ReferenceBackend
from bertrt.check import check, topk_agreement
from bertrt.common import INPUT_NAMES, OUTPUT_NAME
from bertrt.engine_config import ProfileShapes, configure
from bertrt.onnx_weights import load_weights
from bertrt.runtime import pack, unpack
from builder import Fusions, build_network
from compare_layers import compare_layers

CONFIGS = {
    "h32-4heads-2layers": dict(hidden=32, heads=4, layers=2, intermediate=37),
    "h48-3heads-1layer-eps1e-5": dict(hidden=48, heads=3, layers=1, intermediate=64, eps=1e-5),
    "h64-8heads-3layers": dict(hidden=64, heads=8, layers=3, intermediate=96, eps=1e-7),
}


def padded_batch(tiny, rng):
    """Four sentences of different lengths, right-padded, with random token types."""
    batch = {name: tiny.batch[name].copy() for name in INPUT_NAMES}
    lengths = batch["attention_mask"].sum(1)
    types = rng.integers(0, 2, size=batch["token_type_ids"].shape).astype(np.int32)
    batch["token_type_ids"] = np.where(batch["attention_mask"] == 1, types, 0).astype(np.int32)
    assert len(set(lengths)) > 1, "the batch must contain padding"
    return batch


def run_hand_built(tiny, batch, mode="fp32", fusions="none"):
    fusions = Fusions.parse(fusions)
    backend = ReferenceBackend()
    builder, network, _ = build_network(backend, load_weights(tiny.onnx), fusions, mode)
    b, s = batch["input_ids"].shape
    config = configure(builder, network, backend.trt, mode if mode != "int8" else "fp16",
                       ProfileShapes(1, b, b, 1, s, s), packed=fusions.packed)
    engine, _ = backend.build(builder, network, config, None, {})
    if fusions.packed:
        return unpack(engine.execute(pack(batch))[OUTPUT_NAME], batch["attention_mask"])
    return engine.execute(batch)[OUTPUT_NAME]


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("fusions", ["none", "fused_qkv", "attention", "layernorm,skip_layernorm,bias_gelu",
                                     "all", "all,packed"])
def test_fp32_logits_match_pytorch(tiny_models, config, fusions):
    tiny = tiny_models("legacy", **config)
    batch = padded_batch(tiny, np.random.default_rng(0))
    expected = tiny.hf_logits(batch)
    valid = batch["attention_mask"].astype(bool)
    ours = run_hand_built(tiny, batch, "fp32", fusions)
    assert check("logits", ours, expected, "fp32", valid=valid).passed
    assert topk_agreement(ours, expected, 1, valid) == 1.0


def test_padded_rows_match_pytorch_too_without_the_packed_layout(tiny_models):
    """HF computes padded query rows as well; the padded network must reproduce them exactly."""
    tiny = tiny_models("legacy", **CONFIGS["h32-4heads-2layers"])
    batch = padded_batch(tiny, np.random.default_rng(1))
    for fusions in ("none", "all"):
        assert check(f"all rows ({fusions})", run_hand_built(tiny, batch, "fp32", fusions),
                     tiny.hf_logits(batch), "fp32").passed


def test_dynamo_export_builds_the_same_network(tiny_models):
    tiny = tiny_models("dynamo", **CONFIGS["h32-4heads-2layers"])
    batch = padded_batch(tiny, np.random.default_rng(2))
    assert check("logits", run_hand_built(tiny, batch), tiny.hf_logits(batch), "fp32",
                 valid=batch["attention_mask"].astype(bool)).passed


@pytest.mark.parametrize("fusions", ["none", "all"])
def test_fp16_emulation_stays_within_fp16_tolerance(tiny_models, fusions):
    tiny = tiny_models("legacy", **CONFIGS["h64-8heads-3layers"])
    batch = padded_batch(tiny, np.random.default_rng(3))
    expected = tiny.hf_logits(batch)
    valid = batch["attention_mask"].astype(bool)
    ours = run_hand_built(tiny, batch, "fp16", fusions)
    fp32 = run_hand_built(tiny, batch, "fp32", fusions)
    assert check("fp16 logits", ours, expected, "fp16", valid=valid).passed
    assert not np.array_equal(ours, fp32), "fp16 emulation must change the numbers"
    assert topk_agreement(ours, expected, 1, valid) >= 0.95


def test_every_named_layer_matches_its_hf_module(tiny_models):
    tiny = tiny_models("legacy", **CONFIGS["h32-4heads-2layers"])
    rows = compare_layers(tiny.onnx, tiny.model, padded_batch(tiny, np.random.default_rng(4)), verbose=False)
    names = [name for name, _ in rows]
    assert "bert.encoder.layer.1.attention.self.query" in names and "cls.predictions.transform.LayerNorm" in names
    # word/token-type gathers + embeddings LayerNorm, 10 modules per layer, 3 in the head
    assert len(rows) == 3 + 10 * 2 + 3
    assert all(result.passed for _, result in rows), [r.line() for _, r in rows if not r.passed]


def test_layer_comparison_finds_a_planted_error(tiny_models):
    """A wrong weight must show up in the first layer that uses it, not only in the logits."""
    import torch

    tiny = tiny_models("legacy", **CONFIGS["h48-3heads-1layer-eps1e-5"])
    batch = padded_batch(tiny, np.random.default_rng(5))
    with torch.no_grad():
        value = tiny.model.bert.encoder.layer[0].intermediate.dense.bias
        original = value.clone()
        value += 0.5
    try:
        rows = compare_layers(tiny.onnx, tiny.model, batch, verbose=False)
    finally:
        with torch.no_grad():
            value.copy_(original)
    first_failure = next(name for name, result in rows if not result.passed)
    assert first_failure == "bert.encoder.layer.0.intermediate.dense"
