// Sums across the threads that share one row: a (part of a) warp through register shuffles,
// or a whole block through a little shared memory.
#pragma once

namespace bert {

constexpr int kWarpSize = 32;
constexpr unsigned kFullWarp = 0xffffffffu;

// Butterfly sums over aligned groups of `group_size` lanes (a power of two <= 32), of kRows
// independent values at once (the rows a thread group holds side by side): after it, every lane
// of a group holds each of the group's sums. XOR offsets below group_size never leave the group,
// so several rows can share one warp. Each step shuffles all kRows values before the next step
// needs any result, so the kRows chains overlap and cost about the latency of one. Every lane
// of the warp must call it (full mask).
// The five possible steps are unrolled and the ones at or past group_size skipped by a (warp-
// uniform) predicate: a loop with a run-time trip count cost ~8 instructions a step, a fifth
// of an fp16 BERT row's whole instruction count (SASS of LayerNorm v8).
template <int kRows, typename V>
__device__ __forceinline__ void group_sums(V (&values)[kRows], int group_size)
{
#pragma unroll
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
        if (offset >= group_size) continue;
#pragma unroll
        for (int r = 0; r < kRows; ++r) values[r] += __shfl_xor_sync(kFullWarp, values[r], offset);
    }
}

template <typename V>
__device__ __forceinline__ V group_sum(V value, int group_size)
{
    V values[1] = {value};
    group_sums(values, group_size);
    return values[0];
}

template <typename V>
__device__ __forceinline__ V warp_sum(V value)
{
    return group_sum(value, kWarpSize);
}

// Which of a block's warp partials this lane reads when the warps add them by a butterfly
// (add_warp_partials, block_merge).
struct WarpSlots {
    int warps;  // in the block
    int span;   // warps rounded up to a power of two
    int index;  // the slot this lane reads: lane % span
};
__device__ __forceinline__ WarpSlots warp_slots()
{
    const int warps = blockDim.x / kWarpSize;
    const int span = 1 << (32 - __clz(warps - 1));  // __clz(0) = 32: one warp, span 1
    return {warps, span, int(threadIdx.x) & (span - 1)};
}

// The block's total of kRows values that each warp has summed and left in partials[r][warp]
// (visible to every thread: after a barrier), in every thread. Each warp adds the partials itself
// with a butterfly over `span` lanes, the warp count rounded up to a power of two: lane l takes
// partial l % span (zero past the last warp), so every aligned group of span lanes holds all of
// them and ends with the total. A loop over the partials with a run-time trip count was ~30
// instructions a reduction, an eighth of a one-vector-per-thread row's (SASS of LayerNorm v9).
// Reads of one word by several lanes are broadcast: no bank conflicts.
template <int kRows, typename V>
__device__ __forceinline__ void add_warp_partials(V (&values)[kRows], const V (&partials)[kRows][kWarpSize])
{
    const WarpSlots slots = warp_slots();
#pragma unroll
    for (int r = 0; r < kRows; ++r)
        values[r] = slots.index < slots.warps ? partials[r][slots.index] : V(0);
    group_sums(values, slots.span);
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
// Each warp reduces in registers and leaves one partial in shared memory; then every thread adds
// the <= 32 partials itself. Those reads all hit the same address at once, which shared memory
// broadcasts: no bank conflicts, and no third barrier to hand a result back.
// Every thread of the block must call it (it has barriers).
template <typename V>
__device__ __forceinline__ V block_sum(V value)
{
    __shared__ V warp_partials[kWarpSize];
    value = warp_sum(value);
    const int warp = threadIdx.x / kWarpSize;
    if (threadIdx.x % kWarpSize == 0) warp_partials[warp] = value;
    __syncthreads();
    V total = 0;
    const int warps = blockDim.x / kWarpSize;
    for (int w = 0; w < warps; ++w) total += warp_partials[w];
    __syncthreads();  // the next call may overwrite warp_partials only once all have read them
    return total;
}

// Sum over the `threads_per_row` threads that own one row: shuffles alone when they fit in a
// warp (several rows per block), otherwise the block (then one row per block).
template <typename V>
__device__ __forceinline__ V row_sum(V value, int threads_per_row)
{
    return threads_per_row <= kWarpSize ? group_sum(value, threads_per_row) : block_sum(value);
}

// The block-wide sums of kRows values at once (every thread gets them): each warp butterflies all
// kRows together, its lane 0 leaves them in `partials`, and after one barrier every warp adds the
// partials (add_warp_partials). No trailing barrier, unlike block_sum: `partials` must not be
// written again before another barrier, so a kernel that reduces twice gives each reduction its
// own buffer. Every thread must call it.
template <int kRows, typename V>
__device__ __forceinline__ void block_sums(V (&values)[kRows], V (&partials)[kRows][kWarpSize])
{
    group_sums(values, kWarpSize);
    if (threadIdx.x % kWarpSize == 0) {
#pragma unroll
        for (int r = 0; r < kRows; ++r) partials[r][threadIdx.x / kWarpSize] = values[r];
    }
    __syncthreads();
    add_warp_partials(values, partials);
}

// row_sum of kRows independent values at once: group_sums within a warp; past a warp the group
// is the block, and block_sums (above, with the caller's `partials`) takes all kRows in one barrier.
template <int kRows, typename V>
__device__ __forceinline__ void row_sums(V (&values)[kRows], int threads_per_row,
                                         V (&partials)[kRows][kWarpSize])
{
    if (threads_per_row <= kWarpSize) {
        group_sums(values, threads_per_row);
    } else {
        block_sums(values, partials);
    }
}

// ---- Moments: a mean and a variance in one reduction (v10, v11 of the LayerNorm family) -----
// A group's moments are the sum of its values and the sum of their squared deviations from the
// group's own mean ("M2"). Two groups of n values each merge exactly (Chan, Golub and LeVeque,
// 1979):  sum = sum_a + sum_b,  M2 = M2_a + M2_b + (sum_a - sum_b)^2 / (2n).
// So one butterfly gives both statistics, where mean-then-deviations needs two reductions one
// after the other (at ~128 rows a LayerNorm is that chain of latencies).
// The sums are of x - shift, one shift per warp (its lane 0's first value, one shuffle): sum_a -
// sum_b of raw values cancels like the mean itself (a row with mean 1000 and std 1: relative
// variance error ~3e-5 in fp32, where two passes give ~1e-7), of shifted values it does not.
// Both lanes of a pair compute the same expressions of the same operands (a - b and b - a are
// exact negations, and their squares equal), so every lane ends with the same bits, as sums do.
struct alignas(16) Moments {  // 16 bytes: one shared-memory store and load a warp partial
    float shift;    // sum is of x - shift (the same for every lane of a warp)
    float sum;
    float squares;  // the sum of squared deviations from the group's mean
};

// The sum of N values as a balanced tree: log2(N) dependent additions instead of N - 1.
template <int N>
__device__ __forceinline__ float tree_sum(const float* values)
{
    if constexpr (N == 1) {
        return values[0];
    } else {
        return tree_sum<N / 2>(values) + tree_sum<N - N / 2>(values + N / 2);
    }
}

// Moments of the kA x kB values one thread holds, shifted by `shift`: the deviations from their
// own mean. Both sums are trees: a thread's 24 values (v11) added one by one were ~50 dependent
// instructions at the start of the reduction chain. The deviations are taken from x itself (the
// shifted values, kept until then, cost v11 fp16 36 registers more: 64 -> 100).
template <int kA, int kB>
__device__ __forceinline__ Moments thread_moments(const float (&x)[kA][kB], float shift)
{
    constexpr int kCount = kA * kB;
    float terms[kCount];
#pragma unroll
    for (int a = 0; a < kA; ++a)
#pragma unroll
        for (int b = 0; b < kB; ++b) terms[a * kB + b] = x[a][b] - shift;
    const float sum = tree_sum<kCount>(terms);
    const float mean = shift + sum * (1.0f / kCount);
#pragma unroll
    for (int a = 0; a < kA; ++a)
#pragma unroll
        for (int b = 0; b < kB; ++b) terms[a * kB + b] = (x[a][b] - mean) * (x[a][b] - mean);
    return {shift, sum, tree_sum<kCount>(terms)};
}

// group_sums for moments: merges over aligned groups of `group_size` lanes (a power of two <= 32)
// where every lane starts with the moments of kCount values, all with one shift per group.
// Going up from offset 1, the two sides of offset o hold o * kCount values each, a constant of
// the unrolled step. Every lane of the warp must call it (full mask).
template <int kCount, int kRows>
__device__ __forceinline__ void group_merge(Moments (&m)[kRows], int group_size)
{
#pragma unroll
    for (int offset = 1; offset < kWarpSize; offset *= 2) {
        if (offset >= group_size) continue;
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            const float other_sum = __shfl_xor_sync(kFullWarp, m[r].sum, offset);
            const float other_squares = __shfl_xor_sync(kFullWarp, m[r].squares, offset);
            const float gap = m[r].sum - other_sum;
            m[r].squares = fmaf(gap * (0.5f / (offset * kCount)), gap, m[r].squares + other_squares);
            m[r].sum += other_sum;
        }
    }
}

// block_sums for moments, every warp of the block holding 32 * kCount values. Each warp merges in
// registers and its lane 0 leaves the warp's moments in `partials`; after one barrier every warp
// merges the partials itself. There the groups can be unequal (6 warps: 4 + 2), so instead of
// pairwise merges, two plain sums over the butterfly of add_warp_partials, with every warp's sum
// moved to warp 0's shift K (T_j = S_j + n (K_j - K): K_j - K is exact for nearby shifts) and
// warp 0's mean as the reference: M2 = sum_j [M2_j + (T_j - T_0)^2 / n] - (T - W T_0)^2 / N for
// W warps of n values and a row of N. The subtracted term is N (mean - mean_0)^2, which the sum
// holds at most W times over: it cancels a factor W at worst, not the one-pass formula's
// mean^2 / variance. `inv_total` is 1 / N. The result's shift is K. Same barrier rule as
// block_sums: one buffer per call; every thread must call it.
template <int kCount, int kRows>
__device__ __forceinline__ void block_merge(Moments (&m)[kRows], float inv_total,
                                            Moments (&partials)[kRows][kWarpSize])
{
    group_merge<kCount>(m, kWarpSize);
    if (threadIdx.x % kWarpSize == 0) {
#pragma unroll
        for (int r = 0; r < kRows; ++r) partials[r][threadIdx.x / kWarpSize] = m[r];
    }
    __syncthreads();
    constexpr float kWarpCount = kWarpSize * kCount;
    const WarpSlots slots = warp_slots();
    const bool has_warp = slots.index < slots.warps;
    float sums[2 * kRows];  // [r]: T_j; [kRows + r]: M2_j + (T_j - T_0)^2 / n
    float first_sum[kRows];  // T_0
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        const Moments first = partials[r][0];
        const Moments mine = has_warp ? partials[r][slots.index] : first;
        const float rebased = fmaf(kWarpCount, mine.shift - first.shift, mine.sum);
        const float gap = rebased - first.sum;
        sums[r] = has_warp ? rebased : 0.0f;
        sums[kRows + r] = has_warp ? fmaf(gap * (1.0f / kWarpCount), gap, mine.squares) : 0.0f;
        first_sum[r] = first.sum;
        m[r].shift = first.shift;
    }
    group_sums(sums, slots.span);
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
        const float drift = fmaf(-float(slots.warps), first_sum[r], sums[r]);  // N (mean - mean_0)
        const float squares = fmaf(-drift * inv_total, drift, sums[kRows + r]);
        m[r].sum = sums[r];
        m[r].squares = squares < 0.0f ? 0.0f : squares;  // rounding; a NaN stays NaN
    }
}

// row_sums for moments: within a sub-warp group, or over the block (inv_total: 1 / the row's
// count). Every thread of the block must call it.
template <int kCount, int kRows>
__device__ __forceinline__ void row_merge(Moments (&m)[kRows], int threads_per_row, float inv_total,
                                          Moments (&partials)[kRows][kWarpSize])
{
    if (threads_per_row <= kWarpSize) {
        group_merge<kCount>(m, threads_per_row);
    } else {
        block_merge<kCount>(m, inv_total, partials);
    }
}


// The block-wide sums of kRows values (one a row per thread), with kWarps warps (a power of two), the way
// torch.compile's Triton kernels reduce (LayerNorm v16; the shape sweep's port of Triton's kernel): each
// warp's butterfly, its lane 0's sums into `partials` (row r's of warp w at r * kWarps + w), a barrier,
// then warp 0 adds each row's kWarps partials with a second butterfly over lanes r * kWarps .. r * kWarps
// + kWarps - 1 and writes the total back at r * kWarps; after a second barrier every thread reads the
// totals. (block_sums, above, has every thread add the partials instead, after one barrier.) No trailing
// barrier: a kernel that reduces twice gives each reduction its own buffer. Every thread must call it.
template <int kWarps, int kRows>
__device__ __forceinline__ void block_sums_by_warp0(float (&values)[kRows], float (&partials)[kRows * kWarps])
{
    static_assert((kWarps & (kWarps - 1)) == 0 && kRows * kWarps <= kWarpSize, "one warp adds the partials");
#pragma unroll
    for (int r = 0; r < kRows; ++r) values[r] = warp_sum(values[r]);
    if constexpr (kWarps > 1) {
        const int t = int(threadIdx.x);
        if (t % kWarpSize == 0) {
#pragma unroll
            for (int r = 0; r < kRows; ++r) partials[r * kWarps + t / kWarpSize] = values[r];
        }
        __syncthreads();
        if (t < kWarpSize) {
            float partial = t < kRows * kWarps ? partials[t] : 0.0f;
#pragma unroll
            for (int offset = kWarps / 2; offset > 0; offset /= 2) partial += __shfl_xor_sync(kFullWarp, partial, offset);
            if (t < kRows * kWarps && t % kWarps == 0) partials[t] = partial;
        }
        __syncthreads();
#pragma unroll
        for (int r = 0; r < kRows; ++r) values[r] = partials[r * kWarps];
    }
}

// 1 / sqrt(x) as the hardware gives it (MUFU.RSQ), denormal inputs flushed to 0 (their result +inf):
// rsqrtf without the guard that scales a denormal input first. The same bits as rsqrtf for any x that
// is not denormal, e.g. a variance (never negative) plus an epsilon >= FLT_MIN.
__device__ __forceinline__ float rsqrt_ftz(float x)
{
    float r;
    asm("rsqrt.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
    return r;
}

}  // namespace bert
