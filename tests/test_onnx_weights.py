"""Weights are found in the ONNX graph by structure, for both exporters, and match HF exactly."""
import dataclasses

import numpy as np
import pytest
import torch

from bertrt.common import UserError
from bertrt.onnx_weights import NotABertMLM, load_weights


def hf_parameters(model):
    return {name: p.detach().numpy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_every_parameter_maps_to_its_hf_tensor(tiny_models, exporter):
    tiny = tiny_models(exporter, hidden=32, heads=4, layers=2, intermediate=37)
    weights = load_weights(tiny.onnx)
    hf = hf_parameters(tiny.model)
    # eps travels as a float32 ONNX attribute, as TensorRT receives it
    assert weights.dims == dataclasses.replace(tiny.dims, layer_norm_eps=float(np.float32(tiny.dims.layer_norm_eps)))
    expect = np.testing.assert_array_equal
    expect(weights.word_embeddings, hf["bert.embeddings.word_embeddings.weight"])
    expect(weights.position_embeddings, hf["bert.embeddings.position_embeddings.weight"])
    expect(weights.token_type_embeddings, hf["bert.embeddings.token_type_embeddings.weight"])
    expect(weights.embeddings_norm.weight, hf["bert.embeddings.LayerNorm.weight"])
    for i, layer in enumerate(weights.layers):
        p = f"bert.encoder.layer.{i}."
        for ours, theirs in ((layer.query, "attention.self.query"), (layer.key, "attention.self.key"),
                             (layer.value, "attention.self.value"), (layer.attention_output, "attention.output.dense"),
                             (layer.intermediate, "intermediate.dense"), (layer.output, "output.dense")):
            expect(ours.weight, hf[p + theirs + ".weight"])
            expect(ours.bias, hf[p + theirs + ".bias"])
        expect(layer.attention_norm.bias, hf[p + "attention.output.LayerNorm.bias"])
        expect(layer.output_norm.weight, hf[p + "output.LayerNorm.weight"])
    expect(weights.transform.weight, hf["cls.predictions.transform.dense.weight"])
    expect(weights.transform_norm.weight, hf["cls.predictions.transform.LayerNorm.weight"])
    expect(weights.decoder.weight, hf["bert.embeddings.word_embeddings.weight"])  # tied
    expect(weights.decoder.bias, hf["cls.predictions.bias"])


def test_eps_and_heads_come_from_the_model(tiny_models):
    tiny = tiny_models("legacy", hidden=48, heads=3, layers=1, intermediate=64, eps=1e-5)
    dims = load_weights(tiny.onnx).dims
    assert (dims.hidden_size, dims.num_heads, dims.num_layers, dims.intermediate_size, dims.layer_norm_eps) == \
        (48, 3, 1, 64, pytest.approx(1e-5))


def test_a_graph_that_is_not_bert_is_refused(tmp_path):
    path = tmp_path / "linear.onnx"
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    torch.onnx.export(model, (torch.zeros(1, 4),), str(path), input_names=["input_ids"], dynamo=False)
    with pytest.raises(NotABertMLM, match="expected"):
        load_weights(path)


def test_missing_and_corrupt_files_give_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="model2onnx.py"):
        load_weights(tmp_path / "absent.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a protobuf at all")
    with pytest.raises(UserError, match="re-export"):
        load_weights(bad)
