// SkipLayerNorm: LayerNorm(input + skip + bias), the residual add fused into the norm so the
// sum never goes to memory. The add happens in fp32 (also for fp16 tensors); the normalization
// is common/layernorm_rows.cuh.
#include "skip_layernorm_kernel.h"

#include <algorithm>

#include "../common/device_info.cuh"
#include "../common/layernorm_rows.cuh"

namespace {

// kBias: whether there is a bias, a template constant rather than a test of the pointer in the
// kernel. With one kernel for both and `if (bias != nullptr)` around the bias's load and add,
// ptxas scheduled fp16 v12 around that branch differently (gamma/beta issued before it, the
// thread index and the shared-memory base read again after it, next to the first shuffle): 2.35 ->
// 2.21 us at 64 rows, 2.51 -> 2.36 at 128 on an H200, where torch.compile took 2.31 and 2.44 (run 13,
// README).
template <typename T, bool kBias>
struct ResidualRows {
    const T* input;
    const T* skip;
    const T* bias;  // read only when kBias
    int32_t hidden;

    struct Row {
        const T* input = nullptr;
        const T* skip = nullptr;
        const T* bias = nullptr;
        int64_t out_row = -1;

        template <int N>
        struct Raw {
            T input[N];
            T skip[N];
            T bias[N];  // left unset without a bias (combine does not read it)
        };

        template <int N>
        __device__ void fetch(int col, Raw<N>& raw) const
        {
            bert::load_raw<bert::kActivations>(input + col, raw.input);
            bert::load_raw<bert::kActivations>(skip + col, raw.skip);
            if constexpr (kBias) bert::load_raw<bert::kParameters>(bias + col, raw.bias);
        }

        template <int N>
        __device__ void combine(const Raw<N>& raw, float (&x)[N]) const
        {
            float residual[N];
            bert::convert_to_float(raw.input, x);
            bert::convert_to_float(raw.skip, residual);
#pragma unroll
            for (int i = 0; i < N; ++i) x[i] += residual[i];
            if constexpr (kBias) {
                float b[N];
                bert::convert_to_float(raw.bias, b);
#pragma unroll
                for (int i = 0; i < N; ++i) x[i] += b[i];
            }
        }
    };

    __device__ Row row(int64_t index) const
    {
        return {input + index * hidden, skip + index * hidden, bias, index};
    }

    // The default version at 128 .. 65536 rows (common/layernorm_rows.cuh, README).
    static constexpr bert::MeasuredDefaults kDefaults = {{12, 12, 10, 10, 5}, {12, 12, 13, 12, 12}};
};

template <typename T, bool kBias>
cudaError_t launch_residual_rows(int version, const void* input, const void* skip, const void* bias,
                                 bool aligned, const void* gamma, const void* beta, void* output,
                                 int64_t rows, int32_t hidden, float epsilon, cudaStream_t stream)
{
    const ResidualRows<T, kBias> source{static_cast<const T*>(input), static_cast<const T*>(skip),
                                        static_cast<const T*>(bias), hidden};
    return bert::launch_layernorm_rows(version, source, aligned, static_cast<T*>(output),
                                       static_cast<const T*>(gamma), static_cast<const T*>(beta),
                                       rows, hidden, epsilon, stream);
}

template <typename T>
cudaError_t skip_layer_norm(int version, const void* input, const void* skip, const void* bias,
                            const void* gamma, const void* beta, void* output, int64_t rows,
                            int32_t hidden, float epsilon, cudaStream_t stream)
{
    if (rows > 0 && (input == nullptr || skip == nullptr)) return cudaErrorInvalidValue;
    const bool aligned = bert::all_aligned16({input, skip, bias});  // null counts as aligned
    if (bias != nullptr)
        return launch_residual_rows<T, true>(version, input, skip, bias, aligned, gamma, beta, output, rows,
                                             hidden, epsilon, stream);
    return launch_residual_rows<T, false>(version, input, skip, bias, aligned, gamma, beta, output, rows,
                                          hidden, epsilon, stream);
}

// ---- INT8 I/O ---------------------------------------------------------------------------------
// TensorRT's INT8 tensors are symmetric per-tensor: a stored q means q * scale; a value y is stored
// as round(y / scale) (to nearest, ties to even) clamped to [-128, 127]. The residual stream in
// INT8 is what NVIDIA's BERT demo runs between its INT8 GEMMs: each SkipLayerNorm reads two int8
// rows and writes one, half of fp16's bytes. Every version: one warp per row, lane l holding the
// 8-byte groups l, l + 32, ... of the row (kGroups a lane), statistics in fp32 from two warp
// reductions, bias/gamma/beta fp32. Two things make int8 unlike fp16, and the versions are about
// them (measured in README, "INT8 I/O"):
//  - the parameters: 4 bytes each per int8 of the row, so a row reads 4x its own bytes of bias,
//    gamma and beta. From L1 (v1) or shared memory (v4) that kept L1's data path 87-89% busy
//    (Nsight Compute, 64K x 768; v3 reads the same way, not profiled): the bound, not DRAM (40%).
//    Their float4 loads at a 32-byte stride a lane use half of each wavefront (and 2-way bank
//    conflicts in shared memory), so a lane-contiguous layout might halve that; registers avoid
//    it altogether (v2, v6).
//  - the conversions: int8 -> float and back are conversion instructions (I2F, F2I), which sm_90
//    runs at an eighth of the fp32 rate (MagicNumbers below does without them: v4-v6).
//   1  a warp per row, two rows a block (so that 128 rows reach 64 SMs). Each row loads the bias
//      with the int8 rows and gamma and beta once the mean is known (earlier, they held registers
//      that the row's loads in flight needed; 2-12% slower, README).
//   2  persistent: one wave of 8-warp blocks, each warp looping over rows with the parameters
//      loaded once into its registers (3 x 8 x kGroups floats: 72 at h768) and the next row's int8
//      loads issued before this row's arithmetic. No parameter loads per row, but 128 registers a
//      thread at h768 (166 at h1024) leave two (one) 8-warp blocks an SM: slower than v1.
//   3  as 2, with the parameters in shared memory (loaded once a block), under 64 registers: more
//      warps, but the shared-memory loads keep L1's data path as busy as v1's cache loads did.
//   4  as 3, with MagicNumbers in place of conversion instructions.
//   5  as 1, with MagicNumbers.
//   6  as 2, with MagicNumbers (128 registers at h768, 166 at h1024) and blocks of 2 warps, which
//      fit an SM's registers 6-8 times (12-16 warps). The default up to hidden 1536; above it v5
//      for few rows and v4 for many.
constexpr int kInt8GroupBytes = 8;    // int8 values per load
constexpr int kInt8MaxGroups = 8;     // groups a lane: hidden up to 32 * 8 * 8 = 2048
constexpr int kInt8RowsPerBlock = 2;  // v1: warps per block, a row each
constexpr int kInt8PersistentWarps = 8;  // v2-v4: warps per block
constexpr int kInt8NarrowWarps = 2;      // v6: warps per block (~128 registers a thread: 2-warp
                                         // blocks waste the fewest of an SM's registers)
constexpr int kInt8Versions = 6;
// The default (version 0), as measured on the H200 (README): v6 up to this many groups a lane
// (hidden 1536: 240 registers, no spills; it spills from 7 groups on); above, v5 up to
// kInt8WarpPerRowMaxRows rows and v4 beyond.
constexpr int kInt8RegisterParamsMaxGroups = 6;
constexpr int64_t kInt8WarpPerRowMaxRows = 1024;

struct Int8Args {
    const int8_t* input;
    float input_scale;
    const int8_t* skip;
    float skip_scale;
    const float* bias;  // may be null
    const float* gamma;
    const float* beta;
    int8_t* output;
    float inv_output_scale;  // 1 / output_scale, worked out once on the host
    int64_t rows;
    bert::Normalization norm;
};

// How 8 int8 values (one 8-byte load) become exact floats, and 8 quotients y / scale become the
// int8 TensorRT stores: to nearest, ties to even, clamped to [-128, 127] (the division is a
// multiplication by the host's 1 / scale, at most an ulp apart: it can only move a quotient that
// lies within an ulp of a tie). Two ways:
// v1-v3: the conversion instructions (I2F, F2I). On sm_90 those run at 16 a clock an SM, an
// eighth of the fp32 rate, and an int8 SkipLayerNorm needs three an element: at 65536 x 768 that
// is ~36 us of conversion issue alone on an H200, about what a copy of the bytes takes.
struct ConversionInstructions {
    static __device__ void to_floats(int2 bits, float (&out)[kInt8GroupBytes])
    {
#pragma unroll
        for (int i = 0; i < kInt8GroupBytes; ++i)
            out[i] = float(static_cast<signed char>((i < 4 ? bits.x : bits.y) >> (8 * (i % 4))));
    }
    static __device__ int2 pack(const float (&quotient)[kInt8GroupBytes])
    {
        int q[kInt8GroupBytes];
#pragma unroll
        for (int i = 0; i < kInt8GroupBytes; ++i) q[i] = max(-128, min(127, __float2int_rn(quotient[i])));
        return {(q[0] & 0xff) | (q[1] & 0xff) << 8 | (q[2] & 0xff) << 16 | (q[3] & 0xff) << 24,
                (q[4] & 0xff) | (q[5] & 0xff) << 8 | (q[6] & 0xff) << 16 | (q[7] & 0xff) << 24};
    }
};

// v4-v6: fp32 additions, min/max and byte permutes (PRMT) only. An fp32 of exponent 2^23 has a
// mantissa step of exactly 1, so:
//   to float: byte b + 128 (the sign bit flipped, 4 bytes in one XOR) placed in the low byte of
//             0x4B000000 (= 2^23) is the float 2^23 + 128 + b; subtracting 2^23 + 128 leaves b,
//             exactly.
//   to int8: clamp the quotient to [-128, 127] first, then add 1.5 * 2^23: the addition rounds to
//             an integer (to nearest, ties to even, the FADD's own rounding), which then sits in
//             the low bits of the sum, two's complement; its low byte is the int8. Clamping
//             before or after rounding gives the same integers (127.5 rounds to 128 and clamps to
//             127 either way). NaN differs: F2I makes it 0, fmaxf makes it -128.
struct MagicNumbers {
    static __device__ void to_floats(int2 bits, float (&out)[kInt8GroupBytes])
    {
        const unsigned biased[2] = {unsigned(bits.x) ^ 0x80808080u, unsigned(bits.y) ^ 0x80808080u};
#pragma unroll
        for (int i = 0; i < kInt8GroupBytes; ++i)
            out[i] = __int_as_float(__byte_perm(biased[i / 4], 0x4B000000u, 0x7540u + i % 4)) - 8388736.f;
    }
    static __device__ int2 pack(const float (&quotient)[kInt8GroupBytes])
    {
        unsigned r[kInt8GroupBytes];
#pragma unroll
        for (int i = 0; i < kInt8GroupBytes; ++i)
            r[i] = __float_as_uint(fminf(fmaxf(quotient[i], -128.f), 127.f) + 12582912.f);
        const auto four = [&](int i) {  // the low bytes of r[i .. i + 3], in order
            return __byte_perm(__byte_perm(r[i], r[i + 1], 0x0040u), __byte_perm(r[i + 2], r[i + 3], 0x0040u), 0x5410u);
        };
        return {int(four(0)), int(four(4))};
    }
};

// 8 floats from global or shared memory (the compiler sees which after inlining).
__device__ __forceinline__ void load_floats8(const float* source, float (&out)[kInt8GroupBytes])
{
    const float4 low = reinterpret_cast<const float4*>(source)[0];
    const float4 high = reinterpret_cast<const float4*>(source)[1];
    out[0] = low.x, out[1] = low.y, out[2] = low.z, out[3] = low.w;
    out[4] = high.x, out[5] = high.y, out[6] = high.z, out[7] = high.w;
}

// The part of a row that lane `lane` of its warp handles: groups lane, lane + 32, ...
template <int kGroups, typename Codec>
struct Int8Lane {
    static constexpr int kGroupsPerLane = kGroups;
    int lane;
    int groups;  // hidden / 8
    __device__ bool in_row(int g) const { return lane + g * bert::kWarpSize < groups; }
    __device__ int column(int g) const { return (lane + g * bert::kWarpSize) * kInt8GroupBytes; }

    // Both int8 rows' groups of this lane, as loaded.
    struct Loads {
        int2 input[kGroups], skip[kGroups];
    };
    __device__ void load(const Int8Args& p, int64_t row, Loads& loads) const
    {
        const int64_t offset = row * p.norm.hidden;
#pragma unroll
        for (int g = 0; g < kGroups; ++g) {
            if (!in_row(g)) continue;
            loads.input[g] = *reinterpret_cast<const int2*>(p.input + offset + column(g));
            loads.skip[g] = *reinterpret_cast<const int2*>(p.skip + offset + column(g));
        }
    }

    // The row as fp32, (input + skip) + bias in the order of the float kernels
    // (ResidualRows::combine); returns the row's mean (a warp reduction: every lane must call).
    template <typename Params>
    __device__ float dequantize(const Int8Args& p, const Loads& loads, const Params& params,
                                bool with_bias, float (&x)[kGroups][kInt8GroupBytes]) const
    {
        float sum = 0.f;
#pragma unroll
        for (int g = 0; g < kGroups; ++g) {
            if (!in_row(g)) {
#pragma unroll
                for (int i = 0; i < kInt8GroupBytes; ++i) x[g][i] = 0.f;
                continue;
            }
            float bias[kInt8GroupBytes], input[kInt8GroupBytes], skip[kInt8GroupBytes];
            if (with_bias) params.bias(*this, g, bias);
            Codec::to_floats(loads.input[g], input);
            Codec::to_floats(loads.skip[g], skip);
#pragma unroll
            for (int i = 0; i < kInt8GroupBytes; ++i) {
                x[g][i] = input[i] * p.input_scale + skip[i] * p.skip_scale;
                if (with_bias) x[g][i] += bias[i];
                sum += x[g][i];
            }
        }
        return p.norm.mean(bert::warp_sum(sum));
    }

    // 1 / sqrt(variance + epsilon), the variance from deviations (a warp reduction).
    __device__ float inv_std(const Int8Args& p, const float (&x)[kGroups][kInt8GroupBytes], float mean) const
    {
        float squares = 0.f;
#pragma unroll
        for (int g = 0; g < kGroups; ++g) {
            if (!in_row(g)) continue;
#pragma unroll
            for (int i = 0; i < kInt8GroupBytes; ++i) squares += (x[g][i] - mean) * (x[g][i] - mean);
        }
        return rsqrtf(p.norm.mean(bert::warp_sum(squares)) + p.norm.epsilon);
    }

    // Normalize, quantize, one 8-byte store a group.
    template <typename Params>
    __device__ void store(const Int8Args& p, int64_t row, const float (&x)[kGroups][kInt8GroupBytes],
                          float mean, float inv_std, const Params& params) const
    {
#pragma unroll
        for (int g = 0; g < kGroups; ++g) {
            if (!in_row(g)) continue;
            float gamma[kInt8GroupBytes], beta[kInt8GroupBytes];
            params.gamma_beta(*this, g, gamma, beta);
            float quotient[kInt8GroupBytes];
#pragma unroll
            for (int i = 0; i < kInt8GroupBytes; ++i)
                quotient[i] = ((x[g][i] - mean) * inv_std * gamma[i] + beta[i]) * p.inv_output_scale;
            *reinterpret_cast<int2*>(p.output + row * p.norm.hidden + column(g)) = Codec::pack(quotient);
        }
    }
};

// Where a lane's bias, gamma and beta come from when dequantize and store ask for a group's.
// In registers (v1, v5: loaded for every row; v2, v6: once for all of a warp's rows):
template <int kGroups>
struct ParamsInRegisters {
    using Group = float[kInt8GroupBytes];
    Group bias_[kGroups], gamma_[kGroups], beta_[kGroups];

    template <typename Lane>
    __device__ void load_bias(const Lane& lane, const float* bias)
    {
#pragma unroll
        for (int g = 0; g < kGroups; ++g)
            if (lane.in_row(g) && bias != nullptr) load_floats8(bias + lane.column(g), bias_[g]);
    }
    template <typename Lane>
    __device__ void load_gamma_beta(const Lane& lane, const float* gamma, const float* beta)
    {
#pragma unroll
        for (int g = 0; g < kGroups; ++g) {
            if (!lane.in_row(g)) continue;
            load_floats8(gamma + lane.column(g), gamma_[g]);
            load_floats8(beta + lane.column(g), beta_[g]);
        }
    }
    template <typename Lane>
    __device__ void bias(const Lane&, int g, Group& out) const
    {
#pragma unroll
        for (int i = 0; i < kInt8GroupBytes; ++i) out[i] = bias_[g][i];
    }
    template <typename Lane>
    __device__ void gamma_beta(const Lane&, int g, Group& gamma, Group& beta) const
    {
#pragma unroll
        for (int i = 0; i < kInt8GroupBytes; ++i) gamma[i] = gamma_[g][i], beta[i] = beta_[g][i];
    }
};

// Read where they are needed, one group at a time (v3, v4: from shared memory).
struct ParamsInMemory {
    using Group = float[kInt8GroupBytes];
    const float* bias_;
    const float* gamma_;
    const float* beta_;

    template <typename Lane>
    __device__ void bias(const Lane& lane, int g, Group& out) const
    {
        load_floats8(bias_ + lane.column(g), out);
    }
    template <typename Lane>
    __device__ void gamma_beta(const Lane& lane, int g, Group& gamma, Group& beta) const
    {
        load_floats8(gamma_ + lane.column(g), gamma);
        load_floats8(beta_ + lane.column(g), beta);
    }
};

template <int kGroups, typename Codec>
__global__ void __launch_bounds__(kInt8RowsPerBlock * bert::kWarpSize)
skip_layernorm_int8_warp_per_row(Int8Args p)
{
    const int64_t row = int64_t(blockIdx.x) * kInt8RowsPerBlock + threadIdx.x / bert::kWarpSize;
    if (row >= p.rows) return;  // the whole warp: no shuffle loses a lane
    const Int8Lane<kGroups, Codec> lane{int(threadIdx.x % bert::kWarpSize), p.norm.hidden / kInt8GroupBytes};
    typename Int8Lane<kGroups, Codec>::Loads loads;
    ParamsInRegisters<kGroups> params;
    lane.load(p, row, loads);
    params.load_bias(lane, p.bias);
    float x[kGroups][kInt8GroupBytes];
    const float mean = lane.dequantize(p, loads, params, p.bias != nullptr, x);
    // gamma and beta (cache hits after the first rows) once the row is in registers: the second
    // reduction hides their latency.
    params.load_gamma_beta(lane, p.gamma, p.beta);
    lane.store(p, row, x, mean, lane.inv_std(p, x, mean), params);
}

// v2, v3, v4, v6: each warp of a one-wave grid of kWarps-warp blocks strides over the rows, the
// int8 loads of its next row in flight while it works on one. (Two or three rows ahead was
// measured too: the registers cost more warps than the extra rows in flight gave.)
template <int kWarps, typename Lane, typename Params>
__device__ __forceinline__ void int8_rows_of_warp(const Int8Args& p, const Lane& lane, const Params& params)
{
    const int64_t stride = int64_t(gridDim.x) * kWarps;
    int64_t row = int64_t(blockIdx.x) * kWarps + threadIdx.x / bert::kWarpSize;
    typename Lane::Loads next;
    if (row < p.rows) lane.load(p, row, next);
    for (; row < p.rows; row += stride) {  // the same for the whole warp: no shuffle loses a lane
        const typename Lane::Loads loads = next;
        if (row + stride < p.rows) lane.load(p, row + stride, next);
        float x[Lane::kGroupsPerLane][kInt8GroupBytes];
        const float mean = lane.dequantize(p, loads, params, p.bias != nullptr, x);
        lane.store(p, row, x, mean, lane.inv_std(p, x, mean), params);
    }
}

template <int kGroups, typename Codec, int kWarps>
__global__ void __launch_bounds__(kWarps * bert::kWarpSize)
skip_layernorm_int8_params_in_registers(Int8Args p)
{
    const Int8Lane<kGroups, Codec> lane{int(threadIdx.x % bert::kWarpSize), p.norm.hidden / kInt8GroupBytes};
    ParamsInRegisters<kGroups> params;  // loaded once, before the first row's loads
    params.load_bias(lane, p.bias);
    params.load_gamma_beta(lane, p.gamma, p.beta);
    int8_rows_of_warp<kWarps>(p, lane, params);
}

// Registers a thread that v3 asks ptxas to stay under (65536 / (256 threads x blocks)): left to
// itself, ptxas hoists the shared-memory parameter loads of a whole row into registers (128 at
// h768), which is the occupancy v3 exists to gain.
constexpr int int8_v3_min_blocks(int groups) { return groups <= 3 ? 4 : groups <= 4 ? 3 : groups <= 6 ? 2 : 1; }

template <int kGroups, typename Codec>
__global__ void __launch_bounds__(kInt8PersistentWarps * bert::kWarpSize, int8_v3_min_blocks(kGroups))
skip_layernorm_int8_params_in_shared(Int8Args p)
{
    extern __shared__ float4 shared_params[];  // gamma, beta, bias (when given); hidden floats each
    float* shared = reinterpret_cast<float*>(shared_params);
    const int hidden = p.norm.hidden;
    const auto copy16 = [](float* to, const float* from) {
        *reinterpret_cast<float4*>(to) = *reinterpret_cast<const float4*>(from);
    };
    for (int i = threadIdx.x * 4; i < hidden; i += blockDim.x * 4) {  // 16 bytes a thread
        copy16(shared + i, p.gamma + i);
        copy16(shared + hidden + i, p.beta + i);
        if (p.bias != nullptr) copy16(shared + 2 * hidden + i, p.bias + i);
    }
    __syncthreads();
    const Int8Lane<kGroups, Codec> lane{int(threadIdx.x % bert::kWarpSize), hidden / kInt8GroupBytes};
    int8_rows_of_warp<kInt8PersistentWarps>(p, lane, ParamsInMemory{shared + 2 * hidden, shared, shared + hidden});
}

cudaError_t launch_warp_per_row(void (*kernel)(Int8Args), const Int8Args& p, cudaStream_t stream)
{
    const int64_t blocks = (p.rows + kInt8RowsPerBlock - 1) / kInt8RowsPerBlock;
    if (blocks > INT32_MAX) return cudaErrorNotSupported;
    kernel<<<unsigned(blocks), kInt8RowsPerBlock * bert::kWarpSize, 0, stream>>>(p);
    return cudaGetLastError();
}

// One wave: as many blocks as fit on the GPU at once (fewer if the rows run out first).
cudaError_t launch_persistent(void (*kernel)(Int8Args), int warps, size_t shared_bytes, const Int8Args& p,
                              cudaStream_t stream)
{
    const int threads = warps * bert::kWarpSize;
    int sms = 0, blocks_per_sm = 0;
    const cudaError_t status =
        bert::wave_size(reinterpret_cast<const void*>(kernel), threads, shared_bytes, &blocks_per_sm, &sms);
    if (status != cudaSuccess) return status;
    const int64_t wanted = (p.rows + warps - 1) / warps;
    const int64_t blocks = std::min<int64_t>(wanted, int64_t(sms) * std::max(blocks_per_sm, 1));
    kernel<<<unsigned(blocks), threads, shared_bytes, stream>>>(p);
    return cudaGetLastError();
}

template <int kGroups>
cudaError_t launch_int8_version(int version, const Int8Args& p, cudaStream_t stream)
{
    using Conversions = ConversionInstructions;
    constexpr int kWide = kInt8PersistentWarps, kNarrow = kInt8NarrowWarps;
    const size_t shared_params = 3 * size_t(p.norm.hidden) * sizeof(float);
    if (version == 0)
        version = kGroups <= kInt8RegisterParamsMaxGroups ? 6 : p.rows <= kInt8WarpPerRowMaxRows ? 5 : 4;
    switch (version) {
        case 1: return launch_warp_per_row(skip_layernorm_int8_warp_per_row<kGroups, Conversions>, p, stream);
        case 2: return launch_persistent(skip_layernorm_int8_params_in_registers<kGroups, Conversions, kWide>, kWide, 0, p, stream);
        case 3: return launch_persistent(skip_layernorm_int8_params_in_shared<kGroups, Conversions>, kWide, shared_params, p, stream);
        case 4: return launch_persistent(skip_layernorm_int8_params_in_shared<kGroups, MagicNumbers>, kWide, shared_params, p, stream);
        case 5: return launch_warp_per_row(skip_layernorm_int8_warp_per_row<kGroups, MagicNumbers>, p, stream);
        case 6: return launch_persistent(skip_layernorm_int8_params_in_registers<kGroups, MagicNumbers, kNarrow>, kNarrow, 0, p, stream);
    }
    return cudaErrorInvalidValue;
}

template <int kGroups = 1>
cudaError_t launch_skip_layernorm_int8(int version, int groups_per_lane, const Int8Args& p,
                                       cudaStream_t stream)
{
    // Instances for 1 .. 8 groups a lane (h768: 3, h1024: 4); a row takes the first that holds it.
    if constexpr (kGroups > kInt8MaxGroups) {
        return cudaErrorNotSupported;
    } else {
        if (groups_per_lane > kGroups)
            return launch_skip_layernorm_int8<kGroups + 1>(version, groups_per_lane, p, stream);
        return launch_int8_version<kGroups>(version, p, stream);
    }
}

}  // namespace

extern "C" int bertSkipLayerNormInt8Supported(int32_t hidden)
{
    return hidden > 0 && hidden % kInt8GroupBytes == 0 &&
           hidden <= bert::kWarpSize * kInt8GroupBytes * kInt8MaxGroups;
}

extern "C" int bertSkipLayerNormInt8Version(int version, const int8_t* input, float input_scale,
                                            const int8_t* skip, float skip_scale, const float* bias,
                                            const float* gamma, const float* beta, int8_t* output,
                                            float output_scale, int64_t rows, int32_t hidden,
                                            float epsilon, cudaStream_t stream)
{
    const auto valid_scale = [](float scale) { return scale > 0.f && scale < INFINITY; };
    if (version < 0 || version > kInt8Versions || rows < 0 || hidden <= 0 ||
        !valid_scale(input_scale) || !valid_scale(skip_scale) || !valid_scale(output_scale))
        return cudaErrorInvalidValue;
    if (!bertSkipLayerNormInt8Supported(hidden)) return cudaErrorNotSupported;
    if (rows == 0) return cudaSuccess;
    if (input == nullptr || skip == nullptr || gamma == nullptr || beta == nullptr || output == nullptr)
        return cudaErrorInvalidValue;
    if (!bert::is_aligned(input, 8) || !bert::is_aligned(skip, 8) || !bert::is_aligned(output, 8) ||
        !bert::all_aligned16({gamma, beta, bias}))
        return cudaErrorNotSupported;
    const int groups = hidden / kInt8GroupBytes;
    const int groups_per_lane = (groups + bert::kWarpSize - 1) / bert::kWarpSize;
    const Int8Args args{input, input_scale, skip, skip_scale, bias, gamma, beta, output,
                        1.0f / output_scale, rows, bert::Normalization::of(hidden, epsilon)};
    return launch_skip_layernorm_int8(version, groups_per_lane, args, stream);
}

extern "C" int bertSkipLayerNormInt8(const int8_t* input, float input_scale, const int8_t* skip,
                                     float skip_scale, const float* bias, const float* gamma,
                                     const float* beta, int8_t* output, float output_scale,
                                     int64_t rows, int32_t hidden, float epsilon,
                                     cudaStream_t stream)
{
    return bertSkipLayerNormInt8Version(0, input, input_scale, skip, skip_scale, bias, gamma, beta,
                                        output, output_scale, rows, hidden, epsilon, stream);
}

extern "C" int bertSkipLayerNormVersion(int version, const void* input, const void* skip,
                                        const void* bias, const void* gamma, const void* beta,
                                        void* output, int64_t rows, int32_t hidden, float epsilon,
                                        BertDType dtype, cudaStream_t stream)
{
    switch (dtype) {
        case BERT_FP32:
            return skip_layer_norm<float>(version, input, skip, bias, gamma, beta, output, rows,
                                          hidden, epsilon, stream);
        case BERT_FP16:
            return skip_layer_norm<__half>(version, input, skip, bias, gamma, beta, output, rows,
                                           hidden, epsilon, stream);
    }
    return cudaErrorInvalidValue;
}

extern "C" int bertSkipLayerNorm(const void* input, const void* skip, const void* bias,
                                 const void* gamma, const void* beta, void* output, int64_t rows,
                                 int32_t hidden, float epsilon, BertDType dtype, cudaStream_t stream)
{
    return bertSkipLayerNormVersion(bert::kLayerNormDefault, input, skip, bias, gamma, beta, output,
                                    rows, hidden, epsilon, dtype, stream);
}
