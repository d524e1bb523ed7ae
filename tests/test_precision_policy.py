"""The precision policy (bertrt/precision.py) on the reference backend: which layers run in which
precision per mode, and what INT8's calibrated scales cost in accuracy, measured on CPU."""
import numpy as np
import pytest

from bertrt import entropy, precision
from bertrt.backend import ReferenceBackend
from bertrt.check import masked_kl, topk_agreement
from bertrt.common import INPUT_NAMES, OUTPUT_NAME
from bertrt.engine_config import ProfileShapes, configure
from bertrt.onnx_weights import load_weights
from builder import Fusions, build_network
from calibrator import make_calibrator

CONFIG = dict(hidden=64, heads=4, layers=2, intermediate=128)


def build(tiny, mode, fusions="none", cache=None):
    backend = ReferenceBackend()
    builder, network, _ = build_network(backend, load_weights(tiny.onnx), Fusions.parse(fusions), mode)
    calibrator = None
    if mode == "int8":
        calibrator = make_calibrator(batch_size=4, seq_len=16, tokenizer=tiny.tokenizer, max_batches=6,
                                     cache_path=cache, onnx_path=tiny.onnx, device="cpu")
    config = configure(builder, network, backend.trt, mode, ProfileShapes(1, 4, 4, 1, 16, 16),
                       calibrator=calibrator, calibration_shape=(4, 16))
    engine, _ = backend.build(builder, network, config, None, {})
    return engine, calibrator


def logits(engine, tiny):
    return engine.execute({n: tiny.batch[n] for n in INPUT_NAMES})[OUTPUT_NAME]


def test_fp16_pins_norms_and_softmax_to_fp32(tiny_models):
    tiny = tiny_models("legacy", **CONFIG)
    engine, _ = build(tiny, "fp16")
    p = engine.precisions
    assert p["bert.encoder.layer.0.attention.output.LayerNorm"] == "FLOAT"
    assert p["bert.encoder.layer.1.attention.self.probs"] == "FLOAT"
    assert p["bert.encoder.layer.0.attention.self.query.matmul"] == "HALF"
    assert p["bert.encoder.layer.0.intermediate"] == "HALF"  # GELU
    assert engine.flags >= {"FP16", "OBEY_PRECISION_CONSTRAINTS"}


def test_int8_quantizes_the_linear_layers_only(tiny_models, tmp_path):
    tiny = tiny_models("legacy", **CONFIG)
    engine, _ = build(tiny, "int8", cache=tmp_path / "calib.cache")
    p = engine.precisions
    linear = [n for n in p if n.endswith(".matmul") and "encoder" in n]
    assert linear and all(p[n] == "INT8" for n in linear), {n: p[n] for n in linear}
    assert p["bert.encoder.layer.0.attention.self.scores"] == "HALF"
    assert p["cls.predictions.decoder.matmul"] == "HALF"
    assert p["bert.embeddings.LayerNorm"] == "FLOAT"
    # Every quantized layer's activation input got a calibrated range.
    for layer in engine.network._layers:
        if p[layer.name] == "INT8":
            assert layer.get_input(0).dynamic_range is not None, layer.name


def test_int8_costs_accuracy_but_keeps_the_predictions(tiny_models, tmp_path):
    tiny = tiny_models("legacy", **CONFIG)
    fp16, _ = build(tiny, "fp16")
    int8, _ = build(tiny, "int8", cache=tmp_path / "calib.cache")
    reference = tiny.hf_logits(tiny.batch)
    valid = tiny.batch["attention_mask"].astype(bool)
    ours, half = logits(int8, tiny), logits(fp16, tiny)
    assert np.abs(ours - reference)[valid].max() > 3 * np.abs(half - reference)[valid].max(), \
        "INT8 fake-quantization must cost more than fp16 rounding"
    assert topk_agreement(ours, reference, 5, valid) >= 0.9


def test_int8_residual_runs_skip_layernorm_in_int8_and_costs_little(tiny_models, tmp_path):
    """skip_layernorm in an INT8 engine keeps the residual stream fp16 (the plugin pinned HALF);
    int8_residual pins it to INT8: input, skip and output quantized with calibrated ranges. That
    costs accuracy (the logits move), but the predictions stay."""
    tiny = tiny_models("legacy", **CONFIG)
    names = [f"bert.encoder.layer.{i}.{block}.LayerNorm" for i in range(CONFIG["layers"])
             for block in ("attention.output", "output")]
    half, _ = build(tiny, "int8", "skip_layernorm", cache=tmp_path / "half.cache")
    half_layers = {layer.name: layer for layer in half.network._layers}
    assert {half.precisions[n] for n in names} == {"HALF"}
    assert all(half_layers[n].precision_is_set for n in names), "pinned, not left to the builder"
    int8, _ = build(tiny, "int8", "skip_layernorm,int8_residual", cache=tmp_path / "int8.cache")
    assert {int8.precisions[n] for n in names} == {"INT8"}
    layers = {layer.name: layer for layer in int8.network._layers}
    feed = {n: tiny.batch[n] for n in INPUT_NAMES}
    values = int8.execute(feed, keep_all=True)
    for name in names:  # what TensorRT needs scales for: input, skip and output (not gamma/beta/bias)
        layer = layers[name]
        assert layer.get_input(0).dynamic_range and layer.get_input(1).dynamic_range, name
        step = layer.get_output(0).dynamic_range[1] / 127
        levels = values[name] / step  # an INT8 output holds whole multiples of its scale
        assert np.abs(levels - np.round(levels)).max() < 1e-3, f"{name}: output not on its int8 grid"
    reference = tiny.hf_logits(tiny.batch)
    valid = tiny.batch["attention_mask"].astype(bool)
    assert topk_agreement(logits(int8, tiny), reference, 5, valid) >= 0.9


def test_int8_residual_needs_skip_layernorm_int8_mode_and_a_hidden_size_the_kernel_takes(tiny_models):
    with pytest.raises(Exception, match="add skip_layernorm"):
        Fusions.parse("int8_residual")
    assert not Fusions.parse("all").int8_residual  # opt-in, like packed
    weights = load_weights(tiny_models("legacy", **CONFIG).onnx)
    with pytest.raises(Exception, match="--mode int8"):
        build_network(ReferenceBackend(), weights, Fusions.parse("skip_layernorm,int8_residual"), "fp16")
    odd = tiny_models("legacy", **{**CONFIG, "hidden": 36, "heads": 3})  # not a multiple of 8
    with pytest.raises(Exception, match="multiples of 8"):
        build_network(ReferenceBackend(), load_weights(odd.onnx), Fusions.parse("skip_layernorm,int8_residual"),
                      "int8")


def test_the_policy_beats_quantizing_every_matrix_product(tiny_models, tmp_path, monkeypatch):
    """Why attention products and the decoder stay fp16: quantizing them too is measurably worse."""
    tiny = tiny_models("legacy", **CONFIG)
    reference = tiny.hf_logits(tiny.batch)
    positions = [tuple(p) for p in np.argwhere(tiny.batch["attention_mask"] == 1)]

    def kl(engine):
        out = logits(engine, tiny)
        return np.mean([masked_kl(out[b, s], reference[b, s]) for b, s in positions])

    ours = kl(build(tiny, "int8", cache=tmp_path / "ours.cache")[0])
    monkeypatch.setitem(precision.PINNED, "attention", {"int8": "INT8"})
    monkeypatch.setitem(precision.PINNED, "decoder", {"int8": "INT8"})
    naive = kl(build(tiny, "int8", cache=tmp_path / "naive.cache")[0])
    assert naive > 1.5 * ours, (naive, ours)


def test_the_calibration_cache_is_written_in_tensorrt_format_and_reused(tiny_models, tmp_path):
    tiny = tiny_models("legacy", **CONFIG)
    cache = tmp_path / "calib.cache"
    first, _ = build(tiny, "int8", cache=cache)
    algorithm, scales = entropy.read_cache(cache.read_bytes())
    assert algorithm == "EntropyCalibration2"
    assert cache.read_text().startswith("TRT-")
    assert any(name.startswith("bert.encoder.layer.0.attention.output.LayerNorm") for name in scales)
    second, calibrator = build(tiny, "int8", cache=cache)
    assert calibrator.next_batch == 0, "a valid cache must be used instead of calibrating again"
    np.testing.assert_array_equal(logits(first, tiny), logits(second, tiny))


@pytest.mark.parametrize("mode", precision.MODES)
def test_builder_flags_per_mode(mode):
    flags = precision.builder_flag_names(mode)
    assert ("INT8" in flags) == (mode == "int8") and ("FP16" in flags) == (mode != "fp32")


def test_policy_on_a_parsed_network_finds_weights_behind_the_parsers_shuffles():
    """TensorRT's ONNX parser broadcasts a 2-D weight to the activation's rank with a shuffle
    before the product; the policy must still see a linear layer (INT8, weight range set), tell
    activation x activation products apart, and treat the last product as the decoder."""
    from bertrt.refnet.builder import RefBuilder
    from trt_helper import trt

    network = RefBuilder(trt).create_network(0)
    x = network.add_input("x", trt.DataType.FLOAT, (-1, -1, 8))
    weight = np.linspace(-3, 2, 64, dtype=np.float32).reshape(8, 8)
    constant = network.add_constant((8, 8), trt.Weights(weight))
    broadcast = network.add_shuffle(constant.get_output(0))
    broadcast.reshape_dims = (1, 8, 8)
    linear = network.add_matrix_multiply(x, trt.MatrixOperation.NONE, broadcast.get_output(0),
                                         trt.MatrixOperation.NONE)
    scores = network.add_matrix_multiply(linear.get_output(0), trt.MatrixOperation.NONE, x,
                                         trt.MatrixOperation.TRANSPOSE)
    probs = network.add_softmax(scores.get_output(0))
    decoder = network.add_matrix_multiply(probs.get_output(0), trt.MatrixOperation.NONE, x,
                                          trt.MatrixOperation.NONE)
    counts = precision.apply_to_parsed_network(network, "int8", trt)
    assert counts == {"gemm": 1, "attention": 1, "softmax": 1, "decoder": 1}
    assert linear.precision.name == "INT8" and scores.precision.name == "HALF"
    assert probs.precision.name == "FLOAT" and decoder.precision.name == "HALF"
    assert linear.get_input(1).dynamic_range == (-3.0, 3.0)


def test_policy_on_a_parsed_network_pins_float_layers_by_type_but_not_shape_arithmetic():
    """The elementwise, activation and embedding pins reach the parser's network too (by layer
    type), but only float layers: the parser's INT64 shape arithmetic has no precision to pin.
    The decoder's bias add writes the logits in fp32, as in the hand-built network."""
    from bertrt.refnet.builder import RefBuilder
    from trt_helper import trt

    network = RefBuilder(trt).create_network(0)
    ids = network.add_input("input_ids", trt.DataType.INT32, (-1, -1))
    table = network.add_constant((10, 8), trt.Weights(np.ones((10, 8), np.float32)))
    embedding = network.add_gather(table.get_output(0), ids, 0)
    shape = network.add_shape(ids)  # [batch, seq] as INT64, then arithmetic on it
    seq = network.add_gather(shape.get_output(0), network.add_constant((1,), trt.Weights(
        np.array([1], np.int64))).get_output(0), 0)
    seq_plus_one = network.add_elementwise(seq.get_output(0), network.add_constant((1,), trt.Weights(
        np.array([1], np.int64))).get_output(0), trt.ElementWiseOperation.SUM)

    def linear(x):
        weight = network.add_constant((1, 8, 8), trt.Weights(np.eye(8, dtype=np.float32)[None]))
        product = network.add_matrix_multiply(x, trt.MatrixOperation.NONE, weight.get_output(0),
                                              trt.MatrixOperation.NONE)
        bias = network.add_constant((1, 1, 8), trt.Weights(np.ones((1, 1, 8), np.float32)))
        return product, network.add_elementwise(product.get_output(0), bias.get_output(0),
                                                trt.ElementWiseOperation.SUM)

    product, bias_add = linear(embedding.get_output(0))
    erf = network.add_unary(bias_add.get_output(0), trt.UnaryOperation.ERF)
    decoder, logits = linear(erf.get_output(0))
    counts = precision.apply_to_parsed_network(network, "int8", trt)
    assert counts == {"embedding": 1, "gemm": 1, "elementwise": 1, "activation": 1, "decoder": 2}
    assert [layer.precision.name for layer in (embedding, product, bias_add, erf, decoder, logits)] == [
        "HALF", "INT8", "HALF", "HALF", "HALF", "HALF"]
    assert logits.get_output_type(0).name == "FLOAT"
    assert not any(layer.precision_is_set for layer in (shape, seq, seq_plus_one))
