// SkipLayerNorm: LayerNorm(input + skip + bias), the residual add fused into the norm so the
// sum never goes to memory. The add happens in fp32 (also for fp16 tensors); the normalization
// is common/layernorm_rows.cuh.
#include "skip_layernorm_kernel.h"

#include "../common/layernorm_rows.cuh"

namespace {

template <typename T>
struct ResidualRows {
    const T* input;
    const T* skip;
    const T* bias;  // may be null
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
            T bias[N];
        };

        template <int N>
        __device__ void fetch(int col, Raw<N>& raw) const
        {
            bert::load_raw(input + col, raw.input);
            bert::load_raw(skip + col, raw.skip);
            // The same for every thread: no divergence. Without a bias raw.bias stays unset (combine
            // never reads it): filling it with zeros here made the compiler keep it in local memory.
            if (bias != nullptr) bert::load_raw(bias + col, raw.bias);
        }

        template <int N>
        __device__ void combine(const Raw<N>& raw, float (&x)[N]) const
        {
            float residual[N];
            bert::convert_to_float(raw.input, x);
            bert::convert_to_float(raw.skip, residual);
#pragma unroll
            for (int i = 0; i < N; ++i) x[i] += residual[i];
            if (bias != nullptr) {
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
    static constexpr bert::MeasuredDefaults kDefaults = {{10, 10, 10, 10, 5}, {10, 10, 10, 8, 4}};
};

template <typename T>
cudaError_t skip_layer_norm(int version, const void* input, const void* skip, const void* bias,
                            const void* gamma, const void* beta, void* output, int64_t rows,
                            int32_t hidden, float epsilon, cudaStream_t stream)
{
    if (rows > 0 && (input == nullptr || skip == nullptr)) return cudaErrorInvalidValue;
    const ResidualRows<T> source{static_cast<const T*>(input), static_cast<const T*>(skip),
                                 static_cast<const T*>(bias), hidden};
    const bool aligned = bert::all_aligned16({input, skip, bias});  // null counts as aligned
    return bert::launch_layernorm_rows(version, source, aligned, static_cast<T*>(output),
                                       static_cast<const T*>(gamma), static_cast<const T*>(beta),
                                       rows, hidden, epsilon, stream);
}

// ---- INT8 I/O ---------------------------------------------------------------------------------
// TensorRT's INT8 tensors are symmetric per-tensor: a stored q means q * scale; a value y is stored
// as round(y / scale) (to nearest, ties to even) clamped to [-128, 127]. The residual stream in
// INT8 is what NVIDIA's BERT demo runs between its INT8 GEMMs: each SkipLayerNorm reads two int8
// rows and writes one, half of fp16's bytes. One warp per row (two rows a block, so that even
// 128 rows reach 64 SMs), lane l holding the 8-byte groups l, l + 32, ... of the row (kGroups a
// lane), statistics in fp32 from two warp reductions, bias/gamma/beta fp32. The rows and the bias
// load first, gamma and beta once the mean is known (README: earlier, they held registers the
// row's loads in flight needed; 2-12% slower).
constexpr int kInt8RowsPerBlock = 2;  // warps per block, a row each
constexpr int kInt8GroupBytes = 8;    // int8 values per load
constexpr int kInt8MaxGroups = 8;     // groups a lane: hidden up to 32 * 8 * 8 = 2048

struct Int8Group {  // 8 int8 values, one 8-byte load
    int2 bits;
    __device__ float value(int i, float scale) const
    {
        const int word = i < 4 ? bits.x : bits.y;
        return float(static_cast<signed char>(word >> (8 * (i % 4)))) * scale;
    }
};

// y / scale to nearest (ties to even), clamped: as TensorRT quantizes, with the division a
// multiplication by the host's 1 / scale (at most an ulp apart: it can only move a quotient that
// lies within an ulp of a tie).
__device__ __forceinline__ int quantize(float y, float inv_scale)
{
    return max(-128, min(127, __float2int_rn(y * inv_scale)));
}

__device__ __forceinline__ void load_floats8(const float* source, float (&out)[kInt8GroupBytes])
{
    const float4 low = reinterpret_cast<const float4*>(source)[0];
    const float4 high = reinterpret_cast<const float4*>(source)[1];
    out[0] = low.x, out[1] = low.y, out[2] = low.z, out[3] = low.w;
    out[4] = high.x, out[5] = high.y, out[6] = high.z, out[7] = high.w;
}

template <int kGroups>
__global__ void __launch_bounds__(kInt8RowsPerBlock * bert::kWarpSize)
skip_layernorm_int8_kernel(const int8_t* input, float input_scale, const int8_t* skip,
                           float skip_scale, const float* bias, const float* gamma,
                           const float* beta, int8_t* output, float inv_output_scale, int64_t rows,
                           bert::Normalization norm)
{
    constexpr int kG = kInt8GroupBytes;
    const int64_t row = int64_t(blockIdx.x) * kInt8RowsPerBlock + threadIdx.x / bert::kWarpSize;
    const int lane = threadIdx.x % bert::kWarpSize;
    if (row >= rows) return;  // the whole warp: no shuffle loses a lane
    const int groups = norm.hidden / kG;
    const int64_t offset = row * norm.hidden;
    const auto in_row = [&](int g) { return lane + g * bert::kWarpSize < groups; };
    const auto column = [&](int g) { return (lane + g * bert::kWarpSize) * kG; };

    // 1. The loads the sum needs: both int8 rows and the bias.
    Int8Group a[kGroups], b[kGroups];
    float bias_[kGroups][kG], scale[kGroups][kG], shift[kGroups][kG];
#pragma unroll
    for (int g = 0; g < kGroups; ++g) {
        if (!in_row(g)) continue;
        a[g].bits = *reinterpret_cast<const int2*>(input + offset + column(g));
        b[g].bits = *reinterpret_cast<const int2*>(skip + offset + column(g));
        if (bias != nullptr) load_floats8(bias + column(g), bias_[g]);
    }
    // 2. (input + skip) + bias, the order of the float kernels (ResidualRows::combine).
    float x[kGroups][kG];
    float sum = 0.f;
#pragma unroll
    for (int g = 0; g < kGroups; ++g) {
#pragma unroll
        for (int i = 0; i < kG; ++i) {
            x[g][i] = in_row(g) ? a[g].value(i, input_scale) + b[g].value(i, skip_scale) : 0.f;
            if (bias != nullptr && in_row(g)) x[g][i] += bias_[g][i];
            sum += x[g][i];
        }
    }
    const float mean = norm.mean(bert::warp_sum(sum));
    // gamma and beta (cache hits after the first rows) once the row is in registers: the second
    // reduction hides their latency, and they do not hold registers while the row's loads fly.
#pragma unroll
    for (int g = 0; g < kGroups; ++g) {
        if (!in_row(g)) continue;
        load_floats8(gamma + column(g), scale[g]);
        load_floats8(beta + column(g), shift[g]);
    }
    float squares = 0.f;
#pragma unroll
    for (int g = 0; g < kGroups; ++g) {
        if (!in_row(g)) continue;
#pragma unroll
        for (int i = 0; i < kG; ++i) squares += (x[g][i] - mean) * (x[g][i] - mean);
    }
    const float inv_std = rsqrtf(norm.mean(bert::warp_sum(squares)) + norm.epsilon);

    // 3. Normalize, quantize, one 8-byte store a group.
#pragma unroll
    for (int g = 0; g < kGroups; ++g) {
        if (!in_row(g)) continue;
        int q[kG];
#pragma unroll
        for (int i = 0; i < kG; ++i)
            q[i] = quantize((x[g][i] - mean) * inv_std * scale[g][i] + shift[g][i], inv_output_scale);
        int2 packed;
        packed.x = (q[0] & 0xff) | (q[1] & 0xff) << 8 | (q[2] & 0xff) << 16 | (q[3] & 0xff) << 24;
        packed.y = (q[4] & 0xff) | (q[5] & 0xff) << 8 | (q[6] & 0xff) << 16 | (q[7] & 0xff) << 24;
        *reinterpret_cast<int2*>(output + offset + column(g)) = packed;
    }
}

template <int kGroups = 1>
cudaError_t launch_skip_layernorm_int8(int groups_per_lane, const int8_t* input, float input_scale,
                                       const int8_t* skip, float skip_scale, const float* bias,
                                       const float* gamma, const float* beta, int8_t* output,
                                       float inv_output_scale, int64_t rows,
                                       bert::Normalization norm, cudaStream_t stream)
{
    // Instances for 1 .. 8 groups a lane (h768: 3, h1024: 4); a row takes the first that holds it.
    if constexpr (kGroups > kInt8MaxGroups) {
        return cudaErrorNotSupported;
    } else {
        if (groups_per_lane > kGroups)
            return launch_skip_layernorm_int8<kGroups + 1>(groups_per_lane, input, input_scale, skip,
                                                           skip_scale, bias, gamma, beta, output,
                                                           inv_output_scale, rows, norm, stream);
        const int64_t blocks = (rows + kInt8RowsPerBlock - 1) / kInt8RowsPerBlock;
        if (blocks > INT32_MAX) return cudaErrorNotSupported;
        skip_layernorm_int8_kernel<kGroups><<<unsigned(blocks), kInt8RowsPerBlock * bert::kWarpSize, 0, stream>>>(
            input, input_scale, skip, skip_scale, bias, gamma, beta, output, inv_output_scale, rows, norm);
        return cudaGetLastError();
    }
}

}  // namespace

extern "C" int bertSkipLayerNormInt8Supported(int32_t hidden)
{
    return hidden > 0 && hidden % kInt8GroupBytes == 0 &&
           hidden <= bert::kWarpSize * kInt8GroupBytes * kInt8MaxGroups;
}

extern "C" int bertSkipLayerNormInt8(const int8_t* input, float input_scale, const int8_t* skip,
                                     float skip_scale, const float* bias, const float* gamma,
                                     const float* beta, int8_t* output, float output_scale,
                                     int64_t rows, int32_t hidden, float epsilon,
                                     cudaStream_t stream)
{
    const auto valid_scale = [](float scale) { return scale > 0.f && scale < INFINITY; };
    if (rows < 0 || hidden <= 0 || !valid_scale(input_scale) || !valid_scale(skip_scale) ||
        !valid_scale(output_scale))
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
    return launch_skip_layernorm_int8(groups_per_lane, input, input_scale, skip, skip_scale, bias,
                                      gamma, beta, output, 1.0f / output_scale, rows,
                                      bert::Normalization::of(hidden, epsilon), stream);
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
