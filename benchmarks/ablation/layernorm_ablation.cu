// Where does a small LayerNorm's time go? Each mode below adds one piece of an fp16 LayerNorm
// (hidden 768) to a plain copy, in the layout of the LayerNorm family's v9, v10 and v12: one block of
// 96 threads per row, each thread one 16-byte vector (8 halves). benchmarks/ablate_layernorm.py
// builds this file with nvcc and times every mode next to our v10 and v12 and torch.compile.
//   0 copy            y = x
//   1 affine          y = x * gamma + beta (the parameter loads)
//   2 warp sum        + one warp butterfly of each thread's sum (the mean, but per warp)
//   3 block sum       + the block's sum: warp butterflies, one barrier, 3 partials from shared memory
//   4 block moments   one reduction of (sum, sum of squares) of x - K, K the row's first value: the
//                     variance in one pass (cheaper, but it cancels when K is far from the mean)
//   5 two-pass        the mean (mode 3), then the squared deviations from it (a second block sum):
//                     a whole LayerNorm, v12's statistics
//   6 smem all        mode 4 with no shuffles: every thread's pair in shared memory, every thread
//                     adding all 96 (one barrier, 48 broadcast loads)
//   7 plain loads     mode 5 with ld.global instead of the read-only ld.global.nc (__ldg)
#include <cuda_fp16.h>
#include <cstdint>

enum Mode { kCopy = 0, kAffine = 1, kWarpSum = 2, kBlockSum = 3, kBlockMoments = 4, kTwoPass = 5, kSmemAll = 6,
            kTwoPassPlainLoads = 7 };

__device__ __forceinline__ void unpack(uint4 v, float (&f)[8]) {
    const __half2* h = reinterpret_cast<const __half2*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) { float2 p = __half22float2(h[i]); f[2 * i] = p.x; f[2 * i + 1] = p.y; }
}
__device__ __forceinline__ uint4 pack(const float (&f)[8]) {
    uint4 v; __half2* h = reinterpret_cast<__half2*>(&v);
#pragma unroll
    for (int i = 0; i < 4; ++i) h[i] = __floats2half2_rn(f[2 * i], f[2 * i + 1]);
    return v;
}
__device__ __forceinline__ float wsum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float2 wsum2(float2 v) {
#pragma unroll
    for (int o = 16; o > 0; o /= 2) { v.x += __shfl_xor_sync(0xffffffffu, v.x, o); v.y += __shfl_xor_sync(0xffffffffu, v.y, o); }
    return v;
}

template <int M0>
__global__ void __launch_bounds__(96) ablate(const uint4* x, const uint4* g, const uint4* b, uint4* y,
                                             float inv_n, float eps)
{
    constexpr bool kNc = M0 != kTwoPassPlainLoads;
    constexpr int M = M0 == kTwoPassPlainLoads ? kTwoPass : M0;
    auto ld = [](const uint4* p) { return kNc ? __ldg(p) : *p; };
    constexpr int kThreads = 96;
    const int t = threadIdx.x, warp = t >> 5;
    const size_t at = size_t(blockIdx.x) * kThreads + t;
    const uint4 xv = ld(x + at);
    if (M == kCopy) { y[at] = xv; return; }
    const uint4 gv = ld(g + t), bv = ld(b + t);
    float shift = 0.f;
    if (M == kBlockMoments || M == kSmemAll)  // a value of the row, so the one-pass sums stay small
        shift = __half2float(reinterpret_cast<const __half*>(x)[size_t(blockIdx.x) * kThreads * 8]);
    float v[8], gf[8], bf[8];
    unpack(xv, v); unpack(gv, gf); unpack(bv, bf);
    float mean = 0.f, rstd = 1.f;
    __shared__ __align__(16) float2 part[kThreads];  // mode 6 reads it as float4
    if (M == kWarpSum || M == kBlockSum || M == kTwoPass) {
        float s = 0.f;
#pragma unroll
        for (int i = 0; i < 8; ++i) s += v[i];
        s = wsum(s);
        if (M != kWarpSum) {
            if ((t & 31) == 0) part[warp].x = s;
            __syncthreads();
            s = part[0].x + part[1].x + part[2].x;
        }
        mean = s * inv_n;
        if (M == kTwoPass) {
            float d = 0.f;
#pragma unroll
            for (int i = 0; i < 8; ++i) d += (v[i] - mean) * (v[i] - mean);
            d = wsum(d);
            if ((t & 31) == 0) part[warp].y = d;
            __syncthreads();
            d = part[0].y + part[1].y + part[2].y;
            rstd = rsqrtf(d * inv_n + eps);
        }
    }
    if (M == kBlockMoments || M == kSmemAll) {
        float2 m = {0.f, 0.f};
#pragma unroll
        for (int i = 0; i < 8; ++i) { float d = v[i] - shift; m.x += d; m.y += d * d; }
        if (M == kBlockMoments) {
            m = wsum2(m);
            if ((t & 31) == 0) part[warp] = m;
            __syncthreads();
            m = {part[0].x + part[1].x + part[2].x, part[0].y + part[1].y + part[2].y};
        } else {
            part[t] = m;
            __syncthreads();
            const float4* p4 = reinterpret_cast<const float4*>(part);
            float4 acc[4] = {};
#pragma unroll
            for (int i = 0; i < kThreads / 2; ++i) {
                float4 q = p4[i];
                acc[i & 3].x += q.x; acc[i & 3].y += q.y; acc[i & 3].z += q.z; acc[i & 3].w += q.w;
            }
            m.x = (acc[0].x + acc[1].x) + (acc[2].x + acc[3].x) + (acc[0].z + acc[1].z) + (acc[2].z + acc[3].z);
            m.y = (acc[0].y + acc[1].y) + (acc[2].y + acc[3].y) + (acc[0].w + acc[1].w) + (acc[2].w + acc[3].w);
        }
        const float dm = m.x * inv_n;
        mean = shift + dm;
        rstd = rsqrtf(fmaxf(m.y * inv_n - dm * dm, 0.f) + eps);
    }
    float o[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) o[i] = (v[i] - mean) * rstd * gf[i] + bf[i];
    y[at] = pack(o);
}

template <int M>
void launch(dim3 grid, cudaStream_t s, const uint4* x, const uint4* g, const uint4* b, uint4* y, float inv_n, float eps)
{
    ablate<M><<<grid, 96, 0, s>>>(x, g, b, y, inv_n, eps);
}

// x, y: [rows, 768] fp16; g, b: [768] fp16. Returns a cudaError_t (1: no such mode).
extern "C" int ablate_launch(int mode, const void* x, const void* g, const void* b, void* y, int rows,
                             float inv_n, float eps, void* stream)
{
    using Launch = void (*)(dim3, cudaStream_t, const uint4*, const uint4*, const uint4*, uint4*, float, float);
    constexpr Launch kModes[] = {launch<0>, launch<1>, launch<2>, launch<3>, launch<4>, launch<5>, launch<6>, launch<7>};
    if (mode < 0 || mode >= int(sizeof(kModes) / sizeof(kModes[0]))) return 1;
    kModes[mode](dim3(rows), static_cast<cudaStream_t>(stream), static_cast<const uint4*>(x),
                 static_cast<const uint4*>(g), static_cast<const uint4*>(b), static_cast<uint4*>(y), inv_n, eps);
    return int(cudaGetLastError());
}
