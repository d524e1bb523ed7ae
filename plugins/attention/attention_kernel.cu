// QkvToContext: context = softmax(Q K^T * scale, padded keys masked) V for every head of every
// sequence, reading Q, K and V straight out of the fused QKV GEMM output.
//
// Versions, simplest first (llm.c style: each one is a complete, correct kernel):
//   v1  plain: one block per (sequence, head, tile of query rows). The tile's raw scores live in
//       shared memory as fp32, a whole-row softmax follows, then P V. fp32 and fp16 (one template).
//       Every dot product is a loop over global memory: obviously correct, not fast.
//   v2  fp16 tensor cores, flash-attention style: 4 warps, 64 query rows per block, each warp owns
//       16 rows whose Q stays in registers while 64-key K/V tiles stream through shared memory
//       (cp.async, double buffered). mma.sync m16n8k16 computes S = Q K^T and O += P V; the
//       softmax is "online": running max and sum in fp32 registers rescale O as new keys arrive,
//       so the seq_len x seq_len score matrix never exists anywhere.
//   v3  the v2 kernel with 8 warps (128 query rows per block): every K/V tile staged in shared
//       memory serves twice as many queries, halving the K/V traffic from L2.
//   v4  the v2 kernel with 4 warps of 32 query rows (two 16-row mma tiles each, 128 per block):
//       every K/V fragment read from shared memory feeds two mma instead of one, halving the
//       shared-memory reads per mma, at the price of ~250 registers a thread (8 warps per SM).
//   Measured on H100 (README.md), neither pays: v3 is 2-3% faster than v2 at batch 32 x 384
//   only and up to 60% slower on small grids, v4 is never faster. They stay as numbered
//   experiments; bertQkvToContext runs v2 where it can (fp16, head size 32/64/128, 16-byte
//   aligned buffers), v1 otherwise.
#include "attention_kernel.h"
#include "common/vector_io.cuh"

#include <cuda_fp16.h>
#include <math.h>

namespace
{

// Everything a kernel needs to find its rows; passed by value.
struct AttentionParams
{
    const void* qkv;            // [tokens, 3 * hidden]
    void* context;              // [tokens, hidden]
    const int32_t* seq_lens;    // padded mode: valid keys per sequence (NULL: all seq_len valid)
    const int32_t* cu_seqlens;  // packed mode: [batch + 1] first row of each sequence
    int32_t seq_len;            // padded: rows per sequence; packed: the longest sequence
    int32_t num_heads;
    int32_t head_size;
    float scale;
};

// Where one sequence lives and how much of it is real.
struct SequenceSpan
{
    int64_t first_row;   // row of qkv/context holding its token 0
    int32_t query_rows;  // rows to compute (padded mode: all seq_len, padded ones included)
    int32_t key_rows;    // keys attended: the first key_rows rows of the sequence
};

// Lengths are clamped to [0, seq_len]: shared-memory buffers and grids are sized by seq_len, so
// a length beyond it (a caller bug) must not turn into an out-of-bounds access.
__device__ SequenceSpan sequence_span(const AttentionParams& p, int batch_index)
{
    if (p.cu_seqlens != nullptr)
    {
        const int32_t first = p.cu_seqlens[batch_index];
        const int32_t length = min(max(p.cu_seqlens[batch_index + 1] - first, 0), p.seq_len);
        return {first, length, length};
    }
    const int32_t valid_keys
        = p.seq_lens != nullptr ? min(max(p.seq_lens[batch_index], 0), p.seq_len) : p.seq_len;
    return {static_cast<int64_t>(batch_index) * p.seq_len, p.seq_len, valid_keys};
}

using bert::from_float;  // storage type <-> fp32, shared with the LayerNorm-family kernels
using bert::to_float;

__device__ __forceinline__ float warp_max(float x)
{
    for (int offset = 16; offset > 0; offset /= 2)
        x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
    return x;
}

__device__ __forceinline__ float warp_sum(float x)
{
    for (int offset = 16; offset > 0; offset /= 2)
        x += __shfl_xor_sync(0xffffffffu, x, offset);
    return x;
}

constexpr int ceil_div(int a, int b) { return (a + b - 1) / b; }

// ------------------------------------------------------------------------------------------------
// v1: plain. Shared memory holds the tile's queries (fp32, pre-scaled) and its rows of scores.
// ------------------------------------------------------------------------------------------------
constexpr int kV1Threads = 128;
constexpr int kV1MaxQueryRows = 16;          // rows per block when shared memory allows
constexpr size_t kV1SharedBytes = 48 * 1024; // the default per-block limit: no opt-in needed

template <typename T>
__global__ void __launch_bounds__(kV1Threads)
    attention_v1_kernel(AttentionParams p, int rows_per_block)
{
    extern __shared__ float v1_shared[];
    const int head = blockIdx.y;
    const SequenceSpan seq = sequence_span(p, blockIdx.z);
    const int first_query = blockIdx.x * rows_per_block;
    if (first_query >= seq.query_rows)
        return;
    const int rows = min(rows_per_block, seq.query_rows - first_query);
    const int keys = seq.key_rows;
    const int head_size = p.head_size;
    const int hidden = p.num_heads * head_size;
    const int64_t qkv_stride = 3 * static_cast<int64_t>(hidden);

    const T* qkv = static_cast<const T*>(p.qkv);
    const T* q = qkv + (seq.first_row + first_query) * qkv_stride + head * head_size;
    const T* k = qkv + seq.first_row * qkv_stride + hidden + head * head_size;
    const T* v = k + hidden;
    float* queries = v1_shared;                            // [rows_per_block][head_size]
    float* scores = v1_shared + rows_per_block * head_size; // [rows][keys]

    for (int i = threadIdx.x; i < rows * head_size; i += blockDim.x)
        queries[i] = to_float(q[(i / head_size) * qkv_stride + i % head_size]) * p.scale;
    __syncthreads();

    // Padded keys (index >= keys) are never scored: skipping them is the key mask.
    for (int i = threadIdx.x; i < rows * keys; i += blockDim.x)
    {
        const int row = i / keys, key = i % keys;
        const float* query = queries + row * head_size;
        const T* key_vec = k + key * qkv_stride;
        float dot = 0.f;
        for (int d = 0; d < head_size; ++d)
            dot += query[d] * to_float(key_vec[d]);
        scores[i] = dot;
    }
    __syncthreads();

    // Softmax of each row, one warp per row: subtract the max so exp never overflows.
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int row = warp; row < rows; row += blockDim.x / 32)
    {
        float* s = scores + row * keys;
        float row_max = -INFINITY;
        for (int j = lane; j < keys; j += 32)
            row_max = fmaxf(row_max, s[j]);
        row_max = warp_max(row_max);
        float row_sum = 0.f;
        for (int j = lane; j < keys; j += 32)
        {
            s[j] = expf(s[j] - row_max);
            row_sum += s[j];
        }
        row_sum = warp_sum(row_sum);
        const float inv_sum = 1.f / row_sum;  // keys == 0: the loop below sees no key
        for (int j = lane; j < keys; j += 32)
            s[j] *= inv_sum;
    }
    __syncthreads();

    // context = P V; consecutive threads take consecutive features, so V reads coalesce.
    // A sequence with no valid key gets a zero context (an empty weighted sum).
    T* context = static_cast<T*>(p.context);
    for (int i = threadIdx.x; i < rows * head_size; i += blockDim.x)
    {
        const int row = i / head_size, d = i % head_size;
        const float* probs = scores + row * keys;
        float acc = 0.f;
        for (int j = 0; j < keys; ++j)
            acc += probs[j] * to_float(v[j * qkv_stride + d]);
        context[(seq.first_row + first_query + row) * hidden + head * head_size + d]
            = from_float<T>(acc);
    }
}

template <typename T>
cudaError_t launch_v1(const AttentionParams& p, int batch, cudaStream_t stream)
{
    // Rows per block: as many as fit (queries + one score row per query row) in 48 KB.
    const size_t bytes_per_row = sizeof(float) * (p.head_size + static_cast<size_t>(p.seq_len));
    const int rows = static_cast<int>(
        kV1SharedBytes / bytes_per_row < kV1MaxQueryRows ? kV1SharedBytes / bytes_per_row
                                                         : kV1MaxQueryRows);
    if (rows == 0)
        return cudaErrorInvalidValue;  // seq_len beyond ~12K keys: not supported by v1
    const dim3 grid(ceil_div(p.seq_len, rows), p.num_heads, batch);
    attention_v1_kernel<T><<<grid, kV1Threads, rows * bytes_per_row, stream>>>(p, rows);
    return cudaGetLastError();
}

// ------------------------------------------------------------------------------------------------
// v2/v3: fp16 tensor cores. PTX wrappers first; each says which fragment it produces.
// ------------------------------------------------------------------------------------------------
// 16-byte global -> shared copy that bypasses registers (and L1); with `valid` false it writes
// 16 zero bytes instead, which is how out-of-range rows become zeros.
__device__ __forceinline__ void cp_async_16(void* shared, const void* global, bool valid)
{
    const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(address), "l"(global),
                 "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
// Wait until at most `kPending` of this thread's committed groups are still in flight.
template <int kPending>
__device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// Four 8x8 fp16 matrices from shared memory; lane i gives the address of row i % 8 of matrix
// i / 8 and receives, per matrix, row lane / 4, columns 2 * (lane % 4) + {0, 1}.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const __half* shared)
{
    const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}
// The same, transposed: per matrix the lane receives rows 2 * (lane % 4) + {0, 1} of column
// lane / 4.
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const __half* shared)
{
    const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
}

// c[16x8] += a[16x16] b[16x8], fp16 inputs, fp32 accumulators. With g = lane / 4, t = lane % 4:
//   a = {(g, 2t..2t+1), (g+8, 2t..), (g, 2t+8..), (g+8, 2t+8..)}   (row, columns) pairs of fp16
//   b = {(2t..2t+1, g), (2t+8.., g)}                                 (rows, column)
//   c = {(g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1)}
__device__ __forceinline__ void mma_16x8x16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                            uint32_t b1)
{
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, "
        "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_half2(float low, float high)
{
    const __half2 h = __floats2half2_rn(low, high);
    return *reinterpret_cast<const uint32_t*>(&h);
}

// 2^x in one MUFU instruction; 2^-inf = 0, which is what a masked score must become.
__device__ __forceinline__ float fast_exp2(float x)
{
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
    return y;
}

constexpr int kMmaRows = 16;      // rows of one mma tile = the M of m16n8k16
constexpr int kKeysPerTile = 64;  // keys staged in shared memory per step

// kWarps warps per block, each owning kRowTiles 16-row mma tiles of queries.
template <int kHeadSize, int kWarps, int kRowTiles>
struct TensorCoreTiling
{
    static_assert(kHeadSize % 16 == 0, "head_size must be a multiple of the mma K (16)");
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kWarpRows = kRowTiles * kMmaRows;
    static constexpr int kQueryRows = kWarps * kWarpRows;
    // Shared rows are padded by 16 bytes: with a row pitch of kHeadSize * 2 bytes (a multiple of
    // 128) the 8 rows an ldmatrix reads would all start in the same bank (8-way conflict); an
    // extra 16 bytes moves each row 4 banks on, so 8 rows cover all 32 banks exactly once.
    static constexpr int kPitch = kHeadSize + 8;  // in halves
    static constexpr int kTileHalves = kKeysPerTile * kPitch;
    // Q tile, then two K tiles and two V tiles (double buffering).
    static constexpr size_t kSharedBytes
        = sizeof(__half) * (static_cast<size_t>(kQueryRows) * kPitch + 4 * kTileHalves);
    // Registers: with one row tile (and head_size <= 64) the kernel is asked to fit 16 warps per
    // SM, i.e. <= 128 registers a thread (it takes 134 unbounded; the 16 bytes spilled serve only
    // the cp.async address code), so one warp's loads hide behind another's math. On H100 that
    // was 4-8% faster at seq 384, 10% slower at 32 x 128 and equal elsewhere than 12 warps per
    // SM. Two row tiles need ~250 registers and head size 128 ~210: no target.
    static constexpr int kMinBlocksPerSM = kRowTiles == 1 && kHeadSize <= 64 ? 16 / kWarps : 1;
};

// Copies rows [first_row, first_row + kRows) of a head's slice (row r at src + r * src_stride) into
// a padded shared tile, 16 bytes per cp.async; rows >= valid_rows are zero-filled. Zeros (not
// stale shared memory) matter: a masked key's probability is 0, but 0 * NaN would still be NaN.
template <int kRows, int kHeadSize, int kThreads>
__device__ __forceinline__ void load_tile_async(__half* tile, const __half* src, int64_t src_stride,
                                                int first_row, int valid_rows)
{
    constexpr int kChunksPerRow = kHeadSize / 8;
    constexpr int kPitch = kHeadSize + 8;
    for (int i = threadIdx.x; i < kRows * kChunksPerRow; i += kThreads)
    {
        const int row = i / kChunksPerRow, chunk = i % kChunksPerRow;
        const bool valid = first_row + row < valid_rows;
        // An invalid row copies nothing, but the address must still be a legal one.
        const __half* from = valid ? src + (first_row + row) * src_stride + chunk * 8 : src;
        cp_async_16(tile + row * kPitch + chunk * 8, from, valid);
    }
}

template <int kHeadSize, int kWarps, int kRowTiles>
__global__ void __launch_bounds__(kWarps * 32,
                                  (TensorCoreTiling<kHeadSize, kWarps, kRowTiles>::kMinBlocksPerSM))
    attention_tensor_core_kernel(AttentionParams p)
{
    using Tiling = TensorCoreTiling<kHeadSize, kWarps, kRowTiles>;
    constexpr int kThreads = Tiling::kThreads;
    constexpr int kPitch = Tiling::kPitch;
    constexpr int kKeySteps = kHeadSize / 16;       // mma K steps of S = Q K^T
    constexpr int kKeyBlocks = kKeysPerTile / 8;    // n-blocks of 8 keys in S
    constexpr int kFeatureBlocks = kHeadSize / 8;   // n-blocks of 8 features in O

    extern __shared__ __align__(16) unsigned char tc_shared[];
    __half* q_tile = reinterpret_cast<__half*>(tc_shared);
    __half* k_tiles = q_tile + Tiling::kQueryRows * kPitch;
    __half* v_tiles = k_tiles + 2 * Tiling::kTileHalves;

    const int head = blockIdx.y;
    const SequenceSpan seq = sequence_span(p, blockIdx.z);
    const int first_query = blockIdx.x * Tiling::kQueryRows;
    if (first_query >= seq.query_rows)
        return;
    const int hidden = p.num_heads * kHeadSize;
    const int64_t qkv_stride = 3 * static_cast<int64_t>(hidden);
    const __half* q_src = static_cast<const __half*>(p.qkv) + seq.first_row * qkv_stride
                          + head * kHeadSize;
    const __half* k_src = q_src + hidden;
    const __half* v_src = q_src + 2 * hidden;
    const int key_tiles = ceil_div(seq.key_rows, kKeysPerTile);

    // Group 0: Q and the first K/V tile.
    load_tile_async<Tiling::kQueryRows, kHeadSize, kThreads>(q_tile, q_src, qkv_stride,
                                                             first_query, seq.query_rows);
    if (key_tiles > 0)
    {
        load_tile_async<kKeysPerTile, kHeadSize, kThreads>(k_tiles, k_src, qkv_stride, 0,
                                                           seq.key_rows);
        load_tile_async<kKeysPerTile, kHeadSize, kThreads>(v_tiles, v_src, qkv_stride, 0,
                                                           seq.key_rows);
    }
    cp_async_commit();

    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const __half* warp_q = q_tile + warp * Tiling::kWarpRows * kPitch;
    // Per row tile `m`, this lane holds rows g = lane / 4 and g + 8 (see mma_16x8x16): index
    // [m][0] is row g, [m][1] row g + 8. Statistics are in the log2 domain, as fp32 registers.
    uint32_t q_frag[kRowTiles][kKeySteps][4];
    float out[kRowTiles][kFeatureBlocks][4] = {};
    float row_max[kRowTiles][2];  // of score * scale * log2(e), over the keys seen so far
    float row_sum[kRowTiles][2];  // this lane's part of sum 2^(score - row_max)
#pragma unroll
    for (int m = 0; m < kRowTiles; ++m)
        for (int r = 0; r < 2; ++r)
        {
            row_max[m][r] = -INFINITY;
            row_sum[m][r] = 0.f;
        }
    const float scale_log2 = p.scale * 1.4426950408889634f;  // exp(x) = 2^(x log2 e)

    for (int tile = 0; tile < key_tiles; ++tile)
    {
        // Prefetch the next K/V tile into the other buffer while this one is used.
        const int buffer = tile & 1;
        if (tile + 1 < key_tiles)
        {
            const int next = (buffer ^ 1) * Tiling::kTileHalves;
            load_tile_async<kKeysPerTile, kHeadSize, kThreads>(
                k_tiles + next, k_src, qkv_stride, (tile + 1) * kKeysPerTile, seq.key_rows);
            load_tile_async<kKeysPerTile, kHeadSize, kThreads>(
                v_tiles + next, v_src, qkv_stride, (tile + 1) * kKeysPerTile, seq.key_rows);
            cp_async_commit();
            cp_async_wait<1>();  // everything but the prefetch has landed
        }
        else
        {
            cp_async_wait<0>();
        }
        __syncthreads();  // ... for every thread's copies, not just this thread's

        if (tile == 0)  // Q fragments stay in registers for the whole key loop
        {
#pragma unroll
            for (int m = 0; m < kRowTiles; ++m)
#pragma unroll
                for (int step = 0; step < kKeySteps; ++step)
                    ldmatrix_x4(q_frag[m][step], warp_q + (m * kMmaRows + lane % 16) * kPitch
                                                     + step * 16 + (lane / 16) * 8);
        }

        // S = Q K^T for the warp's rows x 64 keys. K is stored [key][feature], which is exactly
        // the "column-major B" mma wants; one ldmatrix_x4 yields B for two 8-key blocks, used by
        // every row tile (more row tiles per warp = fewer shared-memory reads per mma).
        const __half* k_tile = k_tiles + buffer * Tiling::kTileHalves;
        float s[kRowTiles][kKeyBlocks][4] = {};
#pragma unroll
        for (int step = 0; step < kKeySteps; ++step)
        {
#pragma unroll
            for (int kb = 0; kb < kKeyBlocks; kb += 2)
            {
                uint32_t b[4];
                ldmatrix_x4(b, k_tile + (kb * 8 + lane % 8 + (lane / 16) * 8) * kPitch
                                   + step * 16 + ((lane / 8) % 2) * 8);
#pragma unroll
                for (int m = 0; m < kRowTiles; ++m)
                {
                    mma_16x8x16(s[m][kb], q_frag[m][step], b[0], b[1]);
                    mma_16x8x16(s[m][kb + 1], q_frag[m][step], b[2], b[3]);
                }
            }
        }

        // Scale into the log2 domain; in the last tile, keys past the valid length become -inf.
        const int first_key = tile * kKeysPerTile;
#pragma unroll
        for (int m = 0; m < kRowTiles; ++m)
#pragma unroll
            for (int kb = 0; kb < kKeyBlocks; ++kb)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                    s[m][kb][e] *= scale_log2;
        if (first_key + kKeysPerTile > seq.key_rows)
        {
#pragma unroll
            for (int kb = 0; kb < kKeyBlocks; ++kb)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                {
                    const bool padded_key = first_key + kb * 8 + 2 * (lane % 4) + (e & 1)
                                            >= seq.key_rows;
#pragma unroll
                    for (int m = 0; m < kRowTiles; ++m)
                        s[m][kb][e] = padded_key ? -INFINITY : s[m][kb][e];
                }
        }

        // Online softmax: new max over the keys so far, rescale what was accumulated under the
        // old max by 2^(old - new), add this tile's terms. A row's 64 scores here are spread over
        // the 4 lanes of a quad, hence the two shuffles. Tile 0 holds key 0, which is always
        // valid, so the max is finite from the first tile on (and -inf - max never happens).
#pragma unroll
        for (int m = 0; m < kRowTiles; ++m)
#pragma unroll
            for (int r = 0; r < 2; ++r)
            {
                float tile_max = -INFINITY;
#pragma unroll
                for (int kb = 0; kb < kKeyBlocks; ++kb)
                    tile_max = fmaxf(tile_max, fmaxf(s[m][kb][2 * r], s[m][kb][2 * r + 1]));
                tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 1));
                tile_max = fmaxf(tile_max, __shfl_xor_sync(0xffffffffu, tile_max, 2));
                const float new_max = fmaxf(row_max[m][r], tile_max);
                const float correction = fast_exp2(row_max[m][r] - new_max);  // tile 0: 2^-inf
                row_max[m][r] = new_max;
                row_sum[m][r] *= correction;
#pragma unroll
                for (int fb = 0; fb < kFeatureBlocks; ++fb)
                {
                    out[m][fb][2 * r] *= correction;
                    out[m][fb][2 * r + 1] *= correction;
                }
#pragma unroll
                for (int kb = 0; kb < kKeyBlocks; ++kb)
                {
                    s[m][kb][2 * r] = fast_exp2(s[m][kb][2 * r] - new_max);
                    s[m][kb][2 * r + 1] = fast_exp2(s[m][kb][2 * r + 1] - new_max);
                    row_sum[m][r] += s[m][kb][2 * r] + s[m][kb][2 * r + 1];
                }
            }

        // O += P V. The accumulator layout of two 8-key blocks of S is, element for element, the
        // A fragment of one 16-key mma step: P never leaves registers, it is only packed to fp16.
        // V is stored [key][feature]; mma wants it [feature][key], which ldmatrix.trans provides.
        const __half* v_tile = v_tiles + buffer * Tiling::kTileHalves;
#pragma unroll
        for (int kstep = 0; kstep < kKeysPerTile / 16; ++kstep)
        {
            uint32_t a[kRowTiles][4];
#pragma unroll
            for (int m = 0; m < kRowTiles; ++m)
            {
                a[m][0] = pack_half2(s[m][2 * kstep][0], s[m][2 * kstep][1]);
                a[m][1] = pack_half2(s[m][2 * kstep][2], s[m][2 * kstep][3]);
                a[m][2] = pack_half2(s[m][2 * kstep + 1][0], s[m][2 * kstep + 1][1]);
                a[m][3] = pack_half2(s[m][2 * kstep + 1][2], s[m][2 * kstep + 1][3]);
            }
#pragma unroll
            for (int fb = 0; fb < kFeatureBlocks; fb += 2)
            {
                uint32_t b[4];
                ldmatrix_x4_trans(b, v_tile + (kstep * 16 + lane % 8 + ((lane / 8) % 2) * 8) * kPitch
                                         + fb * 8 + (lane / 16) * 8);
#pragma unroll
                for (int m = 0; m < kRowTiles; ++m)
                {
                    mma_16x8x16(out[m][fb], a[m], b[0], b[1]);
                    mma_16x8x16(out[m][fb + 1], a[m], b[2], b[3]);
                }
            }
        }
        __syncthreads();  // all warps are done with `buffer` before it is refilled
    }
    // With no valid key the loop never ran: wait for the Q copy before reusing its tile below.
    cp_async_wait<0>();
    __syncthreads();

    // Normalize, then stage the warp's outputs through its own (now unused) rows of the Q tile,
    // so global stores are whole 16-byte chunks of contiguous features. A row without a valid
    // key has sum 0 and gets a zero context, like v1.
    __half* stage = q_tile + warp * Tiling::kWarpRows * kPitch;
#pragma unroll
    for (int m = 0; m < kRowTiles; ++m)
#pragma unroll
        for (int r = 0; r < 2; ++r)
        {
            float total = row_sum[m][r];
            total += __shfl_xor_sync(0xffffffffu, total, 1);
            total += __shfl_xor_sync(0xffffffffu, total, 2);
            const float inv_total = total > 0.f ? 1.f / total : 0.f;
            const int row = m * kMmaRows + lane / 4 + 8 * r;
#pragma unroll
            for (int fb = 0; fb < kFeatureBlocks; ++fb)
                *reinterpret_cast<uint32_t*>(stage + row * kPitch + fb * 8 + 2 * (lane % 4))
                    = pack_half2(out[m][fb][2 * r] * inv_total, out[m][fb][2 * r + 1] * inv_total);
        }
    __syncwarp();
    constexpr int kChunksPerRow = kHeadSize / 8;
    __half* context = static_cast<__half*>(p.context);
    for (int i = lane; i < Tiling::kWarpRows * kChunksPerRow; i += 32)
    {
        const int row = i / kChunksPerRow, chunk = i % kChunksPerRow;
        const int query = first_query + warp * Tiling::kWarpRows + row;
        if (query < seq.query_rows)
            *reinterpret_cast<uint4*>(context + (seq.first_row + query) * hidden
                                      + head * kHeadSize + chunk * 8)
                = *reinterpret_cast<const uint4*>(stage + row * kPitch + chunk * 8);
    }
}

template <int kHeadSize, int kWarps, int kRowTiles>
cudaError_t launch_tensor_core(const AttentionParams& p, int batch, cudaStream_t stream)
{
    using Tiling = TensorCoreTiling<kHeadSize, kWarps, kRowTiles>;
    auto kernel = attention_tensor_core_kernel<kHeadSize, kWarps, kRowTiles>;
    // Above 48 KB a block's dynamic shared memory must be opted into (per kernel, cheap).
    if (Tiling::kSharedBytes > 48 * 1024)
    {
        const cudaError_t status = cudaFuncSetAttribute(
            kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(Tiling::kSharedBytes));
        if (status != cudaSuccess)
            return status;
    }
    const dim3 grid(ceil_div(p.seq_len, Tiling::kQueryRows), p.num_heads, batch);
    kernel<<<grid, Tiling::kThreads, Tiling::kSharedBytes, stream>>>(p);
    return cudaGetLastError();
}

// The tensor-core versions: (warps per block, 16-row tiles per warp).
template <int kWarps, int kRowTiles>
cudaError_t launch_tensor_core_for_head_size(const AttentionParams& p, int batch,
                                             cudaStream_t stream)
{
    switch (p.head_size)
    {
    case 32: return launch_tensor_core<32, kWarps, kRowTiles>(p, batch, stream);
    case 64: return launch_tensor_core<64, kWarps, kRowTiles>(p, batch, stream);
    case 128:
        // Two row tiles of head size 128 would need ~300 registers a thread: not compiled.
        if constexpr (kRowTiles == 1)
            return launch_tensor_core<128, kWarps, kRowTiles>(p, batch, stream);
        return cudaErrorInvalidValue;
    default: return cudaErrorInvalidValue;
    }
}

bool is_aligned_16(const void* pointer) { return reinterpret_cast<uintptr_t>(pointer) % 16 == 0; }

// 16-byte cp.async / stores need fp16, a compiled head size and 16-byte aligned buffers (rows
// and head offsets are then aligned too, since head_size * 2 bytes is a multiple of 16).
bool tensor_core_supports(int version, const AttentionParams& p, BertDType dtype)
{
    return bertQkvToContextVersionSupported(version, p.head_size, dtype) && is_aligned_16(p.qkv)
           && is_aligned_16(p.context);
}

}  // namespace

extern "C" int bertQkvToContextVersionSupported(int32_t version, int32_t head_size,
                                                BertDType dtype)
{
    const bool head_size_compiled = head_size == 32 || head_size == 64 || head_size == 128;
    switch (version)
    {
    case 0:
    case 1: return head_size > 0 && (dtype == BERT_FP32 || dtype == BERT_FP16);
    case 2:
    case 3: return dtype == BERT_FP16 && head_size_compiled;
    case 4: return dtype == BERT_FP16 && head_size_compiled && head_size <= 64;
    default: return 0;
    }
}

extern "C" int bertQkvToContextVersion(int32_t version, const void* qkv, void* context,
                                       const int32_t* seq_lens, const int32_t* cu_seqlens,
                                       int32_t batch, int32_t seq_len, int32_t num_heads,
                                       int32_t head_size, float scale, BertDType dtype,
                                       cudaStream_t stream)
{
    if (batch < 0 || seq_len < 0 || num_heads <= 0 || head_size <= 0 || batch > 65535
        || num_heads > 65535 || (dtype != BERT_FP32 && dtype != BERT_FP16))
        return cudaErrorInvalidValue;
    if (batch == 0 || seq_len == 0)
        return cudaSuccess;  // nothing to compute
    const AttentionParams p{qkv, context, seq_lens, cu_seqlens, seq_len, num_heads, head_size, scale};
    if (version == 0)
        version = tensor_core_supports(2, p, dtype) ? 2 : 1;  // see the versions at the top
    switch (version)
    {
    case 1:
        return dtype == BERT_FP16 ? launch_v1<__half>(p, batch, stream)
                                  : launch_v1<float>(p, batch, stream);
    case 2:
    case 3:
    case 4:
        if (!tensor_core_supports(version, p, dtype))
            return cudaErrorInvalidValue;
        // (warps per block, 16-row tiles per warp): 64, 128 and 128 query rows per block.
        return version == 2   ? launch_tensor_core_for_head_size<4, 1>(p, batch, stream)
               : version == 3 ? launch_tensor_core_for_head_size<8, 1>(p, batch, stream)
                              : launch_tensor_core_for_head_size<4, 2>(p, batch, stream);
    default: return cudaErrorInvalidValue;
    }
}

extern "C" int bertQkvToContext(const void* qkv, void* context, const int32_t* seq_lens,
                                const int32_t* cu_seqlens, int32_t batch, int32_t seq_len,
                                int32_t num_heads, int32_t head_size, float scale, BertDType dtype,
                                cudaStream_t stream)
{
    return bertQkvToContextVersion(0, qkv, context, seq_lens, cu_seqlens, batch, seq_len,
                                   num_heads, head_size, scale, dtype, stream);
}
