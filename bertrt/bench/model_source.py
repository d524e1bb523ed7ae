"""The model a run measures, and its ONNX export.

`--model` takes what model2onnx.py takes (a HF hub name or a local folder), or
`config:bert-base` (also `config:bert-large`, and overrides: `config:bert-base,num_hidden_layers=2`):
a BertForMaskedLM with random weights built from a config. Latency does not depend on weight
values, so random weights time exactly like the real model; accuracy on them means nothing, so
such runs are labelled "random weights: latency only" and leave the accuracy columns empty.

TensorRT variants need model.onnx and reference.npz; `ensure_export` reuses them when they hold
this model and runs model2onnx otherwise (for `config:` models, on a folder with the random
weights and a made-up vocabulary, saved first).
"""
from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bertrt.common import (DEFAULT_MODEL, ONNX_PATH, REFERENCE_PATH, REFERENCE_SENTENCES, BertDims,
                           UserError)

CONFIG_PREFIX = "config:"
# BertConfig() is bert-base: 12 layers, hidden 768, 12 heads, FFN 3072, vocabulary 30522.
PRESETS = {
    "bert-base": {},
    "bert-large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096),
}
RANDOM_LABEL = "random weights: latency only"
RANDOM_SEED = 0
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    raise UserError(f"config override value {text!r} is not a number")


@dataclass(frozen=True)
class ModelSource:
    spec: str                                           # as given to --model
    preset: str | None = None                           # config: models only
    overrides: tuple[tuple[str, int | float], ...] = ()

    @classmethod
    def parse(cls, spec: str) -> "ModelSource":
        if not spec.startswith(CONFIG_PREFIX):
            return cls(spec)
        name, *pairs = spec[len(CONFIG_PREFIX):].split(",")
        if name not in PRESETS:
            raise UserError(f"--model {spec!r}: unknown config {name!r}; choose from "
                            + ", ".join(CONFIG_PREFIX + p for p in PRESETS))
        overrides = []
        for pair in pairs:
            key, sep, value = pair.partition("=")
            if not sep:
                raise UserError(f"--model {spec!r}: write overrides as key=value, got {pair!r}")
            overrides.append((key.strip(), _number(value.strip())))
        return cls(spec, name, tuple(overrides))

    @property
    def random_weights(self) -> bool:
        return self.preset is not None

    @property
    def weights_label(self) -> str:
        return RANDOM_LABEL if self.random_weights else "pretrained"

    @property
    def slug(self) -> str:
        """A folder name for this model's files (readable, and unique by a short hash)."""
        readable = re.sub(r"[^a-z0-9]+", "-", Path(self.spec).name.lower() or self.spec.lower()).strip("-")
        return f"{readable[:40]}-{hashlib.sha1(self.spec.encode()).hexdigest()[:8]}"

    def hf_config(self):
        from transformers import BertConfig

        if self.random_weights:
            try:
                return BertConfig(**{**PRESETS[self.preset], **dict(self.overrides)})
            except (TypeError, ValueError) as err:
                raise UserError(f"--model {self.spec!r}: {err}")
        try:
            return BertConfig.from_pretrained(self.spec)
        except (OSError, ValueError) as err:
            raise UserError(f"cannot read the config of {self.spec!r} ({str(err).splitlines()[0]}): pass a local "
                            f"folder, or --model {CONFIG_PREFIX}bert-base for a latency-only run with random weights")

    def dims(self) -> BertDims:
        return BertDims.from_hf_config(self.hf_config())

    def load(self, dtype, attention: str, device: str):
        """A BertForMaskedLM in `dtype` on `device` with the attention implementation `attention`
        ("eager" or "sdpa"), in eval mode. Random weights are seeded: every load is the same model."""
        import torch

        if self.random_weights:
            from transformers import BertForMaskedLM

            torch.manual_seed(RANDOM_SEED)
            with torch.device(device):  # initialized where it runs: seconds less for bert-base on a GPU
                model = BertForMaskedLM(self.hf_config())
        else:
            import model2onnx

            _, model = model2onnx.load_model(self.spec)
        if hasattr(model, "set_attn_implementation"):
            model.set_attn_implementation(attention)
        else:  # transformers before set_attn_implementation existed
            model.config._attn_implementation = attention
        return model.to(device=device, dtype=dtype).eval()

    def materialize(self, folder: Path) -> Path:
        """Save a config: model (random weights + a made-up vocabulary) as a HF folder, so
        model2onnx.py and the INT8 calibrator's tokenizer can read it like any other model."""
        from transformers import BertTokenizer

        config = self.hf_config()
        words = [w for w in dict.fromkeys(re.findall(r"\w+|[^\w\s]", " ".join(REFERENCE_SENTENCES).lower()))
                 if w not in SPECIAL_TOKENS]
        vocab = (list(SPECIAL_TOKENS) + words)[:config.vocab_size]
        vocab += [f"[unused{i}]" for i in range(config.vocab_size - len(vocab))]
        if len(vocab) < len(SPECIAL_TOKENS):
            raise UserError(f"--model {self.spec!r}: vocab_size must be at least {len(SPECIAL_TOKENS)}")
        folder.mkdir(parents=True, exist_ok=True)
        BertTokenizer(vocab={token: index for index, token in enumerate(vocab)},
                      do_lower_case=True).save_pretrained(folder)
        self.load(dtype=None, attention="eager", device="cpu").save_pretrained(folder)
        return folder


@dataclass(frozen=True)
class Export:
    """What the TensorRT variants were built from (recorded in the results)."""

    model: str          # the model string recorded in reference.npz
    onnx: Path
    reference: Path
    exported: bool      # exported by this run (False: reused)
    seconds: float

    def as_dict(self) -> dict:
        from bertrt.bench.engine_cache import file_sha256

        return {"model": self.model, "onnx": str(self.onnx), "onnx_sha256": file_sha256(self.onnx),
                "reference": str(self.reference), "exported_now": self.exported,
                "export_seconds": round(self.seconds, 2)}


def _recorded_model(reference: Path) -> str | None:
    if not reference.exists():
        return None
    with np.load(reference, allow_pickle=False) as data:
        return str(data["model"]) if "model" in data.files else None


def ensure_export(source: ModelSource, out_dir: Path, exporter: str = "dynamo", onnx: Path | None = None,
                  reference: Path | None = None) -> Export:
    """model.onnx + reference.npz for `source`: given paths, else reused when they hold this model,
    else exported now (artifacts/ for the default model, <out_dir>/models/<slug>/ for others)."""
    if onnx or reference:
        if not (onnx and reference and onnx.exists() and reference.exists()):
            raise UserError("--onnx and --reference go together and must both exist")
        return Export(_recorded_model(reference) or source.spec, onnx, reference, False, 0.0)
    folder = out_dir / "models" / source.slug
    model = str(folder / "hf") if source.random_weights else source.spec
    onnx, reference = folder / "model.onnx", folder / "reference.npz"
    if source.spec == DEFAULT_MODEL and _recorded_model(REFERENCE_PATH) in (None, model):
        onnx, reference = ONNX_PATH, REFERENCE_PATH  # the shared artifacts every script reads
    if onnx.exists() and _recorded_model(reference) == model:
        return Export(model, onnx, reference, False, 0.0)

    import model2onnx

    started = time.perf_counter()
    if source.random_weights:
        source.materialize(Path(model))
    print(f"exporting {model} -> {onnx} (model2onnx.py, {exporter} exporter)")
    model2onnx.main(["--model", model, "--onnx", str(onnx), "--reference", str(reference), "--exporter", exporter])
    return Export(model, onnx, reference, True, time.perf_counter() - started)
