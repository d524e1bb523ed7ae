#include "emb_layernorm_seqlens_kernel.h"

namespace
{
// One thread per sequence: a batch is at most a few thousand sequences, so one small launch.
__global__ void cuSeqlensToSeqLensKernel(const int32_t* cu_seqlens, int32_t batch, int32_t* seq_lens)
{
    int32_t const b = blockIdx.x * blockDim.x + threadIdx.x;
    if (b < batch)
    {
        seq_lens[b] = cu_seqlens[b + 1] - cu_seqlens[b];
    }
}
} // namespace

extern "C" int bertCuSeqlensToSeqLens(const int32_t* cu_seqlens, int32_t batch, int32_t* seq_lens, cudaStream_t stream)
{
    if (batch < 0)
    {
        return cudaErrorInvalidValue;
    }
    if (batch == 0)
    {
        return cudaSuccess; // a grid of zero blocks would be a launch error
    }
    if (cu_seqlens == nullptr || seq_lens == nullptr)
    {
        return cudaErrorInvalidValue;
    }
    constexpr int32_t kThreads = 256;
    int32_t const blocks = (batch + kThreads - 1) / kThreads;
    cuSeqlensToSeqLensKernel<<<blocks, kThreads, 0, stream>>>(cu_seqlens, batch, seq_lens);
    return cudaGetLastError();
}
