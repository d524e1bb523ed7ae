#include "bert_kernels_common.h"

extern "C" const char* bertKernelErrorString(int status)
{
    return cudaGetErrorString(static_cast<cudaError_t>(status));
}

// launch_layernorm_rows's record of the version it launched last on this host thread
// (layernorm_rows.cuh); 0 once read, and before any launch.
namespace {
thread_local int last_layernorm_version = 0;
}

namespace bert {
__attribute__((visibility("hidden"))) void note_launched_version(int version) { last_layernorm_version = version; }
}  // namespace bert

extern "C" int bertLayerNormLastVersion(void)
{
    const int version = last_layernorm_version;
    last_layernorm_version = 0;
    return version;
}
