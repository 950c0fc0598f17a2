/* bench/main.c - per-op instruction counts of a program preloaded into flash.
 *
 * The host (tools/mcutrain/bench/kernels.py) puts a bench image into the emulated board's flash
 * with QEMU's loader device before boot and runs QEMU with -icount shift=0, where SysTick ticks
 * count instructions (instructions = ticks / 0.168). The firmware loads the program, writes the
 * input, runs the ops ONE AT A TIME (mct_engine_run(e, i, i + 1)) timing each with
 * board_cycles(), CRCs each op's outputs right away (the memory planner may reuse them later),
 * prints one text line per op on the UART and exits through semihosting with 0 (or the failing
 * mct_status_t). The same source is built with the reference kernels and with ops/arm/
 * (-DMCT_USE_ARM_OPS), so the two runs differ only in the kernels.
 *
 * A training program (format version 2) is timed the same way, op by op over the whole step (forward,
 * loss, backward, updates): the label from the image goes to the label tensor first, as
 * mct_engine_train_step would write it, and a TRAIN line gives the forward/backward boundary.
 *
 * Bench image (little-endian), at BENCH_IMAGE_ADDR:
 *     "MCTB" | u32 program bytes | u32 input bytes | u32 label | program (4-aligned) | input
 * UART lines:
 *     BENCH <n_ops> <arena bytes> <kernels>       kernels: ref or arm
 *     TRAIN <forward ops>                         training programs only
 *     CAL <ticks of an empty timed interval>      subtracted on the host
 *     OP <index> <opcode> <ticks> <crc32 of the op's outputs, hex> <op flags>   flags 1: split-weight forward
 *     OUT <output 0 bytes, hex>
 *     END <status>                                then waits for one byte from the host
 */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "engine.h"

#define BENCH_IMAGE_ADDR 0x08080000u /* 512 KB into the 1 MB flash: above any firmware we build */
#define BENCH_HEADER 16u
/* person detection needs 55,296; the project model's 96K-scheme training step 97,760 */
#define BENCH_ARENA_BYTES (112u * 1024u)

#ifdef MCT_USE_ARM_OPS
#define BENCH_KERNELS "arm"
#else
#define BENCH_KERNELS "ref"
#endif

/* Op record layout of docs/schedule-format.md (the public format; no engine internals needed). */
#define OP_REC_SIZE 32u
#define OP_FLAGS_OFF 3u
#define OP_IDS_OFF 4u
#define NO_TENSOR 0xFFFFu

static void put_str(const char *s)
{
    board_uart_write((const uint8_t *)s, (uint32_t)strlen(s));
}

static void put_dec(uint32_t v)
{
    char buf[11];
    uint32_t n = 0;
    do {
        buf[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    while (n > 0u) {
        board_uart_put((uint8_t)buf[--n]);
    }
}

static void put_hex_byte(uint8_t b)
{
    static const char digits[] = "0123456789abcdef";
    board_uart_put((uint8_t)digits[b >> 4]);
    board_uart_put((uint8_t)digits[b & 15u]);
}

static void put_hex32(uint32_t v)
{
    for (int32_t s = 24; s >= 0; s -= 8) {
        put_hex_byte((uint8_t)(v >> s));
    }
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* QEMU ends the moment main returns (semihosting exit), and bytes still in its socket buffer can
   be lost with it; so the host acknowledges the END line with any byte before the board exits. */
static int32_t finish(int32_t status)
{
    put_str("END ");
    put_dec((uint32_t)status);
    put_str("\n");
    while (board_uart_get() < 0) {
    }
    return status;
}

/* CRC-32 of every output tensor of op `i`, in output order. */
static uint32_t op_outputs_crc(const mct_engine_t *e, uint32_t i)
{
    const uint8_t *rec = e->prog->op_table + i * OP_REC_SIZE;
    const uint32_t n_in = rec[1], n_out = rec[2];
    uint32_t crc = 0;
    for (uint32_t k = 0; k < n_out; ++k) {
        const uint8_t *idp = rec + OP_IDS_OFF + 2u * (n_in + k);
        const uint32_t id = (uint32_t)idp[0] | ((uint32_t)idp[1] << 8);
        uint32_t n = 0;
        const uint8_t *d = (id == NO_TENSOR) ? 0 : mct_engine_tensor(e, id, &n);
        if (d != 0) {
            crc = mct_crc32(crc, d, n);
        }
    }
    return crc;
}

int main(void)
{
    /* static: the arena is the one big buffer and belongs in .bss where the link map shows it */
    static uint8_t arena[BENCH_ARENA_BYTES] __attribute__((aligned(16)));
    mct_program_t prog;
    mct_engine_t eng;

    board_init();
    const uint8_t *img = (const uint8_t *)(uintptr_t)BENCH_IMAGE_ADDR;
    if (memcmp(img, "MCTB", 4) != 0) {
        put_str("no bench image\n");
        return finish(MCT_E_MAGIC);
    }
    const uint32_t prog_len = rd32(img + 4), in_len = rd32(img + 8), label = rd32(img + 12);
    const uint8_t *blob = img + BENCH_HEADER;
    const uint8_t *input = blob + ((prog_len + 3u) & ~3u);
    mct_status_t s = mct_program_load(&prog, blob, prog_len);
    if (s == MCT_OK) {
        s = mct_engine_init(&eng, &prog, arena, sizeof arena);
    }
    if (s != MCT_OK) {
        return finish((int32_t)s);
    }
    const int32_t in_id = mct_program_input(&prog, 0), out_id = mct_program_output(&prog, 0);
    uint32_t n = 0;
    uint8_t *in_ptr = (in_id < 0) ? 0 : mct_engine_tensor(&eng, (uint32_t)in_id, &n);
    if (in_ptr == 0 || n != in_len) {
        return finish(MCT_E_ARG);
    }
    memcpy(in_ptr, input, n);
    const int is_train = mct_program_logits(&prog) >= 0;
    if (is_train) {
        uint8_t *lp = mct_engine_tensor(&eng, prog.label_id, &n);
        if (lp == 0 || n != 4u) {
            return finish(MCT_E_ARG);
        }
        memcpy(lp, &label, 4); /* int32, little-endian like the engine's own store */
    }

    put_str("BENCH ");
    put_dec(prog.n_ops);
    put_str(" ");
    put_dec(prog.arena_size);
    put_str(" " BENCH_KERNELS "\n");
    if (is_train) {
        put_str("TRAIN ");
        put_dec(mct_program_forward_ops(&prog));
        put_str("\n");
    }

    /* the cost of the timing itself, measured the same way as an op */
    const uint64_t c0 = board_cycles();
    const uint64_t c1 = board_cycles();
    put_str("CAL ");
    put_dec((uint32_t)(c1 - c0));
    put_str("\n");

    for (uint32_t i = 0; i < prog.n_ops; ++i) {
        const uint64_t t0 = board_cycles();
        s = mct_engine_run(&eng, i, i + 1);
        const uint64_t t1 = board_cycles();
        if (s != MCT_OK) {
            return finish((int32_t)s);
        }
        put_str("OP ");
        put_dec(i);
        put_str(" ");
        put_dec(prog.op_table[i * OP_REC_SIZE]);
        put_str(" ");
        put_dec((uint32_t)(t1 - t0));
        put_str(" ");
        put_hex32(op_outputs_crc(&eng, i));
        put_str(" ");
        put_dec(prog.op_table[i * OP_REC_SIZE + OP_FLAGS_OFF]);
        put_str("\n");
    }
    const uint8_t *out_ptr = (out_id < 0) ? 0 : mct_engine_tensor(&eng, (uint32_t)out_id, &n);
    put_str("OUT ");
    for (uint32_t k = 0; out_ptr != 0 && k < n; ++k) {
        put_hex_byte(out_ptr[k]);
    }
    put_str("\n");
    return finish(MCT_OK);
}

void app_on_fault(const board_fault_t *f)
{
    put_str("FAULT pc=");
    put_hex32(f->pc);
    put_str("\n");
}
