// Bias + exact (erf) GELU after the FFN up-projection: y = gelu(x + bias).
#pragma once
#include "../common/bert_kernels_common.h"

#ifdef __cplusplus
extern "C" {
#endif

// input, output: [rows, n] of `dtype` (may alias); bias: [n] fp32, may be NULL.
int bertBiasGelu(const void* input, const float* bias, void* output, int64_t rows, int32_t n,
                 BertDType dtype, cudaStream_t stream);

// bertBiasGelu with an explicit kernel version (tests, benchmarks, the plugin's tactics): 1 scalar reference,
// 2 16-byte vectors, 3 16-byte vectors with several rows in flight per thread, 4 and 5 as 2 and 3
// with a shorter erf (fp16 only: its error is below an fp16 output's rounding), 6 one 16-byte
// vector a thread with every row in the grid (no rows loop), 7 as 6 with the shorter erf (fp16
// only), 8 as 7 with an 8-byte vector a thread in blocks of 256 (fp16 only), 9 as 6 (fp32) or 7
// (fp16) in a grid that is exactly the tensor (no bounds tests, 32-bit offsets), 0 = default (what
// bertBiasGelu runs: 9 where it takes the shape; else fp32 3 for many rows, 6 for fewer, fp16 7;
// 2 / 4 where 6 / 7 do not fit; 1 without 16-byte access).
// 2-9 need n % (16 / element size) == 0 and 16-byte aligned pointers, 4, 5, 7 and 8 fp16, 6-8
// rows <= 65535 * (128 / min(128, next power of two >= n / (16 / element size))): 65535 rows from
// n = 512 (fp32) or 1024 (fp16) up, more for narrower rows; 9 n % (128 x 16 / element size) == 0
// (512 fp32, 1024 fp16), rows <= 65535 and rows x n < 2^31; else they return cudaErrorNotSupported.
int bertBiasGeluVersion(int version, const void* input, const float* bias, void* output,
                        int64_t rows, int32_t n, BertDType dtype, cudaStream_t stream);

// 1 if bertBiasGeluVersion(version, ...) takes rows of n values of `dtype` from 16-byte aligned
// buffers, else 0; host code, no GPU needed. The answer holds for every row count except 6-9's
// limit above (past it they refuse, and the plugin's pinned tactic gives way to the default): what
// the TensorRT plugin offers the builder as tactics (1 only where no other version takes n).
int bertBiasGeluVersionTakes(int version, int32_t n, BertDType dtype);

// The highest version number bertBiasGeluVersion takes (versions are 1 to this; 0 = default).
enum { BERT_BIAS_GELU_LAST_VERSION = 9 };

#ifdef __cplusplus
}
#endif
