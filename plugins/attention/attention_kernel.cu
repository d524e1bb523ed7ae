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
//   only and up to 60% slower on small grids, v4 is never faster.
//   v5  Hopper only (sm_90a): the v2 algorithm on warpgroup MMA (wgmma), which multiplies 64
//       query rows at a time straight out of (swizzled) shared memory, asynchronously; plus the
//       softmax's "lazy rescaling" and copy pointers stepped, not recomputed. Head size 64.
//   v6  v5 with two warpgroups (128 query rows) per block.
//   v7  fp32: v2's algorithm on CUDA cores (register-tiled SIMT products), head size 64 or 128.
//   v8  v7 with 128 threads of 4 rows x 8 keys each: half v7's shared-memory wavefronts.
//   On H200 (README), v5 is 1.3-1.9x PyTorch's best SDPA (eager) at 8 of 9 BERT shapes and
//   1.01-1.05x of cuDNN at 32 x 384; v6 is slower than v5 at every shape. bertQkvToContext runs v5
//   where it can (fp16, head size 64, compute capability 9.0 with the library built for sm_90a, a
//   positive scale), else v2 (fp16, head size 32/64/128), else v8 (fp32, head size 64/128), else
//   v1; v2-v8 need 16-byte aligned buffers.
#include "attention_kernel.h"
#include "common/vector_io.cuh"

#include <cuda_fp16.h>
#include <math.h>

#include <type_traits>

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

// What a tensor-core block works on: 64 or 128 query rows (from first_query on) of one head of
// one sequence, and where that head's Q, K and V features of the sequence's token 0 are; row r's
// are qkv_stride elements further on per token. first_query >= seq.query_rows: nothing to do
// (a packed sequence shorter than the block's first row).
struct HeadRows
{
    SequenceSpan seq;
    int first_query;
    int hidden;          // heads x head size: the width of the context
    int64_t qkv_stride;  // elements between two tokens' qkv rows (3 x hidden)
    const __half* q_src;
    const __half* k_src;
    const __half* v_src;
    int key_tiles;       // tiles of kKeysPerTile keys that hold the valid keys
};

using bert::from_float;  // storage type <-> fp32, shared with the LayerNorm-family kernels
using bert::to_float;

// Max and sum over groups of kLanes consecutive lanes (v1: the warp; v7/v8: the threads of one
// query row). Every lane of the warp must call them.
template <int kLanes = 32>
__device__ __forceinline__ float lane_group_max(float x)
{
    for (int offset = kLanes / 2; offset > 0; offset /= 2)
        x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
    return x;
}

template <int kLanes = 32>
__device__ __forceinline__ float lane_group_sum(float x)
{
    for (int offset = kLanes / 2; offset > 0; offset /= 2)
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
        row_max = lane_group_max(row_max);
        float row_sum = 0.f;
        for (int j = lane; j < keys; j += 32)
        {
            s[j] = expf(s[j] - row_max);
            row_sum += s[j];
        }
        row_sum = lane_group_sum(row_sum);
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
        return cudaErrorNotSupported;  // seq_len beyond ~12K keys: not supported by v1
    const dim3 grid(ceil_div(p.seq_len, rows), p.num_heads, batch);
    attention_v1_kernel<T><<<grid, kV1Threads, rows * bytes_per_row, stream>>>(p, rows);
    return cudaGetLastError();
}

// ------------------------------------------------------------------------------------------------
// v2/v3: fp16 tensor cores. PTX wrappers first; each says which fragment it produces.
// ------------------------------------------------------------------------------------------------
// (sm_80 instructions: compiled for the host's view of the kernels and for sm_80 and newer only.)
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
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

#endif  // sm_80 instructions

constexpr int kMmaRows = 16;      // rows of one mma tile = the M of m16n8k16
constexpr int kKeysPerTile = 64;  // keys staged in shared memory per step

#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800  // used by the tensor-core kernels only
__device__ __forceinline__ HeadRows head_rows(const AttentionParams& p, int head_size,
                                              int query_rows_per_block)
{
    HeadRows rows;
    rows.seq = sequence_span(p, blockIdx.z);
    rows.first_query = blockIdx.x * query_rows_per_block;
    rows.hidden = p.num_heads * head_size;
    rows.qkv_stride = 3 * static_cast<int64_t>(rows.hidden);
    rows.q_src = static_cast<const __half*>(p.qkv) + rows.seq.first_row * rows.qkv_stride
                 + blockIdx.y * head_size;
    rows.k_src = rows.q_src + rows.hidden;
    rows.v_src = rows.q_src + 2 * rows.hidden;
    rows.key_tiles = ceil_div(rows.seq.key_rows, kKeysPerTile);
    return rows;
}
#endif

// v2-v4's shared rows are padded by 16 bytes: with a row pitch of head_size * 2 bytes (a multiple
// of 128) the 8 rows an ldmatrix reads would all start in the same bank (8-way conflict); an
// extra 16 bytes moves each row 4 banks on, so 8 rows cover all 32 banks exactly once.
constexpr int padded_pitch(int head_size) { return head_size + 8; }  // in halves

// kWarps warps per block, each owning kRowTiles 16-row mma tiles of queries.
template <int kHeadSize, int kWarps, int kRowTiles>
struct TensorCoreTiling
{
    static_assert(kHeadSize % 16 == 0, "head_size must be a multiple of the mma K (16)");
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kWarpRows = kRowTiles * kMmaRows;
    static constexpr int kQueryRows = kWarps * kWarpRows;
    static constexpr int kPitch = padded_pitch(kHeadSize);  // in halves
    static constexpr int kTileHalves = kKeysPerTile * kPitch;
    // Q tile, then two K tiles and two V tiles (double buffering).
    static constexpr size_t kSharedBytes
        = sizeof(__half) * (static_cast<size_t>(kQueryRows) * kPitch + 4 * kTileHalves);
    // Registers: with one row tile (and head_size <= 64) the kernel is asked to fit 16 warps per
    // SM, i.e. <= 128 registers a thread (it takes 134 unbounded; the 12 bytes spilled are reloaded
    // once per key tile and in the epilogue, never in the mma/softmax code), so one warp's loads
    // hide behind another's math. On H100 that
    // was 4-8% faster at seq 384, 10% slower at 32 x 128 and equal elsewhere than 12 warps per
    // SM. Two row tiles need ~250 registers and head size 128 ~210: no target.
    static constexpr int kMinBlocksPerSM = kRowTiles == 1 && kHeadSize <= 64 ? 16 / kWarps : 1;
};

// One thread's share of copying consecutive tiles of kRows rows of one head's slice (row r at
// src + r * stride; kChunksPerRow 16-byte chunks) into shared tiles with cp.async; rows at or past
// the valid ones are zero-filled. Zeros, not stale shared memory, matter: a masked key's
// probability is 0, but 0 * NaN would still be NaN.
// The thread copies chunk threadIdx % kChunksPerRow of rows threadIdx / kChunksPerRow + i *
// kRowStep of every tile (consecutive threads read consecutive bytes of a row: coalesced). That
// share is the same for every tile, so the thread keeps a pointer to its first chunk of the next
// tile and steps it along: per chunk a 64-bit add, a compare and the copy. (Each chunk's address
// computed afresh from row and tile indices, with a select of a safe address for zero-filled
// rows, made the copy part of a v5 tile ~143 SASS instructions; it is ~77 now: README, "What made
// it fast".) Where a chunk lands in the tile is the caller's layout: dst_offset is this thread's
// first chunk, kRowBytes the tile's row pitch.
template <int kRows, int kChunksPerRow, int kThreads, int kRowBytes>
struct TileStream
{
    static constexpr int kRowStep = kThreads / kChunksPerRow;
    static constexpr int kCopies = kRows / kRowStep;
    static_assert(kThreads % kChunksPerRow == 0 && kRows % kRowStep == 0,
                  "threads must tile the rows");

    __device__ static int thread_row() { return threadIdx.x / kChunksPerRow; }
    __device__ static int thread_chunk() { return threadIdx.x % kChunksPerRow; }

    const __half* next;  // this thread's first chunk of the next tile
    int64_t row_step;    // elements between this thread's rows
    int rows_done;       // the next tile's first row, plus this thread's row within a tile
    int dst_offset;      // bytes from a tile's start to this thread's first chunk

    // Tiles of the slice from row `first` on.
    __device__ TileStream(const __half* src, int64_t stride, int first, int dst)
        : next(src + (first + thread_row()) * stride + thread_chunk() * 8),
          row_step(kRowStep * stride), rows_done(first + thread_row()), dst_offset(dst)
    {
    }

    // The next tile into `tile`. A copy of 0 source bytes reads nothing, so the address of a row
    // past the valid ones may lie past the buffer, as with CUTLASS's cp_async_zfill and Triton's
    // masked copies. (On the H200, 0-byte copies from the first byte past an allocation, from 0x100
    // and from an unmapped high address raised no error and zero-filled: run 6's review checks.)
    __device__ __forceinline__ void copy_next(void* tile, int valid_rows)
    {
        const int rows_left = valid_rows - rows_done;  // of this thread's rows
        unsigned char* to = static_cast<unsigned char*>(tile) + dst_offset;
#pragma unroll
        for (int i = 0; i < kCopies; ++i, next += row_step)
            cp_async_16(to + i * kRowStep * kRowBytes, next, i * kRowStep < rows_left);
        rows_done += kRows;  // and `next` has stepped kCopies * kRowStep = kRows rows
    }
};

// v2-v4's tiles: rows of kHeadSize halves, padded (padded_pitch).
template <int kRows, int kHeadSize, int kThreads>
struct PaddedTileStream : TileStream<kRows, kHeadSize / 8, kThreads, padded_pitch(kHeadSize) * 2>
{
    using Base = TileStream<kRows, kHeadSize / 8, kThreads, padded_pitch(kHeadSize) * 2>;
    __device__ PaddedTileStream(const __half* src, int64_t stride, int first)
        : Base(src, stride, first,
               (Base::thread_row() * padded_pitch(kHeadSize) + Base::thread_chunk() * 8) * 2)
    {
    }
};

template <int kHeadSize, int kWarps, int kRowTiles>
__global__ void __launch_bounds__(kWarps * 32,
                                  (TensorCoreTiling<kHeadSize, kWarps, kRowTiles>::kMinBlocksPerSM))
    attention_tensor_core_kernel(AttentionParams p)
{
    // cp.async, ldmatrix and mma.sync m16n8k16 need sm_80 (Ampere) or newer. The library is also
    // built for sm_75 (Turing, which TensorRT 10 supports): there this kernel only traps, and the
    // host never launches it (bertQkvToContextVersionSupported checks the device).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
    __trap();
#else
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
    const HeadRows rows = head_rows(p, kHeadSize, Tiling::kQueryRows);
    if (rows.first_query >= rows.seq.query_rows)
        return;

    // Group 0: Q and the first K/V tile. Tiles are loaded in order, each once: K and V stream.
    PaddedTileStream<Tiling::kQueryRows, kHeadSize, kThreads>(rows.q_src, rows.qkv_stride,
                                                              rows.first_query)
        .copy_next(q_tile, rows.seq.query_rows);
    PaddedTileStream<kKeysPerTile, kHeadSize, kThreads> k_stream(rows.k_src, rows.qkv_stride, 0);
    PaddedTileStream<kKeysPerTile, kHeadSize, kThreads> v_stream(rows.v_src, rows.qkv_stride, 0);
    if (rows.key_tiles > 0)
    {
        k_stream.copy_next(k_tiles, rows.seq.key_rows);
        v_stream.copy_next(v_tiles, rows.seq.key_rows);
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

    for (int tile = 0; tile < rows.key_tiles; ++tile)
    {
        // Prefetch the next K/V tile into the other buffer while this one is used.
        const int buffer = tile & 1;
        if (tile + 1 < rows.key_tiles)
        {
            const int next = (buffer ^ 1) * Tiling::kTileHalves;
            k_stream.copy_next(k_tiles + next, rows.seq.key_rows);
            v_stream.copy_next(v_tiles + next, rows.seq.key_rows);
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
        if (first_key + kKeysPerTile > rows.seq.key_rows)
        {
#pragma unroll
            for (int kb = 0; kb < kKeyBlocks; ++kb)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                {
                    const bool padded_key = first_key + kb * 8 + 2 * (lane % 4) + (e & 1)
                                            >= rows.seq.key_rows;
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
        const int query = rows.first_query + warp * Tiling::kWarpRows + row;
        if (query < rows.seq.query_rows)
            *reinterpret_cast<uint4*>(context + (rows.seq.first_row + query) * rows.hidden
                                      + head * kHeadSize + chunk * 8)
                = *reinterpret_cast<const uint4*>(stage + row * kPitch + chunk * 8);
    }
#endif  // __CUDA_ARCH__ >= 800
}

// One block per (query tile, head, sequence), with Tiling's threads and shared memory.
template <typename Tiling>
cudaError_t launch_tiled(void (*kernel)(AttentionParams), const AttentionParams& p, int batch,
                         cudaStream_t stream)
{
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

template <int kHeadSize, int kWarps, int kRowTiles>
cudaError_t launch_tensor_core(const AttentionParams& p, int batch, cudaStream_t stream)
{
    using Tiling = TensorCoreTiling<kHeadSize, kWarps, kRowTiles>;
    return launch_tiled<Tiling>(attention_tensor_core_kernel<kHeadSize, kWarps, kRowTiles>, p,
                                batch, stream);
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

// ------------------------------------------------------------------------------------------------
// v5/v6: Hopper warpgroup MMA (wgmma, sm_90a only). The v2 algorithm, unchanged: Q K^T, online
// softmax in fp32 registers, P V with P never leaving registers. What changes is who multiplies:
// mma.sync is one warp's 16x8x16 product whose operands every warp must first pull out of shared
// memory with ldmatrix; wgmma is a 64xNx16 product of a warpgroup (4 warps, 64 query rows) that
// the tensor cores read straight from shared memory, asynchronously.
//   v5  one warpgroup per block: 64 query rows.
//   v6  two warpgroups per block: 128 query rows share each K/V tile (half the K/V copies, but
//       twice the registers per block: fewer warpgroups per SM, slower at every shape measured).
// Head size 64 only (BERT base and large); other head sizes take v2. What it took, measured on
// H200 at batch 32 x 384 (README): wgmma alone, 74 -> 66 us; the K/V copy addresses computed
// once instead of per chunk (they had been more instructions than the softmax), -> 48 us; lazy
// rescaling, -> 46.6 us; each thread stepping its copy pointers (TileStream) instead of working
// out each chunk's address, -> 42.6-45.1 us; descriptors in uniform registers, -> 42.0-43.3 us
// (cuDNN in the same runs: 43.6-44.3 us). Tried and
// dropped, no gain: 3-4 K/V stages, Q held in registers, FlashAttention-3's overlap of one tile's
// softmax with the previous tile's P V; six blocks per SM (80 registers: ptxas spills the
// accumulators and serializes the wgmma).
// ------------------------------------------------------------------------------------------------
// The tensor cores read shared memory in 128-byte rows (64 fp16 features of one token) through a
// "128-byte swizzle": 16-byte chunk c of row r lives at chunk c ^ (r % 8) of that row. Eight rows
// (1024 bytes) form one swizzle atom, and since the XOR uses address bits 7-9, every tile must
// start on a 1024-byte boundary. The swizzle is also what keeps our own cp.async writes and the
// output staging free of bank conflicts, with no padding.
constexpr int kWgmmaHeadSize = 64;
constexpr int kSwizzleRowBytes = 128;            // one token's 64 fp16 features
constexpr int kSwizzleAtomBytes = 8 * kSwizzleRowBytes;
constexpr int kWarpGroupThreads = 128;
constexpr int kWarpGroupRows = 64;               // the M of every wgmma

// kWarpGroups warpgroups of 64 query rows share a ring of kStages K/V tiles in shared memory.
template <int kWarpGroups, int kStages>
struct WgmmaTiling
{
    static_assert(kStages >= 2, "one tile in use, at least one on its way");
    static constexpr int kThreads = kWarpGroups * kWarpGroupThreads;
    static constexpr int kQueryRows = kWarpGroups * kWarpGroupRows;
    static constexpr int kQBytes = kQueryRows * kSwizzleRowBytes;
    static constexpr int kTileBytes = kKeysPerTile * kSwizzleRowBytes;  // one K or V tile
    // Q, then the ring of K/V tile pairs; plus slack to round the base up to 1024 bytes
    // (dynamic shared memory is only promised 16-byte alignment).
    static constexpr size_t kSharedBytes = kQBytes + 2 * kStages * kTileBytes + kSwizzleAtomBytes;
};

#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ int swizzled_offset(int row, int chunk)
{
    return row * kSwizzleRowBytes + ((chunk ^ (row % 8)) * 16);
}

// v5/v6's tiles: 128-byte rows, chunk c of row r at chunk c ^ (r % 8). Every row a thread copies
// is kRowStep = threads / 8 (a multiple of 8) rows after the last, so shares its row % 8 and
// its swizzled column.
template <int kRows, int kThreads>
struct SwizzledTileStream : TileStream<kRows, kSwizzleRowBytes / 16, kThreads, kSwizzleRowBytes>
{
    using Base = TileStream<kRows, kSwizzleRowBytes / 16, kThreads, kSwizzleRowBytes>;
    static_assert(Base::kRowStep % 8 == 0, "a thread's rows must share one swizzled column");
    __device__ SwizzledTileStream(const __half* src, int64_t stride, int first)
        : Base(src, stride, first, swizzled_offset(Base::thread_row(), Base::thread_chunk()))
    {
    }
};

// A shared-memory matrix descriptor is 64 bits: the tile's start address, the byte distance
// between 8-row groups ("stride", one swizzle atom here) and between 64-element blocks along the
// contiguous dimension ("leading"; our tiles have exactly one such block, so it is never used),
// all in 16-byte units, and the swizzle mode (1 = 128 bytes) in the top two bits. Only the
// start moves from one wgmma to the next, and it sits alone in the low 14 bits (shared memory
// addresses / 16 < 2^14), so descriptors are handled as their low 32 bits: moving by n bytes
// is adding n / 16.
constexpr uint32_t kDescriptorStride = kSwizzleAtomBytes >> 4;          // bits 32-45, high word
constexpr uint32_t kDescriptorSwizzle128 = 1u << 30;                      // bits 62-63, high word
constexpr uint32_t kDescriptorLeading = (kSwizzleAtomBytes >> 4) << 16;   // bits 16-29 (unused)
__device__ __forceinline__ uint32_t descriptor_low(const void* tile)
{
    const uint32_t address = static_cast<uint32_t>(__cvta_generic_to_shared(tile));
    return ((address & 0x3FFFF) >> 4) | kDescriptorLeading;  // start: bits 0-13
}
__device__ __forceinline__ uint64_t descriptor(uint32_t low)
{
    return (static_cast<uint64_t>(kDescriptorStride | kDescriptorSwizzle128) << 32) | low;
}
// How far the start moves, in descriptor units (16 bytes): to the next 16 features of a row
// (32 bytes), and to the next 16 rows (keys) of a tile.
constexpr uint32_t kDescriptorNext16Features = 32 >> 4;
constexpr uint32_t kDescriptorNext16Rows = (16 * kSwizzleRowBytes) >> 4;

// Orders the warpgroup's register writes (to accumulators, and to A) before the wgmma that reads
// them; commit closes a group of issued wgmma, wait blocks until at most N groups are in flight.
__device__ __forceinline__ void wgmma_fence()
{
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit()
{
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
template <int N>
__device__ __forceinline__ void wgmma_wait()
{
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// The compiler does not know that wgmma reads and writes these registers behind its back: an
// empty asm that "reads and writes" each one keeps their other uses on the right side of the
// fence/wait, and keeps them alive (in their registers) up to it.
template <typename T, int kRows, int kCols>
__device__ __forceinline__ void fence_registers(T (&values)[kRows][kCols])
{
    static_assert(sizeof(T) == 4, "32-bit registers: fp32 accumulators or packed fp16 pairs");
#pragma unroll
    for (int i = 0; i < kRows; ++i)
#pragma unroll
        for (int j = 0; j < kCols; ++j)
        {
            if constexpr (std::is_same_v<T, float>)
                asm volatile("" : "+f"(values[i][j])::"memory");
            else
                asm volatile("" : "+r"(values[i][j])::"memory");
        }
}

// The 32 fp32 accumulators of an m64n64 wgmma, as asm operands %0..%31: read and written, or
// (OUTPUTS) only written.
#define BERT_WGMMA_D_OPERANDS(d, c)                                                                \
    c(d[0][0]), c(d[0][1]), c(d[0][2]), c(d[0][3]), c(d[1][0]), c(d[1][1]), c(d[1][2]),           \
        c(d[1][3]), c(d[2][0]), c(d[2][1]), c(d[2][2]), c(d[2][3]), c(d[3][0]), c(d[3][1]),       \
        c(d[3][2]), c(d[3][3]), c(d[4][0]), c(d[4][1]), c(d[4][2]), c(d[4][3]), c(d[5][0]),       \
        c(d[5][1]), c(d[5][2]), c(d[5][3]), c(d[6][0]), c(d[6][1]), c(d[6][2]), c(d[6][3]),       \
        c(d[7][0]), c(d[7][1]), c(d[7][2]), c(d[7][3])
#define BERT_WGMMA_D_LIST                                                                          \
    "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, " \
    "%20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}"

// d[64x64] (+)= a[64x16] b[16x64]: a and b from shared memory, both stored "K-major" (the 16
// summed-over elements contiguous: Q and K rows hold features). kAccumulate false overwrites d
// (whose old values are then no input: the compiler need not keep them).
// Per warp w of the group, d holds rows 16w..16w+15 in the mma.sync m16n8 layout, 8-column
// block j in d[j] (see mma_16x8x16): the same registers v2's s[kb] has.
template <bool kAccumulate>
__device__ __forceinline__ void wgmma_64x64x16_ss(float (&d)[8][4], uint64_t a, uint64_t b)
{
    if constexpr (kAccumulate)
        asm volatile("wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " BERT_WGMMA_D_LIST
                     ", %32, %33, 1, 1, 1, 0, 0;\n"
                     : BERT_WGMMA_D_OPERANDS(d, "+f")
                     : "l"(a), "l"(b));
    else
        asm volatile("wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " BERT_WGMMA_D_LIST
                     ", %32, %33, 0, 1, 1, 0, 0;\n"
                     : BERT_WGMMA_D_OPERANDS(d, "=f")
                     : "l"(a), "l"(b));
}

// d[64x64] += a[64x16] b[16x64] with a in registers (per warp, the mma.sync A fragment of its 16
// rows) and b from shared memory stored "MN-major" (V's rows are keys = the summed-over index, so
// the 64 output columns are contiguous): the last operand, 1, transposes b on the way in.
__device__ __forceinline__ void wgmma_64x64x16_rs(float (&d)[8][4], const uint32_t (&a)[4],
                                                  uint64_t b)
{
    asm volatile("wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 " BERT_WGMMA_D_LIST
                 ", {%32, %33, %34, %35}, %36, 1, 1, 1, 1;\n"
                 : BERT_WGMMA_D_OPERANDS(d, "+f")
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b));
}
#undef BERT_WGMMA_D_OPERANDS
#undef BERT_WGMMA_D_LIST

constexpr int kWgmmaKeyBlocks = kKeysPerTile / 8;        // 8-key column blocks of S
constexpr int kWgmmaFeatureBlocks = kWgmmaHeadSize / 8;  // 8-feature column blocks of O
constexpr int kWgmmaKeySteps = kKeysPerTile / 16;        // 16-key k-steps of P V

// S = Q K^T for the warpgroup's 64 rows x one tile of 64 keys: four k-steps of 16 features.
// Within a 128-byte swizzled row the next 16 features are 32 bytes on: the descriptors' start
// moves, the hardware applies the XOR. Issued only: the caller commits and waits.
__device__ __forceinline__ void issue_scores(float (&s)[kWgmmaKeyBlocks][4], uint32_t q_desc,
                                             uint32_t k_desc)
{
    wgmma_64x64x16_ss<false>(s, descriptor(q_desc), descriptor(k_desc));
#pragma unroll
    for (int step = 1; step < kWgmmaHeadSize / 16; ++step)
        wgmma_64x64x16_ss<true>(s, descriptor(q_desc + step * kDescriptorNext16Features),
                                descriptor(k_desc + step * kDescriptorNext16Features));
}

// O += P V: P's registers are the A operand as they are (wgmma's register A fragment is, per
// warp, the mma.sync one); V's 16-key k-steps are 16 swizzled rows = 2048 bytes apart.
__device__ __forceinline__ void issue_context(float (&out)[kWgmmaFeatureBlocks][4],
                                              const uint32_t (&probs)[kWgmmaKeySteps][4],
                                              uint32_t v_desc)
{
#pragma unroll
    for (int kstep = 0; kstep < kWgmmaKeySteps; ++kstep)
        wgmma_64x64x16_rs(out, probs[kstep],
                          descriptor(v_desc + kstep * kDescriptorNext16Rows));
}

// The running max only moves when a tile's max exceeds it by more than this (log2 domain): below
// that, the probabilities are computed against the stale max, up to 2^8 = 256, which fp16 P and
// the fp32 sums hold with ease, and the context needs no rescaling (FlashAttention-4's "lazy
// rescaling"). Any reference point gives the same softmax; only overflow limits the choice.
constexpr float kRescaleThreshold = 8.f;

// v2's online softmax (see there) for one tile of scores, on unscaled scores: masks keys past
// key_rows, updates the running max and sum of rows g and g + 8, and leaves in `probs` the fp16
// probabilities (the A fragments of P V). Returns whether the context accumulated so far must be
// scaled by `correction`, 2^(old max - new max) per row: only when some row of the warp raised
// its max by more than kRescaleThreshold (always on the first tile), so that a warp skips the
// rescale and its 34 multiplies together. exp(x) = 2^(x log2 e), with the softmax scale folded
// in: each probability costs one FFMA and one ex2, 2^(s * scale_log2 - max). A positive scale
// keeps max(s) * scale the max of the scaled scores (the launcher checks it).
__device__ __forceinline__ bool online_softmax(float (&s)[kWgmmaKeyBlocks][4], int first_key,
                                               int key_rows, float scale_log2,
                                               float (&row_max)[2], float (&row_sum)[2],
                                               float (&correction)[2],
                                               uint32_t (&probs)[kWgmmaKeySteps][4])
{
    const int lane = threadIdx.x % 32;
    if (first_key + kKeysPerTile > key_rows)
    {
#pragma unroll
        for (int kb = 0; kb < kWgmmaKeyBlocks; ++kb)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                if (first_key + kb * 8 + 2 * (lane % 4) + (e & 1) >= key_rows)
                    s[kb][e] = -INFINITY;
    }
    float tile_max[2];
#pragma unroll
    for (int r = 0; r < 2; ++r)
    {
        tile_max[r] = -INFINITY;
#pragma unroll
        for (int kb = 0; kb < kWgmmaKeyBlocks; ++kb)
            tile_max[r] = fmaxf(tile_max[r], fmaxf(s[kb][2 * r], s[kb][2 * r + 1]));
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 1));
        tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(0xffffffffu, tile_max[r], 2));
        tile_max[r] *= scale_log2;
    }
    const bool rescale = __any_sync(0xffffffffu,
                                    tile_max[0] > row_max[0] + kRescaleThreshold
                                        || tile_max[1] > row_max[1] + kRescaleThreshold);
#pragma unroll
    for (int r = 0; r < 2; ++r)
    {
        if (rescale)
        {
            const float new_max = fmaxf(row_max[r], tile_max[r]);
            correction[r] = fast_exp2(row_max[r] - new_max);  // first tile: 2^-inf = 0
            row_max[r] = new_max;
            row_sum[r] *= correction[r];
        }
#pragma unroll
        for (int kb = 0; kb < kWgmmaKeyBlocks; ++kb)
        {
            s[kb][2 * r] = fast_exp2(fmaf(s[kb][2 * r], scale_log2, -row_max[r]));
            s[kb][2 * r + 1] = fast_exp2(fmaf(s[kb][2 * r + 1], scale_log2, -row_max[r]));
            row_sum[r] += s[kb][2 * r] + s[kb][2 * r + 1];
        }
    }
#pragma unroll
    for (int kstep = 0; kstep < kWgmmaKeySteps; ++kstep)
    {
        probs[kstep][0] = pack_half2(s[2 * kstep][0], s[2 * kstep][1]);
        probs[kstep][1] = pack_half2(s[2 * kstep][2], s[2 * kstep][3]);
        probs[kstep][2] = pack_half2(s[2 * kstep + 1][0], s[2 * kstep + 1][1]);
        probs[kstep][3] = pack_half2(s[2 * kstep + 1][2], s[2 * kstep + 1][3]);
    }
    return rescale;
}

__device__ __forceinline__ void rescale(float (&out)[kWgmmaFeatureBlocks][4],
                                        const float (&correction)[2])
{
#pragma unroll
    for (int fb = 0; fb < kWgmmaFeatureBlocks; ++fb)
#pragma unroll
        for (int e = 0; e < 4; ++e)
            out[fb][e] *= correction[e / 2];
}

// The epilogue of v5 and v6: normalizes the warp's 16 rows of the context, stages them through 16 free
// swizzled rows of shared memory (`stage`: the warp's own rows of the Q tile, whose last reader
// has passed a barrier), then stores whole 16-byte chunks of contiguous features, so each context
// row is written in full 128-byte lines. first_query: the sequence's query row of the warp's row 0.
__device__ __forceinline__ void store_context(const float (&out)[kWgmmaFeatureBlocks][4],
                                              const float (&row_sum)[2], unsigned char* stage,
                                              const HeadRows& rows, int first_query, int head,
                                              void* context_out)
{
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int r = 0; r < 2; ++r)
    {
        float total = row_sum[r];
        total += __shfl_xor_sync(0xffffffffu, total, 1);
        total += __shfl_xor_sync(0xffffffffu, total, 2);
        const float inv_total = total > 0.f ? 1.f / total : 0.f;
        const int row = lane / 4 + 8 * r;  // within the warp's 16 (the swizzle uses row % 8)
#pragma unroll
        for (int fb = 0; fb < kWgmmaFeatureBlocks; ++fb)
            *reinterpret_cast<uint32_t*>(stage + swizzled_offset(row, fb) + 4 * (lane % 4))
                = pack_half2(out[fb][2 * r] * inv_total, out[fb][2 * r + 1] * inv_total);
    }
    __syncwarp();
    __half* context = static_cast<__half*>(context_out);
    constexpr int kChunks = kSwizzleRowBytes / 16;
#pragma unroll
    for (int i = lane; i < 16 * kChunks; i += 32)
    {
        const int row = i / kChunks, chunk = i % kChunks;
        if (first_query + row < rows.seq.query_rows)
            *reinterpret_cast<uint4*>(context + (rows.seq.first_row + first_query + row) * rows.hidden
                                      + head * kWgmmaHeadSize + chunk * 8)
                = *reinterpret_cast<const uint4*>(stage + swizzled_offset(row, chunk));
    }
}
#endif  // __CUDA_ARCH_FEAT_SM90_ALL

// Per tile: S = Q K^T, wait, softmax, O += P V, wait. The warpgroup's tensor-core work and its
// softmax take turns; the other warpgroups on the SM fill the gaps. (FlashAttention-3 overlaps
// them within a warpgroup - tile j's softmax while tile j-1's P V computes - and more stages
// prefetch further ahead: both measured, neither paid here, README.)
template <int kWarpGroups, int kStages>
__global__ void __launch_bounds__(kWarpGroups * kWarpGroupThreads)
    attention_wgmma_kernel(AttentionParams p)
{
    // Compiled for sm_90a only; other targets get an empty kernel that the host never launches
    // (bertQkvToContextVersionSupported checks the device and the build).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    using Tiling = WgmmaTiling<kWarpGroups, kStages>;
    constexpr int kThreads = Tiling::kThreads;
    constexpr int kPrefetch = kStages - 1;  // tiles in flight ahead of the one in use
    constexpr uint32_t kStageDescriptorStep = (2 * Tiling::kTileBytes) >> 4;
    constexpr uint32_t kTileDescriptorStep = Tiling::kTileBytes >> 4;

    extern __shared__ __align__(16) unsigned char wg_shared[];
    const uint32_t shared_address = static_cast<uint32_t>(__cvta_generic_to_shared(wg_shared));
    unsigned char* q_tile = wg_shared + ((kSwizzleAtomBytes - shared_address % kSwizzleAtomBytes)
                                         % kSwizzleAtomBytes);
    unsigned char* kv_ring = q_tile + Tiling::kQBytes;  // stage i: K at tile 2i, V at 2i + 1

    const int head = blockIdx.y;
    const HeadRows rows = head_rows(p, kWgmmaHeadSize, Tiling::kQueryRows);
    if (rows.first_query >= rows.seq.query_rows)
        return;

    // Tile t's copies form commit group t (Q joins group 0). Every thread commits exactly one
    // group per tile, empty past the last one, so "tile t has landed" is always "at most
    // kPrefetch - 1 younger groups pending": one wait_group count for the whole loop.
    // Tiles are loaded in order, each once: K and V stream through the ring.
    SwizzledTileStream<kKeysPerTile, kThreads> k_stream(rows.k_src, rows.qkv_stride, 0);
    SwizzledTileStream<kKeysPerTile, kThreads> v_stream(rows.v_src, rows.qkv_stride, 0);
    const auto load_kv_tile = [&](int tile) {
        if (tile < rows.key_tiles)
        {
            unsigned char* k_stage = kv_ring + (tile % kStages) * 2 * Tiling::kTileBytes;
            k_stream.copy_next(k_stage, rows.seq.key_rows);
            v_stream.copy_next(k_stage + Tiling::kTileBytes, rows.seq.key_rows);
        }
        cp_async_commit();
    };
    // Waits for tile `tile`, makes it visible to every warpgroup's wgmma, and refills the stage
    // that the barrier just freed. cp.async writes through the ordinary ("generic") memory path
    // and wgmma reads through the "async proxy": the fence makes each thread's copies visible to
    // it, the barrier everyone's. The barrier also means that every warpgroup is done with the
    // tile kPrefetch + 1 places back... which is the stage tile + kPrefetch goes to.
    const auto arrive_at_tile = [&](int tile) {
        cp_async_wait<kPrefetch - 1>();
        asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
        __syncthreads();
        load_kv_tile(tile + kPrefetch);
    };
    SwizzledTileStream<Tiling::kQueryRows, kThreads>(rows.q_src, rows.qkv_stride, rows.first_query)
        .copy_next(q_tile, rows.seq.query_rows);
#pragma unroll
    for (int tile = 0; tile < kPrefetch; ++tile)
        load_kv_tile(tile);

    // With one warpgroup the group is 0 by construction. Written as a constant, the descriptors
    // below are warp-uniform values the compiler keeps in uniform registers (SASS: ~12 fewer
    // instructions per tile than moving each into them before its wgmma).
    const int group = kWarpGroups == 1 ? 0 : threadIdx.x / kWarpGroupThreads;
    const int warp = threadIdx.x % kWarpGroupThreads / 32;
    const uint32_t q_desc = descriptor_low(q_tile + group * kWarpGroupRows * kSwizzleRowBytes);
    const uint32_t ring_desc = descriptor_low(kv_ring);
    const auto k_desc = [&](int tile) {
        return ring_desc + (tile % kStages) * kStageDescriptorStep;
    };
    const auto v_desc = [&](int tile) { return k_desc(tile) + kTileDescriptorStep; };
    float out[kWgmmaFeatureBlocks][4] = {};
    float row_max[2] = {-INFINITY, -INFINITY};  // rows g and g + 8 of the warp, log2 domain
    float row_sum[2] = {0.f, 0.f};              // this lane's part of the softmax denominators
    float correction[2];
    const float scale_log2 = p.scale * 1.4426950408889634f;
    float s[kWgmmaKeyBlocks][4];
    uint32_t probs[kWgmmaKeySteps][4];

    for (int tile = 0; tile < rows.key_tiles; ++tile)
    {
        arrive_at_tile(tile);
        wgmma_fence();
        issue_scores(s, q_desc, k_desc(tile));
        wgmma_commit();
        wgmma_wait<0>();
        fence_registers(s);
        if (online_softmax(s, tile * kKeysPerTile, rows.seq.key_rows, scale_log2, row_max, row_sum,
                           correction, probs))
            rescale(out, correction);
        fence_registers(out);
        fence_registers(probs);  // A operand: written before the fence, as wgmma requires
        wgmma_fence();
        issue_context(out, probs, v_desc(tile));
        wgmma_commit();
        wgmma_wait<0>();
        fence_registers(out);
        fence_registers(probs);  // the wgmma read them until the wait: not to be reused before
    }
    // With no valid key no tile was waited for: wait for the Q copy before reusing its rows.
    cp_async_wait<0>();
    __syncthreads();

    const int warp_row = group * kWarpGroupRows + warp * 16;  // the warp's first row of the Q tile
    store_context(out, row_sum, q_tile + warp_row * kSwizzleRowBytes, rows,
                  rows.first_query + warp_row, head, p.context);
#elif defined(__CUDA_ARCH__)
    // Reached only if the host's check was fooled (say, CUDA_FORCE_PTX_JIT=1 makes the driver JIT
    // the compute_90 PTX instead of loading the sm_90a code): fail loudly, never leave the output
    // unwritten.
    __trap();
#endif  // __CUDA_ARCH_FEAT_SM90_ALL
}

template <int kWarpGroups, int kStages>
cudaError_t launch_wgmma(const AttentionParams& p, int batch, cudaStream_t stream)
{
    return launch_tiled<WgmmaTiling<kWarpGroups, kStages>>(
        attention_wgmma_kernel<kWarpGroups, kStages>, p, batch, stream);
}

// ------------------------------------------------------------------------------------------------
// v7: fp32 on CUDA cores, flash-attention style. fp32 calls had only v1, whose dot products loop
// over global memory (6-47x behind PyTorch's fp32 SDPA on the H200). Tensor cores are no way out for fp32: TF32
// rounds the inputs to 10 mantissa bits, which is not fp32 attention. So v7 is v2's algorithm
// (64 query rows a block, 64-key tiles, online softmax) with both products done as register-tiled
// SIMT matrix products:
//   - 256 threads form a 16 x 16 grid; thread (ty, tx) scores query rows ty + 16i against keys
//     tx + 16j (i, j < 4). Per 4 features it reads 4 query and 4 key float4s from shared memory
//     for 64 FMAs.
//   - The 16 threads that share a row are one half-warp: its softmax max and sum are shuffles.
//   - P goes through shared memory (in K's space: K is dead once the scores exist, after one more
//     barrier) to be the left operand of P V, where the thread owns 4 consecutive features (per 64
//     of the head) of its 4 rows: a warp's V reads are 256 contiguous bytes.
//   v8  v7 with a 16 x 8 grid of 128 threads, each scoring 4 rows x 8 keys (tx + 8j) and owning 8
//       of every 64 features of its rows' context. Nsight had v7 waiting on shared memory (short scoreboard and
//       MIO throttle stalls): a warp of v7 reads 16 K rows per float4 load, two wavefronts, where
//       v8's reads 8, one. Per 4 features a warp's loads then take 12 wavefronts for 128 FMAs a
//       thread instead of 12 for 64.
// ------------------------------------------------------------------------------------------------
template <int kHeadSize, int kKeyThreads>
struct SimtTiling
{
    static constexpr int kQueryRows = 64;
    static constexpr int kKeysPerTile = 64;
    static constexpr int kRowThreads = 16;             // the thread grid is kRowThreads x kKeyThreads
    static constexpr int kThreads = kRowThreads * kKeyThreads;
    // Register caps and unrolling, as measured best on H200 (head size 64): v7 at 2 blocks an SM
    // (<= 128 registers) with both products fully unrolled; v8 at 3 (<= 168 registers) with 4
    // steps unrolled (fully unrolled, its twice-as-long steps stalled on instruction fetch in
    // Nsight, and its small shapes ran 1.3-1.6x longer). Head size 128 would spill under a cap.
    static constexpr int kMinBlocks = kHeadSize != 64 ? 1 : kKeyThreads == 8 ? 3 : 2;
    static constexpr int kScoreUnroll = kKeyThreads == 8 ? 4 : kHeadSize / 4;
    static constexpr int kContextUnroll = kKeyThreads == 8 ? 4 : kKeysPerTile / 4;
    static constexpr int kRowsPerThread = kQueryRows / kRowThreads;
    static constexpr int kKeysPerThread = kKeysPerTile / kKeyThreads;
    static constexpr int kFeatureGroups = kHeadSize / (4 * kKeyThreads);  // float4s of context
    static_assert(kHeadSize % (4 * kKeyThreads) == 0, "the context's float4s split evenly");
    static_assert(32 % kKeyThreads == 0, "a row's threads are lanes of one warp");
    // Pitches in floats. A warp reads float4s of 16 (v7) or 8 (v8) different K rows at once: with
    // rows head_size + 4 floats apart, 8 consecutive rows start on 8 different groups of 4 banks
    // (the fewest wavefronts possible). P (kKeysPerTile wide) takes K's place and pitch: its writes
    // then cost two wavefronts instead of one, a few percent of the loads.
    static constexpr int kQkPitch = kHeadSize + 4;
    static constexpr int kVPitch = kHeadSize;          // read along rows: conflict-free as is
    static constexpr int kQOffset = 0, kKOffset = kQueryRows * kQkPitch;  // floats; P in K's
    static constexpr int kVOffset = kKOffset + kKeysPerTile * kQkPitch;
    static constexpr size_t kSharedBytes = sizeof(float) * (kVOffset + kKeysPerTile * kVPitch);
};

// Rows [0, valid) of a kRows x kHeadSize fp32 tile (row r at src + r * stride) times `scale` into
// shared memory `pitch` floats a row. Rows from `valid` on become zeros: their memory may belong to
// the next sequence or lie past the tensor, and a zero value row keeps a masked key's 0 weight from
// meeting a NaN there (0 x NaN = NaN).
template <int kRows, int kHeadSize, int kThreads>
__device__ __forceinline__ void load_fp32_tile(float* tile, int pitch, const float* src,
                                               int64_t stride, int valid, float scale = 1.f)
{
    constexpr int kChunks = kHeadSize / 4;  // float4s a row
    static_assert(kRows * kChunks % kThreads == 0, "every thread copies the same number of chunks");
#pragma unroll
    for (int n = 0; n < kRows * kChunks / kThreads; ++n)
    {
        const int index = threadIdx.x + n * kThreads;
        const int row = index / kChunks, chunk = index % kChunks;
        float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
        if (row < valid)
        {
            x = __ldg(reinterpret_cast<const float4*>(src + row * stride) + chunk);
            x = make_float4(x.x * scale, x.y * scale, x.z * scale, x.w * scale);
        }
        *reinterpret_cast<float4*>(tile + row * pitch + chunk * 4) = x;
    }
}

__device__ __forceinline__ float dot4(float4 a, float4 b, float acc)
{
    return fmaf(a.w, b.w, fmaf(a.z, b.z, fmaf(a.y, b.y, fmaf(a.x, b.x, acc))));
}

__device__ __forceinline__ float component(float4 v, int i)
{
    return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;  // i is a constant after unrolling
}

template <int kHeadSize, int kKeyThreads>
__global__ void __launch_bounds__(SimtTiling<kHeadSize, kKeyThreads>::kThreads, SimtTiling<kHeadSize, kKeyThreads>::kMinBlocks)
    attention_simt_kernel(AttentionParams p)
{
    using Tiling = SimtTiling<kHeadSize, kKeyThreads>;
    constexpr int kRowThreads = Tiling::kRowThreads, kRows = Tiling::kRowsPerThread;
    constexpr int kKeys = Tiling::kKeysPerThread, kGroups = Tiling::kFeatureGroups;
    constexpr int kQkPitch = Tiling::kQkPitch, kVPitch = Tiling::kVPitch;
    extern __shared__ float4 simt_shared[];  // float4: every tile row 16-byte aligned
    float* const shared = reinterpret_cast<float*>(simt_shared);
    float* const q_tile = shared + Tiling::kQOffset;
    float* const k_tile = shared + Tiling::kKOffset;
    float* const v_tile = shared + Tiling::kVOffset;
    float* const p_tile = k_tile;  // P takes K's place once the scores exist

    const SequenceSpan seq = sequence_span(p, blockIdx.z);
    const int first_query = blockIdx.x * Tiling::kQueryRows;
    if (first_query >= seq.query_rows)
        return;
    const int hidden = p.num_heads * kHeadSize;
    const int64_t stride = 3 * static_cast<int64_t>(hidden);
    const float* qkv = static_cast<const float*>(p.qkv);
    const float* k_src = qkv + seq.first_row * stride + hidden + blockIdx.y * kHeadSize;
    const float* v_src = k_src + hidden;
    const int tx = threadIdx.x % kKeyThreads, ty = threadIdx.x / kKeyThreads;

    // scale x log2(e) goes into Q once: scores come out of the product in the log2 domain, where
    // exp(x) = 2^(x log2 e) is exp2f, a single MUFU.EX2 and a few fix-ups instead of expf's range
    // reduction.
    load_fp32_tile<Tiling::kQueryRows, kHeadSize, Tiling::kThreads>(
        q_tile, kQkPitch, qkv + (seq.first_row + first_query) * stride + blockIdx.y * kHeadSize,
        stride, seq.query_rows - first_query, p.scale * 1.4426950408889634f);

    float out[kRows][kGroups][4] = {};
    float row_max[kRows], row_sum[kRows];  // max: log2 domain; sum: this thread's keys, till the end
#pragma unroll
    for (int i = 0; i < kRows; ++i)
        row_max[i] = -INFINITY, row_sum[i] = 0.f;

    for (int first_key = 0; first_key < seq.key_rows; first_key += Tiling::kKeysPerTile)
    {
        const int keys = min(Tiling::kKeysPerTile, seq.key_rows - first_key);
        __syncthreads();  // the previous tile's P V is done with P and V
        load_fp32_tile<Tiling::kKeysPerTile, kHeadSize, Tiling::kThreads>(
            k_tile, kQkPitch, k_src + first_key * stride, stride, keys);
        load_fp32_tile<Tiling::kKeysPerTile, kHeadSize, Tiling::kThreads>(
            v_tile, kVPitch, v_src + first_key * stride, stride, keys);
        __syncthreads();

        float score[kRows][kKeys] = {};
#pragma unroll Tiling::kScoreUnroll
        for (int d = 0; d < kHeadSize; d += 4)
        {
            float4 q[kRows], k[kKeys];
#pragma unroll
            for (int i = 0; i < kRows; ++i)
                q[i] = *reinterpret_cast<const float4*>(q_tile + (ty + kRowThreads * i) * kQkPitch + d);
#pragma unroll
            for (int j = 0; j < kKeys; ++j)
                k[j] = *reinterpret_cast<const float4*>(k_tile + (tx + kKeyThreads * j) * kQkPitch + d);
#pragma unroll
            for (int i = 0; i < kRows; ++i)
#pragma unroll
                for (int j = 0; j < kKeys; ++j)
                    score[i][j] = dot4(q[i], k[j], score[i][j]);
        }

        // Online softmax. Key 0 of every tile is valid, so each row's tile max is finite and the
        // first tile's correction is 2^-inf = 0, never 2^(-inf - -inf).
#pragma unroll
        for (int i = 0; i < kRows; ++i)
        {
            float tile_max = -INFINITY;
#pragma unroll
            for (int j = 0; j < kKeys; ++j)
            {
                if (tx + kKeyThreads * j >= keys)
                    score[i][j] = -INFINITY;  // padding: weight 2^-inf = 0
                tile_max = fmaxf(tile_max, score[i][j]);
            }
            const float new_max = fmaxf(row_max[i], lane_group_max<kKeyThreads>(tile_max));
            const float correction = exp2f(row_max[i] - new_max);
            row_max[i] = new_max;
            float sum = 0.f;
#pragma unroll
            for (int j = 0; j < kKeys; ++j)
            {
                score[i][j] = exp2f(score[i][j] - new_max);
                sum += score[i][j];
            }
            row_sum[i] = row_sum[i] * correction + sum;
#pragma unroll
            for (int g = 0; g < kGroups; ++g)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                    out[i][g][e] *= correction;
        }
        __syncthreads();  // every thread's scores are done with K: P may take its place
#pragma unroll
        for (int i = 0; i < kRows; ++i)
#pragma unroll
            for (int j = 0; j < kKeys; ++j)
                p_tile[(ty + kRowThreads * i) * kQkPitch + tx + kKeyThreads * j] = score[i][j];
        __syncthreads();

        // out += P V over the tile's keys (P and V are zero past `keys`).
#pragma unroll Tiling::kContextUnroll
        for (int key = 0; key < Tiling::kKeysPerTile; key += 4)
        {
            float4 weights[kRows];
#pragma unroll
            for (int i = 0; i < kRows; ++i)
                weights[i] = *reinterpret_cast<const float4*>(
                    p_tile + (ty + kRowThreads * i) * kQkPitch + key);
#pragma unroll
            for (int step = 0; step < 4; ++step)
#pragma unroll
                for (int g = 0; g < kGroups; ++g)
                {
                    const float4 v = *reinterpret_cast<const float4*>(
                        v_tile + (key + step) * kVPitch + g * 4 * kKeyThreads + tx * 4);
#pragma unroll
                    for (int i = 0; i < kRows; ++i)
                    {
                        const float w = component(weights[i], step);
                        out[i][g][0] = fmaf(w, v.x, out[i][g][0]);
                        out[i][g][1] = fmaf(w, v.y, out[i][g][1]);
                        out[i][g][2] = fmaf(w, v.z, out[i][g][2]);
                        out[i][g][3] = fmaf(w, v.w, out[i][g][3]);
                    }
                }
        }
    }

    // A sequence with no valid key never entered the loop: its sums are 0 and its context zeros.
    float* context = static_cast<float*>(p.context);
#pragma unroll
    for (int i = 0; i < kRows; ++i)
    {
        const float total = lane_group_sum<kKeyThreads>(row_sum[i]);
        const float inverse = total > 0.f ? 1.f / total : 0.f;
        const int row = first_query + ty + kRowThreads * i;
        if (row >= seq.query_rows)
            continue;
        float* dst = context + (seq.first_row + row) * hidden + blockIdx.y * kHeadSize + tx * 4;
#pragma unroll
        for (int g = 0; g < kGroups; ++g)
            *reinterpret_cast<float4*>(dst + g * 4 * kKeyThreads)
                = make_float4(out[i][g][0] * inverse, out[i][g][1] * inverse,
                              out[i][g][2] * inverse, out[i][g][3] * inverse);
    }
}

template <int kHeadSize, int kKeyThreads>
cudaError_t launch_simt(const AttentionParams& p, int batch, cudaStream_t stream)
{
    return launch_tiled<SimtTiling<kHeadSize, kKeyThreads>>(
        attention_simt_kernel<kHeadSize, kKeyThreads>, p, batch, stream);
}

template <int kKeyThreads>
cudaError_t launch_simt_for_head_size(const AttentionParams& p, int batch, cudaStream_t stream)
{
    return p.head_size == 64 ? launch_simt<64, kKeyThreads>(p, batch, stream)
                             : launch_simt<128, kKeyThreads>(p, batch, stream);
}

// The current device's compute capability as major * 10 + minor (0 if it cannot be read). Two
// attribute queries: cheap, and legal while a stream is being captured.
int compute_capability()
{
    int device = 0, major = 0, minor = 0;
    const bool known = cudaGetDevice(&device) == cudaSuccess
                       && cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device)
                              == cudaSuccess
                       && cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device)
                              == cudaSuccess;
    return known ? major * 10 + minor : 0;
}

// wgmma runs only on compute capability 9.0 and only from sm_90a machine code, which the build
// adds when Hopper is a target (CMakeLists.txt defines BERT_HAVE_SM90A then).
bool device_runs_wgmma()
{
#if defined(BERT_HAVE_SM90A)
    return compute_capability() == 90;
#else
    return false;
#endif
}

// The most shared memory one block may opt into on the current device (0 if it cannot be read).
size_t max_shared_bytes_per_block()
{
    int device = 0, bytes = 0;
    const bool known = cudaGetDevice(&device) == cudaSuccess
                       && cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin,
                                                 device)
                              == cudaSuccess;
    return known ? static_cast<size_t>(bytes) : 0;
}

// v7's and v8's tiles for head size 64 take 50 KB (every GPU since Turing has it), for 128 98 KB
// (not Turing's 64 KB, nor Volta's 96).
bool simt_fits(int32_t head_size)
{
    const size_t bytes = head_size == 64    ? SimtTiling<64, 16>::kSharedBytes
                         : head_size == 128 ? SimtTiling<128, 16>::kSharedBytes
                                            : 0;
    return bytes != 0 && bytes <= max_shared_bytes_per_block();
}

// v2-v8 move 16 bytes per instruction (cp.async, float4): besides a compiled head size and dtype
// they need 16-byte aligned buffers (rows and head offsets then are too: head_size x element size
// is a multiple of 16 for every compiled head size).
bool tensor_core_supports(int version, const AttentionParams& p, BertDType dtype)
{
    return bertQkvToContextVersionSupported(version, p.head_size, dtype) && bert::is_aligned16(p.qkv)
           && bert::is_aligned16(p.context);
}

// v5/v6 also fold the scale into a max taken before scaling, which needs it positive.
bool wgmma_supports(int version, const AttentionParams& p, BertDType dtype)
{
    return tensor_core_supports(version, p, dtype) && p.scale > 0.f;
}

// Launches version 1-8 (the default resolved, the checks passed).
cudaError_t launch_version(int version, const AttentionParams& p, int batch, BertDType dtype,
                           cudaStream_t stream)
{
    switch (version)
    {
    case 1:
        return dtype == BERT_FP16 ? launch_v1<__half>(p, batch, stream)
                                  : launch_v1<float>(p, batch, stream);
    case 2:
    case 3:
    case 4:
        // (warps per block, 16-row tiles per warp): 64, 128 and 128 query rows per block.
        return version == 2   ? launch_tensor_core_for_head_size<4, 1>(p, batch, stream)
               : version == 3 ? launch_tensor_core_for_head_size<8, 1>(p, batch, stream)
                              : launch_tensor_core_for_head_size<4, 2>(p, batch, stream);
    case 5:
    case 6:
        // (warpgroups per block, K/V stages): 64 or 128 query rows per block, double buffered.
        return version == 5 ? launch_wgmma<1, 2>(p, batch, stream)
                            : launch_wgmma<2, 2>(p, batch, stream);
    case 7: return launch_simt_for_head_size<16>(p, batch, stream);
    case 8: return launch_simt_for_head_size<8>(p, batch, stream);
    default: return cudaErrorInvalidValue;
    }
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
    case 3: return dtype == BERT_FP16 && head_size_compiled && compute_capability() >= 80;
    case 4:
        return dtype == BERT_FP16 && head_size_compiled && head_size <= 64
               && compute_capability() >= 80;
    case 5:
    case 6: return dtype == BERT_FP16 && head_size == kWgmmaHeadSize && device_runs_wgmma();
    case 7:
    case 8: return dtype == BERT_FP32 && simt_fits(head_size);
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
    if (qkv == nullptr || context == nullptr)
        return cudaErrorInvalidValue;
    const AttentionParams p{qkv, context, seq_lens, cu_seqlens, seq_len, num_heads, head_size, scale};
    // One check per call: an explicit version's here; the default takes the first that passes
    // it (see the versions at the top). v1 takes every call that got this far.
    const auto supports = [&](int v) {
        return v == 5 || v == 6 ? wgmma_supports(v, p, dtype) : tensor_core_supports(v, p, dtype);
    };
    if (version == 0)
        version = supports(5) ? 5 : supports(2) ? 2 : supports(8) ? 8 : 1;
    else if (version < 1 || version > BERT_QKV_TO_CONTEXT_LAST_VERSION)
        return cudaErrorInvalidValue;
    else if (version >= 2 && !supports(version))
        return cudaErrorNotSupported;
    const cudaError_t status = launch_version(version, p, batch, dtype, stream);
    if (status == cudaSuccess)
        bert::note_launched_version(version);
    return status;
}

extern "C" int bertQkvToContext(const void* qkv, void* context, const int32_t* seq_lens,
                                const int32_t* cu_seqlens, int32_t batch, int32_t seq_len,
                                int32_t num_heads, int32_t head_size, float scale, BertDType dtype,
                                cudaStream_t stream)
{
    return bertQkvToContextVersion(0, qkv, context, seq_lens, cu_seqlens, batch, seq_len,
                                   num_heads, head_size, scale, dtype, stream);
}
