/*
 * program_format.h - byte layout of a compiled program (normative text: docs/schedule-format.md).
 * All multi-byte fields are little-endian. Offsets of tables are from the start of the blob;
 * offsets of tensors and parameter records are from the start of the constant pool (or arena).
 */
#ifndef MCT_PROGRAM_FORMAT_H
#define MCT_PROGRAM_FORMAT_H

#define MCT_MAGIC0 'M'
#define MCT_MAGIC1 'C'
#define MCT_MAGIC2 'T'
#define MCT_MAGIC3 'P'

#define MCT_HEADER_SIZE 56u
/* header field offsets */
#define MCT_H_MAGIC 0u
#define MCT_H_VERSION 4u      /* u16 */
#define MCT_H_HEADER_SIZE 6u  /* u16 */
#define MCT_H_TOTAL_SIZE 8u   /* u32 */
#define MCT_H_CRC 12u         /* u32, CRC-32 of bytes [16, total_size) */
#define MCT_H_FLAGS 16u       /* u32, 0 */
#define MCT_H_N_TENSORS 20u   /* u16 */
#define MCT_H_N_OPS 22u       /* u16 */
#define MCT_H_TENSOR_OFF 24u  /* u32 */
#define MCT_H_OP_OFF 28u      /* u32 */
#define MCT_H_CONST_OFF 32u   /* u32 */
#define MCT_H_CONST_SIZE 36u  /* u32 */
#define MCT_H_ARENA_SIZE 40u  /* u32 */
#define MCT_H_IO_OFF 44u      /* u32 */
#define MCT_H_N_INPUTS 48u    /* u16 */
#define MCT_H_N_OUTPUTS 50u   /* u16 */
#define MCT_H_RESERVED 52u    /* u32: version 1: 0; version 2: train_off (0 = no training section) */
#define MCT_H_TRAIN_OFF 52u
#define MCT_CRC_START 16u

#define MCT_TENSOR_REC_SIZE 32u
#define MCT_OP_REC_SIZE 32u
#define MCT_OP_MAX_IDS 8u
#define MCT_NO_TENSOR 0xFFFFu

/* Opcodes. 0x01-0x3F forward int8 ops; 0x40-0x7F reserved for backward ops; 0x80-0x9F loss ops;
   0xA0-0xBF weight-update ops; 0xC0-0xFF utility ops. 0x00 is never valid. */
#define MCT_OP_CONV_2D 0x01u
#define MCT_OP_DEPTHWISE_CONV_2D 0x02u
#define MCT_OP_FULLY_CONNECTED 0x03u
#define MCT_OP_ADD 0x04u
#define MCT_OP_AVERAGE_POOL_2D 0x05u
#define MCT_OP_MAX_POOL_2D 0x06u
#define MCT_OP_MEAN 0x07u
#define MCT_OP_PAD 0x08u
#define MCT_OP_SOFTMAX 0x09u
#define MCT_OP_RESHAPE 0x0Au
#define MCT_OP_QUANTIZE 0x0Bu   /* float32 -> int8 */
#define MCT_OP_DEQUANTIZE 0x0Cu /* int8 -> float32 */
#define MCT_OP_REQUANTIZE 0x0Du /* int8 -> int8 */

/* Op record flags (version 2). */
#define MCT_OPF_SPLIT_W 0x01u /* CONV_2D/DEPTHWISE/FC: 4th input = RAM copy of the first k output channels */

/* Training ops (version 2; docs/schedule-format.md "Training ops"). */
#define MCT_OP_ACT_GRAD 0x40u        /* g *= (lo < x < hi), in place; mask from BITS or the int8 output */
#define MCT_OP_CONV_GRAD_INPUT 0x41u
#define MCT_OP_DW_GRAD_INPUT 0x42u
#define MCT_OP_FC_GRAD_INPUT 0x43u
#define MCT_OP_CONV_GRAD_WEIGHT 0x44u
#define MCT_OP_DW_GRAD_WEIGHT 0x45u
#define MCT_OP_FC_GRAD_WEIGHT 0x46u
#define MCT_OP_GRAD_BIAS 0x47u
#define MCT_OP_GRAD_COPY 0x48u       /* ADD / RESHAPE / QUANTIZE / DEQUANTIZE backward: 1 or 2 outputs */
#define MCT_OP_AVG_POOL_GRAD 0x49u
#define MCT_OP_MAX_POOL_GRAD 0x4Au
#define MCT_OP_MEAN_GRAD 0x4Bu
#define MCT_OP_PAD_GRAD 0x4Cu
#define MCT_OP_NORMALIZE 0x4Du       /* int mode: G32 accumulator -> G16 gradient (optionally summed into it) */
#define MCT_OP_SOFTMAX_XENT 0x80u
#define MCT_OP_UPDATE_WEIGHT 0xA0u
#define MCT_OP_UPDATE_BIAS 0xA1u
#define MCT_OP_MASK 0xC0u            /* int8 output -> 1-bit "inside the activation clamp" mask */

/* Training section (version 2), at train_off; every field checked at load. */
#define MCT_TS_SIZE 32u          /* fixed part; then n_state x (u32 arena offset, u32 bytes) */
#define MCT_TS_N_FWD 0u          /* u16 ops [0, n_fwd) are the forward (inference) pass */
#define MCT_TS_N_STATE 2u        /* u16 */
#define MCT_TS_LABEL 4u          /* u16 tensor id, int32[1] */
#define MCT_TS_RESULT 6u         /* u16 tensor id, float32[2]: loss, predicted class */
#define MCT_TS_LOGITS 8u         /* u16 tensor id, int8 */
#define MCT_TS_MODE 10u          /* u16 0 = fp32 gradients, 1 = int gradients (informational) */
#define MCT_TS_OPTIONS 12u       /* u32 bit 0 QAS, bits 4..7 rounding (informational) */
#define MCT_TS_LR 16u            /* u32 float32 bits (informational: baked into UPDATE records) */
#define MCT_TS_SEED 20u          /* u32 */
#define MCT_TS_RESERVED 24u      /* 2 x u32, 0 */
#define MCT_MAX_STATE 64u

/* Parameter word counts of training ops (fixed part; per-channel arrays follow). */
#define MCT_P_ACTG_WORDS 3u      /* lo, hi, source (0 = BITS mask, 1 = int8 output) */
#define MCT_P_GIN_WORDS 8u       /* stride_h, stride_w, pad_h, pad_w, depth_mult, accumulate, kshift, C; A[C], B[C] */
#define MCT_P_FCGIN_WORDS 3u     /* accumulate, kshift, U; A[U], B[U] */
#define MCT_P_GW_WORDS 9u        /* stride_h, stride_w, pad_h, pad_w, depth_mult, input_offset, shift, x_scale, k */
#define MCT_P_FCGW_WORDS 3u      /* input_offset, x_scale, k */
#define MCT_P_GB_WORDS 1u        /* channels */
#define MCT_P_COPY_WORDS 2u      /* accumulate[2] */
#define MCT_P_POOLG_WORDS 8u     /* stride_h, stride_w, pad_h, pad_w, filter_h, filter_w, r, accumulate */
#define MCT_P_MEANG_WORDS 4u     /* axis_mask, r, count, accumulate */
#define MCT_P_PADG_WORDS 5u      /* before[4], accumulate */
#define MCT_P_NORM_WORDS 1u      /* accumulate */
#define MCT_P_XENT_WORDS 5u      /* zero_point, scale (f32), softmax multiplier, left shift, diff_min */
#define MCT_P_UPW_WORDS 72u      /* rounding, axis, k, per, qas, lr, advance, acc_bits, jump[32], adv[32]; A[k], B[k] */
#define MCT_P_UPB_WORDS 3u       /* C, qas, lr; A[C], B[C] */
#define MCT_P_MASK_WORDS 2u      /* lo, hi */

/* Parameter record sizes, in int32 words (per-channel ops add 2 * channels). */
#define MCT_P_CONV_WORDS 10u
#define MCT_P_FC_WORDS 6u
#define MCT_P_ADD_WORDS 12u
#define MCT_P_POOL_WORDS 8u
#define MCT_P_MEAN_WORDS 6u
#define MCT_P_PAD_WORDS 9u
#define MCT_P_SOFTMAX_WORDS 3u
#define MCT_P_QUANT_WORDS 2u
#define MCT_P_REQUANT_WORDS 4u

#endif /* MCT_PROGRAM_FORMAT_H */
