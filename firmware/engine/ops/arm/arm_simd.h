/* arm_simd.h - the few Cortex-M DSP instructions the optimised kernels use. On a core with the DSP
   extension (Cortex-M4/M7/M33...) they are ACLE intrinsics (one instruction each); elsewhere
   (the host test build) a portable C definition with identical results, so the same kernel
   source is checked bit for bit against TFLite Micro on the host and runs fast on the board.

   Lane convention: mct_sxtb16(v) holds bytes 0 and 2 of v, mct_sxtb16_ror8(v) bytes 1 and 3, each
   sign-extended to an int16 lane (bottom lane = the lower byte). */
#ifndef MCT_ARM_SIMD_H
#define MCT_ARM_SIMD_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define mct_sxtb16(v) ((uint32_t)__sxtb16(v))
#define mct_sadd16(a, b) ((uint32_t)__sadd16((a), (b)))
#define mct_smlad(a, b, acc) __smlad((a), (b), (acc))
#define mct_smlabb(a, b, acc) __smlabb((int32_t)(a), (int32_t)(b), (acc))
#define mct_smlatt(a, b, acc) __smlatt((int32_t)(a), (int32_t)(b), (acc))
#define mct_smlabt(a, b, acc) __smlabt((int32_t)(a), (int32_t)(b), (acc))
#define mct_ssat8(v) __ssat((v), 8)
/* GCC 12's arm_acle.h has no __ror and does not fold a C rotate into SXTB16's ROR operand, so
   this one form is written out: it saves one instruction per loaded word in every inner loop. */
static inline uint32_t mct_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
/* acc + hi32(a * b + 2^31) (ACLE has no SMMLAR) */
static inline int32_t mct_smmlar(int32_t a, int32_t b, int32_t acc)
{
    int32_t r;
    __asm("smmlar %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#else
static inline int32_t mct_smmlar(int32_t a, int32_t b, int32_t acc)
{
    const int64_t p = (int64_t)a * b + 0x80000000LL; /* |a * b| <= 2^62: no overflow */
    return (int32_t)((uint32_t)acc + (uint32_t)(int32_t)(p >> 32));
}
static inline uint32_t mct_sxtb16(uint32_t v)
{
    const uint32_t lo = (uint32_t)(uint16_t)(int16_t)(int8_t)(v & 0xFFu);
    const uint32_t hi = (uint32_t)(uint16_t)(int16_t)(int8_t)((v >> 16) & 0xFFu);
    return lo | (hi << 16);
}
static inline uint32_t mct_sxtb16_ror8(uint32_t v)
{
    return mct_sxtb16((v >> 8) | (v << 24));
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
static inline int32_t mct_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t p = (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b & 0xFFFFu);
    return (int32_t)((uint32_t)acc + (uint32_t)p);
}
static inline int32_t mct_smlabt(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t p = (int32_t)(int16_t)(a & 0xFFFFu) * (int32_t)(int16_t)(b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)p);
}
static inline int32_t mct_ssat8(int32_t v)
{
    return (v < -128) ? -128 : ((v > 127) ? 127 : v);
}
static inline int32_t mct_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t p = (int32_t)(int16_t)(a >> 16) * (int32_t)(int16_t)(b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)p);
}
#endif

/* the int16 value v in both lanes (for SADD16 of an input offset) */
static inline uint32_t mct_dup16(int32_t v)
{
    return ((uint32_t)(uint16_t)(int16_t)v) * 0x00010001u;
}

/* unaligned 4-byte load (one LDR on Cortex-M4/M7, which allow unaligned LDR) */
static inline uint32_t mct_load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void mct_store4(int8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

#endif /* MCT_ARM_SIMD_H */
