// SkipLayerNorm: y = LayerNorm(input + skip + bias), the residual add fused into the norm.
#pragma once
#include "../common/bert_kernels_common.h"

#ifdef __cplusplus
extern "C" {
#endif

// input, skip, output: [rows, hidden] of `dtype`; bias (may be NULL), gamma, beta: [hidden], also
// of `dtype` (as in bertLayerNorm: an fp16 kernel reads fp16 parameters). As there, output must not
// overlap input or skip.
int bertSkipLayerNorm(const void* input, const void* skip, const void* bias, const void* gamma,
                      const void* beta, void* output, int64_t rows, int32_t hidden, float epsilon,
                      BertDType dtype, cudaStream_t stream);

// bertSkipLayerNorm with an explicit kernel version (1 to 20; 0 = default), for tests and
// benchmarks; the versions are those of bertLayerNormVersion (layernorm_kernel.h), and so is
// cudaErrorNotSupported for a version that cannot take the shape.
int bertSkipLayerNormVersion(int version, const void* input, const void* skip, const void* bias,
                             const void* gamma, const void* beta, void* output, int64_t rows,
                             int32_t hidden, float epsilon, BertDType dtype, cudaStream_t stream);

// INT8 I/O, as TensorRT's implicit INT8 stores tensors (symmetric, per tensor): input and skip
// [rows, hidden] int8 holding value / scale, output int8 = round(y / output_scale) (to nearest,
// ties to even) clamped to [-128, 127]; bias (may be NULL), gamma and beta [hidden] fp32. The sum
// and the statistics are fp32. hidden: a multiple of 8 up to 2048 (bertSkipLayerNormInt8Supported;
// else cudaErrorNotSupported), int8 pointers 8-byte and fp32 ones 16-byte aligned (else
// cudaErrorNotSupported); scales finite and > 0, rows >= 0, hidden > 0 and, when rows > 0, every
// pointer but bias non-NULL (else cudaErrorInvalidValue). output must not overlap input or skip.
int bertSkipLayerNormInt8Supported(int32_t hidden);  // 1 if bertSkipLayerNormInt8 takes rows this wide
int bertSkipLayerNormInt8(const int8_t* input, float input_scale, const int8_t* skip,
                          float skip_scale, const float* bias, const float* gamma, const float* beta,
                          int8_t* output, float output_scale, int64_t rows, int32_t hidden,
                          float epsilon, cudaStream_t stream);
// bertSkipLayerNormInt8 with an explicit kernel version (1 to 6; 0 = default), for tests and
// benchmarks (skip_layernorm_kernel.cu says what each one does).
int bertSkipLayerNormInt8Version(int version, const int8_t* input, float input_scale,
                                 const int8_t* skip, float skip_scale, const float* bias,
                                 const float* gamma, const float* beta, int8_t* output,
                                 float output_scale, int64_t rows, int32_t hidden, float epsilon,
                                 cudaStream_t stream);

#ifdef __cplusplus
}
#endif
