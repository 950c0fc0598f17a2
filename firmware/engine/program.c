/*
 * program.c - loads and validates a compiled program (docs/schedule-format.md).
 *
 * A program may come from an untrusted serial link, so the loader checks everything a kernel
 * will later rely on: header, CRC, every table bound, every tensor's extent in the arena or
 * constant pool, every op's tensor ids, dtypes, shape relations and parameter ranges. After
 * mct_program_load() returns MCT_OK, running any op range cannot touch memory outside the
 * blob and the arena. All size arithmetic is done in 64 bits so hostile values cannot wrap.
 */
#include "engine.h"
#include "program_format.h"
#include "program_internal.h"

#define MAX_TENSOR_BYTES (1u << 24) /* keeps every int32 index and int8 sum far from overflow */
#define MAX_DOT_LENGTH 65536        /* conv/fc accumulation length: |acc| < 2^31 for any int8 data */

static int is_little_endian(void)
{
    const uint32_t one = 1u;
    return *(const uint8_t *)(const void *)&one == 1u;
}

int mct_fits(uint64_t off, uint64_t size, uint64_t limit)
{
    return off <= limit && size <= limit - off;
}

#define fits mct_fits

static mct_status_t check_tensor(const mct_program_t *p, uint32_t id)
{
    mct_tensor_t t;
    mct_decode_tensor(p, id, &t);
    if (mct_dtype_nbytes(t.dtype, 1) == 0 || t.storage > MCT_STORE_ARENA_INIT || t.rank > MCT_MAX_RANK) {
        return MCT_E_TENSOR;
    }
    if (p->version < 2 && t.dtype > MCT_DTYPE_FLOAT32) {
        return MCT_E_TENSOR;
    }
    uint64_t elems = 1;
    for (uint32_t i = 0; i < MCT_MAX_RANK; ++i) {
        if (i < t.rank) {
            if (t.dims[i] == 0) {
                return MCT_E_TENSOR;
            }
            elems *= t.dims[i];
        } else if (t.dims[i] != 0) {
            return MCT_E_TENSOR;
        }
    }
    if (mct_dtype_nbytes(t.dtype, elems) != t.nbytes || t.nbytes > MAX_TENSOR_BYTES) {
        return MCT_E_TENSOR;
    }
    if (mct_dtype_has_exp(t.dtype)) {
        /* gradients live in the arena; init_off is the arena offset of their int32 exponent */
        if (t.storage != MCT_STORE_ARENA) {
            return MCT_E_TENSOR;
        }
        if ((t.init_off & 3u) != 0) {
            return MCT_E_ALIGN;
        }
        if (!fits(t.init_off, 4, p->arena_size)) {
            return MCT_E_BOUNDS;
        }
    }
    if ((t.offset & 3u) != 0 || (t.init_off & 3u) != 0) {
        return MCT_E_ALIGN;
    }
    if (t.storage == MCT_STORE_CONST) {
        return fits(t.offset, t.nbytes, p->consts_size) ? MCT_OK : MCT_E_BOUNDS;
    }
    if (!fits(t.offset, t.nbytes, p->arena_size)) {
        return MCT_E_BOUNDS;
    }
    if (t.storage == MCT_STORE_ARENA_INIT && !fits(t.init_off, t.nbytes, p->consts_size)) {
        return MCT_E_BOUNDS;
    }
    return MCT_OK;
}

static int is_s8(const mct_tensor_t *t)
{
    return t->dtype == MCT_DTYPE_INT8;
}


static int shift_ok(int32_t s)
{
    return mct_in_range(s, -31, 31);
}

static int mult_ok(int32_t m)
{
    return m >= 0;
}

static int act_ok(int32_t lo, int32_t hi)
{
    return mct_in_range(lo, -128, 127) && mct_in_range(hi, -128, 127) && lo <= hi;
}

static int offset_ok(int32_t o)
{
    return mct_in_range(o, -255, 255);
}

static mct_status_t check_conv(const op_view_t *v, int depthwise)
{
    const mct_tensor_t *in = &v->in[0], *f = &v->in[1], *out = &v->out[0];
    if (!is_s8(in) || !is_s8(f) || !is_s8(out) || in->rank != 4 || f->rank != 4 || out->rank != 4) {
        return MCT_E_OP;
    }
    const int32_t cin = in->dims[3], cout = out->dims[3];
    if (out->dims[0] != in->dims[0]) {
        return MCT_E_OP;
    }
    if (depthwise) {
        if (f->dims[0] != 1 || f->dims[3] != cout) {
            return MCT_E_OP;
        }
    } else if (f->dims[0] != cout || f->dims[3] != cin) {
        return MCT_E_OP;
    }
    if ((int64_t)f->dims[1] * f->dims[2] * (depthwise ? 1 : cin) > MAX_DOT_LENGTH) {
        return MCT_E_OP;
    }
    if (v->has_in[2] && (v->in[2].dtype != MCT_DTYPE_INT32 || mct_tensor_elems(&v->in[2]) != (uint32_t)cout)) {
        return MCT_E_OP;
    }
    if (v->n_words != MCT_P_CONV_WORDS + 2u * (uint32_t)cout) {
        return MCT_E_PARAM;
    }
    const int32_t *w = v->w;
    if (!mct_in_range(w[0], 1, MCT_MAX_STRIDE) || !mct_in_range(w[1], 1, MCT_MAX_STRIDE) ||
        !mct_in_range(w[2], 0, 65535) || !mct_in_range(w[3], 0, 65535) || w[9] != cout) {
        return MCT_E_PARAM;
    }
    if (depthwise ? (w[4] < 1 || (int64_t)cin * w[4] != cout) : (w[4] != 1)) {
        return MCT_E_PARAM;
    }
    if (!offset_ok(w[5]) || !offset_ok(w[6]) || !act_ok(w[7], w[8])) {
        return MCT_E_PARAM;
    }
    for (int32_t c = 0; c < cout; ++c) {
        if (!mult_ok(w[10 + c]) || !shift_ok(w[10 + cout + c])) {
            return MCT_E_PARAM;
        }
    }
    return MCT_OK;
}

static mct_status_t check_fc(const op_view_t *v)
{
    const mct_tensor_t *in = &v->in[0], *f = &v->in[1], *out = &v->out[0];
    if (!is_s8(in) || !is_s8(f) || !is_s8(out) || f->rank != 2) {
        return MCT_E_OP;
    }
    const uint32_t units = f->dims[0], depth = f->dims[1];
    const uint32_t n_in = mct_tensor_elems(in);
    if (depth > MAX_DOT_LENGTH || n_in % depth != 0 || mct_tensor_elems(out) != (n_in / depth) * units) {
        return MCT_E_OP;
    }
    if (v->has_in[2] && (v->in[2].dtype != MCT_DTYPE_INT32 || mct_tensor_elems(&v->in[2]) != units)) {
        return MCT_E_OP;
    }
    if (v->n_words != MCT_P_FC_WORDS + 2u * units) {
        return MCT_E_PARAM;
    }
    const int32_t *w = v->w;
    if (!offset_ok(w[0]) || !offset_ok(w[1]) || !offset_ok(w[2]) || !act_ok(w[3], w[4]) || w[5] != (int32_t)units) {
        return MCT_E_PARAM;
    }
    for (uint32_t c = 0; c < units; ++c) {
        if (!mult_ok(w[6 + c]) || !shift_ok(w[6 + units + c])) {
            return MCT_E_PARAM;
        }
    }
    return MCT_OK;
}

static mct_status_t check_add(const op_view_t *v)
{
    const uint32_t n = mct_tensor_elems(&v->out[0]);
    if (!is_s8(&v->in[0]) || !is_s8(&v->in[1]) || !is_s8(&v->out[0]) || mct_tensor_elems(&v->in[0]) != n ||
        mct_tensor_elems(&v->in[1]) != n) {
        return MCT_E_OP;
    }
    if (v->n_words != MCT_P_ADD_WORDS) {
        return MCT_E_PARAM;
    }
    const int32_t *w = v->w;
    if (!offset_ok(w[0]) || !offset_ok(w[1]) || !mct_in_range(w[2], 0, 22) || !mult_ok(w[3]) || !shift_ok(w[4]) ||
        !mult_ok(w[5]) || !shift_ok(w[6]) || !mult_ok(w[7]) || !shift_ok(w[8]) || !offset_ok(w[9]) ||
        !act_ok(w[10], w[11])) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

static mct_status_t check_pool(const op_view_t *v)
{
    const mct_tensor_t *in = &v->in[0], *out = &v->out[0];
    if (!is_s8(in) || !is_s8(out) || in->rank != 4 || out->rank != 4 || in->dims[0] != out->dims[0] ||
        in->dims[3] != out->dims[3]) {
        return MCT_E_OP;
    }
    if (v->n_words != MCT_P_POOL_WORDS) {
        return MCT_E_PARAM;
    }
    const int32_t *w = v->w;
    if (!mct_in_range(w[0], 1, MCT_MAX_STRIDE) || !mct_in_range(w[1], 1, MCT_MAX_STRIDE) ||
        !mct_in_range(w[2], 0, 65535) || !mct_in_range(w[3], 0, 65535) || !mct_in_range(w[4], 1, 65535) ||
        !mct_in_range(w[5], 1, 65535) || !act_ok(w[6], w[7])) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

static mct_status_t check_mean(const op_view_t *v)
{
    const mct_tensor_t *in = &v->in[0], *out = &v->out[0];
    if (!is_s8(in) || !is_s8(out) || v->n_words != MCT_P_MEAN_WORDS) {
        return is_s8(in) && is_s8(out) ? MCT_E_PARAM : MCT_E_OP;
    }
    const int32_t *w = v->w;
    if (!mct_in_range(w[0], 0, 15) || w[1] != 0 || !offset_ok(w[2]) || !offset_ok(w[3]) || !mult_ok(w[4]) ||
        !shift_ok(w[5])) {
        return MCT_E_PARAM;
    }
    int32_t d[4];
    mct_tensor_ext4(in, d);
    uint32_t n_out = 1;
    for (int i = 0; i < 4; ++i) {
        n_out *= ((w[0] >> i) & 1) ? 1u : (uint32_t)d[i];
    }
    return (mct_tensor_elems(out) == n_out) ? MCT_OK : MCT_E_OP;
}

static mct_status_t check_pad(const op_view_t *v)
{
    const mct_tensor_t *in = &v->in[0], *out = &v->out[0];
    if (!is_s8(in) || !is_s8(out) || in->rank != out->rank) {
        return MCT_E_OP;
    }
    if (v->n_words != MCT_P_PAD_WORDS) {
        return MCT_E_PARAM;
    }
    int32_t di[4], dout[4];
    mct_tensor_ext4(in, di);
    mct_tensor_ext4(out, dout);
    for (int i = 0; i < 4; ++i) {
        if (!mct_in_range(v->w[i], 0, 65535) || !mct_in_range(v->w[4 + i], 0, 65535)) {
            return MCT_E_PARAM;
        }
        if ((int64_t)di[i] + v->w[i] + v->w[4 + i] != dout[i]) {
            return MCT_E_OP;
        }
    }
    return mct_in_range(v->w[8], -128, 127) ? MCT_OK : MCT_E_PARAM;
}

static mct_status_t check_softmax(const op_view_t *v)
{
    const mct_tensor_t *in = &v->in[0], *out = &v->out[0];
    if (!is_s8(in) || !is_s8(out) || in->rank < 1 || mct_tensor_elems(in) != mct_tensor_elems(out)) {
        return MCT_E_OP;
    }
    if (v->n_words != MCT_P_SOFTMAX_WORDS || !mult_ok(v->w[0]) || !mct_in_range(v->w[1], 0, 31) || v->w[2] > 0) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

static mct_status_t check_unary(const op_view_t *v, uint8_t din, uint8_t dout, uint32_t words)
{
    if (v->in[0].dtype != din || v->out[0].dtype != dout ||
        mct_tensor_elems(&v->in[0]) != mct_tensor_elems(&v->out[0])) {
        return MCT_E_OP;
    }
    if (v->n_words != words) {
        return MCT_E_PARAM;
    }
    if (v->op.opcode == MCT_OP_REQUANTIZE &&
        (!offset_ok(v->w[0]) || !offset_ok(v->w[1]) || !mult_ok(v->w[2]) || !shift_ok(v->w[3]))) {
        return MCT_E_PARAM;
    }
    if ((v->op.opcode == MCT_OP_QUANTIZE || v->op.opcode == MCT_OP_DEQUANTIZE) && !offset_ok(v->w[1])) {
        return MCT_E_PARAM;
    }
    return MCT_OK;
}

/* Expected (inputs, outputs, first optional input) per opcode; 0 inputs = unknown opcode. */
static void arity(uint8_t opcode, uint32_t *n_in, uint32_t *n_out, uint32_t *optional)
{
    if (mct_train_arity(opcode, n_in, n_out, optional)) {
        return;
    }
    *n_out = 1;
    *optional = MCT_OP_MAX_IDS;
    switch (opcode) {
    case MCT_OP_CONV_2D:
    case MCT_OP_DEPTHWISE_CONV_2D:
    case MCT_OP_FULLY_CONNECTED:
        *n_in = 3;
        *optional = 2; /* bias */
        break;
    case MCT_OP_ADD:
        *n_in = 2;
        break;
    case MCT_OP_AVERAGE_POOL_2D:
    case MCT_OP_MAX_POOL_2D:
    case MCT_OP_MEAN:
    case MCT_OP_PAD:
    case MCT_OP_SOFTMAX:
    case MCT_OP_RESHAPE:
    case MCT_OP_QUANTIZE:
    case MCT_OP_DEQUANTIZE:
    case MCT_OP_REQUANTIZE:
        *n_in = 1;
        break;
    default:
        *n_in = 0;
        *n_out = 0;
        break;
    }
}

static mct_status_t check_op(const mct_program_t *p, uint32_t idx)
{
    op_view_t v;
    mct_decode_op(p, idx, &v.op);
    uint32_t n_in, n_out, optional;
    arity(v.op.opcode, &n_in, &n_out, &optional);
    if (n_in == 0) {
        return MCT_E_OPCODE;
    }
    if (v.op.flags != 0) {
        /* version 2: a forward conv/FC of a sparsely updated layer reads a 4th input (its RAM channels) */
        if (p->version < 2 || v.op.flags != MCT_OPF_SPLIT_W ||
            (v.op.opcode != MCT_OP_CONV_2D && v.op.opcode != MCT_OP_DEPTHWISE_CONV_2D &&
             v.op.opcode != MCT_OP_FULLY_CONNECTED)) {
            return MCT_E_OP;
        }
        n_in = 4;
        optional = 2; /* bias stays optional; check_split requires input 3 */
    }
    if (v.op.n_in != n_in || v.op.n_out != n_out) {
        return MCT_E_OP;
    }
    for (uint32_t i = 0; i < MCT_OP_MAX_IDS; ++i) {
        v.has_in[i] = 0;
        v.has_out[i] = 0;
    }
    for (uint32_t i = 0; i < n_in + n_out; ++i) {
        const uint16_t id = v.op.ids[i];
        const int is_in = i < n_in;
        if (id == MCT_NO_TENSOR && i >= optional) {
            continue; /* absent optional input (e.g. no bias) or output (e.g. a second gradient) */
        }
        if (id >= p->n_tensors) {
            return MCT_E_OP;
        }
        mct_tensor_t *t = is_in ? &v.in[i] : &v.out[i - n_in];
        mct_decode_tensor(p, id, t);
        if (is_in) {
            v.has_in[i] = 1;
        } else if (t->storage == MCT_STORE_CONST) {
            return MCT_E_OP; /* outputs must be writable */
        } else {
            v.has_out[i - n_in] = 1;
        }
    }
    for (uint32_t i = n_in + n_out; i < MCT_OP_MAX_IDS; ++i) {
        if (v.op.ids[i] != MCT_NO_TENSOR) {
            return MCT_E_OP;
        }
    }
    if ((v.op.param_off & 3u) != 0 || (v.op.param_size & 3u) != 0) {
        return MCT_E_ALIGN;
    }
    if (!fits(v.op.param_off, v.op.param_size, p->consts_size)) {
        return MCT_E_BOUNDS;
    }
    v.w = mct_op_params(p, &v.op);
    v.prog = p;
    v.n_words = v.op.param_size / 4u;

    if (v.op.flags == MCT_OPF_SPLIT_W) {
        const mct_status_t s = mct_check_split(&v);
        if (s != MCT_OK) {
            return s;
        }
    }
    switch (v.op.opcode) {
    case MCT_OP_CONV_2D:
        return check_conv(&v, 0);
    case MCT_OP_DEPTHWISE_CONV_2D:
        return check_conv(&v, 1);
    case MCT_OP_FULLY_CONNECTED:
        return check_fc(&v);
    case MCT_OP_ADD:
        return check_add(&v);
    case MCT_OP_AVERAGE_POOL_2D:
    case MCT_OP_MAX_POOL_2D:
        return check_pool(&v);
    case MCT_OP_MEAN:
        return check_mean(&v);
    case MCT_OP_PAD:
        return check_pad(&v);
    case MCT_OP_SOFTMAX:
        return check_softmax(&v);
    case MCT_OP_RESHAPE:
        if (v.in[0].dtype != v.out[0].dtype || v.in[0].nbytes != v.out[0].nbytes) {
            return MCT_E_OP;
        }
        return (v.n_words == 0) ? MCT_OK : MCT_E_PARAM;
    case MCT_OP_QUANTIZE:
        return check_unary(&v, MCT_DTYPE_FLOAT32, MCT_DTYPE_INT8, MCT_P_QUANT_WORDS);
    case MCT_OP_DEQUANTIZE:
        return check_unary(&v, MCT_DTYPE_INT8, MCT_DTYPE_FLOAT32, MCT_P_QUANT_WORDS);
    case MCT_OP_REQUANTIZE:
        return check_unary(&v, MCT_DTYPE_INT8, MCT_DTYPE_INT8, MCT_P_REQUANT_WORDS);
    default:
        return (p->version >= 2) ? mct_check_train_op(&v) : MCT_E_OPCODE;
    }
}

/* Graph inputs and outputs are written and read by the caller: plain arena tensors only (a constant
   would be written into the program, in flash on a device; an arena-initialised one is a parameter). */
static mct_status_t check_io(const mct_program_t *p)
{
    for (uint32_t i = 0; i < (uint32_t)p->n_inputs + p->n_outputs; ++i) {
        mct_tensor_t t;
        mct_decode_tensor(p, mct_rd16(p->io_table + 2 * i), &t);
        if (t.storage != MCT_STORE_ARENA) {
            return MCT_E_IO;
        }
    }
    return MCT_OK;
}

/* Dataflow, one bit per tensor: set when the tensor holds a value at this point of the op list. */
#define BITSET_WORDS (MCT_MAX_TENSORS / 32u)

static int bit_is_set(const uint32_t *bits, uint32_t id)
{
    return (int)((bits[id >> 5] >> (id & 31u)) & 1u);
}

static void bit_set(uint32_t *bits, uint32_t id)
{
    bits[id >> 5] |= 1u << (id & 31u);
}

/* Before the first op: constants, arena-initialised parameters (storage 2: weights, biases, PRNG and
   fraction state of training, copied in by mct_engine_init), the graph inputs and the training label. */
static void initial_values(const mct_program_t *p, uint32_t *bits)
{
    for (uint32_t i = 0; i < BITSET_WORDS; ++i) {
        bits[i] = 0;
    }
    for (uint32_t id = 0; id < p->n_tensors; ++id) {
        mct_tensor_t t;
        mct_decode_tensor(p, id, &t);
        if (t.storage != MCT_STORE_ARENA) {
            bit_set(bits, id);
        }
    }
    for (uint32_t i = 0; i < p->n_inputs; ++i) {
        bit_set(bits, mct_rd16(p->io_table + 2 * i));
    }
    if (p->train != 0) {
        bit_set(bits, p->label_id); /* written by mct_engine_train_step */
    }
}

/* Op idx (already checked by check_op) may only read tensors that hold a value (mct_op_reads: its
   inputs, and an output it accumulates into or updates in place); then its outputs hold values. */
static mct_status_t check_dataflow(const mct_program_t *p, uint32_t idx, uint32_t *bits)
{
    mct_op_rec_t op;
    mct_decode_op(p, idx, &op);
    const int32_t *w = mct_op_params(p, &op);
    for (uint32_t i = 0; i < (uint32_t)op.n_in + op.n_out; ++i) {
        const uint16_t id = op.ids[i];
        if (id == MCT_NO_TENSOR || bit_is_set(bits, id)) {
            continue;
        }
        if (mct_op_reads(&op, w, i)) {
            return MCT_E_DATAFLOW;
        }
    }
    for (uint32_t i = op.n_in; i < (uint32_t)op.n_in + op.n_out; ++i) {
        if (op.ids[i] != MCT_NO_TENSOR) {
            bit_set(bits, op.ids[i]);
        }
    }
    return MCT_OK;
}

mct_status_t mct_program_load(mct_program_t *p, const uint8_t *blob, uint32_t len)
{
    if (p == 0 || blob == 0) {
        return MCT_E_ARG;
    }
    p->first_bad_op = 0xFFFFFFFFu;
    if (!is_little_endian()) {
        return MCT_E_ARG;
    }
    if (((uintptr_t)blob & 3u) != 0) {
        return MCT_E_ALIGN; /* int32 parameter words and biases are read in place */
    }
    if (len < MCT_HEADER_SIZE) {
        return MCT_E_TRUNCATED;
    }
    if (blob[0] != MCT_MAGIC0 || blob[1] != MCT_MAGIC1 || blob[2] != MCT_MAGIC2 || blob[3] != MCT_MAGIC3) {
        return MCT_E_MAGIC;
    }
    const uint32_t version = mct_rd16(blob + MCT_H_VERSION);
    if (version < 1 || version > MCT_FORMAT_VERSION || mct_rd16(blob + MCT_H_HEADER_SIZE) != MCT_HEADER_SIZE) {
        return MCT_E_VERSION;
    }
    const uint32_t total = mct_rd32(blob + MCT_H_TOTAL_SIZE);
    if (total < MCT_HEADER_SIZE || total > len) {
        return MCT_E_TRUNCATED;
    }
    if (mct_crc32(0, blob + MCT_CRC_START, total - MCT_CRC_START) != mct_rd32(blob + MCT_H_CRC)) {
        return MCT_E_CRC;
    }
    if (mct_rd32(blob + MCT_H_FLAGS) != 0 || (version == 1 && mct_rd32(blob + MCT_H_RESERVED) != 0)) {
        return MCT_E_VERSION; /* features this engine does not know */
    }
    const uint32_t n_tensors = mct_rd16(blob + MCT_H_N_TENSORS);
    const uint32_t n_ops = mct_rd16(blob + MCT_H_N_OPS);
    const uint32_t t_off = mct_rd32(blob + MCT_H_TENSOR_OFF);
    const uint32_t o_off = mct_rd32(blob + MCT_H_OP_OFF);
    const uint32_t c_off = mct_rd32(blob + MCT_H_CONST_OFF);
    const uint32_t c_size = mct_rd32(blob + MCT_H_CONST_SIZE);
    const uint32_t io_off = mct_rd32(blob + MCT_H_IO_OFF);
    const uint32_t n_inputs = mct_rd16(blob + MCT_H_N_INPUTS);
    const uint32_t n_outputs = mct_rd16(blob + MCT_H_N_OUTPUTS);
    if (n_tensors > MCT_MAX_TENSORS) {
        return MCT_E_LIMIT;
    }
    if (t_off < MCT_HEADER_SIZE || o_off < MCT_HEADER_SIZE || c_off < MCT_HEADER_SIZE || io_off < MCT_HEADER_SIZE ||
        !fits(t_off, (uint64_t)n_tensors * MCT_TENSOR_REC_SIZE, total) ||
        !fits(o_off, (uint64_t)n_ops * MCT_OP_REC_SIZE, total) || !fits(c_off, c_size, total) ||
        !fits(io_off, 2u * ((uint64_t)n_inputs + n_outputs), total)) {
        return MCT_E_BOUNDS;
    }
    if ((c_off & 3u) != 0) {
        return MCT_E_ALIGN;
    }
    p->blob = blob;
    p->size = total;
    p->tensor_table = blob + t_off;
    p->op_table = blob + o_off;
    p->consts = blob + c_off;
    p->consts_size = c_size;
    p->io_table = blob + io_off;
    p->arena_size = mct_rd32(blob + MCT_H_ARENA_SIZE);
    p->n_tensors = (uint16_t)n_tensors;
    p->n_ops = (uint16_t)n_ops;
    p->n_inputs = (uint16_t)n_inputs;
    p->n_outputs = (uint16_t)n_outputs;
    p->version = (uint16_t)version;
    p->n_forward_ops = (uint16_t)n_ops;
    p->n_state = 0;
    p->train = 0;
    p->label_id = p->result_id = p->logits_id = MCT_NO_TENSOR;
    if ((p->arena_size & 3u) != 0) {
        return MCT_E_ALIGN;
    }
    for (uint32_t i = 0; i < n_inputs + n_outputs; ++i) {
        if (mct_rd16(p->io_table + 2 * i) >= n_tensors) {
            return MCT_E_BOUNDS;
        }
    }
    for (uint32_t i = 0; i < n_tensors; ++i) {
        const mct_status_t s = check_tensor(p, i);
        if (s != MCT_OK) {
            return s;
        }
    }
    if (version >= 2 && mct_rd32(blob + MCT_H_TRAIN_OFF) != 0) {
        const mct_status_t s = mct_check_train_section(p, mct_rd32(blob + MCT_H_TRAIN_OFF));
        if (s != MCT_OK) {
            return s;
        }
    }
    {
        const mct_status_t s = check_io(p);
        if (s != MCT_OK) {
            return s;
        }
    }
    uint32_t written[BITSET_WORDS];
    initial_values(p, written);
    for (uint32_t i = 0; i < n_ops; ++i) {
        mct_status_t s = check_op(p, i);
        if (s == MCT_OK) {
            s = check_dataflow(p, i, written);
        }
        if (s != MCT_OK) {
            p->first_bad_op = i;
            return s;
        }
    }
    for (uint32_t i = 0; i < n_outputs; ++i) {
        if (!bit_is_set(written, mct_rd16(p->io_table + 2 * (n_inputs + i)))) {
            return MCT_E_DATAFLOW; /* an output nothing writes */
        }
    }
    return MCT_OK;
}

mct_status_t mct_program_tensor(const mct_program_t *prog, uint32_t id, mct_tensor_t *out)
{
    if (prog == 0 || out == 0 || id >= prog->n_tensors) {
        return MCT_E_ARG;
    }
    mct_decode_tensor(prog, id, out);
    return MCT_OK;
}

int32_t mct_program_input(const mct_program_t *prog, uint32_t index)
{
    return (prog != 0 && index < prog->n_inputs) ? (int32_t)mct_rd16(prog->io_table + 2 * index) : -1;
}

int32_t mct_program_output(const mct_program_t *prog, uint32_t index)
{
    return (prog != 0 && index < prog->n_outputs) ? (int32_t)mct_rd16(prog->io_table + 2 * (prog->n_inputs + index))
                                                  : -1;
}

const char *mct_status_str(mct_status_t s)
{
    switch (s) {
    case MCT_OK: return "ok";
    case MCT_E_ARG: return "bad argument";
    case MCT_E_TRUNCATED: return "truncated program";
    case MCT_E_MAGIC: return "not a program (bad magic)";
    case MCT_E_VERSION: return "unsupported program version";
    case MCT_E_CRC: return "CRC mismatch";
    case MCT_E_BOUNDS: return "offset or size out of bounds";
    case MCT_E_ALIGN: return "misaligned blob, arena or offset";
    case MCT_E_TENSOR: return "bad tensor record";
    case MCT_E_OPCODE: return "unknown opcode";
    case MCT_E_OP: return "bad op tensors";
    case MCT_E_PARAM: return "bad op parameters";
    case MCT_E_ARENA: return "arena too small";
    case MCT_E_RUNTIME: return "kernel failure";
    case MCT_E_IO: return "graph input/output not in the arena";
    case MCT_E_DATAFLOW: return "tensor read before it is written";
    case MCT_E_LIMIT: return "too many tensors";
    case MCT_E_NUMERIC: return "non-finite loss or gradient";
    default: return "unknown status";
    }
}
