"""Tiny random BERT masked-LMs made in-test (no model hub here): a config, random weights in
every parameter (biases and LayerNorm too, so no two tensors are equal and exporters cannot merge
them), and a word-level vocabulary for a real tokenizer."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import torch

WORDS = ("the capital of france contains eiffel tower paris a transformer turns sentence into vectors one "
         "per token she poured cup tea and opened window short . , ? ! is was in on at to for with by "
         "cat dog house river mountain city music book light dark fast slow green blue red").split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def make_tiny_bert(path: Path, hidden=32, heads=4, layers=2, intermediate=37, eps=1e-12, max_position=64,
                   type_vocab=2, seed=0) -> Path:
    from transformers import BertConfig, BertForMaskedLM, BertTokenizer

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    vocab = SPECIAL + list(dict.fromkeys(WORDS)) + [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    tokenizer = BertTokenizer(vocab={token: index for index, token in enumerate(vocab)}, do_lower_case=True)
    tokenizer.save_pretrained(path)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_attention_heads=heads,
                        num_hidden_layers=layers, intermediate_size=intermediate, layer_norm_eps=eps,
                        max_position_embeddings=max_position, type_vocab_size=type_vocab)
    torch.manual_seed(seed)
    model = BertForMaskedLM(config).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "LayerNorm.weight" in name:
                param.copy_(1 + 0.2 * torch.randn_like(param))
            else:
                param.copy_(0.2 * torch.randn_like(param))
    model.save_pretrained(path)
    return path


class TinyBert:
    """A tiny model on disk: its folder, ONNX export and PyTorch reference, plus the HF objects."""

    def __init__(self, folder: Path, exporter: str, **config):
        import model2onnx
        from bertrt.common import REFERENCE_SENTENCES, BertDims

        self.model_dir = make_tiny_bert(folder / "model", **config)
        self.tokenizer, self.model = model2onnx.load_model(str(self.model_dir))
        self.dims = BertDims.from_hf_config(self.model.config)
        self.onnx = folder / "model.onnx"
        self.reference = folder / "reference.npz"
        model2onnx.main(["--model", str(self.model_dir), "--onnx", str(self.onnx),
                         "--reference", str(self.reference), "--exporter", exporter])
        self.batch = model2onnx.tokenize(self.tokenizer, REFERENCE_SENTENCES)

    def hf_logits(self, batch) -> np.ndarray:
        import model2onnx

        return model2onnx.reference_outputs(self.model, batch)


def export_tiny(folder: Path, exporter: str = "legacy", **config) -> TinyBert:
    return TinyBert(Path(folder), exporter, **config)
