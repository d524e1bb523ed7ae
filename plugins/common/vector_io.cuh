// Loading and storing activations as fp32 registers, 16 bytes at a time.
//
// Memory-bound kernels live or die by how many bytes each load instruction moves. A GPU serves a
// warp's global load in 32-byte sectors; a warp whose 32 lanes each load 16 contiguous bytes
// asks for 512 contiguous bytes with ONE instruction (LDG.128), which keeps the fewest
// instructions in flight for the most bytes. So the kernels move data as `Pack16<T>`: 4 floats or
// 8 halves (two exceptions move 8 bytes a thread: BiasGelu v8 through load_bits, and the LayerNorm family's
// v20 in fp16, whose vector is four values: Pack8 below). Arithmetic
// always happens in fp32, whatever the storage type.
#pragma once

#include <cuda_fp16.h>
#include <stdint.h>

namespace bert {

// Storage type <-> fp32. fp16 rounds to nearest even, like every framework does.
__device__ __forceinline__ float to_float(float value) { return value; }
__device__ __forceinline__ float to_float(__half value) { return __half2float(value); }

template <typename T>
__device__ __forceinline__ T from_float(float value);
template <>
__device__ __forceinline__ float from_float<float>(float value) { return value; }
template <>
__device__ __forceinline__ __half from_float<__half>(float value) { return __float2half_rn(value); }

// How many T fit in one 16-byte access: 4 floats, 8 halves.
template <typename T>
constexpr int kElemsPer16Bytes = 16 / static_cast<int>(sizeof(T));

// 16 bytes of T. alignas(16) is what lets the compiler emit one 128-bit load/store for it.
template <typename T>
struct alignas(16) Pack16 {
    T elems[kElemsPer16Bytes<T>];
};

// 8 bytes of halves: a vector of four values for fp16 (LayerNorm v20, whose vector is four values of any type).
template <typename T>
struct alignas(8) Pack8 {
    static_assert(sizeof(T) == 2, "four halves");
    T elems[4];
};
// Whether N values of T are whole 8-byte packs of halves and not whole 16-byte ones: where load_raw and
// store_from_float use 64-bit accesses (only v20's fp16 rows of four values a vector ask for them).
template <typename T, int N>
constexpr bool kHalfPacks8 = sizeof(T) == 2 && N % kElemsPer16Bytes<T> != 0 && N % 4 == 0;

// Cache policy of an access.
//   kStream: ld.global.cs / st.global.cs, "evict first" in L1 and L2, for the activations the
//     memory-bound kernels read and write once (a LayerNorm's rows, BiasGelu's x and y). Measured on
//     an H100 (run 17, benchmarks/ablate_cache_hints.py, plugins/README.md "Cache hints"), it is
//     OFF: with inputs cold (rotating through DRAM, as in the benchmarks) 45 of 72 cells were
//     faster, up to 1.11x; with the input in L2 (what a kernel sees when the previous one has just
//     written it) 42 of 72 were slower, down to 0.70x. Build with -DBERT_STREAMING_ACTIVATIONS=1
//     (CMake: -DBERT_STREAMING_ACTIVATIONS=ON) to try it.
//   kKeep: ld.global.L1::evict_last with an L2 evict-last policy, for what the fp32/fp16 kernels'
//     rows all read again (gamma, beta, a bias, EmbLayerNorm's position and type rows, which then
//     lose their read-only .nc path; the INT8 SkipLayerNorm's loads stay plain), so that the rows do
//     not push them out of L1 between one row and the next. torch.compile's Triton kernels load
//     their weights this way (eviction_policy='evict_last'). Measured on an H100 (run 18, the same
//     ablation, plugins/README.md "Cache hints"), it is OFF: LayerNorm gained up to 1.05x at most
//     cells but lost up to 4% at fp16 12,288 rows; the other kernels moved within +-3%, as often
//     slower as faster with the input in L2. Build with -DBERT_KEEP_PARAMETERS=1 (CMake:
//     -DBERT_KEEP_PARAMETERS=ON) to try it.
//   kPrefetch: ld.global.L2::<N>B (N = BERT_L2_PREFETCH_BYTES, 64, 128 or 256), for activation
//     rows: a load that misses L2 has it fetch the whole aligned N bytes around the address from
//     DRAM, not only the 32-byte sectors asked for (CUTLASS's loads do, at 128, with
//     CUTLASS_ENABLE_L2_PREFETCH). A warp's 16-byte loads already ask for 512 contiguous bytes, so it
//     was expected to change only how the requests reach DRAM; its losses with the input in L2
//     (below) say the build changes more than that (LayerNorm's sm_90 SASS has 112 more
//     instructions with it). Measured on an H100 (run 19, the same ablation, plugins/README.md
//     "Cache hints"), it is OFF: at 256 bytes, with inputs cold, no cell of 72 was faster and 43
//     were slower (down to 0.91x); in L2 16 faster, 19 slower (0.85-1.02x); at 128 bytes, cold, 4
//     faster, 6 slower, the rest level (0.92-1.01x). Build with -DBERT_L2_PREFETCH_BYTES=256 (CMake:
//     -DBERT_L2_PREFETCH_BYTES=256) to try it (ablate_cache_hints.py --switch l2-prefetch-256).
//   kReadOnly: ld.global.nc (__ldg, the read-only path through the texture/L1 unit) for the rows of
//     kernels that never write what they read: LayerNorm's and SkipLayerNorm's (EmbLayerNorm's word
//     rows take it always). BiasGelu may run in place, where the path's promise (nothing the launch
//     writes) does not hold, so it keeps plain loads (kInPlaceActivations). Why it was tried: in the
//     shape sweep (benchmarks/ablation/layernorm_shapes.cu, run 22, H200) v14's shape with plain
//     loads was 0.56% slower than with ld.global.nc at 12,288 fp32 rows, the one scorecard cell still
//     behind (that variant also took 48 registers instead of 40). Measured on an H200 (run 22,
//     ablate_cache_hints.py --switch read-only, plugins/README.md "Cache hints"), it is OFF: 4 / 26 / 6 of 36 cells faster / level / slower with cold inputs, 14
//     / 12 / 10 in L2, and that very cell 0.980x, LayerNorm fp32 32 x 128 0.885x: v14 fp32 h768 takes
//     44 registers with it instead of 40, 14 of its blocks an SM instead of 17. Held to 40 registers
//     (run 23, --switch read-only-40 with layernorm_rows.cuh's BERT_SHAPED_MAX_REGISTERS) it is level
//     with the default build where v14 runs (32 x 384 1.001x), 0.5% slower at 8 x 384: no gain at equal
//     occupancy (the capped kernel's schedule differs too; --switch read-only-at-40 would part them).
//     Build with -DBERT_READONLY_ACTIVATIONS=1 (CMake: -DBERT_READONLY_ACTIVATIONS=ON) to try it.
// The scalar (unaligned) paths' element loads ignore the policy.
enum class Cache { kNormal, kStream, kKeep, kPrefetch, kReadOnly };

#ifndef BERT_STREAMING_ACTIVATIONS
#define BERT_STREAMING_ACTIVATIONS 0
#endif
#ifndef BERT_KEEP_PARAMETERS
#define BERT_KEEP_PARAMETERS 0
#endif
#ifndef BERT_L2_PREFETCH_BYTES
#define BERT_L2_PREFETCH_BYTES 0
#endif
#ifndef BERT_READONLY_ACTIVATIONS
#define BERT_READONLY_ACTIVATIONS 0
#endif
static_assert(BERT_L2_PREFETCH_BYTES == 0 || BERT_L2_PREFETCH_BYTES == 64 || BERT_L2_PREFETCH_BYTES == 128 ||
                  BERT_L2_PREFETCH_BYTES == 256,
              "BERT_L2_PREFETCH_BYTES: 0 (off), 64, 128 or 256");
static_assert((BERT_STREAMING_ACTIVATIONS != 0) + (BERT_L2_PREFETCH_BYTES != 0) + (BERT_READONLY_ACTIVATIONS != 0) <= 1,
              "activation rows get one policy");
// What the kernels use for activation rows and for parameters (one place for each choice above).
inline constexpr Cache kActivations = BERT_STREAMING_ACTIVATIONS  ? Cache::kStream
                                      : BERT_L2_PREFETCH_BYTES    ? Cache::kPrefetch
                                      : BERT_READONLY_ACTIVATIONS ? Cache::kReadOnly
                                                                  : Cache::kNormal;
// Activation rows of a kernel whose output may be its input (BiasGelu): every policy but the
// read-only path, which promises that nothing the launch writes is read through it.
inline constexpr Cache kInPlaceActivations = kActivations == Cache::kReadOnly ? Cache::kNormal : kActivations;
inline constexpr Cache kParameters = BERT_KEEP_PARAMETERS ? Cache::kKeep : Cache::kNormal;

// The L2 policy operand of kKeep's loads: every line they touch evict-last. Not volatile, so the
// compiler may compute it once per kernel.
__device__ __forceinline__ uint64_t evict_last_policy()
{
    uint64_t policy;
    asm("createpolicy.fractional.L2::evict_last.b64 %0, 1.0;" : "=l"(policy));
    return policy;
}

// kKeep's loads: L1 evict-last, and from sm_80 on (the cache_hint operand) L2 evict-last too. The
// global space is named, so a pointer whose space the compiler cannot see (EmbLayerNorm's table
// rows) still gets a global load, not a generic one. Not volatile and without a memory clobber:
// they read what no thread writes while a kernel runs (parameters), so the compiler may move or
// merge them like any load of constant data, across barriers too. That would be wrong in a kernel
// that waits for the grid that writes them (programmatic dependent launch); none here does.
__device__ __forceinline__ uint4 load_keep(const uint4* source)
{
    uint4 bits;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm("ld.global.L1::evict_last.L2::cache_hint.v4.u32 {%0, %1, %2, %3}, [%4], %5;"
        : "=r"(bits.x), "=r"(bits.y), "=r"(bits.z), "=r"(bits.w)
        : "l"(__cvta_generic_to_global(source)), "l"(evict_last_policy()));
#elif defined(__CUDA_ARCH__)
    asm("ld.global.L1::evict_last.v4.u32 {%0, %1, %2, %3}, [%4];"
        : "=r"(bits.x), "=r"(bits.y), "=r"(bits.z), "=r"(bits.w)
        : "l"(__cvta_generic_to_global(source)));
#else
    bits = *source;  // the host pass: never runs
#endif
    return bits;
}

__device__ __forceinline__ uint2 load_keep(const uint2* source)
{
    uint2 bits;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
    asm("ld.global.L1::evict_last.L2::cache_hint.v2.u32 {%0, %1}, [%2], %3;"
        : "=r"(bits.x), "=r"(bits.y)
        : "l"(__cvta_generic_to_global(source)), "l"(evict_last_policy()));
#elif defined(__CUDA_ARCH__)
    asm("ld.global.L1::evict_last.v2.u32 {%0, %1}, [%2];"
        : "=r"(bits.x), "=r"(bits.y)
        : "l"(__cvta_generic_to_global(source)));
#else
    bits = *source;  // the host pass: never runs
#endif
    return bits;
}

// kPrefetch's loads (sm_80 on, which .L2::256B needs; 64 and 128 bytes would do from sm_75, not
// worth a second rule; plain loads before). kNonCoherent: through the read-only path too (ld.global.nc,
// EmbLayerNorm's table rows). As load_keep, not volatile and without a memory clobber, so the
// compiler may treat one as a pure function of its address: merge it with another load of that
// address, or move it above a store or a barrier. Activations can be written in the same launch
// (BiasGelu runs in place), so this rests on a rule every kernel here keeps: no value that is
// stored comes from a load of an address that any thread stored to earlier in the launch. Each
// element is loaded, then written by the thread group that loaded it, its value depending on the
// load; a grid's last block of v12-v19 may load the last row a second time, and v20's last look ahead its own row's ids, but neither stores anything of it.
#define BERT_PREFETCH_STRING_(bytes) #bytes
#define BERT_PREFETCH_STRING(bytes) BERT_PREFETCH_STRING_(bytes)
#define BERT_PREFETCH_HINT ".L2::" BERT_PREFETCH_STRING(BERT_L2_PREFETCH_BYTES) "B"
template <bool kNonCoherent = false>
__device__ __forceinline__ uint4 load_prefetch(const uint4* source)
{
    uint4 bits;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800 && BERT_L2_PREFETCH_BYTES
    if constexpr (kNonCoherent)
        asm("ld.global.nc" BERT_PREFETCH_HINT ".v4.u32 {%0, %1, %2, %3}, [%4];"
            : "=r"(bits.x), "=r"(bits.y), "=r"(bits.z), "=r"(bits.w)
            : "l"(__cvta_generic_to_global(source)));
    else
        asm("ld.global" BERT_PREFETCH_HINT ".v4.u32 {%0, %1, %2, %3}, [%4];"
            : "=r"(bits.x), "=r"(bits.y), "=r"(bits.z), "=r"(bits.w)
            : "l"(__cvta_generic_to_global(source)));
#else
    bits = kNonCoherent ? __ldg(source) : *source;
#endif
    return bits;
}

__device__ __forceinline__ uint2 load_prefetch(const uint2* source)
{
    uint2 bits;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800 && BERT_L2_PREFETCH_BYTES
    asm("ld.global" BERT_PREFETCH_HINT ".v2.u32 {%0, %1}, [%2];"
        : "=r"(bits.x), "=r"(bits.y)
        : "l"(__cvta_generic_to_global(source)));
#else
    bits = *source;
#endif
    return bits;
}
#undef BERT_PREFETCH_HINT
#undef BERT_PREFETCH_STRING
#undef BERT_PREFETCH_STRING_

// One vector access as raw bits (uint4: 16 bytes, uint2: 8) with a cache policy.
template <Cache kCache, typename Bits>
__device__ __forceinline__ Bits load_bits(const Bits* source)
{
    if constexpr (kCache == Cache::kStream)
        return __ldcs(source);
    else if constexpr (kCache == Cache::kKeep)
        return load_keep(source);
    else if constexpr (kCache == Cache::kPrefetch)
        return load_prefetch(source);
    else if constexpr (kCache == Cache::kReadOnly)
        return __ldg(source);
    else
        return *source;
}

template <Cache kCache, typename Bits>
__device__ __forceinline__ void store_bits(Bits* destination, const Bits& bits)
{
    static_assert(kCache != Cache::kKeep, "kKeep is for loads of parameters");
    if constexpr (kCache == Cache::kStream)  // kReadOnly: a plain store (the path is for loads)
        __stcs(destination, bits);
    else
        *destination = bits;
}

template <Cache kCache, typename T>
__device__ __forceinline__ Pack16<T> load_pack(const Pack16<T>* source)
{
    const uint4 bits = load_bits<kCache>(reinterpret_cast<const uint4*>(source));
    return *reinterpret_cast<const Pack16<T>*>(&bits);
}

template <Cache kCache, typename T>
__device__ __forceinline__ void store_pack(Pack16<T>* destination, const Pack16<T>& pack)
{
    store_bits<kCache>(reinterpret_cast<uint4*>(destination), *reinterpret_cast<const uint4*>(&pack));
}

__host__ __device__ __forceinline__ bool is_aligned(const void* pointer, uintptr_t bytes)
{
    return reinterpret_cast<uintptr_t>(pointer) % bytes == 0;
}

__host__ __device__ __forceinline__ bool is_aligned16(const void* pointer)
{
    return is_aligned(pointer, 16);
}

// out[i] = source[i] for i < N, as stored: no conversion and no arithmetic, so nothing waits for
// the data here. When N elements are a whole number of 16-byte packs the loads are 128-bit (source
// must then be 16-byte aligned); N halves in 8-byte packs (kHalfPacks8, v20) 64-bit (source 8-byte
// aligned); otherwise (N = 1: the scalar path) they are element loads, which
// ignore kCache.
template <Cache kCache = Cache::kNormal, int N, typename T>
__device__ __forceinline__ void load_raw(const T* source, T (&out)[N])
{
    constexpr int kPerPack = kElemsPer16Bytes<T>;
    if constexpr (N % kPerPack == 0) {
#pragma unroll
        for (int p = 0; p < N / kPerPack; ++p) {
            const Pack16<T> pack = load_pack<kCache>(reinterpret_cast<const Pack16<T>*>(source) + p);
#pragma unroll
            for (int i = 0; i < kPerPack; ++i) out[p * kPerPack + i] = pack.elems[i];
        }
    } else if constexpr (kHalfPacks8<T, N>) {  // source 8-byte aligned
#pragma unroll
        for (int p = 0; p < N / 4; ++p) {
            const uint2 bits = load_bits<kCache>(reinterpret_cast<const uint2*>(source) + p);
            const Pack8<T> pack = *reinterpret_cast<const Pack8<T>*>(&bits);
#pragma unroll
            for (int i = 0; i < 4; ++i) out[p * 4 + i] = pack.elems[i];
        }
    } else {
#pragma unroll
        for (int i = 0; i < N; ++i) out[i] = source[i];
    }
}

// out[i] = float(in[i]): the first instruction that waits for loaded data.
template <int N, typename T>
__device__ __forceinline__ void convert_to_float(const T (&in)[N], float (&out)[N])
{
#pragma unroll
    for (int i = 0; i < N; ++i) out[i] = to_float(in[i]);
}

// out[i] = float(source[i]) for i < N: load_raw then convert_to_float.
template <Cache kCache = Cache::kNormal, int N, typename T>
__device__ __forceinline__ void load_as_float(const T* source, float (&out)[N])
{
    T raw[N];
    load_raw<kCache>(source, raw);
    convert_to_float(raw, out);
}

// destination[i] = T(values[i]) for i < N, with the same 16-byte and 8-byte rules as load_raw.
template <Cache kCache = Cache::kNormal, int N, typename T>
__device__ __forceinline__ void store_from_float(T* destination, const float (&values)[N])
{
    constexpr int kPerPack = kElemsPer16Bytes<T>;
    if constexpr (N % kPerPack == 0) {
#pragma unroll
        for (int p = 0; p < N / kPerPack; ++p) {
            Pack16<T> pack;
#pragma unroll
            for (int i = 0; i < kPerPack; ++i) pack.elems[i] = from_float<T>(values[p * kPerPack + i]);
            store_pack<kCache>(reinterpret_cast<Pack16<T>*>(destination) + p, pack);
        }
    } else if constexpr (kHalfPacks8<T, N>) {  // destination 8-byte aligned
#pragma unroll
        for (int p = 0; p < N / 4; ++p) {
            Pack8<T> pack;
#pragma unroll
            for (int i = 0; i < 4; ++i) pack.elems[i] = from_float<T>(values[p * 4 + i]);
            store_bits<kCache>(reinterpret_cast<uint2*>(destination) + p, *reinterpret_cast<const uint2*>(&pack));
        }
    } else {
#pragma unroll
        for (int i = 0; i < N; ++i) destination[i] = from_float<T>(values[i]);
    }
}

}  // namespace bert
