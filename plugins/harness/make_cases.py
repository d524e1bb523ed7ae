"""Write the inputs of bert_plugin_harness (plugins/harness/README.md).

    python -m plugins.harness.make_cases --fields DIR    # *.fields files: interface checks (numpy only)
    python -m plugins.harness.make_cases --enqueue DIR   # + inputs and expected outputs (PyTorch, CPU)

Fields files come from `plugin_fields.write_fields_file`, so the harness creates every plugin
from the same PluginFieldCollection values that builder.py passes. Expected outputs are computed
here, independently of the kernels, with PyTorch in float64 (F.layer_norm, embedding gathers,
scaled_dot_product_attention with a key mask, F.gelu) from the very values written as inputs
(fp16 inputs are rounded first); the harness compares within its per-dtype tolerance.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from plugins import plugin_fields as pf

# BERT-base values (the interface checks only need valid ones), one file per plugin configuration.
FIELD_CASES = {
    "layernorm": (pf.LAYER_NORM, dict(epsilon=1e-12, hidden_size=768)),
    "layernorm_h100": (pf.LAYER_NORM, dict(epsilon=1e-5, hidden_size=100)),  # fp16: no 16-byte vectors
    "skip_layernorm": (pf.SKIP_LAYER_NORM, dict(epsilon=1e-12, hidden_size=768)),
    "skip_layernorm_h4096": (pf.SKIP_LAYER_NORM, dict(epsilon=1e-12, hidden_size=4096)),  # no INT8 there
    "emb_layernorm_padded": (pf.EMB_LAYER_NORM, dict(epsilon=1e-12, hidden_size=768, packed=0, output_fp16=0)),
    "emb_layernorm_padded_fp16": (pf.EMB_LAYER_NORM, dict(epsilon=1e-12, hidden_size=768, packed=0, output_fp16=1)),
    "emb_layernorm_packed_fp16": (pf.EMB_LAYER_NORM, dict(epsilon=1e-12, hidden_size=768, packed=1, output_fp16=1)),
    "attention_padded": (pf.QKV_TO_CONTEXT, dict(num_heads=12, head_size=64, scale=0.125, packed=0)),
    "attention_packed": (pf.QKV_TO_CONTEXT, dict(num_heads=12, head_size=64, scale=0.125, packed=1)),
    "attention_h128": (pf.QKV_TO_CONTEXT, dict(num_heads=2, head_size=128, scale=0.088, packed=0)),  # no wgmma
    "attention_h48": (pf.QKV_TO_CONTEXT, dict(num_heads=4, head_size=48, scale=0.144, packed=0)),  # v1 only
    "bias_gelu": (pf.BIAS_GELU, dict(size=3072)),
    "bias_gelu_n3076": (pf.BIAS_GELU, dict(size=3076)),  # 16-byte vectors in fp32, not in fp16
}


def write_field_cases(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, (spec, values) in FIELD_CASES.items():
        pf.write_fields_file(spec, values, out / f"{name}.fields")


# ---- Enqueue cases ----------------------------------------------------------------------------

_CODES = {np.float32: "f32", np.float16: "f16", np.int32: "i32", np.int8: "i8"}


@dataclass
class Case:
    """One enqueue() call: fields, inputs (as the plugin gets them) and float64 expectations."""

    label: str
    spec: pf.PluginSpec
    fields: dict
    inputs: list = field(default_factory=list)   # (name, np.ndarray of the plugin's input type)
    outputs: list = field(default_factory=list)  # (name, plugin output type, np.ndarray expected)
    scales: dict = field(default_factory=dict)   # INT8 tensors' per-tensor scales, by name
    gives_way: tuple = ()  # tactics that refuse this shape: pinned, the default must run instead


def _write(case: Case, out: Path, manifest: list[str]) -> None:
    folder = out / case.label
    folder.mkdir(parents=True, exist_ok=True)
    pf.write_fields_file(case.spec, case.fields, folder / "plugin.fields")
    manifest.append(f"case {case.label} {case.label}/plugin.fields")
    for name, array in case.inputs:
        array = np.ascontiguousarray(array)
        array.tofile(folder / f"in_{name}.bin")
        dims = " ".join(str(d) for d in array.shape)
        scale = f" scale {case.scales[name]!r}" if name in case.scales else ""
        manifest.append(f"input {_CODES[array.dtype.type]} {case.label}/in_{name}.bin {dims}".rstrip() + scale)
    for name, out_type, expected in case.outputs:
        stored = np.ascontiguousarray(expected, dtype=np.int32 if out_type is np.int32 else np.float32)
        stored.tofile(folder / f"expected_{name}.bin")
        dims = " ".join(str(d) for d in stored.shape)
        scale = f" scale {case.scales[name]!r}" if name in case.scales else ""
        manifest.append(f"output {_CODES[out_type]} {case.label}/expected_{name}.bin {dims}".rstrip() + scale)
    if case.gives_way:
        manifest.append("gives-way " + " ".join(str(t) for t in case.gives_way))
    manifest.append("end")


class Cases:
    """Builds the cases; every random tensor comes from one seeded generator."""

    def __init__(self, seed: int = 0):
        import torch

        self.torch = torch
        self.gen = torch.Generator().manual_seed(seed)

    def randn(self, *shape, scale=1.0, dtype=np.float32):
        """Random values already rounded to `dtype`, and their exact float64 values."""
        values = (self.torch.randn(*shape, generator=self.gen, dtype=self.torch.float64) * scale).numpy()
        stored = values.astype(dtype)
        return stored, self.torch.from_numpy(stored.astype(np.float64))

    # LayerNorm(input) and SkipLayerNorm(input + skip + bias) -------------------------------
    def layer_norm(self, label, shape, dtype, eps=1e-12, skip=False, bias=False):
        import torch.nn.functional as F

        hidden = shape[-1]
        x, x64 = self.randn(*shape, dtype=dtype)
        # gamma, beta and bias come in the activations' type (the plugins' rule, plugin_base.h)
        gamma, gamma64 = self.randn(hidden, scale=0.5, dtype=dtype)
        beta, beta64 = self.randn(hidden, scale=0.5, dtype=dtype)
        total = x64
        inputs = [("input", x)]
        if skip:
            s, s64 = self.randn(*shape, dtype=dtype)
            inputs.append(("skip", s))
            total = total + s64
        inputs += [("gamma", gamma), ("beta", beta)]
        if bias:
            b, b64 = self.randn(hidden, scale=0.1, dtype=dtype)
            inputs.append(("bias", b))
            total = total + b64
        expected = F.layer_norm(total, (hidden,), gamma64, beta64, eps).numpy()
        spec = pf.SKIP_LAYER_NORM if skip else pf.LAYER_NORM
        return Case(label, spec, dict(epsilon=eps, hidden_size=hidden), inputs, [("output", dtype, expected)])

    def skip_layer_norm_int8(self, label, shape, bias=True, scales=(0.05, 0.04, 8 / 127), eps=1e-12):
        """SkipLayerNorm with INT8 input, skip and output (TensorRT's implicit INT8: q * scale);
        gamma/beta/bias FLOAT. Expected: the float64 quotient y / scale clamped to [-128, 127],
        not rounded: the harness wants the int8 within half a step of it (the nearest integer;
        either one at a tie), so truncation or an off-by-one rounding fails."""
        import torch.nn.functional as F

        torch = self.torch
        hidden = shape[-1]
        x = torch.randint(-128, 128, shape, generator=self.gen, dtype=torch.int8).numpy()
        s = torch.randint(-128, 128, shape, generator=self.gen, dtype=torch.int8).numpy()
        gamma, gamma64 = self.randn(hidden, scale=0.5)
        beta, beta64 = self.randn(hidden, scale=0.5)
        total = torch.from_numpy(x.astype(np.float64)) * scales[0] + torch.from_numpy(s.astype(np.float64)) * scales[1]
        inputs = [("input", x), ("skip", s), ("gamma", gamma), ("beta", beta)]
        if bias:
            b, b64 = self.randn(hidden, scale=0.1)
            inputs.append(("bias", b))
            total = total + b64
        y = F.layer_norm(total, (hidden,), gamma64, beta64, eps).numpy()
        expected = np.clip(y / scales[2], -128, 127)
        return Case(label, pf.SKIP_LAYER_NORM, dict(epsilon=eps, hidden_size=hidden), inputs,
                    [("output", np.int8, expected)],
                    scales={"input": scales[0], "skip": scales[1], "output": scales[2]})

    # EmbLayerNorm -------------------------------------------------------------------------------
    def emb_layer_norm(self, label, lengths, packed, fp16, hidden=768, vocab=50, positions=16, types=2,
                       seq_len=None, bad_id_at=None):
        """lengths: tokens per sequence. Padded: [B, seq_len] right-padded with mask zeros."""
        import torch.nn.functional as F

        torch = self.torch
        eps = 1e-12
        word, word64 = self.randn(vocab, hidden)
        pos, pos64 = self.randn(positions, hidden)
        tok, tok64 = self.randn(types, hidden)
        gamma, gamma64 = self.randn(hidden, scale=0.5)
        beta, beta64 = self.randn(hidden, scale=0.5)
        batch = len(lengths)
        if packed:
            shape = (sum(lengths),)
            position = np.concatenate([np.arange(n) for n in lengths] + [np.zeros(0, np.int64)])
            cu = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
            third = ("cu_seqlens", cu)
        else:
            seq_len = max(lengths, default=0) if seq_len is None else seq_len
            shape = (batch, seq_len)
            position = np.broadcast_to(np.arange(seq_len), shape)
            mask = (np.arange(seq_len)[None, :] < np.array(lengths)[:, None]).astype(np.int32)
            third = ("attention_mask", mask.reshape(shape))
        ids = torch.randint(0, vocab, shape, generator=self.gen).numpy().astype(np.int32)
        token_types = torch.randint(0, types, shape, generator=self.gen).numpy().astype(np.int32)
        if bad_id_at is not None:
            ids[bad_id_at] = vocab  # one past the table: that token's row must be NaN
        valid = torch.from_numpy(ids < vocab)
        safe_ids = torch.from_numpy(np.where(ids < vocab, ids, 0).astype(np.int64))
        summed = (word64[safe_ids] + pos64[torch.from_numpy(np.array(position, dtype=np.int64))]
                  + tok64[torch.from_numpy(token_types.astype(np.int64))])
        expected = F.layer_norm(summed, (hidden,), gamma64, beta64, eps)
        expected[~valid] = float("nan")
        out_type = np.float16 if fp16 else np.float32
        inputs = [("input_ids", ids), ("token_type_ids", token_types), third, ("word", word),
                  ("position", pos), ("token_type", tok), ("gamma", gamma), ("beta", beta)]
        outputs = [("embeddings", out_type, expected.numpy()),
                   ("seq_lens", np.int32, np.array(lengths, dtype=np.int32).reshape(batch))]
        fields = dict(epsilon=eps, hidden_size=hidden, packed=int(packed), output_fp16=int(fp16))
        return Case(label, pf.EMB_LAYER_NORM, fields, inputs, outputs)

    # QkvToContext -------------------------------------------------------------------------------
    def attention(self, label, lengths, packed, dtype, heads=2, head_size=64, seq_len=None):
        """Padded: [B, seq_len, 3H] (every query row, keys < length). Packed: [T, 3H]."""
        import torch.nn.functional as F

        torch = self.torch
        hidden = heads * head_size
        scale = 1.0 / np.sqrt(head_size)
        batch = len(lengths)
        seq_len = max(lengths, default=0) if seq_len is None else seq_len
        rows = sum(lengths) if packed else batch * seq_len
        qkv, qkv64 = self.randn(rows, 3 * hidden, dtype=dtype)
        context = torch.zeros(rows, hidden, dtype=torch.float64)
        start = 0
        for b, length in enumerate(lengths):
            queries = length if packed else seq_len
            block = qkv64[start:start + queries].reshape(queries, 3, heads, head_size).permute(1, 2, 0, 3)
            q, k, v = block[0], block[1], block[2]  # [heads, queries, head_size]
            keep = torch.arange(queries) < length  # keys past the sequence are padding
            context[start:start + queries] = F.scaled_dot_product_attention(
                q, k, v, attn_mask=keep[None, None, :], scale=scale).permute(1, 0, 2).reshape(queries, hidden)
            start += queries
        fields = dict(num_heads=heads, head_size=head_size, scale=float(scale), packed=int(packed))
        if packed:
            cu = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
            inputs = [("qkv", qkv), ("cu_seqlens", cu), ("max_seqlen", np.zeros(seq_len, np.int32))]
            expected = context.numpy()
        else:
            inputs = [("qkv", qkv.reshape(batch, seq_len, 3 * hidden)),
                      ("seq_lens", np.array(lengths, dtype=np.int32).reshape(batch))]
            expected = context.numpy().reshape(batch, seq_len, hidden)
        return Case(label, pf.QKV_TO_CONTEXT, fields, inputs, [("context", dtype, expected)])

    # BiasGelu -----------------------------------------------------------------------------------
    def bias_gelu(self, label, shape, dtype):
        import torch.nn.functional as F

        x, x64 = self.randn(*shape, scale=2.0, dtype=dtype)
        bias, bias64 = self.randn(shape[-1], scale=0.5)
        expected = F.gelu(x64 + bias64).numpy()  # exact (erf) GELU, as BERT uses
        return Case(label, pf.BIAS_GELU, dict(size=shape[-1]), [("input", x), ("bias", bias)],
                    [("output", dtype, expected)])


def enqueue_cases() -> list[Case]:
    c = Cases(seed=1234)
    f32, f16 = np.float32, np.float16
    cases = []
    for dtype, tag in ((f32, "fp32"), (f16, "fp16")):
        cases += [
            c.layer_norm(f"layernorm_{tag}", (2, 5, 768), dtype),
            c.layer_norm(f"layernorm_{tag}_hidden100", (3, 100), dtype, eps=1e-5),  # not a multiple of 8
            c.layer_norm(f"layernorm_{tag}_one_token", (1, 1, 768), dtype),
            c.layer_norm(f"layernorm_{tag}_empty", (0, 768), dtype),
            c.layer_norm(f"skip_layernorm_{tag}_bias", (2, 5, 768), dtype, skip=True, bias=True),
            c.layer_norm(f"skip_layernorm_{tag}_no_bias", (4, 768), dtype, skip=True),
            c.layer_norm(f"skip_layernorm_{tag}_one_token", (1, 1, 768), dtype, skip=True, bias=True),
            c.layer_norm(f"skip_layernorm_{tag}_empty", (0, 768), dtype, skip=True, bias=True),
            c.emb_layer_norm(f"emb_padded_{tag}", [7, 3], packed=False, fp16=dtype is f16),
            c.emb_layer_norm(f"emb_padded_{tag}_one_token", [1], packed=False, fp16=dtype is f16),
            c.emb_layer_norm(f"emb_padded_{tag}_bad_id", [7, 3], packed=False, fp16=dtype is f16, bad_id_at=(1, 2)),
            c.emb_layer_norm(f"emb_padded_{tag}_empty_batch", [], packed=False, fp16=dtype is f16, seq_len=7),
            c.emb_layer_norm(f"emb_padded_{tag}_zero_length", [0, 0], packed=False, fp16=dtype is f16, seq_len=0),
            c.emb_layer_norm(f"emb_packed_{tag}", [4, 0, 5], packed=True, fp16=dtype is f16),
            c.emb_layer_norm(f"emb_packed_{tag}_one_token", [1], packed=True, fp16=dtype is f16),
            c.emb_layer_norm(f"emb_packed_{tag}_empty", [], packed=True, fp16=dtype is f16),
            c.attention(f"attention_padded_{tag}", [5, 3], packed=False, dtype=dtype),
            c.attention(f"attention_padded_{tag}_one_token", [1], packed=False, dtype=dtype),
            c.attention(f"attention_padded_{tag}_empty", [], packed=False, dtype=dtype, seq_len=5),
            c.attention(f"attention_packed_{tag}", [5, 7, 2], packed=True, dtype=dtype),
            c.attention(f"attention_packed_{tag}_empty_sequence", [4, 0, 5], packed=True, dtype=dtype),
            c.attention(f"attention_packed_{tag}_one_token", [1], packed=True, dtype=dtype),
            c.attention(f"attention_padded_{tag}_h128", [5, 3], packed=False, dtype=dtype, head_size=128),
            c.attention(f"attention_padded_{tag}_h48", [5, 3], packed=False, dtype=dtype, head_size=48),
            c.bias_gelu(f"bias_gelu_{tag}", (2, 5, 3072), dtype),
            c.bias_gelu(f"bias_gelu_{tag}_n100", (3, 100), dtype),
            c.bias_gelu(f"bias_gelu_{tag}_one_token", (1, 1, 3072), dtype),
            c.bias_gelu(f"bias_gelu_{tag}_empty", (0, 3072), dtype),
        ]
    # SkipLayerNorm with INT8 I/O (the residual stream of an INT8 engine).
    cases += [c.skip_layer_norm_int8("skip_layernorm_int8_bias", (2, 5, 768)),
              c.skip_layer_norm_int8("skip_layernorm_int8_no_bias", (4, 1024), bias=False),
              c.skip_layer_norm_int8("skip_layernorm_int8_saturating", (3, 768), scales=(0.05, 0.04, 1e-3)),
              c.skip_layer_norm_int8("skip_layernorm_int8_empty", (0, 768))]
    # One row more than BiasGelu v6's and v9's grids hold at width 512 (fp32: 65,535 rows): their
    # pinned tactics refuse the shape and the plugin runs the default instead (PluginBase::launchTactic).
    beyond = c.bias_gelu("bias_gelu_fp32_beyond_one_grid", (65536, 512), f32)
    beyond.gives_way = (6, 9)
    cases.append(beyond)
    # BERT-base attention: 12 heads of 64, 128 tokens, one sequence padded.
    cases.append(c.attention("attention_padded_fp16_bert_base", [128, 77], packed=False, dtype=f16, heads=12))
    cases.append(c.attention("attention_packed_fp16_bert_base", [128, 77, 1], packed=True, dtype=f16, heads=12))
    cases.append(c.attention("attention_padded_fp32_bert_base", [128, 77], packed=False, dtype=f32, heads=12))
    return cases


def write_enqueue_cases(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    manifest: list[str] = []
    cases = enqueue_cases()
    for case in cases:
        _write(case, out, manifest)
    (out / "manifest.txt").write_text("\n".join(manifest) + "\n")
    return len(cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--fields", type=Path, metavar="DIR", help="write the *.fields files of the interface checks")
    mode.add_argument("--enqueue", type=Path, metavar="DIR", help="write enqueue cases and manifest.txt")
    args = parser.parse_args()
    if args.fields:
        write_field_cases(args.fields)
        print(f"{len(FIELD_CASES)} fields files in {args.fields}")
    else:
        count = write_enqueue_cases(args.enqueue)
        print(f"{count} enqueue cases in {args.enqueue}")


if __name__ == "__main__":
    main()
