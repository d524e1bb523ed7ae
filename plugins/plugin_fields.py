"""One place for every plugin's identity and creation fields.

`builder.py` (through `trt_helper.plugin`) turns these into a `trt.PluginFieldCollection`;
the reference backend reads the same values; the C++ harness gets them as a fields file written
by `write_fields_file`, so all three create each plugin from exactly the same fields.
The C++ creators declare the same names and types (the harness checks `getFieldNames()`
against this file).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PLUGIN_NAMESPACE = "bert_trt"
PLUGIN_VERSION = "1"

_NUMPY_TYPES = {"float32": np.float32, "int32": np.int32}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str  # "float32" or "int32" (PluginFieldType.FLOAT32 / INT32)
    doc: str


@dataclass(frozen=True)
class PluginSpec:
    name: str
    fields: tuple[FieldSpec, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def field_values(self, **values) -> list[tuple[str, np.ndarray]]:
        """Validated (name, 1-element array) pairs, in the declared field order."""
        expected = {f.name for f in self.fields}
        unknown = set(values) - expected
        missing = expected - set(values)
        if unknown or missing:
            raise ValueError(f"{self.name}: missing fields {sorted(missing)}, unknown {sorted(unknown)}")
        return [(f.name, np.array([values[f.name]], dtype=_NUMPY_TYPES[f.kind])) for f in self.fields]


EPSILON = FieldSpec("epsilon", "float32", "LayerNorm epsilon, from the model config")
HIDDEN = FieldSpec("hidden_size", "int32", "size of the normalized (last) dimension")
PACKED = FieldSpec("packed", "int32", "1: tokens packed without padding (cu_seqlens), 0: [batch, seq] with a mask")

LAYER_NORM = PluginSpec(
    "BertLayerNorm", (EPSILON, HIDDEN),
    inputs=("input", "gamma", "beta"), outputs=("output",))

SKIP_LAYER_NORM = PluginSpec(
    "BertSkipLayerNorm", (EPSILON, HIDDEN),
    inputs=("input", "skip", "gamma", "beta", "bias"),  # bias optional (4 or 5 inputs)
    outputs=("output",))


def skip_layer_norm_int8_supported(hidden: int) -> bool:
    """Whether BertSkipLayerNorm offers INT8 I/O at this hidden size: bertSkipLayerNormInt8Supported
    (skip_layernorm_kernel.h), restated for the builder, which must not need the CUDA library
    (tests/gpu/test_memory_bound_kernels.py checks the two agree)."""
    return 0 < hidden <= 2048 and hidden % 8 == 0

EMB_LAYER_NORM = PluginSpec(
    "BertEmbLayerNorm",
    (EPSILON, HIDDEN, PACKED,
     FieldSpec("output_fp16", "int32", "1: embeddings output is fp16, 0: fp32")),
    inputs=("input_ids", "token_type_ids", "attention_mask_or_cu_seqlens",
            "word_embeddings", "position_embeddings", "token_type_embeddings", "gamma", "beta"),
    outputs=("embeddings", "seq_lens"))

QKV_TO_CONTEXT = PluginSpec(
    "BertQkvToContext",
    (FieldSpec("num_heads", "int32", "attention heads"),
     FieldSpec("head_size", "int32", "hidden_size / num_heads"),
     FieldSpec("scale", "float32", "scores scale, 1/sqrt(head_size) for BERT"),
     PACKED),
    inputs=("qkv", "seq_lens_or_cu_seqlens", "max_seqlen"),  # max_seqlen: packed only, shape [S_max]
    outputs=("context",))

BIAS_GELU = PluginSpec(
    "BertBiasGelu", (FieldSpec("size", "int32", "size of the last dimension (intermediate size)"),),
    inputs=("input", "bias"), outputs=("output",))

ALL = (LAYER_NORM, SKIP_LAYER_NORM, EMB_LAYER_NORM, QKV_TO_CONTEXT, BIAS_GELU)
BY_NAME = {spec.name: spec for spec in ALL}


def write_fields_file(spec: PluginSpec, values: dict, path: Path) -> None:
    """Fields as the C++ harness reads them: a header line, then `name kind value` per field."""
    lines = [f"plugin {spec.name} {PLUGIN_VERSION} {PLUGIN_NAMESPACE}"]
    for name, array in spec.field_values(**values):
        kind = next(f.kind for f in spec.fields if f.name == name)
        lines.append(f"field {name} {kind} {array[0].item()!r}")
    Path(path).write_text("\n".join(lines) + "\n")
