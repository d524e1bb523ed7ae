"""calibrator.py against the real TensorRT bindings' base classes (conftest.py's real_trt: the
bindings over a stub libnvinfer) and, for the CPU reference backend, with no TensorRT base."""
import ctypes
import importlib.util
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

import calibrator
from bertrt.common import INPUT_NAMES, UserError
from bertrt.entropy import CACHE_ALGORITHMS

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["tensorrt_bindings", "no TensorRT"])
def trt_module(request):
    """Each test runs with the real base classes and with none (the CPU reference backend's case)."""
    return request.getfixturevalue("real_trt") if request.param == "tensorrt_bindings" else None


# --- a tiny tokenizer and corpus -----------------------------------------------------------------

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "ran", "home", "fast", "sun", "is", "hot", "."]
SENTENCES = [  # whole words of the vocabulary (but one), so each word is exactly one token
    "the cat sat on the mat .",
    "a dog ran home",
    "the sun is hot",
    "dog",
    "the dog ran fast and the cat sat",  # "and" is unknown: [UNK]; 8 tokens get truncated
    "cat",
    "the end",  # 7th sentence: left over after 3 full batches of 2
]
BATCH_SIZE, SEQ_LEN = 2, 6


@pytest.fixture(scope="session")
def tokenizer(tmp_path_factory):
    from transformers import BertTokenizerFast

    folder = tmp_path_factory.mktemp("tokenizer")
    (folder / "vocab.txt").write_text("\n".join(SPECIAL_TOKENS + WORDS) + "\n")
    # from_pretrained(folder), not BertTokenizerFast(vocab_file=...): transformers 5 renamed that
    # argument to `vocab` and silently ignores vocab_file (every word would become [UNK]).
    return BertTokenizerFast.from_pretrained(str(folder))


def expected_batch(sentences):
    """What the tokenizer must produce, worked out by hand from the vocabulary."""
    vocab = SPECIAL_TOKENS + WORDS
    ids = np.zeros((len(sentences), SEQ_LEN), dtype=np.int32)  # [PAD] is id 0
    mask = np.zeros_like(ids)
    for row, sentence in enumerate(sentences):
        tokens = [vocab.index(w) if w in vocab else vocab.index("[UNK]") for w in sentence.split()]
        tokens = [vocab.index("[CLS]")] + tokens[:SEQ_LEN - 2] + [vocab.index("[SEP]")]
        ids[row, :len(tokens)] = tokens
        mask[row, :len(tokens)] = 1
    return {"input_ids": ids, "token_type_ids": np.zeros_like(ids), "attention_mask": mask}


def write_corpus(path, sentences):
    path.write_text("# a test corpus\n\n" + "\n".join(sentences) + "\n# trailing comment\n\n")
    return path


@pytest.fixture
def files(tmp_path):
    """A corpus and a stand-in model file in a fresh folder."""
    model = tmp_path / "model.onnx"
    model.write_bytes(b"model weights v1")
    return {"corpus": write_corpus(tmp_path / "corpus.txt", SENTENCES), "model": model,
            "cache": tmp_path / "calibration.cache"}


def make(trt_module, tokenizer, files, kind="entropy", **overrides):
    options = dict(batch_size=BATCH_SIZE, seq_len=SEQ_LEN, tokenizer=tokenizer, corpus_path=files["corpus"],
                   cache_path=files["cache"], onnx_path=files["model"], device="cpu", trt_module=trt_module)
    options.update(overrides)
    return calibrator.make_calibrator(kind, **options)


def read_int32(pointer, shape):
    """Read host memory the way the CPU reference backend (or TensorRT, on a GPU) does."""
    count = int(np.prod(shape))
    return np.ctypeslib.as_array((ctypes.c_int32 * count).from_address(pointer)).reshape(shape).copy()


# --- the TensorRT interface ----------------------------------------------------------------------

@pytest.mark.parametrize("kind, base, algorithm", [
    ("entropy", "IInt8EntropyCalibrator2", "ENTROPY_CALIBRATION_2"),
    ("minmax", "IInt8MinMaxCalibrator", "MINMAX_CALIBRATION"),
])
def test_derives_from_the_tensorrt_base_class(real_trt, tokenizer, files, kind, base, algorithm):
    calib = make(real_trt, tokenizer, files, kind)
    assert isinstance(calib, getattr(real_trt, base))
    assert isinstance(calib, real_trt.IInt8Calibrator)
    assert calib.get_algorithm() == getattr(real_trt.CalibrationAlgoType, algorithm)
    assert calib.algorithm == CACHE_ALGORITHMS[kind]
    assert calib.get_batch_size() == BATCH_SIZE
    assert type(calib) is type(make(real_trt, tokenizer, files, kind))  # one class per kind


def test_entropy_and_minmax_share_one_implementation(real_trt):
    entropy = calibrator.calibrator_class("entropy", real_trt)
    minmax = calibrator.calibrator_class("minmax", real_trt)
    assert entropy is not minmax and not issubclass(minmax, real_trt.IInt8EntropyCalibrator2)
    for method in ("get_batch", "get_batch_size", "read_calibration_cache", "write_calibration_cache"):
        shared = getattr(calibrator.CorpusCalibration, method)
        assert getattr(entropy, method) is getattr(minmax, method) is shared
    assert calibrator.BASE_CLASSES.keys() == CACHE_ALGORITHMS.keys()


def test_batches_in_order_with_padding_then_none(trt_module, tokenizer, files):
    calib = make(trt_module, tokenizer, files)
    names = list(reversed(INPUT_NAMES))  # TensorRT's order need not be ours
    for start in range(0, 6, BATCH_SIZE):
        pointers = calib.get_batch(names)
        assert len(pointers) == len(names)
        expected = expected_batch(SENTENCES[start:start + BATCH_SIZE])
        for name, pointer in zip(names, pointers):
            buffer = calib.buffers[name]
            assert buffer.dtype == torch.int32
            assert tuple(buffer.shape) == (BATCH_SIZE, SEQ_LEN) and buffer.data_ptr() == pointer
            fed = read_int32(pointer, (BATCH_SIZE, SEQ_LEN))
            np.testing.assert_array_equal(fed, expected[name], err_msg=name)
    assert calib.get_batch(names) is None  # the 7th sentence does not fill a batch
    assert calib.get_batch(names) is None
    calib.rewind()
    np.testing.assert_array_equal(read_int32(calib.get_batch(names)[-1], (BATCH_SIZE, SEQ_LEN)),
                                  expected_batch(SENTENCES[:2])["input_ids"])


def test_truncated_sentences_still_end_with_sep(trt_module, tokenizer, files):
    calib = make(trt_module, tokenizer, files)
    for _ in range(2):  # skip to the third batch, which starts with the long sentence
        calib.get_batch(INPUT_NAMES)
    ids = read_int32(calib.get_batch(INPUT_NAMES)[0], (BATCH_SIZE, SEQ_LEN))
    sep = tokenizer.convert_tokens_to_ids("[SEP]")
    assert ids[0, -1] == sep and (ids[0] != 0).all()  # "the dog ran fast and ..." fills every slot


def test_max_batches(trt_module, tokenizer, files):
    calib = make(trt_module, tokenizer, files, max_batches=2)
    assert calib.get_batch(INPUT_NAMES) is not None and calib.get_batch(INPUT_NAMES) is not None
    assert calib.get_batch(INPUT_NAMES) is None


def test_unknown_input_name_is_refused(trt_module, tokenizer, files):
    calib = make(trt_module, tokenizer, files)
    with pytest.raises(KeyError, match="position_ids"):
        calib.get_batch(["input_ids", "position_ids"])


# --- the cache ---------------------------------------------------------------------------------

CACHE_BYTES = b"TRT-101601-EntropyCalibration2\ninput_ids: 3c010204\n"


def test_cache_round_trip(trt_module, tokenizer, files, caplog):
    caplog.set_level(logging.INFO, logger="calibrator")
    first = make(trt_module, tokenizer, files)
    assert first.read_calibration_cache() is None
    assert "no calibration cache" in caplog.text
    first.write_calibration_cache(memoryview(CACHE_BYTES))  # TensorRT passes a buffer, not bytes
    # Atomic writes leave exactly the cache and its key beside the inputs: no temp files.
    assert sorted(p.name for p in files["cache"].parent.iterdir()) == [
        "calibration.cache", "calibration.cache.json", "corpus.txt", "model.onnx"]
    assert make(trt_module, tokenizer, files).read_calibration_cache() == CACHE_BYTES


@pytest.mark.parametrize("change, differing_field", [
    ("model", "onnx_sha256"),
    ("corpus", "corpus_sha256"),
    ("seq_len", "seq_len"),
    ("batch_size", "batch_size"),
    ("kind", "algorithm"),
    ("max_batches", "num_batches"),
])
def test_cache_is_ignored_when_its_key_differs(trt_module, tokenizer, files, caplog, change, differing_field):
    make(trt_module, tokenizer, files).write_calibration_cache(CACHE_BYTES)
    kind, overrides = "entropy", {}
    if change == "model":
        files["model"].write_bytes(b"model weights v2")
    elif change == "corpus":
        write_corpus(files["corpus"], SENTENCES[::-1])
    elif change == "seq_len":
        overrides["seq_len"] = SEQ_LEN + 1
    elif change == "batch_size":
        overrides["batch_size"] = 3
    elif change == "kind":
        kind = "minmax"
    elif change == "max_batches":
        overrides["max_batches"] = 1

    caplog.set_level(logging.INFO, logger="calibrator")
    assert make(trt_module, tokenizer, files, kind, **overrides).read_calibration_cache() is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and differing_field in warnings[0] and "\n" not in warnings[0]


def test_cache_without_its_key_file_is_ignored(trt_module, tokenizer, files):
    calib = make(trt_module, tokenizer, files)
    calib.write_calibration_cache(CACHE_BYTES)
    calib.key_path.unlink()
    assert make(trt_module, tokenizer, files).read_calibration_cache() is None


def test_failed_write_keeps_the_old_cache_and_leaves_no_temp_file(trt_module, tokenizer, files, monkeypatch):
    calib = make(trt_module, tokenizer, files)
    calib.write_calibration_cache(CACHE_BYTES)

    def broken_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr("bertrt.common.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        calib.write_calibration_cache(b"TRT-101601-EntropyCalibration2\ninput_ids: 3f800000\n")
    monkeypatch.undo()
    assert files["cache"].read_bytes() == CACHE_BYTES  # never half-written
    left = sorted(p.name for p in files["cache"].parent.iterdir())
    assert left == ["calibration.cache", "corpus.txt", "model.onnx"]
    # The key went first, so the surviving cache is not trusted: it may not match what was asked.
    assert make(trt_module, tokenizer, files).read_calibration_cache() is None


def test_no_cache_path_means_no_cache(trt_module, tokenizer, files):
    calib = make(trt_module, tokenizer, files, cache_path=None, onnx_path=None)
    calib.write_calibration_cache(CACHE_BYTES)
    assert calib.read_calibration_cache() is None
    assert not files["cache"].exists()


# --- errors a user can fix -------------------------------------------------------------------------

def one_line_user_error(trt_module, tokenizer, files, **overrides) -> str:
    with pytest.raises(UserError) as error:
        make(trt_module, tokenizer, files, **overrides)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_missing_corpus(tokenizer, files, tmp_path):
    message = one_line_user_error(None, tokenizer, files, corpus_path=tmp_path / "nowhere.txt")
    assert "nowhere.txt" in message and "tools/make_calibration_corpus.py" in message


def test_empty_corpus(tokenizer, files):
    write_corpus(files["corpus"], ["# only a comment", "", "   "])
    assert "no sentences" in one_line_user_error(None, tokenizer, files)


def test_corpus_smaller_than_one_batch(tokenizer, files):
    assert "batch size" in one_line_user_error(None, tokenizer, files, batch_size=len(SENTENCES) + 1)


def test_seq_len_too_small(tokenizer, files):
    message = one_line_user_error(None, tokenizer, files, seq_len=1)
    assert "seq_len" in message and "at least 2" in message


def test_cache_needs_a_model_file(tokenizer, files, tmp_path):
    assert "onnx_path" in one_line_user_error(None, tokenizer, files, onnx_path=None)
    assert "not found" in one_line_user_error(None, tokenizer, files, onnx_path=tmp_path / "missing.onnx")


def test_unknown_kind(tokenizer, files):
    with pytest.raises(UserError, match="unknown calibrator"):
        calibrator.make_calibrator("percentile", batch_size=2, seq_len=4, tokenizer=tokenizer, trt_module=None)


# --- the committed corpus -------------------------------------------------------------------------

def test_committed_corpus_is_what_its_generator_makes():
    spec = importlib.util.spec_from_file_location("make_corpus", REPO / "tools" / "make_calibration_corpus.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    sentences = generator.generate(generator.DEFAULT_SEED, generator.DEFAULT_COUNT)
    expected = "\n".join(generator.header(generator.DEFAULT_SEED, generator.DEFAULT_COUNT) + sentences) + "\n"
    assert calibrator.DEFAULT_CORPUS.read_text() == expected, "rerun python tools/make_calibration_corpus.py"

    loaded = calibrator.load_corpus(calibrator.DEFAULT_CORPUS)
    assert loaded == sentences and 3000 <= len(loaded) <= 4000 and len(set(loaded)) == len(loaded)
    lengths = {len(s.split()) for s in loaded}
    assert lengths == set(range(1, 61))
    assert all(s == s.lower() for s in loaded)
