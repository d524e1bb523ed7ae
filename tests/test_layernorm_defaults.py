"""Host-side rules of the LayerNorm family's shared core (common/layernorm_rows.cuh), checked without
a GPU by small host programs compiled with nvcc.

The default launcher must pick a version that takes the row. Version 0
looks up the measured choice for the element size and row count (kDefaults) and must fall back
where that version's split cannot take the row: v7 was once the default at ~16K+ fp32 rows and
refused hidden > 4096, which fp32 rows up to 8192 reach. No GPU needed: the choice is host code
(common/layernorm_rows.cuh), compiled here with nvcc into a small host program."""
import shutil
import subprocess
from pathlib import Path

import pytest

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"

PROGRAM = r"""
#include <cstdio>
#include "common/layernorm_rows.cuh"

// What launch_layernorm_rows itself requires of a version, restated from its plans.
static bool launcher_takes(int version, int vecs_per_row, int elems_per_vec, long long rows, int sms)
{
    using namespace bert;
    if (version == kLayerNormScalar) return true;
    if (version == kLayerNormBlockVector) return plan_block_vector(vecs_per_row).threads_per_row > 0;
    if (version == kLayerNormSized) return plan_sized(vecs_per_row, elems_per_vec).threads_per_row > 0;
    if (version == kLayerNormOneReduction)  // v9's split, in whole warps
        return vecs_per_row % 32 == 0 && plan_block_per_row(vecs_per_row).split.threads_per_row > 0;
    if (version == kLayerNormBlockShape)  // one vector a thread, 1 to 8 whole warps
        return vecs_per_row % 32 == 0 && vecs_per_row / 32 <= 8;
    if (version == kLayerNormWarpPerRow)  // a warp of 1 to 8 vectors a lane, at most 32 floats a lane
        return vecs_per_row % 32 == 0 && vecs_per_row / 32 <= 8 && vecs_per_row / 32 * elems_per_vec <= 32;
    if (version == kLayerNormRowPairsShaped)  // two vectors a thread, 1 to 8 whole warps
        return vecs_per_row % 64 == 0 && vecs_per_row / 64 <= 8;
    if (version == kLayerNormTwoWarpRow)  // two warps of 1 to 8 vectors a thread, at most 32 floats a thread
        return vecs_per_row % 64 == 0 && vecs_per_row / 64 <= 8 && vecs_per_row / 64 * elems_per_vec <= 32;
    if (version == kLayerNormTwoWarpRowPairs)  // v15 with two rows: at most 32 values a thread over both
        return vecs_per_row % 64 == 0 && vecs_per_row / 64 <= 8 && 2 * (vecs_per_row / 64) * elems_per_vec <= 32;
    if (version == kLayerNormTwoWarpFourRows)  // v15's split over four rows: at most 48 values a thread over them
        return vecs_per_row % 64 == 0 && vecs_per_row / 64 <= 8 && 4 * (vecs_per_row / 64) * elems_per_vec <= 48;
    if (version == kLayerNormTritonLayout)  // one vector a thread over 1, 2, 4 or 8 warps, the surplus lanes idle
        return vecs_per_row >= 1 && vecs_per_row <= 8 * 32;
    if (version == kLayerNormFixedLength || version == kLayerNormIdsAhead)  // compiled for BERT-base's and
        return vecs_per_row * elems_per_vec == 768 || vecs_per_row * elems_per_vec == 1024;  // BERT-large's rows only
    if (version == kLayerNormWarpOneReduction) {  // v8's split, in equal shares
        const int threads = plan_loads_first(vecs_per_row, elems_per_vec, rows, sms, false).split.threads_per_row;
        return threads > 0 && vecs_per_row % threads == 0;
    }
    const LoadsFirstPlan plan =
        version == kLayerNormBlockLoadsFirst
            ? plan_block_per_row(vecs_per_row)
            : plan_loads_first(vecs_per_row, elems_per_vec, rows, sms, version == kLayerNormRowPairs,
                               version == kLayerNormSpread ? kSpreadFloatsPerThread : kMaxFloatsPerThread);
    return plan.split.threads_per_row > 0;
}

int main()
{
    using namespace bert;
    int failures = 0, checked = 0;
    for (int chosen = kLayerNormScalar; chosen <= kLayerNormLastVersion; ++chosen) {
        MeasuredDefaults table{};
        for (int i = 0; i < MeasuredDefaults::kPoints; ++i) table.fp32[i] = table.fp16[i] = chosen;
        for (int element_bytes : {4, 2}) {
            const int elems = 16 / element_bytes;
            for (int hidden = elems; hidden <= 16384; hidden += elems) {
                const int vecs = hidden / elems;
                for (long long rows : {1LL, 128LL, 1000LL, 16384LL, 65536LL, 1LL << 22})
                    for (int sms : {16, 132}) {
                        const int v = default_version(table, element_bytes, true, vecs, elems, rows, sms);
                        ++checked;
                        if (!launcher_takes(v, vecs, elems, rows, sms)) {
                            if (++failures <= 10)
                                std::printf("table v%d, %d-byte elements, hidden %d, %lld rows: default v%d refuses\n",
                                            chosen, element_bytes, hidden, rows, v);
                        }
                    }
            }
        }
    }
    std::printf("checked %d, failures %d\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
"""


needs_nvcc = pytest.mark.skipif(shutil.which("nvcc") is None, reason="needs nvcc (the CUDA toolkit)")


def build_and_run(tmp_path, name: str, program: str, min_checked: int = 0) -> str:
    """Compiles a host program against plugins/ with nvcc, runs it, returns its output; it must
    exit 0, report no failures and (min_checked) have checked at least that many cases: proof
    that its sweep really ran."""
    source = tmp_path / f"{name}.cu"
    source.write_text(program)
    binary = tmp_path / name
    build = subprocess.run(["nvcc", "-std=c++17", "-O1", f"-I{PLUGINS}", str(source), "-o", str(binary)],
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-3000:]
    run = subprocess.run([str(binary)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "failures 0" in run.stdout
    checked = int(run.stdout.split("checked ")[1].split(",")[0])
    assert checked >= min_checked, run.stdout
    return run.stdout


@needs_nvcc
def test_default_version_takes_every_vectorizable_row(tmp_path):
    build_and_run(tmp_path, "defaults", PROGRAM)


# The plugins offer TensorRT's builder every version split_fits says takes the hidden size
# (bertLayerNormVersionTakes); the builder times one shape and the engine runs the pick at every
# shape of the profile. That holds only if the launcher's own rules, which also see the row count
# and the SM count, never refuse what split_fits takes, nor take what it refuses.
TACTICS_PROGRAM = PROGRAM[:PROGRAM.index("int main()")] + r"""
int main()
{
    using namespace bert;
    int failures = 0, checked = 0;
    for (int version = kLayerNormScalar + 1; version <= kLayerNormLastVersion; ++version)
        for (int element_bytes : {4, 2}) {
            const int elems = 16 / element_bytes;
            for (int hidden = elems; hidden <= 16384; hidden += elems) {
                const int vecs = hidden / elems;
                const bool fits = split_fits(version, vecs, elems);
                for (long long rows : {1LL, 7LL, 128LL, 1000LL, 16384LL, 65536LL, 1LL << 22})
                    for (int sms : {16, 108, 132}) {
                        ++checked;
                        if (fits != launcher_takes(version, vecs, elems, rows, sms) && ++failures <= 10)
                            std::printf("v%d, %d-byte elements, hidden %d, %lld rows, %d SMs: split_fits %d\n",
                                        version, element_bytes, hidden, rows, sms, int(fits));
                    }
            }
        }
    std::printf("checked %d, failures %d\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
"""


@needs_nvcc
def test_a_version_that_takes_the_width_takes_every_row_count(tmp_path):
    build_and_run(tmp_path, "tactics", TACTICS_PROGRAM, min_checked=1_000_000)



# Run 25 gave LayerNorm fp32's ~16K and ~64K points to v17, which takes rows of 768 and 1024 values only
# (was v14 there). Every other width must keep the default it had: v17 falls back to v14, then v14's chain.
# v20 (EmbLayerNorm's default from ~1K rows since run 27) takes the same rows; EmbLayerNorm's table names what
# other widths run where it chose v20 (its choices from before). Both cases, both versions, both element sizes:
# "before" is a table without v17/v20, "after" the same with the fixed-length version at some points, plus (in the
# second case) "before" as the other widths' table; other widths must get before's choice, 768 and 1024 the
# fixed-length version wherever after names it.
FIXED_LENGTH_PROGRAM = PROGRAM[:PROGRAM.index("int main()")] + r"""
int main()
{
    using namespace bert;
    int failures = 0, checked = 0;
    for (int fixed_version : {int(kLayerNormFixedLength), int(kLayerNormIdsAhead)})
        for (bool other_widths_table : {false, true}) {
            // Without a table for other widths, v14 is what the fixed-length version replaced (run 25's case).
            const MeasuredDefaults before = other_widths_table
                ? MeasuredDefaults{{12, 12, 14, 14, 13}, {12, 12, 3, 3, 3}}
                : MeasuredDefaults{{12, 12, 14, 14, 14}, {12, 12, 14, 14, 14}};
            MeasuredDefaults after = other_widths_table
                ? MeasuredDefaults{{12, fixed_version, fixed_version, fixed_version, fixed_version},
                                   {12, fixed_version, fixed_version, fixed_version, fixed_version}}
                : MeasuredDefaults{{12, 12, 14, fixed_version, fixed_version},
                                   {12, 12, 14, fixed_version, fixed_version}};
            if (other_widths_table)
                for (int i = 0; i < MeasuredDefaults::kPoints; ++i) {
                    after.fp32_other_widths[i] = before.fp32[i];
                    after.fp16_other_widths[i] = before.fp16[i];
                }
            for (int element_bytes : {4, 2}) {
                const int elems = 16 / element_bytes;
                for (int hidden = elems; hidden <= 16384; hidden += elems)
                    for (long long rows : {1LL, 1024LL, 4096LL, 12288LL, 16384LL, 65536LL, 1LL << 22})
                        for (int sms : {16, 132}) {
                            const int vecs = hidden / elems;
                            const int old_choice = default_version(before, element_bytes, true, vecs, elems, rows, sms);
                            const int new_choice = default_version(after, element_bytes, true, vecs, elems, rows, sms);
                            const int point = measured_point(rows, sms, element_bytes);
                            const int at_point = element_bytes == 2 ? after.fp16[point] : after.fp32[point];
                            const bool fixed = hidden == 768 || hidden == 1024;
                            const int expected = fixed && at_point == fixed_version ? fixed_version : old_choice;
                            ++checked;
                            if (new_choice != expected && ++failures <= 10)
                                std::printf("v%d (table %d), %d-byte, hidden %d, %lld rows, %d SMs: v%d before, v%d now\n",
                                            fixed_version, int(other_widths_table), element_bytes, hidden, rows, sms,
                                            old_choice, new_choice);
                        }
            }
        }
    std::printf("checked %d, failures %d\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
"""


@needs_nvcc
def test_fixed_length_default_leaves_other_widths_alone(tmp_path):
    build_and_run(tmp_path, "fixed_length", FIXED_LENGTH_PROGRAM, min_checked=100_000)


MEAN_PROGRAM = r"""
#include <cmath>
#include <cstdint>
#include <cstdio>
#include "common/layernorm_rows.cuh"

// Normalization::mean replaces `sum / hidden` in every kernel by a multiplication and one fma
// correction; it must give the correctly rounded quotient (what IEEE division gives), so that
// outputs do not change and a constant row's x - mean is exactly 0.
int main()
{
    uint32_t state = 12345u;
    const auto next_float = [&] {  // spread over many magnitudes and both signs
        state = state * 1664525u + 1013904223u;
        const float unit = float(state >> 8) / float(1u << 24);
        state = state * 1664525u + 1013904223u;
        return (state & 1u ? -1.0f : 1.0f) * unit * std::ldexp(1.0f, int(state >> 27) - 8);
    };
    long long checked = 0, failures = 0;
    for (int hidden = 1; hidden <= 8192; ++hidden) {
        const bert::Normalization norm = bert::Normalization::of(hidden, 1e-12f);
        for (int i = 0; i < 64; ++i) {
            float sum = next_float() * float(hidden);
            if (i % 2 == 0) {  // a constant row's exact sum: the mean must come back exactly
                const float value = std::nearbyint(next_float() * 64.0f) / 64.0f;
                sum = value * float(hidden);
                if (double(sum) != double(value) * hidden) continue;  // not exact in fp32
            }
            ++checked;
            if (norm.mean(sum) != sum / float(hidden) && ++failures <= 10)
                std::printf("hidden %d, sum %.9g: %.9g, division %.9g\n", hidden, sum,
                            norm.mean(sum), sum / float(hidden));
        }
    }
    std::printf("checked %lld, failures %lld\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
"""


@needs_nvcc
def test_mean_is_the_correctly_rounded_division(tmp_path):
    build_and_run(tmp_path, "mean", MEAN_PROGRAM, min_checked=100_000)  # ~410,000 sums


DIVIDE_PROGRAM = r"""
#include <cstdint>
#include <cstdio>
#include "common/fast_divide.cuh"

// FastDivisor (EmbLayerNorm's slot -> sequence) must equal n / d for every n < 2^31: every
// divisor up to 4096, powers of two and their neighbours, large and pseudo-random ones; each
// against numerators at and around its multiples, near 2^31 and pseudo-random.
int main()
{
    uint32_t state = 777u;
    const auto next = [&] { state = state * 1664525u + 1013904223u; return state; };
    long long checked = 0, failures = 0;
    const auto check = [&](uint32_t d, uint32_t n) {
        if (n >= (1u << 31)) return;
        const bert::FastDivisor divisor = bert::FastDivisor::of(d);
        ++checked;
        if (divisor.quotient(n) != n / d && ++failures <= 10)
            std::printf("%u / %u: %u, not %u\n", n, d, divisor.quotient(n), n / d);
    };
    const auto sweep = [&](uint32_t d) {
        const uint32_t top = (1u << 31) - 1;
        for (uint32_t n : {0u, 1u, d - 1, d, d + 1, 2 * d - 1, 2 * d, top, top - 1, top - d})
            check(d, n);
        const uint32_t last = top / d * d;  // the largest multiple below 2^31, and around it
        for (uint32_t n : {last - 1, last, last + 1, last - d, last - d + 1}) check(d, n);
        for (int i = 0; i < 200; ++i) check(d, next() >> 1);
        for (int i = 0; i < 50; ++i) {
            const uint32_t k = (next() >> 1) / d;
            check(d, k * d - 1); check(d, k * d); check(d, k * d + d - 1);
        }
    };
    for (uint32_t d = 1; d <= 4096; ++d) sweep(d);
    for (int s = 12; s <= 31; ++s)
        for (int delta = -1; delta <= 1; ++delta) sweep(uint32_t((uint64_t(1) << s) + delta));
    for (int i = 0; i < 2000; ++i) sweep(1 + (next() >> (1 + next() % 31)));
    std::printf("checked %lld, failures %lld\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
"""


@needs_nvcc
def test_fast_divisor_is_exact_below_2_to_the_31(tmp_path):
    build_and_run(tmp_path, "divide", DIVIDE_PROGRAM, min_checked=1_000_000)


POINTS_PROGRAM = r"""
#include <cstdio>
#include "common/layernorm_rows.cuh"

// measured_point on 132 SMs (the H200 the defaults were measured on): each measured row count
// falls on its own point, and 2,048 rows on the ~1K point in fp16 but the ~4K point in fp32
// (fp16's bound is the crossover measured in run 10, fp32's the geometric midpoint).
int main()
{
    struct Case { long long rows; int element_bytes; int point; };
    const Case cases[] = {{128, 4, 0}, {128, 2, 0}, {361, 2, 0}, {362, 2, 1}, {1024, 4, 1}, {1024, 2, 1},
                          {2047, 4, 1}, {2048, 4, 2}, {2048, 2, 1}, {2507, 2, 1}, {2508, 2, 2},
                          {3072, 4, 2}, {3072, 2, 2}, {4096, 2, 2}, {16384, 4, 3}, {65536, 2, 4}};
    int failures = 0, checked = 0;
    for (const Case& c : cases) {
        const int point = bert::measured_point(c.rows, 132, c.element_bytes);
        ++checked;
        if (point != c.point) {
            ++failures;
            std::printf("%lld rows, %d-byte elements: point %d, expected %d\n", c.rows, c.element_bytes, point, c.point);
        }
    }
    std::printf("checked %d, failures %d\n", checked, failures);
    return failures == 0 ? 0 : 1;
}
"""


@needs_nvcc
def test_measured_points_and_the_fp16_crossover(tmp_path):
    build_and_run(tmp_path, "points", POINTS_PROGRAM, min_checked=16)
