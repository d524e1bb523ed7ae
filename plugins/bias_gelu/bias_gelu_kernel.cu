// Bias + exact GELU: y = gelu(x + bias), gelu(v) = v/2 * (1 + erf(v / sqrt(2))), in fp32 for every
// storage type. One read and one write per element: a pure bandwidth problem, so the versions
// differ only in how many bytes each thread keeps in flight.
//   1  scalar: one element per thread (grid-stride), the column from i % n.
//   2  16-byte vectors: a thread owns one vector column, loads its bias once and walks rows.
//   3  as 2, with kRowsInFlight rows loaded before any is computed (more independent loads).
// 0 = default, the fastest that applies as measured (README): 3 when its grid gives every SM at
// least kMinBlocksPerSmRowsInFlight blocks, else 2 (fewer rows: more, shorter threads keep more
// loads in flight); 1 where 16-byte access does not work.
#include "bias_gelu_kernel.h"

#include "../common/device_info.cuh"
#include "../common/vector_io.cuh"

namespace {

enum BiasGeluVersion { kDefault = 0, kScalar = 1, kVectors = 2, kVectorsRowsInFlight = 3 };

constexpr int kBlockThreads = 128;
constexpr int kRowsInFlight = 4;
constexpr int kMaxGridY = 65535;  // CUDA's limit on gridDim.y; the rows loop covers the rest
constexpr int kMinBlocksPerSmRowsInFlight = 32;

__device__ __forceinline__ float gelu_erf(float v)
{
    constexpr float kInvSqrt2 = 0.70710678118654752f;
    return 0.5f * v * (1.0f + erff(v * kInvSqrt2));
}

template <typename T>
__global__ void __launch_bounds__(kBlockThreads)
bias_gelu_scalar(const T* input, const float* bias, T* output, int64_t total, int32_t n)
{
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const float v = bert::to_float(input[i]) + (bias != nullptr ? bias[i % n] : 0.0f);
        output[i] = bert::from_float<T>(gelu_erf(v));
    }
}

// Block (x, y): threadIdx.x picks a 16-byte column of the row, threadIdx.y a row. Keeping the
// column fixed per thread means its bias is loaded once, and no per-element division is needed.
template <typename T, int kRows>
__global__ void __launch_bounds__(kBlockThreads)
bias_gelu_vectors(const T* input, const float* bias, T* output, int64_t rows, int32_t n)
{
    constexpr int kVec = bert::kElemsPer16Bytes<T>;
    const int vec = blockIdx.x * blockDim.x + threadIdx.x;
    if (vec >= n / kVec) return;  // no barriers below, so leaving early is safe
    const int col = vec * kVec;
    float b[kVec] = {};
    if (bias != nullptr) bert::load_as_float(bias + col, b);

    const int64_t rows_per_step = int64_t(gridDim.y) * blockDim.y * kRows;
    for (int64_t first = (int64_t(blockIdx.y) * blockDim.y + threadIdx.y) * kRows; first < rows;
         first += rows_per_step) {
        float x[kRows][kVec];
#pragma unroll
        for (int r = 0; r < kRows; ++r)  // all loads first: kRows independent requests in flight
            if (first + r < rows) bert::load_as_float(input + (first + r) * n + col, x[r]);
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            if (first + r < rows) {
                float y[kVec];
#pragma unroll
                for (int i = 0; i < kVec; ++i) y[i] = gelu_erf(x[r][i] + b[i]);
                bert::store_from_float(output + (first + r) * n + col, y);
            }
        }
    }
}

int next_power_of_two(int value)
{
    int power = 1;
    while (power < value) power *= 2;
    return power;
}

struct VectorLaunch {
    dim3 grid;
    dim3 block;
};

// As many threads along a row as it has vectors (a power of two up to the block), the rest of
// the block on further rows, so narrow rows still fill the block.
VectorLaunch plan_vectors(int64_t rows, int vecs_per_row, int rows_per_thread)
{
    const int threads_x = next_power_of_two(vecs_per_row) < kBlockThreads ? next_power_of_two(vecs_per_row)
                                                                           : kBlockThreads;
    const dim3 block(threads_x, kBlockThreads / threads_x);
    const int64_t rows_per_block = int64_t(block.y) * rows_per_thread;
    const int64_t row_steps = (rows + rows_per_block - 1) / rows_per_block;
    const dim3 grid((vecs_per_row + threads_x - 1) / threads_x,
                    unsigned(row_steps < kMaxGridY ? row_steps : kMaxGridY));
    return {grid, block};
}

template <typename T, int kRows>
cudaError_t launch_vectors(const T* input, const float* bias, T* output, int64_t rows, int32_t n,
                           cudaStream_t stream)
{
    const VectorLaunch launch = plan_vectors(rows, n / bert::kElemsPer16Bytes<T>, kRows);
    bias_gelu_vectors<T, kRows><<<launch.grid, launch.block, 0, stream>>>(input, bias, output, rows, n);
    return cudaGetLastError();
}

template <typename T>
cudaError_t bias_gelu(int version, const void* input_ptr, const float* bias, void* output_ptr,
                      int64_t rows, int32_t n, cudaStream_t stream)
{
    const T* input = static_cast<const T*>(input_ptr);
    T* output = static_cast<T*>(output_ptr);
    constexpr int kVec = bert::kElemsPer16Bytes<T>;
    const bool vectorizable = n % kVec == 0 && bert::is_aligned16(input) &&
                              bert::is_aligned16(output) && bert::is_aligned16(bias);
    if (version == kDefault && !vectorizable) version = kScalar;
    if (version == kDefault) {
        int sms = 0;
        const cudaError_t status = bert::multiprocessor_count(&sms);
        if (status != cudaSuccess) return status;
        const VectorLaunch v3 = plan_vectors(rows, n / kVec, kRowsInFlight);
        const int64_t v3_blocks = int64_t(v3.grid.x) * v3.grid.y;
        version = v3_blocks >= int64_t(kMinBlocksPerSmRowsInFlight) * sms ? kVectorsRowsInFlight : kVectors;
    }

    // Whether a version applies depends on the shape only, so even 0 rows give the same answer.
    if (version != kScalar && !vectorizable) return cudaErrorNotSupported;
    if (rows == 0) return cudaSuccess;
    if (version == kScalar) {
        const int64_t total = rows * n;
        const int64_t blocks = (total + kBlockThreads - 1) / kBlockThreads;
        bias_gelu_scalar<T><<<unsigned(blocks < INT32_MAX ? blocks : INT32_MAX), kBlockThreads, 0,
                              stream>>>(input, bias, output, total, n);
        return cudaGetLastError();
    }
    return version == kVectors ? launch_vectors<T, 1>(input, bias, output, rows, n, stream)
                               : launch_vectors<T, kRowsInFlight>(input, bias, output, rows, n, stream);
}

}  // namespace

extern "C" int bertBiasGeluVersion(int version, const void* input, const float* bias, void* output,
                                   int64_t rows, int32_t n, BertDType dtype, cudaStream_t stream)
{
    if (rows < 0 || n <= 0 || version < kDefault || version > kVectorsRowsInFlight)
        return cudaErrorInvalidValue;
    if (rows > 0 && (input == nullptr || output == nullptr)) return cudaErrorInvalidValue;
    switch (dtype) {
        case BERT_FP32: return bias_gelu<float>(version, input, bias, output, rows, n, stream);
        case BERT_FP16: return bias_gelu<__half>(version, input, bias, output, rows, n, stream);
    }
    return cudaErrorInvalidValue;
}

extern "C" int bertBiasGelu(const void* input, const float* bias, void* output, int64_t rows,
                            int32_t n, BertDType dtype, cudaStream_t stream)
{
    return bertBiasGeluVersion(kDefault, input, bias, output, rows, n, dtype, stream);
}
