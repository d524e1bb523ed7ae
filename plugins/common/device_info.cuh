// Host-side facts about the current device that launch heuristics need.
#pragma once

#include <cuda_runtime_api.h>

namespace bert {

// Streaming multiprocessors of the current device. Two cheap attribute queries, also legal while
// a stream is being captured into a CUDA graph.
inline cudaError_t multiprocessor_count(int* count)
{
    int device = 0;
    const cudaError_t status = cudaGetDevice(&device);
    if (status != cudaSuccess) return status;
    return cudaDeviceGetAttribute(count, cudaDevAttrMultiProcessorCount, device);
}

}  // namespace bert
