// LayerNorm over the last dimension: y = (x - mean) / sqrt(var + epsilon) * gamma + beta.
#pragma once
#include "../common/bert_kernels_common.h"

#ifdef __cplusplus
extern "C" {
#endif

// input, output: [rows, hidden] of `dtype`; gamma, beta: [hidden], also of `dtype` (an fp16
// LayerNorm takes fp16 parameters, as NVIDIA's BERT plugins and PyTorch's fp16 models do: every
// row reads them again, and fp32 ones would be twice the loads of the fp16 row itself).
// Statistics are accumulated in fp32 whatever `dtype` is. rows == 0 is a no-op.
// Rows of whole 16-byte vectors (hidden % 4 == 0 in fp32, % 8 in fp16) with 16-byte aligned
// pointers and at most 8192 values take the vectorized kernels; any other shape the scalar one.
// output must not overlap input: shifted, one block's output rows would be another's input rows, and
// a build with BERT_READONLY_ACTIVATIONS reads rows through the read-only path, which allows no
// writes to them while the kernel runs (no test runs any version in place).
int bertLayerNorm(const void* input, void* output, const void* gamma, const void* beta,
                  int64_t rows, int32_t hidden, float epsilon, BertDType dtype, cudaStream_t stream);

// bertLayerNorm with an explicit kernel version, for tests and benchmarks: 1 scalar reference,
// 2 vectorized block-per-row, 3 vectorized with threads per row sized from hidden, 4 as 3 with
// every load of the row issued before any is used, 5 as 4 with gamma/beta loaded before the
// reductions, 6 as 4 with two rows per thread group for narrow rows, 7 as 4 with each row spread
// over twice the threads (at most 16 values per thread), 8 as 4 with gamma/beta loads issued with
// the row's, 9 as 2 (a block per row) with every load first, gamma/beta loaded with the row and
// one barrier per block reduction, 10 as 9 with mean and variance from one reduction (rows of
// whole warps of vectors), 11 as 8 with one reduction (rows split evenly over a thread group),
// 12 as 9 with the block's warp count a template constant (rows of 1 to 8 whole warps of vectors),
// 13 as 12 with a warp per row, 8 rows a block (rows of 1 to 8 vectors a lane, at most 32 values:
// hidden up to 1024), 14 as 12 with two vectors a thread and two rows a block (rows of 1 to 8
// whole warps of two vectors a lane), 15 as 12 with a row over two warps of n vectors a thread (1 to
// 8 vectors, at most 32 values: fp32 hidden 256 to 2048 in steps of 256, fp16 512, 1024, 1536, 2048),
// 16 torch.compile's layout: one vector a thread over the fewest warps, a power of two, two rows a
// block, the lanes past the row idle (rows of up to 8 warps of vectors: fp32 hidden up to 1024, fp16
// up to 2048), 17 as 16 compiled for one row length (hidden 768 or 1024 only), 18 as 15 with two rows a
// block (fp32 hidden 256 to 1024 in steps of 256, fp16 512 and 1024), 19 as 15 with four rows a block
// (at most 48 values a thread: fp32 256, 512, 768, fp16 512), 20 a vector of four values whatever the type
// and a grid of the resident blocks, each asking for its next row one row early (hidden 768 or 1024 only;
// made for EmbLayerNorm), 0 = default (what bertLayerNorm runs:
// the measured best for the element size and row count, or 1 without 16-byte access; see
// common/layernorm_rows.cuh).
// A version that cannot take this shape (2 to 20 need hidden % (16 / element size) == 0 and
// 16-byte aligned pointers; 10 to 20 also the splits above) returns cudaErrorNotSupported.
int bertLayerNormVersion(int version, const void* input, void* output, const void* gamma,
                         const void* beta, int64_t rows, int32_t hidden, float epsilon,
                         BertDType dtype, cudaStream_t stream);

// 1 if bertLayerNormVersion(version, ...) takes rows of `hidden` values of `dtype` (with 16-byte
// aligned pointers), else 0; host code, no GPU needed. The answer holds for every row count (the
// splits depend on the hidden size only), so a version taken at one shape of a dynamic range is
// taken at all of them: what a TensorRT plugin needs to offer versions as tactics, timed by the
// builder at one shape and then run at all of the profile's. Also SkipLayerNorm's and
// EmbLayerNorm's (whose `dtype` is the output's).
int bertLayerNormVersionTakes(int version, int32_t hidden, BertDType dtype);

// The highest version number bertLayerNormVersion takes (versions are 1 to this; 0 = default).
enum { BERT_LAYERNORM_LAST_VERSION = 20 };

#ifdef __cplusplus
}
#endif
