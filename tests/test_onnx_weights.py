"""Weights are found in the ONNX graph by structure, for both exporters, and match HF exactly."""
import dataclasses

import numpy as np
import pytest
import torch

from bertrt.common import UserError
from bertrt.onnx_weights import NotABertMLM, load_weights


def hf_parameters(model):
    # named_parameters() lists a tied Parameter once, and leaves out buffers (position_ids,
    # token_type_ids), which are not weights.
    return {name: p.detach().numpy() for name, p in model.named_parameters()}


def arrays_in(value) -> list[np.ndarray]:
    """Every array load_weights returned, however deep in its dataclasses and lists."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, list):
        return [a for item in value for a in arrays_in(item)]
    if dataclasses.is_dataclass(value):
        return [a for f in dataclasses.fields(value) for a in arrays_in(getattr(value, f.name))]
    return []  # dims, eps: compared on their own


def with_hf_names(weights) -> list[tuple[np.ndarray, str]]:
    """Each of our tensors with the name of the HF parameter it must equal."""
    def both(ours, theirs):  # a Linear or a Norm
        return [(ours.weight, theirs + ".weight"), (ours.bias, theirs + ".bias")]

    pairs = [(weights.word_embeddings, "bert.embeddings.word_embeddings.weight"),
             (weights.position_embeddings, "bert.embeddings.position_embeddings.weight"),
             (weights.token_type_embeddings, "bert.embeddings.token_type_embeddings.weight"),
             *both(weights.embeddings_norm, "bert.embeddings.LayerNorm")]
    for i, layer in enumerate(weights.layers):
        p = f"bert.encoder.layer.{i}."
        for ours, theirs in ((layer.query, "attention.self.query"), (layer.key, "attention.self.key"),
                             (layer.value, "attention.self.value"), (layer.attention_output, "attention.output.dense"),
                             (layer.attention_norm, "attention.output.LayerNorm"),
                             (layer.intermediate, "intermediate.dense"), (layer.output, "output.dense"),
                             (layer.output_norm, "output.LayerNorm")):
            pairs += both(ours, p + theirs)
    pairs += both(weights.transform, "cls.predictions.transform.dense")
    pairs += both(weights.transform_norm, "cls.predictions.transform.LayerNorm")
    # The decoder is tied: its weight is the word embeddings' Parameter and its bias is
    # cls.predictions.bias, so named_parameters() has no cls.predictions.decoder.* entries.
    pairs += [(weights.decoder.weight, "bert.embeddings.word_embeddings.weight"),
              (weights.decoder.bias, "cls.predictions.bias")]
    return pairs


@pytest.mark.parametrize("exporter", ["legacy", "dynamo"])
def test_every_parameter_maps_to_its_hf_tensor(tiny_models, exporter):
    tiny = tiny_models(exporter, hidden=32, heads=4, layers=2, intermediate=37)
    weights = load_weights(tiny.onnx)
    hf = hf_parameters(tiny.model)
    # eps travels as a float32 ONNX attribute, as TensorRT receives it
    assert weights.dims == dataclasses.replace(tiny.dims, layer_norm_eps=float(np.float32(tiny.dims.layer_norm_eps)))
    pairs = with_hf_names(weights)
    for ours, name in pairs:
        assert ours is not None, name
        np.testing.assert_array_equal(ours, hf[name], err_msg=name)
    # Nothing left out on either side: every HF parameter, and every array load_weights returned.
    assert {name for _, name in pairs} == set(hf)
    assert {id(ours) for ours, _ in pairs} == {id(a) for a in arrays_in(weights)}


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
