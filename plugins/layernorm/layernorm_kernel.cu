// LayerNorm over the last dimension. The normalization itself (versions, launch plans,
// numerics) lives in common/layernorm_rows.cuh; this file says where a row comes from.
#include "layernorm_kernel.h"

#include "../common/layernorm_rows.cuh"

namespace {

// Row `index` of an [rows, hidden] tensor, written to the same row of the output.
template <typename T>
struct TensorRows {
    const T* input;
    int32_t hidden;

    struct Row {
        const T* values = nullptr;
        int64_t out_row = -1;

        template <int N>
        struct Raw {
            T elems[N];
        };

        template <int N>
        __device__ void fetch(int col, Raw<N>& raw) const
        {
            bert::load_raw<bert::kActivations>(values + col, raw.elems);
        }

        template <int N>
        __device__ void combine(const Raw<N>& raw, float (&x)[N]) const
        {
            bert::convert_to_float(raw.elems, x);
        }
    };

    __device__ Row row(int64_t index) const { return {input + index * hidden, index}; }

    // The default version at 128 .. 65536 rows (common/layernorm_rows.cuh, README).
    static constexpr bert::MeasuredDefaults kDefaults = {{12, 12, 14, 17, 17}, {12, 12, 13, 8, 8}};
};

template <typename T>
cudaError_t layer_norm(int version, const void* input, void* output, const void* gamma,
                       const void* beta, int64_t rows, int32_t hidden, float epsilon,
                       cudaStream_t stream)
{
    if (rows > 0 && input == nullptr) return cudaErrorInvalidValue;
    const TensorRows<T> source{static_cast<const T*>(input), hidden};
    return bert::launch_layernorm_rows(version, source, bert::is_aligned16(input),
                                       static_cast<T*>(output), static_cast<const T*>(gamma),
                                       static_cast<const T*>(beta), rows, hidden, epsilon, stream);
}

static_assert(BERT_LAYERNORM_LAST_VERSION == bert::kLayerNormLastVersion, "layernorm_kernel.h names the last version");

}  // namespace

extern "C" int bertLayerNormVersion(int version, const void* input, void* output,
                                    const void* gamma, const void* beta, int64_t rows,
                                    int32_t hidden, float epsilon, BertDType dtype,
                                    cudaStream_t stream)
{
    switch (dtype) {
        case BERT_FP32:
            return layer_norm<float>(version, input, output, gamma, beta, rows, hidden, epsilon, stream);
        case BERT_FP16:
            return layer_norm<__half>(version, input, output, gamma, beta, rows, hidden, epsilon, stream);
    }
    return cudaErrorInvalidValue;
}

extern "C" int bertLayerNorm(const void* input, void* output, const void* gamma,
                             const void* beta, int64_t rows, int32_t hidden, float epsilon,
                             BertDType dtype, cudaStream_t stream)
{
    return bertLayerNormVersion(bert::kLayerNormDefault, input, output, gamma, beta, rows, hidden,
                                epsilon, dtype, stream);
}

extern "C" int bertLayerNormVersionTakes(int version, int32_t hidden, BertDType dtype)
{
    if (hidden <= 0 || version < bert::kLayerNormDefault || version > bert::kLayerNormLastVersion ||
        (dtype != BERT_FP32 && dtype != BERT_FP16))
        return 0;
    if (version == bert::kLayerNormDefault || version == bert::kLayerNormScalar) return 1;
    const int elems_per_vec = dtype == BERT_FP16 ? bert::kElemsPer16Bytes<__half> : bert::kElemsPer16Bytes<float>;
    return hidden % elems_per_vec == 0 && bert::split_fits(version, hidden / elems_per_vec, elems_per_vec);
}
