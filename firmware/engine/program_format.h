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
#define MCT_H_RESERVED 52u    /* u32, 0 */
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
