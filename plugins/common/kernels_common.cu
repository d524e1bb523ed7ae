#include "bert_kernels_common.h"

extern "C" const char* bertKernelErrorString(int status)
{
    return cudaGetErrorString(static_cast<cudaError_t>(status));
}

// The launchers' record of the version they launched last on this host thread; 0 once read, and
// before any launch.
namespace {
thread_local int last_launched_version = 0;
}

namespace bert {
void note_launched_version(int version) { last_launched_version = version; }
}  // namespace bert

extern "C" int bertLastLaunchedVersion(void)
{
    const int version = last_launched_version;
    last_launched_version = 0;
    return version;
}
