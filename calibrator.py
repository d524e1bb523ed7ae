"""INT8 calibrators for TensorRT 10 that feed BERT the sentences of calibrator_data.txt.

To pick INT8 scales, TensorRT runs the network on sample inputs and watches every tensor. It
gets those inputs from a calibrator object, calling back into Python:

    get_batch_size()           -> the batch size of every calibration batch
    get_batch(names)           -> one pointer per input name (in that order) to the next batch,
                                  or None when the data is used up
    read_calibration_cache()   -> bytes of an earlier run's scales, or None to calibrate
    write_calibration_cache(c) -> keep the scales TensorRT computed, for next time

The algorithm is chosen by the base class: IInt8EntropyCalibrator2 ("entropy": clips rare
outliers, see bertrt/entropy.py) or IInt8MinMaxCalibrator ("minmax": keeps the full range, which
TensorRT's documentation calls the preferred calibrator for NLP tasks; compare both on BERT).
TensorRT 10.1 deprecated both in favour of explicit quantization (Q/DQ layers), but they still
work and show what calibration does. Both are served by ONE implementation, CorpusCalibration,
mixed into whichever base class calibrator_class() is asked for. Without TensorRT
(trt_module=None) the same class has no TensorRT base, and the CPU reference backend calls the
same methods; the pointers are then host pointers, which it reads with ctypes.

Every batch has the fixed calibration shape (batch_size, seq_len): sentences are tokenized,
truncated and padded to seq_len. The sentences left over after the last full batch are unused.

A calibration cache is only valid for the model, corpus and shape it was made with, and TensorRT
cannot tell: it trusts any cache with the right version and algorithm. So next to the cache
`x.cache` a key file `x.cache.json` records sha256 of the ONNX model file and of the corpus,
the shape, the number of batches and the algorithm; a cache whose key differs is ignored (with a log line).
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import torch

from bertrt.common import DEFAULT_MODEL, INPUT_NAMES, UserError, atomic_write_bytes, cannot_load
from bertrt.entropy import CACHE_ALGORITHMS
from bertrt.trt_api import trt

log = logging.getLogger(__name__)

DEFAULT_CORPUS = Path(__file__).resolve().parent / "calibrator_data.txt"
CORPUS_HINT = "generate it with `python tools/make_calibration_corpus.py`"

# Calibrator kind -> the TensorRT base class that selects the algorithm. The kinds are the same
# as in bertrt.entropy.CACHE_ALGORITHMS, which names each algorithm in cache files.
BASE_CLASSES = {"entropy": "IInt8EntropyCalibrator2", "minmax": "IInt8MinMaxCalibrator"}


def load_corpus(path: str | Path) -> list[str]:
    """The corpus's sentences: one a line; '#' comment lines and blank lines skipped."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"calibration corpus {path} not found; {CORPUS_HINT} or pass another corpus file")
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    sentences = [line for line in lines if line and not line.startswith("#")]
    if not sentences:
        raise UserError(f"calibration corpus {path} has no sentences (only comments or blank lines); "
                        f"{CORPUS_HINT}")
    return sentences


def encode_batch(tokenizer, sentences: list[str], seq_len: int) -> dict[str, np.ndarray]:
    """{input name: int32 array (len(sentences), seq_len)}: [CLS] tokens [SEP], then padding."""
    encoded = tokenizer(sentences, padding="max_length", truncation=True, max_length=seq_len,
                        return_token_type_ids=True, return_attention_mask=True, return_tensors="np")
    # The network's input names are the Hugging Face tokenizer's output names by design.
    return {name: encoded[name].astype(np.int32) for name in INPUT_NAMES}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):  # models are too big to read at once
            digest.update(chunk)
    return digest.hexdigest()


class CorpusCalibration:
    """A TensorRT INT8 calibrator's methods over the calibration corpus.

    Not used alone: calibrator_class() mixes it into a TensorRT base class, which decides the
    algorithm (`kind`, set there).
    """

    kind: str

    def __init__(self, *, tokenizer, batch_size: int, seq_len: int, network: str = "",
                 corpus_path: str | Path = DEFAULT_CORPUS,
                 max_batches: int | None = None, cache_path: str | Path | None = None,
                 onnx_path: str | Path | None = None, device: str | torch.device | None = None):
        super().__init__()  # TensorRT's base class (a pybind11 class) must be initialised explicitly
        if seq_len < 2:
            raise UserError(f"calibration seq_len must be at least 2 ([CLS] and [SEP] take two positions), "
                            f"got {seq_len}; pass a larger seq_len")
        if batch_size < 1:
            raise UserError(f"calibration batch_size must be at least 1, got {batch_size}")
        if max_batches is not None and max_batches < 1:
            raise UserError(f"max_batches must be at least 1 (or None for the whole corpus), got {max_batches}")
        if cache_path is not None and onnx_path is None:
            raise UserError("a calibration cache needs onnx_path (the model it belongs to), so that a cache "
                            "made for another model is never reused; pass onnx_path or no cache_path")
        if onnx_path is not None and not Path(onnx_path).is_file():
            raise UserError(f"ONNX model {onnx_path} not found; export it first (python model2onnx.py) "
                            "or pass its path")

        self.tokenizer = tokenizer
        self.network = network
        self.batch_size = batch_size
        self.seq_len = seq_len
        self.corpus_path = Path(corpus_path)
        self.sentences = load_corpus(self.corpus_path)
        self.num_batches = len(self.sentences) // batch_size
        if self.num_batches == 0:
            raise UserError(f"calibration corpus {self.corpus_path} has {len(self.sentences)} sentences, "
                            f"fewer than one batch of {batch_size}; use a smaller calibration batch size "
                            "or a bigger corpus")
        if max_batches is not None:
            self.num_batches = min(self.num_batches, max_batches)
        self.cache_path = None if cache_path is None else Path(cache_path)
        self.onnx_path = None if onnx_path is None else Path(onnx_path)

        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        # One buffer per input, reused for every batch: TensorRT needs a pointer to stay valid only
        # until the next get_batch call.
        self.buffers = {name: torch.zeros((batch_size, seq_len), dtype=torch.int32, device=self.device)
                        for name in INPUT_NAMES}
        self.next_batch = 0

    @property
    def algorithm(self) -> str:
        """The algorithm's name in TensorRT cache files (e.g. "EntropyCalibration2")."""
        return CACHE_ALGORITHMS[self.kind]

    # --- the data ----------------------------------------------------------------------------

    def get_batch_size(self) -> int:
        return self.batch_size

    def get_batch(self, names) -> list[int] | None:
        """Load the next batch into the buffers; their addresses in the order of `names`."""
        unknown = [name for name in names if name not in self.buffers]
        if unknown:
            raise KeyError(f"network inputs {unknown} have no calibration data; "
                           f"the calibrator feeds {INPUT_NAMES}")
        if self.next_batch >= self.num_batches:
            return None
        start = self.next_batch * self.batch_size
        arrays = encode_batch(self.tokenizer, self.sentences[start:start + self.batch_size], self.seq_len)
        for name, array in arrays.items():
            self.buffers[name].copy_(torch.from_numpy(array))
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # TensorRT reads the buffers on a stream of its own
        self.next_batch += 1
        return [self.buffers[name].data_ptr() for name in names]

    def rewind(self) -> None:
        """Start again from the first batch (for a second calibration pass or build)."""
        self.next_batch = 0

    # --- the cache ---------------------------------------------------------------------------

    @property
    def key_path(self) -> Path:
        return self.cache_path.with_name(self.cache_path.name + ".json")

    @functools.cached_property
    def cache_key(self) -> dict:
        """What the cache depends on. Hashed once: a model file can be hundreds of megabytes."""
        return {
            "algorithm": self.algorithm,
            # Scales are stored by tensor name: a cache is only good for the network it was made
            # for (the ONNX parser's and the hand-built network name their tensors differently).
            "network": self.network,
            "onnx_sha256": sha256_file(self.onnx_path),
            "corpus_sha256": sha256_file(self.corpus_path),
            "batch_size": self.batch_size,
            "seq_len": self.seq_len,
            "num_batches": self.num_batches,
        }

    def read_calibration_cache(self) -> bytes | None:
        if self.cache_path is None:
            return None
        if not self.cache_path.is_file():
            log.info("no calibration cache at %s; calibrating", self.cache_path)
            return None
        try:
            stored_key = json.loads(self.key_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            log.warning("calibration cache %s has no readable key file %s; ignoring it and calibrating",
                        self.cache_path, self.key_path)
            return None
        differing = sorted(field for field in self.cache_key.keys() | stored_key.keys()
                           if stored_key.get(field) != self.cache_key.get(field))
        if differing:
            log.warning("calibration cache %s was made with a different %s; ignoring it and calibrating",
                        self.cache_path, ", ".join(differing))
            return None
        log.info("using calibration cache %s", self.cache_path)
        return self.cache_path.read_bytes()

    def write_calibration_cache(self, cache) -> None:
        if self.cache_path is None:
            return
        # The old key goes first: a crash between the writes then leaves a cache without a key
        # (ignored next time), never a new cache under an old key.
        self.key_path.unlink(missing_ok=True)
        atomic_write_bytes(self.cache_path, bytes(cache))
        key_text = json.dumps(self.cache_key, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.key_path, key_text.encode())
        log.info("wrote calibration cache %s", self.cache_path)


@functools.lru_cache(maxsize=None)
def calibrator_class(kind: str, trt_module) -> type:
    """CorpusCalibration mixed into TensorRT's base class for `kind` (no base if trt_module is None).

    Cached so that every calibrator of one kind and module shares one class.
    """
    if kind not in BASE_CLASSES:
        raise UserError(f"unknown calibrator {kind!r}; choose one of {sorted(BASE_CLASSES)}")
    base_name = BASE_CLASSES[kind]
    base = object if trt_module is None else getattr(trt_module, base_name)
    # The mixin comes first so that its methods override the base class's abstract ones.
    return type(f"Corpus{base_name.removeprefix('IInt8')}", (CorpusCalibration, base), {"kind": kind})


def make_calibrator(kind: str = "entropy", *, batch_size: int, seq_len: int, network: str = "", tokenizer=None,
                    model_name_or_path: str = DEFAULT_MODEL, corpus_path: str | Path = DEFAULT_CORPUS,
                    max_batches: int | None = None, cache_path: str | Path | None = None,
                    onnx_path: str | Path | None = None, device: str | torch.device | None = None,
                    trt_module=trt) -> CorpusCalibration:
    """A calibrator for IBuilderConfig.int8_calibrator (kind "entropy" or "minmax").

    batch_size, seq_len: the calibration shape; the network's calibration profile must allow it.
    network: which network the scales are for (part of the cache key, e.g. "hand-built:none").
    tokenizer: a Hugging Face tokenizer; loaded from model_name_or_path when not given.
    max_batches: use at most this many batches of the corpus (None: all full batches).
    cache_path, onnx_path: where to keep the scales, and the ONNX model whose hash keys them;
        without cache_path nothing is cached.
    device: where the input buffers live (default: cuda if available, else cpu).
    trt_module: the TensorRT module whose base classes to use (default: bertrt.trt_api.trt).
    """
    cls = calibrator_class(kind, trt_module)
    if tokenizer is None:
        from transformers import AutoTokenizer  # slow import, only needed here

        try:
            tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
        except (OSError, ValueError) as err:
            raise cannot_load(model_name_or_path, err) from None
    return cls(tokenizer=tokenizer, batch_size=batch_size, seq_len=seq_len, network=network, corpus_path=corpus_path,
               max_batches=max_batches, cache_path=cache_path, onnx_path=onnx_path, device=device)
