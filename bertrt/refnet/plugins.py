"""What each of our CUDA plugins computes, in numpy: the reference backend's plugin registry.

The creators mirror TensorRT's `IPluginCreatorV3One` (name, version, namespace, field names,
`create_plugin(name, fields, phase)`), and read the same fields `plugins/plugin_fields.py`
declares, so `trt_helper.plugin()` creates a plugin the same way on either backend. The math
here is the specification the CUDA kernels are tested against on the GPU.
"""
from __future__ import annotations

import math

import numpy as np

from plugins import plugin_fields as spec


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + np.float32(eps)) * gamma + beta).astype(np.float32)


def gelu(x: np.ndarray) -> np.ndarray:
    import torch

    return torch.nn.functional.gelu(torch.from_numpy(np.ascontiguousarray(x))).numpy()


def seq_lens_from_mask(mask: np.ndarray) -> np.ndarray:
    """Valid tokens per row of a right-padded mask; any other mask is an error, not a guess."""
    lens = (mask != 0).sum(axis=1).astype(np.int32)
    expected = np.arange(mask.shape[1])[None, :] < lens[:, None]
    if not np.array_equal(mask != 0, expected):
        raise ValueError("attention_mask must be right-padded (ones, then zeros) for the fused plugins")
    return lens


def fp16_round(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).astype(np.float32)


class RefPlugin:
    """Base: `check_inputs`, `output_types_and_shapes` (build time), `run` (numpy)."""

    def __init__(self, name: str, fields: dict):
        self.name = name
        self.fields = fields

    num_outputs = 1
    # Positions a TensorRT engine may run in INT8 when the layer's precision is INT8 (the plugin's
    # IoKind::kQuantizable, plugin_base.h); none: the plugin takes floats only.
    int8_inputs: tuple = ()
    int8_outputs: tuple = ()

    def _float_inputs(self, inputs, positions, fail):
        for i in positions:
            if inputs[i][0] not in ("FLOAT", "HALF"):
                fail(f"input {i} must be FLOAT or HALF, got {inputs[i][0]}")

    def _last_dim(self, shape, size, what, fail):
        if shape[-1] not in (-1, size):
            fail(f"{what} last dim {shape[-1]} != {size} (the plugin's field)")


class LayerNormPlugin(RefPlugin):
    def check_inputs(self, inputs, fail):
        if len(inputs) != 3:
            fail("BertLayerNorm takes input, gamma, beta")
        self._float_inputs(inputs, [0], fail)
        for (_, shape), what in zip(inputs, ("input", "gamma", "beta")):
            self._last_dim(shape, self.fields["hidden_size"], what, fail)

    def output_types_and_shapes(self, inputs):
        return [inputs[0]]

    def run(self, values, half):
        x, gamma, beta = values
        return [layer_norm(x, gamma.reshape(-1), beta.reshape(-1), self.fields["epsilon"])]


class SkipLayerNormPlugin(LayerNormPlugin):
    int8_inputs, int8_outputs = (0, 1), (0,)  # input, skip; output (gamma/beta/bias stay FLOAT)

    def check_inputs(self, inputs, fail):
        if len(inputs) not in (4, 5):
            fail("BertSkipLayerNorm takes input, skip, gamma, beta[, bias]")
        self._float_inputs(inputs, [0, 1], fail)
        if inputs[0][1] != inputs[1][1]:  # types may differ (FLOAT/HALF): TensorRT reformats
            fail(f"input and skip shapes differ: {inputs[0][1]} vs {inputs[1][1]}")
        for (_, shape), what in zip(inputs, ("input", "skip", "gamma", "beta", "bias")):
            self._last_dim(shape, self.fields["hidden_size"], what, fail)

    def run(self, values, half):
        x, skip, gamma, beta = values[:4]
        total = x + skip + (values[4].reshape(-1) if len(values) == 5 else 0)
        return [layer_norm(total.astype(np.float32), gamma.reshape(-1), beta.reshape(-1), self.fields["epsilon"])]


class EmbLayerNormPlugin(RefPlugin):
    num_outputs = 2

    def check_inputs(self, inputs, fail):
        if len(inputs) != 8:
            fail("BertEmbLayerNorm takes ids, token types, mask|cu_seqlens, 3 tables, gamma, beta")
        for i in range(3):
            if inputs[i][0] != "INT32":
                fail(f"input {i} must be INT32")
        for i in range(3, 8):
            self._last_dim(inputs[i][1], self.fields["hidden_size"], f"input {i}", fail)

    def output_types_and_shapes(self, inputs):
        ids_shape = inputs[0][1]
        hidden = self.fields["hidden_size"]
        batch = ids_shape[0] if not self.fields["packed"] else (
            inputs[2][1][0] - 1 if inputs[2][1][0] > 0 else -1)
        dtype = "HALF" if self.fields["output_fp16"] else "FLOAT"
        return [(dtype, tuple(ids_shape) + (hidden,)), ("INT32", (batch,))]

    def run(self, values, half):
        ids, types, lengths_input, word, pos, tok, gamma, beta = values
        if self.fields["packed"]:
            cu = lengths_input.astype(np.int64)
            seq_lens = np.diff(cu).astype(np.int32)
            positions = np.concatenate([np.arange(n) for n in seq_lens]) if ids.size else np.zeros(0, np.int64)
        else:
            seq_lens = seq_lens_from_mask(lengths_input)
            positions = np.broadcast_to(np.arange(ids.shape[1]), ids.shape)
        out = np.full(ids.shape + (word.shape[1],), np.nan, dtype=np.float32)
        valid = ((ids >= 0) & (ids < word.shape[0]) & (types >= 0) & (types < tok.shape[0])
                 & (positions < pos.shape[0]))
        summed = word[ids[valid]] + pos[positions[valid]] + tok[types[valid]]
        out[valid] = layer_norm(summed, gamma.reshape(-1), beta.reshape(-1), self.fields["epsilon"])
        return [out, seq_lens]


class QkvToContextPlugin(RefPlugin):
    def check_inputs(self, inputs, fail):
        packed = self.fields["packed"]
        if len(inputs) != (3 if packed else 2):
            fail("BertQkvToContext takes qkv, seq_lens (padded) or qkv, cu_seqlens, max_seqlen (packed)")
        self._float_inputs(inputs, [0], fail)
        width = 3 * self.fields["num_heads"] * self.fields["head_size"]
        self._last_dim(inputs[0][1], width, "qkv", fail)
        if inputs[1][0] != "INT32":
            fail("sequence lengths / offsets must be INT32")

    def output_types_and_shapes(self, inputs):
        dtype, shape = inputs[0]
        return [(dtype, tuple(shape[:-1]) + (self.fields["num_heads"] * self.fields["head_size"],))]

    def run(self, values, half):
        heads, size, scale = self.fields["num_heads"], self.fields["head_size"], self.fields["scale"]
        qkv = values[0]
        hidden = heads * size
        if self.fields["packed"]:
            cu = values[1].astype(np.int64)
            spans = [(int(cu[b]), int(cu[b + 1]), int(cu[b + 1] - cu[b])) for b in range(len(cu) - 1)]
            rows = qkv
        else:
            batch, seq = qkv.shape[:2]
            rows = qkv.reshape(batch * seq, -1)
            spans = [(b * seq, (b + 1) * seq, int(values[1][b])) for b in range(batch)]
        out = np.zeros((rows.shape[0], hidden), dtype=np.float32)
        for start, end, keys in spans:
            if end == start or keys == 0:
                continue  # no query or no valid key: the kernel writes a zero context, as here
            block = rows[start:end].reshape(end - start, 3, heads, size).transpose(1, 2, 0, 3)
            q, k, v = block[0], block[1, :, :keys], block[2, :, :keys]
            scores = q @ k.transpose(0, 2, 1) * np.float32(scale)
            scores -= scores.max(axis=-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=-1, keepdims=True)
            if half:  # the kernel feeds fp16 probabilities to the P.V product
                probs = fp16_round(probs)
            out[start:end] = (probs @ v).transpose(1, 0, 2).reshape(end - start, hidden)
        return [out.reshape(qkv.shape[:-1] + (hidden,))]


class BiasGeluPlugin(RefPlugin):
    def check_inputs(self, inputs, fail):
        if len(inputs) != 2:
            fail("BertBiasGelu takes input, bias")
        self._float_inputs(inputs, [0], fail)
        self._last_dim(inputs[0][1], self.fields["size"], "input", fail)

    def output_types_and_shapes(self, inputs):
        return [inputs[0]]

    def run(self, values, half):
        return [gelu(values[0] + values[1].reshape(-1))]


_IMPLEMENTATIONS = {
    spec.LAYER_NORM.name: LayerNormPlugin,
    spec.SKIP_LAYER_NORM.name: SkipLayerNormPlugin,
    spec.EMB_LAYER_NORM.name: EmbLayerNormPlugin,
    spec.QKV_TO_CONTEXT.name: QkvToContextPlugin,
    spec.BIAS_GELU.name: BiasGeluPlugin,
}


class RefPluginCreator:
    """Mirrors IPluginCreatorV3One for one of our plugins."""

    def __init__(self, plugin_spec: spec.PluginSpec):
        self._spec = plugin_spec
        self.name = plugin_spec.name
        self.plugin_version = spec.PLUGIN_VERSION
        self.plugin_namespace = spec.PLUGIN_NAMESPACE

    @property
    def field_names(self):
        return [f.name for f in self._spec.fields]

    def create_plugin(self, name, field_collection, phase):
        given = {f.name: np.asarray(f.data) for f in field_collection}
        values = {}
        for field in self._spec.fields:
            if field.name not in given or given[field.name].size != 1:
                raise ValueError(f"{self.name}: field {field.name!r} missing or not a single value")
            value = given[field.name].reshape(-1)[0]
            values[field.name] = float(value) if field.kind == "float32" else int(value)
        if values.get("hidden_size", 1) <= 0 or not math.isfinite(values.get("epsilon", 0.0)):
            raise ValueError(f"{self.name}: invalid fields {values}")
        return _IMPLEMENTATIONS[self.name](name, values)


class RefPluginRegistry:
    """Mirrors IPluginRegistry: our plugins are built in; load_library only records the path."""

    def __init__(self):
        self._creators = {(s.name, spec.PLUGIN_VERSION, spec.PLUGIN_NAMESPACE): RefPluginCreator(s)
                          for s in spec.ALL}
        self.loaded_libraries: list[str] = []

    def load_library(self, plugin_path: str):
        self.loaded_libraries.append(plugin_path)
        return plugin_path

    def get_creator(self, name: str, version: str, namespace: str = ""):
        return self._creators.get((name, version, namespace))
