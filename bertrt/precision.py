"""The precision policy, in one place: which layers may run in which precision, per build mode.

TensorRT picks the fastest precision the builder flags allow for every layer, unless a layer's
`precision` is set and the config says OBEY_PRECISION_CONSTRAINTS. So the policy is: turn on
the flags of the mode, then pin the numerically sensitive layers. Every layer `trt_helper` adds
is tagged with a role; `apply()` looks the role up here.

Why these pins:
- norm: native INormalization in fp16 accumulates mean/variance in fp16 and can overflow on
  BERT's residual stream (values in the hundreds); fp32 keeps the fill-mask answers. Our
  LayerNorm plugins accumulate in fp32 inside, so they run with fp16 I/O and are not pinned
  (their gamma/beta then come in fp16 too: TensorRT converts the constants at build time).
- softmax: exp() of scores in fp16 loses the small probabilities that still add up.
- gemm in INT8: the GEMMs carry nearly all FLOPs and tolerate per-tensor activation scales.
- attention (the Q K^T and P V products): per-tensor INT8 of probabilities in [0, 1] leaves
  1/127 steps, which flattens attention; they stay fp16.
- decoder (the vocabulary projection): its logits are the answer; int8 there flips top-1 on
  near-ties, so it stays in fp16, and it writes fp32 logits.
- residual_norm (the SkipLayerNorm plugin, fusion skip_layernorm): its input, skip and output are
  the residual stream, which the plugin could take and give in INT8 (NVIDIA's demo does, half
  of fp16's bytes); pinned to fp16 I/O in INT8 engines, like the adds it replaces, unless the
  int8_residual fusion asks for INT8 (role residual_norm_int8: the residual stream quantized with
  calibrated per-tensor scales; its cost on the reference backend: tests/test_precision_policy.py).
"""
from __future__ import annotations

import numpy as np

MODES = ("fp32", "fp16", "int8")

# role -> {mode: precision name}; absent = the builder's choice under the mode's flags.
PINNED = {
    "norm": {"fp16": "FLOAT", "int8": "FLOAT"},
    "softmax": {"fp16": "FLOAT", "int8": "FLOAT"},
    "gemm": {"int8": "INT8"},
    "attention": {"int8": "HALF"},
    # With INT8 on, TensorRT runs *any* layer in INT8 where that is faster and scales exist:
    # everything that is not a linear layer is pinned to fp16 so only the GEMMs quantize.
    "decoder": {"int8": "HALF"},
    "elementwise": {"int8": "HALF"},
    "activation": {"int8": "HALF"},
    "embedding": {"int8": "HALF"},
    "residual_norm": {"int8": "HALF"},
    "residual_norm_int8": {"int8": "INT8"},
}
# role -> output type for every mode (network outputs stay fp32 whatever runs inside).
OUTPUT_TYPES = {"decoder": "FLOAT"}

ROLES = ("gemm", "attention", "decoder", "norm", "softmax", "elementwise", "activation", "embedding",
         "shape", "plugin", "residual_norm", "residual_norm_int8")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"precision mode {mode!r}: choose one of {', '.join(MODES)}")
    return mode


def builder_flag_names(mode: str) -> list[str]:
    """BuilderFlag names for a mode. INT8 keeps FP16 on so unquantized layers use fp16, not fp32."""
    check_mode(mode)
    return {"fp32": [], "fp16": ["FP16", "OBEY_PRECISION_CONSTRAINTS"],
            "int8": ["FP16", "INT8", "OBEY_PRECISION_CONSTRAINTS"]}[mode]


def cleared_flag_names(mode: str) -> list[str]:
    """Flags TensorRT turns on by default that a mode must turn off: TF32 rounds fp32 GEMM inputs
    to 10 mantissa bits (errors ~1e-3), so an "fp32" engine would not be fp32."""
    check_mode(mode)
    return ["TF32"] if mode == "fp32" else []


def apply(layer, role: str, mode: str, trt, weights: dict | None = None) -> None:
    """Pin `layer` as the policy says for `role` in `mode`. `weights`: {input index: array} of
    the constant inputs (a GEMM's weights), which an INT8 layer needs dynamic ranges for too:
    calibration measures activations only."""
    if role not in ROLES:
        raise ValueError(f"unknown layer role {role!r}")
    pinned = PINNED.get(role, {}).get(mode)
    if pinned:
        layer.precision = getattr(trt.DataType, pinned)
    if pinned == "INT8":
        for index, array in (weights or {}).items():
            amax = float(np.abs(array).max()) or 1.0  # symmetric, per tensor, the largest weight
            layer.get_input(index).dynamic_range = (-amax, amax)
    output_type = OUTPUT_TYPES.get(role)
    if output_type:
        layer.set_output_type(0, getattr(trt.DataType, output_type))


# Layer type -> role, for networks the ONNX parser made (the types of trt_helper's roles).
PARSED_ROLES = {"NORMALIZATION": "norm", "SOFTMAX": "softmax", "MATRIX_MULTIPLY": "gemm",
                "ELEMENTWISE": "elementwise", "UNARY": "activation", "ACTIVATION": "activation",
                "GATHER": "embedding"}
FLOAT_TYPES = ("FLOAT", "HALF", "BF16")


def apply_to_parsed_network(network, mode: str, trt) -> dict[str, int]:
    """The same policy for a network the ONNX parser made, where layers carry no roles: the role
    is read off the layer type (PARSED_ROLES), for layers with a float output only: the parser
    also emits INT64/INT32/BOOL shape and mask arithmetic (elementwise, gathers on shapes), which
    has no precision to pin. A matrix multiply with a weight operand is a linear layer (the
    parser may put a shuffle or cast between the weight constant and the product), one of two
    activations an attention product, and the last one the vocabulary decoder, as is the
    elementwise layer reading it (its bias add: it writes the logits).
    Returns how many layers got each role (printed by onnx2trt.py)."""
    layers = [network.get_layer(i) for i in range(network.num_layers)]
    producer = {layer.get_output(o).name: layer for layer in layers for o in range(layer.num_outputs)}

    def constant_behind(tensor):
        """The weights a tensor is made of, following shuffles/casts/identities, or None."""
        layer = producer.get(tensor.name)
        while layer is not None and layer.type.name in ("SHUFFLE", "CAST", "IDENTITY"):
            layer = producer.get(layer.get_input(0).name)
        return layer.weights.numpy() if layer is not None and layer.type.name == "CONSTANT" else None

    gemms = [layer for layer in layers if layer.type.name == "MATRIX_MULTIPLY"]
    logits = gemms[-1].get_output(0).name if gemms else None  # what the decoder's bias add reads
    counts: dict[str, int] = {}
    for layer in layers:
        role = PARSED_ROLES.get(layer.type.name)
        if role is None or layer.get_output(0).dtype.name not in FLOAT_TYPES:
            continue
        weights = {}
        if role == "gemm":
            weights = {i: w for i in range(layer.num_inputs) if (w := constant_behind(layer.get_input(i))) is not None}
            if not weights:
                role = "attention"  # activation x activation: Q K^T or P V
            if layer is gemms[-1]:
                role = "decoder"
        elif role == "elementwise" and logits in (layer.get_input(i).name for i in range(layer.num_inputs)):
            role = "decoder"
        apply(layer, role, mode, trt, weights)
        counts[role] = counts.get(role, 0) + 1
    return counts
