#include "bert_kernels_common.h"

extern "C" const char* bertKernelErrorString(int status)
{
    return cudaGetErrorString(static_cast<cudaError_t>(status));
}
