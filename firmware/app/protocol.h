/* Wire protocol codes shared by the link layer and the command handlers. The one spec is
 * docs/protocol.md; tools/mcutrain/device/protocol.py mirrors every #define below and
 * tests/protocol/test_codes.py parses this file to check that both agree. Keep one
 * "#define NAME value" per line so that the test can read it. */
#ifndef MCUTRAIN_PROTOCOL_H
#define MCUTRAIN_PROTOCOL_H

#include <stdint.h>
#include <string.h>

#define PROTO_VERSION 1u

/* Frame layout: header, payload, CRC-32 of header+payload, all little-endian, then COBS. */
#define PROTO_HEADER_SIZE 5u
#define PROTO_CRC_SIZE 4u

/* cmd byte ranges: requests 0x01..0x7D, replies = request | 0x80, then NAK and EVENT. */
#define PROTO_REPLY_BIT 0x80u
#define PROTO_CMD_MAX 0x7Du
#define FRAME_NAK 0xFEu
#define FRAME_EVENT 0xFFu

/* Commands (host -> device). */
#define CMD_HELLO 0x01u
#define CMD_PING 0x02u
#define CMD_INFO 0x03u
#define CMD_STATS 0x04u
#define CMD_LOAD 0x10u
#define CMD_SAMPLE 0x11u
#define CMD_TRAIN 0x12u
#define CMD_INFER 0x13u
#define CMD_CHECKPOINT_SAVE 0x14u
#define CMD_CHECKPOINT_RESTORE 0x15u
#define CMD_RESET 0x16u
#define CMD_DEBUG 0x70u

/* Reply status (the header's arg byte in replies; the reason in NAKs). */
#define STATUS_OK 0x00u
#define STATUS_BAD_CRC 0x01u
#define STATUS_BAD_FRAME 0x02u
#define STATUS_TOO_LONG 0x03u
#define STATUS_UNKNOWN_CMD 0x04u
#define STATUS_BAD_ARG 0x05u
#define STATUS_BUSY 0x06u
#define STATUS_NO_MODEL 0x07u
#define STATUS_BAD_STATE 0x08u
#define STATUS_NO_SPACE 0x09u
#define STATUS_FLASH_ERROR 0x0Au
#define STATUS_NO_CHECKPOINT 0x0Bu
#define STATUS_NO_SAMPLE 0x0Cu
#define STATUS_VERSION 0x0Du
#define STATUS_INTERNAL 0x0Eu
#define STATUS_NUMERIC 0x0Fu /* TRAIN: non-finite loss/gradient, update skipped */

/* Event kinds (the header's arg byte in EVENT frames). */
#define EVENT_BOOT 0x01u
#define EVENT_LOG 0x02u
#define EVENT_FAULT 0x03u
#define EVENT_WATCHDOG 0x04u
#define EVENT_PROGRESS 0x05u

/* Reset reasons carried by EVENT_BOOT. */
#define RESET_REASON_UNKNOWN 0x00u
#define RESET_REASON_POWER 0x01u
#define RESET_REASON_PIN 0x02u
#define RESET_REASON_SOFTWARE 0x03u
#define RESET_REASON_WATCHDOG 0x04u
#define RESET_REASON_FAULT 0x05u
#define RESET_REASON_BROWNOUT 0x06u

/* Sub-operations of CMD_LOAD and CMD_SAMPLE (first payload byte). */
#define XFER_OP_BEGIN 0x00u
#define XFER_OP_CHUNK 0x01u
#define XFER_OP_COMMIT 0x02u
#define XFER_OP_ABORT 0x03u

#define LOAD_KIND_PROGRAM 0x00u

#define SAMPLE_DTYPE_INT8 0x00u
#define SAMPLE_DTYPE_UINT8 0x01u
#define SAMPLE_NO_LABEL 0xFFFFu

/* Where the bound program came from (INFO, BOOT). */
#define PROGRAM_SOURCE_NONE 0x00u
#define PROGRAM_SOURCE_UPLOADED 0x01u
#define PROGRAM_SOURCE_ROM 0x02u

/* CHECKPOINT_* request slot; INFO and BOOT report the current one (0 there = none). */
#define CHECKPOINT_SLOT_AUTO 0x00u
#define CHECKPOINT_SLOT_A 0x01u
#define CHECKPOINT_SLOT_B 0x02u

#define RESET_MODE_TRAINING 0x00u
#define RESET_MODE_SYSTEM 0x01u

/* Fixed payload sizes in bytes (docs/protocol.md has the field tables). */
#define HELLO_REQ_SIZE 4u
#define HELLO_REPLY_SIZE 12u
#define INFO_REPLY_SIZE 48u
#define INFO_BOARD_LEN 16u
#define STATS_REPLY_SIZE 40u
#define XFER_CHUNK_HEADER_SIZE 8u
#define XFER_CHUNK_MAX_DATA 1016u
#define LOAD_BEGIN_SIZE 12u
#define LOAD_BEGIN_REPLY_SIZE 8u
#define LOAD_COMMIT_REPLY_SIZE 12u
#define SAMPLE_BEGIN_SIZE 20u
#define SAMPLE_BEGIN_REPLY_SIZE 4u
#define SAMPLE_COMMIT_REPLY_SIZE 8u
#define XFER_CHUNK_REPLY_SIZE 4u
#define TRAIN_REQ_SIZE 4u
#define TRAIN_REPLY_SIZE 16u
#define INFER_REPLY_HEADER_SIZE 8u
#define CHECKPOINT_REQ_SIZE 4u
#define CHECKPOINT_REPLY_SIZE 12u
#define RESET_REQ_SIZE 4u
#define BOOT_EVENT_SIZE 8u
#define FAULT_EVENT_SIZE 32u
#define WATCHDOG_EVENT_SIZE 8u
#define PROGRESS_EVENT_SIZE 12u

/* Little-endian field access for handlers: byte-wise, so unaligned and endian-independent. */
static inline uint16_t proto_get_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | ((uint16_t)p[1] << 8));
}

static inline uint32_t proto_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void proto_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static inline void proto_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}

/* IEEE-754 binary32, as the Cortex-M4F stores it; memcpy is the defined way to reinterpret bits. */
static inline void proto_put_f32(uint8_t *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    proto_put_u32(p, u);
}

static inline float proto_get_f32(const uint8_t *p)
{
    uint32_t u = proto_get_u32(p);
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

#endif /* MCUTRAIN_PROTOCOL_H */
