/*
 * schedule_train.c - executes the version-2 ops of a validated program: split-weight forward convs and
 * every backward, loss and update op. Like schedule.c it only decodes records and dispatches; all shapes
 * and ranges were checked by mct_program_load(). The numeric mode of a gradient op follows the dtype of
 * its gradient tensors (float32: fp32 mode; G16/G32: int mode).
 */
#include "engine.h"
#include "ops/train_ops.h"
#include "program_format.h"
#include "program_internal.h"
#include "update.h"

#define EXP_LIMIT (1 << 20) /* exponents are small; clamping keeps hostile arena bytes from overflowing */

typedef struct {
    mct_tensor_t in[MCT_OP_MAX_IDS];
    mct_tensor_t out[MCT_OP_MAX_IDS];
    uint8_t *ip[MCT_OP_MAX_IDS]; /* NULL for an absent optional tensor */
    uint8_t *op[MCT_OP_MAX_IDS];
} io_t;

static void decode_io(const mct_engine_t *e, const mct_op_rec_t *op, io_t *io)
{
    for (uint32_t i = 0; i < MCT_OP_MAX_IDS; ++i) {
        io->ip[i] = 0;
        io->op[i] = 0;
    }
    for (uint32_t i = 0; i < (uint32_t)op->n_in + op->n_out; ++i) {
        if (op->ids[i] == MCT_NO_TENSOR) {
            continue;
        }
        const int is_in = i < op->n_in;
        mct_tensor_t *t = is_in ? &io->in[i] : &io->out[i - op->n_in];
        mct_decode_tensor(e->prog, op->ids[i], t);
        if (is_in) {
            io->ip[i] = mct_tensor_bytes(e, t);
        } else {
            io->op[i - op->n_in] = mct_tensor_bytes(e, t);
        }
    }
}

static int32_t *exp_slot(const mct_engine_t *e, const mct_tensor_t *t)
{
    return (int32_t *)(void *)(e->arena + t->init_off);
}

static int32_t get_exp(const mct_engine_t *e, const mct_tensor_t *t)
{
    const int32_t v = *exp_slot(e, t);
    return (v > EXP_LIMIT) ? EXP_LIMIT : ((v < -EXP_LIMIT) ? -EXP_LIMIT : v);
}

static int is_int(const mct_tensor_t *t)
{
    return mct_dtype_has_exp(t->dtype);
}

#define F32(p) ((float *)(void *)(p))
#define I16(p) ((int16_t *)(void *)(p))
#define I32(p) ((int32_t *)(void *)(p))
#define S8(p) ((int8_t *)(void *)(p))

/* Per-channel float scales stored as float32 bits in the parameter words: viewed as floats in place.
   The pool is 4-byte aligned; float and int32 share size and alignment on every target we build for. */
static const float *f32_words(const int32_t *w)
{
    return (const float *)(const void *)w;
}

static float f32_bits(int32_t w)
{
    union {
        int32_t i;
        float f;
    } v;
    v.i = w;
    return v.f;
}

/* 0 when any of the n floats is an infinity or a NaN (exponent bits all ones); a bit test, so no libm
   and no float compare that a NaN could slip past. */
static int all_finite(const float *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; ++i) {
        union {
            float f;
            uint32_t u;
        } b;
        b.f = v[i];
        if ((b.u & 0x7F800000u) == 0x7F800000u) {
            return 0;
        }
    }
    return 1;
}

static mct_geom_t geom(const int32_t *w)
{
    const mct_geom_t g = {w[0], w[1], w[2], w[3], w[4]};
    return g;
}

static mct_filter_t filter(const io_t *io, uint32_t flash, uint32_t ram, int depthwise)
{
    mct_filter_t f;
    f.flash = S8(io->ip[flash]);
    f.ram = S8(io->ip[ram]);
    f.k = (io->ip[ram] == 0) ? 0 : (depthwise ? io->in[ram].dims[io->in[ram].rank - 1] : io->in[ram].dims[0]);
    return f;
}

static mct_status_t run_split_forward(const mct_engine_t *e, const mct_op_rec_t *op, const io_t *io,
                                      const int32_t *w)
{
    (void)e;
    const int32_t *bias = I32(io->ip[2]);
    if (op->opcode == MCT_OP_FULLY_CONNECTED) {
        const mct_fc_params_t fp = {w[0], w[1], w[2], w[3], w[4]};
        const mct_channel_quant_t q = {w + MCT_P_FC_WORDS, w + MCT_P_FC_WORDS + w[5]};
        const mct_filter_t f = filter(io, 1, 3, 0);
        const int32_t units = io->in[1].dims[0], depth = io->in[1].dims[1];
        const int32_t batches = (int32_t)(mct_tensor_elems(&io->in[0]) / (uint32_t)depth);
        mct_fully_connected_split_s8(&fp, &q, batches, depth, units, S8(io->ip[0]), &f, bias, S8(io->op[0]));
        return MCT_OK;
    }
    const mct_conv_params_t cp = {w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]};
    const mct_channel_quant_t q = {w + MCT_P_CONV_WORDS, w + MCT_P_CONV_WORDS + w[9]};
    const mct_dims_t di = mct_tensor_dims(&io->in[0]), df = mct_tensor_dims(&io->in[1]);
    const mct_dims_t dout = mct_tensor_dims(&io->out[0]);
    if (op->opcode == MCT_OP_CONV_2D) {
        const mct_filter_t f = filter(io, 1, 3, 0);
        mct_conv2d_split_s8(&cp, &q, &di, S8(io->ip[0]), &df, &f, bias, &dout, S8(io->op[0]));
    } else {
        const mct_filter_t f = filter(io, 1, 3, 1);
        mct_depthwise_conv2d_split_s8(&cp, &q, &di, S8(io->ip[0]), &df, &f, bias, &dout, S8(io->op[0]));
    }
    return MCT_OK;
}

static void grad_input(const mct_engine_t *e, uint8_t opcode, const io_t *io, const int32_t *w)
{
    const mct_tensor_t *gy = &io->in[0], *gx = &io->out[0];
    if (opcode == MCT_OP_FC_GRAD_INPUT) {
        const int32_t co = w[2], depth = io->in[1].dims[1];
        const mct_filter_t f = filter(io, 1, 2, 0);
        if (is_int(gy)) {
            mct_fc_grad_input_int(co, depth, I16(io->ip[0]), &f, w + 3, w + 3 + co, I32(io->op[0]));
            *exp_slot(e, gx) = get_exp(e, gy) - w[1];
        } else {
            mct_fc_grad_input_f32(co, depth, F32(io->ip[0]), &f, f32_words(w + 3), w[0], F32(io->op[0]));
        }
        return;
    }
    const mct_geom_t g = geom(w);
    const int32_t co = w[7];
    const mct_dims_t dy = mct_tensor_dims(gy), df = mct_tensor_dims(&io->in[1]), dx = mct_tensor_dims(gx);
    const int dw = opcode == MCT_OP_DW_GRAD_INPUT;
    const mct_filter_t f = filter(io, 1, 2, dw);
    if (is_int(gy)) {
        if (dw) {
            mct_depthwise_grad_input_int(&g, &dy, I16(io->ip[0]), &df, &f, w + 8, w + 8 + co, &dx, I32(io->op[0]));
        } else {
            mct_conv2d_grad_input_int(&g, &dy, I16(io->ip[0]), &df, &f, w + 8, w + 8 + co, &dx, I32(io->op[0]));
        }
        *exp_slot(e, gx) = get_exp(e, gy) - w[6];
    } else if (dw) {
        mct_depthwise_grad_input_f32(&g, &dy, F32(io->ip[0]), &df, &f, f32_words(w + 8), &dx, w[5], F32(io->op[0]));
    } else {
        mct_conv2d_grad_input_f32(&g, &dy, F32(io->ip[0]), &df, &f, f32_words(w + 8), &dx, w[5], F32(io->op[0]));
    }
}

static void grad_weight(const mct_engine_t *e, uint8_t opcode, const io_t *io, const int32_t *w)
{
    const mct_tensor_t *gy = &io->in[0], *gw = &io->out[0];
    if (opcode == MCT_OP_FC_GRAD_WEIGHT) {
        const int32_t depth = gw->dims[1];
        if (is_int(gy)) {
            mct_fc_grad_weight_int(depth, I16(io->ip[0]), S8(io->ip[1]), w[0], w[2], I32(io->op[0]));
            *exp_slot(e, gw) = get_exp(e, gy);
        } else {
            mct_fc_grad_weight_f32(depth, F32(io->ip[0]), S8(io->ip[1]), w[0], f32_bits(w[1]), w[2], F32(io->op[0]));
        }
        return;
    }
    const mct_geom_t g = geom(w);
    const mct_dims_t dy = mct_tensor_dims(gy), dx = mct_tensor_dims(&io->in[1]), df = mct_tensor_dims(gw);
    const int dw = opcode == MCT_OP_DW_GRAD_WEIGHT;
    if (is_int(gy)) {
        if (dw) {
            mct_depthwise_grad_weight_int(&g, &dy, I16(io->ip[0]), &dx, S8(io->ip[1]), w[5], w[6], &df, w[8],
                                          I32(io->op[0]));
        } else {
            mct_conv2d_grad_weight_int(&g, &dy, I16(io->ip[0]), &dx, S8(io->ip[1]), w[5], w[6], &df, w[8],
                                       I32(io->op[0]));
        }
        *exp_slot(e, gw) = get_exp(e, gy) + w[6];
    } else if (dw) {
        mct_depthwise_grad_weight_f32(&g, &dy, F32(io->ip[0]), &dx, S8(io->ip[1]), w[5], f32_bits(w[7]), &df, w[8],
                                      F32(io->op[0]));
    } else {
        mct_conv2d_grad_weight_f32(&g, &dy, F32(io->ip[0]), &dx, S8(io->ip[1]), w[5], f32_bits(w[7]), &df, w[8],
                                   F32(io->op[0]));
    }
}

/* int mode: output of a pass-through op is either the int16 gradient itself or an int32 accumulator. */
static void copy_out(const mct_engine_t *e, const io_t *io, uint32_t i, uint32_t n, int accumulate)
{
    const mct_tensor_t *gy = &io->in[0], *o = &io->out[i];
    if (!is_int(gy)) {
        mct_grad_copy_f32(n, F32(io->ip[0]), accumulate, F32(io->op[i]));
        return;
    }
    const int wide = o->dtype == MCT_DTYPE_G32;
    mct_grad_copy_int(n, I16(io->ip[0]), wide ? 0 : I16(io->op[i]), wide ? I32(io->op[i]) : 0);
    *exp_slot(e, o) = get_exp(e, gy);
}

static mct_status_t run_update_weight(const mct_engine_t *e, const io_t *io, const int32_t *w)
{
    mct_update_params_t up;
    up.rounding = w[0];
    up.axis = w[1];
    up.k = w[2];
    up.per = w[3];
    up.qas = w[4];
    up.lr = f32_bits(w[5]);
    up.advance = w[6];
    up.acc_bits = w[7];
    up.jump = w + 8;
    up.adv = w + 40;
    up.a = w + MCT_P_UPW_WORDS;
    up.b = w + MCT_P_UPW_WORDS + w[2];
    if (!is_int(&io->in[0]) && !all_finite(F32(io->ip[0]), mct_tensor_elems(&io->in[0]))) {
        return MCT_E_NUMERIC; /* before anything is written: these weights and the PRNG state stay */
    }
    uint32_t *prng = (up.rounding == MCT_ROUND_STOCHASTIC) ? (uint32_t *)(void *)io->op[1] : 0;
    void *frac = (up.rounding == MCT_ROUND_ACCUMULATOR) ? (void *)io->op[1] : 0;
    if (is_int(&io->in[0])) {
        mct_update_weight_int(&up, I32(io->ip[0]), get_exp(e, &io->in[0]), S8(io->op[0]), frac, prng);
    } else {
        mct_update_weight_f32(&up, F32(io->ip[0]), S8(io->op[0]), frac, prng);
    }
    return MCT_OK;
}

mct_status_t mct_run_train_op(mct_engine_t *e, const mct_op_rec_t *op)
{
    io_t io;
    decode_io(e, op, &io);
    const int32_t *w = mct_op_params(e->prog, op);
    const mct_tensor_t *in0 = &io.in[0];
    if (op->flags == MCT_OPF_SPLIT_W) {
        return run_split_forward(e, op, &io, w);
    }
    switch (op->opcode) {
    case MCT_OP_MASK:
        mct_mask_bits(mct_tensor_elems(in0), S8(io.ip[0]), w[0], w[1], io.op[0]);
        return MCT_OK;
    case MCT_OP_ACT_GRAD: {
        const uint8_t *bits = w[2] ? 0 : io.ip[1];
        const int8_t *x = w[2] ? S8(io.ip[1]) : 0;
        if (is_int(in0)) {
            mct_act_grad_int(mct_tensor_elems(in0), I16(io.op[0]), bits, x, w[0], w[1]);
        } else {
            mct_act_grad_f32(mct_tensor_elems(in0), F32(io.op[0]), bits, x, w[0], w[1]);
        }
        return MCT_OK;
    }
    case MCT_OP_CONV_GRAD_INPUT:
    case MCT_OP_DW_GRAD_INPUT:
    case MCT_OP_FC_GRAD_INPUT:
        grad_input(e, op->opcode, &io, w);
        return MCT_OK;
    case MCT_OP_CONV_GRAD_WEIGHT:
    case MCT_OP_DW_GRAD_WEIGHT:
    case MCT_OP_FC_GRAD_WEIGHT:
        grad_weight(e, op->opcode, &io, w);
        return MCT_OK;
    case MCT_OP_GRAD_BIAS: {
        const uint32_t c = (uint32_t)w[0], pos = mct_tensor_elems(in0) / c;
        if (is_int(in0)) {
            mct_grad_bias_int(pos, c, I16(io.ip[0]), I32(io.op[0]));
            *exp_slot(e, &io.out[0]) = get_exp(e, in0);
        } else {
            mct_grad_bias_f32(pos, c, F32(io.ip[0]), F32(io.op[0]));
        }
        return MCT_OK;
    }
    case MCT_OP_GRAD_COPY:
        for (uint32_t i = 0; i < 2; ++i) {
            if (io.op[i] != 0) {
                copy_out(e, &io, i, mct_tensor_elems(in0), w[i]);
            }
        }
        return MCT_OK;
    case MCT_OP_AVG_POOL_GRAD:
    case MCT_OP_MAX_POOL_GRAD: {
        const mct_pool_params_t pp = {w[0], w[1], w[2], w[3], w[4], w[5], -128, 127};
        const mct_dims_t dy = mct_tensor_dims(in0), dx = mct_tensor_dims(&io.out[0]);
        const int is_max = op->opcode == MCT_OP_MAX_POOL_GRAD;
        int r;
        if (is_int(in0)) {
            r = is_max ? mct_max_pool_grad_int(&pp, &dy, I16(io.ip[0]), &dx, S8(io.ip[1]), I32(io.op[0]))
                       : mct_avg_pool_grad_int(&pp, w[6], &dy, I16(io.ip[0]), &dx, I32(io.op[0]));
            *exp_slot(e, &io.out[0]) = get_exp(e, in0) - (is_max ? 0 : w[6]);
        } else {
            r = is_max ? mct_max_pool_grad_f32(&pp, &dy, F32(io.ip[0]), &dx, S8(io.ip[1]), w[7], F32(io.op[0]))
                       : mct_avg_pool_grad_f32(&pp, &dy, F32(io.ip[0]), &dx, w[7], F32(io.op[0]));
        }
        return (r == 0) ? MCT_OK : MCT_E_RUNTIME;
    }
    case MCT_OP_MEAN_GRAD: {
        int32_t dx[4];
        mct_tensor_ext4(&io.out[0], dx);
        if (is_int(in0)) {
            mct_mean_grad_int(w[0], dx, I16(io.ip[0]), w[2], w[1], I32(io.op[0]));
            *exp_slot(e, &io.out[0]) = get_exp(e, in0) - w[1];
        } else {
            mct_mean_grad_f32(w[0], dx, F32(io.ip[0]), w[2], w[3], F32(io.op[0]));
        }
        return MCT_OK;
    }
    case MCT_OP_PAD_GRAD: {
        int32_t dy[4], dx[4];
        mct_tensor_ext4(in0, dy);
        mct_tensor_ext4(&io.out[0], dx);
        if (is_int(in0)) {
            const int wide = io.out[0].dtype == MCT_DTYPE_G32;
            mct_pad_grad_int(dy, I16(io.ip[0]), w, dx, wide ? 0 : I16(io.op[0]), wide ? I32(io.op[0]) : 0);
            *exp_slot(e, &io.out[0]) = get_exp(e, in0);
        } else {
            mct_pad_grad_f32(dy, F32(io.ip[0]), w, dx, w[4], F32(io.op[0]));
        }
        return MCT_OK;
    }
    case MCT_OP_NORMALIZE: {
        int32_t out_exp = get_exp(e, &io.out[0]);
        mct_normalize_int(mct_tensor_elems(in0), I32(io.ip[0]), get_exp(e, in0), w[0], I16(io.op[0]), &out_exp);
        *exp_slot(e, &io.out[0]) = out_exp;
        return MCT_OK;
    }
    case MCT_OP_SOFTMAX_XENT: {
        mct_xent_params_t xp;
        xp.zero_point = w[0];
        xp.scale = f32_bits(w[1]);
        xp.softmax.input_multiplier = w[2];
        xp.softmax.input_left_shift = w[3];
        xp.softmax.diff_min = w[4];
        const uint32_t n = mct_tensor_elems(in0);
        const int32_t label = *I32(io.ip[1]);
        float loss = 0.0f;
        int32_t pred = 0;
        int r;
        if (is_int(&io.out[0])) {
            r = mct_softmax_xent_int(&xp, n, S8(io.ip[0]), label, I32(io.op[2]), I16(io.op[0]),
                                     exp_slot(e, &io.out[0]), &loss, &pred);
        } else {
            r = mct_softmax_xent_f32(&xp, n, S8(io.ip[0]), label, F32(io.op[2]), F32(io.op[0]), &loss, &pred);
        }
        if (r != 0) {
            return MCT_E_ARG; /* label outside the classes */
        }
        if (!all_finite(&loss, 1u) || (!is_int(&io.out[0]) && !all_finite(F32(io.op[0]), n))) {
            return MCT_E_NUMERIC; /* before the backward pass: no weight has changed */
        }
        F32(io.op[1])[0] = loss;
        F32(io.op[1])[1] = (float)pred;
        return MCT_OK;
    }
    case MCT_OP_UPDATE_WEIGHT:
        return run_update_weight(e, &io, w);
    case MCT_OP_UPDATE_BIAS: {
        mct_update_params_t up;
        up.k = w[0];
        up.qas = w[1];
        up.lr = f32_bits(w[2]);
        up.a = w + MCT_P_UPB_WORDS;
        up.b = w + MCT_P_UPB_WORDS + w[0];
        if (!is_int(in0) && !all_finite(F32(io.ip[0]), mct_tensor_elems(in0))) {
            return MCT_E_NUMERIC;
        }
        if (is_int(in0)) {
            mct_update_bias_int(&up, I32(io.ip[0]), get_exp(e, in0), I32(io.op[0]));
        } else {
            mct_update_bias_f32(&up, F32(io.ip[0]), I32(io.op[0]));
        }
        return MCT_OK;
    }
    default:
        return MCT_E_OPCODE; /* unreachable after validation */
    }
}
