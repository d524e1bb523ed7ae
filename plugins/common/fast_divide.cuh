// n / d for 0 <= n < 2^31 and a divisor d >= 1 known only at run time, as one multiply-high and a
// shift (Granlund and Montgomery, 1994). The host works out the divisor's magic number once; a
// plain division by a run-time int is ~20 dependent instructions (a reciprocal, a conversion and
// three correction steps; 64-bit: a ~70-instruction call), which an EmbLayerNorm thread paid
// before it could ask for its token's id (SASS of EmbLayerNorm v10).
#pragma once

#include <stdint.h>

namespace bert {

struct FastDivisor {
    uint32_t divisor;
    uint32_t multiplier;  // ceil(2^(31 + s) / d), s = ceil(log2 d): below 2^32 because 2^s < 2d
    uint32_t shift;       // s - 1

    static FastDivisor of(uint32_t d)
    {
        if (d <= 1) return {d, 0, 0};  // d == 1: n itself (d == 0 is the caller's error)
        uint32_t s = 0;
        while ((uint64_t(1) << s) < d) ++s;
        const uint64_t p = uint64_t(1) << (31 + s);
        return {d, uint32_t((p + d - 1) / d), s - 1};
    }

    // n * m / 2^(31 + s) rounds down to n / d exactly for every n < 2^31: m * d - 2^(31 + s) < d,
    // so the error n * (m * d - 2^(31 + s)) / (d * 2^(31 + s)) stays below 1 / d.
    __host__ __device__ __forceinline__ uint32_t quotient(uint32_t n) const
    {
        if (divisor == 1) return n;
#ifdef __CUDA_ARCH__
        const uint32_t high = __umulhi(n, multiplier);
#else
        const uint32_t high = uint32_t((uint64_t(n) * multiplier) >> 32);
#endif
        return high >> shift;
    }
};

}  // namespace bert
