/* SPDX-License-Identifier: MIT */
/*
 * The ONNX file reader: a protobuf wire-format decoder for exactly the messages the runtime
 * needs (ModelProto → GraphProto → NodeProto / AttributeProto / TensorProto / ValueInfoProto),
 * with a size limit on everything that grows from the file. It turns the graph into the
 * runtime's value and node tables: names resolved to indices (a node may only use values
 * defined before it, so the node list is checked to be topologically ordered), tensor data
 * copied once into aligned arrays (INT32 widened to INT64), every op mapped and its attributes
 * read into struct nn_params, with SB_EUNSUPPORTED naming the op or attribute we do not do.
 */
#include "nn_internal.h"

#include "sb/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- wire format ---- */

struct pb {
    const uint8_t *p, *end;
};

struct pb_field {
    uint32_t num;
    int wt;
    uint64_t v;          /* varint / fixed value */
    const uint8_t *data; /* length-delimited payload */
    size_t len;
};

static int pb_varint(struct pb *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return -1;
}

/* Reads the next field of a message; 1 when one was read, 0 at the end, <0 on a bad field. */
static int pb_next(struct pb *r, struct pb_field *f, const char *msg, struct sb_error *err)
{
    memset(f, 0, sizeof(*f));
    if (r->p >= r->end)
        return 0;
    uint64_t key;
    if (pb_varint(r, &key) != 0)
        return sb_error_set(err, SB_EPARSE, "%s: truncated field key", msg);
    f->num = (uint32_t)(key >> 3);
    f->wt = (int)(key & 7);
    if (f->num == 0 || (key >> 3) > 0x1fffffff)
        return sb_error_set(err, SB_EPARSE, "%s: bad field number", msg);
    switch (f->wt) {
    case 0:
        if (pb_varint(r, &f->v) != 0)
            return sb_error_set(err, SB_EPARSE, "%s: field %u: truncated varint", msg, f->num);
        break;
    case 1:
        if (r->end - r->p < 8)
            return sb_error_set(err, SB_EPARSE, "%s: field %u: truncated fixed64", msg, f->num);
        memcpy(&f->v, r->p, 8);
        r->p += 8;
        break;
    case 5: {
        uint32_t v32;
        if (r->end - r->p < 4)
            return sb_error_set(err, SB_EPARSE, "%s: field %u: truncated fixed32", msg, f->num);
        memcpy(&v32, r->p, 4);
        f->v = v32;
        r->p += 4;
        break;
    }
    case 2: {
        uint64_t n;
        if (pb_varint(r, &n) != 0 || n > (uint64_t)(r->end - r->p))
            return sb_error_set(err, SB_EPARSE, "%s: field %u: length past the end", msg, f->num);
        f->data = r->p;
        f->len = (size_t)n;
        r->p += n;
        break;
    }
    default:
        return sb_error_set(err, SB_EPARSE, "%s: field %u: bad wire type %d", msg, f->num, f->wt);
    }
    return 1;
}

static int want_wt(const struct pb_field *f, int wt, const char *msg, struct sb_error *err)
{
    if (f->wt != wt)
        return sb_error_set(err, SB_EPARSE, "%s: field %u: wire type %d, expected %d", msg, f->num,
                            f->wt, wt);
    return 0;
}

/* ---- bounded growable arrays ---- */

struct i64v {
    int64_t *v;
    size_t n, cap;
};
struct f32v {
    float *v;
    size_t n, cap;
};

static int grow(void **v, size_t *cap, size_t need, size_t elem, size_t max)
{
    if (need > max)
        return SB_ETOOBIG;
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    while (nc < need)
        nc *= 2;
    if (nc > max)
        nc = max;
    *v = sb_realloc(*v, nc * elem);
    *cap = nc;
    return 0;
}

/* Appends a repeated int64 field, packed (wire type 2) or not (0). */
static int read_i64s(const struct pb_field *f, struct i64v *a, size_t max, int zigzag32,
                     const char *msg, struct sb_error *err)
{
    (void)zigzag32;
    if (f->wt == 0) {
        if (grow((void **)&a->v, &a->cap, a->n + 1, sizeof(int64_t), max))
            return sb_error_set(err, SB_ETOOBIG, "%s: more than %zu values", msg, max);
        a->v[a->n++] = (int64_t)f->v;
        return 0;
    }
    if (f->wt != 2)
        return sb_error_set(err, SB_EPARSE, "%s: field %u: bad wire type %d", msg, f->num, f->wt);
    struct pb r = {f->data, f->data + f->len};
    while (r.p < r.end) {
        uint64_t v;
        if (pb_varint(&r, &v) != 0)
            return sb_error_set(err, SB_EPARSE, "%s: truncated packed varint", msg);
        if (grow((void **)&a->v, &a->cap, a->n + 1, sizeof(int64_t), max))
            return sb_error_set(err, SB_ETOOBIG, "%s: more than %zu values", msg, max);
        a->v[a->n++] = (int64_t)v;
    }
    return 0;
}

/* Appends a repeated float field, packed (wire type 2) or not (5). */
static int read_f32s(const struct pb_field *f, struct f32v *a, size_t max, const char *msg,
                     struct sb_error *err)
{
    if (f->wt == 5) {
        if (grow((void **)&a->v, &a->cap, a->n + 1, sizeof(float), max))
            return sb_error_set(err, SB_ETOOBIG, "%s: more than %zu values", msg, max);
        uint32_t u = (uint32_t)f->v;
        memcpy(&a->v[a->n++], &u, 4);
        return 0;
    }
    if (f->wt != 2)
        return sb_error_set(err, SB_EPARSE, "%s: field %u: bad wire type %d", msg, f->num, f->wt);
    if (f->len % 4)
        return sb_error_set(err, SB_EPARSE, "%s: packed floats of %zu bytes", msg, f->len);
    size_t cnt = f->len / 4;
    if (cnt == 0)
        return 0;
    if (grow((void **)&a->v, &a->cap, a->n + cnt, sizeof(float), max))
        return sb_error_set(err, SB_ETOOBIG, "%s: more than %zu values", msg, max);
    memcpy(a->v + a->n, f->data, f->len);
    a->n += cnt;
    return 0;
}

/* ---- names ---- */

struct str {
    const char *p;
    size_t len;
};

static int read_str(const struct pb_field *f, struct str *s, const char *msg, struct sb_error *err)
{
    if (f->wt != 2)
        return sb_error_set(err, SB_EPARSE, "%s: field %u: string with wire type %d", msg, f->num,
                            f->wt);
    if (f->len > NN_MAX_NAME)
        return sb_error_set(err, SB_ETOOBIG, "%s: string of %zu bytes", msg, f->len);
    if (memchr(f->data, 0, f->len))
        return sb_error_set(err, SB_EPARSE, "%s: string with a NUL byte", msg);
    s->p = (const char *)f->data;
    s->len = f->len;
    return 0;
}

static int str_eq(struct str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.p, lit, n) == 0;
}

/* Name → value index, open addressing over the model's values. */
struct names {
    int *slot; /* value index + 1, 0 empty */
    size_t cap;
};

static uint64_t hash_str(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
    return h;
}

static int names_find(const struct names *t, const struct sb_nn_model *m, struct str s)
{
    if (!t->cap)
        return -1;
    size_t i = hash_str(s.p, s.len) & (t->cap - 1);
    while (t->slot[i]) {
        const char *nm = m->vals[t->slot[i] - 1].name;
        if (strlen(nm) == s.len && memcmp(nm, s.p, s.len) == 0)
            return t->slot[i] - 1;
        i = (i + 1) & (t->cap - 1);
    }
    return -1;
}

static void names_insert(struct names *t, const struct sb_nn_model *m, int idx)
{
    if ((size_t)(m->nvals) * 2 >= t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        while (nc <= (size_t)m->nvals * 2)
            nc *= 2;
        int *ns = sb_calloc(nc, sizeof(int));
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slot[i])
                continue;
            const char *nm = m->vals[t->slot[i] - 1].name;
            size_t j = hash_str(nm, strlen(nm)) & (nc - 1);
            while (ns[j])
                j = (j + 1) & (nc - 1);
            ns[j] = t->slot[i];
        }
        free(t->slot);
        t->slot = ns;
        t->cap = nc;
    }
    const char *nm = m->vals[idx].name;
    size_t i = hash_str(nm, strlen(nm)) & (t->cap - 1);
    while (t->slot[i])
        i = (i + 1) & (t->cap - 1);
    t->slot[i] = idx + 1;
}

/* Adds a value named `s` (registered unless empty); its index, or <0 on a duplicate. */
static int add_value(struct sb_nn_model *m, struct names *t, struct str s, struct sb_error *err)
{
    if (s.len && names_find(t, m, s) >= 0)
        return sb_error_set(err, SB_EPARSE, "value '%.*s' is defined twice", (int)s.len, s.p);
    if (m->nvals >= 4 * NN_MAX_NODES)
        return sb_error_set(err, SB_ETOOBIG, "more than %d values", 4 * NN_MAX_NODES);
    if (m->nvals == m->cap_vals) {
        m->cap_vals = m->cap_vals ? m->cap_vals * 2 : 64;
        m->vals = sb_realloc(m->vals, (size_t)m->cap_vals * sizeof(*m->vals));
    }
    int idx = m->nvals++;
    struct nn_value *v = &m->vals[idx];
    memset(v, 0, sizeof(*v));
    v->name = sb_strndup(s.p, s.len);
    v->producer = -1;
    v->last_use = -1;
    if (s.len)
        names_insert(t, m, idx);
    return idx;
}

/* ---- TensorProto ---- */

int64_t sb__nn_numel(const int64_t *dims, int ndim)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] && n > NN_MAX_ELEMS / dims[i])
            return 0x7fffffffffffffffll;
        n *= dims[i];
    }
    return n;
}

/* Parses a TensorProto into `t` (data owned, sb_malloc'd) and its name. */
static int parse_tensor(const uint8_t *buf, size_t len, struct nn_tensor *t, struct str *name,
                        const char *ctx, struct sb_error *err)
{
    struct pb r = {buf, buf + len};
    struct pb_field f;
    struct i64v dims = {0}, ints = {0};
    struct f32v floats = {0};
    const uint8_t *raw = NULL;
    size_t raw_len = 0;
    int has_raw = 0, dtype = 0, external = 0, rc;
    char msg[320];
    snprintf(msg, sizeof(msg), "%.280s: tensor", ctx);
    name->p = "";
    name->len = 0;
    memset(t, 0, sizeof(*t));
    while ((rc = pb_next(&r, &f, msg, err)) == 1) {
        switch (f.num) {
        case 1: /* dims */
            if ((rc = read_i64s(&f, &dims, NN_MAX_DIMS, 0, msg, err)) < 0)
                goto out;
            break;
        case 2: /* data_type */
            if ((rc = want_wt(&f, 0, msg, err)) < 0)
                goto out;
            dtype = (int)(int64_t)f.v;
            break;
        case 4: /* float_data */
            if ((rc = read_f32s(&f, &floats, NN_MAX_ELEMS, msg, err)) < 0)
                goto out;
            break;
        case 5: /* int32_data */
        case 7: /* int64_data */
            if ((rc = read_i64s(&f, &ints, NN_MAX_ELEMS, 0, msg, err)) < 0)
                goto out;
            break;
        case 8:
            if ((rc = read_str(&f, name, msg, err)) < 0)
                goto out;
            break;
        case 9: /* raw_data */
            if ((rc = want_wt(&f, 2, msg, err)) < 0)
                goto out;
            raw = f.data;
            raw_len = f.len;
            has_raw = 1;
            break;
        case 13: /* external_data */
            external = 1;
            break;
        case 14: /* data_location */
            if (f.wt == 0 && f.v == 1)
                external = 1;
            break;
        default:
            break;
        }
    }
    if (rc < 0)
        goto out;
    if (external) {
        rc = sb_error_set(err, SB_EUNSUPPORTED, "%s '%.*s': external data", msg, (int)name->len,
                          name->p);
        goto out;
    }
    if (dtype != 1 && dtype != 6 && dtype != 7) {
        rc = sb_error_set(err, SB_EUNSUPPORTED,
                          "%s '%.*s': data type %d (only FLOAT, INT32, "
                          "INT64)",
                          msg, (int)name->len, name->p, dtype);
        goto out;
    }
    t->ndim = (int)dims.n;
    for (size_t i = 0; i < dims.n; i++)
        t->dims[i] = dims.v[i];
    int64_t n = sb__nn_numel(t->dims, t->ndim);
    if (n < 0) {
        rc = sb_error_set(err, SB_EPARSE, "%s '%.*s': negative dim", msg, (int)name->len, name->p);
        goto out;
    }
    if (n > NN_MAX_ELEMS) {
        rc = sb_error_set(err, SB_ETOOBIG, "%s '%.*s': more than 2^28 elements", msg,
                          (int)name->len, name->p);
        goto out;
    }
    t->n = (size_t)n;
    t->dtype = dtype == 1 ? NN_F32 : NN_I64;
    size_t esz = dtype == 1 ? 4 : dtype == 6 ? 4 : 8;
    size_t have = has_raw ? raw_len / esz : dtype == 1 ? floats.n : ints.n;
    if (has_raw && raw_len % esz) {
        rc = sb_error_set(err, SB_EPARSE, "%s '%.*s': raw_data of %zu bytes", msg, (int)name->len,
                          name->p, raw_len);
        goto out;
    }
    if (have != t->n) {
        rc = sb_error_set(err, SB_EPARSE, "%s '%.*s': %zu data elements, dims say %zu", msg,
                          (int)name->len, name->p, have, t->n);
        goto out;
    }
    t->data = sb_malloc(t->n ? t->n * (t->dtype == NN_F32 ? 4 : 8) : 1);
    if (t->dtype == NN_F32) {
        if (t->n)
            memcpy(t->data, has_raw ? (const void *)raw : (const void *)floats.v, t->n * 4);
    } else {
        int64_t *d = t->data;
        for (size_t i = 0; i < t->n; i++) {
            if (!has_raw) {
                d[i] = dtype == 6 ? (int32_t)ints.v[i] : ints.v[i];
            } else if (dtype == 6) {
                int32_t v;
                memcpy(&v, raw + 4 * i, 4);
                d[i] = v;
            } else {
                memcpy(&d[i], raw + 8 * i, 8);
            }
        }
    }
    rc = 0;
out:
    free(dims.v);
    free(ints.v);
    free(floats.v);
    return rc;
}

/* ---- AttributeProto ---- */

struct attr {
    struct str name;
    int has_f, has_i, has_s, has_t;
    float f;
    int64_t i;
    struct str s;
    struct i64v ints;
    struct f32v floats;
    struct nn_tensor t;
};

static void attr_cleanup(struct attr *a)
{
    free(a->ints.v);
    free(a->floats.v);
    free(a->t.data);
}

static int parse_attr(const uint8_t *buf, size_t len, struct attr *a, const char *ctx,
                      struct sb_error *err)
{
    struct pb r = {buf, buf + len};
    struct pb_field f;
    int rc;
    char msg[320];
    snprintf(msg, sizeof(msg), "%.280s: attribute", ctx);
    memset(a, 0, sizeof(*a));
    while ((rc = pb_next(&r, &f, msg, err)) == 1) {
        switch (f.num) {
        case 1:
            if ((rc = read_str(&f, &a->name, msg, err)) < 0)
                return rc;
            break;
        case 2:
            if ((rc = want_wt(&f, 5, msg, err)) < 0)
                return rc;
            {
                uint32_t u = (uint32_t)f.v;
                memcpy(&a->f, &u, 4);
            }
            a->has_f = 1;
            break;
        case 3:
            if ((rc = want_wt(&f, 0, msg, err)) < 0)
                return rc;
            a->i = (int64_t)f.v;
            a->has_i = 1;
            break;
        case 4:
            if ((rc = want_wt(&f, 2, msg, err)) < 0)
                return rc;
            if (f.len > NN_MAX_NAME)
                return sb_error_set(err, SB_ETOOBIG, "%s: string of %zu bytes", msg, f.len);
            a->s.p = (const char *)f.data;
            a->s.len = f.len;
            a->has_s = 1;
            break;
        case 5: {
            if ((rc = want_wt(&f, 2, msg, err)) < 0)
                return rc;
            struct str tn;
            free(a->t.data);
            a->t.data = NULL;
            if ((rc = parse_tensor(f.data, f.len, &a->t, &tn, msg, err)) < 0)
                return rc;
            a->has_t = 1;
            break;
        }
        case 7:
            if ((rc = read_f32s(&f, &a->floats, NN_MAX_ATTR_INTS, msg, err)) < 0)
                return rc;
            break;
        case 8:
            if ((rc = read_i64s(&f, &a->ints, NN_MAX_ATTR_INTS, 0, msg, err)) < 0)
                return rc;
            break;
        default:
            break;
        }
    }
    return rc;
}

/* ---- op table ---- */

struct op_spec {
    const char *name;
    int op;
    int min_in, max_in;
    const char *attrs; /* accepted attribute names, space-separated */
};

static const struct op_spec OPS[] = {
    {"Constant", NN_OP_CONSTANT, 0, 0, "value value_float value_floats value_int value_ints"},
    {"Conv", NN_OP_CONV, 2, 3, "auto_pad dilations group kernel_shape pads strides"},
    {"BatchNormalization", NN_OP_BATCHNORM, 5, 5, "epsilon momentum spatial training_mode"},
    {"Add", NN_OP_ADD, 2, 2, ""},
    {"Sub", NN_OP_SUB, 2, 2, ""},
    {"Mul", NN_OP_MUL, 2, 2, ""},
    {"Div", NN_OP_DIV, 2, 2, ""},
    {"Pow", NN_OP_POW, 2, 2, ""},
    {"Sqrt", NN_OP_SQRT, 1, 1, ""},
    {"Relu", NN_OP_RELU, 1, 1, ""},
    {"Sigmoid", NN_OP_SIGMOID, 1, 1, ""},
    {"HardSigmoid", NN_OP_HARDSIGMOID, 1, 1, "alpha beta"},
    {"Clip", NN_OP_CLIP, 1, 3, "min max"},
    {"GlobalAveragePool", NN_OP_GLOBALAVGPOOL, 1, 1, ""},
    {"AveragePool", NN_OP_AVGPOOL, 1, 1,
     "auto_pad ceil_mode count_include_pad kernel_shape pads strides"},
    {"Shape", NN_OP_SHAPE, 1, 1, ""},
    {"Cast", NN_OP_CAST, 1, 1, "to"},
    {"Slice", NN_OP_SLICE, 1, 5, "axes ends starts"},
    {"Concat", NN_OP_CONCAT, 1, NN_MAX_IO, "axis"},
    {"Reshape", NN_OP_RESHAPE, 2, 2, "allowzero"},
    {"Transpose", NN_OP_TRANSPOSE, 1, 1, "perm"},
    {"ReduceMean", NN_OP_REDUCEMEAN, 1, 2, "axes keepdims noop_with_empty_axes"},
    {"MatMul", NN_OP_MATMUL, 2, 2, ""},
    {"Squeeze", NN_OP_SQUEEZE, 1, 2, "axes"},
    {"Unsqueeze", NN_OP_UNSQUEEZE, 1, 2, "axes"},
    {"Softmax", NN_OP_SOFTMAX, 1, 1, "axis"},
    {"Identity", NN_OP_IDENTITY, 1, 1, ""},
};

static const struct op_spec *op_find(struct str s)
{
    for (size_t i = 0; i < sizeof(OPS) / sizeof(OPS[0]); i++)
        if (str_eq(s, OPS[i].name))
            return &OPS[i];
    return NULL;
}

int sb__nn_op_lookup(const char *op_type)
{
    struct str s = {op_type, strlen(op_type)};
    const struct op_spec *o = op_find(s);
    return o ? o->op : 0;
}

static int attr_allowed(const char *list, struct str name)
{
    const char *p = list;
    while (*p) {
        const char *e = strchr(p, ' ');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == name.len && memcmp(p, name.p, n) == 0)
            return 1;
        p += n;
        while (*p == ' ')
            p++;
    }
    return 0;
}

/* Copies an ints attribute into dst[0..max) (count in *n); EUNSUPPORTED when longer. */
static int ints_to(const struct attr *a, int64_t *dst, int max, int *n, const char *ctx,
                   struct sb_error *err)
{
    if (a->ints.n > (size_t)max)
        return sb_error_set(err, SB_EUNSUPPORTED, "%s: attribute %.*s has %zu values (max %d)", ctx,
                            (int)a->name.len, a->name.p, a->ints.n, max);
    for (size_t i = 0; i < a->ints.n; i++)
        dst[i] = a->ints.v[i];
    if (n)
        *n = (int)a->ints.n;
    return 0;
}

/* Reads the attributes of one node into its params (and, for Constant, its tensor). */
static int node_params(struct nn_node *nd, struct attr *at, int nat, int64_t opset, const char *ctx,
                       const struct op_spec *spec, struct nn_tensor *cval, struct sb_error *err)
{
    struct nn_params *p = &nd->p;
    memset(p, 0, sizeof(*p));
    p->group = 1;
    p->strides[0] = p->strides[1] = 1;
    p->dilations[0] = p->dilations[1] = 1;
    p->kernel[0] = p->kernel[1] = -1;
    p->alpha = nd->op == NN_OP_HARDSIGMOID ? 0.2f : 1.0f;
    p->beta = 0.5f;
    p->epsilon = 1e-5f;
    p->keepdims = 1;
    p->post_mul = 1.0f;
    p->axis = nd->op == NN_OP_SOFTMAX ? (opset < 13 ? 1 : -1) : 0;
    int has_axis = 0, nk = 0, rc;
    for (int i = 0; i < nat; i++) {
        const struct attr *a = &at[i];
        struct str n = a->name;
        if (!attr_allowed(spec->attrs, n))
            return sb_error_set(err, SB_EUNSUPPORTED, "%s: attribute '%.*s' not supported", ctx,
                                (int)n.len, n.p);
        if (str_eq(n, "auto_pad")) {
            if (a->has_s && !(a->s.len == 0 || (a->s.len == 6 && !memcmp(a->s.p, "NOTSET", 6))))
                return sb_error_set(err, SB_EUNSUPPORTED, "%s: auto_pad '%.*s'", ctx, (int)a->s.len,
                                    a->s.p);
        } else if (str_eq(n, "kernel_shape")) {
            if ((rc = ints_to(a, p->kernel, 2, &nk, ctx, err)) < 0)
                return rc;
            if (nk != 2)
                return sb_error_set(err, SB_EUNSUPPORTED, "%s: only 2-D kernels", ctx);
        } else if (str_eq(n, "strides")) {
            if (a->ints.n != 2)
                return sb_error_set(err, SB_EUNSUPPORTED, "%s: only 2-D strides", ctx);
            ints_to(a, p->strides, 2, NULL, ctx, err);
        } else if (str_eq(n, "dilations")) {
            if (a->ints.n != 2)
                return sb_error_set(err, SB_EUNSUPPORTED, "%s: only 2-D dilations", ctx);
            ints_to(a, p->dilations, 2, NULL, ctx, err);
        } else if (str_eq(n, "pads")) {
            if (a->ints.n != 4)
                return sb_error_set(err, SB_EUNSUPPORTED, "%s: only 2-D pads", ctx);
            ints_to(a, p->pads, 4, NULL, ctx, err);
        } else if (str_eq(n, "group")) {
            p->group = a->i;
        } else if (str_eq(n, "epsilon")) {
            p->epsilon = a->f;
        } else if (str_eq(n, "training_mode")) {
            if (a->i != 0)
                return sb_error_set(err, SB_EUNSUPPORTED, "%s: training_mode", ctx);
        } else if (str_eq(n, "alpha")) {
            p->alpha = a->f;
        } else if (str_eq(n, "beta")) {
            p->beta = a->f;
        } else if (str_eq(n, "min")) {
            p->fmin = a->f;
            p->has_min = 1;
        } else if (str_eq(n, "max")) {
            p->fmax = a->f;
            p->has_max = 1;
        } else if (str_eq(n, "ceil_mode")) {
            if (a->i != 0)
                return sb_error_set(err, SB_EUNSUPPORTED, "%s: ceil_mode=1", ctx);
        } else if (str_eq(n, "count_include_pad")) {
            p->count_include_pad = a->i != 0;
        } else if (str_eq(n, "to")) {
            if (a->i != 1 && a->i != 6 && a->i != 7)
                return sb_error_set(err, SB_EUNSUPPORTED, "%s: Cast to type %lld", ctx,
                                    (long long)a->i);
            p->to = (int)a->i;
        } else if (str_eq(n, "axes")) {
            if ((rc = ints_to(a, p->axes, NN_MAX_DIMS, &p->naxes, ctx, err)) < 0)
                return rc;
            p->has_axes = 1;
        } else if (str_eq(n, "starts")) {
            if ((rc = ints_to(a, p->starts, NN_MAX_DIMS, &p->nstarts, ctx, err)) < 0)
                return rc;
        } else if (str_eq(n, "ends")) {
            if ((rc = ints_to(a, p->ends, NN_MAX_DIMS, &p->nends, ctx, err)) < 0)
                return rc;
        } else if (str_eq(n, "axis")) {
            p->axis = a->i;
            has_axis = 1;
        } else if (str_eq(n, "allowzero")) {
            p->allowzero = a->i != 0;
        } else if (str_eq(n, "perm")) {
            if ((rc = ints_to(a, p->perm, NN_MAX_DIMS, &p->nperm, ctx, err)) < 0)
                return rc;
        } else if (str_eq(n, "keepdims")) {
            p->keepdims = a->i != 0;
        } else if (str_eq(n, "noop_with_empty_axes")) {
            if (a->i != 0)
                return sb_error_set(err, SB_EUNSUPPORTED, "%s: noop_with_empty_axes", ctx);
        } else if (str_eq(n, "value")) {
            if (!a->has_t)
                return sb_error_set(err, SB_EPARSE, "%s: value without a tensor", ctx);
            *cval = a->t;
            memset(&at[i].t, 0, sizeof(at[i].t)); /* ownership moves to the value */
        } else if (str_eq(n, "value_float") || str_eq(n, "value_int")) {
            int isf = str_eq(n, "value_float");
            cval->dtype = isf ? NN_F32 : NN_I64;
            cval->ndim = 0;
            cval->n = 1;
            cval->data = sb_malloc(8);
            if (isf)
                *(float *)cval->data = a->f;
            else
                *(int64_t *)cval->data = a->i;
        } else if (str_eq(n, "value_floats") || str_eq(n, "value_ints")) {
            int isf = str_eq(n, "value_floats");
            size_t cnt = isf ? a->floats.n : a->ints.n;
            cval->dtype = isf ? NN_F32 : NN_I64;
            cval->ndim = 1;
            cval->dims[0] = (int64_t)cnt;
            cval->n = cnt;
            cval->data = sb_malloc(cnt * 8 + 1);
            if (cnt)
                memcpy(cval->data, isf ? (void *)a->floats.v : (void *)a->ints.v,
                       cnt * (isf ? 4 : 8));
        }
    }
    (void)has_axis;
    if (nd->op == NN_OP_CONSTANT && !cval->data)
        return sb_error_set(err, SB_EPARSE, "%s: Constant without a value", ctx);
    if (nd->op == NN_OP_CONV || nd->op == NN_OP_AVGPOOL) {
        for (int i = 0; i < 2; i++)
            if (p->strides[i] < 1 || p->strides[i] > 64 || p->dilations[i] < 1 ||
                p->dilations[i] > 64)
                return sb_error_set(err, SB_EPARSE, "%s: stride/dilation out of range", ctx);
        for (int i = 0; i < 4; i++)
            if (p->pads[i] < 0 || p->pads[i] > 1024)
                return sb_error_set(err, SB_EPARSE, "%s: pad out of range", ctx);
        if (p->kernel[0] != -1 &&
            (p->kernel[0] < 1 || p->kernel[0] > 1024 || p->kernel[1] < 1 || p->kernel[1] > 1024))
            return sb_error_set(err, SB_EPARSE, "%s: kernel_shape out of range", ctx);
        if (nd->op == NN_OP_AVGPOOL && p->kernel[0] == -1)
            return sb_error_set(err, SB_EPARSE, "%s: AveragePool without kernel_shape", ctx);
        if (p->group < 1 || p->group > (1 << 20))
            return sb_error_set(err, SB_EPARSE, "%s: group out of range", ctx);
    }
    if (nd->op == NN_OP_SLICE && p->nstarts != p->nends)
        return sb_error_set(err, SB_EPARSE, "%s: starts and ends differ in length", ctx);
    if (nd->op == NN_OP_SLICE && p->nstarts && !p->has_axes) {
        for (int i = 0; i < p->nstarts; i++)
            p->axes[i] = i;
        p->naxes = p->nstarts;
        p->has_axes = 1;
    }
    if (nd->op == NN_OP_SLICE && p->nstarts && p->naxes != p->nstarts)
        return sb_error_set(err, SB_EPARSE, "%s: axes and starts differ in length", ctx);
    if (nd->op == NN_OP_CAST && p->to == 0)
        return sb_error_set(err, SB_EPARSE, "%s: Cast without 'to'", ctx);
    return 0;
}

/* ---- NodeProto ---- */

static int parse_node(struct sb_nn_model *m, struct names *tab, const uint8_t *buf, size_t len,
                      int index, struct sb_error *err)
{
    struct pb r = {buf, buf + len};
    struct pb_field f;
    struct str ins[NN_MAX_IO], outs[NN_MAX_IO], name = {"", 0}, op_type = {"", 0}, domain = {"", 0};
    int nin = 0, nout = 0, nat = 0, rc;
    struct attr *at = NULL;
    struct nn_tensor cval = {0};
    char ctx[200];
    snprintf(ctx, sizeof(ctx), "node %d", index);
    while ((rc = pb_next(&r, &f, ctx, err)) == 1) {
        switch (f.num) {
        case 1:
        case 2: {
            int *cnt = f.num == 1 ? &nin : &nout;
            if (*cnt >= NN_MAX_IO) {
                rc = sb_error_set(err, SB_ETOOBIG, "%s: more than %d inputs/outputs", ctx,
                                  NN_MAX_IO);
                goto out;
            }
            if ((rc = read_str(&f, f.num == 1 ? &ins[nin] : &outs[nout], ctx, err)) < 0)
                goto out;
            (*cnt)++;
            break;
        }
        case 3:
            if ((rc = read_str(&f, &name, ctx, err)) < 0)
                goto out;
            snprintf(ctx, sizeof(ctx), "node %d '%.*s'", index,
                     (int)(name.len > 80 ? 80 : name.len), name.p);
            break;
        case 4:
            if ((rc = read_str(&f, &op_type, ctx, err)) < 0)
                goto out;
            break;
        case 5:
            if ((rc = want_wt(&f, 2, ctx, err)) < 0)
                goto out;
            if (nat >= NN_MAX_ATTRS) {
                rc =
                    sb_error_set(err, SB_ETOOBIG, "%s: more than %d attributes", ctx, NN_MAX_ATTRS);
                goto out;
            }
            at = sb_realloc(at, (size_t)(nat + 1) * sizeof(*at));
            rc = parse_attr(f.data, f.len, &at[nat], ctx, err);
            nat++;
            if (rc < 0)
                goto out;
            break;
        case 7:
            if ((rc = read_str(&f, &domain, ctx, err)) < 0)
                goto out;
            break;
        default:
            break;
        }
    }
    if (rc < 0)
        goto out;
    {
        char full[260];
        snprintf(full, sizeof(full), "%s (%.*s)", ctx, (int)(op_type.len > 40 ? 40 : op_type.len),
                 op_type.p);
        memcpy(ctx, full, sizeof(ctx) - 1);
        ctx[sizeof(ctx) - 1] = 0;
    }
    if (domain.len && !str_eq(domain, "ai.onnx")) {
        rc = sb_error_set(err, SB_EUNSUPPORTED, "%s: op domain '%.*s'", ctx, (int)domain.len,
                          domain.p);
        goto out;
    }
    const struct op_spec *spec = op_find(op_type);
    if (!spec) {
        rc = sb_error_set(err, SB_EUNSUPPORTED, "%s: op '%.*s' not implemented", ctx,
                          (int)op_type.len, op_type.p);
        goto out;
    }
    if (nin < spec->min_in || nin > spec->max_in) {
        rc = sb_error_set(err, SB_EPARSE, "%s: %d inputs (expected %d..%d)", ctx, nin, spec->min_in,
                          spec->max_in);
        goto out;
    }
    if (nout != 1) {
        rc = sb_error_set(err, nout ? SB_EUNSUPPORTED : SB_EPARSE,
                          "%s: %d outputs (only 1 "
                          "supported)",
                          ctx, nout);
        goto out;
    }
    if (m->nnodes >= NN_MAX_NODES) {
        rc = sb_error_set(err, SB_ETOOBIG, "more than %d nodes", NN_MAX_NODES);
        goto out;
    }
    if (m->nnodes == m->cap_nodes) {
        m->cap_nodes = m->cap_nodes ? m->cap_nodes * 2 : 64;
        m->nodes = sb_realloc(m->nodes, (size_t)m->cap_nodes * sizeof(*m->nodes));
    }
    struct nn_node *nd = &m->nodes[m->nnodes];
    memset(nd, 0, sizeof(*nd));
    nd->op = spec->op;
    if ((rc = node_params(nd, at, nat, m->opset, ctx, spec, &cval, err)) < 0)
        goto out;
    for (int i = 0; i < nin; i++) {
        if (!ins[i].len) {
            if (i < spec->min_in || nd->op == NN_OP_CONCAT) {
                rc = sb_error_set(err, SB_EPARSE, "%s: required input %d is empty", ctx, i);
                goto out;
            }
            nd->in[i] = -1;
            continue;
        }
        int v = names_find(tab, m, ins[i]);
        if (v < 0) {
            rc = sb_error_set(err, SB_EPARSE,
                              "%s: input '%.*s' is not defined before the node "
                              "(graph not topologically sorted?)",
                              ctx, (int)(ins[i].len > 80 ? 80 : ins[i].len), ins[i].p);
            goto out;
        }
        nd->in[i] = v;
    }
    nd->nin = nin;
    int v = add_value(m, tab, outs[0], err);
    if (v < 0) {
        rc = v;
        goto out;
    }
    nd->out[0] = v;
    nd->nout = 1;
    nd->name = sb_strndup(name.p, name.len);
    nd->op_type = sb_strndup(op_type.p, op_type.len);
    if (nd->op == NN_OP_CONSTANT) {
        /* Constant nodes become constant values right away; the node itself is dropped. */
        m->vals[v].is_const = 1;
        m->vals[v].t = cval;
        m->const_bytes += cval.n * (cval.dtype == NN_F32 ? 4 : 8);
        memset(&cval, 0, sizeof(cval));
        nd->dead = 1;
    } else {
        m->vals[v].producer = m->nnodes;
    }
    m->nnodes++;
    rc = 0;
out:
    for (int i = 0; i < nat; i++)
        attr_cleanup(&at[i]);
    free(at);
    free(cval.data);
    return rc;
}

/* ---- ValueInfoProto (only the graph input's shape is used) ---- */

static int parse_value_info(const uint8_t *buf, size_t len, struct str *name, int *elem,
                            int64_t *dims, int *ndim, struct sb_error *err)
{
    struct pb r = {buf, buf + len}, tr, ttr, sr, dr;
    struct pb_field f, g, h, k, l;
    int rc;
    *ndim = -1;
    *elem = 0;
    name->p = "";
    name->len = 0;
    while ((rc = pb_next(&r, &f, "graph input", err)) == 1) {
        if (f.num == 1) {
            if ((rc = read_str(&f, name, "graph input", err)) < 0)
                return rc;
        } else if (f.num == 2 && f.wt == 2) { /* TypeProto */
            tr = (struct pb){f.data, f.data + f.len};
            while ((rc = pb_next(&tr, &g, "graph input type", err)) == 1) {
                if (g.num != 1 || g.wt != 2) /* tensor_type */
                    continue;
                ttr = (struct pb){g.data, g.data + g.len};
                while ((rc = pb_next(&ttr, &h, "graph input type", err)) == 1) {
                    if (h.num == 1 && h.wt == 0)
                        *elem = (int)h.v;
                    if (h.num != 2 || h.wt != 2) /* shape */
                        continue;
                    sr = (struct pb){h.data, h.data + h.len};
                    *ndim = 0;
                    while ((rc = pb_next(&sr, &k, "graph input shape", err)) == 1) {
                        if (k.num != 1 || k.wt != 2)
                            continue;
                        if (*ndim >= NN_MAX_DIMS)
                            return sb_error_set(err, SB_ETOOBIG, "graph input: more than %d dims",
                                                NN_MAX_DIMS);
                        dims[*ndim] = -1;
                        dr = (struct pb){k.data, k.data + k.len};
                        while ((rc = pb_next(&dr, &l, "graph input dim", err)) == 1)
                            if (l.num == 1 && l.wt == 0 && (int64_t)l.v > 0)
                                dims[*ndim] = (int64_t)l.v;
                        if (rc < 0)
                            return rc;
                        (*ndim)++;
                    }
                    if (rc < 0)
                        return rc;
                }
                if (rc < 0)
                    return rc;
            }
            if (rc < 0)
                return rc;
        }
    }
    return rc;
}

/* ---- GraphProto / ModelProto ---- */

static int parse_graph(struct sb_nn_model *m, const uint8_t *buf, size_t len, struct sb_error *err)
{
    struct names tab = {0};
    struct pb r;
    struct pb_field f;
    int rc, nnode = 0;
    m->input = m->output = -1;
    /* Pass 1: initializers (protobuf writers put them after the nodes, but nodes use them). */
    r = (struct pb){buf, buf + len};
    while ((rc = pb_next(&r, &f, "graph", err)) == 1) {
        if (f.num != 5)
            continue;
        if ((rc = want_wt(&f, 2, "graph.initializer", err)) < 0)
            goto out;
        struct nn_tensor t;
        struct str nm;
        if ((rc = parse_tensor(f.data, f.len, &t, &nm, "graph.initializer", err)) < 0)
            goto out;
        if (!nm.len) {
            free(t.data);
            rc = sb_error_set(err, SB_EPARSE, "graph.initializer without a name");
            goto out;
        }
        int v = add_value(m, &tab, nm, err);
        if (v < 0) {
            free(t.data);
            rc = v;
            goto out;
        }
        m->vals[v].is_const = 1;
        m->vals[v].t = t;
        m->const_bytes += t.n * (t.dtype == NN_F32 ? 4 : 8);
    }
    if (rc < 0)
        goto out;
    /* Pass 2: the graph input (the first input that is not an initializer). */
    r = (struct pb){buf, buf + len};
    while ((rc = pb_next(&r, &f, "graph", err)) == 1) {
        if (f.num != 11)
            continue;
        if ((rc = want_wt(&f, 2, "graph.input", err)) < 0)
            goto out;
        struct str nm;
        int elem, nd;
        int64_t dims[NN_MAX_DIMS];
        if ((rc = parse_value_info(f.data, f.len, &nm, &elem, dims, &nd, err)) < 0)
            goto out;
        if (!nm.len) {
            rc = sb_error_set(err, SB_EPARSE, "graph.input without a name");
            goto out;
        }
        if (names_find(&tab, m, nm) >= 0) /* an initializer listed as input (IR < 4) */
            continue;
        if (m->input >= 0) {
            rc = sb_error_set(err, SB_EUNSUPPORTED,
                              "graph input '%.*s': only one input is "
                              "supported",
                              (int)nm.len, nm.p);
            goto out;
        }
        if (elem != 1) {
            rc = sb_error_set(err, SB_EUNSUPPORTED,
                              "graph input '%.*s': element type %d (only "
                              "FLOAT)",
                              (int)nm.len, nm.p, elem);
            goto out;
        }
        if ((rc = add_value(m, &tab, nm, err)) < 0)
            goto out;
        m->input = rc;
        m->in_ndim = nd;
        for (int i = 0; i < nd; i++)
            m->in_dims[i] = dims[i];
    }
    if (rc < 0)
        goto out;
    if (m->input < 0) {
        rc = sb_error_set(err, SB_EPARSE, "graph has no input");
        goto out;
    }
    /* Pass 3: nodes, in file order, which must be a topological order. */
    r = (struct pb){buf, buf + len};
    while ((rc = pb_next(&r, &f, "graph", err)) == 1) {
        if (f.num != 1)
            continue;
        if ((rc = want_wt(&f, 2, "graph.node", err)) < 0)
            goto out;
        if ((rc = parse_node(m, &tab, f.data, f.len, nnode++, err)) < 0)
            goto out;
    }
    if (rc < 0)
        goto out;
    /* Pass 4: the first graph output. */
    r = (struct pb){buf, buf + len};
    while ((rc = pb_next(&r, &f, "graph", err)) == 1) {
        if (f.num != 12 || m->output >= 0)
            continue;
        if ((rc = want_wt(&f, 2, "graph.output", err)) < 0)
            goto out;
        struct str nm;
        int elem, nd;
        int64_t dims[NN_MAX_DIMS];
        if ((rc = parse_value_info(f.data, f.len, &nm, &elem, dims, &nd, err)) < 0)
            goto out;
        int v = names_find(&tab, m, nm);
        if (v < 0) {
            rc = sb_error_set(err, SB_EPARSE, "graph output '%.*s' is never computed",
                              (int)(nm.len > 80 ? 80 : nm.len), nm.p);
            goto out;
        }
        m->output = v;
    }
    if (rc < 0)
        goto out;
    if (m->output < 0) {
        rc = sb_error_set(err, SB_EPARSE, "graph has no output");
        goto out;
    }
    rc = 0;
out:
    free(tab.slot);
    return rc;
}

int sb__nn_parse(struct sb_nn_model *m, const uint8_t *buf, size_t len, struct sb_error *err)
{
    struct pb r = {buf, buf + len};
    struct pb_field f;
    const uint8_t *graph = NULL;
    size_t graph_len = 0;
    int rc;
    m->opset = -1;
    while ((rc = pb_next(&r, &f, "model", err)) == 1) {
        if (f.num == 7) {
            if ((rc = want_wt(&f, 2, "model.graph", err)) < 0)
                return rc;
            graph = f.data;
            graph_len = f.len;
        } else if (f.num == 8) {
            if ((rc = want_wt(&f, 2, "model.opset_import", err)) < 0)
                return rc;
            struct pb o = {f.data, f.data + f.len};
            struct pb_field g;
            struct str dom = {"", 0};
            int64_t ver = -1;
            while ((rc = pb_next(&o, &g, "model.opset_import", err)) == 1) {
                if (g.num == 1 && (rc = read_str(&g, &dom, "model.opset_import", err)) < 0)
                    return rc;
                if (g.num == 2 && g.wt == 0)
                    ver = (int64_t)g.v;
            }
            if (rc < 0)
                return rc;
            if (dom.len == 0 || str_eq(dom, "ai.onnx"))
                m->opset = ver;
        }
    }
    if (rc < 0)
        return rc;
    if (!graph)
        return sb_error_set(err, SB_EPARSE, "model has no graph");
    if (m->opset < 1)
        m->opset = 1; /* no default-domain import: the oldest semantics */
    if (m->opset > 21)
        return sb_error_set(err, SB_EUNSUPPORTED, "opset %lld (we know up to 21)",
                            (long long)m->opset);
    return parse_graph(m, graph, graph_len, err);
}

void sb__nn_model_cleanup(struct sb_nn_model *m)
{
    for (int i = 0; i < m->nvals; i++) {
        free(m->vals[i].name);
        free(m->vals[i].t.data);
    }
    for (int i = 0; i < m->nnodes; i++) {
        free(m->nodes[i].name);
        free(m->nodes[i].op_type);
    }
    free(m->vals);
    free(m->nodes);
}
