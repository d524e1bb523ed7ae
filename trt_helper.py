"""Named building blocks over TensorRT's INetworkDefinition.

`builder.py` assembles BERT from these, one call per HF module, so the network reads like the
model and every layer is named after the HF module it implements
(`bert.encoder.layer.3.attention.self.query`).
Each block's output tensor carries that name too: engine inspection, error messages and the
layer-by-layer comparison with PyTorch (`compare_layers.py`) all speak the model's language.

The same code drives TensorRT's network and the reference backend's (`bertrt/refnet`), which
follows TensorRT's rules. Two rules shape most of this file:
- Elementwise layers broadcast only between tensors of EQUAL RANK, so every constant is created
  with leading 1s (`constant(..., rank=...)`).
- Axes are BITMASKS (`1 << axis`), for softmax, reductions and normalization alike.
"""
from __future__ import annotations

import math

import numpy as np

from bertrt import precision
from bertrt.refnet import shim
from bertrt.trt_api import trt as _installed_trt
from plugins import plugin_fields

# TensorRT's names when TensorRT (or its bindings) is importable, else same-named stand-ins.
trt = _installed_trt or shim


class NetworkHelper:
    """Adds named blocks to `network`; tags each layer with a precision role (bertrt/precision)."""

    def __init__(self, network, plugin_registry=None, mode: str = "fp32"):
        self.network = network
        self.plugin_registry = plugin_registry
        self.mode = precision.check_mode(mode)
        # TensorRT's Weights do not copy: the arrays must live until the engine is built.
        self._weights_alive: list[np.ndarray] = []

    # --- bookkeeping -------------------------------------------------------------------------
    def _finish(self, layer, name: str, role: str, weights: dict | None = None):
        """Name the layer and its output, apply the precision policy, return the output.
        `weights`: {input index: array} of constant inputs (for INT8 ranges)."""
        layer.name = name
        output = layer.get_output(0)
        output.name = name
        precision.apply(layer, role, self.mode, trt, weights)
        return output

    def input(self, name: str, dtype, shape):
        return self.network.add_input(name, dtype, shape)

    def mark_output(self, tensor, name: str):
        tensor.name = name
        self.network.mark_output(tensor)

    # --- constants ---------------------------------------------------------------------------
    def constant(self, name: str, array: np.ndarray, rank: int | None = None):
        """A weight tensor; with `rank`, reshaped with leading 1s to broadcast against rank-`rank`
        activations (TensorRT broadcasts only between equal ranks)."""
        array = np.asarray(array, order="C")  # (not ascontiguousarray: it turns 0-d into 1-d)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        shape = array.shape if rank is None else (1,) * (rank - array.ndim) + array.shape
        self._weights_alive.append(array)
        layer = self.network.add_constant(shape, trt.Weights(array))
        layer.name = name
        layer.get_output(0).name = name
        return layer.get_output(0)

    def scalar(self, name: str, value: float, rank: int, dtype=np.float32):
        return self.constant(name, np.array([value], dtype=dtype), rank=rank)

    # --- elementwise -------------------------------------------------------------------------
    def elementwise(self, name: str, a, b, op, role: str = "elementwise"):
        return self._finish(self.network.add_elementwise(a, b, op), name, role)

    def add(self, name: str, a, b, role: str = "elementwise"):
        return self.elementwise(name, a, b, trt.ElementWiseOperation.SUM, role)

    # --- linear algebra ----------------------------------------------------------------------
    def linear(self, name: str, x, weight: np.ndarray, bias: np.ndarray | None, role: str = "gemm"):
        """HF nn.Linear: y = x W^T + b, with W as HF stores it ([out, in]). TensorRT transposes
        the constant in the GEMM itself (MatrixOperation.TRANSPOSE), no copy of the weights."""
        rank = len(x.shape)
        w = self.constant(f"{name}.weight", weight, rank=rank)
        layer = self.network.add_matrix_multiply(x, trt.MatrixOperation.NONE, w, trt.MatrixOperation.TRANSPOSE)
        if bias is None:
            return self._finish(layer, name, role, weights={1: weight})
        product = self._finish(layer, f"{name}.matmul", role, weights={1: weight})
        b = self.constant(f"{name}.bias", bias, rank=rank)
        return self.add(name, product, b, role="decoder" if role == "decoder" else "elementwise")

    def matmul(self, name: str, a, b, transpose_b: bool = False, role: str = "gemm"):
        op_b = trt.MatrixOperation.TRANSPOSE if transpose_b else trt.MatrixOperation.NONE
        return self._finish(self.network.add_matrix_multiply(a, trt.MatrixOperation.NONE, b, op_b), name, role)

    # --- normalization and activations -------------------------------------------------------
    def layer_norm(self, name: str, x, gamma: np.ndarray, beta: np.ndarray, eps: float):
        """LayerNorm over the last axis (axes bitmask 1 << last)."""
        rank = len(x.shape)
        scale = self.constant(f"{name}.weight", gamma, rank=rank)
        bias = self.constant(f"{name}.bias", beta, rank=rank)
        layer = self.network.add_normalization(x, scale, bias, 1 << (rank - 1))
        layer.epsilon = eps
        return self._finish(layer, name, "norm")

    def softmax(self, name: str, x, axis: int):
        layer = self.network.add_softmax(x)
        layer.axes = 1 << axis
        return self._finish(layer, name, "softmax")

    def gelu(self, name: str, x):
        """Exact GELU, x * 0.5 * (1 + erf(x / sqrt(2))), as HF's "gelu". Written out with an ERF
        unary so it is visible; TensorRT fuses these pointwise layers into one kernel."""
        rank = len(x.shape)
        scaled = self.elementwise(f"{name}.div_sqrt2", x, self.scalar(f"{name}.sqrt2", math.sqrt(2.0), rank),
                                  trt.ElementWiseOperation.DIV, "activation")
        erf = self._finish(self.network.add_unary(scaled, trt.UnaryOperation.ERF), f"{name}.erf", "activation")
        one_plus = self.add(f"{name}.one_plus", erf, self.scalar(f"{name}.one", 1.0, rank), "activation")
        half_x = self.elementwise(f"{name}.half_x", x, self.scalar(f"{name}.half", 0.5, rank),
                                  trt.ElementWiseOperation.PROD, "activation")
        return self.elementwise(name, half_x, one_plus, trt.ElementWiseOperation.PROD, "activation")

    # --- shape manipulation ------------------------------------------------------------------
    def shuffle(self, name: str, x, reshape=None, first_transpose=None, second_transpose=None):
        """IShuffleLayer: transpose, reshape (0 copies that input dim, one -1 inferred), transpose."""
        layer = self.network.add_shuffle(x)
        if first_transpose is not None:
            layer.first_transpose = first_transpose
        if reshape is not None:
            layer.reshape_dims = reshape
        if second_transpose is not None:
            layer.second_transpose = second_transpose
        return self._finish(layer, name, "shape")

    def split_heads(self, name: str, x, num_heads: int, head_size: int):
        """[B, S, heads*size] -> [B, heads, S, size]."""
        return self.shuffle(name, x, reshape=(0, 0, num_heads, head_size), second_transpose=(0, 2, 1, 3))

    def merge_heads(self, name: str, x, hidden_size: int):
        """[B, heads, S, size] -> [B, S, heads*size]."""
        return self.shuffle(name, x, first_transpose=(0, 2, 1, 3), reshape=(0, 0, hidden_size))

    def reduce_sum(self, name: str, x, axis: int, role: str = "shape"):
        """Sum over one axis (bitmask 1 << axis), dropping it."""
        layer = self.network.add_reduce(x, trt.ReduceOperation.SUM, 1 << axis, False)
        return self._finish(layer, name, role)

    def cast(self, name: str, x, dtype):
        return self._finish(self.network.add_cast(x, dtype), name, "shape")

    def gather(self, name: str, table, indices, axis: int = 0, role: str = "embedding"):
        return self._finish(self.network.add_gather(table, indices, axis), name, role)

    def leading_rows(self, name: str, table, like, axis: int):
        """table[:n] where n = like.shape[axis] at run time: a slice whose size comes from a
        shape tensor (position embeddings for however long the sequence is)."""
        rows, width = table.shape
        slice_layer = self.network.add_slice(table, (0, 0), (1, width), (1, 1))
        shape = self.network.add_shape(like)
        shape.name = f"{name}.shape"
        length = self.gather(f"{name}.length", shape.get_output(0),
                             self.constant(f"{name}.axis", np.array([axis], dtype=np.int32)), role="shape")
        width_t = self.constant(f"{name}.width", np.array([width], dtype=np.int64))
        size = self.network.add_concatenation([length, width_t])
        size.axis = 0
        size.name = f"{name}.size"
        slice_layer.set_input(2, size.get_output(0))
        return self._finish(slice_layer, name, "embedding")

    # --- attention ---------------------------------------------------------------------------
    def attention_mask_bias(self, name: str, mask_int32):
        """[B, S] int32 (1 = token, 0 = padding) -> [B, 1, 1, S] additive bias: 0 or -10000.
        A large finite negative (not -inf) so a row never becomes NaN; exp(-10000) is 0."""
        mask = self.cast(f"{name}.float", mask_int32, trt.DataType.FLOAT)
        inverted = self.elementwise(f"{name}.inverted", self.scalar(f"{name}.one", 1.0, 2), mask,
                                    trt.ElementWiseOperation.SUB)
        bias = self.elementwise(f"{name}.scaled", inverted, self.scalar(f"{name}.neg", -10000.0, 2),
                                trt.ElementWiseOperation.PROD)
        return self.shuffle(name, bias, reshape=(0, 1, 1, -1))

    def scaled_dot_product_attention(self, name: str, q, k, v, mask_bias, head_size: int):
        """softmax(q k^T / sqrt(d) + mask) v on [B, heads, S, d] tensors."""
        scores = self.matmul(f"{name}.scores", q, k, transpose_b=True, role="attention")
        scaled = self.elementwise(f"{name}.scaled_scores", scores,
                                  self.scalar(f"{name}.scale", 1.0 / math.sqrt(head_size), 4),
                                  trt.ElementWiseOperation.PROD)
        masked = self.add(f"{name}.masked_scores", scaled, mask_bias)
        probs = self.softmax(f"{name}.probs", masked, axis=3)
        return self.matmul(f"{name}.context", probs, v, role="attention")

    # --- plugins -----------------------------------------------------------------------------
    def plugin(self, name: str, spec: plugin_fields.PluginSpec, inputs: list, role: str = "plugin", **fields):
        """Create one of our plugins from its fields (plugins/plugin_fields.py) and add it, its
        precision pinned as the policy says for `role` (plugins are unpinned by default: their
        kernels keep fp32 statistics whatever their I/O type)."""
        if self.plugin_registry is None:
            raise RuntimeError("this network was created without a plugin registry")
        creator = self.plugin_registry.get_creator(spec.name, plugin_fields.PLUGIN_VERSION,
                                                   plugin_fields.PLUGIN_NAMESPACE)
        if creator is None:
            raise RuntimeError(f"plugin {spec.name} is not registered: build plugins/ and load "
                               "libbert_plugins.so (see plugins/README.md)")
        types = {"float32": trt.PluginFieldType.FLOAT32, "int32": trt.PluginFieldType.INT32}
        kinds = {f.name: f.kind for f in spec.fields}
        # The collection copies each field's pointer, not its data: the PluginField objects (which
        # keep their arrays alive) must outlive create_plugin, so they are held in a list.
        plugin_fields_alive = [trt.PluginField(field, array, types[kinds[field]])
                               for field, array in spec.field_values(**fields)]
        collection = trt.PluginFieldCollection(plugin_fields_alive)
        plugin = creator.create_plugin(name, collection, trt.TensorRTPhase.BUILD)
        if plugin is None:
            raise RuntimeError(f"{spec.name}: create_plugin rejected fields {fields}")
        layer = self.network.add_plugin_v3(inputs, [], plugin)
        layer.name = name
        for index in range(layer.num_outputs):
            layer.get_output(index).name = name if index == 0 else f"{name}.{spec.outputs[index]}"
        precision.apply(layer, role, self.mode, trt)
        return [layer.get_output(i) for i in range(layer.num_outputs)]
