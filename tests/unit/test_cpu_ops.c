/*
 * The fp32 CPU backend against naive double-precision references written here.
 *
 * Every forward op is compared with a double reference on random inputs (fixed seeds);
 * every backward with central finite differences of the double forward reference
 * (small sizes) and with an analytic double backward (sizes that cross the kernels'
 * block and threading thresholds). Errors are measured as max |got - ref| relative to
 * max |ref|: about 1e-6 for elementwise ops and 1e-5 for ops that reduce (matmuls, row
 * sums, softmax), which is what fp32 rounding allows. Also: the = vs += conventions,
 * permitted aliasing, GQA, the KV-cache attention form, rope tables for each scaling,
 * error messages, and that ops allocate nothing.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"

#define F32      BALDRO_DT_F32
#define I32      BALDRO_DT_I32
#define TOL_ELEM 1e-6
#define TOL_RED  1e-5

static baldro_backend *be;
static const baldro_ops *ops;

/* ---- test arena: everything a test allocates is freed in teardown ----------------- */
static void *arena[512];
static int n_arena;

static void *talloc(size_t bytes) {
    cr_assert_lt(n_arena, 512, "test arena full");
    void *p = calloc(1, bytes ? bytes : 1);
    cr_assert_not_null(p);
    arena[n_arena++] = p;
    return p;
}
static float *fbuf(size_t n) {
    return talloc(n * sizeof(float));
}
static double *dbuf(size_t n) {
    return talloc(n * sizeof(double));
}
static int32_t *ibuf(size_t n) {
    return talloc(n * sizeof(int32_t));
}

static void open_backend(int threads) {
    baldro_error err = {0};
    cr_assert_eq(baldro_backend_cpu_open(threads, &be, &ops, &err), BALDRO_OK, "%s", err.msg);
}
static void setup(void) {
    open_backend(2);
}
static void teardown(void) {
    baldro_backend_close(be);
    be = NULL;
    for (int i = 0; i < n_arena; i++) free(arena[i]);
    n_arena = 0;
}
TestSuite(cpu_ops, .init = setup, .fini = teardown);

/* ---- random inputs ------------------------------------------------------------------ */
static uint64_t rng;
static void seed(uint64_t s) {
    rng = s * 0x9E3779B97F4A7C15ull + 0x1234567ull;
}
static uint64_t next_u64(void) { /* splitmix64 */
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float unif(void) {
    return (float)((double)(next_u64() >> 40) / 16777216.0 * 2.0 - 1.0);
}
static int randint(int n) {
    return (int)(next_u64() % (uint64_t)n);
}

static float *frand(size_t n, float scale) {
    float *p = fbuf(n);
    for (size_t i = 0; i < n; i++) p[i] = scale * unif();
    return p;
}
static double *todouble(const float *p, size_t n) {
    double *d = dbuf(n);
    for (size_t i = 0; i < n; i++) d[i] = p[i];
    return d;
}
static float *fcopy(const float *p, size_t n) {
    float *q = fbuf(n);
    memcpy(q, p, n * sizeof(float));
    return q;
}
static void ffill(float *p, size_t n, float v) {
    for (size_t i = 0; i < n; i++) p[i] = v;
}

/* ---- comparisons ---------------------------------------------------------------------- */
/* max |got - ref| / max |ref|; infinite when got has a NaN. */
static double rel_err(const float *got, const double *ref, size_t n) {
    double scale = 0, err = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(got[i]) || isnan(ref[i])) return INFINITY;
        scale = fmax(scale, fabs(ref[i]));
        err = fmax(err, fabs((double)got[i] - ref[i]));
    }
    return scale > 0 ? err / scale : err;
}
#define EXPECT_CLOSE(got, ref, n, tol, what)                                                       \
    do {                                                                                           \
        double e_ = rel_err((got), (ref), (n));                                                    \
        cr_expect(e_ <= (tol), "%s: max error %.3g relative to scale, tolerance %.1g", (what), e_, \
                  (double)(tol));                                                                  \
    } while (0)

#define OK(call)                                                                                   \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        cr_assert_eq(rc_, BALDRO_OK, "%s -> %d: %s", #call, rc_, ops->last_error(be));             \
    } while (0)

/* The call fails with EINVAL and the message starts with "<op>:" and contains `part`. */
#define EXPECT_EINVAL(call, op, part)                                                              \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        const char *m_ = ops->last_error(be);                                                      \
        cr_expect_eq(rc_, BALDRO_EINVAL, "%s returned %d", #call, rc_);                            \
        cr_expect(strncmp(m_, op ": ", strlen(op ": ")) == 0 && strstr(m_, part) != NULL,          \
                  "%s: message \"%s\" should name %s and say \"%s\"", #call, m_, op, part);        \
    } while (0)

/* ---- finite differences on a double reference -------------------------------------- */
/* loss(ctx) = sum(dout * f(inputs)); grad[i] = d loss / d x[i] by central differences,
 * x being one of the inputs that ctx points to. */
typedef double (*loss_fn)(void *ctx);
static void fd_grad(loss_fn f, void *ctx, double *x, size_t n, double *grad) {
    const double h = 1e-6;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double up = f(ctx);
        x[i] = keep - h;
        double dn = f(ctx);
        x[i] = keep;
        grad[i] = (up - dn) / (2 * h);
    }
}
static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* ===================================================================================== */
/* memory and basics                                                                     */
/* ===================================================================================== */

Test(cpu_ops, alloc_is_aligned_zeroed_and_counted) {
    baldro_backend_stats st;
    baldro_backend_get_stats(be, &st);
    cr_expect_eq(st.n_allocs, 0);
    cr_expect_eq(st.bytes_live, 0);
    cr_expect_eq(st.threads, 2);
    void *a, *b, *c;
    OK(ops->alloc(be, 1000, &a));
    OK(ops->alloc(be, 3, &b));
    OK(ops->alloc(be, 1 << 20, &c));
    cr_expect_eq((uintptr_t)a % 64, 0);
    cr_expect_eq((uintptr_t)b % 64, 0);
    cr_expect_eq((uintptr_t)c % 64, 0);
    const unsigned char *z = c;
    int zero = 1;
    for (size_t i = 0; i < (1u << 20); i++) zero &= z[i] == 0;
    cr_expect(zero, "alloc must return zeroed memory");
    baldro_backend_get_stats(be, &st);
    cr_expect_eq(st.n_allocs, 3);
    cr_expect_eq(st.bytes_live, 1000 + 3 + (1u << 20));
    ops->free(be, c);
    ops->free(be, NULL);
    baldro_backend_get_stats(be, &st);
    cr_expect_eq(st.bytes_live, 1003);
    cr_expect_eq(st.bytes_peak, 1000 + 3 + (1u << 20));
    ops->free(be, b);
    /* `a` stays allocated: close frees it (the sanitizer build checks for leaks). */
}

Test(cpu_ops, open_with_zero_threads_uses_the_openmp_default) {
    baldro_backend_close(be);
    open_backend(0);
    baldro_backend_stats st;
    baldro_backend_get_stats(be, &st);
    cr_expect_eq(st.threads, omp_get_max_threads());
    baldro_backend *b2 = NULL;
    const baldro_ops *o2 = NULL;
    baldro_error err = {0};
    cr_expect_eq(baldro_backend_cpu_open(-1, &b2, &o2, &err), BALDRO_EINVAL);
    cr_expect_null(b2);
    cr_expect_str_eq(ops->name, "cpu");
    cr_expect_eq(ops->act_dtype, BALDRO_DT_F32);
    cr_expect_eq(ops->struct_size, sizeof(baldro_ops));
}

Test(cpu_ops, upload_download_fill_copy_scale) {
    float src[37], dst[37];
    for (int i = 0; i < 37; i++) src[i] = (float)i - 3.5f;
    float *dev = fbuf(37);
    OK(ops->upload(be, dev, src, sizeof src));
    OK(ops->download(be, dst, dev, sizeof dst));
    cr_expect_arr_eq(dst, src, sizeof src);

    baldro_tensor t = baldro_t2(dev, F32, 37, 1);
    OK(ops->fill(be, &t, 2.5f));
    for (int i = 0; i < 37; i++) cr_expect_eq(dev[i], 2.5f);
    OK(ops->scale(be, &t, -2.0f));
    for (int i = 0; i < 37; i++) cr_expect_eq(dev[i], -5.0f);

    int32_t *iv = ibuf(10);
    baldro_tensor ti = baldro_t1(iv, I32, 10);
    OK(ops->fill(be, &ti, -7.0f));
    for (int i = 0; i < 10; i++) cr_expect_eq(iv[i], -7);
    EXPECT_EINVAL(ops->fill(be, &ti, 0.5f), "fill", "0.5");

    /* copy: same numel and dtype, shapes may differ */
    float *y = fbuf(37);
    baldro_tensor ty = baldro_t1(y, F32, 37), tx = baldro_t2(src, F32, 1, 37);
    OK(ops->copy(be, &ty, &tx));
    cr_expect_arr_eq(y, src, sizeof src);
    baldro_tensor short_y = baldro_t1(y, F32, 36);
    EXPECT_EINVAL(ops->copy(be, &short_y, &tx), "copy", "numel=36");
    baldro_tensor ty_i = baldro_t1(iv, I32, 10);
    EXPECT_EINVAL(ops->copy(be, &ty_i, &tx), "copy", "dtype");

    /* large fill/scale go through the threaded path */
    size_t n = 300001;
    float *big = fbuf(n);
    baldro_tensor tb = baldro_t1(big, F32, (int64_t)n);
    OK(ops->fill(be, &tb, 3.0f));
    OK(ops->scale(be, &tb, 0.5f));
    int all = 1;
    for (size_t i = 0; i < n; i++) all &= big[i] == 1.5f;
    cr_expect(all);
}

Test(cpu_ops, add_with_and_without_aliasing) {
    seed(1);
    size_t n = 300007; /* threaded path and a ragged tail */
    float *a = frand(n, 1), *b = frand(n, 1), *y = fbuf(n);
    double *ref = dbuf(n);
    for (size_t i = 0; i < n; i++) ref[i] = (double)a[i] + b[i];
    baldro_tensor ta = baldro_t1(a, F32, (int64_t)n), tb = baldro_t1(b, F32, (int64_t)n),
                  ty = baldro_t1(y, F32, (int64_t)n);
    OK(ops->add(be, &ty, &ta, &tb));
    EXPECT_CLOSE(y, ref, n, TOL_ELEM, "add");
    OK(ops->add(be, &ta, &ta, &tb)); /* y aliases a */
    EXPECT_CLOSE(a, ref, n, TOL_ELEM, "add in place");
    baldro_tensor short_b = baldro_t1(b, F32, 10);
    EXPECT_EINVAL(ops->add(be, &ty, &ta, &short_b), "add", "b.numel=10");
    baldro_tensor shifted = baldro_t1(a + 1, F32, (int64_t)n - 1),
                  a_head = baldro_t1(a, F32, (int64_t)n - 1),
                  b_head = baldro_t1(b, F32, (int64_t)n - 1);
    EXPECT_EINVAL(ops->add(be, &shifted, &a_head, &b_head), "add", "y overlaps a");
}

Test(cpu_ops, sumsq_in_double) {
    seed(2);
    size_t n = 1000003;
    float *x = frand(n, 3);
    double ref = 0;
    for (size_t i = 0; i < n; i++) ref += (double)x[i] * x[i];
    double got = -1;
    baldro_tensor t = baldro_t2(x, F32, 1, (int64_t)n);
    OK(ops->sumsq(be, &t, &got));
    /* both sums in double: they differ by at most n * 2^-53 relative */
    cr_expect(fabs(got - ref) <= 1e-10 * ref, "sumsq %.17g vs %.17g", got, ref);
    /* independent of the thread count */
    baldro_backend_close(be);
    open_backend(1);
    double got1 = -1;
    OK(ops->sumsq(be, &t, &got1));
    cr_expect_eq(got1, got, "sumsq differs between 1 and 2 threads");
}

/* ===================================================================================== */
/* linear                                                                                */
/* ===================================================================================== */

static void ref_linear(double *y, const double *x, const double *w, const double *b, int N, int K,
                       int O) {
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) y[n * O + o] = dot(x + n * K, w + o * K, K) + (b ? b[o] : 0);
}

Test(cpu_ops, linear_fwd_set_and_accumulate) {
    seed(3);
    enum { B = 3, T = 13, K = 70, O = 45, N = B * T };
    float *x = frand(N * K, 1), *w = frand(O * K, 0.5f), *b = frand(O, 1);
    double *ref = dbuf(N * O), *refb = dbuf(N * O);
    ref_linear(ref, todouble(x, N * K), todouble(w, O * K), NULL, N, K, O);
    ref_linear(refb, todouble(x, N * K), todouble(w, O * K), todouble(b, O), N, K, O);
    baldro_tensor tx = baldro_t3(x, F32, B, T, K), tw = baldro_t2(w, F32, O, K),
                  tb = baldro_t1(b, F32, O);
    float *y = fbuf(N * O);
    baldro_tensor ty = baldro_t3(y, F32, B, T, O);
    ffill(y, N * O, NAN); /* '=' must not read y */
    OK(ops->linear_fwd(be, &ty, &tx, &tw, NULL, 0));
    EXPECT_CLOSE(y, ref, N * O, TOL_RED, "linear_fwd no bias");
    ffill(y, N * O, NAN);
    OK(ops->linear_fwd(be, &ty, &tx, &tw, &tb, 0));
    EXPECT_CLOSE(y, refb, N * O, TOL_RED, "linear_fwd bias");

    /* accumulate: y += x W^T (+ b) onto a random y0 */
    float *y0 = frand(N * O, 1);
    double *acc = dbuf(N * O), *accb = dbuf(N * O);
    for (int i = 0; i < N * O; i++) acc[i] = y0[i] + ref[i], accb[i] = y0[i] + refb[i];
    memcpy(y, y0, N * O * sizeof(float));
    OK(ops->linear_fwd(be, &ty, &tx, &tw, NULL, 1));
    EXPECT_CLOSE(y, acc, N * O, TOL_RED, "linear_fwd += no bias");
    memcpy(y, y0, N * O * sizeof(float));
    OK(ops->linear_fwd(be, &ty, &tx, &tw, &tb, 1));
    EXPECT_CLOSE(y, accb, N * O, TOL_RED, "linear_fwd += bias");
}

typedef struct lin_ctx {
    double *x, *w, *b, *dy, *y;
    int N, K, O;
} lin_ctx;
static double lin_loss(void *c) {
    lin_ctx *l = c;
    ref_linear(l->y, l->x, l->w, l->b, l->N, l->K, l->O);
    return dot(l->y, l->dy, (size_t)l->N * l->O);
}

Test(cpu_ops, linear_bwd_against_finite_differences) {
    seed(4);
    enum { N = 7, K = 9, O = 5 };
    float *x = frand(N * K, 1), *w = frand(O * K, 1), *b = frand(O, 1), *dy = frand(N * O, 1);
    lin_ctx c = {todouble(x, N * K),
                 todouble(w, O * K),
                 todouble(b, O),
                 todouble(dy, N * O),
                 dbuf(N * O),
                 N,
                 K,
                 O};
    double *gx = dbuf(N * K), *gw = dbuf(O * K), *gb = dbuf(O);
    fd_grad(lin_loss, &c, c.x, N * K, gx);
    fd_grad(lin_loss, &c, c.w, O * K, gw);
    fd_grad(lin_loss, &c, c.b, O, gb);

    float *dx = fbuf(N * K), *dw = fbuf(O * K), *db = fbuf(O);
    ffill(dx, N * K, NAN);
    baldro_tensor tdx = baldro_t2(dx, F32, N, K), tdw = baldro_t2(dw, F32, O, K),
                  tdb = baldro_t1(db, F32, O), tdy = baldro_t2(dy, F32, N, O),
                  tx = baldro_t2(x, F32, N, K), tw = baldro_t2(w, F32, O, K);
    OK(ops->linear_bwd(be, &tdx, &tdw, &tdb, &tdy, &tx, &tw, 0));
    EXPECT_CLOSE(dx, gx, N * K, TOL_RED, "linear dx");
    EXPECT_CLOSE(dw, gw, O * K, TOL_RED, "linear dw");
    EXPECT_CLOSE(db, gb, O, TOL_RED, "linear db");
}

Test(cpu_ops, linear_bwd_accumulates_parameter_grads) {
    seed(5);
    enum { B = 4, T = 33, K = 40, O = 300, N = B * T }; /* db columns cross a block */
    float *x = frand(N * K, 1), *w = frand(O * K, 1), *dy = frand(N * O, 1);
    float *dx0 = frand(N * K, 1), *dw0 = frand(O * K, 1), *db0 = frand(O, 1);
    double *rdx = dbuf(N * K), *rdw = dbuf(O * K), *rdb = dbuf(O);
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int o = 0; o < O; o++) s += (double)dy[n * O + o] * w[o * K + k];
            rdx[n * K + k] = s;
        }
    for (int o = 0; o < O; o++) {
        for (int k = 0; k < K; k++) {
            double s = dw0[o * K + k];
            for (int n = 0; n < N; n++) s += (double)dy[n * O + o] * x[n * K + k];
            rdw[o * K + k] = s;
        }
        double s = db0[o];
        for (int n = 0; n < N; n++) s += dy[n * O + o];
        rdb[o] = s;
    }
    float *dx = fcopy(dx0, N * K), *dw = fcopy(dw0, O * K), *db = fcopy(db0, O);
    baldro_tensor tdx = baldro_t3(dx, F32, B, T, K), tdw = baldro_t2(dw, F32, O, K),
                  tdb = baldro_t1(db, F32, O), tdy = baldro_t3(dy, F32, B, T, O),
                  tx = baldro_t3(x, F32, B, T, K), tw = baldro_t2(w, F32, O, K);
    OK(ops->linear_bwd(be, &tdx, &tdw, &tdb, &tdy, &tx, &tw, 1)); /* dx += too */
    double *rdx_acc = dbuf(N * K);
    for (int i = 0; i < N * K; i++) rdx_acc[i] = dx0[i] + rdx[i];
    EXPECT_CLOSE(dx, rdx_acc, N * K, TOL_RED, "linear dx +=");
    EXPECT_CLOSE(dw, rdw, O * K, TOL_RED, "linear dw +=");
    EXPECT_CLOSE(db, rdb, O, TOL_RED, "linear db +=");

    /* NULL outputs are skipped; x may be NULL when dw is not wanted */
    memcpy(dx, dx0, N * K * sizeof(float));
    OK(ops->linear_bwd(be, &tdx, NULL, NULL, &tdy, NULL, &tw, 0));
    EXPECT_CLOSE(dx, rdx, N * K, TOL_RED, "linear dx only");
    memcpy(db, db0, O * sizeof(float));
    OK(ops->linear_bwd(be, NULL, NULL, &tdb, &tdy, NULL, NULL, 0));
    EXPECT_CLOSE(db, rdb, O, TOL_RED, "linear db only");
}

Test(cpu_ops, linear_errors_name_the_argument) {
    float *x = fbuf(3 * 32), *w = fbuf(5 * 64), *y = fbuf(3 * 5);
    baldro_tensor tx = baldro_t2(x, F32, 3, 32), tw = baldro_t2(w, F32, 5, 64),
                  ty = baldro_t2(y, F32, 3, 5);
    int rc = ops->linear_fwd(be, &ty, &tx, &tw, NULL, 0);
    cr_expect_eq(rc, BALDRO_EINVAL);
    cr_expect_str_eq(ops->last_error(be), "linear_fwd: w.shape[1]=64 but x.shape[1]=32");
    baldro_tensor tw2 = baldro_t2(w, F32, 5, 32), ty_bad = baldro_t2(y, F32, 3, 4);
    EXPECT_EINVAL(ops->linear_fwd(be, &ty_bad, &tx, &tw2, NULL, 0), "linear_fwd", "y.shape[1]=4");
    baldro_tensor tx_i = baldro_t2(x, I32, 3, 32);
    EXPECT_EINVAL(ops->linear_fwd(be, &ty, &tx_i, &tw2, NULL, 0), "linear_fwd",
                  "x.dtype=I32 but expected F32");
    baldro_tensor tb = baldro_t1(w, F32, 4);
    EXPECT_EINVAL(ops->linear_fwd(be, &ty, &tx, &tw2, &tb, 0), "linear_fwd", "b.numel=4");
    EXPECT_EINVAL(ops->linear_fwd(be, &ty, &tx, NULL, NULL, 0), "linear_fwd", "w is NULL");
    baldro_tensor ty_alias = baldro_t2(x, F32, 3, 5);
    EXPECT_EINVAL(ops->linear_fwd(be, &ty_alias, &tx, &tw2, NULL, 0), "linear_fwd", "overlaps");
    baldro_tensor tdw = baldro_t2(w, F32, 5, 31), tdy = baldro_t2(y, F32, 3, 5);
    EXPECT_EINVAL(ops->linear_bwd(be, NULL, &tdw, NULL, &tdy, &tx, NULL, 0), "linear_bwd",
                  "dw.shape[1]=31 but x.shape[1]=32");
}

/* ===================================================================================== */
/* embedding, gather                                                                     */
/* ===================================================================================== */

Test(cpu_ops, embedding_fwd_and_gather_rows) {
    seed(6);
    enum { V = 50, C = 24, B = 2, T = 9, N = B * T };
    float *table = frand(V * C, 1);
    int32_t *ids = ibuf(N);
    for (int i = 0; i < N; i++) ids[i] = randint(V);
    ids[0] = 0, ids[1] = V - 1;
    float *out = fbuf(N * C);
    baldro_tensor tout = baldro_t3(out, F32, B, T, C), tids = baldro_t2(ids, I32, B, T),
                  ttab = baldro_t2(table, F32, V, C);
    OK(ops->embedding_fwd(be, &tout, &tids, &ttab));
    for (int n = 0; n < N; n++)
        cr_expect_arr_eq(out + n * C, table + ids[n] * C, C * sizeof(float), "row %d", n);

    int32_t idx[3] = {N - 1, 0, 5};
    float *g = fbuf(3 * C);
    baldro_tensor tg = baldro_t2(g, F32, 3, C), tidx = baldro_t1(idx, I32, 3);
    OK(ops->gather_rows(be, &tg, &tout, &tidx));
    for (int m = 0; m < 3; m++)
        cr_expect_arr_eq(g + m * C, out + idx[m] * C, C * sizeof(float), "gather row %d", m);

    /* out-of-range indices are refused before anything is written */
    ffill(out, N * C, 7.0f);
    ids[N - 1] = V;
    EXPECT_EINVAL(ops->embedding_fwd(be, &tout, &tids, &ttab), "embedding_fwd",
                  "ids[17]=50 is out of range [0, 50)");
    int untouched = 1;
    for (int i = 0; i < N * C; i++) untouched &= out[i] == 7.0f;
    cr_expect(untouched, "embedding_fwd wrote output before failing");
    ids[N - 1] = -1;
    EXPECT_EINVAL(ops->embedding_fwd(be, &tout, &tids, &ttab), "embedding_fwd", "ids[17]=-1");
    idx[2] = N;
    EXPECT_EINVAL(ops->gather_rows(be, &tg, &tout, &tidx), "gather_rows",
                  "idx[2]=18 is out of range [0, 18)");
    baldro_tensor tids_f = baldro_t2(ids, F32, B, T);
    EXPECT_EINVAL(ops->embedding_fwd(be, &tout, &tids_f, &ttab), "embedding_fwd",
                  "ids.dtype=F32 but expected I32");
}

static void run_embedding_bwd(float *dtable, const float *dout, const int32_t *ids, int N, int V,
                              int C) {
    baldro_tensor tdt = baldro_t2(dtable, F32, V, C), tdo = baldro_t2((void *)dout, F32, N, C),
                  tids = baldro_t1((void *)ids, I32, N);
    OK(ops->embedding_bwd(be, &tdt, &tdo, &tids));
}

Test(cpu_ops, embedding_bwd_scatter_adds_repeated_ids) {
    seed(7);
    enum { V = 37, C = 515, N = 700 }; /* threaded by columns, ragged last range */
    float *dout = frand(N * C, 1), *dt0 = frand(V * C, 1);
    int32_t *ids = ibuf(N);
    for (int i = 0; i < N; i++) ids[i] = randint(5) == 0 ? 3 : randint(V); /* many repeats */
    double *ref = todouble(dt0, V * C);
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) ref[ids[n] * C + c] += dout[n * C + c];
    float *dt = fcopy(dt0, V * C);
    run_embedding_bwd(dt, dout, ids, N, V, C);
    EXPECT_CLOSE(dt, ref, V * C, TOL_RED, "embedding_bwd");
    /* same bits with one thread: the sum order does not depend on the thread count */
    float *dt1 = fcopy(dt0, V * C);
    baldro_backend_close(be);
    open_backend(1);
    run_embedding_bwd(dt1, dout, ids, N, V, C);
    cr_expect_arr_eq(dt1, dt, V * C * sizeof(float), "embedding_bwd differs by thread count");
    ids[N / 2] = V;
    baldro_tensor tdt = baldro_t2(dt, F32, V, C), tdo = baldro_t2(dout, F32, N, C),
                  tids = baldro_t1(ids, I32, N);
    EXPECT_EINVAL(ops->embedding_bwd(be, &tdt, &tdo, &tids), "embedding_bwd", "ids[350]=37");
}

/* ===================================================================================== */
/* RMSNorm                                                                               */
/* ===================================================================================== */

static void ref_rmsnorm(double *out, double *rstd, const double *x, const double *w, int N, int C,
                        double eps) {
    for (int n = 0; n < N; n++) {
        double r = 1.0 / sqrt(dot(x + n * C, x + n * C, C) / C + eps);
        if (rstd) rstd[n] = r;
        for (int c = 0; c < C; c++) out[n * C + c] = w[c] * x[n * C + c] * r;
    }
}

typedef struct norm_ctx {
    double *x, *w, *dout, *out;
    int N, C;
    double eps;
} norm_ctx;
static double norm_loss(void *p) {
    norm_ctx *c = p;
    ref_rmsnorm(c->out, NULL, c->x, c->w, c->N, c->C, c->eps);
    return dot(c->out, c->dout, (size_t)c->N * c->C);
}

Test(cpu_ops, rmsnorm_fwd) {
    seed(8);
    enum { N = 300, C = 515 }; /* threaded path */
    const float eps = 1e-5f;
    float *x = frand(N * C, 2), *w = frand(C, 1), *out = fbuf(N * C), *rstd = fbuf(N);
    for (int c = 0; c < C; c++) x[3 * C + c] *= 1e-3f; /* a row where eps matters */
    double *rout = dbuf(N * C), *rr = dbuf(N);
    ref_rmsnorm(rout, rr, todouble(x, N * C), todouble(w, C), N, C, eps);
    baldro_tensor tout = baldro_t3(out, F32, 3, 100, C), tx = baldro_t3(x, F32, 3, 100, C),
                  tw = baldro_t1(w, F32, C), tr = baldro_t2(rstd, F32, 3, 100);
    OK(ops->rmsnorm_fwd(be, &tout, &tr, &tx, &tw, eps));
    EXPECT_CLOSE(out, rout, N * C, TOL_ELEM, "rmsnorm out");
    EXPECT_CLOSE(rstd, rr, N, TOL_ELEM, "rmsnorm rstd");
    ffill(out, N * C, 0);
    OK(ops->rmsnorm_fwd(be, &tout, NULL, &tx, &tw, eps)); /* rstd not wanted */
    EXPECT_CLOSE(out, rout, N * C, TOL_ELEM, "rmsnorm out (no rstd)");
    baldro_tensor tw_bad = baldro_t1(w, F32, C - 1);
    EXPECT_EINVAL(ops->rmsnorm_fwd(be, &tout, &tr, &tx, &tw_bad, eps), "rmsnorm_fwd",
                  "w.numel=514");
}

Test(cpu_ops, rmsnorm_bwd_against_finite_differences) {
    seed(9);
    enum { N = 5, C = 19 };
    const float eps = 1e-5f;
    float *x = frand(N * C, 1.5f), *w = frand(C, 1), *dout = frand(N * C, 1);
    norm_ctx c = {
        todouble(x, N * C), todouble(w, C), todouble(dout, N * C), dbuf(N * C), N, C, eps};
    double *gx = dbuf(N * C), *gw = dbuf(C);
    fd_grad(norm_loss, &c, c.x, N * C, gx);
    fd_grad(norm_loss, &c, c.w, C, gw);
    float *out = fbuf(N * C), *rstd = fbuf(N), *dx = fbuf(N * C), *dw = fbuf(C);
    baldro_tensor tx = baldro_t2(x, F32, N, C), tw = baldro_t1(w, F32, C),
                  tout = baldro_t2(out, F32, N, C), tr = baldro_t1(rstd, F32, N),
                  tdx = baldro_t2(dx, F32, N, C), tdw = baldro_t1(dw, F32, C),
                  tdo = baldro_t2(dout, F32, N, C);
    OK(ops->rmsnorm_fwd(be, &tout, &tr, &tx, &tw, eps));
    ffill(dx, N * C, NAN);
    OK(ops->rmsnorm_bwd(be, &tdx, &tdw, &tdo, &tx, &tw, &tr, 0));
    EXPECT_CLOSE(dx, gx, N * C, TOL_RED, "rmsnorm dx");
    EXPECT_CLOSE(dw, gw, C, TOL_RED, "rmsnorm dw");
}

Test(cpu_ops, rmsnorm_bwd_accumulates) {
    seed(10);
    enum { N = 257, C = 600 };
    const float eps = 1e-6f;
    float *x = frand(N * C, 1), *w = frand(C, 1), *dout = frand(N * C, 1);
    float *dx0 = frand(N * C, 1), *dw0 = frand(C, 1);
    double *xd = todouble(x, N * C);
    /* analytic double reference: dx = r w g - x r^3/C sum(g w x); dw = sum g x r */
    double *rdx = dbuf(N * C), *rdw = todouble(dw0, C);
    float *out = fbuf(N * C), *rstd = fbuf(N);
    baldro_tensor tx = baldro_t2(x, F32, N, C), tw = baldro_t1(w, F32, C),
                  tout = baldro_t2(out, F32, N, C), tr = baldro_t1(rstd, F32, N);
    OK(ops->rmsnorm_fwd(be, &tout, &tr, &tx, &tw, eps));
    for (int n = 0; n < N; n++) {
        double r = 1.0 / sqrt(dot(xd + n * C, xd + n * C, C) / C + eps), s = 0;
        for (int c = 0; c < C; c++) s += (double)dout[n * C + c] * w[c] * x[n * C + c];
        for (int c = 0; c < C; c++) {
            rdx[n * C + c] =
                dx0[n * C + c] + r * w[c] * dout[n * C + c] - x[n * C + c] * r * r * r / C * s;
            rdw[c] += (double)dout[n * C + c] * x[n * C + c] * r;
        }
    }
    float *dx = fcopy(dx0, N * C), *dw = fcopy(dw0, C);
    baldro_tensor tdx = baldro_t2(dx, F32, N, C), tdw = baldro_t1(dw, F32, C),
                  tdo = baldro_t2(dout, F32, N, C);
    OK(ops->rmsnorm_bwd(be, &tdx, &tdw, &tdo, &tx, &tw, &tr, 1));
    EXPECT_CLOSE(dx, rdx, N * C, TOL_RED, "rmsnorm dx +=");
    EXPECT_CLOSE(dw, rdw, C, TOL_RED, "rmsnorm dw +=");
    OK(ops->rmsnorm_bwd(be, NULL, &tdw, &tdo, &tx, &tw, &tr, 0)); /* dx not wanted */
}

/* ===================================================================================== */
/* RoPE                                                                                  */
/* ===================================================================================== */

/* The reference frequencies: Hugging Face's fp32 computation, step by step (PyTorch's
 * `scalar / tensor` is tensor.reciprocal() * scalar; Python floats meet float tensors
 * as float). */
static float hf_inv_freq(const baldro_rope_params *p, int i) {
    float inv = 1.0f / powf((float)p->theta, (float)(2 * i) / (float)p->head_dim);
    if (p->scaling == BALDRO_ROPE_LINEAR) return inv / (float)p->factor;
    if (p->scaling != BALDRO_ROPE_LLAMA3) return inv;
    double orig = p->original_max_positions;
    double low_wavelen = orig / p->low_freq_factor, high_wavelen = orig / p->high_freq_factor;
    float wavelen = (1.0f / inv) * (float)(2 * M_PI);
    float llama = wavelen > (float)low_wavelen ? inv / (float)p->factor : inv;
    float smooth = ((1.0f / wavelen) * (float)orig - (float)p->low_freq_factor) /
                   (float)(p->high_freq_factor - p->low_freq_factor);
    float smoothed = (1.0f - smooth) * llama / (float)p->factor + smooth * llama;
    int medium = !(wavelen < (float)high_wavelen) && !(wavelen > (float)low_wavelen);
    return medium ? smoothed : llama;
}

static float *build_table(const baldro_rope_params *p) {
    float *t = fbuf((size_t)p->max_positions * p->head_dim);
    baldro_tensor tt = baldro_t2(t, F32, p->max_positions, p->head_dim);
    OK(ops->rope_table(be, &tt, p));
    return t;
}

static void check_table(const baldro_rope_params *p, const float *t, const char *what) {
    int D = p->head_dim, h = D / 2, bad = 0;
    for (int pos = 0; pos < p->max_positions; pos++)
        for (int i = 0; i < h; i++) {
            float ang = (float)pos * hf_inv_freq(p, i);
            float c = (float)cos((double)ang), s = (float)sin((double)ang);
            if (t[pos * D + i] != c || t[pos * D + h + i] != s) {
                if (!bad++)
                    cr_expect_fail("%s: table[%d][%d] = (%.9g, %.9g), expected (%.9g, %.9g)", what,
                                   pos, i, t[pos * D + i], t[pos * D + h + i], c, s);
            }
        }
}

Test(cpu_ops, rope_table_default_and_linear) {
    baldro_rope_params p = {.struct_size = sizeof p,
                            .head_dim = 16,
                            .max_positions = 300,
                            .scaling = BALDRO_ROPE_NONE,
                            .theta = 10000.0};
    float *t = build_table(&p);
    check_table(&p, t, "default");
    /* frequency 0 is 1: cos(pos) exactly */
    cr_expect_eq(t[5 * 16 + 0], (float)cos(5.0));
    /* sanity of the fp32 frequencies against their double values */
    for (int i = 0; i < 8; i++) {
        double f = pow(10000.0, -2.0 * i / 16);
        cr_expect(fabs(hf_inv_freq(&p, i) - f) <= 2e-7 * f, "freq %d", i);
    }
    baldro_rope_params lin = p;
    lin.scaling = BALDRO_ROPE_LINEAR;
    lin.factor = 4.0;
    float *tl = build_table(&lin);
    check_table(&lin, tl, "linear");
    /* linear scaling: position p of the scaled table is position p/4 of the default */
    cr_expect(fabsf(tl[8 * 16 + 3] - t[2 * 16 + 3]) < 1e-6f);
}

Test(cpu_ops, rope_table_llama3_bands) {
    /* Llama 3.1's settings, with a short original context so all three bands appear
     * among 64 frequencies. */
    baldro_rope_params p = {.struct_size = sizeof p,
                            .head_dim = 64,
                            .max_positions = 200,
                            .scaling = BALDRO_ROPE_LLAMA3,
                            .theta = 500000.0,
                            .factor = 8.0,
                            .low_freq_factor = 1.0,
                            .high_freq_factor = 4.0,
                            .original_max_positions = 512};
    float *t = build_table(&p);
    check_table(&p, t, "llama3");
    baldro_rope_params def = p;
    def.scaling = BALDRO_ROPE_NONE;
    int n_high = 0, n_low = 0, n_mid = 0;
    for (int i = 0; i < 32; i++) {
        double f0 = hf_inv_freq(&def, i), f = hf_inv_freq(&p, i), wl = 2 * M_PI / f0;
        if (wl < 512.0 / 4.0) {
            n_high++;
            cr_expect_eq(f, f0, "high-frequency band %d is unscaled", i);
        } else if (wl > 512.0) {
            n_low++;
            cr_expect(fabs(f - f0 / 8) <= 1e-7 * f, "low-frequency band %d is divided", i);
        } else {
            n_mid++;
            double s = (512.0 / wl - 1.0) / 3.0, want = (1 - s) * f0 / 8 + s * f0;
            cr_expect(fabs(f - want) <= 1e-6 * want, "band %d interpolates", i);
        }
    }
    cr_expect(n_high > 0 && n_low > 0 && n_mid > 0, "bands %d %d %d", n_high, n_low, n_mid);
    /* The first model this backend runs uses head_dim 128 and 8192: check it too. */
    baldro_rope_params p2 = p;
    p2.head_dim = 128;
    p2.original_max_positions = 8192;
    p2.max_positions = 64;
    check_table(&p2, build_table(&p2), "llama3 (8192)");
}

Test(cpu_ops, rope_table_errors) {
    float *t = fbuf(10 * 8);
    baldro_tensor tt = baldro_t2(t, F32, 10, 8);
    baldro_rope_params p = {
        .struct_size = sizeof p, .head_dim = 8, .max_positions = 10, .theta = 10000.0};
    OK(ops->rope_table(be, &tt, &p));
    p.head_dim = 7;
    EXPECT_EINVAL(ops->rope_table(be, &tt, &p), "rope_table", "head_dim=7");
    p.head_dim = 8;
    p.max_positions = 11;
    EXPECT_EINVAL(ops->rope_table(be, &tt, &p), "rope_table", "table.shape[0]=10");
    p.max_positions = 10;
    p.scaling = BALDRO_ROPE_LLAMA3;
    p.factor = 8;
    p.low_freq_factor = 4;
    p.high_freq_factor = 4;
    p.original_max_positions = 10;
    EXPECT_EINVAL(ops->rope_table(be, &tt, &p), "rope_table", "high_freq_factor");
    p.scaling = 9;
    EXPECT_EINVAL(ops->rope_table(be, &tt, &p), "rope_table", "scaling=9");
}

/* Reference rotation in double from the table's values; sign -1: the inverse. */
static void ref_rope(double *y, const double *x, const float *tab, const int32_t *pos0, int B,
                     int T, int H, int D, int interleaved, double sign) {
    int h = D / 2;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++)
            for (int hd = 0; hd < H; hd++) {
                const float *row = tab + (size_t)((pos0 ? pos0[b] : 0) + t) * D;
                const double *xi = x + (((size_t)b * T + t) * H + hd) * D;
                double *yi = y + (((size_t)b * T + t) * H + hd) * D;
                for (int i = 0; i < h; i++) {
                    int i0 = interleaved ? 2 * i : i, i1 = interleaved ? 2 * i + 1 : i + h;
                    double c = row[i], s = sign * row[h + i];
                    double a = xi[i0], bb = xi[i1];
                    yi[i0] = a * c - bb * s;
                    yi[i1] = bb * c + a * s;
                }
            }
}

typedef struct rope_ctx {
    double *x, *y, *dout;
    const float *tab;
    const int32_t *pos0;
    int B, T, H, D, il;
} rope_ctx;
static double rope_loss(void *p) {
    rope_ctx *c = p;
    ref_rope(c->y, c->x, c->tab, c->pos0, c->B, c->T, c->H, c->D, c->il, 1.0);
    return dot(c->y, c->dout, (size_t)c->B * c->T * c->H * c->D);
}

Test(cpu_ops, rope_fwd_bwd_both_conventions_with_pos0) {
    seed(11);
    enum { B = 2, T = 6, H = 3, D = 8, P = 20, n = B * T * H * D };
    baldro_rope_params p = {
        .struct_size = sizeof p, .head_dim = D, .max_positions = P, .theta = 10000.0};
    float *tab = build_table(&p);
    int32_t pos0[B] = {3, P - T};
    baldro_tensor ttab = baldro_t2(tab, F32, P, D), tpos = baldro_t1(pos0, I32, B);
    for (int il = 0; il < 2; il++) {
        float *x = frand(n, 1), *dout = frand(n, 1);
        double *ref = dbuf(n), *rgrad = dbuf(n);
        ref_rope(ref, todouble(x, n), tab, pos0, B, T, H, D, il, 1.0);
        rope_ctx c = {todouble(x, n), dbuf(n), todouble(dout, n), tab, pos0, B, T, H, D, il};
        fd_grad(rope_loss, &c, c.x, n, rgrad);
        float *y = fcopy(x, n), *g = fcopy(dout, n);
        baldro_tensor ty = baldro_t4(y, F32, B, T, H, D), tg = baldro_t4(g, F32, B, T, H, D);
        OK(ops->rope_fwd(be, &ty, &ttab, &tpos, il));
        EXPECT_CLOSE(y, ref, n, TOL_ELEM, il ? "rope_fwd interleaved" : "rope_fwd half");
        OK(ops->rope_bwd(be, &tg, &ttab, &tpos, il));
        EXPECT_CLOSE(g, rgrad, n, TOL_RED, il ? "rope_bwd interleaved" : "rope_bwd half");
        /* pos0 NULL = positions from 0 */
        float *y0 = fcopy(x, n);
        double *ref0 = dbuf(n);
        ref_rope(ref0, todouble(x, n), tab, NULL, B, T, H, D, il, 1.0);
        baldro_tensor ty0 = baldro_t4(y0, F32, B, T, H, D);
        OK(ops->rope_fwd(be, &ty0, &ttab, NULL, il));
        EXPECT_CLOSE(y0, ref0, n, TOL_ELEM, "rope_fwd pos0 NULL");
    }
    /* the two conventions pair different elements */
    float *a = frand(n, 1), *b = fcopy(a, n);
    baldro_tensor ta = baldro_t4(a, F32, B, T, H, D), tb = baldro_t4(b, F32, B, T, H, D);
    OK(ops->rope_fwd(be, &ta, &ttab, &tpos, 0));
    OK(ops->rope_fwd(be, &tb, &ttab, &tpos, 1));
    cr_expect(memcmp(a, b, n * sizeof(float)) != 0);
    pos0[1] = P - T + 1;
    EXPECT_EINVAL(ops->rope_fwd(be, &ta, &ttab, &tpos, 0), "rope_fwd", "outside the table");
    pos0[1] = -1;
    EXPECT_EINVAL(ops->rope_bwd(be, &ta, &ttab, &tpos, 0), "rope_bwd", "outside the table");
    baldro_tensor ta3 = baldro_t3(a, F32, B, T, H * D);
    EXPECT_EINVAL(ops->rope_fwd(be, &ta3, &ttab, NULL, 0), "rope_fwd", "x.ndim=3");
}

Test(cpu_ops, rope_threaded_matches_reference) {
    seed(12);
    enum { B = 3, T = 50, H = 8, D = 64, P = 64, n = B * T * H * D };
    baldro_rope_params p = {
        .struct_size = sizeof p, .head_dim = D, .max_positions = P, .theta = 500000.0};
    float *tab = build_table(&p), *x = frand(n, 1), *y = fcopy(x, n);
    int32_t pos0[B] = {0, 14, 7};
    double *ref = dbuf(n);
    ref_rope(ref, todouble(x, n), tab, pos0, B, T, H, D, 0, 1.0);
    baldro_tensor ty = baldro_t4(y, F32, B, T, H, D), ttab = baldro_t2(tab, F32, P, D),
                  tpos = baldro_t1(pos0, I32, B);
    OK(ops->rope_fwd(be, &ty, &ttab, &tpos, 0));
    EXPECT_CLOSE(y, ref, n, TOL_ELEM, "rope_fwd threaded");
    OK(ops->rope_bwd(be, &ty, &ttab, &tpos, 0)); /* inverse brings x back */
    EXPECT_CLOSE(y, todouble(x, n), n, TOL_ELEM, "rope_bwd(rope_fwd(x))");
}

/* ===================================================================================== */
/* SwiGLU                                                                                */
/* ===================================================================================== */

static double silu(double g) {
    return g / (1 + exp(-g));
}

typedef struct swiglu_ctx {
    double *g, *u, *dout;
    size_t n;
} swiglu_ctx;
static double swiglu_loss(void *p) {
    swiglu_ctx *c = p;
    double s = 0;
    for (size_t i = 0; i < c->n; i++) s += c->dout[i] * silu(c->g[i]) * c->u[i];
    return s;
}

Test(cpu_ops, swiglu_fwd_bwd_and_permitted_aliasing) {
    seed(13);
    const size_t n = 100003; /* threaded, ragged blocks */
    float *g = frand(n, 6), *u = frand(n, 2), *d = frand(n, 1);
    g[0] = -95.0f, g[1] = 95.0f, g[2] = 0.0f; /* exp range edges */
    double *ry = dbuf(n), *rdg = dbuf(n), *rdu = dbuf(n);
    for (size_t i = 0; i < n; i++) {
        double gi = g[i], s = 1 / (1 + exp(-gi));
        ry[i] = silu(gi) * u[i];
        rdu[i] = d[i] * silu(gi);
        rdg[i] = d[i] * u[i] * s * (1 + gi * (1 - s));
    }
    float *y = fbuf(n), *dg = fbuf(n), *du = fbuf(n);
    baldro_tensor tg = baldro_t2(g, F32, 1, (int64_t)n), tu = baldro_t1(u, F32, (int64_t)n),
                  td = baldro_t1(d, F32, (int64_t)n), ty = baldro_t1(y, F32, (int64_t)n),
                  tdg = baldro_t1(dg, F32, (int64_t)n), tdu = baldro_t1(du, F32, (int64_t)n);
    OK(ops->swiglu_fwd(be, &ty, &tg, &tu));
    EXPECT_CLOSE(y, ry, n, TOL_ELEM, "swiglu_fwd");
    OK(ops->swiglu_bwd(be, &tdg, &tdu, &td, &tg, &tu));
    EXPECT_CLOSE(dg, rdg, n, TOL_ELEM, "swiglu dgate");
    EXPECT_CLOSE(du, rdu, n, TOL_ELEM, "swiglu dup");
    /* dgate over gate and dup over up, as the MLP backward does to save memory */
    float *g2 = fcopy(g, n), *u2 = fcopy(u, n);
    baldro_tensor tg2 = baldro_t1(g2, F32, (int64_t)n), tu2 = baldro_t1(u2, F32, (int64_t)n);
    OK(ops->swiglu_bwd(be, &tg2, &tu2, &td, &tg2, &tu2));
    cr_expect_arr_eq(g2, dg, n * sizeof(float), "aliased dgate differs");
    cr_expect_arr_eq(u2, du, n * sizeof(float), "aliased dup differs");
    /* only one of the two aliased */
    float *g3 = fcopy(g, n);
    baldro_tensor tg3 = baldro_t1(g3, F32, (int64_t)n);
    OK(ops->swiglu_bwd(be, &tg3, &tdu, &td, &tg3, &tu));
    cr_expect_arr_eq(g3, dg, n * sizeof(float), "aliased dgate (alone) differs");
    /* aliasing other than the permitted one is refused */
    EXPECT_EINVAL(ops->swiglu_bwd(be, &tdg, &tdu, &td, &tg, &tdg), "swiglu_bwd", "overlaps");
    baldro_tensor tu_short = baldro_t1(u, F32, (int64_t)n - 1);
    EXPECT_EINVAL(ops->swiglu_fwd(be, &ty, &tg, &tu_short), "swiglu_fwd", "up.numel=100002");
}

Test(cpu_ops, swiglu_bwd_against_finite_differences) {
    seed(14);
    const size_t n = 37;
    float *g = frand(n, 4), *u = frand(n, 2), *d = frand(n, 1);
    swiglu_ctx c = {todouble(g, n), todouble(u, n), todouble(d, n), n};
    double *rg = dbuf(n), *ru = dbuf(n);
    fd_grad(swiglu_loss, &c, c.g, n, rg);
    fd_grad(swiglu_loss, &c, c.u, n, ru);
    float *dg = fbuf(n), *du = fbuf(n);
    baldro_tensor tg = baldro_t1(g, F32, n), tu = baldro_t1(u, F32, n), td = baldro_t1(d, F32, n),
                  tdg = baldro_t1(dg, F32, n), tdu = baldro_t1(du, F32, n);
    OK(ops->swiglu_bwd(be, &tdg, &tdu, &td, &tg, &tu));
    EXPECT_CLOSE(dg, rg, n, TOL_RED, "swiglu dgate vs fd");
    EXPECT_CLOSE(du, ru, n, TOL_RED, "swiglu dup vs fd");
}

/* ===================================================================================== */
/* attention                                                                             */
/* ===================================================================================== */

typedef struct att_dims {
    int B, Tq, S, Hq, Hkv, D;
} att_dims;
#define QI(a, b, t, h, d) ((((size_t)(b) * (a).Tq + (t)) * (a).Hq + (h)) * (a).D + (d))
#define KI(a, b, j, h, d) ((((size_t)(b) * (a).S + (j)) * (a).Hkv + (h)) * (a).D + (d))

/* Double reference of the forward: query i of row b at position pos0[b] + i sees keys
 * j <= its position; query head h reads kv head h / (Hq / Hkv). */
static void ref_attention(att_dims a, double *out, double *lse, const double *q, const double *k,
                          const double *v, const int32_t *pos0, double scale) {
    double *s = malloc(sizeof(double) * (size_t)a.S);
    int G = a.Hq / a.Hkv;
    for (int b = 0; b < a.B; b++)
        for (int h = 0; h < a.Hq; h++)
            for (int i = 0; i < a.Tq; i++) {
                int p = (pos0 ? pos0[b] : 0) + i, kh = h / G;
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j <= p; j++) {
                    s[j] = scale * dot(q + QI(a, b, i, h, 0), k + KI(a, b, j, kh, 0), a.D);
                    mx = fmax(mx, s[j]);
                }
                for (int j = 0; j <= p; j++) sum += exp(s[j] - mx);
                for (int d = 0; d < a.D; d++) {
                    double o = 0;
                    for (int j = 0; j <= p; j++) o += exp(s[j] - mx) / sum * v[KI(a, b, j, kh, d)];
                    out[QI(a, b, i, h, d)] = o;
                }
                if (lse) lse[((size_t)b * a.Hq + h) * a.Tq + i] = mx + log(sum);
            }
    free(s);
}

/* Analytic double backward (training form): dP = dO V^T, dS = P (dP - sum P dP),
 * dq = scale dS K, dk = scale dS^T q, dv = P^T dO. */
static void ref_attention_bwd(att_dims a, double *dq, double *dk, double *dv, const double *dO,
                              const double *q, const double *k, const double *v, double scale) {
    int G = a.Hq / a.Hkv, T = a.Tq;
    double *P = malloc(sizeof(double) * T), *dP = malloc(sizeof(double) * T);
    memset(dq, 0, sizeof(double) * a.B * T * a.Hq * a.D);
    memset(dk, 0, sizeof(double) * a.B * T * a.Hkv * a.D);
    memset(dv, 0, sizeof(double) * a.B * T * a.Hkv * a.D);
    for (int b = 0; b < a.B; b++)
        for (int h = 0; h < a.Hq; h++)
            for (int i = 0; i < T; i++) {
                int kh = h / G;
                double mx = -INFINITY, sum = 0, di = 0;
                for (int j = 0; j <= i; j++) {
                    P[j] = scale * dot(q + QI(a, b, i, h, 0), k + KI(a, b, j, kh, 0), a.D);
                    mx = fmax(mx, P[j]);
                }
                for (int j = 0; j <= i; j++) sum += (P[j] = exp(P[j] - mx));
                for (int j = 0; j <= i; j++) {
                    P[j] /= sum;
                    dP[j] = dot(dO + QI(a, b, i, h, 0), v + KI(a, b, j, kh, 0), a.D);
                    di += P[j] * dP[j];
                }
                for (int j = 0; j <= i; j++) {
                    double ds = P[j] * (dP[j] - di);
                    for (int d = 0; d < a.D; d++) {
                        dq[QI(a, b, i, h, d)] += scale * ds * k[KI(a, b, j, kh, d)];
                        dk[KI(a, b, j, kh, d)] += scale * ds * q[QI(a, b, i, h, d)];
                        dv[KI(a, b, j, kh, d)] += P[j] * dO[QI(a, b, i, h, d)];
                    }
                }
            }
    free(P);
    free(dP);
}

static baldro_tensor workspace_for(att_dims a) {
    size_t bytes = ops->attention_workspace(be, a.B, a.Tq, a.S, a.Hq, a.Hkv, a.D);
    float *ws = fbuf(bytes / 4 + 1);
    return baldro_t1(ws, F32, (int64_t)(bytes / 4));
}

/* Runs attention_fwd on float inputs and checks out and lse against the reference. */
static void check_attention_fwd(att_dims a, const float *q, const float *k, const float *v,
                                int32_t *pos0, float scale, const char *what) {
    size_t nq = (size_t)a.B * a.Tq * a.Hq * a.D, nk = (size_t)a.B * a.S * a.Hkv * a.D;
    size_t nl = (size_t)a.B * a.Hq * a.Tq;
    double *rout = dbuf(nq), *rlse = dbuf(nl);
    ref_attention(a, rout, rlse, todouble(q, nq), todouble(k, nk), todouble(v, nk), pos0, scale);
    float *out = fbuf(nq), *lse = fbuf(nl);
    ffill(out, nq, NAN);
    baldro_tensor tq = baldro_t4((void *)q, F32, a.B, a.Tq, a.Hq, a.D),
                  tk = baldro_t4((void *)k, F32, a.B, a.S, a.Hkv, a.D),
                  tv = baldro_t4((void *)v, F32, a.B, a.S, a.Hkv, a.D),
                  to = baldro_t4(out, F32, a.B, a.Tq, a.Hq, a.D),
                  tl = baldro_t3(lse, F32, a.B, a.Hq, a.Tq), tp = baldro_t1(pos0, I32, a.B),
                  ws = workspace_for(a);
    OK(ops->attention_fwd(be, &to, &tl, &tq, &tk, &tv, pos0 ? &tp : NULL, scale, &ws));
    EXPECT_CLOSE(out, rout, nq, TOL_RED, what);
    EXPECT_CLOSE(lse, rlse, nl, TOL_RED, what);
}

Test(cpu_ops, attention_fwd_gqa_and_mha) {
    seed(15);
    att_dims shapes[] = {
        {2, 7, 7, 4, 2, 8},      /* GQA 2 groups, one query block */
        {1, 9, 9, 4, 1, 16},     /* MQA */
        {2, 5, 5, 3, 3, 4},      /* MHA */
        {2, 150, 150, 4, 2, 16}, /* several query blocks, threaded */
        {1, 130, 130, 4, 1, 8},  /* threaded with one kv head */
        /* head dims above CPU_ATT_SMALL_D take the sgemm path */
        {2, 7, 7, 4, 2, 40},
        {2, 150, 150, 4, 2, 64},
        {1, 70, 70, 2, 1, 33},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        att_dims a = shapes[s];
        size_t nq = (size_t)a.B * a.Tq * a.Hq * a.D, nk = (size_t)a.B * a.S * a.Hkv * a.D;
        float *q = frand(nq, 1.5f), *k = frand(nk, 1.5f), *v = frand(nk, 1);
        char what[64];
        snprintf(what, sizeof what, "attention_fwd shape %zu", s);
        check_attention_fwd(a, q, k, v, NULL, 1.0f / sqrtf((float)a.D), what);
    }
}

/* The KV-cache form: the queries of a chunk at positions pos0[b].. attend a cache that
 * holds everything before them; the rows must equal those of the full causal pass.
 * The cache slots after each row's last position hold NaN: they must never be read. */
static void check_kv_cache(int D) {
    enum { B = 2, T = 40, Hq = 4, Hkv = 2, S = 48, TQ = 5 };
    const float scale = 0.35f;
    att_dims full = {B, T, T, Hq, Hkv, D};
    size_t nq = (size_t)B * T * Hq * D, nk = (size_t)B * T * Hkv * D;
    float *q = frand(nq, 2), *k = frand(nk, 2), *v = frand(nk, 1);
    float *out = fbuf(nq), *lse = fbuf((size_t)B * Hq * T);
    baldro_tensor tq = baldro_t4(q, F32, B, T, Hq, D), tk = baldro_t4(k, F32, B, T, Hkv, D),
                  tv = baldro_t4(v, F32, B, T, Hkv, D), to = baldro_t4(out, F32, B, T, Hq, D),
                  tl = baldro_t3(lse, F32, B, Hq, T), ws = workspace_for(full);
    OK(ops->attention_fwd(be, &to, &tl, &tq, &tk, &tv, NULL, scale, &ws));

    /* caches: rows before pos0[b] were written by earlier steps; the rest is NaN */
    int32_t pos0[B] = {17, T - TQ};
    float *kc = fbuf((size_t)B * S * Hkv * D), *vc = fbuf((size_t)B * S * Hkv * D);
    ffill(kc, (size_t)B * S * Hkv * D, NAN);
    ffill(vc, (size_t)B * S * Hkv * D, NAN);
    for (int b = 0; b < B; b++) {
        memcpy(kc + (size_t)b * S * Hkv * D, k + (size_t)b * T * Hkv * D,
               sizeof(float) * pos0[b] * Hkv * D);
        memcpy(vc + (size_t)b * S * Hkv * D, v + (size_t)b * T * Hkv * D,
               sizeof(float) * pos0[b] * Hkv * D);
    }
    /* this chunk's q, k, v: rows pos0[b] .. pos0[b] + TQ of the full tensors */
    float *qn = fbuf((size_t)B * TQ * Hq * D), *kn = fbuf((size_t)B * TQ * Hkv * D),
          *vn = fbuf((size_t)B * TQ * Hkv * D);
    for (int b = 0; b < B; b++) {
        memcpy(qn + (size_t)b * TQ * Hq * D, q + ((size_t)b * T + pos0[b]) * Hq * D,
               sizeof(float) * TQ * Hq * D);
        memcpy(kn + (size_t)b * TQ * Hkv * D, k + ((size_t)b * T + pos0[b]) * Hkv * D,
               sizeof(float) * TQ * Hkv * D);
        memcpy(vn + (size_t)b * TQ * Hkv * D, v + ((size_t)b * T + pos0[b]) * Hkv * D,
               sizeof(float) * TQ * Hkv * D);
    }
    baldro_tensor tkc = baldro_t4(kc, F32, B, S, Hkv, D), tvc = baldro_t4(vc, F32, B, S, Hkv, D),
                  tkn = baldro_t4(kn, F32, B, TQ, Hkv, D), tvn = baldro_t4(vn, F32, B, TQ, Hkv, D),
                  tqn = baldro_t4(qn, F32, B, TQ, Hq, D), tp = baldro_t1(pos0, I32, B);
    OK(ops->kv_append(be, &tkc, &tkn, &tp));
    OK(ops->kv_append(be, &tvc, &tvn, &tp));
    for (int b = 0; b < B; b++) /* kv_append wrote exactly the chunk rows */
        cr_expect_arr_eq(kc + (size_t)b * S * Hkv * D, k + (size_t)b * T * Hkv * D,
                         sizeof(float) * (pos0[b] + TQ) * Hkv * D, "kv cache row %d", b);
    cr_expect(isnan(kc[((size_t)0 * S + pos0[0] + TQ) * Hkv * D]), "kv_append wrote too far");

    att_dims dec = {B, TQ, S, Hq, Hkv, D};
    float *outn = fbuf((size_t)B * TQ * Hq * D), *lsen = fbuf((size_t)B * Hq * TQ);
    baldro_tensor ton = baldro_t4(outn, F32, B, TQ, Hq, D), tln = baldro_t3(lsen, F32, B, Hq, TQ),
                  wsn = workspace_for(dec);
    OK(ops->attention_fwd(be, &ton, &tln, &tqn, &tkc, &tvc, &tp, scale, &wsn));
    double *want = dbuf((size_t)B * TQ * Hq * D), *want_l = dbuf((size_t)B * Hq * TQ);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < TQ; i++)
            for (int h = 0; h < Hq; h++) {
                for (int d = 0; d < D; d++)
                    want[QI(dec, b, i, h, d)] = out[QI(full, b, pos0[b] + i, h, d)];
                want_l[((size_t)b * Hq + h) * TQ + i] = lse[((size_t)b * Hq + h) * T + pos0[b] + i];
            }
    EXPECT_CLOSE(outn, want, (size_t)B * TQ * Hq * D, TOL_RED, "kv-cache chunk vs full pass");
    EXPECT_CLOSE(lsen, want_l, (size_t)B * Hq * TQ, TOL_RED, "kv-cache lse vs full pass");

    /* and decode, one token at a time, for row positions after the chunk */
    att_dims one = {B, 1, S, Hq, Hkv, D};
    baldro_tensor ws1 = workspace_for(one);
    for (int step = 0; step < 3; step++) {
        int32_t p1[B] = {17 + TQ + step, 3 + step};
        float *q1 = fbuf((size_t)B * Hq * D), *k1 = fbuf((size_t)B * Hkv * D),
              *v1 = fbuf((size_t)B * Hkv * D), *o1 = fbuf((size_t)B * Hq * D);
        double *w1 = dbuf((size_t)B * Hq * D);
        for (int b = 0; b < B; b++) {
            memcpy(q1 + b * Hq * D, q + ((size_t)b * T + p1[b]) * Hq * D, sizeof(float) * Hq * D);
            memcpy(k1 + b * Hkv * D, k + ((size_t)b * T + p1[b]) * Hkv * D,
                   sizeof(float) * Hkv * D);
            memcpy(v1 + b * Hkv * D, v + ((size_t)b * T + p1[b]) * Hkv * D,
                   sizeof(float) * Hkv * D);
            for (int j = 0; j < Hq * D; j++)
                w1[b * Hq * D + j] = out[((size_t)b * T + p1[b]) * Hq * D + j];
        }
        baldro_tensor tq1 = baldro_t4(q1, F32, B, 1, Hq, D), tk1 = baldro_t4(k1, F32, B, 1, Hkv, D),
                      tv1 = baldro_t4(v1, F32, B, 1, Hkv, D), to1 = baldro_t4(o1, F32, B, 1, Hq, D),
                      tp1 = baldro_t1(p1, I32, B);
        /* row 1's cache already holds its prefix (written above); rewrite is harmless */
        OK(ops->kv_append(be, &tkc, &tk1, &tp1));
        OK(ops->kv_append(be, &tvc, &tv1, &tp1));
        OK(ops->attention_fwd(be, &to1, NULL, &tq1, &tkc, &tvc, &tp1, scale, &ws1));
        EXPECT_CLOSE(o1, w1, (size_t)B * Hq * D, TOL_RED, "decode step vs full pass");
    }

    /* positions past the cache are refused */
    pos0[1] = S - TQ + 1;
    EXPECT_EINVAL(ops->attention_fwd(be, &ton, &tln, &tqn, &tkc, &tvc, &tp, scale, &wsn),
                  "attention_fwd", "reaches past k.shape[1]=48");
    EXPECT_EINVAL(ops->kv_append(be, &tkc, &tkn, &tp), "kv_append", "do not fit cache.shape[1]=48");
}

/* Both attention paths: the sgemm-free one (small head dims) and sgemm (larger). */
Test(cpu_ops, attention_kv_cache_equals_full_pass) {
    seed(16);
    check_kv_cache(8);
    check_kv_cache(64);
}

typedef struct att_ctx {
    att_dims a;
    double *q, *k, *v, *dout, *out;
    double scale;
} att_ctx;
static double att_loss(void *p) {
    att_ctx *c = p;
    ref_attention(c->a, c->out, NULL, c->q, c->k, c->v, NULL, c->scale);
    return dot(c->out, c->dout, (size_t)c->a.B * c->a.Tq * c->a.Hq * c->a.D);
}

/* Forward then backward with the backend; compares with the given double grads. */
static void check_attention_bwd(att_dims a, const float *q, const float *k, const float *v,
                                const float *dout, float scale, const double *gq, const double *gk,
                                const double *gv, const char *what) {
    size_t nq = (size_t)a.B * a.Tq * a.Hq * a.D, nk = (size_t)a.B * a.S * a.Hkv * a.D;
    float *out = fbuf(nq), *lse = fbuf((size_t)a.B * a.Hq * a.Tq);
    float *dq = fbuf(nq), *dk = fbuf(nk), *dv = fbuf(nk);
    ffill(dq, nq, NAN); /* written, not accumulated */
    ffill(dk, nk, NAN);
    ffill(dv, nk, NAN);
    baldro_tensor tq = baldro_t4((void *)q, F32, a.B, a.Tq, a.Hq, a.D),
                  tk = baldro_t4((void *)k, F32, a.B, a.S, a.Hkv, a.D),
                  tv = baldro_t4((void *)v, F32, a.B, a.S, a.Hkv, a.D),
                  to = baldro_t4(out, F32, a.B, a.Tq, a.Hq, a.D),
                  tdo = baldro_t4((void *)dout, F32, a.B, a.Tq, a.Hq, a.D),
                  tl = baldro_t3(lse, F32, a.B, a.Hq, a.Tq),
                  tdq = baldro_t4(dq, F32, a.B, a.Tq, a.Hq, a.D),
                  tdk = baldro_t4(dk, F32, a.B, a.S, a.Hkv, a.D),
                  tdv = baldro_t4(dv, F32, a.B, a.S, a.Hkv, a.D), ws = workspace_for(a);
    OK(ops->attention_fwd(be, &to, &tl, &tq, &tk, &tv, NULL, scale, &ws));
    OK(ops->attention_bwd(be, &tdq, &tdk, &tdv, &tdo, &tq, &tk, &tv, &to, &tl, scale, &ws));
    char w[96];
    snprintf(w, sizeof w, "%s dq", what);
    EXPECT_CLOSE(dq, gq, nq, TOL_RED, w);
    snprintf(w, sizeof w, "%s dk", what);
    EXPECT_CLOSE(dk, gk, nk, TOL_RED, w);
    snprintf(w, sizeof w, "%s dv", what);
    EXPECT_CLOSE(dv, gv, nk, TOL_RED, w);
}

Test(cpu_ops, attention_bwd_against_finite_differences) {
    seed(17);
    att_dims shapes[] = {{2, 5, 5, 4, 2, 4}, {1, 6, 6, 4, 1, 3}, {1, 4, 4, 2, 2, 5}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        att_dims a = shapes[s];
        size_t nq = (size_t)a.B * a.Tq * a.Hq * a.D, nk = (size_t)a.B * a.S * a.Hkv * a.D;
        float *q = frand(nq, 1.5f), *k = frand(nk, 1.5f), *v = frand(nk, 1), *dout = frand(nq, 1);
        float scale = 1.0f / sqrtf((float)a.D);
        att_ctx c = {
            a,    todouble(q, nq), todouble(k, nk), todouble(v, nk), todouble(dout, nq), dbuf(nq),
            scale};
        double *gq = dbuf(nq), *gk = dbuf(nk), *gv = dbuf(nk);
        fd_grad(att_loss, &c, c.q, nq, gq);
        fd_grad(att_loss, &c, c.k, nk, gk);
        fd_grad(att_loss, &c, c.v, nk, gv);
        /* the analytic reference used by the larger test agrees with the differences */
        double *aq = dbuf(nq), *ak = dbuf(nk), *av = dbuf(nk);
        ref_attention_bwd(a, aq, ak, av, c.dout, c.q, c.k, c.v, scale);
        for (size_t i = 0; i < nq; i++) cr_expect(fabs(aq[i] - gq[i]) < 1e-8, "ref dq %zu", i);
        for (size_t i = 0; i < nk; i++)
            cr_expect(fabs(ak[i] - gk[i]) < 1e-8 && fabs(av[i] - gv[i]) < 1e-8, "ref dk/dv %zu", i);
        char what[64];
        snprintf(what, sizeof what, "attention_bwd shape %zu", s);
        check_attention_bwd(a, q, k, v, dout, scale, gq, gk, gv, what);
    }
}

Test(cpu_ops, attention_bwd_blocks_and_threads) {
    seed(18);
    /* several query blocks; first parallel over (b, kv head), then one unit (B*Hkv = 1)
     * that runs serially with a threaded sgemm */
    /* small head dims (sgemm-free kernels) and large ones (sgemm path) */
    att_dims shapes[] = {{2, 150, 150, 4, 2, 16}, {1, 100, 100, 4, 1, 8}, {2, 150, 150, 4, 2, 64},
                         {1, 70, 70, 2, 1, 40}, {1, 9, 9, 4, 2, 12}};
    for (size_t s = 0; s < 2; s++) {
        att_dims a = shapes[s];
        size_t nq = (size_t)a.B * a.Tq * a.Hq * a.D, nk = (size_t)a.B * a.S * a.Hkv * a.D;
        float *q = frand(nq, 2), *k = frand(nk, 2), *v = frand(nk, 1), *dout = frand(nq, 1);
        float scale = 1.0f / sqrtf((float)a.D);
        double *gq = dbuf(nq), *gk = dbuf(nk), *gv = dbuf(nk);
        ref_attention_bwd(a, gq, gk, gv, todouble(dout, nq), todouble(q, nq), todouble(k, nk),
                          todouble(v, nk), scale);
        char what[64];
        snprintf(what, sizeof what, "attention_bwd large %zu", s);
        check_attention_bwd(a, q, k, v, dout, scale, gq, gk, gv, what);
    }
}

Test(cpu_ops, attention_errors) {
    att_dims a = {1, 4, 4, 3, 2, 4};
    float *q = fbuf(48), *k = fbuf(32), *out = fbuf(48);
    baldro_tensor tq = baldro_t4(q, F32, 1, 4, 3, 4), tk = baldro_t4(k, F32, 1, 4, 2, 4),
                  to = baldro_t4(out, F32, 1, 4, 3, 4);
    baldro_tensor ws = workspace_for(a);
    EXPECT_EINVAL(ops->attention_fwd(be, &to, NULL, &tq, &tk, &tk, NULL, 1, &ws), "attention_fwd",
                  "not a multiple of k.shape[2]=2");
    baldro_tensor tq2 = baldro_t4(q, F32, 1, 4, 2, 4), to2 = baldro_t4(out, F32, 1, 4, 2, 4);
    baldro_tensor ws_small = baldro_t1(ws.data, F32, 3);
    EXPECT_EINVAL(ops->attention_fwd(be, &to2, NULL, &tq2, &tk, &tk, NULL, 1, &ws_small),
                  "attention_fwd", "workspace has 12 bytes");
    baldro_tensor tk5 = baldro_t4(k, F32, 1, 4, 2, 5);
    EXPECT_EINVAL(ops->attention_fwd(be, &to2, NULL, &tq2, &tk5, &tk5, NULL, 1, &ws),
                  "attention_fwd", "k.shape[3]=5 but q.shape[3]=4");
    baldro_tensor tk3 = baldro_t4(k, F32, 1, 3, 2, 4);
    EXPECT_EINVAL(ops->attention_fwd(be, &to2, NULL, &tq2, &tk3, &tk3, NULL, 1, &ws),
                  "attention_fwd", "reaches past k.shape[1]=3");
    baldro_tensor tl_bad = baldro_t1(fbuf(7), F32, 7);
    EXPECT_EINVAL(ops->attention_fwd(be, &to2, &tl_bad, &tq2, &tk, &tk, NULL, 1, &ws),
                  "attention_fwd", "lse.numel=7");
    float *lse = fbuf(8), *dq = fbuf(32), *dk = fbuf(32), *dv = fbuf(32);
    ws = workspace_for((att_dims){1, 8, 8, 2, 2, 4});
    baldro_tensor tl = baldro_t1(lse, F32, 8), tdq = baldro_t4(dq, F32, 1, 4, 2, 4),
                  tdk = baldro_t4(dk, F32, 1, 4, 2, 4), tdv = baldro_t4(dv, F32, 1, 4, 2, 4),
                  tk8 = baldro_t4(fbuf(64), F32, 1, 8, 2, 4);
    EXPECT_EINVAL(
        ops->attention_bwd(be, &tdq, &tdk, &tdv, &to2, &tq2, &tk8, &tk8, &to2, &tl, 1, &ws),
        "attention_bwd", "k.shape[1]=8 but q.shape[1]=4");
    EXPECT_EINVAL(ops->attention_bwd(be, &tdq, &tdq, &tdv, &to2, &tq2, &tk, &tk, &to2, &tl, 1, &ws),
                  "attention_bwd", "overlaps");
}

/* ===================================================================================== */
/* logits: log-softmax + gather, argmax                                                  */
/* ===================================================================================== */

static void ref_lsm(double *logp, double *lse, const float *x, const int32_t *t, int N, int V) {
    for (int n = 0; n < N; n++) {
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < V; j++) mx = fmax(mx, x[(size_t)n * V + j]);
        for (int j = 0; j < V; j++) s += exp(x[(size_t)n * V + j] - mx);
        lse[n] = mx + log(s);
        logp[n] = t[n] < 0 ? 0 : x[(size_t)n * V + t[n]] - lse[n];
    }
}

Test(cpu_ops, logsoftmax_gather_fwd_bwd_with_ignored_targets) {
    seed(19);
    enum { N = 6, V = 50001 };
    float *x = frand((size_t)N * V, 12);
    x[2 * V + 7] = 60.0f; /* a row dominated by one entry */
    int32_t t[N] = {0, V - 1, 7, -1, 123, -100};
    double *rl = dbuf(N), *rs = dbuf(N);
    ref_lsm(rl, rs, x, t, N, V);
    float *logp = fbuf(N), *lse = fbuf(N);
    baldro_tensor tx = baldro_t3(x, F32, 2, 3, V), tt = baldro_t2(t, I32, 2, 3),
                  tlp = baldro_t1(logp, F32, N), tls = baldro_t1(lse, F32, N);
    OK(ops->logsoftmax_gather_fwd(be, &tlp, &tls, &tx, &tt));
    for (int n = 0; n < N; n++) {
        cr_expect(fabs(logp[n] - rl[n]) <= 1e-5 * fmax(1, fabs(rl[n])),
                  "logp[%d] = %.9g, want %.9g", n, logp[n], rl[n]);
        if (t[n] >= 0)
            cr_expect(fabs(lse[n] - rs[n]) <= 1e-6 * fabs(rs[n]), "lse[%d] = %.9g, want %.9g", n,
                      lse[n], rs[n]);
    }
    cr_expect_eq(logp[3], 0.0f);
    cr_expect_eq(logp[5], 0.0f);
    OK(ops->logsoftmax_gather_fwd(be, &tlp, NULL, &tx, &tt)); /* lse not wanted */

    /* backward in place: d logits = dlogp (onehot - softmax); ignored rows -> 0 */
    float dl[N] = {0.5f, -1.0f, 2.0f, 3.0f, -0.25f, 1.0f};
    double *rg = dbuf((size_t)N * V);
    for (int n = 0; n < N; n++)
        for (int j = 0; j < V; j++) {
            size_t i = (size_t)n * V + j;
            rg[i] = t[n] < 0 ? 0 : dl[n] * ((j == t[n]) - exp(x[i] - rs[n]));
        }
    baldro_tensor tdl = baldro_t1(dl, F32, N);
    OK(ops->logsoftmax_gather_bwd(be, &tx, &tls, &tt, &tdl));
    for (int n = 0; n < N; n++) {
        char w[48];
        snprintf(w, sizeof w, "logsoftmax_gather_bwd row %d", n);
        /* TOL_RED: the saved lse is a float, so exp(x - lse) carries |lse| * 2^-24 */
        EXPECT_CLOSE(x + (size_t)n * V, rg + (size_t)n * V, V, TOL_RED, w);
    }
    t[4] = V;
    EXPECT_EINVAL(ops->logsoftmax_gather_fwd(be, &tlp, &tls, &tx, &tt), "logsoftmax_gather_fwd",
                  "targets[4]=50001 is not < V=50001");
    EXPECT_EINVAL(ops->logsoftmax_gather_bwd(be, &tx, &tls, &tt, &tdl), "logsoftmax_gather_bwd",
                  "targets[4]");
}

typedef struct lsm_ctx {
    double *x, *dl;
    const int32_t *t;
    int N, V;
} lsm_ctx;
static double lsm_loss(void *p) {
    lsm_ctx *c = p;
    double L = 0;
    for (int n = 0; n < c->N; n++) {
        if (c->t[n] < 0) continue;
        double mx = -INFINITY, s = 0;
        for (int j = 0; j < c->V; j++) mx = fmax(mx, c->x[n * c->V + j]);
        for (int j = 0; j < c->V; j++) s += exp(c->x[n * c->V + j] - mx);
        L += c->dl[n] * (c->x[n * c->V + c->t[n]] - mx - log(s));
    }
    return L;
}

Test(cpu_ops, logsoftmax_gather_bwd_against_finite_differences) {
    seed(20);
    enum { N = 4, V = 13 };
    float *x = frand(N * V, 3), dl[N] = {1.0f, -0.5f, 2.0f, 0.75f};
    int32_t t[N] = {3, -1, 12, 0};
    lsm_ctx c = {todouble(x, N * V), todouble(dl, N), t, N, V};
    double *g = dbuf(N * V);
    fd_grad(lsm_loss, &c, c.x, N * V, g);
    float *logp = fbuf(N), *lse = fbuf(N);
    baldro_tensor tx = baldro_t2(x, F32, N, V), tt = baldro_t1(t, I32, N),
                  tlp = baldro_t1(logp, F32, N), tls = baldro_t1(lse, F32, N),
                  tdl = baldro_t1(dl, F32, N);
    OK(ops->logsoftmax_gather_fwd(be, &tlp, &tls, &tx, &tt));
    OK(ops->logsoftmax_gather_bwd(be, &tx, &tls, &tt, &tdl));
    EXPECT_CLOSE(x, g, N * V, TOL_RED, "logsoftmax_gather_bwd vs fd");
}

Test(cpu_ops, argmax_lowest_index_on_ties) {
    enum { V = 29 };
    float x[5 * V];
    for (int i = 0; i < 5 * V; i++) x[i] = (float)(i % 7) * 0.1f;
    /* row 0: max 5.0 at 11 and 3 (different lanes) -> 3 */
    x[0 * V + 11] = 5.0f, x[0 * V + 3] = 5.0f;
    /* row 1: max at 20 and 12 (same lane, 8 apart) -> 12 */
    x[1 * V + 20] = 9.0f, x[1 * V + 12] = 9.0f;
    /* row 2: max only in the tail (index 28) and a tie at 27 -> 27 */
    x[2 * V + 28] = 4.0f, x[2 * V + 27] = 4.0f;
    /* row 3: all -inf -> 0 */
    for (int j = 0; j < V; j++) x[3 * V + j] = -INFINITY;
    /* row 4: all equal -> 0 */
    for (int j = 0; j < V; j++) x[4 * V + j] = 1.0f;
    int32_t ids[5];
    baldro_tensor tx = baldro_t2(x, F32, 5, V), ti = baldro_t1(ids, I32, 5);
    OK(ops->argmax(be, &ti, &tx));
    int32_t want[5] = {3, 12, 27, 0, 0};
    cr_expect_arr_eq(ids, want, sizeof want);

    seed(21);
    enum { M = 16, W = 32003 };
    float *y = frand((size_t)M * W, 1);
    int32_t got[M];
    baldro_tensor ty = baldro_t2(y, F32, M, W), tg = baldro_t1(got, I32, M);
    OK(ops->argmax(be, &tg, &ty));
    for (int m = 0; m < M; m++) {
        int best = 0;
        for (int j = 1; j < W; j++)
            if (y[(size_t)m * W + j] > y[(size_t)m * W + best]) best = j;
        cr_expect_eq(got[m], best, "row %d", m);
    }
    baldro_tensor tg_bad = baldro_t1(got, I32, M - 1);
    EXPECT_EINVAL(ops->argmax(be, &tg_bad, &ty), "argmax", "ids.numel=15");
}

/* ===================================================================================== */
/* AdamW                                                                                 */
/* ===================================================================================== */

Test(cpu_ops, adamw_three_steps_against_double_reference) {
    seed(22);
    const size_t n = 70001; /* threaded */
    float *p = frand(n, 1), *m = fbuf(n), *v = fbuf(n);
    double *rp = todouble(p, n), *rm = dbuf(n), *rv = dbuf(n);
    const float lr = 1e-2f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wd = 0.1f;
    for (int step = 1; step <= 3; step++) {
        float *g = frand(n, 0.5f + step);
        g[0] = 0.0f; /* zero gradient: only decay and momentum move it */
        baldro_adamw_args a = {.struct_size = sizeof a,
                               .lr = lr,
                               .beta1 = b1,
                               .beta2 = b2,
                               .eps = eps,
                               .weight_decay = wd,
                               .bias_correction1 = 1.0f - powf(b1, (float)step),
                               .bias_correction2 = 1.0f - powf(b2, (float)step)};
        for (size_t i = 0; i < n; i++) { /* the formula of ops.h, in double */
            double gi = g[i];
            rp[i] -= (double)lr * wd * rp[i];
            rm[i] = (double)b1 * rm[i] + (1 - (double)b1) * gi;
            rv[i] = (double)b2 * rv[i] + (1 - (double)b2) * gi * gi;
            rp[i] -= ((double)lr / a.bias_correction1) * rm[i] /
                     (sqrt(rv[i]) / sqrt((double)a.bias_correction2) + eps);
        }
        baldro_tensor tp = baldro_t1(p, F32, (int64_t)n), tg = baldro_t1(g, F32, (int64_t)n),
                      tm = baldro_t1(m, F32, (int64_t)n), tv = baldro_t1(v, F32, (int64_t)n);
        OK(ops->adamw(be, &tp, &tg, &tm, &tv, &a));
        char w[32];
        snprintf(w, sizeof w, "adamw param, step %d", step);
        EXPECT_CLOSE(p, rp, n, TOL_ELEM, w);
        EXPECT_CLOSE(m, rm, n, TOL_ELEM, "adamw m");
        EXPECT_CLOSE(v, rv, n, TOL_ELEM, "adamw v");
    }
    baldro_adamw_args bad = {.struct_size = sizeof bad,
                             .lr = lr,
                             .beta1 = b1,
                             .beta2 = b2,
                             .eps = eps,
                             .bias_correction1 = 0,
                             .bias_correction2 = 1};
    baldro_tensor tp = baldro_t1(p, F32, (int64_t)n), tm = baldro_t1(m, F32, (int64_t)n - 1);
    EXPECT_EINVAL(ops->adamw(be, &tp, &tp, &tp, &tp, &bad), "adamw", "bias_correction1=0");
    bad.bias_correction1 = 1;
    EXPECT_EINVAL(ops->adamw(be, &tp, &tp, &tm, &tp, &bad), "adamw", "m.numel=70000");
    EXPECT_EINVAL(ops->adamw(be, &tp, &tp, &tp, &tp, &bad), "adamw", "overlaps");
}

/* ===================================================================================== */
/* no allocation per call                                                                */
/* ===================================================================================== */

Test(cpu_ops, ops_allocate_nothing) {
    seed(23);
    enum { B = 2, T = 16, C = 32, Hq = 4, Hkv = 2, D = 8, V = 50, F = 48, N = B * T };
    enum { QD = Hq * D, KD = Hkv * D, WS = 8192 };
    /* every buffer from one backend block, as a model does */
    size_t floats = 64 * 1024;
    void *blk;
    OK(ops->alloc(be, floats * 4, &blk));
    float *base = blk, *cur = base;
#define TAKE(n) (cur += (n), cur - (n))
    float *x = TAKE(N * C), *dx = TAKE(N * C), *w = TAKE(C), *dw = TAKE(C), *h = TAKE(N * C);
    float *rs = TAKE(N), *wq = TAKE(QD * C), *dwq = TAKE(QD * C), *q = TAKE(N * QD);
    float *k = TAKE(N * KD), *v = TAKE(N * KD), *dq = TAKE(N * QD), *dk = TAKE(N * KD);
    float *dv = TAKE(N * KD), *att = TAKE(N * QD), *lse = TAKE(B * Hq * T), *g = TAKE(N * F);
    float *u = TAKE(N * F), *mo = TAKE(N * F), *logits = TAKE(N * V), *lp = TAKE(N);
    float *ll = TAKE(N), *tab = TAKE(T * D), *emb = TAKE(V * C), *wsf = TAKE(WS);
    float *am = TAKE(QD * C), *av = TAKE(QD * C), *kc = TAKE(B * 2 * T * KD), *gr = TAKE(B * C);
    int32_t *ids = (int32_t *)TAKE(N), *tg = (int32_t *)TAKE(N), *am_ids = (int32_t *)TAKE(N);
    int32_t *rows = (int32_t *)TAKE(B), *pos0 = (int32_t *)TAKE(B);
#undef TAKE
    cr_assert_leq((size_t)(cur - base), floats);
    for (float *p = base; p < (float *)ids; p++) *p = 0.5f * unif();
    for (int i = 0; i < N; i++) ids[i] = randint(V), tg[i] = randint(V);
    rows[0] = T - 1, rows[1] = N - 1, pos0[0] = 0, pos0[1] = T;
    cr_assert_leq(ops->attention_workspace(be, B, T, T, Hq, Hkv, D), WS * 4);
    baldro_rope_params rp = {
        .struct_size = sizeof rp, .head_dim = D, .max_positions = T, .theta = 10000.0};
    baldro_adamw_args aw = {.struct_size = sizeof aw,
                            .lr = 1e-3f,
                            .beta1 = 0.9f,
                            .beta2 = 0.999f,
                            .eps = 1e-8f,
                            .weight_decay = 0.1f,
                            .bias_correction1 = 0.1f,
                            .bias_correction2 = 0.001f};
    baldro_tensor tx = baldro_t2(x, F32, N, C), tdx = baldro_t2(dx, F32, N, C),
                  tw = baldro_t1(w, F32, C), tdw = baldro_t1(dw, F32, C),
                  th = baldro_t2(h, F32, N, C), trs = baldro_t1(rs, F32, N),
                  twq = baldro_t2(wq, F32, QD, C), tdwq = baldro_t2(dwq, F32, QD, C),
                  tq2 = baldro_t2(q, F32, N, QD), tq = baldro_t4(q, F32, B, T, Hq, D),
                  tk = baldro_t4(k, F32, B, T, Hkv, D), tv = baldro_t4(v, F32, B, T, Hkv, D),
                  tdq = baldro_t4(dq, F32, B, T, Hq, D), tdk = baldro_t4(dk, F32, B, T, Hkv, D),
                  tdv = baldro_t4(dv, F32, B, T, Hkv, D), tatt = baldro_t4(att, F32, B, T, Hq, D),
                  tlse = baldro_t3(lse, F32, B, Hq, T), tgt = baldro_t2(g, F32, N, F),
                  tu = baldro_t2(u, F32, N, F), tmo = baldro_t2(mo, F32, N, F),
                  tlog = baldro_t2(logits, F32, N, V), tlp = baldro_t1(lp, F32, N),
                  tll = baldro_t1(ll, F32, N), ttab = baldro_t2(tab, F32, T, D),
                  temb = baldro_t2(emb, F32, V, C), tws = baldro_t1(wsf, F32, WS),
                  tam = baldro_t2(am, F32, QD, C), tav = baldro_t2(av, F32, QD, C),
                  tkc = baldro_t4(kc, F32, B, 2 * T, Hkv, D), tgr = baldro_t2(gr, F32, B, C),
                  tids = baldro_t1(ids, I32, N), ttg = baldro_t1(tg, I32, N),
                  tami = baldro_t1(am_ids, I32, N), trows = baldro_t1(rows, I32, B),
                  tpos = baldro_t1(pos0, I32, B);
    baldro_backend_stats st0, st1;
    baldro_backend_get_stats(be, &st0);
    double ss;
    for (int it = 0; it < 20; it++) {
        OK(ops->rope_table(be, &ttab, &rp));
        OK(ops->embedding_fwd(be, &tx, &tids, &temb));
        OK(ops->rmsnorm_fwd(be, &th, &trs, &tx, &tw, 1e-5f));
        OK(ops->linear_fwd(be, &tq2, &th, &twq, NULL, 0));
        OK(ops->rope_fwd(be, &tq, &ttab, NULL, 0));
        OK(ops->attention_fwd(be, &tatt, &tlse, &tq, &tk, &tv, NULL, 0.3f, &tws));
        OK(ops->attention_bwd(be, &tdq, &tdk, &tdv, &tatt, &tq, &tk, &tv, &tatt, &tlse, 0.3f,
                              &tws));
        OK(ops->kv_append(be, &tkc, &tk, &tpos));
        OK(ops->rope_bwd(be, &tdq, &ttab, NULL, 0));
        OK(ops->linear_bwd(be, &tdx, &tdwq, NULL, &tq2, &th, &twq, 0));
        OK(ops->rmsnorm_bwd(be, &th, &tdw, &tdx, &tx, &tw, &trs, 1));
        OK(ops->swiglu_fwd(be, &tmo, &tgt, &tu));
        OK(ops->swiglu_bwd(be, &tgt, &tu, &tmo, &tgt, &tu));
        OK(ops->gather_rows(be, &tgr, &tx, &trows));
        OK(ops->logsoftmax_gather_fwd(be, &tlp, &tll, &tlog, &ttg));
        OK(ops->argmax(be, &tami, &tlog));
        OK(ops->logsoftmax_gather_bwd(be, &tlog, &tll, &ttg, &tlp));
        OK(ops->embedding_bwd(be, &temb, &tx, &tids));
        OK(ops->adamw(be, &twq, &tdwq, &tam, &tav, &aw));
        OK(ops->sumsq(be, &tx, &ss));
        OK(ops->add(be, &tx, &tx, &th));
        OK(ops->scale(be, &tx, 0.5f));
        OK(ops->fill(be, &tdwq, 0.0f));
        OK(ops->copy(be, &tdx, &tx));
    }
    baldro_backend_get_stats(be, &st1);
    cr_expect_eq(st1.n_allocs, st0.n_allocs, "ops allocated through the backend");
    cr_expect_eq(st1.bytes_live, st0.bytes_live);
    ops->free(be, blk);
}
