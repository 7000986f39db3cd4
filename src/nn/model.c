/* SPDX-License-Identifier: MIT */
/*
 * Loading and running a model. Load = parse (onnx.c), then rewrite the graph once: fold
 * BatchNormalization and constant per-channel Mul/Add/Sub/Div into the Conv before them,
 * evaluate nodes whose inputs are all constant (the int32→int64 casts and concatenations of
 * the shape sub-graphs), fuse hard-swish and swish chains into one node, drop unused
 * constants, and record each value's last use. Run = walk the node list once; every
 * intermediate buffer comes from a per-call pool that hands a freed buffer to the next op that
 * fits in it, so one run makes a few dozen allocations whatever the graph size, and two
 * threads running one model share nothing writable.
 */
#include "nn_internal.h"

#include "sb/file.h"
#include "sb/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NN_MAX_CONST_BYTES (1ull << 30)
#define NN_FOLD_MAX_BYTES (64u << 20) /* larger constant results are computed at run time */

/* ---- per-call context ---- */

struct blk {
    void *p;
    size_t cap;
    int used;
};

struct nn_ctx {
    const struct sb_nn_model *m;
    int fold; /* load-time constant folding: plain allocations owned by the new constant */
    struct blk *blks;
    int nblk, capblk;
    size_t bytes;
    void *scratch[2];
    size_t scratch_cap[2];
};

int64_t sb__nn_ctx_opset(const struct nn_ctx *c)
{
    return c->m->opset;
}

int sb__nn_alloc(struct nn_ctx *c, struct nn_tensor *t, struct sb_error *err)
{
    size_t bytes = t->n * (t->dtype == NN_F32 ? 4 : 8);
    if (bytes < 64)
        bytes = 64;
    if (c->fold) {
        if (bytes > NN_FOLD_MAX_BYTES)
            return sb_error_set(err, SB_ETOOBIG, "constant result too large to fold");
        t->data = sb_malloc(bytes);
        return 0;
    }
    int best = -1;
    for (int i = 0; i < c->nblk; i++)
        if (!c->blks[i].used && c->blks[i].cap >= bytes &&
            (best < 0 || c->blks[i].cap < c->blks[best].cap))
            best = i;
    if (best < 0) {
        if (c->bytes + bytes > NN_MAX_RUN_BYTES)
            return sb_error_set(err, SB_ETOOBIG, "run needs more than %llu bytes of buffers",
                                (unsigned long long)NN_MAX_RUN_BYTES);
        /* Grow a free block rather than adding one when a free one exists (fewer buffers). */
        for (int i = 0; i < c->nblk; i++)
            if (!c->blks[i].used && (best < 0 || c->blks[i].cap > c->blks[best].cap))
                best = i;
        if (best >= 0) {
            c->bytes -= c->blks[best].cap;
            free(c->blks[best].p);
        } else {
            if (c->nblk == c->capblk) {
                c->capblk = c->capblk ? c->capblk * 2 : 32;
                c->blks = sb_realloc(c->blks, (size_t)c->capblk * sizeof(*c->blks));
            }
            best = c->nblk++;
        }
        c->blks[best].p = sb_malloc(bytes);
        c->blks[best].cap = bytes;
        c->bytes += bytes;
    }
    c->blks[best].used = 1;
    t->data = c->blks[best].p;
    return 0;
}

static int blk_find(const struct nn_ctx *c, const void *p)
{
    for (int i = 0; i < c->nblk; i++)
        if (c->blks[i].p == p)
            return i;
    return -1;
}

float *sb__nn_scratch(struct nn_ctx *c, int slot, size_t bytes, struct sb_error *err)
{
    if (bytes > NN_MAX_RUN_BYTES) {
        sb_error_set(err, SB_ETOOBIG, "scratch of %zu bytes", bytes);
        return NULL;
    }
    if (c->scratch_cap[slot] < bytes) {
        free(c->scratch[slot]);
        c->scratch[slot] = sb_malloc(bytes);
        c->scratch_cap[slot] = bytes;
    }
    return c->scratch[slot];
}

static void ctx_cleanup(struct nn_ctx *c)
{
    for (int i = 0; i < c->nblk; i++)
        free(c->blks[i].p);
    free(c->blks);
    free(c->scratch[0]);
    free(c->scratch[1]);
}

/* ---- load-time rewrites ---- */

static void count_uses(struct sb_nn_model *m)
{
    for (int v = 0; v < m->nvals; v++) {
        m->vals[v].nuse = 0;
        m->vals[v].last_use = -1;
    }
    for (int i = 0; i < m->nnodes; i++) {
        const struct nn_node *nd = &m->nodes[i];
        if (nd->dead)
            continue;
        for (int k = 0; k < nd->nin; k++)
            if (nd->in[k] >= 0) {
                m->vals[nd->in[k]].nuse++;
                m->vals[nd->in[k]].last_use = i;
            }
    }
    m->vals[m->output].nuse++;
    m->vals[m->output].last_use = m->nnodes;
}

static int is_const_f32(const struct sb_nn_model *m, int v)
{
    return v >= 0 && m->vals[v].is_const && m->vals[v].t.dtype == NN_F32;
}

static int is_scalar_const(const struct sb_nn_model *m, int v, float *val)
{
    if (!is_const_f32(m, v) || m->vals[v].t.n != 1)
        return 0;
    if (val)
        *val = *(const float *)m->vals[v].t.data;
    return 1;
}

/* The live node producing v when v has exactly one consumer and is not the graph output. */
static int sole_producer(const struct sb_nn_model *m, int v, int op)
{
    if (v < 0 || v == m->output || m->vals[v].nuse != 1)
        return -1;
    int p = m->vals[v].producer;
    if (p < 0 || m->nodes[p].dead || m->nodes[p].op != op)
        return -1;
    return p;
}

/* A new constant value (anonymous) holding `t` (ownership moves). */
static int add_const(struct sb_nn_model *m, struct nn_tensor t)
{
    if (m->nvals == m->cap_vals) {
        m->cap_vals = m->cap_vals ? m->cap_vals * 2 : 64;
        m->vals = sb_realloc(m->vals, (size_t)m->cap_vals * sizeof(*m->vals));
    }
    struct nn_value *v = &m->vals[m->nvals];
    memset(v, 0, sizeof(*v));
    v->name = sb_strdup("");
    v->is_const = 1;
    v->t = t;
    v->producer = -1;
    v->last_use = -1;
    return m->nvals++;
}

/* Makes the Conv's weights and bias private constants (copies when shared) so that a fold may
 * change them in place; 0 when the Conv is not foldable (weights not constant float). */
static int conv_own_params(struct sb_nn_model *m, struct nn_node *cv)
{
    int w = cv->in[1];
    if (!is_const_f32(m, w) || m->vals[w].t.ndim != 4)
        return 0;
    int64_t M = m->vals[w].t.dims[0];
    if (m->vals[w].nuse > 1) {
        struct nn_tensor t = m->vals[w].t;
        t.data = sb_malloc(t.n * 4 + 4);
        memcpy(t.data, m->vals[w].t.data, t.n * 4);
        cv->in[1] = add_const(m, t);
    }
    int b = cv->nin > 2 ? cv->in[2] : -1;
    if (b >= 0 && (!is_const_f32(m, b) || m->vals[b].t.n != (size_t)M))
        return 0;
    if (b < 0 || m->vals[b].nuse > 1) {
        struct nn_tensor t = {0};
        t.dtype = NN_F32;
        t.ndim = 1;
        t.dims[0] = M;
        t.n = (size_t)M;
        t.data = sb_calloc((size_t)M + 1, 4);
        if (b >= 0)
            memcpy(t.data, m->vals[b].t.data, (size_t)M * 4);
        cv->in[2] = add_const(m, t);
        cv->nin = 3;
    }
    count_uses(m);
    return 1;
}

/* Per-channel view of constant c against a Conv output [N, M, H, W]: 1 (scalar) or M values
 * along axis 1; 0 when c broadcasts any other way. */
static size_t channel_const(const struct sb_nn_model *m, int c, int64_t M)
{
    if (!is_const_f32(m, c))
        return 0;
    const struct nn_tensor *t = &m->vals[c].t;
    if (t->ndim > 4)
        return 0;
    if (t->n == 1)
        return 1;
    if (t->n != (size_t)M || t->ndim < 3)
        return 0;
    /* [M,1,1] or [1,M,1,1] */
    return t->dims[t->ndim - 3] == M ? (size_t)M : 0;
}

static void move_output(struct sb_nn_model *m, struct nn_node *keep, struct nn_node *gone)
{
    int keep_idx = (int)(keep - m->nodes);
    keep->out[0] = gone->out[0];
    m->vals[gone->out[0]].producer = keep_idx;
    gone->dead = 1;
}

/* Conv → BatchNormalization and Conv → Mul/Add/Sub/Div(per-channel constant). */
static void fold_into_conv(struct sb_nn_model *m)
{
    count_uses(m);
    for (int i = 0; i < m->nnodes; i++) {
        struct nn_node *nd = &m->nodes[i];
        if (nd->dead)
            continue;
        int op = nd->op, xi = 0, ci = -1;
        if (op == NN_OP_BATCHNORM) {
            xi = 0;
        } else if (op == NN_OP_MUL || op == NN_OP_ADD) {
            if (sole_producer(m, nd->in[0], NN_OP_CONV) >= 0)
                xi = 0;
            else if (sole_producer(m, nd->in[1], NN_OP_CONV) >= 0)
                xi = 1;
            else
                continue;
            ci = nd->in[1 - xi];
        } else if (op == NN_OP_SUB || op == NN_OP_DIV) {
            xi = 0;
            ci = nd->in[1];
        } else {
            continue;
        }
        int p = sole_producer(m, nd->in[xi], NN_OP_CONV);
        if (p < 0)
            continue;
        struct nn_node *cv = &m->nodes[p];
        const struct nn_tensor *W0 = is_const_f32(m, cv->in[1]) ? &m->vals[cv->in[1]].t : NULL;
        if (!W0 || W0->ndim != 4)
            continue;
        int64_t M = W0->dims[0];
        size_t per = M > 0 ? W0->n / (size_t)M : 0;
        if (op == NN_OP_BATCHNORM) {
            int ok = 1;
            for (int k = 1; k < 5; k++)
                if (!is_const_f32(m, nd->in[k]) || m->vals[nd->in[k]].t.n != (size_t)M)
                    ok = 0;
            if (!ok || !conv_own_params(m, cv))
                continue;
            float *w = m->vals[cv->in[1]].t.data, *b = m->vals[cv->in[2]].t.data;
            const float *s = m->vals[nd->in[1]].t.data, *bb = m->vals[nd->in[2]].t.data;
            const float *mean = m->vals[nd->in[3]].t.data, *var = m->vals[nd->in[4]].t.data;
            for (int64_t o = 0; o < M; o++) {
                float k = s[o] / sqrtf(var[o] + nd->p.epsilon);
                for (size_t j = 0; j < per; j++)
                    w[(size_t)o * per + j] *= k;
                b[o] = (b[o] - mean[o]) * k + bb[o];
            }
        } else {
            size_t cn = channel_const(m, ci, M);
            if (!cn || !conv_own_params(m, cv))
                continue;
            float *w = m->vals[cv->in[1]].t.data, *b = m->vals[cv->in[2]].t.data;
            const float *cd = m->vals[ci].t.data;
            for (int64_t o = 0; o < M; o++) {
                float cvv = cd[cn == 1 ? 0 : o];
                switch (op) {
                case NN_OP_MUL:
                    for (size_t j = 0; j < per; j++)
                        w[(size_t)o * per + j] *= cvv;
                    b[o] *= cvv;
                    break;
                case NN_OP_DIV:
                    for (size_t j = 0; j < per; j++)
                        w[(size_t)o * per + j] /= cvv;
                    b[o] /= cvv;
                    break;
                case NN_OP_ADD:
                    b[o] += cvv;
                    break;
                default:
                    b[o] -= cvv;
                    break;
                }
            }
        }
        move_output(m, cv, nd);
        count_uses(m);
    }
}

/* Evaluates every node whose inputs are all constant; its output becomes a constant. */
static int fold_constants(struct sb_nn_model *m, struct sb_error *err)
{
    struct nn_ctx c = {0};
    c.m = m;
    c.fold = 1;
    int rc = 0;
    for (int i = 0; i < m->nnodes; i++) {
        struct nn_node *nd = &m->nodes[i];
        if (nd->dead)
            continue;
        const struct nn_tensor *in[NN_MAX_IO];
        int all = 1;
        for (int k = 0; k < nd->nin; k++) {
            int v = nd->in[k];
            in[k] = v >= 0 ? &m->vals[v].t : NULL;
            if (v >= 0 && !m->vals[v].is_const)
                all = 0;
        }
        if (!all)
            continue;
        struct nn_tensor out = {0};
        struct sb_error e2 = {0};
        rc = sb__nn_exec(&c, nd, in, &out, &e2);
        if (rc == SB_ETOOBIG) {
            free(out.data);
            continue; /* leave big results to run time */
        }
        if (rc < 0) {
            free(out.data);
            sb_error_set(err, rc, "%s", e2.msg);
            break;
        }
        struct nn_value *ov = &m->vals[nd->out[0]];
        ov->is_const = 1;
        ov->t = out;
        ov->producer = -1;
        nd->dead = 1;
    }
    ctx_cleanup(&c);
    return rc < 0 ? rc : 0;
}

/* x·clip(x+a, lo, hi)/d [·s + t] → HARDSWISH; x·sigmoid(c·x) → SWISH. */
static void fuse_activations(struct sb_nn_model *m)
{
    count_uses(m);
    for (int i = 0; i < m->nnodes; i++) {
        struct nn_node *nd = &m->nodes[i];
        if (nd->dead)
            continue;
        if (nd->op == NN_OP_DIV) {
            float d, a;
            int mi = sole_producer(m, nd->in[0], NN_OP_MUL);
            if (mi < 0 || !is_scalar_const(m, nd->in[1], &d))
                continue;
            struct nn_node *mul = &m->nodes[mi];
            int ci = -1, x = -1;
            for (int k = 0; k < 2 && ci < 0; k++) {
                int cl = sole_producer(m, mul->in[k], NN_OP_CLIP);
                if (cl < 0)
                    continue;
                int ad = sole_producer(m, m->nodes[cl].in[0], NN_OP_ADD);
                if (ad < 0)
                    continue;
                const struct nn_node *add = &m->nodes[ad];
                int xo = mul->in[1 - k];
                if (add->in[0] == xo && is_scalar_const(m, add->in[1], &a)) {
                    ci = cl;
                    x = xo;
                } else if (add->in[1] == xo && is_scalar_const(m, add->in[0], &a)) {
                    ci = cl;
                    x = xo;
                }
            }
            if (ci < 0)
                continue;
            struct nn_node *clip = &m->nodes[ci];
            float lo = -INFINITY, hi = INFINITY;
            if (clip->p.has_min)
                lo = clip->p.fmin;
            if (clip->p.has_max)
                hi = clip->p.fmax;
            if (clip->nin > 1 && clip->in[1] >= 0 && !is_scalar_const(m, clip->in[1], &lo))
                continue;
            if (clip->nin > 2 && clip->in[2] >= 0 && !is_scalar_const(m, clip->in[2], &hi))
                continue;
            m->nodes[m->vals[clip->in[0]].producer].dead = 1;
            clip->dead = 1;
            mul->dead = 1;
            nd->op = NN_OP_HARDSWISH;
            nd->in[0] = x;
            nd->nin = 1;
            nd->p.alpha = a;
            nd->p.beta = d;
            nd->p.fmin = lo;
            nd->p.fmax = hi;
            nd->p.has_min = nd->p.has_max = 1;
            nd->p.post_mul = 1.0f;
            nd->p.post_add = 0.0f;
            count_uses(m);
        } else if ((nd->op == NN_OP_MUL || nd->op == NN_OP_ADD) && nd->nin == 2) {
            /* A scalar affine step after a fused hard-swish joins it. */
            float s;
            int k = is_scalar_const(m, nd->in[1], &s)   ? 0
                    : is_scalar_const(m, nd->in[0], &s) ? 1
                                                        : -1;
            if (k < 0)
                continue;
            int hs = sole_producer(m, nd->in[k], NN_OP_HARDSWISH);
            if (hs < 0)
                continue;
            struct nn_node *h = &m->nodes[hs];
            if (nd->op == NN_OP_MUL) {
                h->p.post_mul *= s;
                h->p.post_add *= s;
            } else {
                h->p.post_add += s;
            }
            move_output(m, h, nd);
            count_uses(m);
        } else if (nd->op == NN_OP_SIGMOID) {
            /* y = x * sigmoid(t), t = x or t = x * c */
            int t = nd->in[0];
            if (t == m->output || m->vals[t].nuse != 1 || m->vals[nd->out[0]].nuse != 1 ||
                nd->out[0] == m->output)
                continue;
            float cst = 1.0f;
            int x = t, pre = -1;
            int pm = sole_producer(m, t, NN_OP_MUL);
            if (pm >= 0) {
                const struct nn_node *mp = &m->nodes[pm];
                if (is_scalar_const(m, mp->in[1], &cst)) {
                    x = mp->in[0];
                    pre = pm;
                } else if (is_scalar_const(m, mp->in[0], &cst)) {
                    x = mp->in[1];
                    pre = pm;
                }
            }
            /* the consumer: a later Mul(x, s) or Mul(s, x) */
            int cons = -1;
            for (int j = i + 1; j < m->nnodes && cons < 0; j++) {
                const struct nn_node *q = &m->nodes[j];
                if (q->dead || q->op != NN_OP_MUL || q->nin != 2)
                    continue;
                if ((q->in[0] == nd->out[0] && q->in[1] == x) ||
                    (q->in[1] == nd->out[0] && q->in[0] == x))
                    cons = j;
                else if (q->in[0] == nd->out[0] || q->in[1] == nd->out[0])
                    break;
            }
            if (cons < 0)
                continue;
            if (pre >= 0)
                m->nodes[pre].dead = 1;
            nd->op = NN_OP_SWISH;
            nd->in[0] = x;
            nd->p.alpha = cst;
            move_output(m, nd, &m->nodes[cons]);
            count_uses(m);
        }
    }
}

/* An activation whose input is a Conv output read by nothing else runs inside the Conv, on
 * each output plane while it is still in cache. */
static void fuse_into_conv(struct sb_nn_model *m)
{
    count_uses(m);
    for (int i = 0; i < m->nnodes; i++) {
        struct nn_node *nd = &m->nodes[i];
        if (nd->dead)
            continue;
        switch (nd->op) {
        case NN_OP_RELU:
        case NN_OP_SIGMOID:
        case NN_OP_SWISH:
        case NN_OP_HARDSIGMOID:
        case NN_OP_HARDSWISH:
        case NN_OP_CLIP:
            break;
        default:
            continue;
        }
        int cv = sole_producer(m, nd->in[0], NN_OP_CONV);
        if (cv < 0 || m->nodes[cv].p.act)
            continue;
        struct nn_params q = nd->p;
        if (nd->op == NN_OP_CLIP) { /* bounds given as inputs must be constant scalars */
            if (nd->nin > 1 && nd->in[1] >= 0) {
                if (!is_scalar_const(m, nd->in[1], &q.fmin))
                    continue;
                q.has_min = 1;
            }
            if (nd->nin > 2 && nd->in[2] >= 0) {
                if (!is_scalar_const(m, nd->in[2], &q.fmax))
                    continue;
                q.has_max = 1;
            }
        }
        struct nn_params *cp = &m->nodes[cv].p;
        cp->act = nd->op;
        cp->alpha = q.alpha;
        cp->beta = q.beta;
        cp->fmin = q.fmin;
        cp->fmax = q.fmax;
        cp->has_min = q.has_min;
        cp->has_max = q.has_max;
        cp->post_mul = q.post_mul;
        cp->post_add = q.post_add;
        move_output(m, &m->nodes[cv], nd);
        count_uses(m);
    }
}

/* Frees constants nothing uses any more (orphaned by the rewrites, or BN parameters). */
static void drop_unused(struct sb_nn_model *m)
{
    count_uses(m);
    m->const_bytes = 0;
    for (int v = 0; v < m->nvals; v++) {
        struct nn_value *val = &m->vals[v];
        if (!val->is_const)
            continue;
        if (val->nuse == 0) {
            free(val->t.data);
            val->t.data = NULL;
            val->t.n = 0;
        } else {
            m->const_bytes += val->t.n * (val->t.dtype == NN_F32 ? 4 : 8);
        }
    }
}

/* Repacks the weights of each GEMM-backed Conv into the GEMM's panel layout, once, so that
 * runs skip that step (the original layout is not kept: weights are stored once). */
static void pack_conv_weights(struct sb_nn_model *m)
{
    count_uses(m);
    for (int i = 0; i < m->nnodes; i++) {
        struct nn_node *nd = &m->nodes[i];
        if (nd->dead || nd->op != NN_OP_CONV || nd->p.wpacked)
            continue;
        int w = nd->in[1];
        if (!is_const_f32(m, w) || m->vals[w].nuse != 1)
            continue;
        struct nn_tensor *t = &m->vals[w].t;
        if (t->ndim != 4 || t->n != (size_t)(t->dims[0] * t->dims[1] * t->dims[2] * t->dims[3]))
            continue;
        int64_t G = nd->p.group, M = t->dims[0], K = t->dims[1] * t->dims[2] * t->dims[3];
        if (G < 1 || M % G != 0 || (t->dims[1] == 1 && M / G == 1))
            continue; /* malformed (the run reports it) or depthwise (no GEMM) */
        size_t Mg = (size_t)(M / G), per = sb__nn_gemm_packed_size(Mg, (size_t)K);
        float *packed = sb_malloc((size_t)G * per * 4 + 4);
        for (int64_t g = 0; g < G; g++)
            sb__nn_gemm_pack(Mg, (size_t)K, (const float *)t->data + (size_t)g * Mg * (size_t)K,
                             (size_t)K, packed + (size_t)g * per);
        free(t->data);
        t->data = packed;
        t->n = (size_t)G * per;
        nd->p.wpacked = 1;
    }
}

int sb_nn_load_mem(const void *buf, size_t len, struct sb_nn_model **out, struct sb_error *err)
{
    if (!buf && len)
        return sb_error_set(err, SB_EINVAL, "no buffer");
    if (len > SB_NN_MAX_FILE)
        return sb_error_set(err, SB_ETOOBIG, "model of %zu bytes (max %u)", len, SB_NN_MAX_FILE);
    struct sb_nn_model *m = sb_calloc(1, sizeof(*m));
    int rc = sb__nn_parse(m, buf, len, err);
    if (rc < 0)
        goto fail;
    if (m->const_bytes > NN_MAX_CONST_BYTES) {
        rc = sb_error_set(err, SB_ETOOBIG, "more than 1 GB of weights");
        goto fail;
    }
    fold_into_conv(m);
    if ((rc = fold_constants(m, err)) < 0)
        goto fail;
    fuse_activations(m);
    fuse_into_conv(m);
    pack_conv_weights(m);
    drop_unused(m);
    *out = m;
    return 0;
fail:
    sb__nn_model_cleanup(m);
    free(m);
    return rc;
}

int sb_nn_load(const char *path, struct sb_nn_model **out, struct sb_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = sb_file_read(path, SB_NN_MAX_FILE, &buf, &len, err);
    if (rc < 0)
        return rc;
    rc = sb_nn_load_mem(buf, len, out, err);
    free(buf);
    return rc;
}

void sb_nn_free(struct sb_nn_model *m)
{
    if (!m)
        return;
    sb__nn_model_cleanup(m);
    free(m);
}

void sb_nn_input_shape(const struct sb_nn_model *m, int64_t dims[SB_NN_MAX_DIMS], int *ndim)
{
    *ndim = m->in_ndim;
    for (int i = 0; i < m->in_ndim; i++)
        dims[i] = m->in_dims[i];
}

/* ---- run ---- */

int sb_nn_run(const struct sb_nn_model *m, const float *in, const int64_t *dims, int ndim,
              float **out, int64_t out_dims[SB_NN_MAX_DIMS], int *out_ndim, struct sb_error *err)
{
    if (!m || !dims || !out || !out_ndim || ndim < 0 || ndim > NN_MAX_DIMS)
        return sb_error_set(err, SB_EINVAL, "bad arguments");
    if (m->in_ndim >= 0 && ndim != m->in_ndim)
        return sb_error_set(err, SB_EINVAL, "input of rank %d, the model wants rank %d", ndim,
                            m->in_ndim);
    for (int i = 0; i < ndim; i++)
        if (dims[i] < 0 || (m->in_ndim >= 0 && m->in_dims[i] >= 0 && dims[i] != m->in_dims[i]))
            return sb_error_set(err, SB_EINVAL, "input dim %d is %lld, the model wants %lld", i,
                                (long long)dims[i], (long long)m->in_dims[i]);
    int64_t n = sb__nn_numel(dims, ndim);
    if (n > NN_MAX_ELEMS)
        return sb_error_set(err, SB_ETOOBIG, "input of more than 2^28 elements");
    if (n > 0 && !in)
        return sb_error_set(err, SB_EINVAL, "no input data");

    struct nn_ctx c = {0};
    c.m = m;
    struct nn_tensor *vt = sb_calloc((size_t)m->nvals, sizeof(*vt));
    int rc = 0;
    for (int v = 0; v < m->nvals; v++)
        if (m->vals[v].is_const)
            vt[v] = m->vals[v].t;
    struct nn_tensor *x = &vt[m->input];
    x->dtype = NN_F32;
    x->ndim = ndim;
    memcpy(x->dims, dims, (size_t)ndim * sizeof(int64_t));
    x->n = (size_t)n;
    static const float empty[16];
    /* borrowed; kernels never write their inputs */
    x->data = (void *)(uintptr_t)(n > 0 ? in : empty);

    for (int i = 0; i < m->nnodes; i++) {
        const struct nn_node *nd = &m->nodes[i];
        if (nd->dead)
            continue;
        const struct nn_tensor *ins[NN_MAX_IO];
        for (int k = 0; k < nd->nin; k++) {
            int v = nd->in[k];
            ins[k] = v >= 0 ? &vt[v] : NULL;
            if (v >= 0 && !vt[v].data) {
                rc = sb_error_set(err, SB_EINTERNAL, "node '%s': input %d not computed", nd->name,
                                  k);
                goto out;
            }
        }
        if ((rc = sb__nn_exec(&c, nd, ins, &vt[nd->out[0]], err)) < 0)
            goto out;
        /* Return the buffers whose last reader this node was. */
        for (int k = 0; k < nd->nin; k++) {
            int v = nd->in[k];
            if (v < 0 || m->vals[v].is_const || v == m->input || m->vals[v].last_use != i)
                continue;
            int b = blk_find(&c, vt[v].data);
            if (b >= 0)
                c.blks[b].used = 0;
        }
        int o = nd->out[0];
        if (m->vals[o].nuse == 0) {
            int b = blk_find(&c, vt[o].data);
            if (b >= 0)
                c.blks[b].used = 0;
        }
    }
    const struct nn_tensor *res = &vt[m->output];
    if (res->dtype != NN_F32) {
        rc = sb_error_set(err, SB_EUNSUPPORTED, "the graph output is not float");
        goto out;
    }
    int b = blk_find(&c, res->data);
    float *data;
    if (b >= 0) { /* hand the pool's buffer over */
        data = c.blks[b].p;
        c.blks[b] = c.blks[--c.nblk];
    } else {
        data = sb_malloc(res->n * 4 + 4);
        memcpy(data, res->data, res->n * 4);
    }
    *out = data;
    *out_ndim = res->ndim;
    for (int i = 0; i < res->ndim; i++)
        out_dims[i] = res->dims[i];
    rc = 0;
out:
    ctx_cleanup(&c);
    free(vt);
    return rc;
}
