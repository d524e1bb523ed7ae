// LayerNorm of rows whose values come from a "row source": the one normalization behind
// LayerNorm (rows of one tensor), SkipLayerNorm (input + skip + bias) and EmbLayerNorm (the sum of
// three embedding rows). Each kernel file only says where a row's values come from.
//
// A RowSource is a small struct passed to the kernel by value:
//   struct Row {
//       int64_t out_row = -1;  // output row to write; < 0: nothing to compute or store
//       template <int N> struct Raw;  // the loaded bytes behind N columns, as stored
//       template <int N> __device__ void fetch(int col, Raw<N>& raw) const;  // loads only
//       template <int N> __device__ void combine(const Raw<N>& raw, float (&x)[N]) const;
//   };                                       // x = row[col, col+N) in fp32: arithmetic only
//   __device__ Row row(int64_t index) const;  // the index-th of `rows` rows
//   int32_t hidden;  // the row length, and the stride of every row the source addresses
//   static constexpr MeasuredDefaults kDefaults;  // what version 0 runs (below)
// Optional, for v20, which asks for a row one row early: a source whose row() itself loads (EmbLayerNorm:
// the ids) can split it in two, `struct RowIds; template <int kLayout> __device__ RowIds ahead(int64_t index)
// const;` (the loads, nothing that waits for them) and `__device__ Row row(const RowIds&) const;` (the rest),
// with `static constexpr int kLayouts` and `int layout() const` (which of the kLayouts ways to find a row's
// ids this launch takes, e.g. padded or packed batches: v20 compiles one kernel a layout); Lookahead below.
// fetch and combine are separate so that a kernel can issue every load of a row before anything
// waits for one (v4-v20, below); load_row does both at once. row(index) is only asked for
// 0 <= index < rows, and fetch and combine must be harmless on a Row whose out_row < 0 (v12-v20
// call them without a predicate; the result is not stored). combine must also be harmless on a
// zeroed Raw (v16 and v17 combine one on their idle lanes and discard the result), and `hidden` must
// be what every address in row() is a multiple of: v17 and v20 overwrite it with their compile-time length.
//
// Parameters: gamma and beta are of type P, either fp32 or the activation type T (as NVIDIA's
// BERT plugins convert them to the layer's type). Every row reads all of them again (from L1/L2):
// at h768 an fp16 row is 1.5 KB in and 1.5 KB out, fp32 gamma + beta 6 KB of cache loads, fp16
// ones 3 KB. Measured on the H200, halving them moved our fp16 times by a few percent only
// (README, "Parameter precision"). LayerNorm and SkipLayerNorm take them in T; EmbLayerNorm,
// whose tables are fp32 anyway, in fp32.
//
// Numerics: y = (x - mean) / sqrt(var + epsilon) * gamma + beta, statistics in fp32.
// The variance is computed from deviations, var = sum((x - mean)^2) / hidden, AFTER the mean is
// known: two passes, but over registers, so global memory is still read once. The one-pass
// shortcut var = E[x^2] - mean^2 cancels catastrophically when |mean| >> std (fp32 keeps ~7
// digits: mean 1000 and std 1 leave nothing of the variance), which real activations do have.
// v10 and v11 get the same deviations in one reduction: each thread's values about their own
// mean, merged pairwise with a correction for the gap between the means (reductions.cuh).
#pragma once

#include <algorithm>
#include <cfloat>
#include <initializer_list>
#include <type_traits>

#include "bert_kernels_common.h"
#include "device_info.cuh"
#include "reductions.cuh"
#include "vector_io.cuh"

namespace bert {

// Kernel versions, llm.c style: each is a step you can read and time on its own.
//   1  scalar loads, one block per row, three passes over global memory (mean, variance,
//      output). The reference: any hidden size, any alignment.
//   2  16-byte loads; the row is held in registers (one vector per thread, one block per row),
//      so memory is read once; block reductions through shared memory.
//   3  as 2, but the number of threads per row is sized from the hidden size: each thread holds
//      up to kMaxFloatsPerThread values, so BERT's rows (768, 1024) take one warp and reduce
//      with shuffles alone, several rows per block; large rows take a block.
//   4  as 3, with every load of the row issued before any instruction waits for one: each row
//      source fetches (loads only) all its vectors, then combines them (converts, adds). In 2
//      and 3 the load and the arithmetic of a vector sit in one branch (is this vector in the
//      row?), and the compiler makes each vector's adds wait for its data before the next
//      vector's loads go out: one memory latency per vector, not per row (SASS of SkipLayerNorm
//      v3: LDG, LDG, LDG, FADD x8, then the next vector's LDGs). Also, for few rows the blocks
//      shrink (4, 2, 1 warps) until the grid reaches every SM, as v2's block per row does.
//   5  as 4, with gamma and beta loaded right after the row arrives, before the reductions,
//      which hide their latency. 2-4 load them in the output loop, one vector at a time
//      between the stores (the compiler may not move a load above a store that could alias
//      it): 3 to 6 dependent cache round trips at the end of every row. The price: gamma and
//      beta stay in registers through the reductions (2 x 24 floats per thread at h768).
//   6  as 4, with 2 rows per thread group (the same columns of each) when one row gives each
//      thread fewer than kMinRowBytesPerThread bytes, as fp16 BERT rows do (48): twice the
//      bytes in flight per thread, one gamma/beta load for two rows, the two reductions
//      interleaved. Few rows: back to one row per group first.
//   7  as 4, with at most kSpreadFloatsPerThread (16) values per thread instead of 32: a row is
//      spread over twice the threads, so fp16 and fp32 BERT rows (768) take 2 warps (one row per
//      64-thread block, reduced through shared memory) with 2 or 3 vectors per thread. The shape
//      run 3 read off torch.compile's autotuner, a misreading (its kernels' layout is v9's, below);
//      kept as a measured step; the fp32 LayerNorm default at ~16K-64K rows from run 5 to run 10,
//      EmbLayerNorm fp32's at ~16K until run 25, and v14's fallback.
//   8  as 4, with the gamma and beta loads issued together with the row's, before anything waits,
//      and kept as loaded (type P) until the output: one memory round trip per row. (v5 asks
//      for them once the row has arrived; ptxas hoists those loads above the wait anyway, but
//      v5 converts them to fp32 at once, which is what costs it its registers: fp16 h768 93,
//      v8 64.) This is the schedule of torch.compile's LayerNorm kernel (Triton issues its
//      three loads first).
//   9  v2's layout (a block per row, one 16-byte vector per thread: fp16 h768 96 threads, fp32 192)
//      with what v4-v8 taught: every load first, gamma and beta with the row's (v8), and each
//      block reduction through shared memory with one barrier instead of two. A thread's work
//      per row is one vector, v4-v8's 3 to 6: with few rows, where an SM holds a warp or two
//      and the kernel is one chain of dependent latencies, the short chain is what counts. It
//      is torch.compile's layout too, whose Triton kernels spread a row over all the warps of a
//      program; they also give a program 2 (fp32) or 4 (fp16) rows, each thread holding the
//      same columns of each. That was measured here and not kept: slower at every row count
//      (README, run 5). Since run 7 its grid is known to hold exactly one block per row, so a
//      thread takes its row from blockIdx: no group arithmetic and no bounds check (a run-time
//      constant load) before its first load, 2-5% at 128 rows, up to 17% at 64K (fp16).
//  10  as 9, with the mean and the variance from ONE block reduction instead of two in a row:
//      each thread reduces its own values to (sum, squared deviations from their mean), and
//      pairs of those merge exactly (Chan, Golub and LeVeque; reductions.cuh, "Moments"). Where
//      the kernel is one chain of latencies (~128 rows), the second butterfly, barrier and
//      shared-memory round trip were a third of it: 0.12-0.15 us of ~2.6 at 128 rows. Needs
//      every thread to hold a vector (rows of whole warps of vectors: fp32 384, 768, 1024, fp16
//      768, 1024; else the default falls back to v9). From run 7 to run 10 the default of every
//      kernel at ~128 and ~1K rows; now SkipLayerNorm fp32's at ~4K-16K rows (fp16's at ~128
//      until run 13, when SkipLayerNorm's bias test left the kernel and v12 overtook it).
//  11  as 8, with v10's one reduction (every thread of a group holds as many vectors: BERT rows
//      split into equal shares, a warp with 3 to 8 vectors a thread, h384 16 lanes with 3 or
//      6). Measured, kept as a step, a default
//      nowhere: the warp per row with several vectors a thread is slower than v10's block per
//      row at 128-1K rows (its longer per-thread chain costs more than the barrier it saves),
//      and ties v8 above.
//  12  v9 with the block's shape a template constant (kWarps warps, one vector a thread) and
//      nothing else: two plain reductions, each a warp butterfly, one barrier, and every thread
//      adding the kWarps partials straight from shared memory. v9 and v10 take the warp count at
//      run time, so after the barrier they add the partials with a butterfly of predicated
//      steps; with the count known the compiler unrolls the adds into broadcast loads. Found by
//      an ablation (run 10, README): a kernel this plain beat v10 and torch.compile at 128-1K
//      rows. Rows of 1 to 8 whole warps of vectors (hidden a multiple of 256 up to 2048 in fp16,
//      of 128 up to 1024 in fp32: BERT's 768 and 1024 in both, 384 in fp32).
//  13  v12's kernel in another block shape: a warp per row, 8 rows a block, each lane n vectors
//      (fp16 h768 3, fp32 6), gamma and beta loaded for the output as v4 does. A shape sweep of
//      a plain kernel against torch.compile (run 11, README) found it the fastest fp16 LayerNorm
//      at 3K-4K rows; v4 has this layout too, but with run-time group sizes and bounds checks.
//      Rows of 1 to 8 vectors a lane and at most 32 values (fp32 up to 1024, fp16 up to 1024).
//  14  v12's kernel with two vectors a thread and two rows a block (fp32 h768: 96 threads, each
//      32 bytes of each of two rows), gamma and beta loaded for the output: the fastest fp32
//      LayerNorm from ~2K rows in the same sweep, at the copy's speed at 4,096 rows. torch.compile
//      gives its programs 2 fp32 rows too (run 5), which v9 with 2 rows a block did not gain from.
//      Rows of 1 to 8 whole warps of two vectors a thread (fp32 768 and 1024, fp16 1024).
//  15  v12's kernel with a row over two warps, each thread n vectors of it (fp32 h768: 64 threads, 3
//      vectors each, gamma and beta loaded with the row): v7's layout, with every size a template
//      constant. Where torch.compile beat our pick on the H200 in run 20's scorecard, two of its four
//      fastest compiles ran this shape (XBLOCK 1, 2 warps: LayerNorm fp32 at 1,024 rows, EmbLayerNorm
//      fp32 at 12,288). Rows of 1 to 8 vectors a thread, at most 32 values (fp32 256 .. 2048 in
//      steps of 256, fp16 512 .. 2048 in steps of 512).
//  16  torch.compile's own layout at 12,288 fp32 rows, written out in CUDA (run 24): one vector a thread
//      over the fewest warps, a power of two, that cover the row (fp32 h768: 8 warps, 256 lanes for 192
//      vectors, the last 64 idle; fp16 h768: 4), two rows a block, gamma and beta loaded with the row;
//      each reduction a butterfly a warp, then warp 0 adds the warps' partials with a second butterfly
//      and hands the totals back through shared memory. Two instances the launcher picks between: where
//      the rows fill every block and epsilon >= FLT_MIN (BERT's 1e-12), one without the row clamp and the
//      stores' range check (Triton's kernel, compiled for its row count, has neither) and with 1 / sqrt as
//      rsqrt.approx.ftz (the same bits as rsqrtf then: variance + epsilon is never denormal); otherwise one
//      with the clamp and rsqrtf. The shape sweep's port of Triton's SASS was 0.8-1.0% behind Triton's own until
//      it dropped the clamp (0.8-1.0%) and rsqrtf's denormal guard (0.2-0.5%): then level with it or up
//      to 0.35% ahead (benchmarks/results/nvidia-h200_layernorm_shapes_run24.txt). Measured (run 24, H200):
//      v16 does not keep the port's speed. At LayerNorm fp32 32 x 384 it is level with v14 (20.38 against
//      20.35 us, the compiles that kept Triton's config 20.09-20.11); at the other cells timed it is slower
//      than the faster of v14 and the default, by 0.8-31% (though faster than v14 at SkipLayerNorm 32 x 384,
//      and at 65,536 rows in one sweep). Its SASS shows what the port has and it lacks: the row length known
//      at compile time
//      (the second row's address is the first's plus a constant) and loads predicated on the lane, where
//      v16's are behind a branch (run24_experiments.txt, D). Kept as a measured step, a default nowhere.
//      Since run 25 its registers start at zero and each load is conditional on its own, as in the port;
//      with the row length at run time ptxas still puts the loads behind a branch (run25_experiments.txt).
//      Rows of up to 8 warps of vectors (fp32 up to 1024, fp16 up to 2048).
//  17  v16 compiled for one row length (run 25): instances for 768 and 1024 (BERT-base, BERT-large) that put
//      the length into the kernel's copies of the row source and the normalization, so every row address is
//      the first's plus a constant and 1 / hidden folds. Its SASS at fp32 h768 is then the port's but for
//      the mean's correction step: predicated loads, the second row at +0xc00 (264 instructions, the port
//      248). Measured (H200): LayerNorm fp32 32 x 384 19.96 / 20.29 / 19.89 us in three calls against v14's
//      20.31 / 20.55 / 20.26, where the compile that kept Triton's XBLOCK 2 / 8 warps took 19.92 (call 1);
//      16,384 rows 26.16 against 26.50, 65,536 96.5 / 96.6 against 97.9 / 97.1; in the shape sweep 20.00
//      against Triton's 20.04 at 12,288 rows and 96.16 against 96.36 at 65,536: ahead of v14 in all eight
//      timings, by 0.5-1.9%. The LayerNorm fp32 default from ~8K rows. Slower than v14 at 4,096 rows and fewer
//      (32 x 128: 8.33 against 8.15), than the default in fp16 (32 x 384: 12.42 against 11.65) and in
//      SkipLayerNorm (28.45 against v10's 28.31, though ahead of v14's 29.74), and than v14 in EmbLayerNorm
//      (27.27 against 20.83; run25 results files). Rows of 768 or 1024 values.
//  18  v15's shape with two rows a block: torch.compile's XBLOCK 2 / 2 warps, its fastest EmbLayerNorm fp32
//      compile at 12,288 rows in run 24 (20.84 us, v14 21.19). Measured (run 25, H200): slower than v14 in
//      every interleaved EmbLayerNorm timing (32 x 384: 21.07 / 21.31 against 20.83 / 21.06 with the row
//      source of run 25); level with v14 or up to 1.9% faster at LayerNorm and SkipLayerNorm, and slower
//      than v17 and the defaults there; the scorecard's single timings picked it at EmbLayerNorm fp32 32 x 64
//      and 32 x 384. Rows of two warps of 1 to 4 vectors a thread in fp32, 1 or 2 in fp16 (fp32 256 .. 1024,
//      fp16 512 and 1024).
//  19  v15's shape with four rows a block, gamma and beta loaded for the output: torch.compile's XBLOCK 4 /
//      2 warps (163 registers), its fastest EmbLayerNorm fp32 compile at 65,536 rows and, in run 25's
//      scorecard, at 12,288 (20.90 us). Up to kFourRowsMaxFloats (48) values a thread (EmbLayerNorm fp32
//      h768: 168 registers; LayerNorm 72). Measured (run 25, H200): slower than v14 everywhere timed
//      (EmbLayerNorm fp32 32 x 384 22.50 against 21.06, 65,536 rows 97.36 against 93.72; LayerNorm 21.43
//      against 20.26). Kept as a measured step, a default nowhere. Rows of fp32 256, 512 or 768 values,
//      fp16 512.
//  20  EmbLayerNorm's own (run 26), for rows of 768 or 1024 values (compiled for each, as v17). Two things no
//      other version does, each from benchmarks/emb_layernorm_floor.py (H200), which builds an EmbLayerNorm up
//      from a copy in steps and found ours 6-8% slower than a plain kernel with both at 12,288 and 4,096 fp32
//      rows, and our fp16 default 7-14% slower at 12,288 and 65,536:
//      - a vector is four values, whatever the type: 16 bytes of EmbLayerNorm's fp32 tables. The other
//        versions' vector is 16 bytes of the OUTPUT, eight values in fp16, so a thread reads 32 bytes of each
//        table side by side and a warp's 16-byte load touches every other 16 bytes of 1 KB: the floor's
//        "plain 96x2 wide" (that split) is 1.14x "plain 96x2" at fp16 12,288 rows, 1.26x at fp32. (fp16
//        LayerNorm and SkipLayerNorm rows load and store 8 bytes a vector here.)
//      - a grid of only the blocks that fit at once, each looping over rows block, block + grid, ...: it asks
//        the row source for its NEXT row (EmbLayerNorm: loads the ids) before this row's data arrive, so every
//        row after a block's first waits one round trip (its row) where a block a row waits two (the ids,
//        then the row). LayerNorm's rows have no ids: there it only changes the grid.
//      A block of hidden / 8 threads (768: 3 warps), one row, two vectors a thread (lane, lane + threads), the
//      floor's "plain 96x1 ids ahead"; v14's statistics and gamma/beta in the output loop. Run 26's form was
//      slower than v14 in EmbLayerNorm fp32 from 4,096 rows (32 x 384 23.16 against 22.04 us; 23.40 against the
//      plain kernel's 21.27 in one floor run) and level with v3 in fp16 at 12,288 and 65,536 rows, 5% behind at
//      4,096 (nvidia-h200_emb_layernorm_v20_run26.txt). Run 27 found why, one change at a time
//      (run27_experiments.txt): its instance held 64 registers, 10 blocks an SM where the plain kernel's 40 fit 17.
//      Three changes took it to 38, within 1-9% of the plain kernel in fp32 and ahead of it in fp16 from 4,096 rows:
//      - one kernel a layout (padded or packed batch, Lookahead's kLayouts), not both in one: -4% at 12,288 fp32
//        rows (8 registers);
//      - EmbLayerNorm's rows without a branch on in_range (row 0 loaded, then NaN added; every version's);
//      - kIdsAheadThreadsPerSm, without which ptxas, at 32 registers, split the row's six loads in two (the load
//        schedule mattered, not the count alone: 32 registers ran 2.5% slower than 38 at 12,288 fp32 rows).
//      (And no barrier at the loop's end, which was never needed.) Measured (run 27, H200, one process):
//      EmbLayerNorm fp32 32 x 384 21.17 us against v14 22.29 and the plain kernel 20.95; fp16 16.53 against v3
//      19.61 (1.19x); 128 x 512 fp16 75.06 against 90.57. Built in the tree, the fastest of v3, v12, v13, v14 and
//      v20 at every point timed from 1,024 rows, in both types, but fp32 4,096 (v13 1% ahead: level), at hidden
//      1024 too (timed alone: nvidia-h200_emb_layernorm_h1024_run27.txt); the EmbLayerNorm default there since
//      run 27. Slower than the defaults at LayerNorm and SkipLayerNorm (run 26; not timed since). Rows of 768 or
//      1024 values.
// 0 asks for the default: the version that was fastest for this row source, element size and
// number of rows as measured (RowSource::kDefaults, README), or 1 where 16-byte access fails.
enum LayerNormVersion {
    kLayerNormDefault = 0,
    kLayerNormScalar = 1,
    kLayerNormBlockVector = 2,
    kLayerNormSized = 3,
    kLayerNormLoadsFirst = 4,
    kLayerNormParamsEarly = 5,
    kLayerNormRowPairs = 6,
    kLayerNormSpread = 7,
    kLayerNormParamsWithRow = 8,
    kLayerNormBlockLoadsFirst = 9,
    kLayerNormOneReduction = 10,
    kLayerNormWarpOneReduction = 11,
    kLayerNormBlockShape = 12,
    kLayerNormWarpPerRow = 13,
    kLayerNormRowPairsShaped = 14,
    kLayerNormTwoWarpRow = 15,
    kLayerNormTritonLayout = 16,
    kLayerNormFixedLength = 17,
    kLayerNormTwoWarpRowPairs = 18,
    kLayerNormTwoWarpFourRows = 19,
    kLayerNormIdsAhead = 20,
};
constexpr int kLayerNormLastVersion = kLayerNormIdsAhead;

// When v4-v19's kernels load gamma and beta.
enum class ParamsLoad {
    kInOutputLoop,       // v4, v6, v7, v13, v14, v19: one vector at a time, between the stores
    kBeforeReductions,   // v5: once the row has arrived, converted to fp32 at once
    kWithRow,            // v8-v12, v15, v18 (and v16, v17): with the row's loads, kept as stored until the output
};

// How v4-v11's kernel gets a row's mean and variance.
enum class Statistics {
    kTwoReductions,  // v4-v9: the mean, then the squared deviations from it
    kOneReduction,   // v10, v11: each thread's (sum, squared deviations), merged in one reduction
};

// The row length and epsilon, as every kernel gets them. A mean is a sum times 1 / hidden (worked
// out once, on the host) and one correction step, which gives the correctly rounded quotient
// wherever that is a normal float (a constant row's x - mean stays exactly 0; a CI test compares
// it with IEEE division): a division by a run-time value is ~8 dependent instructions and a
// slow-path branch, twice a row in every version (SASS of LayerNorm v9). An infinite sum (an fp32
// sum of squares can overflow) keeps the plain quotient, inf, as the division gave, where the
// correction would turn it into NaN (inf - inf).
// BERT_PLAIN_MEAN, an experiment's knob, off (0): the mean as sum * (1 / hidden) alone, what torch.compile's
// kernels take (run 25). Why: in v17, the one difference left from Triton's SASS at 12,288 fp32 rows is the
// correction step between the first reduction and the deviations, on every block's critical path: FMUL, then
// two dependent FFMA (and an isinf test beside them), then x - mean as its own FADD, where Triton folds the mean
// into x with one FFMA. On, a constant row's deviations are no longer 0 whenever sum * (1 / hidden) misses the
// quotient by an ulp (then, with BERT's epsilon 1e-12, its outputs are ~0.1 off beta instead of beta).
// Measured (run 26, H200): v17 at 12,288 fp32 rows 0.5% faster without the step (20.07 against 20.16 us).
// Build with -DBERT_PLAIN_MEAN=1 (CMake: the same name); ablate_cache_hints.py --switch plain-mean.
#ifndef BERT_PLAIN_MEAN
#define BERT_PLAIN_MEAN 0
#endif
struct Normalization {
    int32_t hidden;
    float length;      // hidden as a float
    float inv_length;  // 1 / hidden, rounded
    float epsilon;

    __host__ __device__ static Normalization of(int32_t hidden, float epsilon)
    {
        return {hidden, float(hidden), 1.0f / float(hidden), epsilon};
    }
    __host__ __device__ __forceinline__ float mean(float sum) const
    {
        const float quotient = sum * inv_length;
        if constexpr (BERT_PLAIN_MEAN) return quotient;
        const float corrected = fmaf(fmaf(-quotient, length, sum), inv_length, quotient);
        return isinf(quotient) ? quotient : corrected;
    }
};

constexpr int kScalarBlockThreads = 128;
// v3: values of the row each thread keeps in registers. 32 fp32 registers of data is enough
// bytes in flight per thread to saturate memory, and leaves room for 8 warps per SM or more.
constexpr int kMaxFloatsPerThread = 32;
// v7: half of that, so a row takes twice the threads.
constexpr int kSpreadFloatsPerThread = 16;
// Block size when several rows share a block (one warp or less per row).
constexpr int kRowsBlockThreads = 128;
// v6 gives a thread group two rows when one row leaves each thread fewer bytes than this (fp16
// h768: 48; fp32 h768, which comes near the copy bandwidth with one row per group: 96).
constexpr int kMinRowBytesPerThread = 64;
// One vector per thread may need 1024 threads for a row; with several vectors a thread needs
// more registers, so those kernels promise the compiler at most 256 threads per block.
__host__ __device__ constexpr int max_block_threads(int vecs_per_thread)
{
    return vecs_per_thread == 1 ? 1024 : 256;
}

// x = row[col, col + N) in fp32, for kernels that use the values right away (v1-v3).
template <int N, typename Row>
__device__ __forceinline__ void load_row(const Row& row, int col, float (&x)[N])
{
    typename Row::template Raw<N> raw;
    row.fetch(col, raw);
    row.combine(raw, x);
}

// v1: one block per row; every pass re-reads the row from global memory (L1/L2 catch most of it).
template <typename T, typename P, typename RowSource>
__global__ void __launch_bounds__(kScalarBlockThreads)
layernorm_rows_scalar(RowSource source, T* output, const P* gamma, const P* beta,
                      Normalization norm)
{
    const typename RowSource::Row row = source.row(blockIdx.x);
    if (row.out_row < 0) return;  // the whole block leaves together, so no barrier is skipped

    float sum = 0.0f;
    const int32_t hidden = norm.hidden;
    for (int col = threadIdx.x; col < hidden; col += blockDim.x) {
        float x[1];
        load_row(row, col, x);
        sum += x[0];
    }
    const float mean = norm.mean(block_sum(sum));

    float squares = 0.0f;
    for (int col = threadIdx.x; col < hidden; col += blockDim.x) {
        float x[1];
        load_row(row, col, x);
        squares += (x[0] - mean) * (x[0] - mean);
    }
    const float inv_std = rsqrtf(norm.mean(block_sum(squares)) + norm.epsilon);

    T* out = output + row.out_row * hidden;
    for (int col = threadIdx.x; col < hidden; col += blockDim.x) {
        float x[1];
        load_row(row, col, x);
        out[col] = from_float<T>((x[0] - mean) * inv_std * to_float(gamma[col]) + to_float(beta[col]));
    }
}

// Which group of threads_per_row threads this thread belongs to, counted over the grid, and its
// lane in that group. Every plan below makes threads_per_row either the whole block or a power of
// two, so a test and shifts do what `/` and `%` would: a division by a runtime int is ~30
// instructions a thread, which with one row per thread group is a row's worth of additions.
struct GroupLane {
    int64_t group;
    int lane;
};
__device__ __forceinline__ GroupLane group_and_lane(int threads_per_row)
{
    if (threads_per_row == int(blockDim.x)) return {blockIdx.x, int(threadIdx.x)};
    const int shift = __ffs(threads_per_row) - 1;  // log2 of a power of two
    return {(int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> shift,
            int(threadIdx.x) & (threads_per_row - 1)};
}

// v2 and v3: `threads_per_row` threads own a row; thread `lane` holds the 16-byte vectors
// lane, lane + threads_per_row, ... so that at each step neighbouring lanes read neighbouring
// 16 bytes (coalesced). threads_per_row is a power of two <= 32 (several rows per block) or the
// block size (one row per block).
template <typename T, typename P, int kVecsPerThread, typename RowSource>
__global__ void __launch_bounds__(max_block_threads(kVecsPerThread))
layernorm_rows_registers(RowSource source, T* output, const P* gamma, const P* beta,
                         int64_t rows, Normalization norm, int threads_per_row)
{
    constexpr int kVec = kElemsPer16Bytes<T>;
    const GroupLane place = group_and_lane(threads_per_row);
    const int64_t index = place.group;
    const int lane = place.lane;
    const int32_t hidden = norm.hidden;
    const int vecs_per_row = hidden / kVec;

    // Threads past the last row (or on a row with nothing to write) still take part in every
    // shuffle and barrier below, on zeros: no early return before the reductions.
    typename RowSource::Row row;
    if (index < rows) row = source.row(index);
    const bool has_row = row.out_row >= 0;

    float x[kVecsPerThread][kVec];
    float sum = 0.0f;
#pragma unroll
    for (int v = 0; v < kVecsPerThread; ++v) {
        const int vec = v * threads_per_row + lane;
        if (has_row && vec < vecs_per_row) {
            load_row(row, vec * kVec, x[v]);
        } else {
#pragma unroll
            for (int i = 0; i < kVec; ++i) x[v][i] = 0.0f;
        }
#pragma unroll
        for (int i = 0; i < kVec; ++i) sum += x[v][i];
    }
    const float mean = norm.mean(row_sum(sum, threads_per_row));

    // Second pass, over registers only: squared deviations from the now known mean.
    float squares = 0.0f;
#pragma unroll
    for (int v = 0; v < kVecsPerThread; ++v) {
        if (v * threads_per_row + lane < vecs_per_row) {
#pragma unroll
            for (int i = 0; i < kVec; ++i) squares += (x[v][i] - mean) * (x[v][i] - mean);
        }
    }
    const float inv_std = rsqrtf(norm.mean(row_sum(squares, threads_per_row)) + norm.epsilon);
    if (!has_row) return;  // after the last reduction: nobody waits for us any more

    T* out = output + row.out_row * hidden;
#pragma unroll
    for (int v = 0; v < kVecsPerThread; ++v) {
        const int vec = v * threads_per_row + lane;
        if (vec < vecs_per_row) {
            float scale[kVec], shift[kVec], y[kVec];
            load_as_float<kParameters>(gamma + vec * kVec, scale);
            load_as_float<kParameters>(beta + vec * kVec, shift);
#pragma unroll
            for (int i = 0; i < kVec; ++i) y[i] = (x[v][i] - mean) * inv_std * scale[i] + shift[i];
            store_from_float<kActivations>(out + vec * kVec, y);
        }
    }
}

// v4-v11: v3's layout (lane `lane` of a group of threads_per_row holds vectors lane,
// lane + threads_per_row, ...), kRows rows per group (v6: 2 for narrow rows), gamma and beta
// loaded when kParams says, the statistics as kStats says. v9's and v10's group is the block
// (kBlockPerRow).
template <typename T, typename P, int kVecsPerThread, int kRows, ParamsLoad kParams,
          Statistics kStats, bool kBlockPerRow, typename RowSource>
__global__ void __launch_bounds__(max_block_threads(kVecsPerThread))
layernorm_rows_loads_first(RowSource source, T* output, const P* gamma, const P* beta,
                           int64_t rows, Normalization norm, int threads_per_row)
{
    constexpr int kVec = kElemsPer16Bytes<T>;
    using Row = typename RowSource::Row;
    // v9, v10: a block per row and a grid of exactly `rows` blocks (the launcher's), so blockIdx
    // is the row: no run-time group size and no bounds check stand between the kernel's start and
    // its first load.
    const GroupLane place = kBlockPerRow ? GroupLane{blockIdx.x, int(threadIdx.x)}
                                         : group_and_lane(threads_per_row);
    const int64_t group = place.group;
    const int lane = place.lane;
    const int32_t hidden = norm.hidden;
    const int vecs_per_row = hidden / kVec;
    // As in v3, threads without a row still take part in every reduction (on zeros).
    Row row[kRows];
    bool has_any_row = false;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        const int64_t index = group * kRows + r;
        if (kBlockPerRow || index < rows) row[r] = source.row(index);
        has_any_row |= row[r].out_row >= 0;
    }
    const auto in_row = [&](int v, int r) {
        return v * threads_per_row + lane < vecs_per_row && row[r].out_row >= 0;
    };

    // 1. Fetch: every load of the rows (v8-v11: and of gamma and beta), and no instruction that
    // waits for one.
    typename Row::template Raw<kVec> raw[kRows][kVecsPerThread];
#pragma unroll
    for (int v = 0; v < kVecsPerThread; ++v)
#pragma unroll
        for (int r = 0; r < kRows; ++r)
            if (in_row(v, r)) row[r].fetch((v * threads_per_row + lane) * kVec, raw[r][v]);
    // v8-v11 only. The bounds check here and in step 3 is spelled out on purpose: written as a
    // lambda, ptxas interleaved these loads with the row's and v5 fp32 lost 11% (README).
    P raw_scale[kVecsPerThread][kVec], raw_shift[kVecsPerThread][kVec];
    if constexpr (kParams == ParamsLoad::kWithRow) {
#pragma unroll
        for (int v = 0; v < kVecsPerThread; ++v) {
            if (v * threads_per_row + lane < vecs_per_row && has_any_row) {
                load_raw<kParameters>(gamma + (v * threads_per_row + lane) * kVec, raw_scale[v]);
                load_raw<kParameters>(beta + (v * threads_per_row + lane) * kVec, raw_shift[v]);
            }
        }
    }

    // 2. Combine (this waits for the data) and sum for the mean.
    float x[kRows][kVecsPerThread][kVec];
    float mean[kRows];  // the sum until step 4
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        mean[r] = 0.0f;
#pragma unroll
        for (int v = 0; v < kVecsPerThread; ++v) {
            if (in_row(v, r)) {
                row[r].combine(raw[r][v], x[r][v]);
            } else {
#pragma unroll
                for (int i = 0; i < kVec; ++i) x[r][v][i] = 0.0f;
            }
#pragma unroll
            for (int i = 0; i < kVec; ++i) mean[r] += x[r][v][i];
        }
    }

    // 3. v5: gamma and beta now, so that the two reductions hide their latency (cache hits).
    float scale[kVecsPerThread][kVec], shift[kVecsPerThread][kVec];  // read only where loaded
    const auto load_params = [&](int v) {
        const int vec = v * threads_per_row + lane;
        load_as_float<kParameters>(gamma + vec * kVec, scale[v]);
        load_as_float<kParameters>(beta + vec * kVec, shift[v]);
    };
    if constexpr (kParams == ParamsLoad::kBeforeReductions) {
#pragma unroll
        for (int v = 0; v < kVecsPerThread; ++v)
            if (v * threads_per_row + lane < vecs_per_row && has_any_row) load_params(v);
    }

    // 4. The mean and variance of each row, for the kRows rows side by side.
    float variance[kRows];
    if constexpr (kStats == Statistics::kOneReduction) {
        // v10, v11: each thread's moments, merged in one reduction (reductions.cuh); the plan
        // gives every thread of a group as many vectors of its row, as the merges' fixed counts
        // assume (rows past the last hold zeros: moments 0, nothing stored).
        __shared__ Moments moment_partials[kRows][kWarpSize];
        Moments moments[kRows];
        const int shift_width = threads_per_row < kWarpSize ? threads_per_row : kWarpSize;
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            // The group's (past a warp: the warp's) first value, the shift of its sums.
            const float shift = __shfl_sync(kFullWarp, x[r][0][0], 0, shift_width);
            moments[r] = thread_moments(x[r], shift);
        }
        row_merge<kVecsPerThread * kVec>(moments, threads_per_row, norm.inv_length, moment_partials);
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            mean[r] = moments[r].shift + norm.mean(moments[r].sum);
            variance[r] = norm.mean(moments[r].squares);
        }
    } else {
        // Mean, then squared deviations from it: two reductions, one after the other. The shared
        // buffers serve groups wider than a warp (the block): one per reduction, so the second
        // needs no barrier to wait until everyone has read the first.
        __shared__ float mean_partials[kRows][kWarpSize], square_partials[kRows][kWarpSize];
        float squares[kRows];
        row_sums(mean, threads_per_row, mean_partials);
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            mean[r] = norm.mean(mean[r]);
            squares[r] = 0.0f;
#pragma unroll
            for (int v = 0; v < kVecsPerThread; ++v) {
                if (v * threads_per_row + lane < vecs_per_row) {
#pragma unroll
                    for (int i = 0; i < kVec; ++i) squares[r] += (x[r][v][i] - mean[r]) * (x[r][v][i] - mean[r]);
                }
            }
        }
        row_sums(squares, threads_per_row, square_partials);
#pragma unroll
        for (int r = 0; r < kRows; ++r) variance[r] = norm.mean(squares[r]);
    }
    if (!has_any_row) return;  // after the last reduction: nobody waits for us any more

    // 5. Normalize and store, a vector (of every row) at a time.
    float inv_std[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) inv_std[r] = rsqrtf(variance[r] + norm.epsilon);
#pragma unroll
    for (int v = 0; v < kVecsPerThread; ++v) {
        const int vec = v * threads_per_row + lane;
        if (vec >= vecs_per_row) continue;
        if constexpr (kParams == ParamsLoad::kInOutputLoop) load_params(v);  // one for the kRows rows
        if constexpr (kParams == ParamsLoad::kWithRow) {
            convert_to_float(raw_scale[v], scale[v]);
            convert_to_float(raw_shift[v], shift[v]);
        }
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            if (row[r].out_row < 0) continue;
            float y[kVec];
#pragma unroll
            for (int i = 0; i < kVec; ++i)
                y[i] = (x[r][v][i] - mean[r]) * inv_std[r] * scale[v][i] + shift[v][i];
            store_from_float<kActivations>(output + row[r].out_row * hidden + vec * kVec, y);
        }
    }
}

// v12-v15's, v18's and v19's block: kGroups groups of kWarps warps side by side, each group normalizing kRows rows
// together, each thread holding kVecs 16-byte vectors of each of its rows (vectors lane,
// lane + group threads, ...; neighbouring lanes read neighbouring 16 bytes). Every size is a
// template constant, so the compiler unrolls everything and no thread needs a bounds check.
template <int kGroups_, int kWarps_, int kRows_, int kVecs_, ParamsLoad kParams_>
struct BlockShape {
    static constexpr int kGroups = kGroups_;
    static constexpr int kWarps = kWarps_;
    static constexpr int kRows = kRows_;
    static constexpr int kVecs = kVecs_;
    static constexpr ParamsLoad kParams = kParams_;  // kWithRow or kInOutputLoop
    static constexpr int kGroupThreads = kWarps * kWarpSize;
    static constexpr int kThreads = kGroups * kGroupThreads;
    static constexpr int kRowsPerBlock = kGroups * kRows;
    // v12: the grid holds exactly one block per row, so every block has its row.
    static constexpr bool kBlockIsRow = kRowsPerBlock == 1;
    // A group that meets no other group at a barrier (one warp, or the whole block) may leave
    // as soon as it has no row to compute.
    static constexpr bool kGroupMayLeave = kWarps == 1 || kGroups == 1;
};

// The shapes by version, for a row of n warps' worth of vectors (v12, v14: n warps a row; v13: n
// vectors a thread; v15: two warps of n vectors a thread; v18, v19: v15's with two and four rows a
// block, torch.compile's XBLOCK 2 and 4 with 2 warps, run 25). v12, v15 and v18 load gamma and beta with
// the row: with few rows their round trip must overlap the row's. v13 and v14, made for many rows,
// load them for the output (one vector of each at a time, between the stores), which keeps them
// out of registers through the reductions: with the row's, v14 fp32 h768 took 48 registers, 14
// blocks an SM where 4,096 rows need 16 for one wave (8.68 us there against 7.91 after the change,
// run 11).
template <int n> using ShapeBlockPerRow = BlockShape<1, n, 1, 1, ParamsLoad::kWithRow>;  // v12
constexpr int kWarpRowsPerBlock = 8;
template <int n> using ShapeWarpPerRow = BlockShape<kWarpRowsPerBlock, 1, 1, n, ParamsLoad::kInOutputLoop>;  // v13
template <int n> using ShapeRowPairs = BlockShape<1, n, 2, 2, ParamsLoad::kInOutputLoop>;  // v14
template <int n> using ShapeTwoWarpRow = BlockShape<1, 2, 1, n, ParamsLoad::kWithRow>;  // v15
template <int n> using ShapeTwoWarpRowPairs = BlockShape<1, 2, 2, n, ParamsLoad::kWithRow>;  // v18
template <int n> using ShapeTwoWarpFourRows = BlockShape<1, 2, 4, n, ParamsLoad::kInOutputLoop>;  // v19

// The totals of a group's kRows values: each warp butterflies, its lane 0 leaves the warp's sums in
// partials, and after one barrier every thread adds the kWarps partials itself, in the same order
// (so every thread has the same bits). All lanes read the same word at a time: broadcast, no bank
// conflicts. No trailing barrier: a kernel that reduces twice gives each reduction its own partials
// (v20, which loops over rows, alternates the two: each row's writes of one wait on the other's barrier).
template <int kWarps, int kRows>
__device__ __forceinline__ void group_totals(float (&values)[kRows], float (&partials)[kRows][kWarps],
                                             int warp)
{
#pragma unroll
    for (int r = 0; r < kRows; ++r) values[r] = warp_sum(values[r]);
    if constexpr (kWarps > 1) {
        if (threadIdx.x % kWarpSize == 0) {
#pragma unroll
            for (int r = 0; r < kRows; ++r) partials[r][warp] = values[r];
        }
        __syncthreads();
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            float total = partials[r][0];
#pragma unroll
            for (int w = 1; w < kWarps; ++w) total += partials[r][w];
            values[r] = total;
        }
    }
}

// Two experiments' knobs of the shaped kernel (v12-v15 in run 24; v18 and v19 have them too). What set them off:
// the shape sweep's CUDA port of torch.compile's fastest kernel at 12,288 fp32 rows
// (benchmarks/ablation/layernorm_shapes.cu, "+port") stayed 0.8-1.0% behind Triton's own until it dropped its two
// remaining differences, then was level with it or up to 0.35% ahead
// (benchmarks/results/nvidia-h200_layernorm_shapes_run24.txt):
// - BERT_SHAPED_WHOLE_BLOCKS: a second instance of v13's, v14's, v18's and v19's kernel (the shapes of several rows
//   a block) for rows that fill every block, without the clamp of the row index and the range check of the stores;
//   the launcher takes it whenever rows are a multiple of the block's rows (Triton's kernel, compiled for its row
//   count, has neither). The port without them: 0.8-1.0% faster.
// - BERT_FTZ_RSQRT: 1 / sqrt(variance + epsilon) as rsqrt.approx.ftz, Triton's MUFU.RSQ alone, where rsqrtf
//   adds a guard that scales denormal inputs first. The same bits whenever epsilon is a normal float
//   (>= FLT_MIN, 1.2e-38; BERT's is 1e-12), since the variance is never negative; with a smaller epsilon a
//   denormal input gives inf where rsqrtf gives a finite value. The port with it: another 0.2-0.5%.
// Build with -DBERT_SHAPED_WHOLE_BLOCKS=1 / -DBERT_FTZ_RSQRT=1 (CMake: the same names);
// ablate_cache_hints.py --switch whole-blocks / ftz-rsqrt measures them in our library. Measured (run 24,
// H200): both OFF. Whole blocks: 12 of 54 LayerNorm-family cells faster, 7 slower, LayerNorm fp32 32 x 128
// 0.907x and 32 x 384 0.981x (ptxas gives v14 fp32 h768's twin 44 registers against 40: 14 blocks an SM
// instead of 16). ftz: 10 of 27 fp32 cells 0.4-1.6% faster, all at 8 x 128 or fewer rows, none slower,
// 32 x 384 level; as a build switch it would be wrong for an epsilon below FLT_MIN (v16 takes it per epsilon).
// The port's edge did not carry over to v16 either (its comment, above).
#ifndef BERT_SHAPED_WHOLE_BLOCKS
#define BERT_SHAPED_WHOLE_BLOCKS 0
#endif
#ifndef BERT_FTZ_RSQRT
#define BERT_FTZ_RSQRT 0
#endif

// 1 / sqrt(variance + epsilon): rsqrt_ftz (reductions.cuh) where kFtz, rsqrtf otherwise. v16 asks for kFtz
// where epsilon >= FLT_MIN (then the two give the same bits), the shaped kernel under BERT_FTZ_RSQRT.
template <bool kFtz>
__device__ __forceinline__ float inverse_std(float variance_plus_epsilon)
{
    if constexpr (kFtz)
        return rsqrt_ftz(variance_plus_epsilon);
    else
        return rsqrtf(variance_plus_epsilon);
}

// v12-v15, v18 and v19, one kernel in the block shapes above. The rows' loads are written first as in v9
// (gamma/beta's follow them where the shape says kWithRow: ptxas issues those once the rows have
// arrived, and the reductions hide them), the statistics are v9's (the mean, then squared
// deviations), each row's reductions its own (a row that is not stored may hold anything,
// EmbLayerNorm's padding slots NaN, without touching its neighbours'). kWholeBlocks: the launcher
// knows every block's rows are in range (BERT_SHAPED_WHOLE_BLOCKS, below).
template <typename T, typename P, typename Shape, typename RowSource, bool kWholeBlocks>
__device__ __forceinline__ void layernorm_rows_shaped_body(const RowSource& source, T* output, const P* gamma,
                                                           const P* beta, int64_t rows, const Normalization& norm)
{
    constexpr int kVec = kElemsPer16Bytes<T>;
    constexpr int kRows = Shape::kRows, kVecs = Shape::kVecs, kWarps = Shape::kWarps;
    using Row = typename RowSource::Row;
    const int group = Shape::kGroups == 1 ? 0 : int(threadIdx.x) / Shape::kGroupThreads;
    const int lane = Shape::kGroups == 1 ? int(threadIdx.x) : int(threadIdx.x) % Shape::kGroupThreads;
    const int64_t first = (int64_t(blockIdx.x) * Shape::kGroups + group) * kRows;

    // No load is predicated: a row past the last (in the grid's last block) is the last row again,
    // computed and not stored, and a row with nothing to store (out_row < 0) is fetched all the
    // same (EmbLayerNorm's padding slots load row 0 of each table since run 27; untimed on packed
    // batches, where they occur). A predicated load made ptxas put the row's
    // address arithmetic behind the predicate (0.07 us of v12 at 128 rows, run 10).
    constexpr bool kInRange = Shape::kBlockIsRow || kWholeBlocks;  // every row of the block exists
    Row row[kRows];
    bool store[kRows];
    bool any_row = false;
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        const int64_t index = kInRange ? first + r : (first + r < rows ? first + r : rows - 1);
        row[r] = source.row(index);
        store[r] = (kInRange || first + r < rows) && row[r].out_row >= 0;
        any_row |= store[r];
    }
    if constexpr (Shape::kGroupMayLeave) {
        if (!any_row) return;  // the whole group leaves: no barrier waits for it
        if constexpr (kRows == 1) store[0] = true;  // known now: no predicate on the stores
    }

    typename Row::template Raw<kVec> raw[kRows][kVecs];
#pragma unroll
    for (int v = 0; v < kVecs; ++v)
#pragma unroll
        for (int r = 0; r < kRows; ++r)
            row[r].fetch((lane + v * Shape::kGroupThreads) * kVec, raw[r][v]);
    P raw_scale[kVecs][kVec], raw_shift[kVecs][kVec];  // kWithRow only
    if constexpr (Shape::kParams == ParamsLoad::kWithRow) {
#pragma unroll
        for (int v = 0; v < kVecs; ++v) {
            load_raw<kParameters>(gamma + (lane + v * Shape::kGroupThreads) * kVec, raw_scale[v]);
            load_raw<kParameters>(beta + (lane + v * Shape::kGroupThreads) * kVec, raw_shift[v]);
        }
    }
    float x[kRows][kVecs][kVec];
    float mean[kRows];  // the sum until the reduction
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
#pragma unroll
        for (int v = 0; v < kVecs; ++v) row[r].combine(raw[r][v], x[r][v]);
        mean[r] = tree_sum<kVecs * kVec>(&x[r][0][0]);
    }

    __shared__ float mean_partials[Shape::kGroups][kRows][kWarps], square_partials[Shape::kGroups][kRows][kWarps];
    const int warp = lane / kWarpSize;
    group_totals(mean, mean_partials[group], warp);
    float squares[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        mean[r] = norm.mean(mean[r]);
        float deviations[kVecs * kVec];
#pragma unroll
        for (int v = 0; v < kVecs; ++v)
#pragma unroll
            for (int i = 0; i < kVec; ++i) deviations[v * kVec + i] = (x[r][v][i] - mean[r]) * (x[r][v][i] - mean[r]);
        squares[r] = tree_sum<kVecs * kVec>(deviations);
    }
    group_totals(squares, square_partials[group], warp);
    // The variance as sum * (1 / hidden), without Normalization::mean's correction step: its last bit
    // moves the outputs by an ulp, where the mean's decides whether a constant row gives 0. Once a row,
    // before the output loop: inside it (up to run 23) the compiler computed it again for every vector,
    // rsqrtf as well as the inline asm (v14 fp32 h768: 4 MUFU.RSQ a thread, now 2; 320 SASS instructions,
    // now 296; 40 registers either way). Run 24's GPU suite and scorecards ran with this form; it was not
    // timed against the old one alone.
    float inv_std[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) inv_std[r] = inverse_std<BERT_FTZ_RSQRT != 0>(squares[r] * norm.inv_length + norm.epsilon);

#pragma unroll
    for (int v = 0; v < kVecs; ++v) {
        const int col = (lane + v * Shape::kGroupThreads) * kVec;
        float scale[kVec], shift[kVec];
        if constexpr (Shape::kParams == ParamsLoad::kWithRow) {
            convert_to_float(raw_scale[v], scale);
            convert_to_float(raw_shift[v], shift);
        } else {
            load_as_float<kParameters>(gamma + col, scale);
            load_as_float<kParameters>(beta + col, shift);
        }
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            if (!store[r]) continue;
            float y[kVec];
#pragma unroll
            for (int i = 0; i < kVec; ++i) y[i] = (x[r][v][i] - mean[r]) * inv_std[r] * scale[i] + shift[i];
            store_from_float<kActivations>(output + row[r].out_row * norm.hidden + col, y);
        }
    }
}

// An experiment's knob, off (0): the shaped kernel (v12-v15, v18, v19) launched with the carveout preference set to
// the most L1 (cudaSharedmemCarveoutMaxL1; by default the driver picks the split of the SM's 256 KB between L1
// and shared memory itself). Why (run 23): in the shape sweep the opposite preference, the most
// shared memory (L1 28 KB), made v14's shape 5.9% slower at 12,288 fp32 rows, so L1's size bounds the
// stream. Build with -DBERT_PREFER_L1=1 (CMake: -DBERT_PREFER_L1=ON); ablate_cache_hints.py --switch
// prefer-l1 measures it. Measured (run 23, H200, LayerNorm): OFF. 6 of 18 cells 0.5-1.3% faster, 7
// slower, down to 0.731x (fp16 32 x 64), fp32 32 x 384 0.966x; with that preference the driver
// likely gives each SM shared memory for fewer blocks (not measured).
#ifndef BERT_PREFER_L1
#define BERT_PREFER_L1 0
#endif

template <typename T, typename P, typename Shape, typename RowSource, bool kWholeBlocks>
__global__ void __launch_bounds__(Shape::kThreads)
layernorm_rows_shaped(RowSource source, T* output, const P* gamma, const P* beta, int64_t rows,
                      Normalization norm)
{
    layernorm_rows_shaped_body<T, P, Shape, RowSource, kWholeBlocks>(source, output, gamma, beta, rows, norm);
}

// An experiment's knob, off (0): at most this many registers a thread for v14's fp32 kernel, through
// __launch_bounds__'s least number of resident blocks an SM. Why: run 22's read-only path took v14
// fp32 h768 from 40 registers to 44 (17 of its blocks an SM to 14; no other fp32 LayerNorm instance
// moved), so its timing could not tell the load instruction from the occupancy.
// - v14 fp32 gets a kernel of its own: a least-blocks bound, even 1, changes how ptxas allocates
//   registers in most other instances (v13 fp32 h256 from 32 to 40), and a cap of 40 spills in most
//   fp16 ones (v14 fp16 takes 64-72).
// - The bound counts the register file as four schedulers' quarters, as ptxas does (seen, not
//   documented): at least 17 blocks of 3 warps, 13 warps on one quarter, gave 32 registers and a
//   spill; 16 gives 40, and at 40 the occupancy calculator fits 17.
// - It holds the cap exactly at h768 only, the size it was made for (a test checks it there): at
//   h256 it is clamped to 32 blocks and leaves 53 registers, at h2048 ptxas spills 4 bytes.
// - The capped kernel's code differs from the plain one's even at the same 40 registers (a `.text`
//   of 4,864 bytes against 5,120), so ablate_cache_hints.py --switch read-only-40 (run 23: level
//   with the default build where v14 runs, 32 x 384 1.001x, but 8 x 384 0.995x) times the read-only
//   path and that schedule together; --switch read-only-at-40 caps both builds (run 24: 3 faster, 12 level,
//   3 slower of 18; the load instruction alone buys nothing).
// Build with -DBERT_SHAPED_MAX_REGISTERS=N (CMake: the same name); `nvcc -Xptxas -v` shows the
// registers and any spill.
#ifndef BERT_SHAPED_MAX_REGISTERS
#define BERT_SHAPED_MAX_REGISTERS 0
#endif
static_assert(BERT_SHAPED_MAX_REGISTERS == 0 || (BERT_SHAPED_MAX_REGISTERS >= 32 && BERT_SHAPED_MAX_REGISTERS <= 255),
              "BERT_SHAPED_MAX_REGISTERS: 0 (off) or 32..255");
#if BERT_SHAPED_MAX_REGISTERS
template <typename Shape>
constexpr int capped_min_blocks()
{
    constexpr int kSchedulers = 4, kRegistersPerScheduler = 16 * 1024, kWarpGranule = 256;
    constexpr int per_warp = (BERT_SHAPED_MAX_REGISTERS * kWarpSize + kWarpGranule - 1) / kWarpGranule * kWarpGranule;
    constexpr int warps_per_block = Shape::kThreads / kWarpSize;
    // Blocks whose warps, dealt round-robin, put at most kRegistersPerScheduler / per_warp on a scheduler.
    constexpr int blocks = kRegistersPerScheduler / per_warp * kSchedulers / warps_per_block;
    return blocks < 1 ? 1 : blocks > 32 ? 32 : blocks;
}

template <typename T, typename P, typename Shape, typename RowSource, bool kWholeBlocks>
__global__ void __launch_bounds__(Shape::kThreads, capped_min_blocks<Shape>())
layernorm_rows_shaped_capped(RowSource source, T* output, const P* gamma, const P* beta, int64_t rows,
                             Normalization norm)
{
    layernorm_rows_shaped_body<T, P, Shape, RowSource, kWholeBlocks>(source, output, gamma, beta, rows, norm);
}
#endif

// The shapes' largest size n: 8 (v12: rows of up to 8 warps, fp16 2048 values, fp32 1024; v14 up to 8
// warps of 2 vectors, twice those). v13, v15, v18 and v19 hold n vectors of each row a thread, so they
// stop earlier: at kMaxFloatsPerThread values a thread, as v3-v11 do (fp16 4 vectors, fp32 8; v18 half
// that), v19 at kFourRowsMaxFloats.
constexpr int kMaxShapeSize = 8;

// The values a thread of v12's (kLayerNormBlockShape), v13's, v14's, v15's, v18's or v19's shape of size n holds.
__host__ __device__ constexpr int shape_floats(int version, int n, int elems_per_vec)
{
    const bool n_vectors = version == kLayerNormWarpPerRow || version == kLayerNormTwoWarpRow;
    const int vectors = n_vectors                                   ? n
                        : version == kLayerNormTwoWarpRowPairs ? 2 * n  // n of each of two rows
                        : version == kLayerNormTwoWarpFourRows ? 4 * n  // n of each of four rows
                        : version == kLayerNormRowPairsShaped  ? 4
                                                               : 1;
    return vectors * elems_per_vec;
}

// The most values a thread of `version`'s shape may hold: kMaxFloatsPerThread, but for v19, whose four rows
// take as many as torch.compile's kernel in that layout holds (fp32 h768: 3 vectors of each of 4 rows, 48).
constexpr int kFourRowsMaxFloats = 48;
__host__ __device__ constexpr int shape_max_floats(int version)
{
    return version == kLayerNormTwoWarpFourRows ? kFourRowsMaxFloats : kMaxFloatsPerThread;
}

// The size n of a shape (v12-v15, v18, v19) for a row of vecs_per_row vectors: how many times the row holds a
// warp's worth of vectors (v14: of two vectors a thread; v15, v18, v19: two warps' worth); 0 where that is not
// a whole number from 1 to kMaxShapeSize or a thread would hold more than shape_max_floats values.
inline int shape_size(int version, int vecs_per_row, int elems_per_vec)
{
    const int per_unit = version == kLayerNormRowPairsShaped || version == kLayerNormTwoWarpRow ||
                                 version == kLayerNormTwoWarpRowPairs || version == kLayerNormTwoWarpFourRows
                             ? 2 * kWarpSize
                             : kWarpSize;
    const int n = vecs_per_row / per_unit;
    const bool fits = vecs_per_row % per_unit == 0 && n >= 1 && n <= kMaxShapeSize &&
                      shape_floats(version, n, elems_per_vec) <= shape_max_floats(version);
    return fits ? n : 0;
}

// The kernel a shape launches: v12-v15's, v18's or v19's, or under BERT_SHAPED_MAX_REGISTERS v14 fp32's capped
// twin; each with its rows range-checked or (kWholeBlocks) not.
template <typename T, typename P, int kVersion, typename Shape, typename RowSource, bool kWholeBlocks>
constexpr auto shaped_kernel()
{
#if BERT_SHAPED_MAX_REGISTERS
    if constexpr (kVersion == kLayerNormRowPairsShaped && std::is_same_v<T, float>)
        return &layernorm_rows_shaped_capped<T, P, Shape, RowSource, kWholeBlocks>;
    else
#endif
        return &layernorm_rows_shaped<T, P, Shape, RowSource, kWholeBlocks>;
}

// One launch of shaped_kernel, with BERT_PREFER_L1's carveout preference set on that kernel first.
template <typename T, typename P, int kVersion, typename Shape, typename RowSource, bool kWholeBlocks>
cudaError_t launch_shaped_kernel(unsigned blocks, cudaStream_t stream, const RowSource& source, T* output,
                                 const P* gamma, const P* beta, const Normalization& norm, int64_t rows)
{
    constexpr auto kernel = shaped_kernel<T, P, kVersion, Shape, RowSource, kWholeBlocks>();
#if BERT_PREFER_L1
    // The carveout preference, set once a process for this instance (on the device current at the
    // first launch: an experiment's knob, timed on one GPU), read by the driver at every launch.
    static const cudaError_t preference = cudaFuncSetAttribute(
        kernel, cudaFuncAttributePreferredSharedMemoryCarveout, int(cudaSharedmemCarveoutMaxL1));
    if (preference != cudaSuccess) return preference;
#endif
    kernel<<<dim3(blocks), Shape::kThreads, 0, stream>>>(source, output, gamma, beta, rows, norm);
    return cudaGetLastError();
}

// The instantiation of ShapeOf<n>, version kVersion's shape, for n = 1 .. kMaxShapeSize.
template <typename T, typename P, int kVersion, template <int> class ShapeOf, typename RowSource, int kN = 1>
cudaError_t launch_shaped(int n, int64_t rows, cudaStream_t stream, const RowSource& source, T* output,
                          const P* gamma, const P* beta, Normalization norm)
{
    if constexpr (kN > kMaxShapeSize ||
                  shape_floats(kVersion, kN, kElemsPer16Bytes<T>) > shape_max_floats(kVersion)) {
        return cudaErrorNotSupported;  // shape_size refuses these: not even instantiated
    } else {
        if (n != kN)
            return launch_shaped<T, P, kVersion, ShapeOf, RowSource, kN + 1>(n, rows, stream, source, output,
                                                                            gamma, beta, norm);
        using Shape = ShapeOf<kN>;
        constexpr int kVec = kElemsPer16Bytes<T>;
        static_assert(Shape::kRows * Shape::kVecs * kVec == shape_floats(kVersion, kN, kVec),
                      "shape_floats must count what the version's shape holds");
        const int64_t blocks = (rows + Shape::kRowsPerBlock - 1) / Shape::kRowsPerBlock;
        if (blocks > INT32_MAX) return cudaErrorNotSupported;
        if constexpr (BERT_SHAPED_WHOLE_BLOCKS && !Shape::kBlockIsRow) {
            if (rows % Shape::kRowsPerBlock == 0)
                return launch_shaped_kernel<T, P, kVersion, Shape, RowSource, true>(unsigned(blocks), stream, source,
                                                                                    output, gamma, beta, norm, rows);
        }
        return launch_shaped_kernel<T, P, kVersion, Shape, RowSource, false>(unsigned(blocks), stream, source, output,
                                                                             gamma, beta, norm, rows);
    }
}

// v16's and v17's block: kWarps warps, a power of two, each thread one 16-byte vector of each of kTritonRows rows.
constexpr int kTritonRows = 2;
constexpr int kTritonMaxWarps = 8;

// v16 and v17. Threads past the row's vectors (the lanes the power of two adds) load nothing and add
// zeros. As in v12-v15 no load waits on a row check: a row past the last is the last row again, not
// stored. kExact: the launcher knows every block's rows are in range and epsilon >= FLT_MIN, so the rows
// go unclamped and unchecked and 1 / sqrt is rsqrt_ftz (the port's two gains, exact there); otherwise
// both as in v12-v15. kLength: 0 in v16 (the row length norm.hidden, at run time); v17's row length
// (768 or 1024), which the kernel then puts in its copies of the source and the normalization, so every
// address and 1 / hidden fold into constants as in Triton's kernel, compiled for its shape.
// The inactive lanes' registers start at zero and each load is conditional on its own, as in the port. With the
// addresses constant (v17) ptxas predicates each load on the lane; with a run-time length (v16) it still puts
// the loads, and the products that form their addresses, behind one branch (run25_experiments.txt, A).
template <typename T, typename P, int kWarps, int kLength, typename RowSource, bool kExact>
__global__ void __launch_bounds__(kWarps * kWarpSize)
layernorm_rows_triton_layout(RowSource source, T* output, const P* gamma, const P* beta, int64_t rows,
                             Normalization norm)
{
    if constexpr (kLength > 0) {
        source.hidden = kLength;
        norm = Normalization::of(kLength, norm.epsilon);
    }
    constexpr int kVec = kElemsPer16Bytes<T>, kRows = kTritonRows;
    using Row = typename RowSource::Row;
    const int t = int(threadIdx.x);
    const int col = t * kVec;
    const bool active = col < norm.hidden;
    const int64_t first = int64_t(blockIdx.x) * kRows;

    Row row[kRows];
    bool store[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        row[r] = source.row(kExact ? first + r : (first + r < rows ? first + r : rows - 1));
        store[r] = (kExact || first + r < rows) && row[r].out_row >= 0;
    }
    typename Row::template Raw<kVec> raw[kRows] = {};
    P raw_scale[kVec] = {}, raw_shift[kVec] = {};
#pragma unroll
    for (int r = 0; r < kRows; ++r)
        if (active) row[r].fetch(col, raw[r]);
    if (active) load_raw<kParameters>(gamma + col, raw_scale);
    if (active) load_raw<kParameters>(beta + col, raw_shift);
    float x[kRows][kVec];
    float mean[kRows];  // the sum until the reduction
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        row[r].combine(raw[r], x[r]);
        mean[r] = active ? tree_sum<kVec>(x[r]) : 0.0f;  // an idle lane's x: whatever combine made of zeros
    }
    __shared__ float mean_partials[kRows * kWarps], square_partials[kRows * kWarps];
    block_sums_by_warp0<kWarps, kRows>(mean, mean_partials);
    float squares[kRows];
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        mean[r] = norm.mean(mean[r]);
        float deviations[kVec];
#pragma unroll
        for (int i = 0; i < kVec; ++i) deviations[i] = (x[r][i] - mean[r]) * (x[r][i] - mean[r]);
        squares[r] = active ? tree_sum<kVec>(deviations) : 0.0f;
    }
    block_sums_by_warp0<kWarps, kRows>(squares, square_partials);
    if (!active) return;  // past the last barrier; these lanes store nothing
    float scale[kVec], shift[kVec];
    convert_to_float(raw_scale, scale);
    convert_to_float(raw_shift, shift);
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        // The variance as v12-v15 take it: sum * (1 / hidden).
        const float inv_std = inverse_std<kExact>(squares[r] * norm.inv_length + norm.epsilon);
        if (!store[r]) continue;
        float y[kVec];
#pragma unroll
        for (int i = 0; i < kVec; ++i) y[i] = (x[r][i] - mean[r]) * inv_std * scale[i] + shift[i];
        store_from_float<kActivations>(output + row[r].out_row * norm.hidden + col, y);
    }
}

// v16's and v17's warps for a row of vecs_per_row vectors: the fewest, a power of two, whose lanes cover it; 0
// past kTritonMaxWarps.
constexpr int triton_layout_warps(int vecs_per_row)
{
    int warps = 1;
    while (warps * kWarpSize < vecs_per_row) warps *= 2;
    return vecs_per_row >= 1 && warps <= kTritonMaxWarps ? warps : 0;
}

// v17's row lengths, each an instance of its own: BERT-base's hidden size and BERT-large's.
constexpr int kFixedLengths[] = {768, 1024};

inline bool fixed_length_fits(int hidden)
{
    for (const int length : kFixedLengths)
        if (hidden == length) return true;
    return false;
}

// One launch of v16's or v17's kernel: the exact instance where the rows fill every block and epsilon >=
// FLT_MIN (BERT's 1e-12 and any even row count), the general one otherwise.
template <typename T, typename P, int kWarps, int kLength, typename RowSource>
cudaError_t launch_triton_instance(int64_t rows, cudaStream_t stream, const RowSource& source, T* output,
                                   const P* gamma, const P* beta, const Normalization& norm)
{
    const int64_t blocks = (rows + kTritonRows - 1) / kTritonRows;
    if (blocks > INT32_MAX) return cudaErrorNotSupported;
    const bool exact = rows % kTritonRows == 0 && norm.epsilon >= FLT_MIN;
    const auto kernel = exact ? layernorm_rows_triton_layout<T, P, kWarps, kLength, RowSource, true>
                              : layernorm_rows_triton_layout<T, P, kWarps, kLength, RowSource, false>;
    kernel<<<dim3(unsigned(blocks)), kWarps * kWarpSize, 0, stream>>>(source, output, gamma, beta, rows, norm);
    return cudaGetLastError();
}

// v16: the instance for `warps` (1, 2, 4, 8).
template <typename T, typename P, typename RowSource, int kWarps = 1>
cudaError_t launch_triton_layout(int warps, int64_t rows, cudaStream_t stream, const RowSource& source, T* output,
                                 const P* gamma, const P* beta, const Normalization& norm)
{
    if constexpr (kWarps > kTritonMaxWarps) {
        return cudaErrorNotSupported;
    } else {
        if (warps != kWarps)
            return launch_triton_layout<T, P, RowSource, kWarps * 2>(warps, rows, stream, source, output, gamma, beta,
                                                                     norm);
        return launch_triton_instance<T, P, kWarps, 0>(rows, stream, source, output, gamma, beta, norm);
    }
}

// launch(std::integral_constant<int, I>{}) for I == index (from kI on) of 0 .. kCount - 1, compiled for each: a
// run-time value to one of kCount instances. cudaErrorNotSupported for an index outside them.
template <int kCount, int kI = 0, typename Launch>
cudaError_t with_index(int index, Launch&& launch)
{
    if constexpr (kI >= kCount) {
        return cudaErrorNotSupported;
    } else {
        if (index != kI) return with_index<kCount, kI + 1>(index, launch);
        return launch(std::integral_constant<int, kI>{});
    }
}

// launch(std::integral_constant<int, L>{}) for L the one of kFixedLengths that is `hidden`: v17's and v20's
// instances, one a row length.
template <typename Launch>
cudaError_t with_fixed_length(int hidden, Launch&& launch)
{
    constexpr int kCount = int(sizeof(kFixedLengths) / sizeof(kFixedLengths[0]));
    int index = kCount;
    for (int i = 0; i < kCount; ++i)
        if (kFixedLengths[i] == hidden) index = i;
    return with_index<kCount>(index, [&](auto i) {
        return launch(std::integral_constant<int, kFixedLengths[decltype(i)::value]>{});
    });
}

// v17: the instance for the row length.
template <typename T, typename P, typename RowSource>
cudaError_t launch_fixed_length(int64_t rows, cudaStream_t stream, const RowSource& source, T* output,
                                const P* gamma, const P* beta, const Normalization& norm)
{
    return with_fixed_length(norm.hidden, [&](auto length) {
        constexpr int kLength = decltype(length)::value;
        constexpr int kWarps = triton_layout_warps(kLength / kElemsPer16Bytes<T>);
        static_assert(kWarps > 0, "a fixed length v16's layout takes");
        return launch_triton_instance<T, P, kWarps, kLength>(rows, stream, source, output, gamma, beta, norm);
    });
}

// How v20 asks for a row early: source.ahead<kLayout>(index) now and source.row(ids) when the row is due, where
// the source splits row() so (EmbLayerNorm: RowIds); otherwise the index now and row(index) when due, in one
// layout.
template <typename RowSource, typename = void>
struct Lookahead {
    static constexpr int kLayouts = 1;
    __host__ static int layout(const RowSource&) { return 0; }
    using Ahead = int64_t;
    template <int kLayout>
    __device__ static Ahead ahead(const RowSource&, int64_t index) { return index; }
    __device__ static typename RowSource::Row row(const RowSource& source, Ahead index) { return source.row(index); }
};
template <typename RowSource>
struct Lookahead<RowSource, std::void_t<typename RowSource::RowIds>> {
    static constexpr int kLayouts = RowSource::kLayouts;
    __host__ static int layout(const RowSource& source) { return source.layout(); }
    using Ahead = typename RowSource::RowIds;
    template <int kLayout>
    __device__ static Ahead ahead(const RowSource& source, int64_t index)
    {
        return source.template ahead<kLayout>(index);
    }
    __device__ static typename RowSource::Row row(const RowSource& source, const Ahead& ahead)
    {
        return source.row(ahead);
    }
};

// v20: four values a vector, two vectors a thread, hidden / 8 threads a block; the grid: the blocks that fit at
// once, looping over the rows. Its statistics and output are v14's for one row (rsqrtf: BERT_FTZ_RSQRT is the
// shaped kernel's switch): the shaped kernel's are written for a BlockShape's rows in one pass, and were left as
// measured rather than bent to take a loop as well.
constexpr int kIdsAheadValuesPerVector = 4, kIdsAheadVectors = 2;
constexpr int ids_ahead_threads(int length) { return length / (kIdsAheadValuesPerVector * kIdsAheadVectors); }
// Threads an SM, asked of ptxas (as blocks: __launch_bounds__' second argument) from sm_90, where it was measured.
// Unbounded, EmbLayerNorm's h768 instance took 64 registers (10 blocks of 3 warps an SM); with its loads
// branch-free, 32, but ptxas then split a row's six table loads into a pair and a four, the four waiting for the
// pair's adds (SASS, run 27), 2.5% slower at 12,288 fp32 rows. Asked for 14 blocks of 96 threads, 1,344 threads (a
// budget of 48 registers), it takes 38 (17 blocks) and issues the six together, with no spill (ptxas -v, CUDA
// 13.0). The h1024 instance gets the same thread count, 10 blocks of 128: 14 of them capped it at 32 registers and
// split its loads the same way (a review, SASS); with 10 it takes 38-40 (timed once, run 27, against the other
// versions only). sm_100 and later take it too, untimed. Before sm_90
// nothing is asked: 1,344 threads are more than an sm_75 SM holds (1,024).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
constexpr int kIdsAheadThreadsPerSm = 14 * 96;
#else
constexpr int kIdsAheadThreadsPerSm = 0;
#endif
constexpr int ids_ahead_min_blocks(int length)
{
    const int blocks = kIdsAheadThreadsPerSm / ids_ahead_threads(length);
    return blocks > 1 ? blocks : 1;
}

template <typename T, typename P, int kLength, typename RowSource, int kLayout>
__global__ void __launch_bounds__(ids_ahead_threads(kLength), ids_ahead_min_blocks(kLength))
layernorm_rows_ids_ahead(RowSource source, T* output, const P* gamma, const P* beta, int64_t rows, Normalization norm)
{
    source.hidden = kLength;  // as v17: every address and 1 / hidden fold into constants
    norm = Normalization::of(kLength, norm.epsilon);
    constexpr int kVec = kIdsAheadValuesPerVector, kVecs = kIdsAheadVectors, kThreads = ids_ahead_threads(kLength);
    constexpr int kWarps = kThreads / kWarpSize;
    static_assert(kThreads % kWarpSize == 0, "whole warps");
    using Row = typename RowSource::Row;
    const int lane = int(threadIdx.x), warp = lane / kWarpSize;
    __shared__ float mean_partials[1][kWarps], square_partials[1][kWarps];

    using Look = Lookahead<RowSource>;
    int64_t index = blockIdx.x;  // < rows: the grid is never larger than the rows
    Row row = Look::row(source, Look::template ahead<kLayout>(source, index));
    for (;;) {
        typename Row::template Raw<kVec> raw[kVecs];
#pragma unroll
        for (int v = 0; v < kVecs; ++v) row.fetch((lane + v * kThreads) * kVec, raw[v]);
        // The next row's loads (EmbLayerNorm: its ids) after this row's, so that they are in flight through the
        // reductions and the stores (ptxas issues them just before the first barrier: SASS, run 27); what depends
        // on them (the range checks, the addresses) only when that row is due, at the end. With the whole row()
        // asked for here (SASS, run 26), ptxas put those checks before this row's loads, which then waited for
        // the ids, and split this row's loads in two. Past the last row, this row again (not used).
        const int64_t next = index + gridDim.x;
        const auto next_ahead = Look::template ahead<kLayout>(source, next < rows ? next : index);

        float x[kVecs][kVec];
#pragma unroll
        for (int v = 0; v < kVecs; ++v) row.combine(raw[v], x[v]);
        float mean[1] = {tree_sum<kVecs * kVec>(&x[0][0])};  // the sum until the reduction
        group_totals(mean, mean_partials, warp);
        mean[0] = norm.mean(mean[0]);
        float deviations[kVecs * kVec];
#pragma unroll
        for (int v = 0; v < kVecs; ++v)
#pragma unroll
            for (int i = 0; i < kVec; ++i) deviations[v * kVec + i] = (x[v][i] - mean[0]) * (x[v][i] - mean[0]);
        float squares[1] = {tree_sum<kVecs * kVec>(deviations)};
        group_totals(squares, square_partials, warp);
        const float inv_std = rsqrtf(squares[0] * norm.inv_length + norm.epsilon);
        if (row.out_row >= 0) {
#pragma unroll
            for (int v = 0; v < kVecs; ++v) {
                const int col = (lane + v * kThreads) * kVec;
                float scale[kVec], shift[kVec], y[kVec];
                load_as_float<kParameters>(gamma + col, scale);
                load_as_float<kParameters>(beta + col, shift);
#pragma unroll
                for (int i = 0; i < kVec; ++i) y[i] = (x[v][i] - mean[0]) * inv_std * scale[i] + shift[i];
                store_from_float<kActivations>(output + row.out_row * kLength + col, y);
            }
        }
        if (next >= rows) return;
        index = next;
        row = Look::row(source, next_ahead);
        // No barrier here: each reduction has partials of its own, so the next row's mean partials are written
        // after this row's squares barrier (every read of this row's mean partials is before it) and its square
        // partials after its own mean barrier (every read of this row's is before that).
    }
}

// v20: the instance for the row length and layout, in a grid of the blocks that fit on the GPU at once
// (wave_size), at most one a row.
template <typename T, typename P, typename RowSource>
cudaError_t launch_ids_ahead(int64_t rows, cudaStream_t stream, const RowSource& source, T* output, const P* gamma,
                             const P* beta, const Normalization& norm)
{
    using Look = Lookahead<RowSource>;
    return with_fixed_length(norm.hidden, [&](auto length) {
        return with_index<Look::kLayouts>(Look::layout(source), [&](auto layout) {
            constexpr int kLength = decltype(length)::value, kThreads = ids_ahead_threads(kLength);
            const auto kernel = layernorm_rows_ids_ahead<T, P, kLength, RowSource, decltype(layout)::value>;
            int per_sm = 0, sms = 0;
            const cudaError_t status = wave_size(reinterpret_cast<const void*>(kernel), kThreads, 0, &per_sm, &sms);
            if (status != cudaSuccess) return status;
            const int64_t blocks = std::min<int64_t>(rows, int64_t(per_sm) * sms);
            kernel<<<unsigned(blocks), kThreads, 0, stream>>>(source, output, gamma, beta, rows, norm);
            return cudaGetLastError();
        });
    });
}

// How v2/v3 split a row: threads_per_row == 0 means the row does not fit that version.
struct RegisterPlan {
    int threads_per_row;
    int vecs_per_thread;
};

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }

// v2: one vector per thread, a whole number of warps, one block per row.
inline RegisterPlan plan_block_vector(int vecs_per_row)
{
    const int threads = ceil_div(vecs_per_row, kWarpSize) * kWarpSize;
    if (threads > max_block_threads(1)) return {0, 0};
    return {threads, 1};
}

// v3: the fewest threads (a power of two, so sub-warp shuffles stay in their group) that can
// hold the row with at most max_floats values each (v7: kSpreadFloatsPerThread).
inline RegisterPlan plan_sized(int vecs_per_row, int elems_per_vec,
                               int max_floats = kMaxFloatsPerThread)
{
    const int max_vecs_per_thread = max_floats / elems_per_vec;
    int threads = 1;
    while (threads * max_vecs_per_thread < vecs_per_row) threads *= 2;
    if (threads > max_block_threads(2)) return {0, 0};
    return {threads, ceil_div(vecs_per_row, threads)};
}

// v4-v8 and v11: v3's split of the row, rows per group, and a block size.
struct LoadsFirstPlan {
    RegisterPlan split;  // threads_per_row == 0: does not fit
    int rows_per_group;
    int block_threads;
};

// Deepest first: 4 warps per block and, for v6 (row_pairs), 2 rows per group where one row gives
// a thread fewer than kMinRowBytesPerThread bytes. When that grid would leave SMs without a block
// (a few hundred rows), halve the warps per block, then go back to one row per group: with little
// work, spreading it over every SM's load units beats packing it into a few.
inline LoadsFirstPlan plan_loads_first(int vecs_per_row, int elems_per_vec, int64_t rows, int sms,
                                       bool row_pairs, int max_floats = kMaxFloatsPerThread)
{
    const RegisterPlan split = plan_sized(vecs_per_row, elems_per_vec, max_floats);
    if (split.threads_per_row == 0 || split.threads_per_row > kWarpSize)
        return {split, 1, split.threads_per_row};  // one row per block, as in v3 (or no fit)
    const int row_bytes_per_thread = split.vecs_per_thread * 16;
    int rows_per_group = row_pairs && row_bytes_per_thread < kMinRowBytesPerThread ? 2 : 1;
    int warps = kRowsBlockThreads / kWarpSize;
    const auto blocks = [&] {
        const int64_t rows_per_block = int64_t(warps) * (kWarpSize / split.threads_per_row) * rows_per_group;
        return (rows + rows_per_block - 1) / rows_per_block;
    };
    while (blocks() < sms && (warps > 1 || rows_per_group > 1)) {
        if (warps > 1) warps /= 2;
        else rows_per_group = 1;
    }
    return {split, rows_per_group, warps * kWarpSize};
}

// v9: v2's split, one row per block.
inline LoadsFirstPlan plan_block_per_row(int vecs_per_row)
{
    const RegisterPlan split = plan_block_vector(vecs_per_row);
    return {split, 1, split.threads_per_row};
}

// v10: v9's split where it leaves no thread without a vector (rows of whole warps of vectors:
// fp32 384, 768, 1024, fp16 768, 1024), as the merges' fixed counts assume.
inline LoadsFirstPlan plan_block_merged(int vecs_per_row)
{
    if (vecs_per_row % kWarpSize != 0) return {{0, 0}, 1, 0};
    return plan_block_per_row(vecs_per_row);
}

// v11: v8's plan where every thread of a group holds as many vectors (fp32 and fp16 768 and 1024:
// a warp with 6, 3, 8 or 4 each; h384 16 lanes with 6 or 3).
inline LoadsFirstPlan plan_warp_merged(int vecs_per_row, int elems_per_vec, int64_t rows, int sms)
{
    const LoadsFirstPlan plan = plan_loads_first(vecs_per_row, elems_per_vec, rows, sms, false);
    if (plan.split.threads_per_row == 0 || vecs_per_row % plan.split.threads_per_row != 0)
        return {{0, 0}, 1, 0};
    return plan;
}

// The default version of a row source, as measured on an H200 (132 SMs) at hidden 768 and 128,
// 1024, 4096, 16384, 65536 rows (README; run 7: benchmarks/results/nvidia-h200_memory_bound_kernels.txt,
// run 10: nvidia-h200_layernorm_run10_experiments.txt, run 11: ..._run11_experiments.txt, run 13:
// nvidia-h200_skip_layernorm_run13_experiments.txt): at each,
// the fastest version, a difference under 2% (the spread between runs) counted as a tie that goes
// to the version already chosen (one exception, LayerNorm fp32's v14 at ~16K and ~64K: README, run
// 11; since run 25 v17 there, ahead of v14 in all eight interleaved timings at 12,288-65,536 rows by 0.5-1.9%,
// another exception; and EmbLayerNorm fp32's v14 at ~16K, 5-6% ahead of v7 at 12,288 and 16,384; run25 results
// files; since run 27 EmbLayerNorm's v20 from ~1K rows in both types, the fastest of the five versions timed at each
// of those points in one process but fp32 ~4K, where v13 was 1% ahead and v14, the choice before, 10% behind:
// run27_experiments.txt, call 4). No single version wins everywhere: with ~128-1K
// rows the shortest chain of latencies (v12: a vector per thread, the plainest reductions; before run 10 v10) wins,
// and for SkipLayerNorm fp32 v10 up to ~16K rows; above, the shapes that give a thread more bytes (v13, v14:
// several vectors or rows a thread, gamma/beta out of registers through the reductions), v5/v8, which keep
// gamma/beta in registers (that pays with fewer rows and costs occupancy with many), and v3/v4/v7. The exception:
// SkipLayerNorm fp16, whose v12 is the fastest at every point since run 13 (the bias's test out of the kernel) and
// its default at all but ~4K, where v13 ties it.
struct MeasuredDefaults {
    static constexpr int kPoints = 5;
    int fp32[kPoints];
    int fp16[kPoints];
    // Where fp32/fp16 name v17 or v20, which take rows of 768 and 1024 values only: what other rows run there.
    // 0 (left out): v14, then its fallback (default_version). EmbLayerNorm gives its choices from before v20.
    int fp32_other_widths[kPoints];
    int fp16_other_widths[kPoints];
};

// Which measured point a row count falls on: the nearest in log scale, in rows per SM so that a
// GPU with fewer SMs changes plans at proportionally fewer rows (an assumption, not measured).
// One fp16 bound is a measured crossover instead: between the ~1K and ~4K points at 2,508 rows
// (the geometric mean of 2,048 and 3,072), where run 10 timed v12, the ~1K choice of all three
// kernels in fp16, 6-16% ahead of the ~4K choices at 2,048 rows and those 3-6% ahead at 3,072
// (H200, the issue's shapes; since run 13 SkipLayerNorm fp16's v12 leads its ~4K choice by under 1%
// at 3,072, a tie). In fp32 the two were level at both counts but for EmbLayerNorm (v5 ahead at
// 2,048, v12 at 3,072), so fp32 keeps the geometric midpoint.
inline int measured_point(int64_t rows, int sms, int element_bytes)
{
    // Geometric midpoints between the measured 128, 1024, 4096, 16384, 65536 rows on 132 SMs, but
    // for fp16's crossover above.
    constexpr double kFp32BoundsPerSm[MeasuredDefaults::kPoints - 1] = {362.0 / 132, 2048.0 / 132,
                                                                        8192.0 / 132, 32768.0 / 132};
    constexpr double kFp16BoundsPerSm[MeasuredDefaults::kPoints - 1] = {362.0 / 132, 2508.0 / 132,
                                                                        8192.0 / 132, 32768.0 / 132};
    const double* bounds = element_bytes == 2 ? kFp16BoundsPerSm : kFp32BoundsPerSm;
    int point = 0;
    while (point < MeasuredDefaults::kPoints - 1 && double(rows) >= bounds[point] * sms) ++point;
    return point;
}

inline bool all_aligned16(std::initializer_list<const void*> pointers)
{
    for (const void* pointer : pointers)
        if (!is_aligned16(pointer)) return false;
    return true;
}

// Picks the instantiation whose kVecsPerThread equals the plan's (1 .. 32 / elements per vector).
template <typename T, typename P, typename RowSource, int kVecs = 1>
cudaError_t launch_registers(int vecs_per_thread, dim3 grid, dim3 block, cudaStream_t stream,
                             const RowSource& source, T* output, const P* gamma,
                             const P* beta, int64_t rows, Normalization norm,
                             int threads_per_row)
{
    if constexpr (kVecs * kElemsPer16Bytes<T> > kMaxFloatsPerThread) {
        return cudaErrorNotSupported;
    } else {
        if (vecs_per_thread != kVecs)
            return launch_registers<T, P, RowSource, kVecs + 1>(vecs_per_thread, grid, block, stream,
                                                             source, output, gamma, beta, rows,
                                                             norm, threads_per_row);
        layernorm_rows_registers<T, P, kVecs><<<grid, block, 0, stream>>>(
            source, output, gamma, beta, rows, norm, threads_per_row);
        return cudaGetLastError();
    }
}

// v4-v11's instantiation for the plan's vectors per thread; kRows = 2 only exists where the plan
// can ask for it (rows of fewer than kMinRowBytesPerThread bytes per thread). kBlockPerRow: v9 and
// v10, whose grid has one block per row. (Telling v4-v8 and v11 the same where their plan gives a
// block one row was measured and not kept: from 0.82x to 1.33x by version and shape, README.)
template <typename T, typename P, int kRows, ParamsLoad kParams,
          Statistics kStats = Statistics::kTwoReductions, bool kBlockPerRow = false,
          typename RowSource, int kVecs = 1>
cudaError_t launch_loads_first(int vecs_per_thread, dim3 grid, dim3 block, cudaStream_t stream,
                               const RowSource& source, T* output, const P* gamma, const P* beta,
                               int64_t rows, Normalization norm, int threads_per_row)
{
    if constexpr (kVecs * kElemsPer16Bytes<T> > kMaxFloatsPerThread ||
                  (kRows > 1 && kVecs * 16 >= kMinRowBytesPerThread) ||
                  (kBlockPerRow && kVecs > 1)) {  // v9's and v10's plan: one vector a thread
        return cudaErrorNotSupported;
    } else {
        if (vecs_per_thread != kVecs)
            return launch_loads_first<T, P, kRows, kParams, kStats, kBlockPerRow, RowSource, kVecs + 1>(
                vecs_per_thread, grid, block, stream, source, output, gamma, beta, rows, norm,
                threads_per_row);
        layernorm_rows_loads_first<T, P, kVecs, kRows, kParams, kStats, kBlockPerRow>
            <<<grid, block, 0, stream>>>(source, output, gamma, beta, rows, norm, threads_per_row);
        return cudaGetLastError();
    }
}

// Whether `version`'s split takes a row of vecs_per_row 16-byte vectors: the same plans the
// launcher below makes (v1 takes any row; v2 and v9 one vector per thread, up to 1024 threads;
// v10 as v9, in whole warps; v7 up to 16 values per thread; the others up to 32, v11 in equal
// shares).
inline bool split_fits(int version, int vecs_per_row, int elems_per_vec)
{
    switch (version) {
        case kLayerNormScalar:
            return true;
        case kLayerNormBlockVector:
        case kLayerNormBlockLoadsFirst:
            return plan_block_vector(vecs_per_row).threads_per_row > 0;
        case kLayerNormOneReduction:
            return plan_block_merged(vecs_per_row).split.threads_per_row > 0;
        case kLayerNormBlockShape:
        case kLayerNormWarpPerRow:
        case kLayerNormRowPairsShaped:
        case kLayerNormTwoWarpRow:
        case kLayerNormTwoWarpRowPairs:
        case kLayerNormTwoWarpFourRows:
            return shape_size(version, vecs_per_row, elems_per_vec) > 0;
        case kLayerNormTritonLayout:
            return triton_layout_warps(vecs_per_row) > 0;
        case kLayerNormFixedLength:
        case kLayerNormIdsAhead:
            return fixed_length_fits(vecs_per_row * elems_per_vec);
        case kLayerNormWarpOneReduction:  // the split does not depend on the row count
            return plan_warp_merged(vecs_per_row, elems_per_vec, 1, 1).split.threads_per_row > 0;
        case kLayerNormSpread:
            return plan_sized(vecs_per_row, elems_per_vec, kSpreadFloatsPerThread).threads_per_row > 0;
        default:
            return plan_sized(vecs_per_row, elems_per_vec).threads_per_row > 0;
    }
}

// Version 0 resolved: the measured choice where its split takes the row, else for v17 and v20 the table's choice
// for other widths (or v14, the choice v17 replaced) and that one's fallback, else v9 for v10, v12 and v16
// (a block per row, for any row of up to 1024 vectors), v8 for v11 and v13 (a warp or a few per
// row, several vectors a thread), v7 for v14 (a row spread over more threads than v3's, the fp32
// default from ~16K rows before v14; untimed on the rows v14 refuses) and for v15, v18 and v19 (their
// layout, sizes at run time), else v5 (which
// takes every row that any vector version takes: up to 256 threads x 32 floats), else the scalar v1.
inline int default_version(const MeasuredDefaults& measured, int element_bytes, bool vectorizable,
                           int vecs_per_row, int elems_per_vec, int64_t rows, int sms)
{
    if (!vectorizable || !split_fits(kLayerNormParamsEarly, vecs_per_row, elems_per_vec))
        return kLayerNormScalar;
    const int point = measured_point(rows, sms, element_bytes);
    int chosen = element_bytes == 2 ? measured.fp16[point] : measured.fp32[point];
    // v17 and v20 take rows of 768 and 1024 values only. Other rows run what the table names for them, or else
    // v14 and its own fallback: v17 took LayerNorm fp32's ~16K and ~64K points from v14 (run 25), and v16, v17's
    // layout with the length at run time, was slower than v14 at most cells timed. EmbLayerNorm's v20 (run 27)
    // leaves other rows their choices from before it (untimed at those widths, as they were).
    if ((chosen == kLayerNormFixedLength || chosen == kLayerNormIdsAhead) &&
        !split_fits(chosen, vecs_per_row, elems_per_vec)) {
        const int other = element_bytes == 2 ? measured.fp16_other_widths[point] : measured.fp32_other_widths[point];
        chosen = other != 0 ? other : kLayerNormRowPairsShaped;
    }
    if (!split_fits(chosen, vecs_per_row, elems_per_vec)) {  // v10-v19: their general twins
        if (chosen == kLayerNormOneReduction || chosen == kLayerNormBlockShape) chosen = kLayerNormBlockLoadsFirst;
        if (chosen == kLayerNormWarpOneReduction || chosen == kLayerNormWarpPerRow) chosen = kLayerNormParamsWithRow;
        if (chosen == kLayerNormRowPairsShaped || chosen == kLayerNormTwoWarpRow ||
            chosen == kLayerNormTwoWarpRowPairs || chosen == kLayerNormTwoWarpFourRows)
            chosen = kLayerNormSpread;
        if (chosen == kLayerNormTritonLayout) chosen = kLayerNormBlockLoadsFirst;
    }
    return split_fits(chosen, vecs_per_row, elems_per_vec) ? chosen : kLayerNormParamsEarly;
}

template <typename T, typename P, typename RowSource>
cudaError_t launch_layernorm_version(int version, const RowSource& source, bool vectorizable,
                                     T* output, const P* gamma, const P* beta, int64_t rows,
                                     const Normalization& norm, int& sms, cudaStream_t stream);

// Normalizes `rows` rows of `source` into output. `sources_aligned`: the source's own pointers
// allow 16-byte loads (the caller knows them); output/gamma/beta are checked here.
// Returns cudaErrorNotSupported when an explicitly requested version cannot take this shape,
// before launching anything.
template <typename T, typename P, typename RowSource>
cudaError_t launch_layernorm_rows(int version, const RowSource& source, bool sources_aligned,
                                  T* output, const P* gamma, const P* beta, int64_t rows,
                                  int32_t hidden, float epsilon, cudaStream_t stream)
{
    if (rows < 0 || hidden <= 0 || version < kLayerNormDefault || version > kLayerNormLastVersion)
        return cudaErrorInvalidValue;
    if (rows > 0 && (output == nullptr || gamma == nullptr || beta == nullptr))
        return cudaErrorInvalidValue;

    constexpr int kVec = kElemsPer16Bytes<T>;
    const Normalization norm = Normalization::of(hidden, epsilon);
    const bool vectorizable = sources_aligned && hidden % kVec == 0 && all_aligned16({output, gamma, beta});
    // The SM count steers both the default's choice and v4-v11's block sizes: asked at most once.
    int sms = 0;
    if (version == kLayerNormDefault) {
        const cudaError_t status = multiprocessor_count(&sms);
        if (status != cudaSuccess) return status;
        version = default_version(RowSource::kDefaults, sizeof(T), vectorizable, hidden / kVec, kVec,
                                  rows, sms);
    }
    const cudaError_t status =
        launch_layernorm_version(version, source, vectorizable, output, gamma, beta, rows, norm, sms, stream);
    if (status == cudaSuccess && rows > 0) note_launched_version(version);
    return status;
}

// launch_layernorm_rows for a version 1-20 (the default resolved); `sms`: the SM count, or 0 if
// not asked yet.
template <typename T, typename P, typename RowSource>
cudaError_t launch_layernorm_version(int version, const RowSource& source, bool vectorizable,
                                     T* output, const P* gamma, const P* beta, int64_t rows,
                                     const Normalization& norm, int& sms, cudaStream_t stream)
{
    constexpr int kVec = kElemsPer16Bytes<T>;
    const int vecs_per_row = norm.hidden / kVec;
    const auto count_sms = [&] { return sms > 0 ? cudaSuccess : multiprocessor_count(&sms); };

    // Whether a version applies depends on the shape only, so even 0 rows give the same answer.
    if (version == kLayerNormScalar) {
        if (rows == 0) return cudaSuccess;
        if (rows > INT32_MAX) return cudaErrorNotSupported;  // one block per row
        layernorm_rows_scalar<T, P><<<dim3(unsigned(rows)), kScalarBlockThreads, 0, stream>>>(
            source, output, gamma, beta, norm);
        return cudaGetLastError();
    }
    if (!vectorizable) return cudaErrorNotSupported;
    if (version == kLayerNormTritonLayout) {
        const int warps = triton_layout_warps(vecs_per_row);
        if (warps == 0) return cudaErrorNotSupported;
        if (rows == 0) return cudaSuccess;
        return launch_triton_layout<T, P>(warps, rows, stream, source, output, gamma, beta, norm);
    }
    if (version == kLayerNormFixedLength || version == kLayerNormIdsAhead) {
        if (!fixed_length_fits(norm.hidden)) return cudaErrorNotSupported;
        if (rows == 0) return cudaSuccess;
        return version == kLayerNormFixedLength
                   ? launch_fixed_length<T, P>(rows, stream, source, output, gamma, beta, norm)
                   : launch_ids_ahead<T, P>(rows, stream, source, output, gamma, beta, norm);
    }
    if (version >= kLayerNormBlockShape) {  // v12-v15, v18 and v19 (v16, v17 and v20 returned above)
        const int n = shape_size(version, vecs_per_row, kVec);
        if (n == 0) return cudaErrorNotSupported;
        if (rows == 0) return cudaSuccess;
        if (version == kLayerNormBlockShape)
            return launch_shaped<T, P, kLayerNormBlockShape, ShapeBlockPerRow>(n, rows, stream, source, output,
                                                                               gamma, beta, norm);
        if (version == kLayerNormWarpPerRow)
            return launch_shaped<T, P, kLayerNormWarpPerRow, ShapeWarpPerRow>(n, rows, stream, source, output,
                                                                              gamma, beta, norm);
        if (version == kLayerNormRowPairsShaped)
            return launch_shaped<T, P, kLayerNormRowPairsShaped, ShapeRowPairs>(n, rows, stream, source, output,
                                                                                gamma, beta, norm);
        if (version == kLayerNormTwoWarpRow)
            return launch_shaped<T, P, kLayerNormTwoWarpRow, ShapeTwoWarpRow>(n, rows, stream, source, output,
                                                                              gamma, beta, norm);
        if (version == kLayerNormTwoWarpRowPairs)
            return launch_shaped<T, P, kLayerNormTwoWarpRowPairs, ShapeTwoWarpRowPairs>(n, rows, stream, source,
                                                                                        output, gamma, beta, norm);
        return launch_shaped<T, P, kLayerNormTwoWarpFourRows, ShapeTwoWarpFourRows>(n, rows, stream, source, output,
                                                                                    gamma, beta, norm);
    }
    if (version >= kLayerNormLoadsFirst) {  // v4-v11
        const cudaError_t status = count_sms();
        if (status != cudaSuccess) return status;
        const LoadsFirstPlan plan =
            version == kLayerNormBlockLoadsFirst ? plan_block_per_row(vecs_per_row)
            : version == kLayerNormOneReduction ? plan_block_merged(vecs_per_row)
            : version == kLayerNormWarpOneReduction ? plan_warp_merged(vecs_per_row, kVec, rows, sms)
                : plan_loads_first(vecs_per_row, kVec, rows, sms, version == kLayerNormRowPairs,
                                   version == kLayerNormSpread ? kSpreadFloatsPerThread
                                                               : kMaxFloatsPerThread);
        if (plan.split.threads_per_row == 0) return cudaErrorNotSupported;
        if (rows == 0) return cudaSuccess;
        const int64_t groups = (rows + plan.rows_per_group - 1) / plan.rows_per_group;
        const int groups_per_block = plan.block_threads / plan.split.threads_per_row;
        const int64_t blocks = (groups + groups_per_block - 1) / groups_per_block;
        if (blocks > INT32_MAX) return cudaErrorNotSupported;
        const dim3 grid{unsigned(blocks)}, block{unsigned(plan.block_threads)};
        const int tpr = plan.split.threads_per_row, vecs = plan.split.vecs_per_thread;
        switch (version) {
            case kLayerNormParamsEarly:
                return launch_loads_first<T, P, 1, ParamsLoad::kBeforeReductions>(
                    vecs, grid, block, stream, source, output, gamma, beta, rows, norm, tpr);
            case kLayerNormParamsWithRow:
                return launch_loads_first<T, P, 1, ParamsLoad::kWithRow>(
                    vecs, grid, block, stream, source, output, gamma, beta, rows, norm, tpr);
            case kLayerNormBlockLoadsFirst:
                return launch_loads_first<T, P, 1, ParamsLoad::kWithRow, Statistics::kTwoReductions, true>(
                    vecs, grid, block, stream, source, output, gamma, beta, rows, norm, tpr);
            case kLayerNormOneReduction:
                return launch_loads_first<T, P, 1, ParamsLoad::kWithRow, Statistics::kOneReduction, true>(
                    vecs, grid, block, stream, source, output, gamma, beta, rows, norm, tpr);
            case kLayerNormWarpOneReduction:
                return launch_loads_first<T, P, 1, ParamsLoad::kWithRow, Statistics::kOneReduction>(
                    vecs, grid, block, stream, source, output, gamma, beta, rows, norm, tpr);
            default:  // v4, v6, v7
                if (plan.rows_per_group == 2)
                    return launch_loads_first<T, P, 2, ParamsLoad::kInOutputLoop>(
                        vecs, grid, block, stream, source, output, gamma, beta, rows, norm, tpr);
                return launch_loads_first<T, P, 1, ParamsLoad::kInOutputLoop>(
                    vecs, grid, block, stream, source, output, gamma, beta, rows, norm, tpr);
        }
    }
    const RegisterPlan plan = version == kLayerNormBlockVector ? plan_block_vector(vecs_per_row)
                                                               : plan_sized(vecs_per_row, kVec);
    if (plan.threads_per_row == 0) return cudaErrorNotSupported;
    if (rows == 0) return cudaSuccess;
    const int block = plan.threads_per_row <= kWarpSize ? kRowsBlockThreads : plan.threads_per_row;
    const int64_t blocks = (rows + block / plan.threads_per_row - 1) / (block / plan.threads_per_row);
    if (blocks > INT32_MAX) return cudaErrorNotSupported;
    return launch_registers<T, P>(plan.vecs_per_thread, dim3(unsigned(blocks)), dim3(block),
                                  stream, source, output, gamma, beta, rows, norm,
                                  plan.threads_per_row);
}

}  // namespace bert
