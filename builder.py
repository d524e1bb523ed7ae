"""Step 3: BERT built by hand, layer by layer, with the TensorRT network API.

    python builder.py                               # fp32, TensorRT if it can run here
    python builder.py --mode fp16 --fusions all     # fp16 with every fused plugin
    python builder.py --backend reference           # the same network on the CPU, no TensorRT

Every weight comes out of artifacts/model.onnx (bertrt/onnx_weights.py finds them by the
graph's structure), every size from the model. The network is assembled from trt_helper's named
blocks, one per HF module, so `bert.encoder.layer.3.attention.self.query` is both the PyTorch
module and the TensorRT layer. `--fusions` swaps blocks for our CUDA plugins one at a time.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from bertrt import engine_config
from bertrt.backend import engine_metadata, select_backend
from bertrt.common import ARTIFACTS_DIR, ONNX_PATH, OUTPUT_NAME, REFERENCE_PATH, UserError, run_main
from bertrt.onnx_weights import BertWeights, EncoderLayer, Norm, load_weights
from bertrt.report import load_reference, report
from plugins import plugin_fields as P
from trt_helper import NetworkHelper, trt


@dataclass(frozen=True)
class Fusions:
    """Which blocks become our plugins; each flag is one optimization of NVIDIA's BERT demo."""

    layernorm: bool = False       # BertLayerNorm plugin instead of INormalization
    skip_layernorm: bool = False  # residual add + bias + LayerNorm in one kernel
    emb_layernorm: bool = False   # 3 embedding gathers + sum + LayerNorm in one kernel
    fused_qkv: bool = False       # one GEMM with concatenated Q/K/V weights instead of three
    attention: bool = False       # BertQkvToContext: scores, mask, softmax, context in one kernel
    bias_gelu: bool = False       # bias + exact GELU after the FFN up-projection
    packed: bool = False          # variable sequence length: no padding tokens at all
    int8_residual: bool = False   # INT8 engines: SkipLayerNorm with INT8 input, skip and output

    @classmethod
    def parse(cls, text: str) -> "Fusions":
        names = [f.name for f in fields(cls)]
        if text in ("", "none"):
            return cls()
        chosen = [t.strip().replace("-", "_") for t in text.split(",") if t.strip()]
        if "all" in chosen:  # every fusion but packed (other engine inputs) and int8_residual (numerics)
            opt_in = ("packed", "int8_residual")
            chosen = [n for n in names if n not in opt_in] + [c for c in chosen if c != "all"]
        unknown = [c for c in chosen if c not in names]
        if unknown:
            raise UserError(f"unknown fusion(s) {unknown}: choose from {', '.join(names)}, 'all' or 'none'")
        fusions = cls(**{n: n in chosen for n in names})
        fusions.validate()
        return fusions

    def validate(self) -> None:
        if self.packed and not (self.emb_layernorm and self.attention):
            raise UserError("packed needs emb_layernorm and attention (positions and sequence bounds come "
                            "from cu_seqlens): use --fusions all,packed or add them")
        if self.int8_residual and not self.skip_layernorm:
            raise UserError("int8_residual is SkipLayerNorm's INT8 I/O: add skip_layernorm "
                            "(--fusions all,int8_residual)")

    def check_mode(self, mode: str) -> None:
        """The fusions that only make sense in some precision modes."""
        if self.packed and mode == "int8":
            raise UserError("INT8 calibration feeds padded batches: build packed engines in fp32/fp16, "
                            "or drop 'packed' for INT8")
        if self.int8_residual and mode != "int8":
            raise UserError("int8_residual quantizes the residual stream of INT8 engines: add --mode int8 "
                            "or drop int8_residual")

    @property
    def plugins(self) -> bool:
        return any(getattr(self, n) for n in ("layernorm", "skip_layernorm", "emb_layernorm", "attention",
                                              "bias_gelu"))

    def label(self) -> str:
        on = [f.name for f in fields(self) if getattr(self, f.name)]
        return "+".join(on) if on else "none"


class BertNetworkBuilder:
    """Assembles BERT's embeddings, encoder layers and MLM head from trt_helper blocks."""

    def __init__(self, helper: NetworkHelper, weights: BertWeights, fusions: Fusions):
        self.h = helper
        self.w = weights
        self.dims = weights.dims
        self.fusions = fusions
        # fp16 embeddings out of EmbLayerNorm in fp16 engines only: INT8 calibration runs the
        # network in fp32, where a HALF-only plugin output could not be placed.
        self.fp16_embeddings = helper.mode == "fp16"

    # --- inputs -------------------------------------------------------------------------------
    def add_inputs(self):
        h, int32 = self.h, trt.DataType.INT32
        if self.fusions.packed:
            self.input_ids = h.input("input_ids", int32, (-1,))
            self.token_type_ids = h.input("token_type_ids", int32, (-1,))
            self.cu_seqlens = h.input("cu_seqlens", int32, (-1,))
            self.max_seqlen = h.input("max_seqlen", int32, (-1,))
        else:
            self.input_ids = h.input("input_ids", int32, (-1, -1))
            self.token_type_ids = h.input("token_type_ids", int32, (-1, -1))
            self.attention_mask = h.input("attention_mask", int32, (-1, -1))

    # --- building blocks ----------------------------------------------------------------------
    def layer_norm(self, name: str, x, norm: Norm):
        if self.fusions.layernorm:
            return self.h.plugin(name, P.LAYER_NORM, [x, self.h.constant(f"{name}.weight", norm.weight),
                                                      self.h.constant(f"{name}.bias", norm.bias)],
                                 epsilon=norm.eps, hidden_size=self.dims.hidden_size)[0]
        return self.h.layer_norm(name, x, norm.weight, norm.bias, norm.eps)

    def residual_layer_norm(self, name: str, x, dense_weight, dense_bias, residual, norm: Norm):
        """LayerNorm(dense(x) + residual): HF's BertSelfOutput / BertOutput."""
        dense_name = name.rsplit(".", 1)[0] + ".dense"
        if self.fusions.skip_layernorm:
            # The dense layer's bias moves into the SkipLayerNorm kernel: one pass less. The
            # product is not HF's dense output any more, so it does not get the module's name.
            product = self.h.linear(f"{dense_name}.without_bias", x, dense_weight, None)
            return self.h.plugin(name, P.SKIP_LAYER_NORM, [
                product, residual, self.h.constant(f"{name}.weight", norm.weight),
                self.h.constant(f"{name}.bias", norm.bias), self.h.constant(f"{dense_name}.bias", dense_bias)],
                role="residual_norm_int8" if self.fusions.int8_residual else "residual_norm",
                epsilon=norm.eps, hidden_size=self.dims.hidden_size)[0]
        dense = self.h.linear(dense_name, x, dense_weight, dense_bias)
        return self.layer_norm(name, self.h.add(f"{name}.residual", dense, residual), norm)

    # --- the model ----------------------------------------------------------------------------
    def embeddings(self):
        w, h, name = self.w, self.h, "bert.embeddings"
        if self.fusions.emb_layernorm:
            lengths = self.cu_seqlens if self.fusions.packed else self.attention_mask
            tables = [h.constant(f"{name}.{t}.weight", a) for t, a in (
                ("word_embeddings", w.word_embeddings), ("position_embeddings", w.position_embeddings),
                ("token_type_embeddings", w.token_type_embeddings))]
            out, self.seq_lens = h.plugin(f"{name}.LayerNorm", P.EMB_LAYER_NORM, [
                self.input_ids, self.token_type_ids, lengths, *tables,
                h.constant(f"{name}.LayerNorm.weight", w.embeddings_norm.weight),
                h.constant(f"{name}.LayerNorm.bias", w.embeddings_norm.bias)],
                epsilon=w.embeddings_norm.eps, hidden_size=self.dims.hidden_size,
                packed=int(self.fusions.packed), output_fp16=int(self.fp16_embeddings))
            return out
        words = h.gather(f"{name}.word_embeddings", h.constant(f"{name}.word_embeddings.weight", w.word_embeddings),
                         self.input_ids)
        types = h.gather(f"{name}.token_type_embeddings",
                         h.constant(f"{name}.token_type_embeddings.weight", w.token_type_embeddings),
                         self.token_type_ids)
        positions = h.leading_rows(f"{name}.position_embeddings",
                                   h.constant(f"{name}.position_embeddings.weight", w.position_embeddings),
                                   like=self.input_ids, axis=1)
        positions = h.shuffle(f"{name}.position_embeddings.unsqueeze", positions,
                              reshape=(1, -1, self.dims.hidden_size))
        summed = h.add(f"{name}.sum", h.add(f"{name}.words_plus_types", words, types), positions)
        return self.layer_norm(f"{name}.LayerNorm", summed, w.embeddings_norm)

    def sequence_lengths(self):
        """[B] int32 valid tokens per sequence, for the attention plugin when no EmbLayerNorm
        plugin computed them: sum of the mask over the sequence axis."""
        h = self.h
        mask = h.cast("bert.seq_lens.float", self.attention_mask, trt.DataType.FLOAT)
        total = h.reduce_sum("bert.seq_lens.sum", mask, axis=1)
        return h.cast("bert.seq_lens", total, trt.DataType.INT32)

    def self_attention(self, prefix: str, x, layer: EncoderLayer):
        h, d = self.h, self.dims
        name = f"{prefix}.attention.self"
        if self.fusions.fused_qkv or self.fusions.attention:
            qkv_weight = np.concatenate([layer.query.weight, layer.key.weight, layer.value.weight])
            qkv_bias = np.concatenate([layer.query.bias, layer.key.bias, layer.value.bias])
            qkv = h.linear(f"{name}.qkv", x, qkv_weight, qkv_bias)
            if self.fusions.attention:
                lengths = [self.cu_seqlens, self.max_seqlen] if self.fusions.packed else [self.seq_lens]
                return h.plugin(name, P.QKV_TO_CONTEXT, [qkv, *lengths], num_heads=d.num_heads,
                                head_size=d.head_size, scale=1.0 / np.sqrt(d.head_size),
                                packed=int(self.fusions.packed))[0]
            # [B, S, 3H] -> [B, S, 3, heads, size]; pick q/k/v with a gather on axis 2.
            split = h.shuffle(f"{name}.qkv.split", qkv, reshape=(0, 0, 3, d.num_heads, d.head_size))
            q, k, v = (h.shuffle(f"{name}.{part}.heads",
                                 h.gather(f"{name}.{part}", split, h.constant(f"{name}.{part}.index",
                                                                              np.array(i, dtype=np.int32)),
                                          axis=2, role="shape"),
                                 second_transpose=(0, 2, 1, 3))
                       for i, part in enumerate(("query", "key", "value")))
        else:
            q, k, v = (h.split_heads(f"{name}.{part}.heads", h.linear(f"{name}.{part}", x, lin.weight, lin.bias),
                                     d.num_heads, d.head_size)
                       for part, lin in (("query", layer.query), ("key", layer.key), ("value", layer.value)))
        context = h.scaled_dot_product_attention(name, q, k, v, self.mask_bias, d.head_size)
        return h.merge_heads(name, context, d.hidden_size)

    def intermediate(self, prefix: str, x, layer: EncoderLayer):
        name = f"{prefix}.intermediate"
        if self.fusions.bias_gelu:
            product = self.h.linear(f"{name}.dense.without_bias", x, layer.intermediate.weight, None)
            return self.h.plugin(name, P.BIAS_GELU, [product, self.h.constant(f"{name}.dense.bias",
                                                                              layer.intermediate.bias)],
                                 size=self.dims.intermediate_size)[0]
        dense = self.h.linear(f"{name}.dense", x, layer.intermediate.weight, layer.intermediate.bias)
        return self.h.gelu(name, dense)

    def encoder_layer(self, index: int, x, layer: EncoderLayer):
        prefix = f"bert.encoder.layer.{index}"
        context = self.self_attention(prefix, x, layer)
        attended = self.residual_layer_norm(f"{prefix}.attention.output.LayerNorm", context,
                                            layer.attention_output.weight, layer.attention_output.bias, x,
                                            layer.attention_norm)
        hidden = self.intermediate(prefix, attended, layer)
        return self.residual_layer_norm(f"{prefix}.output.LayerNorm", hidden, layer.output.weight,
                                        layer.output.bias, attended, layer.output_norm)

    def mlm_head(self, x):
        h, w, name = self.h, self.w, "cls.predictions"
        dense = h.linear(f"{name}.transform.dense", x, w.transform.weight, w.transform.bias)
        act = h.gelu(f"{name}.transform.transform_act_fn", dense)
        normed = self.layer_norm(f"{name}.transform.LayerNorm", act, w.transform_norm)
        return h.linear(f"{name}.decoder", normed, w.decoder.weight, w.decoder.bias, role="decoder")

    def build(self):
        self.add_inputs()
        hidden = self.embeddings()
        if not self.fusions.packed:
            if self.fusions.attention and not self.fusions.emb_layernorm:
                self.seq_lens = self.sequence_lengths()
            if not self.fusions.attention:
                self.mask_bias = self.h.attention_mask_bias("bert.extended_attention_mask", self.attention_mask)
        for index, layer in enumerate(self.w.layers):
            hidden = self.encoder_layer(index, hidden, layer)
        self.h.mark_output(self.mlm_head(hidden), OUTPUT_NAME)


def build_network(backend, weights: BertWeights, fusions: Fusions, mode: str):
    """A fresh builder and network with BERT in it: (builder, network, helper)."""
    fusions.check_mode(mode)
    if fusions.int8_residual and not P.skip_layer_norm_int8_supported(weights.dims.hidden_size):
        raise UserError(f"int8_residual: SkipLayerNorm's INT8 kernel takes hidden sizes that are multiples of 8 "
                        f"up to 2048, this model has {weights.dims.hidden_size}: drop int8_residual")
    builder = backend.builder()
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    registry = backend.plugin_registry() if fusions.plugins else None
    helper = NetworkHelper(network, registry, mode)
    BertNetworkBuilder(helper, weights, fusions).build()
    return builder, network, helper


def default_engine_path(mode: str, fusions: Fusions) -> Path:
    return ARTIFACTS_DIR / f"bert_{mode}_{fusions.label().replace('+', '-')}.engine"


def make_calibrator(args, backend, network_name: str):
    """The INT8 calibrator for the network called `network_name` ("onnx-parser" or
    "hand-built:<fusions>": its cache holds that network's tensor names), or None."""
    if args.mode != "int8":
        return None
    from calibrator import make_calibrator as make

    slug = network_name.replace(":", "_").replace("+", "-")
    cache = args.calib_cache or ARTIFACTS_DIR / f"calibration_{backend.name}_{slug}.cache"
    return make(args.calib_algorithm, network=network_name, corpus_path=args.calib_data, model_name_or_path=args.model,
                onnx_path=args.onnx, cache_path=cache, batch_size=args.calib_batch_size,
                seq_len=args.calib_seq, max_batches=args.calib_batches,
                device="cpu" if backend.name == "reference" else "cuda")


def add_precision_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=("fp32", "fp16", "int8"), default="fp32")
    parser.add_argument("--fp16", dest="mode", action="store_const", const="fp16", help="same as --mode fp16")
    parser.add_argument("--int8", dest="mode", action="store_const", const="int8", help="same as --mode int8")
    calib = parser.add_argument_group("INT8 calibration")
    calib.add_argument("--model", default=None, help="tokenizer for the calibration corpus (default: the "
                       "model recorded in the reference file)")
    calib.add_argument("--calib-data", type=Path, default=Path(__file__).resolve().parent / "calibrator_data.txt")
    calib.add_argument("--calib-algorithm", choices=("entropy", "minmax"), default="entropy")
    calib.add_argument("--calib-batch-size", type=int, default=8)
    calib.add_argument("--calib-seq", type=int, default=64)
    calib.add_argument("--calib-batches", type=int, default=32)
    calib.add_argument("--calib-cache", type=Path, default=None)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--onnx", type=Path, default=ONNX_PATH)
    parser.add_argument("--reference", type=Path, default=REFERENCE_PATH)
    parser.add_argument("--backend", choices=("auto", "tensorrt", "reference"), default="auto")
    parser.add_argument("--fusions", default="none",
                        help="comma list of: " + ", ".join(f.name for f in fields(Fusions)) + "; or all, none")
    parser.add_argument("--engine", type=Path, default=None, help="output engine (default artifacts/bert_*.engine)")
    parser.add_argument("--num-heads", type=int, default=None, help="only for ONNX files not made by model2onnx.py")
    parser.add_argument("--iterations", type=int, default=200, help="timed inferences")
    add_precision_arguments(parser)
    engine_config.add_profile_arguments(parser)
    args = parser.parse_args(argv)

    fusions = Fusions.parse(args.fusions)
    fusions.check_mode(args.mode)  # before any work (build_network checks again for other callers)
    shapes = engine_config.profile_from_args(args)
    weights = load_weights(args.onnx, args.num_heads)
    shapes.check_model(weights.dims.max_position)
    reference = load_reference(args.reference)
    args.model = args.model or str(reference["model"])
    backend = select_backend(args.backend)

    builder, network, _ = build_network(backend, weights, fusions, args.mode)
    config = engine_config.configure(
        builder, network, backend.trt, args.mode, shapes, packed=fusions.packed, workspace_mb=args.workspace_mb,
        calibrator=make_calibrator(args, backend, f"hand-built:{fusions.label()}"), calibration_shape=(args.calib_batch_size, args.calib_seq),
        timing_cache=args.timing_cache if backend.name == "tensorrt" else None)
    engine_path = args.engine or default_engine_path(args.mode, fusions)
    metadata = engine_metadata("hand-built", args.mode, shapes, fusions, weights.dims)
    artifact, seconds = backend.build(builder, network, config, engine_path, metadata)
    if backend.name == "tensorrt":
        engine_config.save_timing_cache(config, args.timing_cache)
    print(f"built {network.num_layers} layers on the {backend.name} backend in {seconds:.1f} s"
          + (f": {engine_path}" if backend.name == "tensorrt" else ""))
    report(backend.runner(artifact), reference, args.mode, packed=fusions.packed, iterations=args.iterations,
           title=f"hand-built {args.mode}, fusions: {fusions.label()} ({backend.name})")


if __name__ == "__main__":
    run_main(main)
