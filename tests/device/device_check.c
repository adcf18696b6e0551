/*
 * tests/device/device_check.c: baldro-device-check, the device check.
 *
 *   baldro-device-check [--backend cuda|cpu] [--precision fp32|bf16] [--bench] [--json OUT]
 *                       [--inject-error] ...
 *
 * Without --bench it compares a backend (the "tested" one) against the fp32 CPU backend
 * (the reference), in three parts:
 *
 *  1. every op of sdk/include/baldro/ops.h on fresh random inputs (each case seeded from
 *     --seed and its own number, printed in the table): the same inputs are uploaded to
 *     both backends, the op runs on both, the outputs are downloaded and compared by the
 *     relative L2 error ||tested - ref|| / ||ref||. Tolerance 1e-5 when the tested
 *     backend's GEMMs are fp32 (--precision fp32, the default), 1e-2 in bf16 (every op is
 *     held to it, though only the GEMMs change; inputs are not pre-rounded, so the bf16
 *     rounding of the operands is part of what is measured). Integer outputs
 *     (copy/fill of I32, argmax ids) must match exactly, except argmax rows where the
 *     tested id's logit is within 1e-4 of the row maximum (a tie: counted, not failed).
 *     Backward ops get identical saved tensors (the reference's out/lse/rstd) on both
 *     sides so that each op is judged on its own.
 *  2. a whole training step of a small random Llama (the llama plugin): the model is
 *     created on both backends, the CPU parameters are copied to the tested model through
 *     its parameter list and ops->upload, then forward + backward + AdamW on both; the
 *     loss, the log-probs, every parameter gradient, the gradient norm and the updated
 *     parameters are compared by relative L2.
 *  3. greedy generation of 4 prompts x 32 tokens (right-padded prompts of different
 *     lengths, KV cache), two ways:
 *     - free-running: each row's ids must match until the first divergence, which passes
 *       only as a tie (the reference logits' margin between the two ids at that step below
 *       1e-4 in fp32, 3e-2 in bf16); after it the rows are different texts and are not
 *       compared. The rows identical over all tokens are reported (the agreement rate);
 *     - teacher-forced: the tested model is fed the reference's own tokens (prefill, then
 *       one decode step per token), so both see the same prefix at every step. Its logits
 *       must be within the tolerance (rel L2 over all steps), and its argmax must equal
 *       the reference's at every step except ties (same margins). In bf16 this is the
 *       meaningful check: it judges every step, not only the ones before a divergence.
 * It prints one table row per comparison (op, case and shapes, output, seed, rel L2,
 * tolerance, PASS/FAIL) and exits 1 on any FAIL, 2 when it cannot run at all.
 *
 * With --backend cpu the tested backend is a second, separate CPU instance with the same
 * thread count: every comparison must then be exact. This is how the harness is tested
 * without a GPU (ctest: device_check_cpu_self); --inject-error corrupts one output in each
 * part (an op output, an argmax id, a gradient, a generated token) so that a second ctest
 * entry can check that corruption fails the run. --backend cpu --precision bf16 tests a
 * CPU instance whose linear_fwd/linear_bwd round their GEMM operands to bf16 first (an
 * emulation of the CUDA backend's bf16 GEMMs: bf16 operands, fp32 accumulation and
 * output, fp32 bias and column sums), so the bf16 tolerances and the generation logic are
 * exercised without a GPU (ctest: device_check_cpu_bf16_emulated).
 *
 * --bench measures the tested backend alone (on cuda in bf16 unless --precision fp32: the
 * PyTorch peer is bf16) on a Llama-3.2-1B-shaped model (hidden 2048, 16 layers, 32 heads,
 * 8 KV heads, FFN 8192, vocab 128256, tied embeddings; --batch 4 x
 * --seq 512): forward + backward + AdamW steps/s, tokens/s and MFU, greedy decoding of 128
 * prompts x 200 new tokens, and the backend's peak bytes against the model's plan. With
 * --backend cpu it uses a much smaller shape so it finishes in seconds. bench/torch_step.py
 * is the PyTorch peer; scripts/device_check.sh runs both and prints the table.
 */
#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if BALDRO_HAVE_CUDA
#include <cuda_runtime.h>
#endif

#include "backend/backend.h"
#include "backend/backend_check.h"
#include "backend/bf16.h"
#include "engine/generate.h"
#include "engine/model.h"
#include "plugin/loader.h"
#include "train/optim.h"
#include "util/fsutil.h"

#define F32  BALDRO_DT_F32
#define BF16 BALDRO_DT_BF16
#define I32  BALDRO_DT_I32

/* ---- options --------------------------------------------------------------------------- */

static struct {
    char *backend, *json, *plugin_dir, *precision;
    int bf16; /* --precision bf16 (for --bench on cuda, the default) */
    int bench, inject, threads, device;
    gint64 seed;
    double peak_tflops;
    int batch, seq, steps, warmup, gen_prompts, gen_prompt_len, gen_new; /* bench; 0: default */
} opt = {.threads = 4, .seed = 20261128};

/* ---- the two sides: 0 is the CPU reference, 1 the backend under test ------------------- */

typedef struct side {
    baldro_backend *be;
    const baldro_ops *ops;
    char *base; /* one block from ops->alloc for the op cases, handed out in order */
    size_t cap, off;
} side;
static side S[2];

#define ARENA_BYTES ((size_t)96 << 20)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("baldro-device-check: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static const char *dtype_name(int32_t dt) {
    return dt == BF16 ? "BF16" : dt == BALDRO_DT_F16 ? "F16" : dt == I32 ? "I32" : "F32";
}

/* ---- bf16 on the host (round to nearest even: core/backend/bf16.h) --------------------- */

static uint16_t f2bf(float f) {
    return bk_f32_to_bf16(f);
}
static float bf2f(uint16_t h) {
    return bk_bf16_to_f32(h);
}

/* ---- random numbers: splitmix64, one stream per case ----------------------------------- */

static uint64_t rng;
static void rseed(uint64_t s) {
    rng = s * 0x9E3779B97F4A7C15ull + 0x1234567ull;
}
static uint64_t next_u64(void) {
    uint64_t z = (rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static float unif(void) { /* [-1, 1) */
    return (float)((double)(next_u64() >> 40) / 16777216.0 * 2.0 - 1.0);
}
static int randint(int n) {
    return (int)(next_u64() % (uint64_t)n);
}

/* Host buffers of the current case, freed when the next one begins. */
static GPtrArray *tmp;
static void *hnew(size_t bytes) {
    void *p = g_malloc0(bytes ? bytes : 1);
    g_ptr_array_add(tmp, p);
    return p;
}
static float *frand(size_t n, float scale, float offset) {
    float *p = hnew(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = offset + scale * unif();
    return p;
}
static int32_t *irand(size_t n, int lo, int hi) { /* [lo, hi) */
    int32_t *p = hnew(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = lo + randint(hi - lo);
    return p;
}

/* ---- paired tensors: the same logical tensor on both sides ---------------------------- */

enum { K_ACT = 0, K_F32 = 1, K_I32 = 2 };

/* Activations and parameters take the backend's act_dtype; statistics kept for backward
 * (rstd, lse, logp), optimizer moments, rope tables and workspaces are F32; ids are I32. */
static int32_t dtype_of(int w, int kind) {
    return kind == K_I32 ? I32 : kind == K_F32 ? F32 : S[w].ops->act_dtype;
}

typedef struct pr {
    baldro_tensor t[2];
    size_t n;
    int kind;
} pr;

static void *arena_get(int w, size_t bytes) {
    side *s = &S[w];
    size_t off = (s->off + 255) & ~(size_t)255;
    if (off + bytes > s->cap)
        die("op-case arena of %zu MiB is full (case needs more)", s->cap >> 20);
    s->off = off + bytes;
    return s->base + off;
}

/* The tested backend's tensors are BF16 (none is today: bf16 mode keeps them F32). */
static int tested_bf16(void) {
    return S[1].ops->act_dtype == BF16;
}

static void upload_host(int w, const baldro_tensor *t, const void *host, size_t n) {
    int rc;
    if (t->dtype == BF16) {
        uint16_t *h = g_new(uint16_t, n ? n : 1);
        for (size_t i = 0; i < n; i++) h[i] = f2bf(((const float *)host)[i]);
        rc = S[w].ops->upload(S[w].be, t->data, h, n * 2);
        g_free(h);
    } else if (t->dtype == F32 || t->dtype == I32) {
        rc = S[w].ops->upload(S[w].be, t->data, host, n * 4);
    } else {
        die("dtype %s is not supported by the check", dtype_name(t->dtype));
    }
    if (rc)
        die("upload to the %s backend failed: %s", S[w].ops->name, S[w].ops->last_error(S[w].be));
}

/* Host copy (float, or int32 for I32) of a tensor; g_free() it. */
static void *download_host(int w, const baldro_tensor *t, size_t n, int *rc_out) {
    void *h = g_malloc0((n ? n : 1) * 4);
    int rc;
    if (t->dtype == BF16) {
        uint16_t *b = g_new(uint16_t, n ? n : 1);
        rc = S[w].ops->download(S[w].be, b, t->data, n * 2);
        for (size_t i = 0; i < n; i++) ((float *)h)[i] = bf2f(b[i]);
        g_free(b);
    } else {
        rc = S[w].ops->download(S[w].be, h, t->data, n * 4);
    }
    *rc_out = rc;
    return h;
}

/* A tensor on both sides holding `host` (NULL: zeros). Values of activations are rounded
 * to bf16 first when the tested backend computes in bf16, so both sides see the same. */
static pr mkt(int kind, const void *host, int nd, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    pr p = {.kind = kind};
    int64_t dims[4] = {d0, d1, d2, d3};
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)dims[i];
    p.n = n;
    const void *src = host;
    if (!src) src = hnew(n * 4);
    if (kind == K_ACT && tested_bf16()) {
        float *r = hnew(n * 4);
        for (size_t i = 0; i < n; i++) r[i] = bf2f(f2bf(((const float *)src)[i]));
        src = r;
    }
    for (int w = 0; w < 2; w++) {
        baldro_tensor t = {NULL, dtype_of(w, kind), nd, {1, 1, 1, 1}};
        for (int i = 0; i < nd; i++) t.shape[i] = dims[i];
        t.data = arena_get(w, n * baldro_dtype_size(t.dtype));
        upload_host(w, &t, src, n);
        p.t[w] = t;
    }
    return p;
}
#define T1(k, h, a)          mkt((k), (h), 1, (a), 1, 1, 1)
#define T2(k, h, a, b)       mkt((k), (h), 2, (a), (b), 1, 1)
#define T3(k, h, a, b, c)    mkt((k), (h), 3, (a), (b), (c), 1)
#define T4(k, h, a, b, c, d) mkt((k), (h), 4, (a), (b), (c), (d))

/* Attention workspaces: each side asks its own backend how many bytes it needs. */
static pr mk_workspace(int64_t B, int64_t Tq, int64_t Sk, int64_t Hq, int64_t Hkv, int64_t D) {
    pr p = {.kind = K_F32};
    for (int w = 0; w < 2; w++) {
        size_t bytes = S[w].ops->attention_workspace(S[w].be, B, Tq, Sk, Hq, Hkv, D);
        size_t n = bytes / 4 + 1;
        p.t[w] = baldro_t1(arena_get(w, n * 4), F32, (int64_t)n);
        p.n = n;
    }
    return p;
}

/* Makes the tested side's copy equal to the reference's (saved tensors for backward). */
static void sync_ref_to_tested(pr *p) {
    int rc;
    void *h = download_host(0, &p->t[0], p->n, &rc);
    if (rc) die("download from the reference failed: %s", S[0].ops->last_error(S[0].be));
    upload_host(1, &p->t[1], h, p->n);
    g_free(h);
}

/* ---- results ---------------------------------------------------------------------------- */

typedef struct rec {
    char op[24], what[64], out[48];
    uint64_t seed;
    double err, tol; /* err < 0: not a number comparison (see note)                  */
    int pass;
    int info; /* reported, not asserted (see g_info)                              */
    char note[256];
} rec;

static GArray *recs;
static int n_fail, n_ties;
static double g_tol; /* rel L2 tolerance for the tested backend's precision          */
static struct {
    const char *op;
    char what[64];
    uint64_t seed;
} cur;
static int injected_op, injected_argmax, injected_grad, injected_gen;
/* While set, comparisons are reported ("info") but cannot fail: the bf16 run's per-gradient
 * and generation rows against the fp32 reference (see run_model_checks). */
static int g_info;
static int n_info;
static int g_info_grads, g_info_gen; /* g_info for these rows of the current pass       */

static void table_header(const char *title) {
    printf("\n%s\n", title);
    printf("%-22s %-60s %-18s %-10s %-10s %-7s %s\n", "op", "case / shapes", "output", "seed",
           "rel L2", "tol", "result");
    printf("%-22s %-60s %-18s %-10s %-10s %-7s %s\n", "----------------------",
           "------------------------------------------------------------", "------------------",
           "----------", "----------", "-------", "------");
}

static void record(const char *out, double err, double tol, int pass, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void record(const char *out, double err, double tol, int pass, const char *fmt, ...) {
    int info = g_info && !pass;
    if (info) pass = 1;
    n_info += info;
    rec r = {.seed = cur.seed, .err = err, .tol = tol, .pass = pass, .info = info};
    g_strlcpy(r.op, cur.op, sizeof r.op);
    g_strlcpy(r.what, cur.what, sizeof r.what);
    g_strlcpy(r.out, out, sizeof r.out);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        g_vsnprintf(r.note, sizeof r.note, fmt, ap);
        va_end(ap);
    }
    g_array_append_val(recs, r);
    if (!pass) n_fail++;
    char e[32], t[32];
    if (err >= 0)
        g_snprintf(e, sizeof e, "%.3g", err);
    else
        g_strlcpy(e, "-", sizeof e);
    if (tol > 0)
        g_snprintf(t, sizeof t, "%.0e", tol);
    else
        g_strlcpy(t, "exact", sizeof t);
    printf("%-22s %-60s %-18s %-10llu %-10s %-7s %s%s%s\n", r.op, r.what, r.out,
           (unsigned long long)r.seed, e, t, info ? "info" : pass ? "PASS" : "FAIL",
           r.note[0] ? "  " : "", r.note);
    fflush(stdout);
}

/* Starts an op case: resets both arenas and the host buffers, seeds the generator. */
static uint64_t case_no;
static void begin(const char *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void begin(const char *op, const char *fmt, ...) {
    cur.op = op;
    va_list ap;
    va_start(ap, fmt);
    g_vsnprintf(cur.what, sizeof cur.what, fmt, ap);
    va_end(ap);
    cur.seed = (uint64_t)opt.seed + 1000u * ++case_no;
    rseed(cur.seed);
    S[0].off = S[1].off = 0;
    g_ptr_array_set_size(tmp, 0);
}

/* ||a - b|| / ||b|| in double; 0 when both are 0, infinite on NaN. */
static double rel_l2(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) return INFINITY;
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * (double)b[i];
    }
    if (den == 0) return num == 0 ? 0 : INFINITY;
    return sqrt(num / den);
}

/* Adds 0.1 ||ref|| to the first element: a relative L2 error of about 0.1. */
static void corrupt(float *t, const float *r, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)r[i] * r[i];
    t[0] += (float)(0.1 * sqrt(s) + 1e-3);
}

/* Compares a float output of the current case. */
static void cmpf(const char *out, const pr *p) {
    int rc0, rc1;
    float *r = download_host(0, &p->t[0], p->n, &rc0), *t = download_host(1, &p->t[1], p->n, &rc1);
    if (rc0 || rc1) {
        record(out, -1, g_tol, 0, "download failed: %s",
               rc0 ? S[0].ops->last_error(S[0].be) : S[1].ops->last_error(S[1].be));
    } else {
        if (opt.inject && !injected_op) {
            corrupt(t, r, p->n);
            injected_op = 1;
        }
        double e = rel_l2(t, r, p->n);
        record(out, e, g_tol, e <= g_tol, NULL);
    }
    g_free(r);
    g_free(t);
}

/* Integer outputs must be equal. */
static void cmpi(const char *out, const pr *p) {
    int rc0, rc1;
    int32_t *r = download_host(0, &p->t[0], p->n, &rc0),
            *t = download_host(1, &p->t[1], p->n, &rc1);
    if (rc0 || rc1) {
        record(out, -1, 0, 0, "download failed: %s",
               rc0 ? S[0].ops->last_error(S[0].be) : S[1].ops->last_error(S[1].be));
    } else {
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < p->n; i++)
            if (r[i] != t[i] && !bad++) first = i;
        if (bad)
            record(out, -1, 0, 0, "%zu of %zu differ; first at %zu: %d vs reference %d", bad, p->n,
                   first, t[first], r[first]);
        else
            record(out, 0, 0, 1, NULL);
    }
    g_free(r);
    g_free(t);
}

static void cmp_scalar(const char *out, double ref, double got, double tol) {
    double e = ref == got ? 0 : fabs(got - ref) / fmax(fabs(ref), 1e-30);
    if (isnan(ref) || isnan(got)) e = INFINITY;
    record(out, e, tol, e <= tol, "%.9g vs reference %.9g", got, ref);
}

/* Runs the op on both sides; on an error records a FAIL and leaves the case. Inside,
 * B and O are the side's backend and ops and V(p) its view of a paired tensor. */
#define V(p) (&(p).t[w])
#define CALL(expr)                                                                                 \
    do {                                                                                           \
        for (int w = 0; w < 2; w++) {                                                              \
            baldro_backend *B = S[w].be;                                                           \
            const baldro_ops *O = S[w].ops;                                                        \
            int rc_ = (expr);                                                                      \
            if (rc_ != BALDRO_OK) {                                                                \
                record("(call)", -1, 0, 0, "%s backend: %s", w ? "tested" : "reference",           \
                       O->last_error(B));                                                          \
                return;                                                                            \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* ======================================================================================== */
/* --backend cpu --precision bf16: the CPU backend with bf16 GEMM operands                  */
/* ======================================================================================== */

/* The CUDA backend's bf16 mode, emulated on the CPU: linear_fwd and linear_bwd round their
 * GEMM operands (x, w, dy) to bf16 and multiply in fp32; the bias, db's column sums and
 * every other op stay fp32. Only this harness uses it (runtime.precision = "bf16" needs
 * the CUDA backend); it shows what the bf16 tolerances meet without a GPU. */
static baldro_ops emu_ops;
static const baldro_ops *emu_real;

/* A host tensor like t holding bf16(t) in a new buffer (*buf, g_free it). */
static baldro_tensor emu_rounded(const baldro_tensor *t, float **buf) {
    baldro_tensor r = *t;
    size_t n = (size_t)baldro_tensor_numel(t);
    const float *src = t->data;
    *buf = g_new(float, n ? n : 1);
    for (size_t i = 0; i < n; i++) (*buf)[i] = bk_bf16_round(src[i]);
    r.data = *buf;
    return r;
}

static int emu_linear_fwd(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x,
                          const baldro_tensor *w, const baldro_tensor *b, int accumulate) {
    int rc = bk_check_linear_fwd(be, y, x, w, b);
    if (rc) return rc;
    float *xb, *wb;
    baldro_tensor xr = emu_rounded(x, &xb), wr = emu_rounded(w, &wb);
    rc = emu_real->linear_fwd(be, y, &xr, &wr, b, accumulate);
    g_free(xb);
    g_free(wb);
    return rc;
}

static int emu_linear_bwd(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw,
                          baldro_tensor *db, const baldro_tensor *dy, const baldro_tensor *x,
                          const baldro_tensor *w, int accumulate_dx) {
    int rc = bk_check_linear_bwd(be, dx, dw, db, dy, x, w);
    if (rc) return rc;
    float *dyb = NULL, *xb = NULL, *wb = NULL;
    baldro_tensor dyr = emu_rounded(dy, &dyb), xr, wr;
    const baldro_tensor *xp = x, *wp = w;
    if (dw) {
        xr = emu_rounded(x, &xb);
        xp = &xr;
    }
    if (w) {
        wr = emu_rounded(w, &wb);
        wp = &wr;
    }
    /* The products on rounded copies (so dx may overwrite x freely), then db on fp32 dy. */
    rc = dx || dw ? emu_real->linear_bwd(be, dx, dw, NULL, &dyr, xp, wp, accumulate_dx) : 0;
    if (!rc && db) rc = emu_real->linear_bwd(be, NULL, NULL, db, dy, NULL, NULL, 0);
    g_free(dyb);
    g_free(xb);
    g_free(wb);
    return rc;
}

static const baldro_ops *emulate_bf16(const baldro_ops *cpu) {
    emu_real = cpu;
    emu_ops = *cpu;
    emu_ops.name = "cpu-bf16-emulated";
    emu_ops.linear_fwd = emu_linear_fwd;
    emu_ops.linear_bwd = emu_linear_bwd;
    return &emu_ops;
}

/* ======================================================================================== */
/* part 1: the ops                                                                          */
/* ======================================================================================== */

static void case_fill(void) {
    begin("fill", "x[333,37] act = 0.375; ids[1000] I32 = 7");
    pr x = T2(K_ACT, frand(333 * 37, 1, 0), 333, 37);
    pr y = T1(K_I32, irand(1000, 0, 100), 1000);
    CALL(O->fill(B, V(x), 0.375f));
    CALL(O->fill(B, V(y), 7.0f));
    cmpf("x", &x);
    cmpi("ids", &y);
}

static void case_copy(void) {
    begin("copy", "x[64,96] -> y[96,64]; ids[50] -> [5,10]");
    pr x = T2(K_ACT, frand(64 * 96, 2, 0), 64, 96), y = T2(K_ACT, frand(96 * 64, 1, 0), 96, 64);
    pr a = T1(K_I32, irand(50, -5, 1000), 50), b = T2(K_I32, NULL, 5, 10);
    CALL(O->copy(B, V(y), V(x)));
    CALL(O->copy(B, V(b), V(a)));
    cmpf("y", &y);
    cmpi("ids", &b);
}

static void case_add(void) {
    begin("add", "y = a + b [4099]; then a = a + b (alias)");
    size_t n = 4099;
    pr a = T1(K_ACT, frand(n, 1, 0), n), b = T1(K_ACT, frand(n, 3, 0), n),
       y = T1(K_ACT, frand(n, 1, 0), n);
    CALL(O->add(B, V(y), V(a), V(b)));
    CALL(O->add(B, V(a), V(a), V(b)));
    cmpf("y", &y);
    cmpf("a (aliased)", &a);
}

static void case_scale(void) {
    begin("scale", "x[5000] *= -0.75");
    pr x = T1(K_ACT, frand(5000, 2, 0), 5000);
    CALL(O->scale(B, V(x), -0.75f));
    cmpf("x", &x);
}

static void case_sumsq(void) {
    begin("sumsq", "x[100003] and x[7]");
    pr x = T1(K_ACT, frand(100003, 1, 0.1f), 100003), s = T1(K_ACT, frand(7, 1, 0), 7);
    double r[2] = {0}, q[2] = {0};
    CALL(O->sumsq(B, V(x), &r[w]));
    CALL(O->sumsq(B, V(s), &q[w]));
    cmp_scalar("sum", r[0], r[1], g_tol);
    cmp_scalar("sum (small)", q[0], q[1], g_tol);
}

static void case_linear_fwd(int N, int I, int Od, int bias, int acc) {
    begin("linear_fwd", "y[%d,%d] %s x[%d,%d] w[%d,%d]%s", N, Od, acc ? "+=" : "=", N, I, Od, I,
          bias ? " +b" : "");
    pr x = T2(K_ACT, frand((size_t)N * I, 1, 0), N, I);
    pr wt = T2(K_ACT, frand((size_t)Od * I, 0.1f, 0), Od, I);
    pr b = T1(K_ACT, frand((size_t)Od, 0.5f, 0), Od);
    pr y = T2(K_ACT, frand((size_t)N * Od, 1, 0), N, Od);
    CALL(O->linear_fwd(B, V(y), V(x), V(wt), bias ? V(b) : NULL, acc));
    cmpf("y", &y);
}

static void case_linear_bwd(int N, int I, int Od, int with_db, int acc_dx) {
    begin("linear_bwd", "dy[%d,%d] x[%d,%d] w[%d,%d] dx%s%s", N, Od, N, I, Od, I,
          acc_dx ? "+=" : "=", with_db ? " db+=" : "");
    pr x = T2(K_ACT, frand((size_t)N * I, 1, 0), N, I);
    pr wt = T2(K_ACT, frand((size_t)Od * I, 0.1f, 0), Od, I);
    pr dy = T2(K_ACT, frand((size_t)N * Od, 1, 0), N, Od);
    pr dx = T2(K_ACT, frand((size_t)N * I, 1, 0), N, I);
    pr dw = T2(K_ACT, frand((size_t)Od * I, 1, 0), Od, I);
    pr db = T1(K_ACT, frand((size_t)Od, 1, 0), Od);
    CALL(O->linear_bwd(B, V(dx), V(dw), with_db ? V(db) : NULL, V(dy), V(x), V(wt), acc_dx));
    cmpf("dx", &dx);
    cmpf("dw (+=)", &dw);
    if (with_db) cmpf("db (+=)", &db);
}

static void case_embedding(void) {
    const int Vv = 1000, C = 64, N = 77;
    begin("embedding_fwd", "table[%d,%d] ids[%d]", Vv, C, N);
    pr tab = T2(K_ACT, frand((size_t)Vv * C, 1, 0), Vv, C);
    pr ids = T1(K_I32, irand((size_t)N, 0, Vv), N);
    pr out = T2(K_ACT, frand((size_t)N * C, 1, 0), N, C);
    CALL(O->embedding_fwd(B, V(out), V(ids), V(tab)));
    cmpf("out", &out);

    begin("embedding_bwd", "dtable[%d,%d] += dout[%d,%d] by ids (repeats)", Vv, C, N, C);
    pr dtab = T2(K_ACT, frand((size_t)Vv * C, 1, 0), Vv, C);
    pr rep = T1(K_I32, irand((size_t)N, 0, 20), N); /* many repeats: scatter-add collisions */
    pr dout = T2(K_ACT, frand((size_t)N * C, 1, 0), N, C);
    CALL(O->embedding_bwd(B, V(dtab), V(dout), V(rep)));
    cmpf("dtable", &dtab);
}

static void case_gather_rows(void) {
    begin("gather_rows", "x[50,33] idx[12]");
    pr x = T2(K_ACT, frand(50 * 33, 1, 0), 50, 33);
    pr idx = T1(K_I32, irand(12, 0, 50), 12);
    pr out = T2(K_ACT, frand(12 * 33, 1, 0), 12, 33);
    CALL(O->gather_rows(B, V(out), V(x), V(idx)));
    cmpf("out", &out);
}

static void case_rmsnorm(int N, int C) {
    const float eps = 1e-5f;
    begin("rmsnorm_fwd", "x[%d,%d] w[%d] eps 1e-5", N, C, C);
    pr x = T2(K_ACT, frand((size_t)N * C, 2, 0.3f), N, C);
    pr wt = T1(K_ACT, frand((size_t)C, 0.5f, 1), C);
    pr out = T2(K_ACT, frand((size_t)N * C, 1, 0), N, C);
    pr rstd = T1(K_F32, frand((size_t)N, 1, 0), N);
    CALL(O->rmsnorm_fwd(B, V(out), V(rstd), V(x), V(wt), eps));
    cmpf("out", &out);
    cmpf("rstd", &rstd);
    for (int acc = 0; acc < 2; acc++) {
        begin("rmsnorm_bwd", "dout[%d,%d] dx%s dw+=", N, C, acc ? "+=" : "=");
        pr x2 = T2(K_ACT, frand((size_t)N * C, 2, 0.3f), N, C);
        pr w2 = T1(K_ACT, frand((size_t)C, 0.5f, 1), C);
        pr o2 = T2(K_ACT, NULL, N, C);
        pr r2 = T1(K_F32, NULL, N);
        pr dout = T2(K_ACT, frand((size_t)N * C, 1, 0), N, C);
        pr dx = T2(K_ACT, frand((size_t)N * C, 1, 0), N, C);
        pr dw = T1(K_ACT, frand((size_t)C, 1, 0), C);
        CALL(O->rmsnorm_fwd(B, V(o2), V(r2), V(x2), V(w2), eps));
        sync_ref_to_tested(&r2);
        CALL(O->rmsnorm_bwd(B, V(dx), V(dw), V(dout), V(x2), V(w2), V(r2), acc));
        cmpf("dx", &dx);
        cmpf("dw (+=)", &dw);
    }
}

static baldro_rope_params rope_params(int D, int P, int scaling, int interleaved) {
    baldro_rope_params p = {.struct_size = sizeof p,
                            .head_dim = D,
                            .max_positions = P,
                            .interleaved = interleaved,
                            .scaling = scaling,
                            .theta = 500000.0,
                            .factor = 32.0,
                            .low_freq_factor = 1.0,
                            .high_freq_factor = 4.0,
                            .original_max_positions = 8192};
    if (scaling == BALDRO_ROPE_NONE) p.theta = 10000.0;
    if (scaling == BALDRO_ROPE_LINEAR) p.factor = 2.0;
    return p;
}

static void case_rope_table(int D, int P, int scaling) {
    static const char *names[] = {"default", "linear x2", "llama3 x32"};
    begin("rope_table", "table[%d,%d] %s", P, D, names[scaling]);
    baldro_rope_params p = rope_params(D, P, scaling, 0);
    pr t = T2(K_F32, frand((size_t)P * D, 1, 0), P, D);
    CALL(O->rope_table(B, V(t), &p));
    cmpf("table", &t);
}

static void case_rope(int Bn, int T, int H, int D, int interleaved, int with_pos0) {
    const int P = 256;
    begin("rope_fwd", "x[%d,%d,%d,%d] %s%s", Bn, T, H, D,
          interleaved ? "interleaved" : "rotate-half", with_pos0 ? " pos0" : "");
    baldro_rope_params p = rope_params(D, P, BALDRO_ROPE_LLAMA3, interleaved);
    pr tab = T2(K_F32, NULL, P, D);
    { /* the reference's table on both sides: rope_fwd/bwd are judged on their own */
        int w = 0;
        if (S[0].ops->rope_table(S[0].be, V(tab), &p))
            die("reference rope_table: %s", S[0].ops->last_error(S[0].be));
        sync_ref_to_tested(&tab);
    }
    int32_t *h0 = irand((size_t)Bn, 0, P - T);
    pr pos0 = T1(K_I32, h0, Bn);
    size_t n = (size_t)Bn * T * H * D;
    pr x = T4(K_ACT, frand(n, 1.5f, 0), Bn, T, H, D);
    CALL(O->rope_fwd(B, V(x), V(tab), with_pos0 ? V(pos0) : NULL, interleaved));
    cmpf("x (in place)", &x);
    begin("rope_bwd", "dx[%d,%d,%d,%d] %s%s", Bn, T, H, D,
          interleaved ? "interleaved" : "rotate-half", with_pos0 ? " pos0" : "");
    pr tab2 = T2(K_F32, NULL, P, D);
    {
        int w = 0;
        if (S[0].ops->rope_table(S[0].be, V(tab2), &p))
            die("reference rope_table: %s", S[0].ops->last_error(S[0].be));
        sync_ref_to_tested(&tab2);
    }
    pr pos1 = T1(K_I32, irand((size_t)Bn, 0, P - T), Bn);
    pr dx = T4(K_ACT, frand(n, 1.5f, 0), Bn, T, H, D);
    CALL(O->rope_bwd(B, V(dx), V(tab2), with_pos0 ? V(pos1) : NULL, interleaved));
    cmpf("dx (in place)", &dx);
}

static void case_swiglu(int N, int F) {
    size_t n = (size_t)N * F;
    begin("swiglu_fwd", "gate, up [%d,%d]", N, F);
    pr g = T2(K_ACT, frand(n, 4, 0), N, F), u = T2(K_ACT, frand(n, 2, 0), N, F);
    pr out = T2(K_ACT, frand(n, 1, 0), N, F);
    CALL(O->swiglu_fwd(B, V(out), V(g), V(u)));
    cmpf("out", &out);
    begin("swiglu_bwd", "dout[%d,%d] -> dgate, dup", N, F);
    pr g2 = T2(K_ACT, frand(n, 4, 0), N, F), u2 = T2(K_ACT, frand(n, 2, 0), N, F);
    pr dout = T2(K_ACT, frand(n, 1, 0), N, F);
    pr dg = T2(K_ACT, frand(n, 1, 0), N, F), du = T2(K_ACT, frand(n, 1, 0), N, F);
    CALL(O->swiglu_bwd(B, V(dg), V(du), V(dout), V(g2), V(u2)));
    cmpf("dgate", &dg);
    cmpf("dup", &du);
    begin("swiglu_bwd", "dout[%d,%d] -> dgate=gate, dup=up (aliased)", N, F);
    pr g3 = T2(K_ACT, frand(n, 4, 0), N, F), u3 = T2(K_ACT, frand(n, 2, 0), N, F);
    pr dout3 = T2(K_ACT, frand(n, 1, 0), N, F);
    CALL(O->swiglu_bwd(B, V(g3), V(u3), V(dout3), V(g3), V(u3)));
    cmpf("dgate (in gate)", &g3);
    cmpf("dup (in up)", &u3);
}

/* Training form (pos0 NULL, S = Tq) when cache == 0; else q[B,Tq] against a KV cache of
 * `cache` positions with pos0[b] + Tq <= cache. */
static void case_attention_fwd(int Bn, int Tq, int cache, int Hq, int Hkv, int D) {
    int Sk = cache ? cache : Tq;
    if (cache)
        begin("attention_fwd", "q[%d,%d,%d,%d] kv cache[%d,%d,%d,%d] pos0", Bn, Tq, Hq, D, Bn, Sk,
              Hkv, D);
    else
        begin("attention_fwd", "q[%d,%d,%d,%d] k,v[%d,%d,%d,%d] causal", Bn, Tq, Hq, D, Bn, Sk, Hkv,
              D);
    size_t nq = (size_t)Bn * Tq * Hq * D, nk = (size_t)Bn * Sk * Hkv * D;
    pr q = T4(K_ACT, frand(nq, 2, 0), Bn, Tq, Hq, D);
    pr k = T4(K_ACT, frand(nk, 2, 0), Bn, Sk, Hkv, D);
    pr v = T4(K_ACT, frand(nk, 1, 0), Bn, Sk, Hkv, D);
    int32_t *h0 = hnew((size_t)Bn * 4);
    for (int b = 0; b < Bn; b++) /* first row at the end of the cache, second at 0 */
        h0[b] = b == 0 ? Sk - Tq : b == 1 ? 0 : randint(Sk - Tq + 1);
    pr pos0 = T1(K_I32, h0, Bn);
    pr out = T4(K_ACT, frand(nq, 1, 0), Bn, Tq, Hq, D);
    pr lse = T3(K_F32, frand((size_t)Bn * Hq * Tq, 1, 0), Bn, Hq, Tq);
    pr ws = mk_workspace(Bn, Tq, Sk, Hq, Hkv, D);
    float scale = 1.0f / sqrtf((float)D);
    CALL(O->attention_fwd(B, V(out), V(lse), V(q), V(k), V(v), cache ? V(pos0) : NULL, scale,
                          V(ws)));
    cmpf("out", &out);
    cmpf("lse", &lse);
}

static void case_attention_bwd(int Bn, int T, int Hq, int Hkv, int D) {
    begin("attention_bwd", "dout[%d,%d,%d,%d] k,v[%d,%d,%d,%d] causal", Bn, T, Hq, D, Bn, T, Hkv,
          D);
    size_t nq = (size_t)Bn * T * Hq * D, nk = (size_t)Bn * T * Hkv * D;
    pr q = T4(K_ACT, frand(nq, 2, 0), Bn, T, Hq, D);
    pr k = T4(K_ACT, frand(nk, 2, 0), Bn, T, Hkv, D);
    pr v = T4(K_ACT, frand(nk, 1, 0), Bn, T, Hkv, D);
    pr out = T4(K_ACT, NULL, Bn, T, Hq, D);
    pr lse = T3(K_F32, NULL, Bn, Hq, T);
    pr dout = T4(K_ACT, frand(nq, 1, 0), Bn, T, Hq, D);
    pr dq = T4(K_ACT, frand(nq, 1, 0), Bn, T, Hq, D);
    pr dk = T4(K_ACT, frand(nk, 1, 0), Bn, T, Hkv, D);
    pr dv = T4(K_ACT, frand(nk, 1, 0), Bn, T, Hkv, D);
    pr ws = mk_workspace(Bn, T, T, Hq, Hkv, D);
    float scale = 1.0f / sqrtf((float)D);
    CALL(O->attention_fwd(B, V(out), V(lse), V(q), V(k), V(v), NULL, scale, V(ws)));
    sync_ref_to_tested(&out);
    sync_ref_to_tested(&lse);
    CALL(O->attention_bwd(B, V(dq), V(dk), V(dv), V(dout), V(q), V(k), V(v), V(out), V(lse), scale,
                          V(ws)));
    cmpf("dq", &dq);
    cmpf("dk", &dk);
    cmpf("dv", &dv);
}

static void case_kv_append(int Bn, int Tq, int Sk, int H, int D) {
    begin("kv_append", "cache[%d,%d,%d,%d] <- x[%d,%d,%d,%d] at pos0", Bn, Sk, H, D, Bn, Tq, H, D);
    pr cache = T4(K_ACT, frand((size_t)Bn * Sk * H * D, 1, 0), Bn, Sk, H, D);
    pr x = T4(K_ACT, frand((size_t)Bn * Tq * H * D, 1, 0), Bn, Tq, H, D);
    int32_t *h0 = hnew((size_t)Bn * 4);
    for (int b = 0; b < Bn; b++) h0[b] = b == 0 ? 0 : b == 1 ? Sk - Tq : randint(Sk - Tq + 1);
    pr pos0 = T1(K_I32, h0, Bn);
    CALL(O->kv_append(B, V(cache), V(x), V(pos0)));
    cmpf("cache", &cache);
}

static void case_logsoftmax(int N, int Vv) {
    begin("logsoftmax_gather_fwd", "logits[%d,%d] targets (every 5th ignored)", N, Vv);
    int32_t *tg = irand((size_t)N, 0, Vv);
    for (int i = 0; i < N; i += 5) tg[i] = -1;
    pr logits = T2(K_ACT, frand((size_t)N * Vv, 4, 0), N, Vv);
    pr targets = T1(K_I32, tg, N);
    pr logp = T1(K_F32, frand((size_t)N, 1, 0), N), lse = T1(K_F32, frand((size_t)N, 1, 0), N);
    CALL(O->logsoftmax_gather_fwd(B, V(logp), V(lse), V(logits), V(targets)));
    cmpf("logp", &logp);
    cmpf("lse", &lse);
    begin("logsoftmax_gather_bwd", "logits[%d,%d] -> dlogits (in place)", N, Vv);
    int32_t *tg2 = irand((size_t)N, 0, Vv); /* begin() freed tg */
    for (int i = 0; i < N; i += 5) tg2[i] = -1;
    pr l2 = T2(K_ACT, frand((size_t)N * Vv, 4, 0), N, Vv);
    pr t2 = T1(K_I32, tg2, N);
    pr lp2 = T1(K_F32, NULL, N), lse2 = T1(K_F32, NULL, N);
    pr dlogp = T1(K_F32, frand((size_t)N, 1, 0), N);
    CALL(O->logsoftmax_gather_fwd(B, V(lp2), V(lse2), V(l2), V(t2)));
    sync_ref_to_tested(&lse2);
    CALL(O->logsoftmax_gather_bwd(B, V(l2), V(lse2), V(t2), V(dlogp)));
    cmpf("dlogits", &l2);
}

/* ids must be equal except where the tested id's logit is within 1e-4 of the row's
 * maximum (a tie: both are right). Rows 0-3 hold exact ties, rows 4-7 near ties. */
static void case_argmax(int M, int Vv) {
    begin("argmax", "logits[%d,%d] (rows 0-3 exact ties, 4-7 gaps 5e-5)", M, Vv);
    float *h = frand((size_t)M * Vv, 3, 0);
    for (int r = 0; r < 8 && r < M; r++) {
        float *row = h + (size_t)r * Vv;
        int a = randint(Vv / 2), b = Vv / 2 + randint(Vv / 2);
        row[a] = 3.5f;
        row[b] = r < 4 ? 3.5f : 3.5f - 5e-5f;
        if (r >= 4 && (r & 1)) { /* the larger one last */
            row[a] = 3.5f - 5e-5f;
            row[b] = 3.5f;
        }
    }
    pr logits = T2(K_ACT, h, M, Vv);
    pr ids = T1(K_I32, irand((size_t)M, 0, Vv), M);
    CALL(O->argmax(B, V(ids), V(logits)));
    int rc0, rc1, rc2;
    int32_t *r = download_host(0, &ids.t[0], ids.n, &rc0),
            *t = download_host(1, &ids.t[1], ids.n, &rc1);
    float *lg = download_host(0, &logits.t[0], logits.n, &rc2); /* as the backends saw them */
    if (rc0 || rc1 || rc2) {
        record("ids", -1, 0, 0, "download failed");
    } else {
        if (opt.inject && !injected_argmax) {
            t[M - 1] = (t[M - 1] + Vv / 2) % Vv; /* a row with no tie */
            injected_argmax = 1;
        }
        int bad = 0, ties = 0, first_bad = -1;
        for (int i = 0; i < M; i++) {
            if (r[i] == t[i]) continue;
            const float *row = lg + (size_t)i * Vv;
            int ok = t[i] >= 0 && t[i] < Vv && (double)row[r[i]] - row[t[i]] < 1e-4;
            if (ok)
                ties++;
            else if (!bad++)
                first_bad = i;
        }
        n_ties += ties;
        if (bad)
            record("ids", -1, 0, 0, "%d of %d rows differ (not ties); row %d: %d vs reference %d",
                   bad, M, first_bad, t[first_bad], r[first_bad]);
        else
            record("ids", 0, 0, 1, "%d tie%s (gap < 1e-4)", ties, ties == 1 ? "" : "s");
    }
    g_free(r);
    g_free(t);
    g_free(lg);
}

static void case_adamw(int n, float wd) {
    begin("adamw", "param, grad, m, v [%d] step 3, weight decay %g", n, (double)wd);
    pr p = T1(K_ACT, frand((size_t)n, 0.1f, 0), n), g = T1(K_ACT, frand((size_t)n, 0.01f, 0), n);
    pr m = T1(K_F32, frand((size_t)n, 0.001f, 0), n);
    pr v = T1(K_F32, frand((size_t)n, 1e-6f, 1.1e-6f), n);
    baldro_adamw_args a = {.struct_size = sizeof a,
                           .lr = 1e-3f,
                           .beta1 = 0.9f,
                           .beta2 = 0.999f,
                           .eps = 1e-8f,
                           .weight_decay = wd,
                           .bias_correction1 = 1.0f - powf(0.9f, 3),
                           .bias_correction2 = 1.0f - powf(0.999f, 3)};
    CALL(O->adamw(B, V(p), V(g), V(m), V(v), &a));
    cmpf("param", &p);
    cmpf("m", &m);
    cmpf("v", &v);
}

static void run_op_checks(void) {
    table_header("== ops: tested backend vs the CPU reference ==");
    case_fill();
    case_copy();
    case_add();
    case_scale();
    case_sumsq();
    case_linear_fwd(67, 96, 130, 1, 0);
    case_linear_fwd(67, 96, 130, 0, 1);
    case_linear_fwd(256, 512, 384, 1, 1);
    case_linear_bwd(67, 96, 130, 1, 0);
    case_linear_bwd(67, 96, 130, 0, 1);
    case_linear_bwd(256, 512, 384, 1, 1);
    case_embedding();
    case_gather_rows();
    case_rmsnorm(70, 256);
    case_rmsnorm(8, 2048);
    case_rope_table(64, 256, BALDRO_ROPE_LLAMA3);
    case_rope_table(128, 300, BALDRO_ROPE_NONE);
    case_rope_table(64, 100, BALDRO_ROPE_LINEAR);
    for (int il = 0; il < 2; il++) {
        case_rope(2, 17, 4, 64, il, 1);
        case_rope(1, 9, 2, 128, il, 0);
    }
    case_swiglu(100, 300);
    for (int D = 64; D <= 128; D *= 2) {
        case_attention_fwd(2, 128, 0, 8, 2, D); /* training shape */
        case_attention_fwd(3, 1, 200, 8, 2, D); /* decode: Tq = 1, KV cache, pos0 */
        case_attention_fwd(3, 7, 160, 8, 2, D); /* a chunk against the cache */
    }
    case_attention_fwd(2, 77, 0, 8, 2, 64); /* a length off every block size */
    case_attention_bwd(2, 128, 8, 2, 64);
    case_attention_bwd(2, 128, 8, 2, 128);
    case_attention_bwd(1, 77, 8, 2, 64);
    case_kv_append(3, 4, 64, 2, 64);
    case_kv_append(3, 1, 40, 8, 128);
    case_logsoftmax(37, 32003);
    case_logsoftmax(8, 128256);
    case_argmax(64, 32000);
    case_adamw(10007, 0.01f);
    case_adamw(4099, 0.0f);
}

/* ======================================================================================== */
/* parts 2 and 3: a training step and greedy generation through the llama plugin            */
/* ======================================================================================== */

static baldro_loader *ld;

static void load_plugins(void) {
    ld = baldro_loader_new();
    char *dir = opt.plugin_dir ? g_strdup(opt.plugin_dir) : NULL;
    if (!dir) {
        char *exe = baldro_exe_dir();
        dir = g_build_filename(exe ? exe : ".", BALDRO_PLUGIN_RELDIR, NULL);
        g_free(exe);
    }
    baldro_loader_load_dir(ld, dir);
    if (!baldro_registry_find(baldro_loader_registry(ld), BALDRO_KIND_MODEL, "llama"))
        die("the llama model plugin was not found in %s (build models_llama or pass "
            "--plugin-dir)",
            dir);
    g_free(dir);
}

/* Tied embeddings, GQA 4:2 with head_dim 64 and Llama-3 rope scaling, like Llama-3.2. */
static const char *k_check_cfg =
    "{\"model_type\": \"llama\", \"hidden_size\": 256, \"intermediate_size\": 512,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
    " \"vocab_size\": 1000, \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-5,"
    " \"rope_theta\": 500000.0, \"tie_word_embeddings\": true,"
    " \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1.0,"
    " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}}";

enum { MB = 2, MT = 64, GB = 4, GP = 16, GN = 32 };

/* Copies every parameter of the reference model into the tested one. */
static int copy_params(baldro_model *mr, baldro_model *mt, char *why, size_t cap) {
    const baldro_param *pr_, *pt;
    int32_t nr, nt;
    baldro_model_params(mr, &pr_, &nr);
    baldro_model_params(mt, &pt, &nt);
    if (nr != nt) {
        g_snprintf(why, cap, "parameter counts differ: %d vs %d", nt, nr);
        return 1;
    }
    for (int32_t i = 0; i < nr; i++) {
        size_t n = (size_t)baldro_tensor_numel(&pr_[i].value);
        if (strcmp(pr_[i].name, pt[i].name) || n != (size_t)baldro_tensor_numel(&pt[i].value)) {
            g_snprintf(why, cap, "parameter %d: %s vs %s", i, pt[i].name, pr_[i].name);
            return 1;
        }
        int rc;
        float *h = download_host(0, &pr_[i].value, n, &rc);
        if (!rc) upload_host(1, &pt[i].value, h, n);
        g_free(h);
        if (rc) {
            g_snprintf(why, cap, "download %s: %s", pr_[i].name, S[0].ops->last_error(S[0].be));
            return 1;
        }
    }
    return 0;
}

static void shape_str(char *buf, size_t cap, const baldro_tensor *t) {
    int o = g_snprintf(buf, cap, "[");
    for (int i = 0; i < t->ndim && o < (int)cap; i++)
        o += g_snprintf(buf + o, cap - (size_t)o, "%s%lld", i ? "," : "", (long long)t->shape[i]);
    if (o < (int)cap) g_snprintf(buf + o, cap - (size_t)o, "]");
}

static void model_fail(const char *what, const baldro_error *e) {
    record(what, -1, 0, 0, "%s", e->msg);
}

static void run_train_check(baldro_model *m[2]) {
    cur.op = "train_step";
    cur.seed = (uint64_t)opt.seed + 7;
    rseed(cur.seed);
    g_snprintf(cur.what, sizeof cur.what, "llama 2x256 tied, B=%d T=%d", MB, MT);
    baldro_error err = {0};
    int32_t tok[MB * MT], tgt[MB * MT];
    float lp[2][MB * MT], dl[MB * MT];
    int nv = 0;
    for (int i = 0; i < MB * MT; i++) tok[i] = randint(1000);
    for (int i = 0; i < MB * MT; i++) {
        tgt[i] = i % MT == MT - 1 || randint(10) == 0 ? -1 : tok[i + 1];
        nv += tgt[i] >= 0;
    }
    for (int i = 0; i < MB * MT; i++) dl[i] = tgt[i] >= 0 ? -1.0f / (float)nv : 0.0f;
    double loss[2];
    for (int w = 0; w < 2; w++) {
        if (baldro_model_zero_grad(m[w], &err) ||
            baldro_model_forward(m[w], tok, tgt, MB, MT, lp[w], &err) ||
            baldro_model_backward(m[w], dl, &err)) {
            model_fail(w ? "tested fwd/bwd" : "reference fwd/bwd", &err);
            return;
        }
        loss[w] = 0;
        for (int i = 0; i < MB * MT; i++) loss[w] -= tgt[i] >= 0 ? (double)lp[w][i] / nv : 0.0;
    }
    cmp_scalar("loss", loss[0], loss[1], g_tol);
    double e = rel_l2(lp[1], lp[0], MB * MT);
    record("logp", e, g_tol, e <= g_tol, NULL);

    const baldro_param *p[2];
    int32_t n[2];
    baldro_model_params(m[0], &p[0], &n[0]);
    baldro_model_params(m[1], &p[1], &n[1]);
    for (int32_t i = 0; i < n[0]; i++) {
        size_t k = (size_t)baldro_tensor_numel(&p[0][i].grad);
        int rc0, rc1;
        float *r = download_host(0, &p[0][i].grad, k, &rc0),
              *t = download_host(1, &p[1][i].grad, k, &rc1);
        char shp[40];
        shape_str(shp, sizeof shp, &p[0][i].grad);
        g_snprintf(cur.what, sizeof cur.what, "grad %s %s", p[0][i].name, shp);
        if (rc0 || rc1) {
            record("grad", -1, 0, 0, "download failed");
        } else {
            if (opt.inject && !injected_grad) {
                corrupt(t, r, k);
                injected_grad = 1;
            }
            e = rel_l2(t, r, k);
            g_info = g_info_grads;
            record("grad", e, g_tol, e <= g_tol, NULL);
            g_info = 0;
        }
        g_free(r);
        g_free(t);
    }

    /* One AdamW step (with clipping at norm 1) on both; then every parameter. */
    g_snprintf(cur.what, sizeof cur.what, "AdamW lr 1e-3 wd 0.01 clip 1.0");
    baldro_adamw_config ac = {0.9f, 0.999f, 1e-8f, 0.01f, 1.0f};
    baldro_optimizer *o[2] = {NULL, NULL};
    double gn[2] = {0, 0};
    for (int w = 0; w < 2; w++)
        if (baldro_optim_new(m[w], &ac, &o[w], &err) ||
            baldro_optim_step(o[w], 1e-3f, &gn[w], &err)) {
            model_fail(w ? "tested optimizer" : "reference optimizer", &err);
            baldro_optim_free(o[0]);
            baldro_optim_free(o[1]);
            return;
        }
    cmp_scalar("grad norm", gn[0], gn[1], g_tol);
    double worst = -1;
    const char *worst_name = "";
    for (int32_t i = 0; i < n[0]; i++) {
        size_t k = (size_t)baldro_tensor_numel(&p[0][i].value);
        int rc0, rc1;
        float *r = download_host(0, &p[0][i].value, k, &rc0),
              *t = download_host(1, &p[1][i].value, k, &rc1);
        e = rc0 || rc1 ? INFINITY : rel_l2(t, r, k);
        if (e > worst) { /* rel_l2 is infinite on NaN */
            worst = e;
            worst_name = p[0][i].name;
        }
        g_free(r);
        g_free(t);
    }
    char out[48];
    g_snprintf(out, sizeof out, "params after (%d)", n[0]);
    record(out, worst, g_tol, worst <= g_tol, "worst: %s", worst_name);
    baldro_optim_free(o[0]);
    baldro_optim_free(o[1]);
}

/* Side w's logits [GN][GB][V] at every step of a greedy run that produced `toks` (the
 * reference's own tokens), replayed with gen_prefill + gen_decode; NULL on failure. */
static float *logits_replay(int w, baldro_model *m, const int32_t *prompts, const int32_t *lens,
                            const int32_t *toks, int32_t Vv) {
    baldro_error err = {0};
    const baldro_tensor *lg = NULL;
    if (baldro_model_gen_prefill(m, prompts, lens, GB, GP, &lg, &err)) return NULL;
    size_t row = (size_t)GB * Vv;
    float *h = g_new(float, (size_t)GN *row);
    for (int s = 0; s < GN; s++) {
        if (lg->shape[0] != GB || lg->shape[1] != Vv ||
            S[w].ops->download(S[w].be, h + s * row, lg->data, row * 4)) {
            g_free(h);
            return NULL;
        }
        if (s + 1 == GN) break;
        int32_t ids[GB];
        for (int r = 0; r < GB; r++) ids[r] = toks[r * GN + s];
        if (baldro_model_gen_decode(m, ids, &lg, &err)) {
            g_free(h);
            return NULL;
        }
    }
    return h;
}

static void run_gen_check_body(baldro_model *m[2]);
static void run_gen_check(baldro_model *m[2]) {
    g_info = g_info_gen;
    run_gen_check_body(m);
    g_info = 0;
}

static void run_gen_check_body(baldro_model *m[2]) {
    cur.op = "generate";
    cur.seed = (uint64_t)opt.seed + 11;
    rseed(cur.seed);
    g_snprintf(cur.what, sizeof cur.what, "greedy %d prompts (5..16 tok) x %d new", GB, GN);
    baldro_error err = {0};
    const int32_t Vv = baldro_model_get_info(m[0])->vocab_size;
    int32_t prompts[GB * GP] = {0}, lens[GB] = {5, 9, 12, 16}, out[2][GB * GN];
    for (int b = 0; b < GB; b++)
        for (int i = 0; i < lens[b]; i++) prompts[b * GP + i] = randint(Vv);
    baldro_gen_options go = {.max_new_tokens = GN, .top_p = 1.0f};
    for (int w = 0; w < 2; w++)
        if (baldro_generate(m[w], prompts, lens, GB, GP, &go, out[w], NULL, NULL, &err)) {
            model_fail(w ? "tested generate" : "reference generate", &err);
            return;
        }
    if (opt.inject && !injected_gen) {
        out[1][1 * GN + 10] = (out[1][1 * GN + 10] + Vv / 2) % Vv;
        injected_gen = 1;
    }
    float *lg = logits_replay(0, m[0], prompts, lens, out[0], Vv);
    if (!lg) {
        record("ids", -1, 0, 0, "replaying the reference's logits failed");
        return;
    }
    /* The smallest gap between the top two reference logits over every generated token:
     * how close this run came to a tie anywhere. */
    double min_gap = INFINITY;
    for (size_t r = 0; r < (size_t)GN * GB; r++) {
        const float *x = lg + r * Vv;
        float a = -INFINITY, b = -INFINITY;
        for (int32_t j = 0; j < Vv; j++) {
            if (x[j] > a)
                b = a, a = x[j];
            else if (x[j] > b)
                b = x[j];
        }
        min_gap = fmin(min_gap, (double)a - (double)b);
    }
    const double tie = opt.bf16 ? 3e-2 : 1e-4;
    int diverged = 0, failed = 0;
    for (int b = 0; b < GB; b++) {
        int k = 0;
        while (k < GN && out[0][b * GN + k] == out[1][b * GN + k]) k++;
        if (k == GN) continue;
        diverged++;
        int32_t a = out[0][b * GN + k], c = out[1][b * GN + k];
        const float *x = lg + ((size_t)k * GB + b) * Vv;
        double mg = c >= 0 && c < Vv ? (double)x[a] - (double)x[c] : NAN;
        int is_tie = mg < tie; /* NaN: not a tie */
        if (is_tie)
            n_ties++;
        else
            failed++;
        char o[48];
        g_snprintf(o, sizeof o, "row %d", b);
        record(o, -1, 0, is_tie,
               "diverges at new token %d: %d vs reference %d; reference logit margin %.3g (%s)", k,
               c, a, mg, is_tie ? "a tie" : "not a tie");
    }
    record("ids", -1, 0, failed == 0,
           "%d of %d rows identical over %d tokens; smallest reference top-2 gap %.3g",
           GB - diverged, GB, GN, min_gap);

    /* Teacher-forced: the tested model on the reference's tokens, step by step. */
    g_snprintf(cur.what, sizeof cur.what, "teacher-forced on the reference's %d x %d tokens", GB,
               GN);
    float *lt = logits_replay(1, m[1], prompts, lens, out[0], Vv);
    if (!lt) {
        record("logits", -1, 0, 0, "replaying the tested model on the reference's tokens failed");
        g_free(lg);
        return;
    }
    size_t nrow = (size_t)GN * GB;
    double e = rel_l2(lt, lg, nrow * (size_t)Vv);
    record("logits", e, g_tol, e <= g_tol, "rel L2 over all %zu steps x rows", nrow);
    int agree = 0, ties = 0, bad = 0;
    size_t first_bad = 0;
    double max_mg = 0;
    for (size_t r = 0; r < nrow; r++) {
        const float *x = lg + r * Vv, *y = lt + r * Vv;
        int32_t a = 0, c = 0; /* argmax, lowest index on ties (as the backends) */
        for (int32_t j = 1; j < Vv; j++) {
            if (x[j] > x[a]) a = j;
            if (y[j] > y[c]) c = j;
        }
        if (a == c) {
            agree++;
            continue;
        }
        double mg = (double)x[a] - (double)x[c];
        if (mg < tie) {
            ties++;
            continue;
        }
        if (!bad++) first_bad = r;
        if (mg > max_mg) max_mg = mg;
    }
    n_ties += ties;
    if (bad)
        record("argmax", -1, 0, 0,
               "%d of %zu steps agree, %d ties (margin < %.0e), %d NOT ties (largest reference "
               "margin %.3g; first at new token %zu of row %zu)",
               agree, nrow, ties, tie, bad, max_mg, first_bad / GB, first_bad % GB);
    else
        record("argmax", -1, 0, 1, "%d of %zu steps agree (%.1f%%), %d ties (margin < %.0e)",
               agree, nrow, 100.0 * agree / (double)nrow, ties, tie);
    g_free(lt);
    g_free(lg);
}

/* ref_emulated = 0: the reference is the fp32 CPU backend; 1: the CPU backend with the
 * bf16 GEMM emulation (the same arithmetic as the tested bf16 backend). */
static void run_model_checks(int ref_emulated) {
    const baldro_ops *ref_ops = S[0].ops;
    if (ref_emulated) S[0].ops = emulate_bf16(ref_ops);
    if (!opt.bf16)
        table_header("== a training step and greedy generation through the llama plugin ==");
    else if (!ref_emulated)
        table_header("== bf16 vs the fp32 CPU: loss, log-probs, grad norm and updated params are "
                     "asserted; per-gradient and generation rows are info ==");
    else
        table_header("== bf16 vs the CPU with bf16-emulated GEMMs (same arithmetic): all "
                     "asserted ==");
    /* bf16 GEMMs move each gradient of a whole step by a few percent from fp32 (the
     * rounded d logits no longer cancel; the CPU emulation measures 1.6-3.3% on this
     * model), beyond 1e-2: against fp32 those rows are information, and the same rows
     * are asserted against a reference that computes in the same arithmetic. */
    g_info_grads = g_info_gen = opt.bf16 && !ref_emulated;
    cur.op = "model";
    cur.seed = (uint64_t)opt.seed + 5;
    g_strlcpy(cur.what, "create on both, copy cpu params", sizeof cur.what);
    baldro_model *m[2] = {NULL, NULL};
    baldro_error err = {0};
    for (int w = 0; w < 2; w++) {
        baldro_model_open_args a = {
            .hf_config_json = k_check_cfg,
            .source = "device check",
            .seed = cur.seed,
            .init_std = 0.1f,
            .limits = {
                .max_batch = MB, .max_seq = MT, .train = 1, .gen_batch = GB, .gen_len = GP + GN}};
        if (baldro_model_open(baldro_loader_registry(ld), S[w].ops, S[w].be, &a, &m[w], &err)) {
            model_fail(w ? "tested open" : "reference open", &err);
            baldro_model_close(m[0]);
            g_info_grads = g_info_gen = 0;
            S[0].ops = ref_ops;
            return;
        }
    }
    char why[256];
    if (copy_params(m[0], m[1], why, sizeof why)) {
        record("params", -1, 0, 0, "%s", why);
    } else {
        run_train_check(m);
        /* AdamW moved both copies by nearly the same step; generate from identical ones. */
        cur.op = "model";
        if (copy_params(m[0], m[1], why, sizeof why))
            record("params", -1, 0, 0, "%s", why);
        else
            run_gen_check(m);
    }
    baldro_model_close(m[0]);
    baldro_model_close(m[1]);
    g_info_grads = g_info_gen = 0;
    S[0].ops = ref_ops;
}

/* ======================================================================================== */
/* --bench                                                                                  */
/* ======================================================================================== */

static char g_device_name[256] = "cpu";

static void read_device_name(void) {
#if BALDRO_HAVE_CUDA
    if (!strcmp(opt.backend, "cuda")) {
        struct cudaDeviceProp prop;
        if (cudaGetDeviceProperties(&prop, opt.device) == cudaSuccess)
            g_snprintf(g_device_name, sizeof g_device_name, "%s", prop.name);
    }
#endif
}

/* Dense bf16 tensor-core peaks (FLOP/s, no sparsity) from the vendors' data sheets. */
static double peak_flops_for(const char *name) {
    if (opt.peak_tflops > 0) return opt.peak_tflops * 1e12;
    if (strstr(name, "H100") && strstr(name, "PCIe")) return 756e12;
    if (strstr(name, "H100") && strstr(name, "NVL")) return 835e12;
    if (strstr(name, "H100") || strstr(name, "H200") || strstr(name, "H800")) return 989e12;
    if (strstr(name, "A100")) return 312e12;
    return 0;
}

/* Device memory in use on the card (this process's context, cuBLAS and the arena, and
 * anything else running there): total - free. NaN when not on cuda. */
static double device_used_bytes(void) {
#if BALDRO_HAVE_CUDA
    size_t fr = 0, tot = 0;
    if (!strcmp(opt.backend, "cuda") && cudaMemGetInfo(&fr, &tot) == cudaSuccess)
        return (double)(tot - fr);
#endif
    return NAN;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Integral values (byte counts, FLOPs) in full, others to 6 digits; NaN/inf: null. */
static void json_num(GString *js, const char *key, double v) {
    if (!isfinite(v))
        g_string_append_printf(js, ",\"%s\":null", key);
    else if (v == floor(v) && fabs(v) < 1e18)
        g_string_append_printf(js, ",\"%s\":%.0f", key, v);
    else
        g_string_append_printf(js, ",\"%s\":%.6g", key, v);
}

static void json_str(GString *js, const char *s) {
    g_string_append_c(js, '"');
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            g_string_append_printf(js, "\\%c", c);
        else if (c < 0x20)
            g_string_append_printf(js, "\\u%04x", c);
        else
            g_string_append_c(js, (char)c);
    }
    g_string_append_c(js, '"');
}

/* Syncs the tested backend: download waits for every queued op. */
static int sync_tested(baldro_model *m) {
    const baldro_param *p;
    int32_t n;
    baldro_model_params(m, &p, &n);
    float x;
    return S[1].ops->download(S[1].be, &x, p[0].value.data, 4);
}

static int run_bench(GString *js) {
    const int big = strcmp(opt.backend, "cpu") != 0;
    /* Llama-3.2-1B: hidden 2048, 16 layers, 32 heads of 64, 8 KV heads, FFN 8192, vocab
     * 128256, tied embeddings, rope theta 500000 with llama3 scaling x32. */
    const int C = big ? 2048 : 256, L = big ? 16 : 2, Hq = big ? 32 : 4, Hkv = big ? 8 : 2,
              F = big ? 8192 : 1024, Vv = big ? 128256 : 4096;
    const int Bt = opt.batch ? opt.batch : big ? 4 : 2, T = opt.seq ? opt.seq : big ? 512 : 128;
    const int steps = opt.steps ? opt.steps
                      : big     ? 10
                                : 3,
              warm = opt.warmup ? opt.warmup
                     : big      ? 2
                                : 1;
    const int P = opt.gen_prompts ? opt.gen_prompts : big ? 128 : 8;
    const int Lp = opt.gen_prompt_len ? opt.gen_prompt_len : big ? 32 : 16;
    const int M = opt.gen_new ? opt.gen_new : big ? 200 : 16;
    char *cfg = g_strdup_printf(
        "{\"model_type\": \"llama\", \"hidden_size\": %d, \"num_hidden_layers\": %d,"
        " \"num_attention_heads\": %d, \"num_key_value_heads\": %d, \"intermediate_size\": %d,"
        " \"vocab_size\": %d, \"max_position_embeddings\": 131072, \"rms_norm_eps\": 1e-5,"
        " \"rope_theta\": 500000.0, \"tie_word_embeddings\": true, \"initializer_range\": 0.02,"
        " \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1.0,"
        " \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}}",
        C, L, Hq, Hkv, F, Vv);
    baldro_error err = {0};
    const baldro_registry *reg = baldro_loader_registry(ld);
    double peak = peak_flops_for(g_device_name);
    printf("\n== bench: %s, %s (%s GEMMs, act_dtype %s), hidden %d x %d layers, heads %d/%d, "
           "ffn %d, vocab %d ==\n",
           S[1].ops->name, g_device_name, opt.precision, dtype_name(S[1].ops->act_dtype), C, L,
           Hq, Hkv, F, Vv);
    g_string_append_printf(js,
                           ",\"bench\":{\"shape\":\"%s\",\"hidden\":%d,\"layers\":%d,"
                           "\"heads\":%d,\"kv_heads\":%d,\"intermediate\":%d,\"vocab\":%d,"
                           "\"tied\":true,\"batch\":%d,\"seq\":%d,\"steps\":%d,\"warmup\":%d",
                           big ? "llama-3.2-1b" : "small", C, L, Hq, Hkv, F, Vv, Bt, T, steps,
                           warm);
    json_num(js, "peak_flops", peak > 0 ? peak : NAN);
    g_string_append_printf(js, ",\"peak_basis\":\"%s\"",
                           opt.peak_tflops > 0 ? "--peak-tflops" : "bf16 dense, data sheet");

    /* ---- training: zero_grad + forward + backward + AdamW, synchronised per step ---- */
    {
        baldro_model *m = NULL;
        baldro_optimizer *o = NULL;
        baldro_model_open_args a = {.hf_config_json = cfg,
                                    .source = "bench",
                                    .seed = (uint64_t)opt.seed,
                                    .limits = {.max_batch = Bt, .max_seq = T, .train = 1},
                                    /* as `unlearn` trains: trainer.logits_mib's default */
                                    .logits_bytes = (int64_t)256 << 20};
        baldro_adamw_config ac = {0.9f, 0.999f, 1e-8f, 0.01f, 1.0f};
        double t0 = now_s();
        if (baldro_model_open(reg, S[1].ops, S[1].be, &a, &m, &err) ||
            baldro_optim_new(m, &ac, &o, &err)) {
            fprintf(stderr, "baldro-device-check: bench: %s\n", err.msg);
            g_free(cfg);
            return 1;
        }
        double t_open = now_s() - t0;
        const int N = Bt * T;
        int32_t *tok = g_new(int32_t, (size_t)N), *tgt = g_new(int32_t, (size_t)N);
        float *lp = g_new(float, (size_t)N), *dlp = g_new(float, (size_t)N);
        rseed((uint64_t)opt.seed + 99);
        for (int i = 0; i < N; i++) tok[i] = randint(Vv);
        for (int i = 0; i < N; i++) tgt[i] = i % T == T - 1 ? -1 : tok[i + 1];
        for (int i = 0; i < N; i++) dlp[i] = tgt[i] >= 0 ? -1.0f / (float)(N - Bt) : 0.0f;
        double *ts = g_new(double, (size_t)steps);
        double loss = 0;
        for (int s = 0; s < warm + steps; s++) {
            double s0 = now_s();
            if (baldro_model_zero_grad(m, &err) ||
                baldro_model_forward(m, tok, tgt, Bt, T, lp, &err) ||
                baldro_model_backward(m, dlp, &err) || baldro_optim_step(o, 1e-4f, NULL, &err) ||
                sync_tested(m)) {
                fprintf(stderr, "baldro-device-check: bench step: %s %s\n", err.msg,
                        S[1].ops->last_error(S[1].be));
                g_free(cfg);
                return 1;
            }
            if (s >= warm) ts[s - warm] = now_s() - s0;
            loss = 0;
            for (int i = 0; i < N; i++) loss -= tgt[i] >= 0 ? (double)lp[i] / (N - Bt) : 0.0;
        }
        double total = 0;
        for (int s = 0; s < steps; s++) total += ts[s];
        qsort(ts, (size_t)steps, sizeof *ts, cmp_d);
        double med = steps % 2 ? ts[steps / 2] : 0.5 * (ts[steps / 2 - 1] + ts[steps / 2]);
        const baldro_model_info *info = baldro_model_get_info(m);
        /* Model FLOPs of one step (the PaLM/Megatron accounting, recomputation not counted):
         *   6 * n_params * tokens                       every weight: 2 forward, 4 backward;
         *                                               the tied embedding counted once = the
         *                                               LM-head GEMM (the lookup is free)
         * + 6 * layers * hidden * seq^2 * batch         attention scores and values, QK^T and
         *                                               PV: 12 * L * hidden * seq^2 / 2 * batch
         *                                               (the causal half)
         * MFU = FLOPs / step time / peak dense bf16 FLOP/s of the card.                 */
        double flops = 6.0 * (double)info->n_params * N + 6.0 * L * (double)C * T * T * Bt;
        baldro_backend_stats st;
        baldro_backend_get_stats(S[1].be, &st);
        size_t planned = info->planned_bytes + baldro_optim_state_bytes(o);
        double used = device_used_bytes();
        printf("FLOPs/step = 6 * params * tokens + 6 * layers * hidden * seq^2 * batch = "
               "6 * %lld * %d + 6 * %d * %d * %d^2 * %d = %.4g\n",
               (long long)info->n_params, N, L, C, T, Bt, flops);
        char mfu[48] = "n/a (unknown peak; --peak-tflops)";
        if (peak > 0) g_snprintf(mfu, sizeof mfu, "%.3f", flops / med / peak);
        printf("train: open %.1f s; step median %.4f s (mean %.4f), %.2f steps/s, %.0f tokens/s, "
               "%.1f TFLOP/s, MFU %s; loss %.4f\n",
               t_open, med, total / steps, 1.0 / med, N / med, flops / med / 1e12, mfu, loss);
        printf("memory: backend peak %.1f MiB (of which bf16 copies and scratch %.1f MiB now), "
               "planned (model %.1f + optimizer %.1f) = %.1f MiB",
               st.bytes_peak / 1048576.0, st.bytes_bf16 / 1048576.0,
               info->planned_bytes / 1048576.0, baldro_optim_state_bytes(o) / 1048576.0,
               planned / 1048576.0);
        if (isfinite(used)) printf("; device in use %.1f MiB", used / 1048576.0);
        printf("\n");
        g_string_append_printf(js, ",\"params\":%lld,\"tokens_per_step\":%d",
                               (long long)info->n_params, N);
        json_num(js, "open_s", t_open);
        json_num(js, "train_step_s", med);
        json_num(js, "train_step_mean_s", total / steps);
        json_num(js, "train_steps_per_s", 1.0 / med);
        json_num(js, "train_tokens_per_s", N / med);
        json_num(js, "flops_per_step", flops);
        json_num(js, "train_tflops", flops / med / 1e12);
        json_num(js, "mfu", peak > 0 ? flops / med / peak : NAN);
        json_num(js, "final_loss", loss);
        g_string_append(js, ",\"flops_formula\":\"6*params*tokens + 6*layers*hidden*seq^2*batch\"");
        json_num(js, "train_peak_bytes", (double)st.bytes_peak);
        json_num(js, "train_planned_bytes", (double)planned);
        json_num(js, "train_bf16_bytes", (double)st.bytes_bf16);
        json_num(js, "train_device_used_bytes", used);
        g_free(ts), g_free(tok), g_free(tgt), g_free(lp), g_free(dlp);
        baldro_optim_free(o);
        baldro_model_close(m);
    }

    /* ---- greedy decoding: P prompts x M new tokens, KV cache ---- */
    {
        baldro_model *m = NULL;
        baldro_model_open_args a = {
            .hf_config_json = cfg,
            .source = "bench",
            .seed = (uint64_t)opt.seed + 1,
            .limits = {.max_batch = 1, .max_seq = 1, .gen_batch = P, .gen_len = Lp + M}};
        if (baldro_model_open(reg, S[1].ops, S[1].be, &a, &m, &err)) {
            fprintf(stderr, "baldro-device-check: bench generate: %s\n", err.msg);
            g_free(cfg);
            return 1;
        }
        int32_t *pr_ = g_new(int32_t, (size_t)P * Lp), *len = g_new(int32_t, (size_t)P);
        int32_t *out = g_new(int32_t, (size_t)P * M), *cnt = g_new(int32_t, (size_t)P);
        rseed((uint64_t)opt.seed + 98);
        for (int i = 0; i < P * Lp; i++) pr_[i] = randint(Vv);
        for (int i = 0; i < P; i++) len[i] = Lp;
        baldro_gen_options warmup = {.max_new_tokens = 4, .top_p = 1.0f};
        baldro_gen_options go = {.max_new_tokens = M, .top_p = 1.0f};
        double wall = -1;
        if (baldro_generate(m, pr_, len, P, Lp, &warmup, out, cnt, NULL, &err) == BALDRO_OK) {
            double t0 = now_s();
            if (baldro_generate(m, pr_, len, P, Lp, &go, out, cnt, NULL, &err) == BALDRO_OK)
                wall = now_s() - t0;
        }
        if (wall < 0) {
            fprintf(stderr, "baldro-device-check: bench generate: %s\n", err.msg);
            g_free(cfg);
            return 1;
        }
        long long made = 0;
        for (int i = 0; i < P; i++) made += cnt[i];
        const baldro_model_info *info = baldro_model_get_info(m);
        baldro_backend_stats st;
        baldro_backend_get_stats(S[1].be, &st);
        double used = device_used_bytes();
        printf("generate: %d prompts x %d tokens + %d new (greedy, KV cache): %.3f s, %.0f "
               "tokens/s; model planned %.1f MiB (KV cache %.1f MiB), live %.1f MiB\n",
               P, Lp, M, wall, made / wall, info->planned_bytes / 1048576.0,
               info->kv_cache_bytes / 1048576.0, st.bytes_live / 1048576.0);
        g_string_append_printf(js,
                               ",\"gen_prompts\":%d,\"gen_prompt_len\":%d,\"gen_new\":%d,"
                               "\"gen_tokens\":%lld",
                               P, Lp, M, made);
        json_num(js, "gen_s", wall);
        json_num(js, "gen_tokens_per_s", made / wall);
        json_num(js, "gen_planned_bytes", (double)info->planned_bytes);
        json_num(js, "gen_kv_cache_bytes", (double)info->kv_cache_bytes);
        json_num(js, "gen_live_bytes", (double)st.bytes_live);
        json_num(js, "gen_device_used_bytes", used);
        g_free(pr_), g_free(len), g_free(out), g_free(cnt);
        baldro_model_close(m);
    }
    g_string_append(js, "}");
    g_free(cfg);
    return 0;
}

/* ======================================================================================== */

static void append_checks_json(GString *js) {
    g_string_append(js, ",\"checks\":[");
    for (guint i = 0; i < recs->len; i++) {
        const rec *r = &g_array_index(recs, rec, i);
        g_string_append(js, i ? ",{\"op\":" : "{\"op\":");
        json_str(js, r->op);
        g_string_append(js, ",\"case\":");
        json_str(js, r->what);
        g_string_append(js, ",\"output\":");
        json_str(js, r->out);
        g_string_append_printf(js, ",\"seed\":%llu", (unsigned long long)r->seed);
        json_num(js, "rel_l2", r->err >= 0 ? r->err : NAN);
        json_num(js, "tol", r->tol);
        g_string_append_printf(js, ",\"pass\":%s,\"info\":%s,\"note\":", r->pass ? "true" : "false",
                               r->info ? "true" : "false");
        json_str(js, r->note);
        g_string_append(js, "}");
    }
    g_string_append_printf(js, "],\"n_checks\":%u,\"n_fail\":%d,\"n_ties\":%d,\"n_info\":%d",
                           recs->len, n_fail, n_ties, n_info);
}

int main(int argc, char **argv) {
    GOptionEntry entries[] = {
        {"backend", 0, 0, G_OPTION_ARG_STRING, &opt.backend,
         "backend to test against the CPU reference: cuda (default) or cpu", "cuda|cpu"},
        {"device", 0, 0, G_OPTION_ARG_INT, &opt.device, "CUDA device (default 0)", "N"},
        {"precision", 0, 0, G_OPTION_ARG_STRING, &opt.precision,
         "GEMM precision of the tested backend: fp32 (default of the check; tolerance 1e-5) "
         "or bf16 (default of --bench on cuda; tolerance 1e-2). With --backend cpu, bf16 "
         "emulates the CUDA backend's bf16 GEMMs",
         "fp32|bf16"},
        {"bench", 0, 0, G_OPTION_ARG_NONE, &opt.bench,
         "benchmark the backend (Llama-3.2-1B shape on cuda, a small one on cpu) instead of "
         "the checks",
         NULL},
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &opt.json,
         "also write the results as one JSON "
         "object to OUT",
         "OUT"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &opt.seed, "base seed (each case adds its own)", "S"},
        {"threads", 0, 0, G_OPTION_ARG_INT, &opt.threads, "CPU backend threads (default 4)", "N"},
        {"peak-tflops", 0, 0, G_OPTION_ARG_DOUBLE, &opt.peak_tflops,
         "peak dense TFLOP/s for MFU (default: from the device name)", "X"},
        {"plugin-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt.plugin_dir,
         "where models_llama.so is (default: next to the executable's lib dir)", "DIR"},
        {"batch", 0, 0, G_OPTION_ARG_INT, &opt.batch, "bench: rows per step", "B"},
        {"seq", 0, 0, G_OPTION_ARG_INT, &opt.seq, "bench: tokens per row", "T"},
        {"steps", 0, 0, G_OPTION_ARG_INT, &opt.steps, "bench: timed steps", "N"},
        {"warmup", 0, 0, G_OPTION_ARG_INT, &opt.warmup, "bench: untimed steps first", "N"},
        {"gen-prompts", 0, 0, G_OPTION_ARG_INT, &opt.gen_prompts, "bench: prompts", "P"},
        {"gen-prompt-len", 0, 0, G_OPTION_ARG_INT, &opt.gen_prompt_len, "bench: prompt tokens",
         "L"},
        {"gen-new", 0, 0, G_OPTION_ARG_INT, &opt.gen_new, "bench: new tokens per prompt", "M"},
        {"inject-error", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &opt.inject,
         "corrupt one result per part (tests that the check fails)", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL}};
    GOptionContext *ctx = g_option_context_new("- compare a backend with the CPU backend");
    g_option_context_add_main_entries(ctx, entries, NULL);
    GError *ge = NULL;
    if (!g_option_context_parse(ctx, &argc, &argv, &ge)) {
        fprintf(stderr, "baldro-device-check: %s\n", ge->message);
        return 2;
    }
    g_option_context_free(ctx);
    /* the default is set after parsing: GOption overwrites a string without freeing it */
    if (!opt.backend) opt.backend = g_strdup("cuda");
    if (strcmp(opt.backend, "cuda") && strcmp(opt.backend, "cpu"))
        die("--backend '%s' is not cuda or cpu", opt.backend);
    if (opt.threads < 1) die("--threads must be >= 1");
    /* The check defaults to fp32, the bench on cuda to bf16 (its PyTorch peer runs in
     * bf16; on cpu bf16 would only time the emulation). */
    if (!opt.precision)
        opt.precision = g_strdup(opt.bench && strcmp(opt.backend, "cpu") ? "bf16" : "fp32");
    baldro_precision prec;
    if (baldro_precision_parse(opt.precision, &prec) != BALDRO_OK)
        die("--precision '%s' is not fp32 or bf16", opt.precision);
    opt.bf16 = prec == BALDRO_PRECISION_BF16;

    baldro_error err = {0};
    if (baldro_backend_cpu_open(opt.threads, &S[0].be, &S[0].ops, &err))
        die("cpu backend: %s", err.msg);
    if (!strcmp(opt.backend, "cpu")) {
        /* A second, separate instance with the same threads: results must be identical. */
        if (baldro_backend_cpu_open(opt.threads, &S[1].be, &S[1].ops, &err))
            die("cpu backend: %s", err.msg);
        if (opt.bf16) S[1].ops = emulate_bf16(S[1].ops);
    } else {
        char why[256] = "";
        if (!baldro_backend_cuda_available(why, sizeof why))
            die("no CUDA backend to check: %s", why);
        if (baldro_backend_cuda_open(opt.device, prec, &S[1].be, &S[1].ops, &err))
            die("%s", err.msg);
    }
    read_device_name();
    g_tol = opt.bf16 || tested_bf16() ? 1e-2 : 1e-5;
    recs = g_array_new(FALSE, TRUE, sizeof(rec));
    tmp = g_ptr_array_new_with_free_func(g_free);
    load_plugins();
    printf("baldro-device-check: tested %s backend (%s, %s GEMMs, act_dtype %s) against the cpu "
           "backend (%d threads); base seed %lld; rel L2 tolerance %.0e%s\n",
           S[1].ops->name, g_device_name, opt.precision, dtype_name(S[1].ops->act_dtype),
           opt.threads, (long long)opt.seed, g_tol, opt.inject ? "; INJECTING ERRORS" : "");

    GString *js = g_string_new("{\"tool\":\"baldro-device-check\",\"backend\":");
    json_str(js, S[1].ops->name);
    g_string_append(js, ",\"device\":");
    json_str(js, g_device_name);
    g_string_append_printf(js, ",\"act_dtype\":\"%s\",\"precision\":\"%s\",\"seed\":%lld,"
                           "\"tol\":%g",
                           dtype_name(S[1].ops->act_dtype), opt.precision, (long long)opt.seed,
                           g_tol);
    int rc = 0;
    double t0 = now_s();
    if (opt.bench) {
        g_string_append(js, ",\"mode\":\"bench\"");
        rc = run_bench(js) ? 1 : 0;
        g_string_append_printf(js, ",\"ok\":%s", rc ? "false" : "true");
    } else {
        g_string_append(js, ",\"mode\":\"check\"");
        for (int w = 0; w < 2; w++) {
            if (S[w].ops->alloc(S[w].be, ARENA_BYTES, (void **)&S[w].base))
                die("%s backend: alloc of %zu MiB: %s", S[w].ops->name, ARENA_BYTES >> 20,
                    S[w].ops->last_error(S[w].be));
            S[w].cap = ARENA_BYTES;
        }
        run_op_checks();
        for (int w = 0; w < 2; w++) {
            S[w].ops->free(S[w].be, S[w].base);
            S[w].base = NULL;
        }
        run_model_checks(0);
        if (opt.bf16) run_model_checks(1);
        printf("\ndevice-check: %u checks, %d FAIL, %d ties, %d info (%.1f s)\n", recs->len, n_fail,
               n_ties, n_info, now_s() - t0);
        append_checks_json(js);
        rc = n_fail ? 1 : 0;
    }
    json_num(js, "wall_s", now_s() - t0);
    g_string_append(js, "}");
    if (opt.json) {
        GError *we = NULL;
        g_string_append_c(js, '\n');
        if (!g_file_set_contents(opt.json, js->str, (gssize)js->len, &we)) {
            fprintf(stderr, "baldro-device-check: %s\n", we->message);
            g_error_free(we);
            rc = rc ? rc : 2;
        }
    }
    g_string_free(js, TRUE);
    g_array_free(recs, TRUE);
    g_ptr_array_free(tmp, TRUE);
    baldro_loader_free(ld);
    baldro_backend_close(S[1].be);
    baldro_backend_close(S[0].be);
    g_free(opt.backend);
    g_free(opt.precision);
    g_free(opt.json);
    g_free(opt.plugin_dir);
    return rc;
}
