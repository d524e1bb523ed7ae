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

// The version of the last kernel with numbered versions (LayerNorm, SkipLayerNorm and
// EmbLayerNorm in fp32/fp16, BiasGelu, QkvToContext) that a launcher launched from this host
// thread, the default resolved; then forgotten: 0 when none launched since the last call. Outputs
// agree between versions, so this is how a test sees which kernel a default or a TensorRT tactic
// really ran.
int bertLastLaunchedVersion(void);

#ifdef __cplusplus
}

namespace bert {
// Records a launch for bertLastLaunchedVersion (kernels_common.cu). Hidden: each shared library
// (kernels, plugins) keeps its own record, whatever order they are loaded in.
__attribute__((visibility("hidden"))) void note_launched_version(int version);
}  // namespace bert
#endif
