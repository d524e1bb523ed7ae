// LayerNorm of rows whose values come from a "row source": the one normalization behind
// LayerNorm (rows of one tensor), SkipLayerNorm (input + skip + bias) and EmbLayerNorm (the sum of
// three embedding rows). Each kernel file only says where a row's values come from.
//
// A RowSource is a small struct passed to the kernel by value:
//   struct Row {
//       int64_t out_row = -1;  // output row to write; < 0: nothing to compute or store
//       template <int N> __device__ void load(int col, float (&x)[N]) const;  // x = row[col, col+N)
//   };
//   __device__ Row row(int64_t index) const;  // the index-th of `rows` rows
//
// Numerics: y = (x - mean) / sqrt(var + epsilon) * gamma + beta, statistics in fp32.
// The variance is computed from deviations, var = sum((x - mean)^2) / hidden, AFTER the mean is
// known: two passes, but over registers, so global memory is still read once. The one-pass
// shortcut var = E[x^2] - mean^2 cancels catastrophically when |mean| >> std (fp32 keeps ~7
// digits: mean 1000 and std 1 leave nothing of the variance), which real activations do have.
#pragma once

#include <initializer_list>

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
// 0 asks for the default, the fastest that applies as measured (README): 3 once there are enough
// rows for kMinBlocksPerSm of its blocks on every SM, 2 for fewer rows (a block per row puts more
// threads, so more loads in flight, on the same few rows), 1 where 16-byte access does not work.
enum LayerNormVersion { kLayerNormDefault = 0, kLayerNormScalar = 1, kLayerNormBlockVector = 2, kLayerNormSized = 3 };

constexpr int kScalarBlockThreads = 128;
// v3: values of the row each thread keeps in registers. 32 fp32 registers of data is enough
// bytes in flight per thread to saturate memory, and leaves room for 8 warps per SM or more.
constexpr int kMaxFloatsPerThread = 32;
// Block size when several rows share a block (one warp or less per row).
constexpr int kRowsBlockThreads = 128;
// The default takes v3 from this many v3 blocks per SM on (~2000 BERT tokens on a 132-SM GPU).
constexpr int kMinBlocksPerSm = 4;
// One vector per thread may need 1024 threads for a row; with several vectors a thread needs
// more registers, so those kernels promise the compiler at most 256 threads per block.
__host__ __device__ constexpr int max_block_threads(int vecs_per_thread)
{
    return vecs_per_thread == 1 ? 1024 : 256;
}

// v1: one block per row; every pass re-reads the row from global memory (L1/L2 catch most of it).
template <typename T, typename RowSource>
__global__ void __launch_bounds__(kScalarBlockThreads)
layernorm_rows_scalar(RowSource source, T* output, const float* gamma, const float* beta,
                      int32_t hidden, float epsilon)
{
    const typename RowSource::Row row = source.row(blockIdx.x);
    if (row.out_row < 0) return;  // the whole block leaves together, so no barrier is skipped

    float sum = 0.0f;
    for (int col = threadIdx.x; col < hidden; col += blockDim.x) {
        float x[1];
        row.load(col, x);
        sum += x[0];
    }
    const float mean = block_sum(sum) / hidden;

    float squares = 0.0f;
    for (int col = threadIdx.x; col < hidden; col += blockDim.x) {
        float x[1];
        row.load(col, x);
        squares += (x[0] - mean) * (x[0] - mean);
    }
    const float inv_std = rsqrtf(block_sum(squares) / hidden + epsilon);

    T* out = output + row.out_row * hidden;
    for (int col = threadIdx.x; col < hidden; col += blockDim.x) {
        float x[1];
        row.load(col, x);
        out[col] = from_float<T>((x[0] - mean) * inv_std * gamma[col] + beta[col]);
    }
}

// v2 and v3: `threads_per_row` threads own a row; thread `lane` holds the 16-byte vectors
// lane, lane + threads_per_row, ... so that at each step neighbouring lanes read neighbouring
// 16 bytes (coalesced). threads_per_row is a power of two <= 32 (several rows per block) or the
// block size (one row per block).
template <typename T, int kVecsPerThread, typename RowSource>
__global__ void __launch_bounds__(max_block_threads(kVecsPerThread))
layernorm_rows_registers(RowSource source, T* output, const float* gamma, const float* beta,
                         int64_t rows, int32_t hidden, float epsilon, int threads_per_row)
{
    constexpr int kVec = kElemsPer16Bytes<T>;
    const int rows_per_block = blockDim.x / threads_per_row;
    const int64_t index = int64_t(blockIdx.x) * rows_per_block + threadIdx.x / threads_per_row;
    const int lane = threadIdx.x % threads_per_row;
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
            row.load(vec * kVec, x[v]);
        } else {
#pragma unroll
            for (int i = 0; i < kVec; ++i) x[v][i] = 0.0f;
        }
#pragma unroll
        for (int i = 0; i < kVec; ++i) sum += x[v][i];
    }
    const float mean = row_sum(sum, threads_per_row) / hidden;

    // Second pass, over registers only: squared deviations from the now known mean.
    float squares = 0.0f;
#pragma unroll
    for (int v = 0; v < kVecsPerThread; ++v) {
        if (v * threads_per_row + lane < vecs_per_row) {
#pragma unroll
            for (int i = 0; i < kVec; ++i) squares += (x[v][i] - mean) * (x[v][i] - mean);
        }
    }
    const float inv_std = rsqrtf(row_sum(squares, threads_per_row) / hidden + epsilon);
    if (!has_row) return;  // after the last reduction: nobody waits for us any more

    T* out = output + row.out_row * hidden;
#pragma unroll
    for (int v = 0; v < kVecsPerThread; ++v) {
        const int vec = v * threads_per_row + lane;
        if (vec < vecs_per_row) {
            float scale[kVec], shift[kVec], y[kVec];
            load_as_float(gamma + vec * kVec, scale);
            load_as_float(beta + vec * kVec, shift);
#pragma unroll
            for (int i = 0; i < kVec; ++i) y[i] = (x[v][i] - mean) * inv_std * scale[i] + shift[i];
            store_from_float(out + vec * kVec, y);
        }
    }
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
// hold the row with at most kMaxFloatsPerThread values each.
inline RegisterPlan plan_sized(int vecs_per_row, int elems_per_vec)
{
    const int max_vecs_per_thread = kMaxFloatsPerThread / elems_per_vec;
    int threads = 1;
    while (threads * max_vecs_per_thread < vecs_per_row) threads *= 2;
    if (threads > max_block_threads(2)) return {0, 0};
    return {threads, ceil_div(vecs_per_row, threads)};
}

inline bool all_aligned16(std::initializer_list<const void*> pointers)
{
    for (const void* pointer : pointers)
        if (!is_aligned16(pointer)) return false;
    return true;
}

// Picks the instantiation whose kVecsPerThread equals the plan's (1 .. 32 / elements per vector).
template <typename T, typename RowSource, int kVecs = 1>
cudaError_t launch_registers(int vecs_per_thread, dim3 grid, dim3 block, cudaStream_t stream,
                             const RowSource& source, T* output, const float* gamma,
                             const float* beta, int64_t rows, int32_t hidden, float epsilon,
                             int threads_per_row)
{
    if constexpr (kVecs * kElemsPer16Bytes<T> > kMaxFloatsPerThread) {
        return cudaErrorNotSupported;
    } else {
        if (vecs_per_thread != kVecs)
            return launch_registers<T, RowSource, kVecs + 1>(vecs_per_thread, grid, block, stream,
                                                             source, output, gamma, beta, rows,
                                                             hidden, epsilon, threads_per_row);
        layernorm_rows_registers<T, kVecs><<<grid, block, 0, stream>>>(
            source, output, gamma, beta, rows, hidden, epsilon, threads_per_row);
        return cudaGetLastError();
    }
}

// Normalizes `rows` rows of `source` into output. `sources_aligned`: the source's own pointers
// allow 16-byte loads (the caller knows them); output/gamma/beta are checked here.
// Returns cudaErrorNotSupported when an explicitly requested version cannot take this shape.
template <typename T, typename RowSource>
cudaError_t launch_layernorm_rows(int version, const RowSource& source, bool sources_aligned,
                                  T* output, const float* gamma, const float* beta, int64_t rows,
                                  int32_t hidden, float epsilon, cudaStream_t stream)
{
    if (rows < 0 || hidden <= 0 || version < kLayerNormDefault || version > kLayerNormSized)
        return cudaErrorInvalidValue;
    if (rows > 0 && (output == nullptr || gamma == nullptr || beta == nullptr))
        return cudaErrorInvalidValue;

    constexpr int kVec = kElemsPer16Bytes<T>;
    const int vecs_per_row = hidden / kVec;
    const bool vectorizable = sources_aligned && hidden % kVec == 0 && all_aligned16({output, gamma, beta});
    if (version == kLayerNormDefault) {
        const RegisterPlan sized = plan_sized(vecs_per_row, kVec);
        const bool block_fits = plan_block_vector(vecs_per_row).threads_per_row > 0;
        int sms = 0;
        const cudaError_t status = multiprocessor_count(&sms);
        if (status != cudaSuccess) return status;
        const int rows_per_block = sized.threads_per_row <= kWarpSize && sized.threads_per_row > 0
                                       ? kRowsBlockThreads / sized.threads_per_row
                                       : 1;
        const bool many_rows = rows >= int64_t(kMinBlocksPerSm) * sms * rows_per_block;
        if (!vectorizable) version = kLayerNormScalar;
        else if (sized.threads_per_row > 0 && (many_rows || !block_fits)) version = kLayerNormSized;
        else version = block_fits ? kLayerNormBlockVector : kLayerNormScalar;
    }

    // Whether a version applies depends on the shape only, so even 0 rows give the same answer.
    if (version == kLayerNormScalar) {
        if (rows == 0) return cudaSuccess;
        if (rows > INT32_MAX) return cudaErrorNotSupported;  // one block per row
        layernorm_rows_scalar<T><<<dim3(unsigned(rows)), kScalarBlockThreads, 0, stream>>>(
            source, output, gamma, beta, hidden, epsilon);
        return cudaGetLastError();
    }
    if (!vectorizable) return cudaErrorNotSupported;
    const RegisterPlan plan = version == kLayerNormBlockVector ? plan_block_vector(vecs_per_row)
                                                               : plan_sized(vecs_per_row, kVec);
    if (plan.threads_per_row == 0) return cudaErrorNotSupported;
    if (rows == 0) return cudaSuccess;
    const int block = plan.threads_per_row <= kWarpSize ? kRowsBlockThreads : plan.threads_per_row;
    const int64_t blocks = (rows + block / plan.threads_per_row - 1) / (block / plan.threads_per_row);
    if (blocks > INT32_MAX) return cudaErrorNotSupported;
    return launch_registers<T>(plan.vecs_per_thread, dim3(unsigned(blocks)), dim3(block), stream,
                               source, output, gamma, beta, rows, hidden, epsilon,
                               plan.threads_per_row);
}

}  // namespace bert
