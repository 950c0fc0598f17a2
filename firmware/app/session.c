/* session.c - the arena, the bound program and the commands that run it. */
#include "session.h"

#include <string.h>

#include "app_config.h"
#include "board.h"
#include "protocol.h"
#include "xfer.h"

/* Written over the whole arena when a program is bound; the highest word that no longer
 * holds it is the arena's high-water mark. A word pattern, not a byte, so int8 data
 * matches it only by a 1 in 2^32 chance. */
#define ARENA_PAINT 0xC5A3E1B7u

/* The one arena (the only big buffer of the app). 16-aligned: the engine needs 4, the
 * emitter aligns tensors to 16. */
static uint8_t s_arena[APP_ARENA_BYTES] __attribute__((aligned(16)));

static mct_program_t s_prog;
static mct_engine_t s_eng;
static program_ref_t s_ref; /* s_ref.blob == NULL: nothing bound */

/* Input 0 / output 0 of the bound program. */
static mct_tensor_t s_in, s_out;
static int32_t s_in_id, s_out_id;

/* The staged sample. It lives in the arena's unused tail when there is room (it then
 * survives runs that reuse the input tensor's bytes, and TRAIN can take many steps on it);
 * otherwise it is written straight into the input tensor and one run consumes it. */
static struct {
    xfer_t x;
    uint32_t slot;   /* arena offset of the staging copy; 0 = none (straight into the input) */
    uint16_t label;
    uint8_t dtype;
    uint8_t ready;
} s_sample;

static struct {
    uint32_t steps, correct;
    float last_loss, loss_ema, acc_ema;
    uint32_t cycles_last, cycles_mean;
    uint64_t cycles_sum;     /* over `timed` steps, for the mean */
    uint32_t timed;
} s_stats;

/* Training steps the current weights have seen: TRAIN's steps_total, saved with a
 * checkpoint. Unlike s_stats it survives a STATS zeroing and comes back with a restore. */
static uint32_t s_trained;

static uint32_t sat32(uint64_t v) { return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v; }

const program_ref_t *session_program(void) { return s_ref.blob != NULL ? &s_ref : NULL; }
uint32_t session_arena_capacity(void) { return (uint32_t)sizeof s_arena; }
mct_engine_t *session_engine(void) { return s_ref.blob != NULL ? &s_eng : NULL; }

void session_unbind(void)
{
    memset(&s_ref, 0, sizeof s_ref);
    memset(&s_sample, 0, sizeof s_sample);
    memset(&s_stats, 0, sizeof s_stats);
    s_trained = 0u;
}

static void paint(void)
{
    uint32_t i, w = ARENA_PAINT;
    for (i = 0u; i + 4u <= sizeof s_arena; i += 4u) {
        memcpy(&s_arena[i], &w, 4u);
    }
}

/* Bytes from the arena start up to the highest word that was written since painting,
 * below `top` (the staging copy above it is not the engine's). */
static uint32_t arena_high_water(uint32_t top)
{
    uint32_t i = top & ~3u, w;
    while (i >= 4u) {
        memcpy(&w, &s_arena[i - 4u], 4u);
        if (w != ARENA_PAINT) {
            break;
        }
        i -= 4u;
    }
    return i;
}

uint8_t session_bind(const program_ref_t *ref)
{
    mct_program_t p;
    int32_t in_id, out_id;
    mct_tensor_t tin, tout;
    uint32_t tail;
    if (mct_program_load(&p, ref->blob, ref->size) != MCT_OK) {
        return STATUS_BAD_ARG;
    }
    if (p.arena_size > sizeof s_arena) {
        return STATUS_NO_SPACE;
    }
    in_id = mct_program_input(&p, 0u);
    /* A training program names its logits (the end of the forward prefix); an inference
     * program's logits are its output. */
    out_id = mct_program_logits(&p);
    if (out_id < 0) {
        out_id = mct_program_output(&p, 0u);
    }
    if (in_id < 0 || out_id < 0 || mct_program_tensor(&p, (uint32_t)in_id, &tin) != MCT_OK ||
        mct_program_tensor(&p, (uint32_t)out_id, &tout) != MCT_OK || tin.dtype != MCT_DTYPE_INT8 ||
        tout.dtype != MCT_DTYPE_INT8) {
        return STATUS_BAD_ARG; /* the app speaks int8 samples and int8 logits only */
    }
    /* Past this point the old program's state is given up. */
    session_unbind();
    s_prog = p;
    paint();
    if (mct_engine_init(&s_eng, &s_prog, s_arena, (uint32_t)sizeof s_arena) != MCT_OK) {
        return STATUS_INTERNAL;
    }
    s_ref = *ref;
    s_in = tin;
    s_out = tout;
    s_in_id = in_id;
    s_out_id = out_id;
    tail = ((uint32_t)sizeof s_arena - tin.nbytes) & ~15u;
    s_sample.slot = (tin.nbytes <= sizeof s_arena && tail >= p.arena_size) ? tail : 0u;
    return STATUS_OK;
}

static uint8_t *input_ptr(void)
{
    uint32_t n;
    return mct_engine_tensor(&s_eng, (uint32_t)s_in_id, &n);
}

static uint8_t *staging(void) { return s_sample.slot != 0u ? &s_arena[s_sample.slot] : input_ptr(); }

static uint8_t sample_begin(const uint8_t *p, uint16_t len, uint8_t *reply, uint16_t *reply_len)
{
    uint16_t label, h, w, c;
    uint32_t total, n_classes;
    mct_dims_t d;
    if (len != SAMPLE_BEGIN_SIZE) {
        return STATUS_BAD_ARG;
    }
    s_sample.ready = 0u; /* a new BEGIN drops the staged sample */
    xfer_close(&s_sample.x);
    if (s_ref.blob == NULL) {
        return STATUS_NO_MODEL;
    }
    label = proto_get_u16(&p[2]);
    h = proto_get_u16(&p[4]);
    w = proto_get_u16(&p[6]);
    c = proto_get_u16(&p[8]);
    total = proto_get_u32(&p[12]);
    n_classes = mct_tensor_elems(&s_out);
    d = mct_tensor_dims(&s_in);
    if (p[1] != SAMPLE_DTYPE_INT8 && p[1] != SAMPLE_DTYPE_UINT8) {
        return STATUS_BAD_ARG;
    }
    /* The image must be exactly the model input: same size, and for a 4-D NHWC input the
     * same H, W, C (a transposed or resized image is a host bug, not something to guess). */
    if ((uint32_t)h * w * c != total || total != s_in.nbytes ||
        (s_in.rank == 4u && (d.h != (int32_t)h || d.w != (int32_t)w || d.c != (int32_t)c))) {
        return STATUS_BAD_ARG;
    }
    if (label != SAMPLE_NO_LABEL && label >= n_classes) {
        return STATUS_BAD_ARG;
    }
    s_sample.label = label;
    s_sample.dtype = p[1];
    xfer_begin(&s_sample.x, total, proto_get_u32(&p[16]));
    proto_put_u32(reply, s_in.nbytes);
    *reply_len = SAMPLE_BEGIN_REPLY_SIZE;
    return STATUS_OK;
}

uint8_t session_sample(const uint8_t *payload, uint16_t len, uint8_t *reply, uint16_t *reply_len)
{
    uint32_t off, n, i;
    const uint8_t *data;
    uint8_t st;
    uint8_t *dst;
    if (len < 1u) {
        return STATUS_BAD_ARG;
    }
    switch (payload[0]) {
    case XFER_OP_BEGIN:
        return sample_begin(payload, len, reply, reply_len);
    case XFER_OP_CHUNK:
        st = xfer_chunk(&s_sample.x, payload, len, &off, &data, &n);
        if (st != STATUS_OK) {
            return st;
        }
        memcpy(staging() + off, data, n);
        xfer_accept(&s_sample.x, n);
        proto_put_u32(reply, s_sample.x.received);
        *reply_len = XFER_CHUNK_REPLY_SIZE;
        return STATUS_OK;
    case XFER_OP_COMMIT:
        st = xfer_complete(&s_sample.x);
        if (st != STATUS_OK) {
            return st;
        }
        xfer_close(&s_sample.x);
        dst = staging();
        if (mct_crc32(0u, dst, s_sample.x.total) != s_sample.x.crc) {
            return STATUS_BAD_CRC;
        }
        if (s_sample.dtype == SAMPLE_DTYPE_UINT8) {
            for (i = 0u; i < s_sample.x.total; ++i) {
                dst[i] ^= 0x80u; /* uint8 -> int8 with zero point - 128, as TFLite converts */
            }
        }
        s_sample.ready = 1u;
        proto_put_u32(&reply[0], s_sample.x.total);
        proto_put_u32(&reply[4], s_sample.x.crc);
        *reply_len = SAMPLE_COMMIT_REPLY_SIZE;
        return STATUS_OK;
    case XFER_OP_ABORT:
        xfer_close(&s_sample.x);
        s_sample.ready = 0u;
        *reply_len = 0u;
        return STATUS_OK;
    default:
        return STATUS_BAD_ARG;
    }
}

/* Puts the staged sample into the input tensor; afterwards the run may overwrite it. */
static uint8_t stage_input(void)
{
    if (s_ref.blob == NULL) {
        return STATUS_NO_MODEL;
    }
    if (s_sample.ready == 0u) {
        return STATUS_NO_SAMPLE;
    }
    if (s_sample.slot != 0u) {
        memcpy(input_ptr(), &s_arena[s_sample.slot], s_in.nbytes);
    } else {
        s_sample.ready = 0u; /* consumed: the run may reuse the input's bytes */
    }
    return STATUS_OK;
}

static uint16_t argmax(const int8_t *v, uint32_t n)
{
    uint32_t i, best = 0u;
    for (i = 1u; i < n; ++i) {
        if (v[i] > v[best]) {
            best = i;
        }
    }
    return (uint16_t)best;
}

uint8_t session_infer(uint8_t *reply, uint16_t *reply_len, uint16_t reply_max)
{
    uint64_t t0, t1;
    uint32_t n;
    const int8_t *logits;
    uint8_t st = stage_input();
    if (st != STATUS_OK) {
        return st;
    }
    if (s_out.nbytes > (uint32_t)reply_max - INFER_REPLY_HEADER_SIZE) {
        return STATUS_NO_SPACE;
    }
    t0 = board_cycles();
    if (mct_engine_infer(&s_eng) != MCT_OK) {
        return STATUS_INTERNAL;
    }
    t1 = board_cycles();
    logits = (const int8_t *)mct_engine_tensor(&s_eng, (uint32_t)s_out_id, &n);
    proto_put_u16(&reply[0], argmax(logits, n));
    proto_put_u16(&reply[2], (uint16_t)n);
    proto_put_u32(&reply[4], sat32(t1 - t0));
    memcpy(&reply[INFER_REPLY_HEADER_SIZE], logits, n);
    *reply_len = (uint16_t)(INFER_REPLY_HEADER_SIZE + n);
    return STATUS_OK;
}

static void record_step(const session_step_t *r)
{
    const float a = 1.0f / 32.0f; /* EMA weight, docs/protocol.md */
    s_stats.steps++;
    s_stats.correct += r->correct;
    s_stats.last_loss = r->loss;
    s_stats.loss_ema = s_stats.timed == 0u ? r->loss : s_stats.loss_ema + a * (r->loss - s_stats.loss_ema);
    s_stats.acc_ema = s_stats.timed == 0u ? (float)r->correct
                                          : s_stats.acc_ema + a * ((float)r->correct - s_stats.acc_ema);
    s_stats.cycles_last = r->cycles;
    s_stats.cycles_sum += r->cycles;
    s_stats.timed++;
    s_stats.cycles_mean = sat32(s_stats.cycles_sum / s_stats.timed);
}

uint8_t session_train_step(session_step_t *out)
{
    mct_train_result_t res;
    mct_status_t ms;
    uint64_t t0, t1;
    uint8_t st;
    if (s_ref.blob == NULL) {
        return STATUS_NO_MODEL;
    }
    if (s_prog.train == NULL) {
        return STATUS_BAD_STATE; /* an inference-only program has nothing to learn */
    }
    if (s_sample.ready != 0u && s_sample.label == SAMPLE_NO_LABEL) {
        return STATUS_NO_SAMPLE;
    }
    st = stage_input();
    if (st != STATUS_OK) {
        return st;
    }
    t0 = board_cycles();
    ms = mct_engine_train_step(&s_eng, (int32_t)s_sample.label, &res);
    t1 = board_cycles();
    if (ms != MCT_OK) {
        if (ms == MCT_E_NUMERIC) {
            return STATUS_NUMERIC; /* the engine skipped the update; the step is not counted */
        }
        return ms == MCT_E_ARG ? STATUS_BAD_ARG : STATUS_INTERNAL;
    }
    out->loss = res.loss;
    out->predicted = (uint16_t)res.predicted;
    out->correct = (uint8_t)(res.predicted == (int32_t)s_sample.label);
    out->cycles = sat32(t1 - t0);
    s_trained++;
    record_step(out);
    return STATUS_OK;
}

uint32_t session_steps(void) { return s_trained; }
void session_set_steps(uint32_t steps) { s_trained = steps; }

uint32_t session_state_region(uint32_t i, uint8_t **data, uint32_t *len)
{
    uint32_t off, n;
    if (s_ref.blob == NULL) {
        return 0u;
    }
    n = mct_program_state_count(&s_prog);
    if (i >= n || mct_program_state_region(&s_prog, i, &off, len) != MCT_OK) {
        *data = NULL;
        *len = 0u;
        return n;
    }
    *data = &s_arena[off];
    return n;
}

uint8_t session_reset_training(void)
{
    if (s_ref.blob == NULL) {
        return STATUS_NO_MODEL;
    }
    if (mct_engine_reset(&s_eng) != MCT_OK) {
        return STATUS_INTERNAL;
    }
    memset(&s_stats, 0, sizeof s_stats);
    s_trained = 0u;
    return STATUS_OK;
}

void session_stats(uint8_t *p, int zero_after)
{
    uint32_t top = s_sample.slot != 0u ? s_sample.slot : (uint32_t)sizeof s_arena;
    proto_put_u32(&p[0], s_stats.steps);
    proto_put_u32(&p[4], s_stats.correct);
    proto_put_f32(&p[8], s_stats.last_loss);
    proto_put_f32(&p[12], s_stats.loss_ema);
    proto_put_f32(&p[16], s_stats.acc_ema);
    proto_put_u32(&p[20], s_stats.cycles_last);
    proto_put_u32(&p[24], s_stats.cycles_mean);
    proto_put_u32(&p[28], s_ref.blob != NULL ? arena_high_water(top) : 0u);
    proto_put_u32(&p[32], s_ref.blob != NULL ? s_prog.arena_size : 0u);
    proto_put_u32(&p[36], board_stack_peak_bytes());
    if (zero_after) {
        memset(&s_stats, 0, sizeof s_stats);
    }
}
