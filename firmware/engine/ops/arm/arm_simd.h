/* arm_simd.h - the few Cortex-M DSP instructions the optimised kernels use. On a core with the DSP
   extension (Cortex-M4/M7/M33...) they are ACLE intrinsics (one instruction each); elsewhere
   (the host test build) a portable C definition with identical results, so the same kernel
   source is checked bit for bit against TFLite Micro on the host and runs fast on the board. */
#ifndef MCT_ARM_SIMD_H
#define MCT_ARM_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define mct_sxtb16(v) ((uint32_t)__sxtb16(v))
#define mct_sadd16(a, b) ((uint32_t)__sadd16((a), (b)))
#define mct_smlad(a, b, acc) __smlad((a), (b), (acc))
#else
/* two sign-extended bytes (0 and 2) as two int16 lanes */
static inline uint32_t mct_sxtb16(uint32_t v)
{
    const uint32_t lo = (uint32_t)(uint16_t)(int16_t)(int8_t)(v & 0xFFu);
    const uint32_t hi = (uint32_t)(uint16_t)(int16_t)(int8_t)((v >> 16) & 0xFFu);
    return lo | (hi << 16);
}
static inline uint32_t mct_sadd16(uint32_t a, uint32_t b)
{
    const uint32_t lo = (a + b) & 0xFFFFu;
    const uint32_t hi = ((a >> 16) + (b >> 16)) & 0xFFFFu;
    return lo | (hi << 16);
}
static inline int32_t mct_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t p0 = (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b & 0xFFFFu);
    const int32_t p1 = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)p0 + (uint32_t)p1);
}
#endif

static inline uint32_t mct_ror8(uint32_t v)
{
    return (v >> 8) | (v << 24);
}

/* unaligned 4-byte load (compiles to one LDR on Cortex-M4, which allows unaligned LDR) */
static inline uint32_t mct_load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#endif /* MCT_ARM_SIMD_H */
