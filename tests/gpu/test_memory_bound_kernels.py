"""GPU tests of the memory-bound kernels: LayerNorm, SkipLayerNorm, EmbLayerNorm (+ mask ->
seq_lens) and bias + GELU, every numbered version and the default launcher, against float64
torch references (torch.nn.functional.layer_norm / gelu on upcast inputs).

Outputs are poisoned (NaN) before every launch, so an element a kernel forgets to write fails.
Inputs are fresh random draws each run (set KERNEL_TEST_SEED=<n> to replay a failing run; the
seed is in every failure message). Tolerances, against float64 math on the same rounded inputs:
fp32 1e-5 (fp32 statistics of well-conditioned rows), fp16 1e-2 (the output's own rounding).
Rows with |mean| >> std get 1e-3 in fp32: the mean itself cannot be known better than a few ulps
of 1000 in fp32 arithmetic (~1e-4 after dividing by std 1), while the one-pass E[x^2] - mean^2
formula would be off by O(1) there; that is what those rows are for. INT8 outputs are exact but
within one step at rounding ties, the tie band widened by what fp32 arithmetic may move the
quotient (reference_skip_layer_norm_int8 says how much).

Needs a CUDA GPU and the built library (cmake -S plugins -B plugins/build && cmake --build
plugins/build, or BERT_PLUGINS_BUILD_DIR=<folder holding libbert_kernels.so>); skips otherwise.
"""
from __future__ import annotations

import math
import os
import secrets
import zlib

import pytest

from gpu_support import require_kernel_library  # noqa: E402

torch = require_kernel_library()

import torch.nn.functional as F  # noqa: E402

from plugins import kernels  # noqa: E402
from plugins.bias_gelu.ops import (_ARGTYPES as GELU_ARGTYPES, EXACT_GRID_VERSION as GELU_EXACT_GRID,  # noqa: E402
                                   FP16_ONLY_VERSIONS as GELU_FP16_ONLY, ONE_PASS_VERSIONS as GELU_ONE_PASS,
                                   VERSIONS as GELU_VERSIONS, bias_gelu, version_takes as gelu_version_takes)
from plugins.emb_layernorm.ops import _ARGTYPES as EMB_ARGTYPES, emb_layer_norm, mask_to_seq_lens  # noqa: E402
from plugins.kernels import last_version  # noqa: E402
from plugins.layernorm.ops import VECTOR_VERSIONS, VERSIONS, layer_norm, version_takes  # noqa: E402
from plugins.skip_layernorm.ops import INT8_VERSIONS, skip_layer_norm, skip_layer_norm_int8  # noqa: E402

DEVICE = torch.device("cuda")
SEED = int(os.environ.get("KERNEL_TEST_SEED", secrets.randbits(31)))
DTYPES = (torch.float32, torch.float16)
ALL_VERSIONS = (None, *VERSIONS)  # None: the default launcher (bertLayerNorm, ...)
ALL_GELU_VERSIONS = (None, *GELU_VERSIONS)  # BiasGelu numbers its own versions
# (atol, rtol) against float64.
TOLERANCE = {torch.float32: (1e-5, 1e-5), torch.float16: (1e-2, 1e-2)}
LARGE_MEAN_FP32_ATOL = 1e-3
# BERT sizes, a large one, odd multiples of 8, 100 (a multiple of 4: 16-byte fp32 but not fp16)
# and 770 (no 16-byte access in either dtype: the scalar path).
HIDDEN_SIZES = (768, 1024, 384, 4096, 8, 24, 200, 1000, 100, 770)
ROW_COUNTS = (0, 1, 7, 128, 1000)
EPSILON = 1e-12  # BERT's: tiny, so constant rows really test that x - mean is exactly 0


def dtype_name(dtype):
    return str(dtype).removeprefix("torch.")


def generator(*key):
    """A fresh random stream per case, reproducible from SEED and the case."""
    g = torch.Generator(device=DEVICE)
    g.manual_seed(zlib.crc32(repr((SEED, key)).encode()))
    return g


def randn(shape, g, scale=1.0, offset=0.0):
    return torch.randn(shape, generator=g, device=DEVICE) * scale + offset


def elems_per_vector(dtype):
    """How many values of `dtype` one 16-byte vector holds."""
    return 16 // torch.empty((), dtype=dtype).element_size()


def vectorizable(width, dtype):
    """Whether the vector versions apply: rows of whole 16-byte vectors (torch's own allocations
    are aligned)."""
    return width % elems_per_vector(dtype) == 0


def poisoned(shape, dtype, value=math.nan):
    return torch.full(shape, value, dtype=dtype, device=DEVICE)


def split_refuses(version, vecs_per_row, elems_per_vec):
    """Whether LayerNorm-family version 10 to 20 refuses a row of vecs_per_row 16-byte vectors
    (common/layernorm_rows.cuh, restated): v10 and v11 merge per-thread moments, which counts on
    every thread of a row holding as many vectors: v10 one each, in whole warps; v11 v3's split (the
    fewest threads, a power of two, with at most 32 values each) into equal shares. v12 gives a
    row 1 to 8 whole warps of one vector a thread, v13 a warp of 1 to 8 vectors a lane (at most 32
    values: fp16 4 vectors), v14 1 to 8 whole warps of two vectors a thread, v15 two warps of 1 to 8
    vectors a thread (at most 32 values), v16 one vector a thread over at most 8 warps (the surplus lanes
    idle), v17 v16 compiled for rows of 768 or 1024 values only, v18 v15 with two rows a block (at most
    32 values of both), v19 with four (at most 48 values of the four), v20 rows of 768 or 1024 values only (as v17)."""
    if version == 10:
        return vecs_per_row % 32 != 0
    if version == 11:
        threads = 1
        while threads * (32 // elems_per_vec) < vecs_per_row:
            threads *= 2
        return vecs_per_row % threads != 0
    if version == 12:
        return vecs_per_row % 32 != 0 or vecs_per_row // 32 > 8
    if version == 13:  # also at most 32 values a thread
        return vecs_per_row % 32 != 0 or vecs_per_row // 32 > min(8, 32 // elems_per_vec)
    if version == 14:
        return vecs_per_row % 64 != 0 or vecs_per_row // 64 > 8
    if version == 15:
        return vecs_per_row % 64 != 0 or vecs_per_row // 64 > min(8, 32 // elems_per_vec)
    if version == 16:
        return vecs_per_row > 8 * 32
    if version in (17, 20):
        return vecs_per_row * elems_per_vec not in (768, 1024)
    if version == 18:  # v15's split, both rows' values in one thread's registers
        return vecs_per_row % 64 != 0 or vecs_per_row // 64 > min(8, 16 // elems_per_vec)
    if version == 19:  # v15's split over four rows, at most 48 values a thread
        return vecs_per_row % 64 != 0 or 4 * (vecs_per_row // 64) * elems_per_vec > 48
    return False


GELU_BLOCK_THREADS, MAX_GRID_Y = 128, 65535  # bias_gelu_kernel.cu: kBlockThreads, kMaxGridY


def gelu_one_pass_refuses(rows, width, dtype):
    """Whether BiasGelu v6-v8's grid (one row a thread) needs more than MAX_GRID_Y row steps: its
    block has the row's vector count rounded up to a power of two across (at most the block), the
    rest of the block on further rows (bias_gelu_kernel.cu, plan_vectors). Computed for v6/v7's 16-byte
    vectors and 128-thread blocks; v8's 8-byte vectors in 256-thread blocks give the same rows a
    block (twice the vectors across, twice the threads)."""
    vecs = width // elems_per_vector(dtype)
    across = min(1 << max(vecs - 1, 0).bit_length(), GELU_BLOCK_THREADS)
    return -(-rows // (GELU_BLOCK_THREADS // across)) > MAX_GRID_Y


def gelu_exact_grid_refuses(rows, width, dtype):
    """Whether BiasGelu v9's grid cannot be the tensor: rows of whole 128-thread blocks of 16-byte
    vectors, at most MAX_GRID_Y rows (one block row each), 32-bit element offsets."""
    return width % (GELU_BLOCK_THREADS * elems_per_vector(dtype)) != 0 or rows > MAX_GRID_Y \
        or rows * width > 2**31 - 1


def run_version(version, width, dtype, launch, norm_family=False, rows=None):
    """launch(); a vector version on rows that are not whole 16-byte vectors must refuse, and so
    must LayerNorm-family v10-v20 on rows their splits cannot take, and BiasGelu v6-v9 on more rows
    than their grid holds (v9 also on rows that are not whole blocks; `rows` required for them).
    Returns whether it ran. In both families
    (LayerNorm, BiasGelu) every numbered version but 1 is a vector version."""
    vec = elems_per_vector(dtype)
    if not norm_family and version in (*GELU_ONE_PASS, GELU_EXACT_GRID) and rows is None:
        raise ValueError("BiasGelu v6-v9: pass rows")
    refuses = (version not in (None, 1) and not vectorizable(width, dtype)) \
        or (norm_family and split_refuses(version, width // vec, vec)) \
        or (not norm_family and version in GELU_FP16_ONLY and dtype != torch.float16) \
        or (not norm_family and version in GELU_ONE_PASS and gelu_one_pass_refuses(rows, width, dtype)) \
        or (not norm_family and version == GELU_EXACT_GRID and gelu_exact_grid_refuses(rows, width, dtype))
    if refuses:
        with pytest.raises(RuntimeError, match="not supported"):
            launch()
        return False
    launch()
    return True


def run_norm_version(version, width, dtype, launch):
    """run_version for the LayerNorm family (LayerNorm, SkipLayerNorm, EmbLayerNorm)."""
    return run_version(version, width, dtype, launch, norm_family=True)


def assert_matches(actual, expected, dtype, what, atol=None):
    default_atol, rtol = TOLERANCE[dtype]
    context = f"{what} (KERNEL_TEST_SEED={SEED})"
    assert not actual.isnan().any(), f"{context}: NaN in the output (unwritten, or computed)"
    torch.testing.assert_close(actual.double(), expected, atol=atol or default_atol, rtol=rtol,
                               msg=lambda m: f"{context}: {m}")


def norm_params(hidden, g, dtype=torch.float32):
    """gamma, beta as a kernel takes them: LayerNorm and SkipLayerNorm in the activations' dtype
    (the reference then sees the same rounded values), EmbLayerNorm in fp32."""
    gamma = 1.0 + 0.1 * randn(hidden, g)
    beta = 0.1 * randn(hidden, g)
    return gamma.to(dtype), beta.to(dtype)


def reference_layer_norm(x, gamma, beta):
    """float64 LayerNorm of the (already rounded) input values."""
    return F.layer_norm(x.double(), (x.shape[-1],), gamma.double(), beta.double(), EPSILON)


# --------------------------------------------------------------------------------------------
# LayerNorm


def check_layer_norm(dtype, hidden, rows, seed_name, scale=2.0, offset=0.5):
    """Every version (and the default) on random rows x hidden values."""
    g = generator(seed_name, dtype_name(dtype), hidden, rows)
    x = randn((rows, hidden), g, scale=scale, offset=offset).to(dtype)
    gamma, beta = norm_params(hidden, g, dtype)
    expected = reference_layer_norm(x, gamma, beta)
    for version in ALL_VERSIONS:
        out = poisoned(x.shape, dtype)
        if run_norm_version(version, hidden, dtype,
                            lambda: layer_norm(x, gamma, beta, EPSILON, version=version, out=out)):
            assert_matches(out, expected, dtype, f"LayerNorm v{version} {rows}x{hidden}")


@pytest.mark.parametrize("hidden", HIDDEN_SIZES)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_layer_norm(dtype, hidden):
    for rows in ROW_COUNTS:
        check_layer_norm(dtype, hidden, rows, "layer_norm")


def adversarial_rows(rows_per_kind, hidden, dtype, g):
    """Three blocks of rows: large magnitudes (~1e3), large mean with small spread, constant."""
    spread = 1.0 if dtype == torch.float32 else 2.0  # fp16's spacing at 1000 is 0.5
    large = randn((rows_per_kind, hidden), g, scale=1000.0)
    offset = randn((rows_per_kind, hidden), g, scale=spread, offset=1000.0)
    # Constants that are multiples of 1/4: their fp32 sums are exact, so x - mean == 0 exactly
    # and the output must be beta, even with epsilon 1e-12 (inverse std 1e6).
    levels = torch.randint(-4000, 4000, (rows_per_kind, 1), generator=g, device=DEVICE) / 4.0
    constant = levels.expand(rows_per_kind, hidden)
    return [part.to(dtype).contiguous() for part in (large, offset, constant)]


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: f"v{v}")
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_layer_norm_adversarial_rows(dtype, version):
    for hidden in (768, 4096, 1000, 770):
        g = generator("layer_norm_adversarial", dtype_name(dtype), version, hidden)
        gamma, beta = norm_params(hidden, g, dtype)
        names = ("|x| ~ 1e3", "mean 1000, small spread", "constant rows")
        for name, x in zip(names, adversarial_rows(33, hidden, dtype, g)):
            out = poisoned(x.shape, dtype)
            if not run_norm_version(version, hidden, dtype,
                                    lambda: layer_norm(x, gamma, beta, EPSILON, version=version,
                                                       out=out)):
                break
            atol = LARGE_MEAN_FP32_ATOL if name.startswith("mean") and dtype == torch.float32 else None
            assert_matches(out, reference_layer_norm(x, gamma, beta), dtype,
                           f"LayerNorm v{version} h{hidden} {name}", atol=atol)
            if name == "constant rows":
                assert torch.equal(out, beta.to(dtype).expand_as(out)), "constant row != beta"


@pytest.mark.parametrize("version", (9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), ids=lambda v: f"v{v}")
def test_layer_norm_variance_of_rows_with_a_large_mean(version):
    """The variance alone, at mean 1e4 and std 1 in fp32: with gamma 1 and beta 0 the output's mean
    square is var / var_computed, whatever the mean's rounding (which moves every output by the
    same amount). v10 and v11 get the variance from merged per-thread sums; unshifted, those sums
    cancel like the mean does (~2e-4 here, where two passes, v9, give ~1e-6); shifted by a value
    of the row, they do not."""
    g = generator("large_mean_variance", version)
    for hidden in (768, 1024, 384, 4096):
        x = randn((64, hidden), g, scale=1.0, offset=1e4)
        ones, zeros = torch.ones(hidden, device=DEVICE), torch.zeros(hidden, device=DEVICE)
        out = poisoned(x.shape, torch.float32)
        if not run_norm_version(version, hidden, torch.float32,
                                lambda: layer_norm(x, ones, zeros, 1e-12, version=version, out=out)):
            continue
        mean_square = out.double().square().mean(-1)
        worst = (mean_square - 1.0).abs().max().item()
        assert worst < 1e-5, f"LayerNorm v{version} h{hidden}: output mean square off 1 by {worst:.2e}"


@pytest.mark.parametrize("version", (16, 17), ids=lambda v: f"v{v}")
@pytest.mark.parametrize("rows", (64, 65), ids=lambda r: f"{r}rows")
@pytest.mark.parametrize("epsilon", (0.0, 1e-40), ids=("eps0", "eps1e-40"))
def test_triton_layout_with_an_epsilon_below_the_normal_floats(version, rows, epsilon):
    """v16 and v17 take 1 / sqrt(variance + epsilon) as rsqrt.approx.ftz only where epsilon >= FLT_MIN (then the sum
    is never denormal, and ftz changes no bit). Below, it must take rsqrtf: rows of +-1e-19 (mean 0, variance
    1e-38, a denormal) with epsilon 0 or a denormal one give +-1 / sqrt(1 + epsilon / 1e-38) (float64's
    answer), where ftz would flush the sum to 0 and give inf. Even rows too, which with a normal epsilon
    would take the exact instance: epsilon alone must send them to the general one."""
    hidden = 768
    x = torch.full((rows, hidden), 1e-19, device=DEVICE)
    x[:, 1::2] = -1e-19
    ones, zeros = torch.ones(hidden, device=DEVICE), torch.zeros(hidden, device=DEVICE)
    out = layer_norm(x, ones, zeros, epsilon, version=version)
    assert torch.isfinite(out).all(), f"v{version} eps {epsilon}: inf or NaN from a denormal variance"
    expected = F.layer_norm(x.double(), (hidden,), eps=epsilon)
    worst = (out.double() - expected).abs().max().item()
    # fp32's denormal squares keep ~22 bits: 1e-4 is far above their rounding, far below ftz's inf or eps's 0.5%.
    assert worst < 1e-4, f"v{version} eps {epsilon}, {rows} rows: off float64 by {worst:.2e}"


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_layer_norm_many_tokens(dtype):
    for hidden in (768, 1024):
        check_layer_norm(dtype, hidden, 65536, "layer_norm_many", scale=1.0, offset=0.0)


@pytest.mark.parametrize("hidden", (768, 384, 1024, 8))
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_layer_norm_row_counts_around_the_launch_plans(dtype, hidden):
    """v4-v6 start from 4 warps per block (v6: and, for narrow rows such as fp16 768 and 384,
    2 rows per thread group) and shrink that while the grid has fewer blocks than SMs: row
    counts one below and one above k * SMs cross each of those steps (rows per block 1 .. 256
    x), odd counts leave the last group half full."""
    sms = torch.cuda.get_device_properties(DEVICE).multi_processor_count
    row_counts = sorted({k * sms + d for k in (1, 2, 4, 8, 16, 64, 256) for d in (-1, 1)})
    for rows in row_counts:
        check_layer_norm(dtype, hidden, rows, "layer_norm_plans", offset=-0.5)


@pytest.mark.parametrize("hidden", (768, 1024, 384, 8))
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_layer_norm_ragged_row_counts(dtype, hidden):
    """Row counts within one wave of blocks (1, 7, 133) and over many with a ragged last block
    (4099, 65537); for rows of one vector (hidden 8: a group per thread) more rows than the GPU
    has resident threads, twice, plus 37, which leaves the last warp 5 groups with a row and 27
    without. Hidden 384 in fp16 puts 2 row groups in a warp."""
    props = torch.cuda.get_device_properties(DEVICE)
    row_counts = [1, 7, 133, 4099, 65537]
    if hidden == 8:
        row_counts.append(2 * props.multi_processor_count * props.max_threads_per_multi_processor + 37)
    for rows in row_counts:
        check_layer_norm(dtype, hidden, rows, "layer_norm_ragged")


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_layer_norm_default_takes_wide_rows_at_every_measured_point(dtype):
    """The default picks a measured version per row count (rows per SM, five points); where that
    version's split cannot take the row it must fall back, not refuse: v14, the fp32 default at
    ~2K-4K rows, takes at most 2048 values a row, its fallback v7 at most 4096, v12 1024; v17, the
    fp32 default from ~8K rows, 768 or 1024, its fallback v14 (then v7)
    (tests/test_layernorm_defaults.py checks the rule on the host). One row count per point,
    hidden 6144: wider than v7, v12-v19 and v2/v9/v10 take in fp32, so the default ends at v5."""
    sms = torch.cuda.get_device_properties(DEVICE).multi_processor_count
    hidden = 6144
    g = generator("layer_norm_wide_default", dtype_name(dtype))
    gamma, beta = norm_params(hidden, g, dtype)
    for rows_per_sm in (1, 8, 31, 124, 250):
        x = randn((rows_per_sm * sms, hidden), g).to(dtype)
        out = poisoned(x.shape, dtype)
        layer_norm(x, gamma, beta, EPSILON, out=out)
        assert_matches(out, reference_layer_norm(x, gamma, beta), dtype,
                       f"LayerNorm default {x.shape[0]}x{hidden}")
        del x, out


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_layer_norm_misaligned_input_takes_the_scalar_path(dtype):
    rows, hidden = 9, 768
    g = generator("misaligned", dtype_name(dtype))
    storage = randn(rows * hidden + 1, g).to(dtype)
    x = storage[1:].view(rows, hidden)  # 2 or 4 bytes past a 16-byte boundary
    gamma, beta = norm_params(hidden, g, dtype)
    out = poisoned(x.shape, dtype)
    layer_norm(x, gamma, beta, EPSILON, out=out)  # the default falls back to version 1
    assert_matches(out, reference_layer_norm(x, gamma, beta), dtype, "LayerNorm misaligned")
    for version in VECTOR_VERSIONS:
        with pytest.raises(RuntimeError, match="not supported"):
            layer_norm(x, gamma, beta, EPSILON, version=version, out=out)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_version_takes_says_what_the_launcher_takes(dtype):
    """bertLayerNormVersionTakes is the rule behind the tactics the LayerNorm-family plugins offer
    TensorRT's builder (version 1 only where no other takes the row): a version it names must launch at the width (the builder times it, the engine then runs
    it at every row count), and one it leaves out must refuse. Every width a multiple of 8 up to
    1,100 values, some wider ones and some that are not whole 16-byte vectors. And
    bertLastLaunchedVersion, through which the plugin harness sees which kernel a tactic ran,
    names the version that launched (0 after a refusal), and for the default one that takes the row."""
    g = generator("version takes", dtype_name(dtype))
    widths = [*range(8, 1101, 8), 1, 3, 100, 1030, 2048, 2056, 4096, 8192, 8200]
    mismatches = []
    for hidden in widths:
        x = randn((3, hidden), g).to(dtype)
        gamma, beta = norm_params(hidden, g, dtype)
        for version in VERSIONS:
            last_version()  # forget the last launch
            try:
                layer_norm(x, gamma, beta, EPSILON, version=version)
                ran = True
            except RuntimeError as error:
                assert "not supported" in str(error), error
                ran = False
            if version_takes(version, hidden, dtype) != ran:
                mismatches.append(f"v{version} hidden {hidden}: takes says {not ran}, the launcher {ran}")
            if last_version() != (version if ran else 0):
                mismatches.append(f"v{version} hidden {hidden}: bertLastLaunchedVersion disagrees")
        layer_norm(x, gamma, beta, EPSILON)
        default = last_version()
        if not version_takes(default, hidden, dtype) or default == 0:
            mismatches.append(f"default at hidden {hidden} ran v{default}")
    assert not mismatches, "\n".join(mismatches[:20])


# --------------------------------------------------------------------------------------------
# SkipLayerNorm


def reference_skip_layer_norm(x, skip, bias, gamma, beta):
    total = x.double() + skip.double()
    if bias is not None:
        total = total + bias.double()
    return F.layer_norm(total, (x.shape[-1],), gamma.double(), beta.double(), EPSILON)


@pytest.mark.parametrize("with_bias", (True, False), ids=("bias", "no_bias"))
@pytest.mark.parametrize("hidden", HIDDEN_SIZES)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_skip_layer_norm(dtype, hidden, with_bias):
    for rows in ROW_COUNTS:
        g = generator("skip_layer_norm", dtype_name(dtype), hidden, rows, with_bias)
        x = randn((rows, hidden), g, scale=2.0).to(dtype)
        skip = randn((rows, hidden), g, offset=0.25).to(dtype)
        bias = randn(hidden, g, scale=0.5).to(dtype) if with_bias else None
        gamma, beta = norm_params(hidden, g, dtype)
        expected = reference_skip_layer_norm(x, skip, bias, gamma, beta)
        for version in ALL_VERSIONS:
            out = poisoned(x.shape, dtype)
            if run_norm_version(version, hidden, dtype, lambda: skip_layer_norm(
                    x, skip, gamma, beta, EPSILON, bias=bias, version=version, out=out)):
                assert_matches(out, expected, dtype,
                               f"SkipLayerNorm v{version} {rows}x{hidden} bias={with_bias}")


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: f"v{v}")
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_skip_layer_norm_adversarial_rows(dtype, version):
    for hidden in (768, 4096, 770):
        g = generator("skip_adversarial", dtype_name(dtype), version, hidden)
        gamma, beta = norm_params(hidden, g, dtype)
        bias = randn(hidden, g, scale=0.5).to(dtype)
        names = ("|x| ~ 1e3", "mean 1000, small spread", "constant rows")
        for name, x in zip(names, adversarial_rows(17, hidden, dtype, g)):
            # The sum keeps the row's character: half of it in x, half in skip (exact halves).
            half = (x.float() / 2).to(dtype)
            other = (x.float() - half.float()).to(dtype)
            row_bias = None if name == "constant rows" else bias  # constant rows stay constant
            out = poisoned(x.shape, dtype)
            if not run_norm_version(version, hidden, dtype, lambda: skip_layer_norm(
                    half, other, gamma, beta, EPSILON, bias=row_bias, version=version, out=out)):
                break
            atol = LARGE_MEAN_FP32_ATOL if name.startswith("mean") and dtype == torch.float32 else None
            assert_matches(out, reference_skip_layer_norm(half, other, row_bias, gamma, beta), dtype,
                           f"SkipLayerNorm v{version} h{hidden} {name}", atol=atol)


# ---- SkipLayerNorm with INT8 I/O --------------------------------------------------------------
INT8_SCALES = (0.05, 0.04, 8 / 127)  # input, skip, output: |residual| up to ~11, outputs to +-8


def random_int8(shape, g):
    return torch.randint(-128, 128, shape, generator=g, device=DEVICE, dtype=torch.int8)


def reference_skip_layer_norm_int8(xq, skipq, bias, gamma, beta, scales):
    """float64: dequantize, add, normalize; then the pre-rounding quotient y / out_scale, the int8
    that TensorRT's quantization makes of it (to nearest, ties to even; clamped), and the slack: how
    far the kernel's fp32 arithmetic may move the quotient beyond assert_int8_matches' fixed 1e-3,
    over out_scale. The slack covers what grows with the residual's size, not the normalized
    value's: four ulps of each term of x - mean (the dequantized x and skip, the bias, the mean) and
    log2(hidden) ulps of the row's mean |residual| for the mean's own rounding (a sum of per-lane
    sums: enough for these rows, whose mean is near 0), times inv_std * |gamma|, plus four ulps of
    |beta|. The errors that scale with the output (rsqrtf, the variance, * gamma, * 1 / out_scale)
    stay under the fixed 1e-3 at these scales. Why: with out_scale 1e-4, a residual of ~10 rounded
    in fp32 moves an output near 0 by ~2e-3 steps (run 21, H200: seed 965073987 met 100 such ties in
    50M outputs); emulations of the kernel's fp32 order on the CPU stayed within 0.3 of 1e-3 + slack
    there (hidden 104 to 2048)."""
    x_scale, skip_scale, out_scale = scales
    x, skip = xq.double() * x_scale, skipq.double() * skip_scale
    y = reference_skip_layer_norm(x, skip, bias, gamma, beta)
    quotient = y / out_scale
    bias = x.new_zeros(x.shape[-1]) if bias is None else bias.double()  # rows may be 0
    total = x + skip + bias
    mean = total.mean(-1, keepdim=True)
    inv_std = (total.var(-1, unbiased=False, keepdim=True) + EPSILON).rsqrt()
    terms = (4 * (x.abs() + skip.abs() + bias.abs() + mean.abs())
             + math.log2(x.shape[-1]) * total.abs().mean(-1, keepdim=True))
    slack = 2.0 ** -24 * (terms * inv_std * gamma.double().abs() + 4 * beta.double().abs()) / out_scale
    return quotient, quotient.round().clamp(-128, 127), slack


def assert_int8_matches(out, xq, skipq, bias, gamma, beta, scales, what):
    """Exact, except where the float64 quotient lies within 1e-3 (plus what fp32 arithmetic may move
    it: reference_skip_layer_norm_int8) of a rounding boundary (x.5): there one step either way."""
    assert out.dtype == torch.int8
    quotient, expected, slack = reference_skip_layer_norm_int8(xq, skipq, bias, gamma, beta, scales)
    diff = (out.double() - expected).abs()
    near_tie = ((quotient - quotient.floor()) - 0.5).abs() < 1e-3 + slack
    exact_ok = bool(((diff == 0) | near_tie).all())
    worst = diff.max().item() if diff.numel() else 0.0
    assert exact_ok and worst <= 1, (f"{what}: {int((diff > 0).sum())} of {diff.numel()} differ, "
                                     f"worst by {worst:g} steps (seed {SEED})")


INT8_VERSION_CASES = (None, *INT8_VERSIONS)  # None: the default


def int8_version_name(version):
    return "default" if version is None else f"v{version}"


@pytest.mark.parametrize("version", INT8_VERSION_CASES, ids=int8_version_name)
@pytest.mark.parametrize("with_bias", (True, False), ids=("bias", "no_bias"))
@pytest.mark.parametrize("hidden", (768, 1024, 384, 8, 104, 2048))
def test_skip_layer_norm_int8(hidden, with_bias, version):
    for rows in ROW_COUNTS:
        g = generator("skip_int8", hidden, rows, with_bias)
        xq, skipq = random_int8((rows, hidden), g), random_int8((rows, hidden), g)
        bias = randn(hidden, g, scale=0.5) if with_bias else None
        gamma, beta = norm_params(hidden, g)
        out = torch.full((rows, hidden), 99, dtype=torch.int8, device=DEVICE)  # poison: a value
        skip_layer_norm_int8(xq, INT8_SCALES[0], skipq, INT8_SCALES[1], gamma, beta,  # never written
                             INT8_SCALES[2], EPSILON, bias=bias, version=version, out=out)
        assert_int8_matches(out, xq, skipq, bias, gamma, beta, INT8_SCALES,
                            f"SkipLayerNorm int8 {int8_version_name(version)} {rows}x{hidden} bias={with_bias}")


@pytest.mark.parametrize("version", INT8_VERSION_CASES, ids=int8_version_name)
@pytest.mark.parametrize("hidden", (768, 1024, 1000, 104))
def test_skip_layer_norm_int8_saturates_and_many_rows(hidden, version):
    """An output scale too small for the values: every output clamps to -128 or 127 (not wrapped);
    and 65536 rows, more than one wave of the persistent versions' warps (each loops over ~10 rows
    or more), also with lanes whose last group is outside the row (1000: 125 groups; 104: 13)."""
    g = generator("skip_int8_saturate", hidden)
    rows = 65536
    xq, skipq = random_int8((rows, hidden), g), random_int8((rows, hidden), g)
    gamma, beta = norm_params(hidden, g)
    bias = randn(hidden, g, scale=0.5)
    for scales in (INT8_SCALES, (0.05, 0.04, 1e-4)):
        out = torch.full((rows, hidden), 99, dtype=torch.int8, device=DEVICE)
        skip_layer_norm_int8(xq, scales[0], skipq, scales[1], gamma, beta, scales[2], EPSILON,
                             bias=bias, version=version, out=out)
        assert_int8_matches(out, xq, skipq, bias, gamma, beta, scales,
                            f"int8 {int8_version_name(version)} h{hidden} out_scale {scales[2]}")
    # With 1e-4 only |y| < 0.0128 (~1% of the outputs) escapes the clamp.
    assert ((out == 127) | (out == -128)).float().mean().item() > 0.95


def test_skip_layer_norm_int8_sizes_agree_with_the_builders_rule():
    """builder.py checks int8_residual against plugin_fields' restatement of the kernel's sizes."""
    import ctypes

    from plugins import kernels, plugin_fields

    supported = kernels.function("bertSkipLayerNormInt8Supported", [ctypes.c_int32])
    assert all(bool(supported(h)) == plugin_fields.skip_layer_norm_int8_supported(h) for h in range(-8, 4200))


def test_skip_layer_norm_int8_refuses_bad_calls():
    g = generator("skip_int8_bad")
    xq = random_int8((4, 768), g)
    gamma, beta = norm_params(768, g)
    for scales in ((0.0, 1.0, 1.0), (1.0, -1.0, 1.0), (1.0, 1.0, math.inf), (1.0, 1.0, math.nan)):
        with pytest.raises(RuntimeError, match="invalid argument"):
            skip_layer_norm_int8(xq, scales[0], xq, scales[1], gamma, beta, scales[2], EPSILON)
    for version in (-1, max(INT8_VERSIONS) + 1):
        with pytest.raises(RuntimeError, match="invalid argument"):
            skip_layer_norm_int8(xq, 0.1, xq, 0.1, gamma, beta, 0.1, EPSILON, version=version)
    for hidden in (100, 4096):  # not a multiple of 8; beyond 2048
        xh = random_int8((2, hidden), g)
        gh, bh = norm_params(hidden, g)
        with pytest.raises(RuntimeError, match="not supported"):
            skip_layer_norm_int8(xh, 0.1, xh, 0.1, gh, bh, 0.1, EPSILON)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_skip_layer_norm_many_tokens(dtype):
    hidden = 768
    g = generator("skip_many", dtype_name(dtype))
    x = randn((65536, hidden), g).to(dtype)
    skip = randn((65536, hidden), g).to(dtype)
    bias = randn(hidden, g, scale=0.5).to(dtype)
    gamma, beta = norm_params(hidden, g, dtype)
    expected = reference_skip_layer_norm(x, skip, bias, gamma, beta)
    for version in ALL_VERSIONS:
        out = poisoned(x.shape, dtype)
        if run_norm_version(version, hidden, dtype, lambda: skip_layer_norm(
                x, skip, gamma, beta, EPSILON, bias=bias, version=version, out=out)):
            assert_matches(out, expected, dtype, f"SkipLayerNorm v{version} 65536x{hidden}")


# --------------------------------------------------------------------------------------------
# EmbLayerNorm and mask -> seq_lens

VOCAB, MAX_POS, TYPE_VOCAB = 1000, 64, 2


def embedding_tables(hidden, g, max_pos=MAX_POS):
    word = randn((VOCAB, hidden), g)
    position = randn((max_pos, hidden), g, scale=0.5)
    token_type = randn((TYPE_VOCAB, hidden), g, scale=0.5)
    gamma, beta = norm_params(hidden, g)
    return word, position, token_type, gamma, beta


def reference_embeddings(ids, types, positions, tables):
    """float64 Hugging Face BertEmbeddings: LayerNorm(word + token_type + position)."""
    word, position, token_type, gamma, beta = tables
    summed = word.double()[ids.long()] + token_type.double()[types.long()] \
        + position.double()[positions.long()]
    return F.layer_norm(summed, (word.shape[1],), gamma.double(), beta.double(), EPSILON)


def random_ids(shape, g):
    ids = torch.randint(0, VOCAB, shape, generator=g, device=DEVICE, dtype=torch.int32)
    types = torch.randint(0, TYPE_VOCAB, shape, generator=g, device=DEVICE, dtype=torch.int32)
    return ids, types


EMB_HIDDEN_SIZES = (768, 1024, 384, 200, 8, 100, 770)


@pytest.mark.parametrize("hidden", EMB_HIDDEN_SIZES)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_emb_layer_norm_padded(dtype, hidden):
    for batch, seq_len in ((3, 37), (1, 1), (0, 5), (2, MAX_POS)):
        g = generator("emb_padded", dtype_name(dtype), hidden, batch, seq_len)
        tables = embedding_tables(hidden, g)
        ids, types = random_ids((batch, seq_len), g)
        positions = torch.arange(seq_len, device=DEVICE).expand(batch, seq_len)
        expected = reference_embeddings(ids, types, positions, tables)
        for version in ALL_VERSIONS:
            out = poisoned((batch, seq_len, hidden), dtype)
            if run_norm_version(version, hidden, dtype, lambda: emb_layer_norm(
                    ids, types, *tables, EPSILON, dtype=dtype, version=version, out=out)):
                assert_matches(out, expected, dtype,
                               f"EmbLayerNorm padded v{version} {batch}x{seq_len}x{hidden}")


def check_emb_layer_norm_packed(dtype, hidden, lengths, g, label):
    """Every version on sequences of `lengths` packed back to back (cu_seqlens)."""
    cu_seqlens = torch.zeros(len(lengths) + 1, dtype=torch.int32, device=DEVICE)
    cu_seqlens[1:] = torch.cumsum(lengths, 0)
    tokens = int(cu_seqlens[-1])
    tables = embedding_tables(hidden, g)
    ids, types = random_ids((tokens,), g)
    positions = torch.cat([torch.arange(int(n), device=DEVICE) for n in lengths])
    expected = reference_embeddings(ids, types, positions, tables)
    for version in ALL_VERSIONS:
        out = poisoned((tokens, hidden), dtype)
        if run_norm_version(version, hidden, dtype, lambda: emb_layer_norm(
                ids, types, *tables, EPSILON, cu_seqlens=cu_seqlens, dtype=dtype,
                version=version, out=out)):
            assert_matches(out, expected, dtype, f"EmbLayerNorm packed v{version} {label}")


@pytest.mark.parametrize("hidden", EMB_HIDDEN_SIZES)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_emb_layer_norm_packed(dtype, hidden):
    g = generator("emb_packed", dtype_name(dtype), hidden)
    # Ragged, not multiples of 8, one empty sequence, one of the maximal length.
    lengths = torch.tensor([5, 13, 1, 0, 37, MAX_POS, 9], dtype=torch.int32, device=DEVICE)
    check_emb_layer_norm_packed(dtype, hidden, lengths, g, f"h{hidden}")


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_emb_layer_norm_packed_many_sequences(dtype):
    """Many sequences of random lengths (0 and the maximum included): thousands of blocks, with
    padding slots (nothing to write) scattered through all of them."""
    g = generator("emb_packed_many", dtype_name(dtype))
    lengths = torch.randint(0, MAX_POS + 1, (301,), generator=g, device=DEVICE, dtype=torch.int32)
    lengths[0], lengths[1] = 0, MAX_POS
    check_emb_layer_norm_packed(dtype, 768, lengths, g, "301 sequences")


@pytest.mark.parametrize("version", ALL_VERSIONS, ids=lambda v: f"v{v}")
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_emb_layer_norm_out_of_range_ids_give_nan_rows(dtype, version):
    # 10,240 rows: more than v20's grid of resident blocks, so its blocks loop and take their later rows
    # through the look-ahead (EmbeddingRows::ahead), bad ids among them.
    hidden, batch, max_pos = 768, 512, 16
    seq_len = max_pos + 4  # positions 16..19 are outside the position table
    g = generator("emb_nan", dtype_name(dtype), version)
    tables = embedding_tables(hidden, g, max_pos=max_pos)
    ids, types = random_ids((batch, seq_len), g)
    ids[0, 3], ids[1, 0], types[2, 5] = VOCAB, -1, TYPE_VOCAB
    ids[300, 7], types[511, 15] = VOCAB + 5, -2
    bad = torch.zeros(batch, seq_len, dtype=torch.bool, device=DEVICE)
    bad[0, 3] = bad[1, 0] = bad[2, 5] = bad[300, 7] = bad[511, 15] = True
    bad[:, max_pos:] = True
    sentinel = 7.0  # not NaN, so a NaN row proves the kernel wrote it
    out = poisoned((batch, seq_len, hidden), dtype, value=sentinel)
    if not run_norm_version(version, hidden, dtype, lambda: emb_layer_norm(
            ids, types, *tables, EPSILON, dtype=dtype, version=version, out=out)):
        return  # the version refuses this row (and was checked to)
    assert out[bad].isnan().all(), f"rows with an id out of range must be NaN (seed {SEED})"
    safe_ids, safe_types = ids.clamp(0, VOCAB - 1), types.clamp(0, TYPE_VOCAB - 1)
    positions = torch.arange(seq_len, device=DEVICE).clamp(max=max_pos - 1).expand(batch, seq_len)
    expected = reference_embeddings(safe_ids, safe_types, positions, tables)
    assert_matches(out[~bad], expected[~bad], dtype, f"EmbLayerNorm v{version} good rows")


def test_emb_layer_norm_refuses_empty_tables():
    """An id out of range reads row 0 of each table (the rows have no branch, run 27), so every table needs a
    row: ops says so in one line, and the C launcher itself refuses (cudaErrorInvalidValue) before launching."""
    hidden = 768
    g = generator("emb_empty")
    word, position, token_type, gamma, beta = embedding_tables(hidden, g)
    ids, types = random_ids((2, 8), g)
    empty = torch.empty(0, hidden, device=DEVICE)
    for tables in ((empty, position, token_type), (word, empty, token_type), (word, position, empty)):
        with pytest.raises(ValueError, match=r"rows >= 1"):
            emb_layer_norm(ids, types, *tables, gamma, beta, EPSILON)
    out = torch.empty(2, 8, hidden, device=DEVICE)
    for vocab, max_pos, type_vocab in ((0, MAX_POS, TYPE_VOCAB), (VOCAB, 0, TYPE_VOCAB), (VOCAB, MAX_POS, 0)):
        args = (kernels.ptr(ids), kernels.ptr(types), None, 2, 8, kernels.ptr(word), kernels.ptr(position),
                kernels.ptr(token_type), kernels.ptr(gamma), kernels.ptr(beta), kernels.ptr(out), hidden, vocab,
                max_pos, type_vocab, EPSILON, kernels.dtype_code(out))
        for version in (None, 20):
            with pytest.raises(RuntimeError, match=r"\(cudaError 1\)"):  # cudaErrorInvalidValue
                kernels.launch("bertEmbLayerNorm", EMB_ARGTYPES, args, DEVICE, version)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_emb_layer_norm_many_tokens(dtype):
    hidden, batch, seq_len = 768, 512, 128  # 65536 tokens
    g = generator("emb_many", dtype_name(dtype))
    word, _, token_type, gamma, beta = embedding_tables(hidden, g)
    tables = (word, randn((512, hidden), g, scale=0.5), token_type, gamma, beta)
    ids, types = random_ids((batch, seq_len), g)
    positions = torch.arange(seq_len, device=DEVICE).expand(batch, seq_len)
    expected = reference_embeddings(ids, types, positions, tables)
    for version in ALL_VERSIONS:
        out = poisoned((batch, seq_len, hidden), dtype)
        if run_norm_version(version, hidden, dtype, lambda: emb_layer_norm(
                ids, types, *tables, EPSILON, dtype=dtype, version=version, out=out)):
            assert_matches(out, expected, dtype, f"EmbLayerNorm v{version} {batch}x{seq_len}")


@pytest.mark.parametrize("batch,seq_len", ((5, 37), (64, 512), (1, 1), (3, 0), (0, 8)))
def test_mask_to_seq_lens(batch, seq_len):
    g = generator("mask", batch, seq_len)
    lengths = torch.randint(0, seq_len + 1, (batch,), generator=g, device=DEVICE, dtype=torch.int32)
    if batch >= 2 and seq_len > 0:
        lengths[0], lengths[1] = 0, seq_len  # an empty and a full sequence
    mask = (torch.arange(seq_len, device=DEVICE)[None, :] < lengths[:, None]).to(torch.int32)
    assert torch.equal(mask_to_seq_lens(mask), lengths)


# --------------------------------------------------------------------------------------------
# Bias + GELU

GELU_WIDTHS = (3072, 4096, 768, 1024, 8, 24, 200, 1000, 100, 770)


def reference_bias_gelu(x, bias):
    total = x.double() if bias is None else x.double() + bias.double()
    return F.gelu(total, approximate="none")


@pytest.mark.parametrize("with_bias", (True, False), ids=("bias", "no_bias"))
@pytest.mark.parametrize("n", GELU_WIDTHS)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_bias_gelu(dtype, n, with_bias):
    for rows in ROW_COUNTS:
        g = generator("bias_gelu", dtype_name(dtype), n, rows, with_bias)
        x = randn((rows, n), g, scale=3.0).to(dtype)
        bias = randn(n, g) if with_bias else None
        expected = reference_bias_gelu(x, bias)
        for version in ALL_GELU_VERSIONS:
            out = poisoned(x.shape, dtype)
            if run_version(version, n, dtype, lambda: bias_gelu(x, bias, version=version, out=out), rows=rows):
                assert_matches(out, expected, dtype, f"BiasGelu v{version} {rows}x{n} bias={with_bias}")


@pytest.mark.parametrize("version", ALL_GELU_VERSIONS, ids=lambda v: f"v{v}")
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_bias_gelu_rows_beyond_one_grid_and_in_place(dtype, version):
    # Rows against gridDim.y's 65535 and the rows a thread keeps in flight. 70001 rows of narrow
    # width: a block holds many rows, so v6-v8 fit (v9 refuses rows of part blocks) and the loop
    # versions take a few row steps. Width 512: v6-v8 fit exactly at 65535 rows (fp32, one row a
    # block) and 131070 (fp16, two), v9 fp32 at 65535, and they refuse one row more, where v2-v5
    # loop; 70001 x 512 fp32 is where the default runs v2.
    for rows, n in ((70001, 8), (70001, 24), (4097, 3072), (65535, 512), (65536, 512), (131070, 512),
                    (131071, 512), (70001, 512)):
        g = generator("bias_gelu_many", dtype_name(dtype), version, rows, n)
        x = randn((rows, n), g, scale=3.0).to(dtype)
        bias = randn(n, g)
        expected = reference_bias_gelu(x, bias)
        in_place = x.clone()
        if run_version(version, n, dtype, lambda: bias_gelu(in_place, bias, version=version,
                                                            out=in_place), rows=rows):
            assert_matches(in_place, expected, dtype, f"BiasGelu in place v{version} {rows}x{n}")


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_bias_gelu_many_tokens(dtype):
    rows, n = 65536, 3072
    g = generator("bias_gelu_large", dtype_name(dtype))
    x = randn((rows, n), g, scale=3.0).to(dtype)
    bias = randn(n, g)
    expected = reference_bias_gelu(x, bias)
    for version in ALL_GELU_VERSIONS:
        out = poisoned(x.shape, dtype)
        if run_version(version, n, dtype, lambda: bias_gelu(x, bias, version=version, out=out), rows=rows):
            assert_matches(out, expected, dtype, f"BiasGelu v{version} {rows}x{n}")
    del expected


def fp16_order(h):
    """fp16 values as integers in the order of the values, one apart for neighbouring floats
    (+0 and -0 both 0): the bit patterns are sign-magnitude."""
    bits = h.view(torch.int16).int()
    return torch.where(bits >= 0, bits, -32768 - bits)


def fp16_ulps_off(out, x):
    """How many fp16 values lie between out and GELU(x) correctly rounded to fp16 (float64 GELU),
    plus one: 0 when out is the correctly rounded value."""
    rounded = F.gelu(x.double(), approximate="none").half()
    return (fp16_order(out) - fp16_order(rounded)).abs()


EVERY_FP16_WIDTH = 1024  # rows of whole 128-vector blocks, so v9 takes them too


def every_finite_fp16():
    """Every finite fp16 value once, as [-1, EVERY_FP16_WIDTH] (zero-padded to whole rows: 63,488
    values are exactly 62 rows of 1024)."""
    x = torch.arange(-32768, 32768, dtype=torch.int32, device=DEVICE).to(torch.int16).view(torch.float16)
    x = x[x.isfinite()]
    return torch.cat([x, x.new_zeros(-x.numel() % EVERY_FP16_WIDTH)]).view(-1, EVERY_FP16_WIDTH)


@pytest.mark.parametrize("version", ALL_GELU_VERSIONS, ids=lambda v: f"v{v}")
def test_bias_gelu_fp16_every_input_within_one_ulp(version):
    """Every finite fp16 input (bias 0): the output within one fp16 ulp of the correctly rounded
    float64 GELU. Everywhere for ShortGelu (v4, v5, v7, v8, v9 in fp16, the fp16 default); for erff's form (v1-v3, v6) from
    x = -3 up: below it 1 + erf(x / sqrt 2) cancels (erff's absolute error, ~6e-8, is 10% of it at
    x = -5), which leaves those tiny outputs a few ulps off (bias_gelu_kernel.cu)."""
    x = every_finite_fp16()
    out = poisoned(x.shape, torch.float16)
    if not run_version(version, EVERY_FP16_WIDTH, torch.float16,
                       lambda: bias_gelu(x, None, version=version, out=out), rows=x.shape[0]):
        pytest.fail(f"v{version} refused every fp16 value as [{x.shape[0]}, {EVERY_FP16_WIDTH}]")
    assert not out.isnan().any(), f"v{version}: NaN for a finite input"
    off = fp16_ulps_off(out, x)
    short_gelu = (None, *GELU_FP16_ONLY, GELU_EXACT_GRID)  # v9 computes fp16 with v7's ShortGelu
    checked = torch.ones_like(off, dtype=torch.bool) if version in short_gelu else x >= -3
    worst = int(torch.where(checked, off, 0).flatten().argmax())
    assert off[checked].max() <= 1.0, (f"v{version}: gelu({x.flatten()[worst].item()}) = "
                                       f"{out.flatten()[worst].item()}, {off.flatten()[worst].item():.2f} ulp off")


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_bias_gelu_version_takes_says_what_the_launcher_takes(dtype):
    """bertBiasGeluVersionTakes is the rule behind the tactics the BiasGelu plugin offers TensorRT's
    builder (version 1 only where no other takes the row): a version it names must launch at the width
    (v6-v9 up to one grid of rows, past which the plugin's pinned tactic gives way to the default), one
    it leaves out must refuse. And bertLastLaunchedVersion names the version that launched (0 after a
    refusal), for the default one that the width takes: widths 1-64 and some wider, rows on both sides
    of the default's switches (v9 where it takes the shape, one grid of v6-v9 at n = 512); and at the
    shapes of DEFAULT_PICKS the default's pick itself."""
    shapes = [(3, n) for n in (*range(1, 65), 100, 512, 770, 1000, 3072, 3076)] + [(16384, 3072), (70001, 512)]
    mismatches = []
    checked_picks = 0
    for rows, n in shapes:
        x = randn((rows, n), generator("gelu takes", dtype_name(dtype), rows, n)).to(dtype)
        for version in GELU_VERSIONS:
            takes = gelu_version_takes(version, n, dtype)
            last_version()  # forget the last launch
            try:
                bias_gelu(x, None, version=version)
                ran = True
            except RuntimeError as error:
                assert "not supported" in str(error), error
                ran = False
            beyond_grid = (version in GELU_ONE_PASS and gelu_one_pass_refuses(rows, n, dtype)) or \
                (version == GELU_EXACT_GRID and gelu_exact_grid_refuses(rows, n, dtype))
            if ran != (takes and not beyond_grid):
                mismatches.append(f"v{version} {rows}x{n}: takes says {takes}, the launcher ran: {ran}")
            if last_version() != (version if ran else 0):
                mismatches.append(f"v{version} {rows}x{n}: bertLastLaunchedVersion disagrees")
        bias_gelu(x, None)
        default = last_version()
        if default == 0 or not gelu_version_takes(default, n, dtype):
            mismatches.append(f"default at {rows}x{n} ran v{default}")
        picked = DEFAULT_PICKS.get((dtype_name(dtype), rows, n))
        checked_picks += picked is not None
        if picked is not None and default != picked:
            mismatches.append(f"default at {rows}x{n} ran v{default}, not v{picked}")
    assert checked_picks == 3, "DEFAULT_PICKS names three shapes of each dtype"
    assert not mismatches, "\n".join(mismatches[:20])


# The default's pick (bias_gelu_kernel.cu, bias_gelu): v9 wherever it takes the shape, also above v3's
# threshold (16,384 x 3072 fp32 ran v3 before run 19); in fp16 at 512 values (not whole 1024-value
# blocks) v7. (Where v9 refuses in fp32 the pick depends on the SM count: v3's threshold.)
DEFAULT_PICKS = {("float32", 3, 3072): 9, ("float16", 3, 3072): 9, ("float32", 16384, 3072): 9,
                 ("float16", 16384, 3072): 9, ("float32", 3, 512): 9, ("float16", 3, 512): 7}


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_bias_gelu_exact_grid_refuses_more_than_int32_elements(dtype):
    """v9 indexes with 32-bit offsets, so it must refuse rows x n >= 2^31 before launching anything: at
    65,535 rows (its most) of 33,792 values it is asked to run over tiny buffers, which it would overrun
    if it launched. The rule it refuses by is the host's, so the buffers' size does not matter."""
    rows, n = 65535, 33792  # 33,792: whole 1024-value blocks in both types; 65,535 x 33,792 > 2^31
    assert gelu_version_takes(GELU_EXACT_GRID, n, dtype) and gelu_exact_grid_refuses(rows, n, dtype)
    tiny = torch.zeros(16, dtype=dtype, device=DEVICE)
    args = (kernels.ptr(tiny), None, kernels.ptr(tiny), rows, n, kernels.dtype_code(tiny))
    with pytest.raises(RuntimeError, match="not supported"):
        kernels.launch("bertBiasGelu", GELU_ARGTYPES, args, tiny.device, GELU_EXACT_GRID)
    torch.cuda.synchronize()


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_bias_gelu_misaligned_input_takes_the_scalar_path(dtype):
    rows, n = 5, 3072
    g = generator("bias_gelu_misaligned", dtype_name(dtype))
    x = randn(rows * n + 1, g, scale=3.0).to(dtype)[1:].view(rows, n)
    bias = randn(n, g)
    out = poisoned(x.shape, dtype)
    bias_gelu(x, bias, out=out)
    assert_matches(out, reference_bias_gelu(x, bias), dtype, "BiasGelu misaligned")
    for version in [v for v in GELU_VERSIONS if v != 1 and (dtype == torch.float16 or v not in GELU_FP16_ONLY)]:
        with pytest.raises(RuntimeError, match="not supported"):
            bias_gelu(x, bias, version=version, out=out)
