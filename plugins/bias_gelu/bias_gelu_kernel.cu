// Bias + exact GELU: y = gelu(x + bias), gelu(v) = v/2 * (1 + erf(v / sqrt(2))), in fp32 for every
// storage type. One read and one write per element: a bandwidth problem in fp32; in fp16, where
// an element is half the bytes, the ~33 instructions an element of erff's form become the bound
// (72.7% of the copy peak at 65536 x 3072 on the H200, run 7). Versions 1-3 differ in how many bytes each
// thread keeps in flight, 4 and 5 in the GELU's arithmetic, 6-9 in having no rows loop:
//   1  scalar: one element per thread (grid-stride), the column from i % n.
//   2  16-byte vectors: a thread owns one vector column, loads its bias once and walks rows.
//   3  as 2, with kRowsInFlight rows loaded before any is computed (more independent loads).
//   4  as 2, fp16 only, with ShortGelu (below: about half erff's instructions).
//   5  as 3, fp16 only, with ShortGelu.
//   6  one vector a thread and a grid that covers every row: 2 without its rows loop, which cost
//      0.2 us at 64 x 3072 on the H100 (2.60 against 2.40 us, run 14; the loop ran once there).
//      Needs the rows in one grid (gridDim.y <= 65535 row steps), else cudaErrorNotSupported.
//   7  as 6, fp16 only, with ShortGelu.
//   8  as 7 with 8-byte vectors (4 halves a thread) in blocks of 256: twice v7's threads, each with
//      half its work, for the same bytes. For few rows (64 x 3072 is 24,576 v7 threads, 186 an SM)
//      the kernel is one chain of latencies (load, ~100 instructions of GELU, store), and halving
//      each thread's part of it paid a little at 64 rows (0.03 us); from 384 rows it is slower, 5-6%
//      from 2K (run 17, README). A tactic only. Takes what v7 takes (16-byte aligned rows of whole
//      16-byte vectors).
//   9  v6 (fp32) / v7 (fp16) in a grid that fits the tensor exactly: blocks of 128 threads along a
//      row, one block row per tensor row, so no thread is outside it and none tests whether it is,
//      the block's shape is a constant (not read from blockDim), and offsets are 32-bit. Where
//      the kernel is one wave of short threads, every instruction before the first load delays
//      the whole chain: in sm_90 SASS v6 issues its first load after 33 instructions (the bounds
//      test and its exit, blockDim, a 64-bit row offset), v9 after 17 (fp32) or 13 (fp16), and
//      torch.compile's Triton kernels at 64 x 3072 after 19-23 (run 19). On the H100 at 64-4,096
//      rows of 3072 fp32, 0.4-2.8% faster than v6 with cold inputs (2-3% at 64-384 rows) and up to
//      2.3% with the input in L2 (level from 384 rows); fp16 0.6-2.8% faster than v7 at 64 and
//      1,024 rows. Takes rows of whole blocks (n a multiple of 512 fp32, 1024 fp16: BERT's 3072
//      and 4096), at most 65,535 rows and 2^31 - 1 elements, else cudaErrorNotSupported.
// 0 = default, the fastest that applies as measured (README): 9 wherever it takes the shape (since
// run 19: ahead of or level with 6 and 7 at every count it was timed at, 64-4,096 rows of 3072);
// else fp32 3 when its grid gives every SM at least kMinBlocksPerSmRowsInFlight blocks, else 6 (2
// beyond one grid); fp16 7 (4 beyond one grid: with ShortGelu's fewer registers, more warps an SM
// beat rows in flight, v5 4-8% slower from 16K rows on the H200); 1 where 16-byte access does not work.
#include "bias_gelu_kernel.h"

#include "../common/device_info.cuh"
#include "../common/vector_io.cuh"

namespace {

enum BiasGeluVersion {
    kDefault = 0,
    kScalar = 1,
    kVectors = 2,
    kVectorsRowsInFlight = 3,
    kVectorsShortGelu = 4,
    kVectorsRowsInFlightShortGelu = 5,
    kOnePass = 6,
    kOnePassShortGelu = 7,
    kOnePassHalfVectorsShortGelu = 8,
    kExactGrid = 9,
};

constexpr int kBlockThreads = 128;
constexpr int kHalfVectorBlockThreads = 256;  // v8
constexpr int kHalfVectorElems = 4;           // v8: halves a thread (8 bytes)
constexpr int kRowsInFlight = 4;
constexpr int kMaxGridY = 65535;  // CUDA's limit on gridDim.y; v2-v5 loop over the rest, v6-v9 refuse
// Rows in flight pay only on a grid many waves deep: at n = 3072 fp32, v3 was 1-5% behind v6 at
// 3,072-12,288 rows (35-140 of its blocks an SM) on the H100 (run 14) and the H200 (run 15). From
// 16K rows (186 and more) v3 was level with v6 on the H200 and ~1% behind it on the H100; where v6
// cannot run (64K rows) v3 was 4% ahead of v2 on the H200 and ~1% behind it on the H100. So no GPU
// shows v3 ahead of v6; the threshold keeps it for v2's place on the H200, and a TensorRT builder
// times them all (the plugin's tactics). Since run 19 the default asks for v9 first: where it takes
// the shape (up to 65,535 rows) v3 was never ahead of v6 before run 22, and v9 never behind v6 where
// both were timed (64-4,096 rows). From ~14K rows run 22 timed v3 and v6 1.1-3.8% behind v9 (v3 ahead
// of v6 at two counts), no further apart than v9 timed twice (0.6-3.8%): README, "Run 22".
constexpr int kMinBlocksPerSmRowsInFlight = 160;

// v1-v3, v6, v9 in fp32: CUDA's erff (at most 2 ulp; branch-free since CUDA 12: two polynomials picked per
// coefficient by FSEL, one EX2), ~22 instructions.
struct ErffGelu {
    static __device__ __forceinline__ float apply(float v)
    {
        constexpr float kInvSqrt2 = 0.70710678118654752f;
        return 0.5f * v * (1.0f + erff(v * kInvSqrt2));
    }
};

// v4, v5, v7, v8, v9 in fp16: Phi(v) = erfc(-v / sqrt 2) / 2 with erfc(z) ~= t P(t) exp(-z^2), t = 1 / (1 + p z), for
// z = |v| / sqrt 2 >= 0 (Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7), and Phi(v) = 1 - Phi(-v)
// for v > 0: one polynomial, one approximate reciprocal, one EX2, ~13 instructions. Its error in y
// (at most ~2.2e-7) is below what an fp16 output can show: over every finite fp16 input each output
// is within one fp16 ulp of the correctly rounded GELU (tests/gpu/test_memory_bound_kernels.py,
// exhaustive), where erff's form, 0.5 v (1 + erff(v / sqrt 2)), is two ulps off at v = -4.05: for
// v < -3 the 1 + erf it adds cancels. fp32 outputs keep erff: they would see A&S's 1.5e-7 in the
// tail (relative error ~1e-3 near v = -5), and fp32 is at the memory bound anyway.
struct ShortGelu {
    static __device__ __forceinline__ float approx_reciprocal(float d)
    {
        float r;
        asm("rcp.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(d));
        return r;
    }
    static __device__ __forceinline__ float approx_exp2(float x)
    {
        float r;
        asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(x));
        return r;
    }
    static __device__ __forceinline__ float apply(float v)
    {
        constexpr float kPOverSqrt2 = 0.3275911f * 0.70710678118654752f;
        constexpr float kMinusHalfLog2e = -0.5f * 1.4426950408889634f;  // exp(-v^2 / 2) = 2^(v * v * this)
        // A&S's a1..a5, halved: the polynomial gives erfc(z) / 2 = Phi(-|v|) directly.
        constexpr float a1 = 0.5f * 0.254829592f, a2 = 0.5f * -0.284496736f, a3 = 0.5f * 1.421413741f,
                        a4 = 0.5f * -1.453152027f, a5 = 0.5f * 1.061405429f;
        const float t = approx_reciprocal(fmaf(kPOverSqrt2, fabsf(v), 1.0f));
        const float poly = t * fmaf(t, fmaf(t, fmaf(t, fmaf(t, a5, a4), a3), a2), a1);
        const float lower_tail = poly * approx_exp2(v * (v * kMinusHalfLog2e));  // Phi(-|v|)
        return v * (v < 0.0f ? lower_tail : 1.0f - lower_tail);
    }
};

template <typename T>
__global__ void __launch_bounds__(kBlockThreads)
bias_gelu_scalar(const T* input, const float* bias, T* output, int64_t total, int32_t n)
{
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
        const float v = bert::to_float(input[i]) + (bias != nullptr ? bias[i % n] : 0.0f);
        output[i] = bert::from_float<T>(ErffGelu::apply(v));
    }
}

// Block (x, y): threadIdx.x picks a 16-byte column of the row, threadIdx.y a row. Keeping the
// column fixed per thread means its bias is loaded once, and no per-element division is needed.
template <typename T, int kRows, typename Gelu>
__global__ void __launch_bounds__(kBlockThreads)
bias_gelu_vectors(const T* input, const float* bias, T* output, int64_t rows, int32_t n)
{
    constexpr int kVec = bert::kElemsPer16Bytes<T>;
    const int vec = blockIdx.x * blockDim.x + threadIdx.x;
    if (vec >= n / kVec) return;  // no barriers below, so leaving early is safe
    const int col = vec * kVec;
    float b[kVec] = {};
    if (bias != nullptr) bert::load_as_float<bert::kParameters>(bias + col, b);

    const int64_t rows_per_step = int64_t(gridDim.y) * blockDim.y * kRows;
    for (int64_t first = (int64_t(blockIdx.y) * blockDim.y + threadIdx.y) * kRows; first < rows;
         first += rows_per_step) {
        float x[kRows][kVec];
#pragma unroll
        for (int r = 0; r < kRows; ++r)  // all loads first: kRows independent requests in flight
            if (first + r < rows) bert::load_as_float<bert::kInPlaceActivations>(input + (first + r) * n + col, x[r]);
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            if (first + r < rows) {
                float y[kVec];
#pragma unroll
                for (int i = 0; i < kVec; ++i) y[i] = Gelu::apply(x[r][i] + b[i]);
                bert::store_from_float<bert::kInPlaceActivations>(output + (first + r) * n + col, y);
            }
        }
    }
}

// v6, v7: as bias_gelu_vectors with every row in the grid, so a thread loads, computes and stores
// one vector and has no loop. The bias is a template constant, as in SkipLayerNorm, where a run-time
// test changed ptxas's schedule (run 13); here the test cost nothing measurable (run 14, section B).
template <typename T, typename Gelu, bool kBias>
__global__ void __launch_bounds__(kBlockThreads)
bias_gelu_one_pass(const T* input, const float* bias, T* output, int64_t rows, int32_t n)
{
    constexpr int kVec = bert::kElemsPer16Bytes<T>;
    const int col = (blockIdx.x * blockDim.x + threadIdx.x) * kVec;
    const int64_t row = int64_t(blockIdx.y) * blockDim.y + threadIdx.y;
    if (col >= n || row >= rows) return;
    float x[kVec];
    float b[kVec] = {};
    bert::load_as_float<bert::kInPlaceActivations>(input + row * n + col, x);
    if constexpr (kBias) bert::load_as_float<bert::kParameters>(bias + col, b);
    float y[kVec];
#pragma unroll
    for (int i = 0; i < kVec; ++i) y[i] = Gelu::apply(x[i] + b[i]);
    bert::store_from_float<bert::kInPlaceActivations>(output + row * n + col, y);
}

// v8: bias_gelu_one_pass<__half, ShortGelu> with an 8-byte vector (two half2) a thread.
template <bool kBias>
__global__ void __launch_bounds__(kHalfVectorBlockThreads)
bias_gelu_half_vectors(const __half* input, const float* bias, __half* output, int64_t rows, int32_t n)
{
    const int col = (blockIdx.x * blockDim.x + threadIdx.x) * kHalfVectorElems;
    const int64_t row = int64_t(blockIdx.y) * blockDim.y + threadIdx.y;
    if (col >= n || row >= rows) return;
    const uint2 bits =
        bert::load_bits<bert::kInPlaceActivations>(reinterpret_cast<const uint2*>(input + row * n + col));
    const float2 low = __half22float2(*reinterpret_cast<const __half2*>(&bits.x));
    const float2 high = __half22float2(*reinterpret_cast<const __half2*>(&bits.y));
    float b[kHalfVectorElems] = {};
    if constexpr (kBias) bert::load_as_float<bert::kParameters>(bias + col, b);
    const __half2 y_low = __floats2half2_rn(ShortGelu::apply(low.x + b[0]), ShortGelu::apply(low.y + b[1]));
    const __half2 y_high = __floats2half2_rn(ShortGelu::apply(high.x + b[2]), ShortGelu::apply(high.y + b[3]));
    uint2 out;
    out.x = *reinterpret_cast<const uint32_t*>(&y_low);
    out.y = *reinterpret_cast<const uint32_t*>(&y_high);
    bert::store_bits<bert::kInPlaceActivations>(reinterpret_cast<uint2*>(output + row * n + col), out);
}

// v9's block covers this many elements of a row: kBlockThreads 16-byte vectors.
template <typename T>
constexpr int kExactGridBlockElems = kBlockThreads * bert::kElemsPer16Bytes<T>;

// v9: one 16-byte vector a thread, blockIdx.y the row, blockIdx.x the row's kBlockThreads-vector
// chunk. Every thread is inside the tensor: bias_gelu() launches it only where
// exact_grid_takes_width and exact_grid_takes_rows hold.
template <typename T, typename Gelu, bool kBias>
__global__ void __launch_bounds__(kBlockThreads)
bias_gelu_exact_grid(const T* input, const float* bias, T* output, int32_t n)
{
    constexpr int kVec = bert::kElemsPer16Bytes<T>;
    const int32_t col = (int32_t(blockIdx.x) * kBlockThreads + int32_t(threadIdx.x)) * kVec;
    const int32_t offset = int32_t(blockIdx.y) * n + col;
    float x[kVec];
    float b[kVec] = {};
    bert::load_as_float<bert::kInPlaceActivations>(input + offset, x);
    if constexpr (kBias) bert::load_as_float<bert::kParameters>(bias + col, b);
    float y[kVec];
#pragma unroll
    for (int i = 0; i < kVec; ++i) y[i] = Gelu::apply(x[i] + b[i]);
    bert::store_from_float<bert::kInPlaceActivations>(output + offset, y);
}

// Whether v9's grid can be the tensor: rows of whole blocks, one block row a tensor row
// (gridDim.y), 32-bit element offsets.
template <typename T>
bool exact_grid_takes_width(int32_t n)
{
    return n % kExactGridBlockElems<T> == 0;
}
bool exact_grid_takes_rows(int64_t rows, int32_t n)
{
    return rows <= kMaxGridY && rows * n <= INT32_MAX;
}

template <typename T, typename Gelu>
cudaError_t launch_exact_grid(const T* input, const float* bias, T* output, int64_t rows, int32_t n,
                              cudaStream_t stream)
{
    const dim3 grid(unsigned(n / kExactGridBlockElems<T>), unsigned(rows));
    if (bias != nullptr)
        bias_gelu_exact_grid<T, Gelu, true><<<grid, kBlockThreads, 0, stream>>>(input, bias, output, n);
    else
        bias_gelu_exact_grid<T, Gelu, false><<<grid, kBlockThreads, 0, stream>>>(input, bias, output, n);
    return cudaGetLastError();
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
VectorLaunch plan_vectors(int64_t rows, int vecs_per_row, int rows_per_thread, int block_threads = kBlockThreads)
{
    const int threads_x = next_power_of_two(vecs_per_row) < block_threads ? next_power_of_two(vecs_per_row)
                                                                           : block_threads;
    const dim3 block(threads_x, block_threads / threads_x);
    const int64_t rows_per_block = int64_t(block.y) * rows_per_thread;
    const int64_t row_steps = (rows + rows_per_block - 1) / rows_per_block;
    const dim3 grid((vecs_per_row + threads_x - 1) / threads_x,
                    unsigned(row_steps < kMaxGridY ? row_steps : kMaxGridY));
    return {grid, block};
}

template <typename T, int kRows, typename Gelu>
cudaError_t launch_vectors(const T* input, const float* bias, T* output, int64_t rows, int32_t n,
                           cudaStream_t stream)
{
    const VectorLaunch launch = plan_vectors(rows, n / bert::kElemsPer16Bytes<T>, kRows);
    bias_gelu_vectors<T, kRows, Gelu><<<launch.grid, launch.block, 0, stream>>>(input, bias, output, rows, n);
    return cudaGetLastError();
}

// Whether a grid of plan_vectors, one row a thread, reaches every row (it caps gridDim.y).
bool reaches_every_row(const VectorLaunch& launch, int64_t rows)
{
    return int64_t(launch.grid.y) * launch.block.y >= rows;
}

template <typename T, typename Gelu>
cudaError_t launch_one_pass(const VectorLaunch& launch, const T* input, const float* bias, T* output,
                            int64_t rows, int32_t n, cudaStream_t stream)
{
    if (bias != nullptr)
        bias_gelu_one_pass<T, Gelu, true><<<launch.grid, launch.block, 0, stream>>>(input, bias, output, rows, n);
    else
        bias_gelu_one_pass<T, Gelu, false><<<launch.grid, launch.block, 0, stream>>>(input, bias, output, rows, n);
    return cudaGetLastError();
}

// Whether `version` (1-9) takes rows of n values of T from 16-byte aligned buffers at some row count
// (v6-v9 not at every one: their rows must fit one grid, checked at launch).
template <typename T>
bool version_takes(int version, int32_t n)
{
    const bool short_gelu = version == kVectorsShortGelu || version == kVectorsRowsInFlightShortGelu ||
                            version == kOnePassShortGelu || version == kOnePassHalfVectorsShortGelu;
    if (short_gelu && sizeof(T) != 2) return false;
    if (version == kExactGrid) return exact_grid_takes_width<T>(n);
    return version == kScalar || n % bert::kElemsPer16Bytes<T> == 0;
}

// v8's grid: as v7's (plan_vectors, one row a thread) over 8-byte vectors and blocks of 256. Its
// rows a block equal v7's (twice the vectors across, twice the threads), so it fits one grid where
// v7 does.
VectorLaunch plan_half_vectors(int64_t rows, int32_t n)
{
    return plan_vectors(rows, n / kHalfVectorElems, 1, kHalfVectorBlockThreads);
}

// Launches version 1-9 (the default resolved, the checks passed).
template <typename T>
cudaError_t launch_version(int version, const T* input, const float* bias, T* output, int64_t rows,
                           int32_t n, const VectorLaunch& one_pass, cudaStream_t stream)
{
    if (version == kScalar) {
        const int64_t total = rows * n;
        const int64_t blocks = (total + kBlockThreads - 1) / kBlockThreads;
        bias_gelu_scalar<T><<<unsigned(blocks < INT32_MAX ? blocks : INT32_MAX), kBlockThreads, 0,
                              stream>>>(input, bias, output, total, n);
        return cudaGetLastError();
    }
    if (version == kExactGrid) {  // the storage type's GELU, as v6 and v7
        if constexpr (sizeof(T) == 2) return launch_exact_grid<T, ShortGelu>(input, bias, output, rows, n, stream);
        else return launch_exact_grid<T, ErffGelu>(input, bias, output, rows, n, stream);
    }
    if constexpr (sizeof(T) == 2) {
        if (version == kVectorsShortGelu) return launch_vectors<T, 1, ShortGelu>(input, bias, output, rows, n, stream);
        if (version == kVectorsRowsInFlightShortGelu)
            return launch_vectors<T, kRowsInFlight, ShortGelu>(input, bias, output, rows, n, stream);
        if (version == kOnePassShortGelu)
            return launch_one_pass<T, ShortGelu>(one_pass, input, bias, output, rows, n, stream);
        if (version == kOnePassHalfVectorsShortGelu) {
            const VectorLaunch launch = plan_half_vectors(rows, n);
            if (bias != nullptr)
                bias_gelu_half_vectors<true><<<launch.grid, launch.block, 0, stream>>>(input, bias, output, rows, n);
            else
                bias_gelu_half_vectors<false><<<launch.grid, launch.block, 0, stream>>>(input, bias, output, rows, n);
            return cudaGetLastError();
        }
    }
    if (version == kOnePass) return launch_one_pass<T, ErffGelu>(one_pass, input, bias, output, rows, n, stream);
    return version == kVectors ? launch_vectors<T, 1, ErffGelu>(input, bias, output, rows, n, stream)
                               : launch_vectors<T, kRowsInFlight, ErffGelu>(input, bias, output, rows, n, stream);
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
    constexpr bool kHalf = sizeof(T) == 2;
    const VectorLaunch one_pass = plan_vectors(rows, n / kVec, 1);  // v6, v7
    const bool fits_one_grid = reaches_every_row(one_pass, rows);
    if (version == kDefault && exact_grid_takes_width<T>(n) && exact_grid_takes_rows(rows, n)) version = kExactGrid;
    if (version == kDefault && kHalf) version = fits_one_grid ? kOnePassShortGelu : kVectorsShortGelu;
    if (version == kDefault) {
        int sms = 0;
        const cudaError_t status = bert::multiprocessor_count(&sms);
        if (status != cudaSuccess) return status;
        const VectorLaunch v3 = plan_vectors(rows, n / kVec, kRowsInFlight);
        const int64_t v3_blocks = int64_t(v3.grid.x) * v3.grid.y;
        const bool rows_in_flight = v3_blocks >= int64_t(kMinBlocksPerSmRowsInFlight) * sms;
        version = rows_in_flight ? kVectorsRowsInFlight : fits_one_grid ? kOnePass : kVectors;
    }

    // Whether a version applies depends on the shape and type only, so even 0 rows give the same
    // answer.
    if (!version_takes<T>(version, n) || (version != kScalar && !vectorizable)) return cudaErrorNotSupported;
    if ((version == kOnePass || version == kOnePassShortGelu) && !fits_one_grid) return cudaErrorNotSupported;
    if (version == kOnePassHalfVectorsShortGelu && !reaches_every_row(plan_half_vectors(rows, n), rows))
        return cudaErrorNotSupported;
    if (version == kExactGrid && !exact_grid_takes_rows(rows, n)) return cudaErrorNotSupported;
    if (rows == 0) return cudaSuccess;
    const cudaError_t status = launch_version(version, input, bias, output, rows, n, one_pass, stream);
    if (status == cudaSuccess) bert::note_launched_version(version);
    return status;
}

}  // namespace

static_assert(int(BERT_BIAS_GELU_LAST_VERSION) == int(kExactGrid),
              "bias_gelu_kernel.h names the last version");

extern "C" int bertBiasGeluVersionTakes(int version, int32_t n, BertDType dtype)
{
    if (n <= 0 || version <= kDefault || version > BERT_BIAS_GELU_LAST_VERSION) return 0;
    switch (dtype) {
        case BERT_FP32: return version_takes<float>(version, n);
        case BERT_FP16: return version_takes<__half>(version, n);
    }
    return 0;
}

extern "C" int bertBiasGeluVersion(int version, const void* input, const float* bias, void* output,
                                   int64_t rows, int32_t n, BertDType dtype, cudaStream_t stream)
{
    if (rows < 0 || n <= 0 || version < kDefault || version > BERT_BIAS_GELU_LAST_VERSION)
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
