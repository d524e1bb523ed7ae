"""bertrt/entropy.py on distributions whose right answer is known."""
import numpy as np
import pytest

from bertrt.entropy import (
    CACHE_ALGORITHMS,
    DEFAULT_TRT_VERSION,
    HistogramCollector,
    amax_to_scale,
    entropy_threshold,
    percentile_threshold,
    read_cache,
    write_cache,
)

rng = np.random.default_rng(20240611)


def test_entropy_keeps_the_whole_range_of_uniform_data():
    # Every bin is equally full: clipping anything puts a spike in P that Q cannot match.
    values = rng.uniform(0.0, 3.0, 500_000)
    hist, edges = np.histogram(values, bins=2048, range=(0.0, values.max()))
    assert entropy_threshold(hist, edges) > 0.97 * values.max()


def test_entropy_does_not_extend_past_where_the_data_ends():
    # A flat histogram over 256 of 2048 bins: a cut at 256 quantizes it losslessly (KL 0), any
    # smaller cut clips, and larger cuts are no better, so the first best one is exactly 256.
    hist = np.zeros(2048, dtype=np.int64)
    hist[:256] = 10
    edges = np.linspace(0.0, 8.0, 2049)
    assert entropy_threshold(hist, edges) == edges[256]


def test_entropy_quantization_leaves_empty_bins_empty():
    # Only every other bin is used (as for data on a coarse grid). Q spreads each level's count
    # over its non-empty bins only, so a cut right after the last used bin (254) is lossless.
    hist = np.zeros(2048, dtype=np.int64)
    hist[0:256:2] = 10
    edges = np.linspace(0.0, 8.0, 2049)
    assert entropy_threshold(hist, edges) == edges[255]


def test_entropy_clips_rare_outliers_but_keeps_the_gaussian_bulk():
    sigma = 1.0
    outlier = 60.0 * sigma
    values = np.concatenate([rng.normal(0.0, sigma, 1_000_000), [outlier, -outlier, 0.9 * outlier]])
    collector = HistogramCollector()
    for batch in np.array_split(values, 7):
        collector.add("x", batch)

    entropy = collector.thresholds("entropy")["x"]
    assert collector.thresholds("minmax")["x"] == outlier
    assert 3.5 * sigma < entropy < 0.25 * outlier
    bulk = np.abs(values[:-3])
    assert np.mean(bulk <= entropy) > 0.999


def test_constant_tensor_keeps_its_value(recwarn):
    # All counts in the last bin: every cut but the full range clips everything.
    collector = HistogramCollector()
    collector.add("t", np.full(1000, -5.0))
    assert collector.thresholds("entropy") == {"t": 5.0}
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_percentile_threshold_on_uniform_data():
    values = rng.uniform(0.0, 1.0, 1_000_000)
    hist, edges = np.histogram(values, bins=2048, range=(0.0, 1.0))
    bin_width = edges[1]
    assert abs(percentile_threshold(hist, edges, 99.0) - 0.99) <= 2 * bin_width
    assert abs(percentile_threshold(hist, edges, 50.0) - 0.50) <= 2 * bin_width
    with pytest.raises(ValueError):
        percentile_threshold(hist, edges, 0.0)


def test_range_growth_merges_bins_without_losing_counts():
    small = rng.normal(0.0, 1.0, 100_000)
    large = rng.normal(0.0, 7.5, 100_000)  # max several times larger: the range must grow
    collector = HistogramCollector()
    collector.add("t", small)
    first_range = collector.ranges["t"]
    collector.add("t", large)

    everything = np.abs(np.concatenate([small, large]))
    final_range = collector.ranges["t"]
    assert collector.amax["t"] == everything.max()
    assert final_range >= everything.max()
    growth = final_range / first_range
    assert growth > 1 and abs(growth - round(growth)) < 1e-9  # grew by a whole factor
    assert collector.histograms["t"].sum() == everything.size
    # Exact rebinning: the same histogram as binning all values in the final range at once,
    # except for the first batch's max: it sat on the old range's (closed) upper edge, in the
    # old last bin, so it stays in the new bin just below that edge.
    direct, _ = np.histogram(everything, bins=2048, range=(0.0, final_range))
    old_max_bin = int(np.abs(small).max() * 2048 / final_range)
    direct[old_max_bin] -= 1
    direct[old_max_bin - 1] += 1
    np.testing.assert_array_equal(collector.histograms["t"], direct)


def test_zeros_before_the_first_nonzero_batch_stay_in_bin_zero():
    collector = HistogramCollector(num_bins=16)
    collector.add("t", np.zeros(5))
    assert collector.ranges["t"] == 0.0 and collector.histograms["t"][0] == 5
    collector.add("t", np.array([0.5, -1.0]))
    assert collector.ranges["t"] == 1.0
    assert collector.histograms["t"].tolist() == [5] + [0] * 7 + [1] + [0] * 6 + [1]


def test_torch_tensors_and_bad_inputs():
    torch = pytest.importorskip("torch")
    collector = HistogramCollector()
    collector.add("t", torch.tensor([[-2.0, 1.0]], dtype=torch.float16))
    assert collector.amax["t"] == 2.0
    with pytest.raises(ValueError, match="non-finite"):
        collector.add("t", np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="unknown calibration method"):
        collector.thresholds("median")


def test_thresholds_never_exceed_the_real_amax():
    collector = HistogramCollector()
    collector.add("t", rng.uniform(-1.0, 1.0, 10_000))
    collector.add("t", np.array([1.3]))  # range grows to 2.0, data ends at 1.3
    for method in ("entropy", "minmax", "percentile"):
        assert collector.thresholds(method)["t"] <= 1.3


# --- calibration cache ---------------------------------------------------------------------------

def test_known_cache_text():
    # 1/127 as float32 is 0x3C010204: sign 0, exponent 120 (2^-7), mantissa 0x010204.
    text = write_cache({"input_ids": 1.0 / 127}, CACHE_ALGORITHMS["entropy"], trt_version=101601)
    assert text == b"TRT-101601-EntropyCalibration2\ninput_ids: 3c010204\n"
    assert amax_to_scale(1.0) == 1.0 / 127


def test_cache_round_trip_is_exact():
    names = ["input_ids", "(Unnamed Layer* 12) [Shuffle]_output", "odd: name", "layer.0.attention"]
    scales = {name: float(np.float32(rng.uniform(1e-4, 10.0))) for name in names}
    for algorithm in CACHE_ALGORITHMS.values():
        data = write_cache(scales, algorithm, trt_version=100800)
        assert read_cache(data) == (algorithm, scales)
        assert read_cache(data.decode()) == (algorithm, scales)
        assert write_cache(read_cache(data)[1], algorithm, trt_version=100800) == data


@pytest.mark.parametrize("text", [
    "",
    "EntropyCalibration2\n",
    "TRT-101601-EntropyCalibration2\ninput_ids 3c010204\n",
    "TRT-101601-EntropyCalibration2\ninput_ids: 3c0102\n",
    "TRT-101601-EntropyCalibration2\ninput_ids: 3c01020g\n",
    "TRT-101601-EntropyCalibration2\n: 3c010204\n",
    "TRT-101601-EntropyCalibration2\na: 3c010204\na: 3c010204\n",
])
def test_malformed_cache_raises_a_one_line_error(text):
    with pytest.raises(ValueError) as error:
        read_cache(text.encode())
    assert "\n" not in str(error.value) and "calibration cache" in str(error.value)


def test_write_cache_takes_a_calibrator_kind_and_rejects_unknown_algorithms():
    for kind, trt_name in CACHE_ALGORITHMS.items():
        by_trt_name = write_cache({"a": 1.0}, trt_name, trt_version=DEFAULT_TRT_VERSION)
        assert write_cache({"a": 1.0}, kind) == by_trt_name
        assert read_cache(write_cache({"a": 1.0}, kind))[0] == trt_name
    with pytest.raises(ValueError, match="unknown cache algorithm"):
        write_cache({"a": 1.0}, "percentile")
