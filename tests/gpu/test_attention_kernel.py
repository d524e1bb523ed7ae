"""GPU tests of the QkvToContext kernels (plugins/attention) against float64 attention.

Every numbered kernel version runs padded batches (right padding; every query row, padded ones
included, must match attention with a key mask), packed ragged batches and edge cases. Outputs
are poisoned with NaN before each launch, so a row the kernel forgets to write fails.
Needs a CUDA GPU and the built library (cmake -S plugins -B plugins/build && cmake --build
plugins/build, or BERT_PLUGINS_BUILD_DIR=<folder holding libbert_kernels.so>); skips otherwise.
"""
from __future__ import annotations

import math
import zlib

import pytest

from gpu_support import require_kernel_library  # noqa: E402

torch = require_kernel_library()

from plugins.attention.ops import VERSIONS, qkv_to_context, version_supported  # noqa: E402
from plugins.kernels import last_version  # noqa: E402

DEVICE = torch.device("cuda")
# (atol, rtol) against float64 math on the same (rounded) inputs. fp32 kernels accumulate in fp32;
# fp16 ones also round P and the output to fp16.
TOLERANCE = {torch.float32: (1e-5, 1e-5), torch.float16: (1e-2, 1e-2)}
BERT_BASE = (12, 64)  # heads x head_size, hidden 768
# (version, dtype) pairs; version 0 is the launcher's default choice.
CASES = [(v, dt) for v in (0, *VERSIONS) for dt in (torch.float32, torch.float16)]


def case_id(case):
    version, dtype = case
    return f"v{version}-{str(dtype).removeprefix('torch.')}"


def supported(version, head_size, dtype):
    return version == 0 or version_supported(version, head_size, dtype)


def generator(*key):
    """A fresh, reproducible random stream per test case."""
    g = torch.Generator(device=DEVICE)
    g.manual_seed(zlib.crc32(repr(key).encode()))
    return g


def reference(qkv, lengths, num_heads, head_size, scale):
    """float64 attention of one padded batch: qkv [batch, seq, 3 * hidden], keys >= lengths[b]
    masked, every query row computed. A sequence without keys gets zeros (the kernels' rule)."""
    batch, seq, _ = qkv.shape
    q, k, v = qkv.double().view(batch, seq, 3, num_heads, head_size).permute(2, 0, 3, 1, 4)
    scores = q @ k.transpose(-1, -2) * scale
    key_valid = torch.arange(seq, device=qkv.device)[None, :] < lengths[:, None]
    scores = scores.masked_fill(~key_valid[:, None, None, :], -math.inf)
    probs = torch.softmax(scores, dim=-1).nan_to_num(0.0)  # all keys masked: 0/0 -> 0
    return (probs @ v).transpose(1, 2).reshape(batch, seq, num_heads * head_size)


def assert_matches(actual, expected, dtype, looser=1.0):
    atol, rtol = (looser * t for t in TOLERANCE[dtype])
    assert not actual.isnan().any(), "output rows left unwritten (NaN poison) or NaN computed"
    torch.testing.assert_close(actual.double(), expected, atol=atol, rtol=rtol)


def run(qkv, version, num_heads, head_size, seq_lens=None, cu_seqlens=None, max_seqlen=None):
    """The kernel with its output poisoned first."""
    shape = (*qkv.shape[:-1], num_heads * head_size)
    out = torch.full(shape, math.nan, dtype=qkv.dtype, device=DEVICE)
    return qkv_to_context(qkv, seq_lens, cu_seqlens, num_heads=num_heads, head_size=head_size,
                          scale=1.0 / math.sqrt(head_size), version=version,
                          max_seqlen=max_seqlen, out=out)


def padded_batch(batch, seq, num_heads, head_size, dtype, g):
    """Random qkv with right padding: lengths mix full, 1 and odd lengths. Padded tokens' keys
    and values are large finite garbage, so a padded key that leaks into a softmax shows; their
    queries stay ordinary (padded query rows are compared too)."""
    lengths = torch.randint(1, seq + 1, (batch,), device=DEVICE, generator=g, dtype=torch.int32)
    lengths[0] = seq
    if batch > 1:
        lengths[1] = 1
    if batch > 2:
        lengths[2] = max(1, seq - 7)
    hidden = num_heads * head_size
    qkv = torch.randn(batch, seq, 3 * hidden, device=DEVICE, generator=g)
    padding = torch.arange(seq, device=DEVICE)[None, :] >= lengths[:, None]
    garbage = 10.0 + 4.0 * torch.randn(batch, seq, 2 * hidden, device=DEVICE, generator=g)
    qkv[..., hidden:] = torch.where(padding[..., None], garbage, qkv[..., hidden:])
    return qkv.to(dtype), lengths


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("batch", [1, 8, 32])
@pytest.mark.parametrize("seq", [64, 128, 384, 512])
def test_padded_bert_base(case, batch, seq):
    version, dtype = case
    num_heads, head_size = BERT_BASE
    if not supported(version, head_size, dtype):
        pytest.skip(f"version {version} does not run {dtype}")
    qkv, lengths = padded_batch(batch, seq, num_heads, head_size, dtype,
                                generator(version, str(dtype), batch, seq))
    out = run(qkv, version, num_heads, head_size, seq_lens=lengths)
    assert_matches(out, reference(qkv, lengths, num_heads, head_size, 1 / math.sqrt(head_size)),
                   dtype)


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("heads_x_size", [(2, 32), (2, 64), (4, 128), (3, 48)], ids=str)
@pytest.mark.parametrize("seq", [1, 5, 77, 200])
def test_padded_small_configs(case, heads_x_size, seq):
    """Other head sizes (48 is compiled only in v1: the default must fall back to it) and
    sequence lengths that are not multiples of 8 or 16 (with head size 64 for v5/v6)."""
    version, dtype = case
    num_heads, head_size = heads_x_size
    if not supported(version, head_size, dtype):
        pytest.skip(f"version {version} does not run head_size {head_size} {dtype}")
    qkv, lengths = padded_batch(3, seq, num_heads, head_size, dtype,
                                generator(version, str(dtype), heads_x_size, seq))
    out = run(qkv, version, num_heads, head_size, seq_lens=lengths)
    assert_matches(out, reference(qkv, lengths, num_heads, head_size, 1 / math.sqrt(head_size)),
                   dtype)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_padded_sharp_softmax_and_no_seq_lens(case):
    """Large scores (std ~4) make the running max change from key tile to key tile, which the
    online softmax must correct for; seq_lens None means every key is valid. Scores 4x larger
    carry 4x the fp32 rounding, hence the 4x tolerance."""
    version, dtype = case
    num_heads, head_size = BERT_BASE
    if not supported(version, head_size, dtype):
        pytest.skip(f"version {version} does not run {dtype}")
    batch, seq, hidden = 4, 448, num_heads * head_size
    qkv = torch.randn(batch, seq, 3 * hidden, device=DEVICE, generator=generator(version, str(dtype)))
    qkv[..., :hidden] *= 4.0
    qkv = qkv.to(dtype)
    full = torch.full((batch,), seq, dtype=torch.int32, device=DEVICE)
    out = run(qkv, version, num_heads, head_size, seq_lens=None)
    assert_matches(out, reference(qkv, full, num_heads, head_size, 1 / math.sqrt(head_size)),
                   dtype, looser=4.0)


PACKED_LENGTHS = {
    "mixed": [1, 7, 63, 130, 384, 511, 512],
    "one": [300],
    "with_empty": [5, 0, 77, 0],
}


def packed_lengths(name, g):
    if name.startswith("random"):
        batch = int(name.removeprefix("random"))
        return torch.randint(1, 513, (batch,), generator=g, device=DEVICE).tolist()
    return PACKED_LENGTHS[name]


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("lengths_name", ["mixed", "one", "with_empty", "random8", "random32"])
@pytest.mark.parametrize("heads_x_size", [BERT_BASE, (4, 128)], ids=str)
def test_packed_ragged(case, lengths_name, heads_x_size):
    version, dtype = case
    num_heads, head_size = heads_x_size
    if not supported(version, head_size, dtype):
        pytest.skip(f"version {version} does not run head_size {head_size} {dtype}")
    g = generator(version, str(dtype), lengths_name, heads_x_size)
    lengths = packed_lengths(lengths_name, g)
    hidden = num_heads * head_size
    qkv = torch.randn(sum(lengths), 3 * hidden, device=DEVICE, generator=g).to(dtype)
    cu = torch.tensor([0, *torch.tensor(lengths).cumsum(0).tolist()], dtype=torch.int32,
                      device=DEVICE)
    out = run(qkv, version, num_heads, head_size, cu_seqlens=cu)
    scale = 1 / math.sqrt(head_size)
    for b, length in enumerate(lengths):
        rows = slice(cu[b].item(), cu[b + 1].item())
        full = torch.tensor([length], dtype=torch.int32, device=DEVICE)
        expected = reference(qkv[rows][None], full, num_heads, head_size, scale)[0]
        assert_matches(out[rows], expected, dtype)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_empty_inputs_and_keyless_sequences(case):
    version, dtype = case
    num_heads, head_size = BERT_BASE
    if not supported(version, head_size, dtype):
        pytest.skip(f"version {version} does not run {dtype}")
    hidden = num_heads * head_size
    # Empty batch and zero seq_len, padded and packed: no launch, no error.
    for shape in [(0, 64, 3 * hidden), (2, 0, 3 * hidden)]:
        run(torch.empty(shape, dtype=dtype, device=DEVICE), version, num_heads, head_size)
    no_sequences = torch.zeros(1, dtype=torch.int32, device=DEVICE)
    run(torch.empty(0, 3 * hidden, dtype=dtype, device=DEVICE), version, num_heads, head_size,
        cu_seqlens=no_sequences)
    # A padded sequence with no valid key gets a zero context; its neighbour is unaffected.
    qkv = torch.randn(2, 70, 3 * hidden, device=DEVICE, generator=generator(version, str(dtype)))
    qkv = qkv.to(dtype)
    lengths = torch.tensor([0, 70], dtype=torch.int32, device=DEVICE)
    out = run(qkv, version, num_heads, head_size, seq_lens=lengths)
    assert torch.equal(out[0], torch.zeros_like(out[0]))
    assert_matches(out, reference(qkv, lengths, num_heads, head_size, 1 / math.sqrt(head_size)),
                   dtype)


def test_default_picks_a_tensor_core_version_for_fp16():
    """The kernels are deterministic, so the default's output is bitwise that of the tensor-core
    version it picked (and not v1's, which rounds differently): v5 where the GPU and the build
    run wgmma (Hopper), else one of the mma.sync versions."""
    num_heads, head_size = BERT_BASE
    for batch, seq in [(1, 64), (32, 384)]:
        qkv, lengths = padded_batch(batch, seq, num_heads, head_size, torch.float16,
                                    generator("default", batch, seq))
        default = run(qkv, None, num_heads, head_size, seq_lens=lengths)
        tensor_core = [5] if version_supported(5, head_size, torch.float16) else [2, 3, 4]
        assert any(torch.equal(default, run(qkv, version, num_heads, head_size, seq_lens=lengths))
                   for version in tensor_core)
        assert not torch.equal(default, run(qkv, 1, num_heads, head_size, seq_lens=lengths))


def test_default_picks_v8_for_fp32():
    """fp32 has no tensor-core version: the default is v8 (CUDA cores) wherever its shared memory
    fits (head sizes 64 and 128), bitwise, and v1 for other head sizes."""
    for (num_heads, head_size), seq in [(BERT_BASE, 200), ((4, 128), 77), ((3, 48), 77)]:
        qkv, lengths = padded_batch(4, seq, num_heads, head_size, torch.float32,
                                    generator("default fp32", head_size, seq))
        default = run(qkv, None, num_heads, head_size, seq_lens=lengths)
        if version_supported(8, head_size, torch.float32):
            assert torch.equal(default, run(qkv, 8, num_heads, head_size, seq_lens=lengths))
            assert not torch.equal(default, run(qkv, 1, num_heads, head_size, seq_lens=lengths))
        else:
            assert head_size not in (64, 128), "v8 should run BERT's head sizes on any GPU here"
            assert torch.equal(default, run(qkv, 1, num_heads, head_size, seq_lens=lengths))


def test_unaligned_fp32_buffers_fall_back_to_v1():
    """v7 and v8 read float4s: a buffer 4 bytes off 16-byte alignment makes them refuse, the
    default then runs v1 and stays correct."""
    num_heads, head_size = BERT_BASE
    hidden = num_heads * head_size
    qkv, lengths = padded_batch(2, 100, num_heads, head_size, torch.float32,
                                generator("unaligned fp32"))
    storage = torch.empty(qkv.numel() + 1, dtype=torch.float32, device=DEVICE)
    shifted = storage[1:].view(2, 100, 3 * hidden)
    shifted.copy_(qkv)
    out = run(shifted, None, num_heads, head_size, seq_lens=lengths)
    assert_matches(out, reference(qkv, lengths, num_heads, head_size, 1 / math.sqrt(head_size)),
                   torch.float32)
    for version in (7, 8):
        with pytest.raises(RuntimeError, match=f"version {version}"):
            run(shifted, version, num_heads, head_size, seq_lens=lengths)


def test_unaligned_buffers_fall_back_to_v1():
    """Tensor-core versions need 16-byte aligned buffers: they refuse others, the default uses v1."""
    num_heads, head_size = BERT_BASE
    hidden = num_heads * head_size
    qkv, lengths = padded_batch(2, 100, num_heads, head_size, torch.float16,
                                generator("unaligned"))
    storage = torch.empty(qkv.numel() + 1, dtype=torch.float16, device=DEVICE)
    shifted = storage[1:].view(2, 100, 3 * hidden)  # 2 bytes past an aligned address
    shifted.copy_(qkv)
    out = run(shifted, None, num_heads, head_size, seq_lens=lengths)
    assert_matches(out, reference(qkv, lengths, num_heads, head_size, 1 / math.sqrt(head_size)),
                   torch.float16)
    with pytest.raises(RuntimeError, match="version 2"):
        run(shifted, 2, num_heads, head_size, seq_lens=lengths)


@pytest.mark.parametrize("head_size", (32, 48, 64, 128))
@pytest.mark.parametrize("dtype", (torch.float32, torch.float16), ids=("float32", "float16"))
def test_version_supported_says_what_the_launcher_runs(dtype, head_size):
    """bertQkvToContextVersionSupported is the rule behind the tactics the attention plugin offers
    TensorRT's builder on this GPU (version 1 only where no other runs): a version it names must run (aligned buffers, positive scale),
    one it leaves out must refuse as not supported. bertLastLaunchedVersion names the version that
    ran (0 after a refusal), and for the default the launcher's documented pick: v5 where it runs
    (fp16, head size 64, Hopper), else v2 for fp16 and v8 for fp32 where they run, else v1."""
    num_heads = 2
    qkv, lengths = padded_batch(2, 40, num_heads, head_size, dtype, generator("supported", head_size, dtype))
    for version in VERSIONS:
        last_version()
        if version_supported(version, head_size, dtype):
            run(qkv, version, num_heads, head_size, seq_lens=lengths)
            assert last_version() == version, f"v{version} ran, the record says otherwise"
        else:
            with pytest.raises(RuntimeError, match="not supported"):
                run(qkv, version, num_heads, head_size, seq_lens=lengths)
            assert last_version() == 0, f"v{version} refused, yet a launch is recorded"
    run(qkv, None, num_heads, head_size, seq_lens=lengths)
    preferred = (5, 2) if dtype == torch.float16 else (8,)
    expected = next((v for v in preferred if version_supported(v, head_size, dtype)), 1)
    assert last_version() == expected


def test_unsupported_version_raises():
    qkv = torch.zeros(1, 8, 3 * 768, dtype=torch.float32, device=DEVICE)
    for version in (2, 3, 4, 5, 6, 99):
        with pytest.raises(RuntimeError):
            run(qkv, version, 12, 64)
    for version in (7, 8):  # fp32 only
        with pytest.raises(RuntimeError):
            run(qkv.half(), version, 12, 64)


def test_non_positive_scale_skips_the_wgmma_versions():
    """v5/v6 fold the scale into a max taken before scaling, which needs scale > 0: they refuse
    others, and the default then runs v2 (bitwise equal to it), which computes any scale."""
    num_heads, head_size = BERT_BASE
    qkv, lengths = padded_batch(2, 130, num_heads, head_size, torch.float16,
                                generator("negative scale"))
    for scale in (-0.125, 0.0):
        out = torch.full((*qkv.shape[:-1], num_heads * head_size), math.nan, dtype=qkv.dtype,
                         device=DEVICE)
        qkv_to_context(qkv, lengths, num_heads=num_heads, head_size=head_size, scale=scale,
                       out=out)
        assert_matches(out, reference(qkv, lengths, num_heads, head_size, scale), torch.float16)
        v2 = qkv_to_context(qkv, lengths, num_heads=num_heads, head_size=head_size, scale=scale,
                            version=2)
        assert torch.equal(out, v2)
        if version_supported(5, head_size, torch.float16):
            with pytest.raises(RuntimeError, match="version 5"):
                qkv_to_context(qkv, lengths, num_heads=num_heads, head_size=head_size,
                               scale=scale, version=5)


def test_fp32_versions_take_any_scale():
    """v7/v8 fold the scale into Q, so scale <= 0 is theirs too: the fp32 default stays v8."""
    num_heads, head_size = BERT_BASE
    qkv, lengths = padded_batch(2, 130, num_heads, head_size, torch.float32,
                                generator("negative scale fp32"))
    for scale in (-0.125, 0.0):
        default = qkv_to_context(qkv, lengths, num_heads=num_heads, head_size=head_size,
                                 scale=scale)
        assert_matches(default, reference(qkv, lengths, num_heads, head_size, scale), torch.float32)
        for version in (7, 8):
            if version_supported(version, head_size, torch.float32):
                out = qkv_to_context(qkv, lengths, num_heads=num_heads, head_size=head_size,
                                     scale=scale, version=version)
                assert_matches(out, reference(qkv, lengths, num_heads, head_size, scale),
                               torch.float32)
                if version == 8:
                    assert torch.equal(default, out)
