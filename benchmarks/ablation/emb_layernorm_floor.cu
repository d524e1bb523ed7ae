// What does an EmbLayerNorm (hidden 768, fp32 tables, fp32 or fp16 out) cost beyond moving its bytes? Four
// steps, each adding one piece to the one before, every one in a few block shapes (threads x tokens a block):
//   copy    out[t] = x[t]                                  the bytes alone: the gather's code without its ids
//   gather  out[t] = word[ids[t]]                          + the dependent load: the id first, then its row
//   sum     (word[ids[t]] + type[types[t]]) + pos[t % S]   + the two small tables' rows (hits in L2), as
//                                                            Hugging Face adds them
//   plain   LayerNorm(sum), gamma and beta                 + the statistics: a plain kernel in our code's
//                                                            style (every load first; the mean, then the
//                                                            squared deviations; the mean as Normalization::mean
//                                                            rounds it), in the layouts of our v14, v18 and v19
// A thread holds K float4 of each of its R tokens: lane, lane + 192 / K, ... (16-byte loads of the fp32 tables
// whatever the output type). Two variants of plain change one thing each:
//   "wide"       a thread's K float4 side by side (8 floats for K = 2), as our kernels split a row for fp16
//                out, whose 16-byte vector is 8 halves (so 32 bytes of each fp32 table a vector)
//   "ids ahead"  a grid of only as many blocks as fit at once, each looping over its token groups and loading
//                the next group's ids before this group's rows arrive: only the first group waits for its ids
//                before its rows (one round trip a group, as in LayerNorm, where the others wait two)
// Rows past the last are the last row again, computed and not stored. Padded batches only (position = t % S).
// benchmarks/emb_layernorm_floor.py builds this file with nvcc, checks every kernel (copy, gather and sum
// exactly, plain against float64) and times them next to our EmbLayerNorm and torch.compile.
#include <cuda_fp16.h>
#include <cstdint>

namespace {

constexpr int kHidden = 768, kVecsPerRow = kHidden / 4;

enum Step { kCopy, kGather, kSum, kPlain };

struct Args {
    const int* ids;
    const int* types;
    const float* word;
    const float* pos;
    const float* type_table;
    const float* gamma;
    const float* beta;
    const float* x;  // copy's rows, [rows, 768]
    void* out;
    int rows, seq;
    float epsilon;
};

__device__ __forceinline__ float4 load4(const float* row, int vec) { return __ldg(reinterpret_cast<const float4*>(row) + vec); }
__device__ __forceinline__ float4 operator+(float4 a, float4 b) { return {a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w}; }

__device__ __forceinline__ void store4(float* out, float4 v) { *reinterpret_cast<float4*>(out) = v; }
__device__ __forceinline__ void store4(__half* out, float4 v)
{
    const __half2 h[2] = {__floats2half2_rn(v.x, v.y), __floats2half2_rn(v.z, v.w)};
    *reinterpret_cast<uint2*>(out) = *reinterpret_cast<const uint2*>(h);
}

__device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
    for (int mask = 16; mask > 0; mask >>= 1) v += __shfl_xor_sync(0xffffffffu, v, mask);
    return v;
}

// Each of R sums over the block, every thread getting the totals: warp butterflies, one barrier, the partials.
template <int R, int kWarps>
__device__ __forceinline__ void block_sums(float (&v)[R], float (&partials)[R][kWarps])
{
    const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
#pragma unroll
    for (int r = 0; r < R; ++r) {
        v[r] = warp_sum(v[r]);
        if (lane == 0) partials[r][warp] = v[r];
    }
    __syncthreads();
#pragma unroll
    for (int r = 0; r < R; ++r) {
        float total = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) total += partials[r][w];
        v[r] = total;
    }
}

// The layout: which float4 of the row a thread's k-th vector is.
template <int K, bool kWide>
__device__ __forceinline__ int vector_of(int lane, int k)
{
    return kWide ? lane * K + k : lane + k * (kVecsPerRow / K);
}

template <Step kStep, int K, int R, bool kWide, bool kIdsAhead, typename TOut>
__global__ void __launch_bounds__(kVecsPerRow / K) emb_floor(Args a)
{
    constexpr int kThreads = kVecsPerRow / K, kWarps = kThreads / 32;
    __shared__ float partials[2][R][kWarps];
    const int lane = int(threadIdx.x), groups = (a.rows + R - 1) / R;
    int group = int(blockIdx.x);
    int id[R], type[R];
    const auto load_ids = [&](int g) {
#pragma unroll
        for (int r = 0; r < R; ++r) {
            const int row = min(g * R + r, a.rows - 1);
            id[r] = kStep == kCopy ? row : a.ids[row];
            if constexpr (kStep >= kSum) type[r] = a.types[row];
        }
    };
    load_ids(group);
    for (; group < groups; group += kIdsAhead ? int(gridDim.x) : groups) {
        float4 x[R][K];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            const float* source = (kStep == kCopy ? a.x : a.word) + size_t(id[r]) * kHidden;
            const int position = min(group * R + r, a.rows - 1) % a.seq;
#pragma unroll
            for (int k = 0; k < K; ++k) {
                const int vec = vector_of<K, kWide>(lane, k);
                x[r][k] = load4(source, vec);
                if constexpr (kStep >= kSum)
                    x[r][k] = (x[r][k] + load4(a.type_table + type[r] * kHidden, vec)) + load4(a.pos + position * kHidden, vec);
            }
        }
        if (kIdsAhead && group + int(gridDim.x) < groups) load_ids(group + int(gridDim.x));

        float mean[R], inv_std[R];
        if constexpr (kStep == kPlain) {
            float squares[R];
#pragma unroll
            for (int r = 0; r < R; ++r) {
                mean[r] = 0.0f;
#pragma unroll
                for (int k = 0; k < K; ++k) mean[r] += (x[r][k].x + x[r][k].y) + (x[r][k].z + x[r][k].w);
            }
            block_sums<R, kWarps>(mean, partials[0]);
#pragma unroll
            for (int r = 0; r < R; ++r) {
                const float quotient = mean[r] * (1.0f / kHidden);  // then Normalization::mean's correction
                mean[r] = fmaf(fmaf(-quotient, float(kHidden), mean[r]), 1.0f / kHidden, quotient);
                squares[r] = 0.0f;
#pragma unroll
                for (int k = 0; k < K; ++k) {
                    const float4 d = {x[r][k].x - mean[r], x[r][k].y - mean[r], x[r][k].z - mean[r], x[r][k].w - mean[r]};
                    squares[r] += (d.x * d.x + d.y * d.y) + (d.z * d.z + d.w * d.w);
                }
            }
            block_sums<R, kWarps>(squares, partials[1]);
#pragma unroll
            for (int r = 0; r < R; ++r) inv_std[r] = rsqrtf(squares[r] * (1.0f / kHidden) + a.epsilon);
        }
#pragma unroll
        for (int k = 0; k < K; ++k) {
            const int vec = vector_of<K, kWide>(lane, k);
            float4 scale, shift;
            if constexpr (kStep == kPlain) scale = load4(a.gamma, vec), shift = load4(a.beta, vec);
#pragma unroll
            for (int r = 0; r < R; ++r) {
                const int row = group * R + r;
                if (row >= a.rows) break;
                float4 y = x[r][k];
                if constexpr (kStep == kPlain) {
                    y = {(y.x - mean[r]) * inv_std[r] * scale.x + shift.x, (y.y - mean[r]) * inv_std[r] * scale.y + shift.y,
                         (y.z - mean[r]) * inv_std[r] * scale.z + shift.z, (y.w - mean[r]) * inv_std[r] * scale.w + shift.w};
                }
                store4(static_cast<TOut*>(a.out) + size_t(row) * kHidden + 4 * vec, y);
            }
        }
        // Not needed (each reduction has partials of its own: see LayerNorm v20's loop, which keeps one too); kept
        // as measured.
        if (kIdsAhead) __syncthreads();
    }
}

template <Step kStep, int K, int R, bool kWide = false, bool kIdsAhead = false>
struct Kernel {
    template <typename TOut>
    static int launch(const Args& a, cudaStream_t stream)
    {
        constexpr int kThreads = kVecsPerRow / K;
        const auto kernel = emb_floor<kStep, K, R, kWide, kIdsAhead, TOut>;
        int blocks = (a.rows + R - 1) / R;
        if (kIdsAhead) {
            int device = 0, sms = 0, per_sm = 0;
            cudaError_t status = cudaGetDevice(&device);
            if (status == cudaSuccess) status = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
            if (status == cudaSuccess) status = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, 0);
            if (status != cudaSuccess) return int(status);
            blocks = min(blocks, per_sm * sms);
        }
        kernel<<<blocks, kThreads, 0, stream>>>(a);
        return int(cudaGetLastError());
    }
};

using Launch = int (*)(const Args&, cudaStream_t);
struct Entry {
    const char* name;  // "<step> <threads>x<tokens>[ variant]"
    Launch fp32, fp16;
};
template <typename K>
constexpr Entry entry(const char* name) { return {name, K::template launch<float>, K::template launch<__half>}; }

constexpr Entry kKernels[] = {
    entry<Kernel<kCopy, 1, 1>>("copy 192x1"),
    entry<Kernel<kCopy, 1, 2>>("copy 192x2"),
    entry<Kernel<kGather, 1, 1>>("gather 192x1"),
    entry<Kernel<kGather, 1, 2>>("gather 192x2"),
    entry<Kernel<kGather, 3, 4>>("gather 64x4"),
    entry<Kernel<kSum, 1, 2>>("sum 192x2"),
    entry<Kernel<kSum, 3, 4>>("sum 64x4"),
    entry<Kernel<kPlain, 2, 2>>("plain 96x2"),  // v14's layout
    entry<Kernel<kPlain, 3, 2>>("plain 64x2"),  // v18's
    entry<Kernel<kPlain, 3, 4>>("plain 64x4"),  // v19's
    entry<Kernel<kPlain, 2, 2, true>>("plain 96x2 wide"),
    entry<Kernel<kPlain, 2, 1, false, true>>("plain 96x1 ids ahead"),
};
constexpr int kKernelCount = int(sizeof(kKernels) / sizeof(kKernels[0]));

}  // namespace

extern "C" int floor_count() { return kKernelCount; }
extern "C" const char* floor_name(int index) { return index >= 0 && index < kKernelCount ? kKernels[index].name : nullptr; }

// ids, types: [rows] int32; word: [vocab, 768], pos: [>= seq, 768], type_table: [2, 768], gamma, beta: [768], x:
// [rows, 768] fp32; out: [rows, 768] fp32 or fp16 (out_fp16). Returns a cudaError_t (1: no such kernel, or
// no rows).
extern "C" int floor_launch(int index, int out_fp16, const int* ids, const int* types, const float* word, const float* pos,
                            const float* type_table, const float* gamma, const float* beta, const float* x, void* out,
                            int rows, int seq, float epsilon, void* stream)
{
    if (index < 0 || index >= kKernelCount || rows <= 0 || seq <= 0) return 1;
    const Args a{ids, types, word, pos, type_table, gamma, beta, x, out, rows, seq, epsilon};
    const Entry& kernel = kKernels[index];
    return (out_fp16 ? kernel.fp16 : kernel.fp32)(a, static_cast<cudaStream_t>(stream));
}
