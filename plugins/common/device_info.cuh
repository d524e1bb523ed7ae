// Host-side facts about the current device that launch heuristics need.
#pragma once

#include <cuda_runtime_api.h>

#include <mutex>
#include <tuple>
#include <vector>

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

// How many blocks of `kernel` (threads, dynamic shared bytes) fit on one SM of the current device
// at once, and the SM count: what a one-wave ("persistent") grid is sized from. The occupancy
// query walks the kernel's attributes on the host at every call, so each answer is kept (per
// kernel, launch shape and device: a handful of entries) for the next enqueue.
inline cudaError_t wave_size(const void* kernel, int threads, size_t shared_bytes, int* blocks_per_sm,
                             int* sms)
{
    using Key = std::tuple<const void*, int, size_t, int>;
    static std::mutex mutex;
    static std::vector<std::tuple<Key, int, int>> known;
    int device = 0;
    cudaError_t status = cudaGetDevice(&device);
    if (status != cudaSuccess) return status;
    const Key key{kernel, threads, shared_bytes, device};
    {
        const std::lock_guard<std::mutex> lock(mutex);
        for (const auto& [k, blocks, count] : known)
            if (k == key) return *blocks_per_sm = blocks, *sms = count, cudaSuccess;
    }
    status = cudaDeviceGetAttribute(sms, cudaDevAttrMultiProcessorCount, device);
    if (status == cudaSuccess)
        status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(blocks_per_sm, kernel, threads, shared_bytes);
    if (status != cudaSuccess) return status;
    const std::lock_guard<std::mutex> lock(mutex);
    known.emplace_back(key, *blocks_per_sm, *sms);
    return cudaSuccess;
}

}  // namespace bert
