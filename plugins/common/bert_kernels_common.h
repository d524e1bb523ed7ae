// Shared declarations for the plain C kernel API of every plugin folder.
//
// Each plugins/<name>/<name>_kernel.h declares launchers that take raw device pointers and a
// cudaStream_t, and return a cudaError_t value as int (0 = success). They know nothing of
// TensorRT, so Python (ctypes + torch tensors), the plugin glue and the harness all call the
// same code. Sizes and epsilon are always arguments, never constants.
#pragma once

#include <cuda_runtime_api.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Element type of activation tensors (inputs/outputs). Each launcher's header says the type of
// its weights: LayerNorm's and SkipLayerNorm's gamma/beta/bias are of `dtype`, EmbLayerNorm's
// tables and parameters and BiasGelu's bias are fp32.
typedef enum BertDType { BERT_FP32 = 0, BERT_FP16 = 1 } BertDType;

// Human-readable message for a status code returned by any launcher.
const char* bertKernelErrorString(int status);

#ifdef __cplusplus
}
#endif
