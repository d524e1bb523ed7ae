"""INT8 calibration math on the CPU: activation histograms, thresholds, and TensorRT's cache file.

INT8 maps a float tensor x to round(x / scale) clipped to [-127, 127], with scale = amax / 127.
Calibration picks amax (the "threshold") per tensor from sample activations:

- minmax:     amax = max |x|. Nothing is clipped, but one outlier can waste most of the 255 levels.
- percentile: amax = the value below which `percentile` % of |x| lies; clips the rarest values.
- entropy:    TensorRT's IInt8EntropyCalibrator2 idea: the amax whose 128-level quantized
              histogram loses the least information (KL divergence) against the original.

Only |x| is histogrammed because TensorRT's INT8 is symmetric: one amax covers both signs.

The cache format is TensorRT's own, so a cache written here can be handed to TensorRT through
a calibrator's read_calibration_cache() and vice versa:

    TRT-101601-EntropyCalibration2
    input_ids: 3c010204
    ...

Line 1 names the TensorRT version (major*10000 + minor*100 + patch) and the algorithm; every
other line is `<tensor name>: <scale>`, the scale (amax / 127, not amax!) written as the 8 hex
digits of its big-endian IEEE-754 float32 bits.
"""
from __future__ import annotations

import math
import re
import struct

import numpy as np

INT8_MAX = 127  # symmetric INT8 uses [-127, 127]: scale = amax / INT8_MAX
NUM_BINS = 2048  # histogram resolution, as TensorRT's entropy calibrator uses
NUM_QUANT_LEVELS = 128  # |x| maps to the 128 levels 0..127 of a symmetric INT8 value

# Calibrator kind (what the scripts' --calibrator flag says) -> the algorithm name TensorRT
# writes on a cache's first line. TensorRT rejects a cache whose algorithm is not its own.
CACHE_ALGORITHMS = {"entropy": "EntropyCalibration2", "minmax": "MinMaxCalibration"}

# The TensorRT version written into caches by default: 10.16.1, the bindings this repo is tested
# with (version ints are major*10000 + minor*100 + patch). The real TensorRT writes its own caches.
DEFAULT_TRT_VERSION = 101601

# Smoothing of the quantized distribution Q before KL(P||Q): a bin where P > 0 but Q == 0 would
# make the divergence infinite, so such bins get this much probability before Q is renormalized.
KL_SMOOTHING_EPS = 1e-4


def amax_to_scale(amax: float) -> float:
    return amax / INT8_MAX


# --- thresholds from a histogram of |x| -------------------------------------------------------

def minmax_threshold(hist: np.ndarray, bin_edges: np.ndarray) -> float:
    """The upper edge of the last non-empty bin: everything the histogram saw fits below it.

    This is at most one bin width above the true max; HistogramCollector clips it to the exact
    running amax it tracks alongside.
    """
    nonzero = np.flatnonzero(hist)
    return float(bin_edges[nonzero[-1] + 1]) if nonzero.size else 0.0


def percentile_threshold(hist: np.ndarray, bin_edges: np.ndarray, percentile: float = 99.99) -> float:
    """The upper edge of the first bin by which `percentile` % of the counts have been seen."""
    if not 0.0 < percentile <= 100.0:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    cumulative = np.cumsum(hist, dtype=np.float64)
    if cumulative[-1] == 0:
        return 0.0
    last_bin = int(np.searchsorted(cumulative, cumulative[-1] * percentile / 100.0))
    return float(bin_edges[last_bin + 1])


def entropy_threshold(hist: np.ndarray, bin_edges: np.ndarray,
                      num_levels: int = NUM_QUANT_LEVELS) -> float:
    """The threshold minimizing KL(P || Q), TensorRT's entropy calibration (EntropyCalibration2).

    For every candidate cut i in num_levels..nbins (the threshold being edges[i]):
      1. P, the reference: the first i bins of the histogram, with the counts of all bins past
         the cut (the values INT8 would clip) added to bin i-1, where clipping puts them.
      2. Q, what INT8 keeps of it: the same first i bins merged into `num_levels` groups of
         neighbouring bins (one group per INT8 level), each group's count then spread evenly
         back over the group's non-empty bins (empty bins stay empty: quantization cannot
         create values where there were none). Q does not get the clipped counts: they are
         exactly the information lost by cutting at i.
      3. KL(P || Q) after normalizing both; Q's zero bins where P is not zero are smoothed.
    A small i merges few bins per level (fine resolution) but clips much; a large i clips
    little but merges coarsely. The i with the smallest divergence wins.

    Cuts below `num_levels` bins are not tried: there each level would be finer than a bin.
    """
    hist = np.asarray(hist, dtype=np.float64)
    nbins = hist.size
    if bin_edges.size != nbins + 1:
        raise ValueError(f"need {nbins + 1} bin edges for {nbins} bins, got {bin_edges.size}")
    if nbins <= num_levels or hist.sum() == 0:
        return minmax_threshold(hist, bin_edges)  # too few bins to clip anything usefully

    # clipped[i] = total count in bins i.. (what a cut at i clips)
    clipped = np.concatenate([np.cumsum(hist[::-1])[::-1], [0.0]])
    best_cut, best_divergence = nbins, math.inf
    for cut in range(num_levels, nbins + 1):
        kept = hist[:cut]
        reference = kept.copy()
        reference[-1] += clipped[cut]

        level_of_bin = np.arange(cut) * num_levels // cut  # groups of cut/num_levels bins
        nonempty = kept > 0
        level_counts = np.bincount(level_of_bin, weights=kept, minlength=num_levels)
        level_nonempty_bins = np.bincount(level_of_bin, weights=nonempty, minlength=num_levels)
        per_bin = level_counts / np.maximum(level_nonempty_bins, 1)  # empty levels: 0 / 1
        quantized = np.where(nonempty, per_bin[level_of_bin], 0.0)

        divergence = _kl_divergence(reference, quantized)
        if divergence < best_divergence:
            best_cut, best_divergence = cut, divergence
    return float(bin_edges[best_cut])


def _kl_divergence(p_counts: np.ndarray, q_counts: np.ndarray) -> float:
    """KL(P || Q) of two count vectors, Q smoothed where P has mass that Q lacks."""
    if q_counts.sum() == 0:  # the cut clipped everything: nothing left to compare
        return math.inf
    p = p_counts / p_counts.sum()
    q = q_counts / q_counts.sum()
    q_missing = (q == 0) & (p > 0)
    if q_missing.any():
        # Give each missing bin eps and renormalize: Q stays a distribution with no zero where
        # P has mass, so the divergence is finite (but large).
        q = q + KL_SMOOTHING_EPS * q_missing
        q /= q.sum()
    support = p > 0
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


THRESHOLD_METHODS = {
    "entropy": entropy_threshold,
    "minmax": minmax_threshold,
    "percentile": percentile_threshold,
}


# --- collecting histograms over many batches --------------------------------------------------

class HistogramCollector:
    """Running histograms of |x| (and exact running max |x|), one per tensor name.

    Every histogram covers [0, range) with `num_bins` equal bins. The range is set by the first
    non-zero batch; when a later batch has a larger max, the range grows by an integer factor k
    and each k neighbouring old bins merge into one new bin. That merge is exact: the new
    histogram is the one the old values would have produced binned with the new range directly
    (no counts are interpolated or lost; the one exception is a value exactly on the old range's
    upper edge, which the old last bin included and which so stays just below that edge). The
    price is a range that can overshoot the max (by less than k/(k-1)); the thresholds are
    therefore clipped to the exact amax.
    """

    def __init__(self, num_bins: int = NUM_BINS):
        if num_bins < 1:
            raise ValueError(f"num_bins must be >= 1, got {num_bins}")
        self.num_bins = num_bins
        self.histograms: dict[str, np.ndarray] = {}
        self.ranges: dict[str, float] = {}  # upper end of each histogram; 0.0 until a non-zero
        self.amax: dict[str, float] = {}

    def add(self, name: str, values) -> None:
        """Add a batch of one tensor's values (numpy array, torch tensor, anything array-like)."""
        if hasattr(values, "detach"):  # a torch tensor, possibly on a GPU or in half precision
            values = values.detach().float().cpu().numpy()
        magnitudes = np.abs(np.asarray(values, dtype=np.float64)).ravel()
        if magnitudes.size == 0:
            return
        batch_max = float(magnitudes.max())
        if not math.isfinite(batch_max):
            raise ValueError(f"tensor {name!r} has non-finite values (inf or nan); cannot calibrate it")

        if name not in self.histograms:
            self.histograms[name] = np.zeros(self.num_bins, dtype=np.int64)
            self.ranges[name] = 0.0
            self.amax[name] = 0.0
        self.amax[name] = max(self.amax[name], batch_max)
        if batch_max > self.ranges[name]:
            self._grow_range(name, batch_max)

        hist_range = self.ranges[name]
        if hist_range == 0.0:  # only zeros so far: they belong in bin 0 whatever the range becomes
            self.histograms[name][0] += magnitudes.size
            return
        # floor(|x| / bin width), with |x| == range (the max itself) kept in the last bin
        bins = np.minimum((magnitudes * (self.num_bins / hist_range)).astype(np.int64), self.num_bins - 1)
        self.histograms[name] += np.bincount(bins, minlength=self.num_bins)

    def _grow_range(self, name: str, new_max: float) -> None:
        old_range = self.ranges[name]
        if old_range == 0.0:  # the first non-zero batch sets the range; bin 0 holds the zeros
            self.ranges[name] = new_max
            return
        factor = math.ceil(new_max / old_range)
        while old_range * factor < new_max:  # guard against the division rounding down
            factor += 1
        old = self.histograms[name]
        padded = np.concatenate([old, np.zeros(-old.size % factor, dtype=old.dtype)])
        merged = padded.reshape(-1, factor).sum(axis=1)  # new bin j = old bins j*k .. j*k+k-1
        grown = np.zeros_like(old)
        grown[:merged.size] = merged
        self.histograms[name] = grown
        self.ranges[name] = old_range * factor

    def bin_edges(self, name: str) -> np.ndarray:
        return np.linspace(0.0, self.ranges[name], self.num_bins + 1)

    def threshold(self, name: str, method: str = "entropy", **options) -> float:
        """amax of one tensor by `method` (a THRESHOLD_METHODS key); options go to its function."""
        if method not in THRESHOLD_METHODS:
            raise ValueError(f"unknown calibration method {method!r}; "
                             f"choose one of {sorted(THRESHOLD_METHODS)}")
        found = THRESHOLD_METHODS[method](self.histograms[name], self.bin_edges(name), **options)
        return min(found, self.amax[name])  # a bin edge can lie above every value seen

    def thresholds(self, method: str = "entropy", **options) -> dict[str, float]:
        """{tensor name: amax} for every collected tensor; its INT8 scale is amax_to_scale(amax)."""
        return {name: self.threshold(name, method, **options) for name in self.histograms}


# --- TensorRT's calibration cache -------------------------------------------------------------

_HEADER = re.compile(r"TRT-(\d+)-(\w+)")
_SCALE_HEX = re.compile(r"[0-9a-fA-F]{8}")


def write_cache(scales: dict[str, float], algorithm: str, *, trt_version: int = DEFAULT_TRT_VERSION) -> bytes:
    """TensorRT calibration cache text for {tensor name: scale}; scales are stored as float32.

    algorithm: a calibrator kind ("entropy", "minmax") or TensorRT's name for it (a
    CACHE_ALGORITHMS value, e.g. "EntropyCalibration2"); the file always holds TensorRT's name.
    trt_version: major*10000 + minor*100 + patch of the TensorRT that will read the cache, since
    TensorRT ignores caches written for another version.
    """
    trt_name = CACHE_ALGORITHMS.get(algorithm, algorithm)
    if trt_name not in CACHE_ALGORITHMS.values():
        raise ValueError(f"unknown cache algorithm {algorithm!r}; choose one of {sorted(CACHE_ALGORITHMS)} "
                         f"or {sorted(CACHE_ALGORITHMS.values())}")
    lines = [f"TRT-{int(trt_version)}-{trt_name}"]
    for name, scale in scales.items():
        if "\n" in name or not name:
            raise ValueError(f"tensor name {name!r} cannot be written to a calibration cache")
        lines.append(f"{name}: {struct.pack('>f', scale).hex()}")
    return ("\n".join(lines) + "\n").encode()


def read_cache(data: bytes | str) -> tuple[str, dict[str, float]]:
    """(TensorRT's algorithm name, {tensor name: scale}) from calibration cache text."""
    text = data if isinstance(data, str) else bytes(data).decode()
    lines = text.splitlines()
    header = _HEADER.fullmatch(lines[0].strip()) if lines else None
    if header is None:
        first = lines[0] if lines else ""
        raise ValueError(f"calibration cache line 1: expected 'TRT-<version>-<algorithm>', got {first!r}")
    scales: dict[str, float] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        # rpartition: tensor names may themselves contain ": " (TensorRT's auto names often do)
        name, separator, hex_bits = line.rpartition(": ")
        if not separator or not name or not _SCALE_HEX.fullmatch(hex_bits.strip()):
            raise ValueError(f"calibration cache line {number}: expected '<tensor name>: <8 hex digits>', "
                             f"got {line!r}")
        if name in scales:
            raise ValueError(f"calibration cache line {number}: tensor {name!r} appears twice")
        scales[name] = struct.unpack(">f", bytes.fromhex(hex_bits.strip()))[0]
    return header.group(2), scales
