"""Facts every script shares, each stated once: tensor names, the model's dimensions, default
paths, the reference sentences, and how errors and files are handled."""
from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_MODEL = "bert-base-uncased"

# Network I/O names, shared by the ONNX export, both engine builders, the runtime and calibrator.
INPUT_NAMES = ("input_ids", "token_type_ids", "attention_mask")
OUTPUT_NAME = "logits"
# Packed (variable sequence length) engines take the real tokens only, back to back:
# cu_seqlens[b] is where sequence b starts; max_seqlen is a dummy whose *shape* is the longest
# sequence (TensorRT plugins can read shapes at enqueue time, not device values).
PACKED_INPUT_NAMES = ("input_ids", "token_type_ids", "cu_seqlens", "max_seqlen")

ARTIFACTS_DIR = Path("artifacts")
ONNX_PATH = ARTIFACTS_DIR / "model.onnx"
REFERENCE_PATH = ARTIFACTS_DIR / "reference.npz"

# The masked sentence of the exercise comes first: fill-mask demos read its [MASK] position.
REFERENCE_SENTENCES = (
    "The capital of France, [MASK], contains the Eiffel Tower.",
    "A transformer turns a sentence into vectors, one per token.",
    "She poured a cup of [MASK] and opened the window.",
    "Short one.",
)


class UserError(Exception):
    """A problem the user can fix; scripts print it as one line naming the fix and exit 2."""


def cannot_load(name_or_path: str, err: Exception) -> UserError:
    """The one-line error for a Hugging Face model or tokenizer that cannot be loaded."""
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return UserError(f"cannot load {name_or_path!r} ({first_line}): pass --model PATH to a local folder "
                     "with config.json, the weights and vocab.txt, or make the HF hub reachable")


def run_main(main) -> None:
    """Run a script's main(); a UserError becomes `error: ...` on stderr and exit status 2."""
    try:
        main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


@dataclass(frozen=True)
class BertDims:
    """The sizes a BERT network is built from; read from the model, never hard-coded."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_position: int
    type_vocab_size: int
    layer_norm_eps: float

    @property
    def head_size(self) -> int:
        return self.hidden_size // self.num_heads

    @classmethod
    def from_hf_config(cls, config) -> "BertDims":
        return cls(
            vocab_size=config.vocab_size,
            hidden_size=config.hidden_size,
            num_layers=config.num_hidden_layers,
            num_heads=config.num_attention_heads,
            intermediate_size=config.intermediate_size,
            max_position=config.max_position_embeddings,
            type_vocab_size=config.type_vocab_size,
            layer_norm_eps=float(config.layer_norm_eps),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "BertDims":
        return cls(**json.loads(text))


@contextlib.contextmanager
def atomic_output(path: os.PathLike, extra_suffixes: tuple[str, ...] = ()):
    """Yield a temp path beside `path`; on success move it into place, on any error remove it.
    Readers see the old file or the whole new one, never a part. `extra_suffixes`: side files a
    writer may create next to the temp path (removed too)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, *(tmp + s for s in extra_suffixes)):
            if os.path.exists(leftover):
                os.unlink(leftover)


def atomic_write_bytes(path: os.PathLike, data: bytes) -> None:
    with atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_save_npz(path: os.PathLike, **arrays) -> None:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
