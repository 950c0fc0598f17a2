/*
 * schedule.c - executes a validated program's op list over one caller-provided arena.
 * Decodes each op record into the kernel's parameter struct and calls the kernel; all shape and
 * range checks were done once by mct_program_load(), so this file only dispatches.
 */
#include "engine.h"
#include "ops/ops.h"
#include "program_format.h"
#include "program_internal.h"

static uint8_t *tensor_ptr(const mct_engine_t *e, const mct_tensor_t *t)
{
    /* constants are only ever read; the cast inside drops const so one accessor serves both kinds */
    return mct_tensor_bytes(e, t);
}

static void copy_initial_values(mct_engine_t *e)
{
    for (uint32_t i = 0; i < e->prog->n_tensors; ++i) {
        mct_tensor_t t;
        mct_decode_tensor(e->prog, i, &t);
        if (t.storage == MCT_STORE_ARENA_INIT) {
            mct_copy_bytes(t.nbytes, e->prog->consts + t.init_off, e->arena + t.offset);
        }
    }
}

mct_status_t mct_engine_init(mct_engine_t *eng, const mct_program_t *prog, uint8_t *arena, uint32_t arena_len)
{
    if (eng == 0 || prog == 0 || (arena == 0 && prog->arena_size != 0)) {
        return MCT_E_ARG;
    }
    if (((uintptr_t)arena & 3u) != 0) {
        return MCT_E_ALIGN;
    }
    if (arena_len < prog->arena_size) {
        return MCT_E_ARENA;
    }
    eng->prog = prog;
    eng->arena = arena;
    eng->arena_size = arena_len;
    eng->hook = 0;
    eng->hook_ctx = 0;
    copy_initial_values(eng);
    return MCT_OK;
}

mct_status_t mct_engine_reset(mct_engine_t *eng)
{
    if (eng == 0 || eng->prog == 0) {
        return MCT_E_ARG;
    }
    copy_initial_values(eng);
    return MCT_OK;
}

uint8_t *mct_engine_tensor(const mct_engine_t *eng, uint32_t id, uint32_t *nbytes)
{
    mct_tensor_t t;
    if (eng == 0 || eng->prog == 0 || mct_program_tensor(eng->prog, id, &t) != MCT_OK) {
        return 0;
    }
    if (nbytes != 0) {
        *nbytes = t.nbytes;
    }
    return tensor_ptr(eng, &t);
}

static float bits_to_float(uint32_t bits)
{
    union {
        uint32_t u;
        float f;
    } v;
    v.u = bits;
    return v.f;
}

static void conv_params(const int32_t *w, mct_conv_params_t *cp, mct_channel_quant_t *q)
{
    cp->stride_h = w[0];
    cp->stride_w = w[1];
    cp->pad_h = w[2];
    cp->pad_w = w[3];
    cp->depth_multiplier = w[4];
    cp->input_offset = w[5];
    cp->output_offset = w[6];
    cp->act_min = w[7];
    cp->act_max = w[8];
    q->multiplier = w + MCT_P_CONV_WORDS;
    q->shift = w + MCT_P_CONV_WORDS + w[9];
}

static mct_status_t run_op(mct_engine_t *e, uint32_t idx)
{
    const mct_program_t *p = e->prog;
    mct_op_rec_t op;
    mct_decode_op(p, idx, &op);
    if (op.flags != 0 || op.opcode >= 0x40u) {
        return mct_run_train_op(e, &op); /* training ops and split-weight forward ops (version 2) */
    }
    mct_tensor_t in0, in1, in2, out;
    mct_decode_tensor(p, op.ids[0], &in0);
    mct_decode_tensor(p, op.ids[op.n_in], &out);
    const int32_t *w = mct_op_params(p, &op);
    const uint8_t *x = tensor_ptr(e, &in0);
    uint8_t *y = tensor_ptr(e, &out);
    const int8_t *xs = (const int8_t *)x;
    int8_t *ys = (int8_t *)y;

    switch (op.opcode) {
    case MCT_OP_CONV_2D:
    case MCT_OP_DEPTHWISE_CONV_2D: {
        mct_conv_params_t cp;
        mct_channel_quant_t q;
        conv_params(w, &cp, &q);
        mct_decode_tensor(p, op.ids[1], &in1);
        const int32_t *bias = 0;
        if (op.ids[2] != MCT_NO_TENSOR) {
            mct_decode_tensor(p, op.ids[2], &in2);
            bias = (const int32_t *)(const void *)tensor_ptr(e, &in2);
        }
        const mct_dims_t di = mct_tensor_dims(&in0), df = mct_tensor_dims(&in1), dout = mct_tensor_dims(&out);
        const int8_t *f = (const int8_t *)tensor_ptr(e, &in1);
        if (op.opcode == MCT_OP_CONV_2D) {
            mct_conv2d_s8(&cp, &q, &di, xs, &df, f, bias, &dout, ys);
        } else {
            mct_depthwise_conv2d_s8(&cp, &q, &di, xs, &df, f, bias, &dout, ys);
        }
        return MCT_OK;
    }
    case MCT_OP_FULLY_CONNECTED: {
        mct_fc_params_t fp = {w[0], w[1], w[2], w[3], w[4]};
        mct_channel_quant_t q = {w + MCT_P_FC_WORDS, w + MCT_P_FC_WORDS + w[5]};
        mct_decode_tensor(p, op.ids[1], &in1);
        const int32_t *bias = 0;
        if (op.ids[2] != MCT_NO_TENSOR) {
            mct_decode_tensor(p, op.ids[2], &in2);
            bias = (const int32_t *)(const void *)tensor_ptr(e, &in2);
        }
        const int32_t units = in1.dims[0], depth = in1.dims[1];
        const int32_t batches = (int32_t)(mct_tensor_elems(&in0) / (uint32_t)depth);
        mct_fully_connected_s8(&fp, &q, batches, depth, units, xs, (const int8_t *)tensor_ptr(e, &in1), bias, ys);
        return MCT_OK;
    }
    case MCT_OP_ADD: {
        const mct_add_params_t ap = {w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8], w[9], w[10], w[11]};
        mct_decode_tensor(p, op.ids[1], &in1);
        mct_add_s8(&ap, mct_tensor_elems(&out), xs, (const int8_t *)tensor_ptr(e, &in1), ys);
        return MCT_OK;
    }
    case MCT_OP_AVERAGE_POOL_2D:
    case MCT_OP_MAX_POOL_2D: {
        const mct_pool_params_t pp = {w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]};
        const mct_dims_t di = mct_tensor_dims(&in0), dout = mct_tensor_dims(&out);
        const int r = (op.opcode == MCT_OP_AVERAGE_POOL_2D) ? mct_avg_pool_s8(&pp, &di, xs, &dout, ys)
                                                            : mct_max_pool_s8(&pp, &di, xs, &dout, ys);
        return (r == 0) ? MCT_OK : MCT_E_RUNTIME;
    }
    case MCT_OP_MEAN: {
        const mct_mean_params_t mp = {w[0], w[1], w[2], w[3], w[4], w[5]};
        int32_t d[4];
        mct_tensor_ext4(&in0, d);
        mct_mean_s8(&mp, d, xs, ys);
        return MCT_OK;
    }
    case MCT_OP_PAD: {
        const mct_pad_params_t pp = {{w[0], w[1], w[2], w[3]}, {w[4], w[5], w[6], w[7]}, w[8]};
        int32_t di[4], dout[4];
        mct_tensor_ext4(&in0, di);
        mct_tensor_ext4(&out, dout);
        mct_pad_s8(&pp, di, xs, dout, ys);
        return MCT_OK;
    }
    case MCT_OP_SOFTMAX: {
        const mct_softmax_params_t sp = {w[0], w[1], w[2]};
        const uint32_t depth = in0.dims[in0.rank - 1];
        mct_softmax_s8(&sp, mct_tensor_elems(&in0) / depth, depth, xs, ys);
        return MCT_OK;
    }
    case MCT_OP_RESHAPE:
        mct_copy_bytes(out.nbytes, x, y);
        return MCT_OK;
    case MCT_OP_QUANTIZE:
        mct_quantize_f32_s8(bits_to_float((uint32_t)w[0]), w[1], mct_tensor_elems(&out),
                            (const float *)(const void *)x, ys);
        return MCT_OK;
    case MCT_OP_DEQUANTIZE:
        mct_dequantize_s8_f32(bits_to_float((uint32_t)w[0]), w[1], mct_tensor_elems(&out), xs,
                              (float *)(void *)y);
        return MCT_OK;
    case MCT_OP_REQUANTIZE: {
        const mct_requant_params_t rp = {w[0], w[1], w[2], w[3]};
        mct_requantize_s8(&rp, mct_tensor_elems(&out), xs, ys);
        return MCT_OK;
    }
    default:
        return MCT_E_OPCODE; /* unreachable after validation */
    }
}

mct_status_t mct_engine_run(mct_engine_t *eng, uint32_t first_op, uint32_t end_op)
{
    if (eng == 0 || eng->prog == 0 || first_op > end_op || end_op > eng->prog->n_ops) {
        return MCT_E_ARG;
    }
    for (uint32_t i = first_op; i < end_op; ++i) {
        if (eng->hook != 0) {
            eng->hook(eng->hook_ctx, i, eng->prog->op_table[i * MCT_OP_REC_SIZE], 0);
        }
        const mct_status_t s = run_op(eng, i);
        if (eng->hook != 0) {
            eng->hook(eng->hook_ctx, i, eng->prog->op_table[i * MCT_OP_REC_SIZE], 1);
        }
        if (s != MCT_OK) {
            return s;
        }
    }
    return MCT_OK;
}

void mct_engine_set_hook(mct_engine_t *eng, mct_op_hook_t hook, void *ctx)
{
    if (eng != 0) {
        eng->hook = hook;
        eng->hook_ctx = ctx;
    }
}

mct_status_t mct_engine_infer(mct_engine_t *eng)
{
    if (eng == 0 || eng->prog == 0) {
        return MCT_E_ARG;
    }
    return mct_engine_run(eng, 0, eng->prog->n_forward_ops);
}

static float f32_from(const uint8_t *b)
{
    union {
        uint32_t u;
        float f;
    } v;
    v.u = mct_rd32(b);
    return v.f;
}

mct_status_t mct_engine_train_step(mct_engine_t *eng, int32_t label, mct_train_result_t *result)
{
    if (eng == 0 || eng->prog == 0 || eng->prog->train == 0 || result == 0) {
        return MCT_E_ARG;
    }
    const mct_program_t *p = eng->prog;
    mct_tensor_t lt, rt, zt;
    mct_decode_tensor(p, p->label_id, &lt);
    mct_decode_tensor(p, p->result_id, &rt);
    mct_decode_tensor(p, p->logits_id, &zt);
    if (label < 0 || (uint32_t)label >= mct_tensor_elems(&zt)) {
        return MCT_E_ARG; /* checked before anything runs: a bad label must not half-update the model */
    }
    uint8_t *lp = eng->arena + lt.offset;
    const uint32_t u = (uint32_t)label;
    lp[0] = (uint8_t)u;
    lp[1] = (uint8_t)(u >> 8);
    lp[2] = (uint8_t)(u >> 16);
    lp[3] = (uint8_t)(u >> 24);
    const mct_status_t s = mct_engine_run(eng, 0, p->n_ops);
    if (s != MCT_OK) {
        return s;
    }
    const uint8_t *rp = eng->arena + rt.offset;
    result->loss = f32_from(rp);
    result->predicted = (int32_t)f32_from(rp + 4);
    return MCT_OK;
}

uint32_t mct_program_forward_ops(const mct_program_t *prog)
{
    return (prog != 0) ? prog->n_forward_ops : 0u;
}

int32_t mct_program_logits(const mct_program_t *prog)
{
    return (prog != 0 && prog->train != 0) ? (int32_t)prog->logits_id : -1;
}

uint32_t mct_program_state_count(const mct_program_t *prog)
{
    return (prog != 0) ? prog->n_state : 0u;
}

mct_status_t mct_program_state_region(const mct_program_t *prog, uint32_t i, uint32_t *offset, uint32_t *nbytes)
{
    if (prog == 0 || prog->train == 0 || i >= prog->n_state || offset == 0 || nbytes == 0) {
        return MCT_E_ARG;
    }
    *offset = mct_rd32(prog->train + MCT_TS_SIZE + 8 * i);
    *nbytes = mct_rd32(prog->train + MCT_TS_SIZE + 8 * i + 4);
    return MCT_OK;
}
