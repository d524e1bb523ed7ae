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

}  // namespace

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
