// Which block shape suits a LayerNorm of h768 rows? One plain kernel, layernorm_shape (v12's: every
// load first, two plain reductions, no bounds check but the last block's), with its shape as template
// constants (and "+pipe" below, a second kernel in the same shapes):
//   G  groups of W warps side by side in a block, each group normalizing R rows together,
//   K  vectors a thread holds of each row (thread t: vectors t, t + 32 W, ...),
//   B  the bytes of one vector: 16 (4 floats, 8 halves), 8 or 4.
// W * 32 * K * (B / element size) is 768, or (a "partial" shape) K is the fewest vectors a thread that
// cover 768 values: then the last vectors of the high lanes, or whole warps, hold nothing (loads,
// sums and stores guarded). Partial shapes are the layouts of torch.compile's Triton kernels, whose
// block is a power of two wide (1,024 columns for 768, the rest masked): Triton's XBLOCK 2 with 8
// warps is G1 W8 R2 K1 (warps 6 and 7 idle), XBLOCK 1 with 4 warps G1 W4 R1 K2 (lanes 64-127's second
// vector masked). G1 W6 R1 K1 B16 is v12's fp32 shape, G8 W1 R1 K3 B16 our v13's fp16 shape, G1 W3 R2
// K2 B16 v14's fp32 shape, G1 W2 R1 K3 B16 v15's; v3/v4's layout is G4 W1 R1 K6/K3 B16.
// Every shape comes twice: as LayerNorm(x) (shape_launch) and as SkipLayerNorm, LayerNorm(x + skip +
// bias) with the sums in fp32 as our SkipLayerNorm does (skip_launch).
// benchmarks/sweep_layernorm_shapes.py builds this file with nvcc, checks every shape against
// float64 and times them next to our versions, a torch copy and torch.compile.
// A shape may also carry code variants (the flags below, "+tree" etc. in the sweep's labels): the
// choices by which our own kernel (common/layernorm_rows.cuh, v12-v15) differs from this one, added
// one at a time to find which of them is worth what at a given shape (run 21: in v14's shape this
// kernel was 0.9% faster than v14 at 12,288 fp32 rows, with the same 40 registers; run 22: 0.6%, and
// each choice alone costs it 0.1-0.6%, +plain the most, with 48 registers:
// benchmarks/results/nvidia-h200_layernorm_shapes_run22.txt).
// One more variant changes the kernel's structure, not a choice of ours: "+pipe" (layernorm_pipelined,
// below) runs a persistent grid, as many blocks as fit on the GPU at once, each looping over its row
// groups and issuing the next group's loads before this group's reductions, with gamma and beta (and
// the bias) loaded once a block. Why try it: at 12,288 fp32 rows v14 ends ~2% short of a copy of the
// same bytes, torch.compile 1.5-2.4%, this file's best shape 1.3%; a block that waits through its
// reductions with nothing in flight is one place such a gap can come from. Run 22 (H200): slower than
// v14 at 4K, 12K and 64K rows in all four shapes, by 1.6-9.6%. It is not pipelining alone that was
// measured: holding gamma, beta and the next rows costs registers (ptxas -v: 72 in v14's shape, 93 with
// the skip, against layernorm_shape's 40, 42 with the skip), about half the blocks an SM.
// (SkipLayerNorm at 12,288 rows: level with layernorm_shape in v14's shape, 28.86 against 28.96 us,
// 2.7% behind our default.)
// Run 23 added flags of the launch ("+occ8", "+occ12", "+carve", "+l1": resident blocks and the L1 /
// shared-memory carveout), "+ca" (plain loads through __ldca) and "+port", torch.compile's fastest
// kernel at 12,288 fp32 rows (XBLOCK 2, 8 warps) written out in CUDA from its SASS. Measured (H200,
// benchmarks/results/nvidia-h200_layernorm_shapes_run23.txt): the most-shared-memory carveout costs
// v14's shape 5.9-6.7% at 12,288 rows (L1's size bounds the stream), and the caps are level with it
// there (slower than it at 4,096 and 65,536); the most-L1 one gains v14's shape 0.4% and costs Triton's
// layout 3.8%; "+ca" takes 46-48 registers and is slower; "+port" is 0.6% faster than this kernel in
// the same layout and still 0.9-1.0% behind Triton's own.
// Run 24 added the port's "+exact" (no row clamp where the rows fill every block) and "+ftz" (Triton's
// rsqrt), carveouts between the two ends ("+cN%") and shape_query, the occupancy table the sweep prints.
// Measured (H200, benchmarks/results/nvidia-h200_layernorm_shapes_run24.txt, three sweeps at 12,288 rows): the
// port with both is level with Triton's own or up to 0.35% ahead (19.86-19.94 against 19.91-20.01 us), "+exact"
// most of it; no carveout between the driver's and the most L1 is faster than both; v14's code in blocks of 6
// warps (G2, 8 an SM as Triton's) is 0.9-1.0% slower.
// Rows past the last (in the last block or row group) are the last row again, computed and not stored.
// (ptxas -v, CUDA 13.0, sm_90: no spills but fp16 G1 W3 R2 K1 B16, 8 bytes, in both layernorm_shape's
// LayerNorm and SkipLayerNorm instantiations.)
#include <cuda_fp16.h>
#include <cstdint>
#include <cmath>
#include <type_traits>

#include "../../plugins/common/reductions.cuh"  // bert::warp_sum, block_sums_by_warp0 and rsqrt_ftz (+port); tree_sum (+tree)
#include "../../plugins/common/vector_io.cuh"  // bert::load_keep, for kKeepParams

// The load type of a B-byte vector.
template <int B> struct Bits;
template <> struct Bits<16> { using type = uint4; };
template <> struct Bits<8> { using type = uint2; };
template <> struct Bits<4> { using type = unsigned; };

template <typename T, int B>
constexpr int kElems = B / int(sizeof(T));

template <typename T, int B>
__device__ __forceinline__ void unpack(typename Bits<B>::type bits, float (&f)[kElems<T, B>])
{
    if constexpr (sizeof(T) == 4) {
        const float* p = reinterpret_cast<const float*>(&bits);
#pragma unroll
        for (int i = 0; i < kElems<T, B>; ++i) f[i] = p[i];
    } else {
        const __half2* h = reinterpret_cast<const __half2*>(&bits);
#pragma unroll
        for (int i = 0; i < B / 4; ++i) { const float2 p = __half22float2(h[i]); f[2 * i] = p.x, f[2 * i + 1] = p.y; }
    }
}
template <typename T, int B>
__device__ __forceinline__ typename Bits<B>::type pack(const float (&f)[kElems<T, B>])
{
    typename Bits<B>::type bits;
    if constexpr (sizeof(T) == 4) {
        float* p = reinterpret_cast<float*>(&bits);
#pragma unroll
        for (int i = 0; i < kElems<T, B>; ++i) p[i] = f[i];
    } else {
        __half2* h = reinterpret_cast<__half2*>(&bits);
#pragma unroll
        for (int i = 0; i < B / 4; ++i) h[i] = __floats2half2_rn(f[2 * i], f[2 * i + 1]);
    }
    return bits;
}
// Code variants (a bit mask; 0: this file's plain kernel).
constexpr int kTreeSums = 1;     // a thread's values summed pairwise by our bert::tree_sum, not in sequence
constexpr int kRuntimeRow = 2;   // 64-bit rows times the row length as a kernel argument (ours: int64
                                 // rows, Normalization::hidden), not an int times a constant
constexpr int kLateParams = 4;   // gamma/beta loaded for the output, one vector at a time (v13/v14)
constexpr int kPlainLoads = 8;   // ld.global, as ours compiles to (its pointers are not __restrict__),
                                 // not __ldg's ld.global.nc (a plain *p here, through __restrict__,
                                 // would still become .nc)
constexpr int kPipelined = 16;   // layernorm_pipelined, below (not a flag of layernorm_shape)
// Flags of the launch, not of the kernel's code (an instance of its own, the same code): at most 8 (or
// 12) resident blocks an SM, through dynamic shared memory the kernel never touches, with the carveout
// set to the most shared memory so that the cap decides; kMostShared is that carveout alone, the
// control (it leaves L1 28 KB of the SM's 256). Why (run 23): torch.compile's fastest LayerNorm at
// 12,288 fp32 rows, XBLOCK 2 with 8 warps (32 registers, 8 blocks an SM), keeps 16 rows an SM in flight
// and was 1.2-1.6% faster than v14, which keeps 34 (17 blocks of 2 rows). Do fewer rows in flight make
// the DRAM stream faster? v14's shape at 8 blocks holds Triton's 16.
constexpr int kEightBlocks = 32;
constexpr int kTwelveBlocks = 64;
constexpr int kMostShared = 128;
// And the other end: the carveout preference set to the most L1 (the driver still gives shared memory
// enough for the blocks). Why: kMostShared alone cost v14's shape 5.9% at 12,288 rows (run 23), so L1's
// size bounds the stream; by default the driver picks the carveout itself.
constexpr int kMostL1 = 256;
// ld.global.ca through __ldca: the default cache operator, so a plain LDG.E.128 in SASS as Triton's loads
// of x. __ldca is itself inline asm (asm volatile, sm_32_intrinsics.hpp), and it takes +plain's registers
// (ptxas -v: 46 in Triton's shape against 32, 48 in v14's against 40), so it too tells nothing about the
// load instruction alone.
constexpr int kCachedLoads = 512;
constexpr int kTritonPort = 1024;  // layernorm_triton_port, below (not a flag of layernorm_shape)
constexpr int kKeepParams = 2048;  // +port only: gamma/beta loaded evict-last in L1 and L2, as Triton loads them
// +port only, Triton's two remaining differences (run 24): no row clamp and no row check where the rows are a
// whole number of blocks (Triton's kernel is compiled for its row count; the launcher picks this instance only
// then, and the clamped one otherwise), and rsqrt.approx.ftz (Triton's MUFU.RSQ with no denormal guard).
constexpr int kExactRows = 4096;
constexpr int kFtzRsqrt = 8192;
// A carveout preference between kMostL1's 0% and kMostShared's 100%, in the variant's bits from 16 up
// (percent + 1; 0: none, the driver picks the split). The percent is of the SM's most shared memory (228
// KB on the H100 and H200), rounded by the driver to a size it has (0, 8, 16, 32, 64, 100, ... KB); sm_80
// and later also keep 1 KB of shared memory a resident block for the system. Why (run 24): v14's shape (16
// blocks an SM by the occupancy API, 1 KB each) needs more than 16 KB of shared memory, and so leaves at most
// 224 KB of L1, where Triton's 8-warp blocks (8 an SM) fit in 16; in run 23 kMostShared cost v14's shape 5.9%,
// kMostL1 gained it 0.4% and cost Triton's layout 3.8%. Which split between those is the fastest, and at what
// occupancy?
constexpr int kCarveoutShift = 16;
constexpr int carveout(int percent) { return (percent + 1) << kCarveoutShift; }
constexpr int carveout_of(int variant) { return (variant >> kCarveoutShift) - 1; }  // -1: none

template <int kVariant, typename V>
__device__ __forceinline__ V load(const V* p)
{
    if constexpr ((kVariant & kPlainLoads) != 0) {
        static_assert(std::is_same_v<V, uint4>, "+plain is written for 16-byte vectors");
        uint4 v;
        asm("ld.global.v4.u32 {%0, %1, %2, %3}, [%4];" : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w) : "l"(p));
        return v;
    } else if constexpr ((kVariant & kCachedLoads) != 0) {
        return __ldca(p);
    } else {
        return __ldg(p);
    }
}

// The R row sums of a group: each warp's butterfly, then (W > 1) the warps' partials through
// shared memory, one barrier.
template <int W, int R>
__device__ __forceinline__ void group_sums(float (&s)[R], float (&partials)[R][W], int warp, int lane)
{
#pragma unroll
    for (int r = 0; r < R; ++r) s[r] = bert::warp_sum(s[r]);
    if constexpr (W > 1) {
        if (lane % 32 == 0) {
#pragma unroll
            for (int r = 0; r < R; ++r) partials[r][warp] = s[r];
        }
        __syncthreads();
#pragma unroll
        for (int r = 0; r < R; ++r) {
            float total = partials[r][0];
#pragma unroll
            for (int w = 1; w < W; ++w) total += partials[r][w];
            s[r] = total;
        }
    }
}

// One row's K vectors in fp32, x or (kSkip) (x + skip) + bias (summed in fp32 as our SkipLayerNorm does),
// and their sum: in sequence, vector by vector as they are unpacked, or (kTree) pairwise by bert::tree_sum.
template <typename T, int B, int K, bool kSkip, bool kTree>
__device__ __forceinline__ float row_values(const typename Bits<B>::type (&raw)[K],
                                            const typename Bits<B>::type (&raw_skip)[K],
                                            const typename Bits<B>::type (&raw_bias)[K], float (&v)[K][kElems<T, B>])
{
    constexpr int kN = kElems<T, B>;
    float sum = 0.0f;
#pragma unroll
    for (int k = 0; k < K; ++k) {
        unpack<T, B>(raw[k], v[k]);
        if constexpr (kSkip) {
            float s[kN], b[kN];
            unpack<T, B>(raw_skip[k], s);
            unpack<T, B>(raw_bias[k], b);
#pragma unroll
            for (int i = 0; i < kN; ++i) v[k][i] = (v[k][i] + s[i]) + b[i];
        }
        if constexpr (!kTree) {
#pragma unroll
            for (int i = 0; i < kN; ++i) sum += v[k][i];
        }
    }
    if constexpr (kTree) sum = bert::tree_sum<K * kN>(&v[0][0]);
    return sum;
}

// kSkip: the row is x + skip + bias (skip and bias unused otherwise). kVariant: the flags above.
template <typename T, int G, int W, int R, int K, int B, bool kSkip, int kVariant>
__global__ void __launch_bounds__(G * W * 32)
layernorm_shape(const typename Bits<B>::type* __restrict__ x, const typename Bits<B>::type* __restrict__ skip,
                const typename Bits<B>::type* __restrict__ bias, const typename Bits<B>::type* __restrict__ gamma,
                const typename Bits<B>::type* __restrict__ beta, typename Bits<B>::type* __restrict__ y, int rows,
                int row_length, float inv_n, float eps)
{
    using V = typename Bits<B>::type;
    constexpr int kN = kElems<T, B>;
    constexpr int kGroupThreads = W * 32;
    constexpr int kVecsPerRow = 768 / kN;
    static_assert(kVecsPerRow * kN == 768, "the shapes are written for rows of 768");
    static_assert(kGroupThreads * K >= kVecsPerRow && kGroupThreads * (K - 1) < kVecsPerRow,
                  "K: the fewest vectors a thread that cover the row");
    constexpr bool kPartial = kGroupThreads * K != kVecsPerRow;
    static_assert((kVariant & (kPipelined | kTritonPort)) == 0, "+pipe and +port are kernels of their own");
    constexpr bool kTree = (kVariant & kTreeSums) != 0, kLate = (kVariant & kLateParams) != 0;
    // The row index's type, and the row length its offsets are made with: kRuntimeRow takes the
    // kernel argument, which the compiler cannot fold, as ours takes Normalization::hidden.
    using Index = std::conditional_t<(kVariant & kRuntimeRow) != 0, int64_t, int>;
    const Index row_vecs = (kVariant & kRuntimeRow) != 0 ? Index(row_length) / kN : Index(kVecsPerRow);
    const int group = G == 1 ? 0 : int(threadIdx.x) / kGroupThreads;
    const int lane = G == 1 ? int(threadIdx.x) : int(threadIdx.x) % kGroupThreads;
    const Index first = (Index(blockIdx.x) * G + group) * R;
    // Whether this thread's k-th vector is in the row (always, but in a partial shape's last k).
    auto holds = [&](int k) { return !kPartial || k < K - 1 || lane + k * kGroupThreads < kVecsPerRow; };
    V raw[R][K], raw_skip[R][K], raw_bias[K], raw_gamma[K], raw_beta[K];
    auto load_params = [&](int k) {  // with the row's loads, or (kLateParams) for the output
        raw_gamma[k] = load<kVariant>(gamma + lane + k * kGroupThreads);
        raw_beta[k] = load<kVariant>(beta + lane + k * kGroupThreads);
    };
#pragma unroll
    for (int r = 0; r < R; ++r) {
        Index row;  // min() for an int, so that the plain kernel's code stays as timed in runs 11-21
        if constexpr (std::is_same_v<Index, int>)
            row = min(first + r, rows - 1);
        else
            row = first + r < rows ? first + r : Index(rows) - 1;
#pragma unroll
        for (int k = 0; k < K; ++k) {
            raw[r][k] = raw_skip[r][k] = V{};  // zeros: a vector outside the row adds nothing to the sum
            if (!holds(k)) continue;
            const size_t at = size_t(row) * row_vecs + lane + k * kGroupThreads;
            raw[r][k] = load<kVariant>(x + at);
            if constexpr (kSkip) raw_skip[r][k] = load<kVariant>(skip + at);
        }
    }
#pragma unroll
    for (int k = 0; k < K; ++k) {
        raw_bias[k] = raw_gamma[k] = raw_beta[k] = V{};
        if (!holds(k)) continue;
        if constexpr (kSkip) raw_bias[k] = load<kVariant>(bias + lane + k * kGroupThreads);
        if constexpr (!kLate) load_params(k);
    }
    float v[R][K][kN], sum[R];
#pragma unroll
    for (int r = 0; r < R; ++r) sum[r] = row_values<T, B, K, kSkip, kTree>(raw[r], raw_skip[r], raw_bias, v[r]);
    __shared__ float mean_partials[G][R][W], square_partials[G][R][W];
    group_sums<W, R>(sum, mean_partials[group], lane / 32, lane);
    float mean[R], squares[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        mean[r] = sum[r] * inv_n;
        if constexpr (kTree) {
            float deviations[K][kN];
#pragma unroll
            for (int k = 0; k < K; ++k)
#pragma unroll
                for (int i = 0; i < kN; ++i)
                    deviations[k][i] = holds(k) ? (v[r][k][i] - mean[r]) * (v[r][k][i] - mean[r]) : 0.0f;
            squares[r] = bert::tree_sum<K * kN>(&deviations[0][0]);
        } else {
            squares[r] = 0.0f;
#pragma unroll
            for (int k = 0; k < K; ++k)
#pragma unroll
                for (int i = 0; i < kN; ++i)
                    if (holds(k)) squares[r] += (v[r][k][i] - mean[r]) * (v[r][k][i] - mean[r]);
        }
    }
    group_sums<W, R>(squares, square_partials[group], lane / 32, lane);
#pragma unroll
    for (int k = 0; k < K; ++k) {
        if (!holds(k)) continue;
        float g[kN], b[kN];
        if constexpr (kLate) load_params(k);
        unpack<T, B>(raw_gamma[k], g);
        unpack<T, B>(raw_beta[k], b);
#pragma unroll
        for (int r = 0; r < R; ++r) {
            const float inv_std = rsqrtf(squares[r] * inv_n + eps);
            float out[kN];
#pragma unroll
            for (int i = 0; i < kN; ++i) out[i] = (v[r][k][i] - mean[r]) * inv_std * g[i] + b[i];
            if (first + r < rows) y[size_t(first + r) * row_vecs + lane + k * kGroupThreads] = pack<T, B>(out);
        }
    }
}

// What a launch flag asks of a kernel instance before its first launch: the carveout preference
// (kMostShared, kMostL1, a carveout(percent), and the caps, which take kMostShared's) and, for a cap, the
// dynamic shared memory at which exactly that many blocks fit an SM (cudaErrorInvalidConfiguration if no
// size up to 48 KB gives it). Worked out once an instance; an error is kept and returned at every launch.
struct LaunchSetup {
    cudaError_t error;
    int padding;  // bytes of dynamic shared memory
};

template <typename Kernel>
LaunchSetup launch_setup(Kernel kernel, int variant, int threads)
{
    const int cap = (variant & kEightBlocks) != 0 ? 8 : (variant & kTwelveBlocks) != 0 ? 12 : 0;
    const int preference = cap != 0 || (variant & kMostShared) != 0 ? int(cudaSharedmemCarveoutMaxShared)
                           : (variant & kMostL1) != 0             ? int(cudaSharedmemCarveoutMaxL1)
                                                                  : carveout_of(variant);
    if (preference < 0) return {cudaSuccess, 0};  // the driver's choice
    const cudaError_t set = cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, preference);
    if (set != cudaSuccess || cap == 0) return {set, 0};
    for (int bytes = 0; bytes <= 48 * 1024; bytes += 256) {
        int fit = 0;
        const cudaError_t asked = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&fit, kernel, threads, bytes);
        if (asked != cudaSuccess) return {asked, 0};
        if (fit == cap) return {cudaSuccess, bytes};
        if (fit < cap) break;  // the cap lies between two sizes' block counts: not reachable this way
    }
    return {cudaErrorInvalidConfiguration, 0};
}

// What shape_query reports of a kernel instance, its launch setup applied: registers a thread, static and
// dynamic shared memory a block, and the resident blocks an SM the occupancy API counts (out[0..3]).
template <typename Kernel>
int describe(Kernel kernel, const LaunchSetup& setup, int threads, int* out)
{
    if (setup.error != cudaSuccess) return int(setup.error);
    cudaFuncAttributes attributes{};
    cudaError_t error = cudaFuncGetAttributes(&attributes, kernel);
    int blocks = 0;
    if (error == cudaSuccess)
        error = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, threads, setup.padding);
    out[0] = attributes.numRegs, out[1] = int(attributes.sharedSizeBytes), out[2] = setup.padding, out[3] = blocks;
    return int(error);
}

// launch_setup of one kernel instance, worked out at its first launch or query (the carveout is an attribute of
// the kernel function, so every variant that sets one is an instance of its own).
template <auto kKernel, int kVariant, int kThreads>
const LaunchSetup& setup_once()
{
    static const LaunchSetup setup = launch_setup(kKernel, kVariant, kThreads);
    return setup;
}

// "+port": torch.compile's kernel at 12,288 fp32 rows, XBLOCK 2 with 8 warps (run 23: 1.2-1.6% faster
// than v14 in every timing that had it, and 1.3-1.7% than this file's G1 W8 R2 K1 in the same layout), written
// out in CUDA from its SASS (benchmarks/results/run23_experiments.txt): one group of W warps, a power of
// two, over 1,024 columns for 768, threads past the row's 192 vectors holding zeros; R rows a block,
// one vector of each a thread; x loaded plainly and gamma/beta right after it, before any reduction;
// each reduction a butterfly a warp, the W partials of each row reduced by the first R x W lanes with
// a second butterfly and written back, everyone reading the totals after a second barrier; x - mean
// as fma(sum, -1/n, x). The question it answers: is Triton's edge its code, or something this file's
// kernel cannot express? fp32, 16-byte vectors only.
// kVariant: kKeepParams, kFtzRsqrt, a carveout (the launcher's); kExact: kExactRows's instance, every row
// of every block in range.
template <int W, int R, bool kSkip, int kVariant, bool kExact>
__global__ void __launch_bounds__(W * 32)
layernorm_triton_port(const float4* x, const float4* skip, const float4* bias, const float4* gamma,
                      const float4* beta, float4* y, int rows, float inv_n, float eps)
{
    constexpr int kVecsPerRow = 768 / 4;
    static_assert(W * 32 >= kVecsPerRow && W * 16 < kVecsPerRow, "W: the fewest warps, a power of two, over 768");
    const int t = int(threadIdx.x);
    const bool active = t < kVecsPerRow;
    constexpr bool kKeep = (kVariant & kKeepParams) != 0;
    const int first = int(blockIdx.x) * R;
    float v[R][4];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const int row = kExact ? first + r : min(first + r, rows - 1);
        float4 a = make_float4(0.0f, 0.0f, 0.0f, 0.0f), b = a, c = a;
        if (active) {
            a = x[size_t(row) * kVecsPerRow + t];
            if constexpr (kSkip) {
                b = skip[size_t(row) * kVecsPerRow + t];
                c = bias[t];
            }
        }
        v[r][0] = a.x, v[r][1] = a.y, v[r][2] = a.z, v[r][3] = a.w;
        if constexpr (kSkip) {
            v[r][0] = (a.x + b.x) + c.x, v[r][1] = (a.y + b.y) + c.y;
            v[r][2] = (a.z + b.z) + c.z, v[r][3] = (a.w + b.w) + c.w;
        }
    }
    float4 g = make_float4(0.0f, 0.0f, 0.0f, 0.0f), h = g;
    if (active) {
        if constexpr (kKeep) {
            const uint4 gb = bert::load_keep(reinterpret_cast<const uint4*>(gamma) + t);
            const uint4 hb = bert::load_keep(reinterpret_cast<const uint4*>(beta) + t);
            g = make_float4(__uint_as_float(gb.x), __uint_as_float(gb.y), __uint_as_float(gb.z), __uint_as_float(gb.w));
            h = make_float4(__uint_as_float(hb.x), __uint_as_float(hb.y), __uint_as_float(hb.z), __uint_as_float(hb.w));
        } else {
            g = gamma[t], h = beta[t];
        }
    }
    __shared__ float mean_partials[R * W], square_partials[R * W];
    float s[R];
#pragma unroll
    for (int r = 0; r < R; ++r) s[r] = ((v[r][0] + v[r][1]) + v[r][2]) + v[r][3];
    bert::block_sums_by_warp0<W, R>(s, mean_partials);
    float q[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
        for (int i = 0; i < 4; ++i) v[r][i] = fmaf(s[r], -inv_n, v[r][i]);
        q[r] = active ? ((v[r][0] * v[r][0] + v[r][1] * v[r][1]) + v[r][2] * v[r][2]) + v[r][3] * v[r][3] : 0.0f;
    }
    bert::block_sums_by_warp0<W, R>(q, square_partials);
#pragma unroll
    for (int r = 0; r < R; ++r) {
        const float variance = fmaf(q[r], inv_n, eps);
        const float inv_std = (kVariant & kFtzRsqrt) != 0 ? bert::rsqrt_ftz(variance) : rsqrtf(variance);
        const float4 out = make_float4(v[r][0] * inv_std * g.x + h.x, v[r][1] * inv_std * g.y + h.y,
                                       v[r][2] * inv_std * g.z + h.z, v[r][3] * inv_std * g.w + h.w);
        if (active && (kExact || first + r < rows)) y[size_t(first + r) * kVecsPerRow + t] = out;
    }
}

template <int W, int R, bool kSkip, int kVariant, bool kExact>
int launch_port_instance(const void* x, const void* skip, const void* bias, const void* gamma, const void* beta,
                         void* y, int rows, float inv_n, float eps, void* stream)
{
    const LaunchSetup& setup = setup_once<layernorm_triton_port<W, R, kSkip, kVariant, kExact>, kVariant, W * 32>();
    if (setup.error != cudaSuccess) return int(setup.error);
    layernorm_triton_port<W, R, kSkip, kVariant, kExact><<<(rows + R - 1) / R, W * 32, setup.padding,
                                                           static_cast<cudaStream_t>(stream)>>>(
        static_cast<const float4*>(x), static_cast<const float4*>(skip), static_cast<const float4*>(bias),
        static_cast<const float4*>(gamma), static_cast<const float4*>(beta), static_cast<float4*>(y), rows, inv_n,
        eps);
    return int(cudaGetLastError());
}

template <int W, int R, bool kSkip, int kVariant>
int launch_port(const void* x, const void* skip, const void* bias, const void* gamma, const void* beta, void* y,
                int rows, float inv_n, float eps, void* stream)
{
    if (std::lround(1.0 / inv_n) != 768) return int(cudaErrorInvalidValue);  // written for rows of 768
    if constexpr ((kVariant & kExactRows) != 0) {
        if (rows % R == 0)
            return launch_port_instance<W, R, kSkip, kVariant, true>(x, skip, bias, gamma, beta, y, rows, inv_n, eps,
                                                                     stream);
    }
    return launch_port_instance<W, R, kSkip, kVariant, false>(x, skip, bias, gamma, beta, y, rows, inv_n, eps, stream);
}

// "+pipe": one group of W warps a block, R rows at a time, on a grid of at most as many blocks as
// fit on the GPU at once; each block takes row groups blockIdx.x, + gridDim.x, ... The loads of a
// block's next group are issued as soon as this group's values are unpacked, so they are in flight
// through its reductions and stores. Shapes that cover the row exactly only.
template <typename T, int W, int R, int K, int B, bool kSkip>
__global__ void __launch_bounds__(W * 32)
layernorm_pipelined(const typename Bits<B>::type* __restrict__ x, const typename Bits<B>::type* __restrict__ skip,
                    const typename Bits<B>::type* __restrict__ bias, const typename Bits<B>::type* __restrict__ gamma,
                    const typename Bits<B>::type* __restrict__ beta, typename Bits<B>::type* __restrict__ y,
                    int rows, float inv_n, float eps)
{
    using V = typename Bits<B>::type;
    constexpr int kN = kElems<T, B>;
    constexpr int kThreads = W * 32;
    constexpr int kVecsPerRow = 768 / kN;
    static_assert(kThreads * K == kVecsPerRow, "+pipe is written for shapes that cover the row exactly");
    const int lane = int(threadIdx.x);
    const int groups = (rows + R - 1) / R;

    // The parameters, once a block: every group of the block uses them.
    float g[K][kN], b[K][kN];
    V raw_bias[K];
#pragma unroll
    for (int k = 0; k < K; ++k) {
        unpack<T, B>(__ldg(gamma + lane + k * kThreads), g[k]);
        unpack<T, B>(__ldg(beta + lane + k * kThreads), b[k]);
        raw_bias[k] = V{};
        if constexpr (kSkip) raw_bias[k] = __ldg(bias + lane + k * kThreads);
    }
    V raw[R][K], raw_skip[R][K];
    auto fetch = [&](int group) {
#pragma unroll
        for (int r = 0; r < R; ++r) {
            const int row = min(group * R + r, rows - 1);
#pragma unroll
            for (int k = 0; k < K; ++k) {
                const size_t at = size_t(row) * kVecsPerRow + lane + k * kThreads;
                raw[r][k] = __ldg(x + at);
                if constexpr (kSkip) raw_skip[r][k] = __ldg(skip + at);
            }
        }
    };
    fetch(blockIdx.x);  // the launcher's grid has at most `groups` blocks
    // One buffer a reduction, each rewritten only after the other's barrier: a warp writes the next
    // group's mean_partials after this group's second barrier, which every warp reaches after reading
    // this group's mean_partials; it writes square_partials after the next group's first barrier,
    // which every warp reaches after reading this group's square_partials.
    __shared__ float mean_partials[R][W], square_partials[R][W];
    for (int group = blockIdx.x; group < groups; group += gridDim.x) {
        float v[R][K][kN], sum[R];
#pragma unroll
        for (int r = 0; r < R; ++r) sum[r] = row_values<T, B, K, kSkip, false>(raw[r], raw_skip[r], raw_bias, v[r]);
        if (group + int(gridDim.x) < groups) fetch(group + int(gridDim.x));  // raw is free again
        group_sums<W, R>(sum, mean_partials, lane / 32, lane);
        float mean[R], squares[R];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            mean[r] = sum[r] * inv_n;
            squares[r] = 0.0f;
#pragma unroll
            for (int k = 0; k < K; ++k)
#pragma unroll
                for (int i = 0; i < kN; ++i) squares[r] += (v[r][k][i] - mean[r]) * (v[r][k][i] - mean[r]);
        }
        group_sums<W, R>(squares, square_partials, lane / 32, lane);
#pragma unroll
        for (int r = 0; r < R; ++r) {
            const float inv_std = rsqrtf(squares[r] * inv_n + eps);
            if (group * R + r >= rows) continue;
#pragma unroll
            for (int k = 0; k < K; ++k) {
                float out[kN];
#pragma unroll
                for (int i = 0; i < kN; ++i) out[i] = (v[r][k][i] - mean[r]) * inv_std * g[k][i] + b[k][i];
                y[size_t(group * R + r) * kVecsPerRow + lane + k * kThreads] = pack<T, B>(out);
            }
        }
    }
}

template <typename T, int W, int R, int K, int B, bool kSkip>
int launch_pipelined(const void* x, const void* skip, const void* bias, const void* gamma, const void* beta,
                     void* y, int rows, float inv_n, float eps, void* stream)
{
    using V = typename Bits<B>::type;
    const auto kernel = layernorm_pipelined<T, W, R, K, B, kSkip>;
    // The blocks that fit on the GPU at once (host queries, allowed while a CUDA graph is captured).
    int device = 0, sms = 0, per_sm = 0;
    cudaError_t error = cudaGetDevice(&device);
    if (error == cudaSuccess) error = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    if (error == cudaSuccess) error = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, W * 32, 0);
    if (error != cudaSuccess) return int(error);
    const int groups = (rows + R - 1) / R;
    const int blocks = groups < sms * per_sm ? groups : sms * per_sm;
    kernel<<<blocks, W * 32, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const V*>(x), static_cast<const V*>(skip), static_cast<const V*>(bias),
        static_cast<const V*>(gamma), static_cast<const V*>(beta), static_cast<V*>(y), rows, inv_n, eps);
    return int(cudaGetLastError());
}

template <typename T, int G, int W, int R, int K, int B, bool kSkip, int kVariant>
int launch(const void* x, const void* skip, const void* bias, const void* gamma, const void* beta, void* y,
           int rows, float inv_n, float eps, void* stream)
{
    using V = typename Bits<B>::type;
    constexpr int kRowsPerBlock = G * R;
    auto kernel = layernorm_shape<T, G, W, R, K, B, kSkip, kVariant>;
    const LaunchSetup& setup = setup_once<layernorm_shape<T, G, W, R, K, B, kSkip, kVariant>, kVariant, G * W * 32>();
    if (setup.error != cudaSuccess) return int(setup.error);
    kernel<<<(rows + kRowsPerBlock - 1) / kRowsPerBlock, G * W * 32, setup.padding,
             static_cast<cudaStream_t>(stream)>>>(
        static_cast<const V*>(x), static_cast<const V*>(skip), static_cast<const V*>(bias),
        static_cast<const V*>(gamma), static_cast<const V*>(beta), static_cast<V*>(y), rows,
        int(std::lround(1.0 / inv_n)), inv_n, eps);
    return int(cudaGetLastError());
}

using Launch = int (*)(const void*, const void*, const void*, const void*, const void*, void*, int, float, float,
                       void*);
using Query = int (*)(int*);  // describe() of the shape's LayerNorm instance (the port's clamped one)
template <typename T, int G, int W, int R, int K, int B, int kVariant>
int query_shape(int* out)
{
    constexpr auto kernel = layernorm_shape<T, G, W, R, K, B, false, kVariant>;
    return describe(kernel, setup_once<kernel, kVariant, G * W * 32>(), G * W * 32, out);
}
template <int W, int R, int kVariant>
int query_port(int* out)
{
    constexpr auto kernel = layernorm_triton_port<W, R, false, kVariant, false>;
    return describe(kernel, setup_once<kernel, kVariant, W * 32>(), W * 32, out);
}
template <typename T, int W, int R, int K, int B>
int query_pipelined(int* out)
{
    return describe(layernorm_pipelined<T, W, R, K, B, false>, LaunchSetup{cudaSuccess, 0}, W * 32, out);
}
struct Shape {
    int fp16, groups, warps, rows, vecs, bytes, variant;
    Launch layernorm, skip;
    Query query;
};
#define SHAPE(T, FP16, G, W, R, K, B, V) \
    {FP16, G, W, R, K, B, V, launch<T, G, W, R, K, B, false, V>, launch<T, G, W, R, K, B, true, V>, \
     query_shape<T, G, W, R, K, B, V>}
#define FP32(G, W, R, K, B) SHAPE(float, 0, G, W, R, K, B, 0)
#define FP16(G, W, R, K, B) SHAPE(__half, 1, G, W, R, K, B, 0)
#define FP32_VARIANT(G, W, R, K, B, V) SHAPE(float, 0, G, W, R, K, B, V)
#define PIPELINED(T, FP16, W, R, K, B) \
    {FP16, 1, W, R, K, B, kPipelined, launch_pipelined<T, W, R, K, B, false>, launch_pipelined<T, W, R, K, B, true>, \
     query_pipelined<T, W, R, K, B>}
#define FP32_PIPELINED(W, R, K) PIPELINED(float, 0, W, R, K, 16)
#define FP32_TRITON_PORT(W, R, V) \
    {0, 1, W, R, 1, 16, kTritonPort | (V), launch_port<W, R, false, V>, launch_port<W, R, true, V>, query_port<W, R, V>}
static const Shape kShapes[] = {
    // fp32 h768: 192 16-byte vectors a row, 384 of 8 bytes
    FP32(1, 6, 1, 1, 16), FP32(1, 6, 2, 1, 16), FP32(1, 6, 4, 1, 16), FP32(1, 3, 1, 2, 16), FP32(1, 3, 2, 2, 16),
    FP32(2, 3, 1, 2, 16), FP32(4, 3, 1, 2, 16), FP32(1, 2, 1, 3, 16), FP32(2, 2, 1, 3, 16), FP32(4, 2, 1, 3, 16),
    FP32(1, 1, 1, 6, 16), FP32(4, 1, 1, 6, 16), FP32(8, 1, 1, 6, 16),
    FP32(1, 12, 1, 1, 8), FP32(1, 12, 2, 1, 8),
    // partial (Triton's layouts, above): a row's 192 vectors over 256 threads, or 128 of two vectors
    FP32(1, 8, 2, 1, 16), FP32(1, 8, 1, 1, 16), FP32(1, 4, 1, 2, 16), FP32(1, 4, 2, 2, 16),
    FP32(2, 4, 1, 2, 16),
    // v14's shape with our kernel's code choices, one at a time and all four
    FP32_VARIANT(1, 3, 2, 2, 16, kTreeSums), FP32_VARIANT(1, 3, 2, 2, 16, kRuntimeRow),
    FP32_VARIANT(1, 3, 2, 2, 16, kLateParams), FP32_VARIANT(1, 3, 2, 2, 16, kPlainLoads),
    FP32_VARIANT(1, 3, 2, 2, 16, kTreeSums | kRuntimeRow | kLateParams | kPlainLoads),
    // fewer resident blocks an SM (run 23): v14's shape at 8 and 12 and the carveout alone, G1 W6 R2 K1 at 8
    // (it fits 10 of 192 threads)
    FP32_VARIANT(1, 3, 2, 2, 16, kEightBlocks), FP32_VARIANT(1, 3, 2, 2, 16, kTwelveBlocks),
    FP32_VARIANT(1, 3, 2, 2, 16, kMostShared), FP32_VARIANT(1, 6, 2, 1, 16, kEightBlocks),
    // the most L1 (v14's shape, Triton's G1 W8 R2 K1, the sweep's best G1 W6 R2 K1), and Triton's shape with
    // its plain loads (its SASS: LDG.E.128, where this kernel's __ldg gives LDG.E.128.CONSTANT), and v14's
    FP32_VARIANT(1, 3, 2, 2, 16, kMostL1), FP32_VARIANT(1, 8, 2, 1, 16, kMostL1), FP32_VARIANT(1, 6, 2, 1, 16, kMostL1),
    FP32_VARIANT(1, 8, 2, 1, 16, kCachedLoads), FP32_VARIANT(1, 3, 2, 2, 16, kCachedLoads),
    // torch.compile's XBLOCK 2 / 8 warps written out in CUDA, and its XBLOCK 1 / 8 warps and 4 / 8 (run 23)
    // (and XBLOCK 2 with its gamma/beta loaded evict-last, as Triton loads them)
    FP32_TRITON_PORT(8, 2, 0), FP32_TRITON_PORT(8, 1, 0), FP32_TRITON_PORT(8, 4, 0), FP32_TRITON_PORT(8, 2, kKeepParams),
    // run 24: the port without a row clamp where the rows allow, with Triton's rsqrt, both; and the carveout
    // between the two ends for v14's shape, the sweep's G1 W6 R2 K1, v14's code in blocks of 6 warps (8 an SM,
    // as Triton's) and the port
    FP32_TRITON_PORT(8, 2, kExactRows), FP32_TRITON_PORT(8, 2, kFtzRsqrt), FP32_TRITON_PORT(8, 2, kExactRows | kFtzRsqrt),
    FP32_VARIANT(1, 3, 2, 2, 16, carveout(3)), FP32_VARIANT(1, 3, 2, 2, 16, carveout(7)),
    FP32_VARIANT(1, 3, 2, 2, 16, carveout(14)), FP32_VARIANT(1, 3, 2, 2, 16, carveout(28)),
    FP32_VARIANT(1, 6, 2, 1, 16, carveout(7)), FP32_VARIANT(1, 6, 2, 1, 16, carveout(14)),
    FP32(2, 3, 2, 2, 16), FP32_VARIANT(2, 3, 2, 2, 16, carveout(7)),
    FP32_TRITON_PORT(8, 2, carveout(7)), FP32_TRITON_PORT(8, 2, carveout(14)),
    // a persistent, pipelined grid in v14's shape, v14's with one row at a time, v12's and v15's
    FP32_PIPELINED(3, 2, 2), FP32_PIPELINED(3, 1, 2), FP32_PIPELINED(6, 1, 1), FP32_PIPELINED(2, 1, 3),
    // fp16 h768: 96 16-byte vectors a row, 192 of 8 bytes, 384 of 4
    FP16(1, 3, 1, 1, 16), FP16(1, 3, 2, 1, 16), FP16(1, 3, 4, 1, 16), FP16(2, 3, 1, 1, 16), FP16(1, 1, 1, 3, 16),
    FP16(4, 1, 1, 3, 16), FP16(8, 1, 1, 3, 16), FP16(4, 1, 2, 3, 16),
    FP16(1, 6, 1, 1, 8), FP16(1, 6, 2, 1, 8), FP16(1, 3, 1, 2, 8), FP16(2, 6, 1, 1, 8),
    FP16(1, 12, 1, 1, 4), FP16(1, 12, 2, 1, 4),
};

extern "C" int shape_count() { return int(sizeof(kShapes) / sizeof(kShapes[0])); }

// out: fp16 (0 or 1), groups, warps, rows, vectors, bytes a vector, code variant (the flags above), carveout
// preference in percent (-1: none).
extern "C" void shape_info(int index, int* out)
{
    const Shape& s = kShapes[index];
    out[0] = s.fp16, out[1] = s.groups, out[2] = s.warps, out[3] = s.rows, out[4] = s.vecs, out[5] = s.bytes;
    out[6] = s.variant & ((1 << kCarveoutShift) - 1), out[7] = carveout_of(s.variant);
}

// x, y: [rows, 768] of the shape's dtype, gamma/beta [768] of the same; returns a cudaError_t.
extern "C" int shape_launch(int index, const void* x, const void* gamma, const void* beta, void* y, int rows,
                            float inv_n, float eps, void* stream)
{
    if (index < 0 || index >= shape_count() || rows < 1) return 1;  // cudaErrorInvalidValue
    return kShapes[index].layernorm(x, nullptr, nullptr, gamma, beta, y, rows, inv_n, eps, stream);
}

// As shape_launch, of x + skip + bias (skip [rows, 768], bias [768], the shape's dtype).
extern "C" int skip_launch(int index, const void* x, const void* skip, const void* bias, const void* gamma,
                           const void* beta, void* y, int rows, float inv_n, float eps, void* stream)
{
    if (index < 0 || index >= shape_count() || rows < 1) return 1;
    return kShapes[index].skip(x, skip, bias, gamma, beta, y, rows, inv_n, eps, stream);
}

// out: registers a thread, static and dynamic shared memory bytes a block, resident blocks an SM as the occupancy
// API counts them, of the shape's LayerNorm instance with its launch setup applied; returns a cudaError_t.
extern "C" int shape_query(int index, int* out)
{
    if (index < 0 || index >= shape_count()) return 1;  // cudaErrorInvalidValue
    return kShapes[index].query(out);
}
