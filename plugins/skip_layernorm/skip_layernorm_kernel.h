// SkipLayerNorm: y = LayerNorm(input + skip + bias), the residual add fused into the norm.
#pragma once
#include "../common/bert_kernels_common.h"

#ifdef __cplusplus
extern "C" {
#endif

// input, skip, output: [rows, hidden] of `dtype`; bias (may be NULL), gamma, beta: [hidden], also
// of `dtype` (as in bertLayerNorm: an fp16 kernel reads fp16 parameters).
int bertSkipLayerNorm(const void* input, const void* skip, const void* bias, const void* gamma,
                      const void* beta, void* output, int64_t rows, int32_t hidden, float epsilon,
                      BertDType dtype, cudaStream_t stream);

// bertSkipLayerNorm with an explicit kernel version (1 to 11; 0 = default), for tests and
// benchmarks; the versions are those of bertLayerNormVersion (layernorm_kernel.h), and so is
// cudaErrorNotSupported for a version that cannot take the shape.
int bertSkipLayerNormVersion(int version, const void* input, const void* skip, const void* bias,
                             const void* gamma, const void* beta, void* output, int64_t rows,
                             int32_t hidden, float epsilon, BertDType dtype, cudaStream_t stream);

#ifdef __cplusplus
}
#endif
