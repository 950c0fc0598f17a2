/*
 * program_train.c - loader checks of the version-2 training additions (docs/schedule-format.md,
 * "Training"): the training section, the split-weight forward ops and every backward / loss / update op.
 * Same guarantee as program.c: after a successful load no op can touch memory outside the blob and the
 * arena, whatever the bytes were. Gradient ops are checked for one numeric mode per op (fp32: float32
 * tensors; int: G16 gradients, G32 accumulators), decided by the dtype of the op's first input.
 */
#include "engine.h"
#include "program_format.h"
#include "program_internal.h"



static int is_flag(int32_t v)
{
    return v == 0 || v == 1;
}

static int act_ok(int32_t lo, int32_t hi)
{
    return mct_in_range(lo, -128, 127) && mct_in_range(hi, -128, 127) && lo <= hi;
}

static uint32_t elems(const mct_tensor_t *t)
{
    return mct_tensor_elems(t);
}

/* Mode of a gradient op from its gradient input: 0 fp32, 1 int, -1 neither. */
static int grad_mode(const mct_tensor_t *t)
{
    return (t->dtype == MCT_DTYPE_FLOAT32) ? 0 : ((t->dtype == MCT_DTYPE_G16) ? 1 : -1);
}

/* A tensor that holds a gradient in `mode`: exactly (f32 / G16), or also an int32 accumulator (G32). */
static int is_grad(const mct_tensor_t *t, int mode)
{
    return t->dtype == (mode ? MCT_DTYPE_G16 : MCT_DTYPE_FLOAT32);
}

static int is_acc(const mct_tensor_t *t, int mode)
{
    return t->dtype == (mode ? MCT_DTYPE_G32 : MCT_DTYPE_FLOAT32);
}

static int in_arena(const mct_tensor_t *t)
{
    return t->storage != MCT_STORE_CONST;
}

static int geom_ok(const int32_t *w)
{
    return mct_in_range(w[0], 1, MCT_MAX_STRIDE) && mct_in_range(w[1], 1, MCT_MAX_STRIDE) &&
           mct_in_range(w[2], 0, 65535) && mct_in_range(w[3], 0, 65535);
}

static int shifts_ok(const int32_t *mult, const int32_t *shift, uint32_t n, int mode)
{
    for (uint32_t c = 0; c < n; ++c) {
        if (mode && (mult[c] < 0 || !mct_in_range(shift[c], -62, 62))) {
            return 0;
        }
    }
    return 1;
}

/* Batch-1 NHWC tensor. */
static int nhwc1(const mct_tensor_t *t)
{
    return t->rank == 4 && t->dims[0] == 1;
}

int mct_train_arity(uint8_t opcode, uint32_t *n_in, uint32_t *n_out, uint32_t *optional)
{
    *n_out = 1;
    *optional = MCT_OP_MAX_IDS;
    switch (opcode) {
    case MCT_OP_ACT_GRAD:
    case MCT_OP_CONV_GRAD_WEIGHT:
    case MCT_OP_DW_GRAD_WEIGHT:
    case MCT_OP_FC_GRAD_WEIGHT:
    case MCT_OP_MAX_POOL_GRAD:
    case MCT_OP_NORMALIZE:
        *n_in = 2;
        return 1;
    case MCT_OP_CONV_GRAD_INPUT:
    case MCT_OP_DW_GRAD_INPUT:
    case MCT_OP_FC_GRAD_INPUT:
        *n_in = 3;
        *optional = 2; /* the RAM channels of a sparsely updated layer */
        return 1;
    case MCT_OP_GRAD_BIAS:
    case MCT_OP_AVG_POOL_GRAD:
    case MCT_OP_MEAN_GRAD:
    case MCT_OP_PAD_GRAD:
    case MCT_OP_UPDATE_BIAS:
    case MCT_OP_MASK:
        *n_in = 1;
        return 1;
    case MCT_OP_GRAD_COPY:
        *n_in = 1;
        *n_out = 2;
        *optional = 2; /* second output (ADD's other input) */
        return 1;
    case MCT_OP_UPDATE_WEIGHT:
        *n_in = 1;
        *n_out = 2;
        *optional = 2; /* PRNG state or fraction accumulator */
        return 1;
    case MCT_OP_SOFTMAX_XENT:
        *n_in = 2;
        *n_out = 3;
        return 1;
    default:
        *n_in = 0;
        *n_out = 0;
        return 0;
    }
}

/* Filter (flash) and optional RAM channels of a conv-like op: filter at in[fi], RAM copy at in[ri].
   kind 0 conv [Co, KH, KW, Ci], 1 depthwise [1, KH, KW, Co], 2 FC [U, D]. */
static mct_status_t check_filter_pair(const op_view_t *v, uint32_t fi, uint32_t ri, int kind, uint32_t *c_out)
{
    const mct_tensor_t *f = &v->in[fi];
    if (f->dtype != MCT_DTYPE_INT8 || f->rank != (kind == 2 ? 2 : 4) || (kind == 1 && f->dims[0] != 1)) {
        return MCT_E_OP;
    }
    *c_out = (kind == 1) ? f->dims[3] : f->dims[0];
    if (!v->has_in[ri]) {
        return MCT_OK;
    }
    const mct_tensor_t *r = &v->in[ri];
    if (r->dtype != MCT_DTYPE_INT8 || !in_arena(r) || r->rank != f->rank) {
        return MCT_E_OP;
    }
    const uint32_t ch = (kind == 1) ? 3u : 0u; /* the updated channels are the first k along this dim */
    for (uint32_t i = 0; i < f->rank; ++i) {
        if (i == ch ? (r->dims[i] < 1 || r->dims[i] > f->dims[i]) : (r->dims[i] != f->dims[i])) {
            return MCT_E_OP;
        }
    }
    return MCT_OK;
}

mct_status_t mct_check_split(const op_view_t *v)
{
    if (!v->has_in[3]) {
        return MCT_E_OP;
    }
    const int kind = (v->op.opcode == MCT_OP_CONV_2D) ? 0 : ((v->op.opcode == MCT_OP_DEPTHWISE_CONV_2D) ? 1 : 2);
    uint32_t c_out;
    return check_filter_pair(v, 1, 3, kind, &c_out);
}

static mct_status_t check_grad_input(const op_view_t *v, int kind)
{
    const mct_tensor_t *gy = &v->in[0], *gx = &v->out[0];
    const int mode = grad_mode(gy);
    uint32_t co;
    if (mode < 0 || !is_acc(gx, mode) || check_filter_pair(v, 1, 2, kind, &co) != MCT_OK) {
        return MCT_E_OP;
    }
    const mct_tensor_t *f = &v->in[1];
    const int32_t *w = v->w;
    if (kind == 2) {
        if (elems(gy) != co || elems(gx) != f->dims[1]) {
            return MCT_E_OP;
        }
        if (v->n_words != MCT_P_FCGIN_WORDS + 2u * co) {
            return MCT_E_PARAM;
        }
        if (!is_flag(w[0]) || (mode && w[0]) || !mct_in_range(w[1], -64, 64) || w[2] != (int32_t)co ||
            !shifts_ok(w + 3, w + 3 + co, co, mode)) {
            return MCT_E_PARAM;
        }
        return MCT_OK;
    }
    if (!nhwc1(gy) || !nhwc1(gx) || gy->dims[3] != co) {
        return MCT_E_OP;
    }
    if (kind == 0 ? (f->dims[3] != gx->dims[3]) : ((uint32_t)gx->dims[3] * 1u > co)) {
        return MCT_E_OP;
    }
    if (v->n_words != MCT_P_GIN_WORDS + 2u * co) {
        return MCT_E_PARAM;
    }
    if (!geom_ok(w) || !is_flag(w[5]) || (mode && w[5]) || !mct_in_range(w[6], -64, 64) || w[7] != (int32_t)co ||
        !shifts_ok(w + 8, w + 8 + co, co, mode)) {
        return MCT_E_PARAM;
    }
    if (kind == 0 ? (w[4] != 1) : (w[4] < 1 || (int64_t)gx->dims[3] * w[4] != (int64_t)co)) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

static mct_status_t check_grad_weight(const op_view_t *v, int kind)
{
    const mct_tensor_t *gy = &v->in[0], *x = &v->in[1], *gw = &v->out[0];
    const int mode = grad_mode(gy);
    if (mode < 0 || !is_acc(gw, mode) || x->dtype != MCT_DTYPE_INT8) {
        return MCT_E_OP;
    }
    const int32_t *w = v->w;
    if (kind == 2) {
        if (gw->rank != 2 || v->n_words != MCT_P_FCGW_WORDS) {
            return (gw->rank != 2) ? MCT_E_OP : MCT_E_PARAM;
        }
        if (gw->dims[0] > elems(gy) || gw->dims[1] != elems(x)) {
            return MCT_E_OP;
        }
        return (mct_in_range(w[0], -255, 255) && w[2] == (int32_t)gw->dims[0]) ? MCT_OK : MCT_E_PARAM;
    }
    if (!nhwc1(gy) || !nhwc1(x) || gw->rank != 4) {
        return MCT_E_OP;
    }
    if (v->n_words != MCT_P_GW_WORDS) {
        return MCT_E_PARAM;
    }
    const uint32_t k = (kind == 0) ? gw->dims[0] : gw->dims[3];
    if (kind == 0 ? (gw->dims[3] != x->dims[3]) : (gw->dims[0] != 1)) {
        return MCT_E_OP;
    }
    if (k > gy->dims[3]) {
        return MCT_E_OP;
    }
    if (!geom_ok(w) || !mct_in_range(w[5], -255, 255) || !mct_in_range(w[6], 0, 31) || w[8] != (int32_t)k) {
        return MCT_E_PARAM;
    }
    if (kind == 0 ? (w[4] != 1) : (w[4] < 1 || (int64_t)x->dims[3] * w[4] != (int64_t)gy->dims[3])) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

static mct_status_t check_pool_grad(const op_view_t *v, int is_max)
{
    const mct_tensor_t *gy = &v->in[0], *gx = &v->out[0];
    const int mode = grad_mode(gy);
    if (mode < 0 || !is_acc(gx, mode) || !nhwc1(gy) || !nhwc1(gx) || gy->dims[3] != gx->dims[3]) {
        return MCT_E_OP;
    }
    if (is_max) {
        const mct_tensor_t *x = &v->in[1];
        if (x->dtype != MCT_DTYPE_INT8 || !nhwc1(x) || x->dims[1] != gx->dims[1] || x->dims[2] != gx->dims[2] ||
            x->dims[3] != gx->dims[3]) {
            return MCT_E_OP;
        }
    }
    const int32_t *w = v->w;
    if (v->n_words != MCT_P_POOLG_WORDS || !geom_ok(w) || !mct_in_range(w[4], 1, 65535) || !mct_in_range(w[5], 1, 65535) ||
        !mct_in_range(w[6], 0, 15) || !is_flag(w[7]) || (mode && w[7])) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

static mct_status_t check_mean_grad(const op_view_t *v)
{
    const mct_tensor_t *gy = &v->in[0], *gx = &v->out[0];
    const int mode = grad_mode(gy);
    if (mode < 0 || !is_acc(gx, mode)) {
        return MCT_E_OP;
    }
    const int32_t *w = v->w;
    if (v->n_words != MCT_P_MEANG_WORDS || !mct_in_range(w[0], 0, 15) || !is_flag(w[3]) || (mode && w[3])) {
        return MCT_E_PARAM;
    }
    int32_t d[4];
    mct_tensor_ext4(gx, d);
    uint32_t kept = 1, count = 1;
    for (int i = 0; i < 4; ++i) {
        if ((w[0] >> i) & 1) {
            count *= (uint32_t)d[i];
        } else {
            kept *= (uint32_t)d[i];
        }
    }
    if (kept != elems(gy)) {
        return MCT_E_OP;
    }
    int32_t bits = 0;
    for (uint32_t c = count; c != 0; c >>= 1) {
        ++bits;
    }
    return (w[2] == (int32_t)count && mct_in_range(w[1], 0, 14 + bits)) ? MCT_OK : MCT_E_PARAM;
}

static mct_status_t check_pad_grad(const op_view_t *v)
{
    const mct_tensor_t *gy = &v->in[0], *gx = &v->out[0];
    const int mode = grad_mode(gy);
    if (mode < 0 || !(is_grad(gx, mode) || is_acc(gx, mode)) || gy->rank != gx->rank) {
        return MCT_E_OP;
    }
    if (v->n_words != MCT_P_PADG_WORDS || !is_flag(v->w[4]) || (mode && v->w[4])) {
        return MCT_E_PARAM;
    }
    int32_t dy[4], dx[4];
    mct_tensor_ext4(gy, dy);
    mct_tensor_ext4(gx, dx);
    for (int i = 0; i < 4; ++i) {
        if (!mct_in_range(v->w[i], 0, 65535)) {
            return MCT_E_PARAM;
        }
        if ((int64_t)dx[i] + v->w[i] > dy[i]) {
            return MCT_E_OP;
        }
    }
    return MCT_OK;
}

static mct_status_t check_copy(const op_view_t *v)
{
    const mct_tensor_t *gy = &v->in[0];
    const int mode = grad_mode(gy);
    if (mode < 0 || !v->has_out[0]) {
        return MCT_E_OP;
    }
    for (uint32_t i = 0; i < 2; ++i) {
        if (v->has_out[i] && (!(is_grad(&v->out[i], mode) || is_acc(&v->out[i], mode)) ||
                              elems(&v->out[i]) != elems(gy))) {
            return MCT_E_OP;
        }
    }
    const int32_t *w = v->w;
    if (v->n_words != MCT_P_COPY_WORDS || !is_flag(w[0]) || !is_flag(w[1]) || (mode && (w[0] || w[1]))) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

static mct_status_t check_xent(const op_view_t *v)
{
    const mct_tensor_t *z = &v->in[0], *label = &v->in[1], *g = &v->out[0], *res = &v->out[1], *s = &v->out[2];
    const int mode = grad_mode(g);
    const uint32_t n = elems(z);
    if (mode < 0 || z->dtype != MCT_DTYPE_INT8 || label->dtype != MCT_DTYPE_INT32 || elems(label) != 1 ||
        elems(g) != n || res->dtype != MCT_DTYPE_FLOAT32 || elems(res) != 2 ||
        s->dtype != (mode ? MCT_DTYPE_INT32 : MCT_DTYPE_FLOAT32) || elems(s) != n) {
        return MCT_E_OP;
    }
    const int32_t *w = v->w;
    if (v->n_words != MCT_P_XENT_WORDS || !mct_in_range(w[0], -128, 127) || w[2] < 0 || !mct_in_range(w[3], 0, 31) ||
        w[4] > 0) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

static mct_status_t check_update_weight(const op_view_t *v)
{
    const mct_tensor_t *gw = &v->in[0], *wt = &v->out[0], *aux = &v->out[1];
    const int mode = (gw->dtype == MCT_DTYPE_FLOAT32) ? 0 : ((gw->dtype == MCT_DTYPE_G32) ? 1 : -1);
    const uint32_t n = elems(gw);
    if (mode < 0 || wt->dtype != MCT_DTYPE_INT8 || elems(wt) != n) {
        return MCT_E_OP;
    }
    const int32_t *w = v->w;
    if (v->n_words < MCT_P_UPW_WORDS || !mct_in_range(w[0], 0, 2) || (w[1] != 0 && w[1] != 3) || w[2] < 1 || w[3] < 1 ||
        (int64_t)w[2] * w[3] != (int64_t)n || !is_flag(w[4]) || !is_flag(w[6]) ||
        v->n_words != MCT_P_UPW_WORDS + 2u * (uint32_t)w[2]) {
        return MCT_E_PARAM;
    }
    if (w[0] == 1 && (!v->has_out[1] || aux->dtype != MCT_DTYPE_INT32 || elems(aux) != 1)) {
        return MCT_E_OP; /* stochastic: the PRNG state */
    }
    if (w[0] == 2) { /* accumulator: one int8 / int16 fraction per weight */
        if (w[7] != 8 && w[7] != 16) {
            return MCT_E_PARAM;
        }
        if (!v->has_out[1] || aux->dtype != (w[7] == 8 ? MCT_DTYPE_INT8 : MCT_DTYPE_INT16) || elems(aux) != n) {
            return MCT_E_OP;
        }
    }
    if (w[0] == 0 && v->has_out[1]) {
        return MCT_E_OP;
    }
    const uint32_t k = (uint32_t)w[2];
    return shifts_ok(w + MCT_P_UPW_WORDS, w + MCT_P_UPW_WORDS + k, k, mode) ? MCT_OK : MCT_E_PARAM;
}

static mct_status_t check_update_bias(const op_view_t *v)
{
    const mct_tensor_t *gb = &v->in[0], *b = &v->out[0];
    const int mode = (gb->dtype == MCT_DTYPE_FLOAT32) ? 0 : ((gb->dtype == MCT_DTYPE_G32) ? 1 : -1);
    const uint32_t n = elems(gb);
    if (mode < 0 || b->dtype != MCT_DTYPE_INT32 || elems(b) != n) {
        return MCT_E_OP;
    }
    const int32_t *w = v->w;
    if (v->n_words != MCT_P_UPB_WORDS + 2u * n || w[0] != (int32_t)n || !is_flag(w[1]) ||
        !shifts_ok(w + MCT_P_UPB_WORDS, w + MCT_P_UPB_WORDS + n, n, mode)) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

mct_status_t mct_check_train_op(const op_view_t *v)
{
    const mct_tensor_t *in0 = &v->in[0], *out0 = &v->out[0];
    switch (v->op.opcode) {
    case MCT_OP_MASK:
        if (in0->dtype != MCT_DTYPE_INT8 || out0->dtype != MCT_DTYPE_BITS || elems(in0) != elems(out0)) {
            return MCT_E_OP;
        }
        return (v->n_words == MCT_P_MASK_WORDS && act_ok(v->w[0], v->w[1])) ? MCT_OK : MCT_E_PARAM;
    case MCT_OP_ACT_GRAD: {
        const mct_tensor_t *m = &v->in[1];
        if (grad_mode(in0) < 0 || v->op.ids[0] != v->op.ids[2] || elems(m) != elems(in0) ||
            (m->dtype != MCT_DTYPE_BITS && m->dtype != MCT_DTYPE_INT8)) {
            return MCT_E_OP; /* in place: the output is the input gradient */
        }
        if (v->n_words != MCT_P_ACTG_WORDS || !act_ok(v->w[0], v->w[1]) ||
            v->w[2] != (m->dtype == MCT_DTYPE_INT8 ? 1 : 0)) {
            return MCT_E_PARAM;
        }
        return MCT_OK;
    }
    case MCT_OP_CONV_GRAD_INPUT:
        return check_grad_input(v, 0);
    case MCT_OP_DW_GRAD_INPUT:
        return check_grad_input(v, 1);
    case MCT_OP_FC_GRAD_INPUT:
        return check_grad_input(v, 2);
    case MCT_OP_CONV_GRAD_WEIGHT:
        return check_grad_weight(v, 0);
    case MCT_OP_DW_GRAD_WEIGHT:
        return check_grad_weight(v, 1);
    case MCT_OP_FC_GRAD_WEIGHT:
        return check_grad_weight(v, 2);
    case MCT_OP_GRAD_BIAS: {
        const int mode = grad_mode(in0);
        const uint32_t c = elems(out0);
        if (mode < 0 || !is_acc(out0, mode) || c == 0 || in0->rank < 1 || in0->dims[in0->rank - 1] != c) {
            return MCT_E_OP;
        }
        return (v->n_words == MCT_P_GB_WORDS && v->w[0] == (int32_t)c) ? MCT_OK : MCT_E_PARAM;
    }
    case MCT_OP_GRAD_COPY:
        return check_copy(v);
    case MCT_OP_AVG_POOL_GRAD:
        return check_pool_grad(v, 0);
    case MCT_OP_MAX_POOL_GRAD:
        return check_pool_grad(v, 1);
    case MCT_OP_MEAN_GRAD:
        return check_mean_grad(v);
    case MCT_OP_PAD_GRAD:
        return check_pad_grad(v);
    case MCT_OP_NORMALIZE:
        if (in0->dtype != MCT_DTYPE_G32 || v->in[1].dtype != MCT_DTYPE_G16 || v->op.ids[1] != v->op.ids[2] ||
            elems(in0) != elems(out0)) {
            return MCT_E_OP;
        }
        return (v->n_words == MCT_P_NORM_WORDS && is_flag(v->w[0])) ? MCT_OK : MCT_E_PARAM;
    case MCT_OP_SOFTMAX_XENT:
        return check_xent(v);
    case MCT_OP_UPDATE_WEIGHT:
        return check_update_weight(v);
    case MCT_OP_UPDATE_BIAS:
        return check_update_bias(v);
    default:
        return MCT_E_OPCODE;
    }
}

int mct_op_reads(const mct_op_rec_t *op, const int32_t *w, uint32_t slot)
{
    if (slot < op->n_in) {
        /* NORMALIZE's in-place g is only read when it sums into it */
        return (op->opcode == MCT_OP_NORMALIZE && slot == 1) ? (w[0] != 0) : 1;
    }
    const uint32_t k = slot - op->n_in;
    switch (op->opcode) {
    case MCT_OP_CONV_GRAD_INPUT:
    case MCT_OP_DW_GRAD_INPUT:
        return w[5] != 0;
    case MCT_OP_FC_GRAD_INPUT:
        return w[0] != 0;
    case MCT_OP_GRAD_COPY:
        return w[k] != 0; /* acc1, acc2 */
    case MCT_OP_AVG_POOL_GRAD:
    case MCT_OP_MAX_POOL_GRAD:
        return w[7] != 0;
    case MCT_OP_MEAN_GRAD:
        return w[3] != 0;
    case MCT_OP_PAD_GRAD:
        return w[4] != 0;
    case MCT_OP_UPDATE_WEIGHT: /* the weights in place, and the PRNG state / fractions */
    case MCT_OP_UPDATE_BIAS:
        return 1;
    default:
        return 0;
    }
}

static int tensor_is(const mct_program_t *p, uint32_t id, uint8_t dtype, uint32_t n)
{
    if (id >= p->n_tensors) {
        return 0;
    }
    mct_tensor_t t;
    mct_decode_tensor(p, id, &t);
    return t.dtype == dtype && mct_tensor_elems(&t) == n && t.storage != MCT_STORE_CONST;
}

mct_status_t mct_check_train_section(mct_program_t *p, uint32_t off)
{
    if ((off & 3u) != 0) {
        return MCT_E_ALIGN;
    }
    if (off < MCT_HEADER_SIZE || !mct_fits(off, MCT_TS_SIZE, p->size)) {
        return MCT_E_BOUNDS;
    }
    const uint8_t *ts = p->blob + off;
    const uint32_t n_fwd = mct_rd16(ts + MCT_TS_N_FWD), n_state = mct_rd16(ts + MCT_TS_N_STATE);
    if (n_fwd > p->n_ops || n_state > MCT_MAX_STATE || mct_rd32(ts + MCT_TS_RESERVED) != 0 ||
        mct_rd32(ts + MCT_TS_RESERVED + 4) != 0) {
        return MCT_E_PARAM;
    }
    if (!mct_fits(off, MCT_TS_SIZE + 8ull * n_state, p->size)) {
        return MCT_E_BOUNDS;
    }
    for (uint32_t i = 0; i < n_state; ++i) {
        const uint32_t o = mct_rd32(ts + MCT_TS_SIZE + 8 * i), n = mct_rd32(ts + MCT_TS_SIZE + 8 * i + 4);
        if ((o & 3u) != 0) {
            return MCT_E_ALIGN;
        }
        if (!mct_fits(o, n, p->arena_size)) {
            return MCT_E_BOUNDS;
        }
    }
    const uint32_t label = mct_rd16(ts + MCT_TS_LABEL), result = mct_rd16(ts + MCT_TS_RESULT);
    const uint32_t logits = mct_rd16(ts + MCT_TS_LOGITS);
    if (!tensor_is(p, label, MCT_DTYPE_INT32, 1) || !tensor_is(p, result, MCT_DTYPE_FLOAT32, 2) ||
        logits >= p->n_tensors) {
        return MCT_E_TENSOR;
    }
    mct_tensor_t t;
    mct_decode_tensor(p, logits, &t);
    if (t.dtype != MCT_DTYPE_INT8 || t.storage == MCT_STORE_CONST) {
        return MCT_E_TENSOR;
    }
    p->train = ts;
    p->n_forward_ops = (uint16_t)n_fwd;
    p->n_state = (uint16_t)n_state;
    p->label_id = (uint16_t)label;
    p->result_id = (uint16_t)result;
    p->logits_id = (uint16_t)logits;
    return MCT_OK;
}
