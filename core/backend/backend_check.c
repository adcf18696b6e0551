/* core/backend/backend_check.c: every op's argument checks, once for all backends (see
 * backend_check.h). The order of the checks is part of the contract: the first failing
 * one names the problem, and the error-message tests pin it. */
#include "backend/backend_check.h"

#include <math.h>

/* ---- elementwise -------------------------------------------------------------------- */

int bk_check_fill(baldro_backend *be, const baldro_tensor *x, float value) {
    if (x && x->dtype == BALDRO_DT_I32) {
        BK_TRY(bk_check_tensor(be, "fill", "x", x, BALDRO_DT_I32, 0));
        /* An I32 fill takes an integral value in range (a float-to-int cast of anything
         * else is undefined). */
        if (!(value >= -2147483648.0f && value < 2147483648.0f) || value != floorf(value))
            return bk_fail(be, BALDRO_EINVAL, "fill: value %g is not an I32 value", (double)value);
        return BALDRO_OK;
    }
    return bk_check_tensor(be, "fill", "x", x, BALDRO_DT_F32, 0);
}

int bk_check_copy(baldro_backend *be, const baldro_tensor *y, const baldro_tensor *x) {
    if (!x || !y) return bk_fail(be, BALDRO_EINVAL, "copy: %s is NULL", x ? "y" : "x");
    if (x->dtype < BALDRO_DT_F32 || x->dtype > BALDRO_DT_I32)
        return bk_fail(be, BALDRO_EINVAL, "copy: x.dtype=%d is not a baldro_dtype", (int)x->dtype);
    BK_TRY(bk_check_tensor(be, "copy", "x", x, x->dtype, 0));
    BK_TRY(bk_check_tensor(be, "copy", "y", y, x->dtype, 0));
    return bk_check_numel(be, "copy", "y", y, baldro_tensor_numel(x), "x.numel");
}

int bk_check_add(baldro_backend *be, const baldro_tensor *y, const baldro_tensor *a,
                 const baldro_tensor *b) {
    const char *op = "add";
    BK_TRY(bk_check_tensor(be, op, "a", a, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "b", b, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "y", y, BALDRO_DT_F32, 0));
    int64_t n = baldro_tensor_numel(a);
    BK_TRY(bk_check_numel(be, op, "b", b, n, "a.numel"));
    BK_TRY(bk_check_numel(be, op, "y", y, n, "a.numel"));
    /* y may be a or b exactly (each element is read before it is written); a partial
     * overlap would feed outputs back as inputs. */
    if (y->data != a->data) BK_TRY(bk_check_disjoint(be, op, "y", y, "a", a));
    if (y->data != b->data) BK_TRY(bk_check_disjoint(be, op, "y", y, "b", b));
    return BALDRO_OK;
}

int bk_check_scale(baldro_backend *be, const baldro_tensor *x) {
    return bk_check_tensor(be, "scale", "x", x, BALDRO_DT_F32, 0);
}

int bk_check_sumsq(baldro_backend *be, const baldro_tensor *x, const double *out) {
    BK_TRY(bk_check_tensor(be, "sumsq", "x", x, BALDRO_DT_F32, 0));
    if (!out) return bk_fail(be, BALDRO_EINVAL, "sumsq: out is NULL");
    return BALDRO_OK;
}

/* ---- linear ------------------------------------------------------------------------- */

int bk_check_linear_fwd(baldro_backend *be, const baldro_tensor *y, const baldro_tensor *x,
                        const baldro_tensor *w, const baldro_tensor *b) {
    const char *op = "linear_fwd";
    BK_TRY(bk_check_tensor(be, op, "x", x, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "w", w, BALDRO_DT_F32, 2));
    BK_TRY(bk_check_tensor(be, op, "y", y, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_dim(be, op, "w", w, 1, "x", x, -1));
    BK_TRY(bk_check_dim(be, op, "y", y, -1, "w", w, 0));
    BK_TRY(bk_check_rows(be, op, "y", y, "x", x));
    if (b) {
        BK_TRY(bk_check_tensor(be, op, "b", b, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_numel(be, op, "b", b, w->shape[0], "w.shape[0]"));
    }
    /* A GEMM cannot write y while reading x or w from the same memory. */
    BK_TRY(bk_check_disjoint(be, op, "y", y, "x", x));
    BK_TRY(bk_check_disjoint(be, op, "y", y, "w", w));
    return BALDRO_OK;
}

int bk_check_linear_bwd(baldro_backend *be, const baldro_tensor *dx, const baldro_tensor *dw,
                        const baldro_tensor *db, const baldro_tensor *dy, const baldro_tensor *x,
                        const baldro_tensor *w) {
    const char *op = "linear_bwd";
    BK_TRY(bk_check_tensor(be, op, "dy", dy, BALDRO_DT_F32, 0));
    if (dx) {
        /* dx[N,I] = dy[N,O] w[O,I] */
        BK_TRY(bk_check_tensor(be, op, "dx", dx, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_tensor(be, op, "w", w, BALDRO_DT_F32, 2));
        BK_TRY(bk_check_dim(be, op, "w", w, 0, "dy", dy, -1));
        BK_TRY(bk_check_dim(be, op, "dx", dx, -1, "w", w, 1));
        BK_TRY(bk_check_rows(be, op, "dx", dx, "dy", dy));
        BK_TRY(bk_check_disjoint(be, op, "dx", dx, "dy", dy));
        BK_TRY(bk_check_disjoint(be, op, "dx", dx, "w", w));
    }
    if (dw) {
        /* dw[O,I] += dy[N,O]^T x[N,I] */
        BK_TRY(bk_check_tensor(be, op, "dw", dw, BALDRO_DT_F32, 2));
        BK_TRY(bk_check_tensor(be, op, "x", x, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_dim(be, op, "dw", dw, 0, "dy", dy, -1));
        BK_TRY(bk_check_dim(be, op, "dw", dw, 1, "x", x, -1));
        BK_TRY(bk_check_rows(be, op, "x", x, "dy", dy));
        if (w) {
            BK_TRY(bk_check_tensor(be, op, "w", w, BALDRO_DT_F32, 2));
            BK_TRY(bk_check_dim(be, op, "dw", dw, 1, "w", w, 1));
        }
        BK_TRY(bk_check_disjoint(be, op, "dw", dw, "dy", dy));
        BK_TRY(bk_check_disjoint(be, op, "dw", dw, "x", x));
    }
    if (db) {
        BK_TRY(bk_check_tensor(be, op, "db", db, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_numel(be, op, "db", db, bk_cols(dy), "dy.shape[-1]"));
    }
    return BALDRO_OK;
}

/* ---- embedding ---------------------------------------------------------------------- */

int bk_check_embedding_fwd(baldro_backend *be, const baldro_tensor *out,
                           const baldro_tensor *ids, const baldro_tensor *table) {
    const char *op = "embedding_fwd";
    BK_TRY(bk_check_tensor(be, op, "ids", ids, BALDRO_DT_I32, 0));
    BK_TRY(bk_check_tensor(be, op, "table", table, BALDRO_DT_F32, 2));
    BK_TRY(bk_check_tensor(be, op, "out", out, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_dim(be, op, "out", out, -1, "table", table, 1));
    BK_TRY(bk_check_numel(be, op, "ids", ids, bk_rows(out), "rows of out"));
    return bk_check_disjoint(be, op, "out", out, "table", table);
}

int bk_check_embedding_bwd(baldro_backend *be, const baldro_tensor *dtable,
                           const baldro_tensor *dout, const baldro_tensor *ids) {
    const char *op = "embedding_bwd";
    BK_TRY(bk_check_tensor(be, op, "dtable", dtable, BALDRO_DT_F32, 2));
    BK_TRY(bk_check_tensor(be, op, "dout", dout, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "ids", ids, BALDRO_DT_I32, 0));
    BK_TRY(bk_check_dim(be, op, "dout", dout, -1, "dtable", dtable, 1));
    BK_TRY(bk_check_numel(be, op, "ids", ids, bk_rows(dout), "rows of dout"));
    return bk_check_disjoint(be, op, "dtable", dtable, "dout", dout);
}

int bk_check_gather_rows(baldro_backend *be, const baldro_tensor *out, const baldro_tensor *x,
                         const baldro_tensor *idx) {
    const char *op = "gather_rows";
    BK_TRY(bk_check_tensor(be, op, "x", x, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "idx", idx, BALDRO_DT_I32, 0));
    BK_TRY(bk_check_tensor(be, op, "out", out, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_dim(be, op, "out", out, -1, "x", x, -1));
    BK_TRY(bk_check_numel(be, op, "idx", idx, bk_rows(out), "rows of out"));
    return bk_check_disjoint(be, op, "out", out, "x", x);
}

/* ---- RMSNorm ------------------------------------------------------------------------ */

/* x[N,C] and w[C] against a [N,C] tensor `y` named yn. */
static int norm_check(baldro_backend *be, const char *op, const char *yn, const baldro_tensor *y,
                      const baldro_tensor *x, const baldro_tensor *w) {
    BK_TRY(bk_check_tensor(be, op, "x", x, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "w", w, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, yn, y, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_numel(be, op, "w", w, bk_cols(x), "x.shape[-1]"));
    BK_TRY(bk_check_dim(be, op, yn, y, -1, "x", x, -1));
    BK_TRY(bk_check_rows(be, op, yn, y, "x", x));
    return BALDRO_OK;
}

int bk_check_rmsnorm_fwd(baldro_backend *be, const baldro_tensor *out, const baldro_tensor *rstd,
                         const baldro_tensor *x, const baldro_tensor *w, float eps) {
    const char *op = "rmsnorm_fwd";
    BK_TRY(norm_check(be, op, "out", out, x, w));
    if (rstd) {
        BK_TRY(bk_check_tensor(be, op, "rstd", rstd, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_numel(be, op, "rstd", rstd, bk_rows(x), "rows of x"));
    }
    if (!(eps >= 0.0f))
        return bk_fail(be, BALDRO_EINVAL, "%s: eps=%g, expected >= 0", op, (double)eps);
    return BALDRO_OK;
}

int bk_check_rmsnorm_bwd(baldro_backend *be, const baldro_tensor *dx, const baldro_tensor *dw,
                         const baldro_tensor *dout, const baldro_tensor *x,
                         const baldro_tensor *w, const baldro_tensor *rstd) {
    const char *op = "rmsnorm_bwd";
    BK_TRY(norm_check(be, op, "dout", dout, x, w));
    if (dx) {
        BK_TRY(bk_check_tensor(be, op, "dx", dx, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_dim(be, op, "dx", dx, -1, "x", x, -1));
        BK_TRY(bk_check_rows(be, op, "dx", dx, "x", x));
    }
    if (dw) {
        BK_TRY(bk_check_tensor(be, op, "dw", dw, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_numel(be, op, "dw", dw, bk_cols(x), "x.shape[-1]"));
    }
    /* The forward's rstd is required: eps is not an argument here to recompute it. */
    BK_TRY(bk_check_tensor(be, op, "rstd", rstd, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_numel(be, op, "rstd", rstd, bk_rows(x), "rows of x"));
    return BALDRO_OK;
}

/* ---- positions ---------------------------------------------------------------------- */

int bk_check_pos0(baldro_backend *be, const char *op, const baldro_tensor *pos0, int64_t B,
                  const char *b_from) {
    if (!pos0) return BALDRO_OK;
    BK_TRY(bk_check_tensor(be, op, "pos0", pos0, BALDRO_DT_I32, 0));
    return bk_check_numel(be, op, "pos0", pos0, B, b_from);
}

int bk_check_rope(baldro_backend *be, const char *op, const char *xn, const baldro_tensor *x,
                  const baldro_tensor *table, const baldro_tensor *pos0) {
    BK_TRY(bk_check_tensor(be, op, xn, x, BALDRO_DT_F32, 4));
    BK_TRY(bk_check_tensor(be, op, "table", table, BALDRO_DT_F32, 2));
    BK_TRY(bk_check_dim(be, op, "table", table, 1, xn, x, 3));
    if (x->shape[3] % 2)
        return bk_fail(be, BALDRO_EINVAL, "%s: %s.shape[3]=%lld, expected an even head dim", op, xn,
                       (long long)x->shape[3]);
    return bk_check_pos0(be, op, pos0, x->shape[0], "x.shape[0]");
}

/* ---- SwiGLU ------------------------------------------------------------------------- */

int bk_check_swiglu_fwd(baldro_backend *be, const baldro_tensor *out, const baldro_tensor *gate,
                        const baldro_tensor *up) {
    const char *op = "swiglu_fwd";
    BK_TRY(bk_check_tensor(be, op, "gate", gate, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "up", up, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "out", out, BALDRO_DT_F32, 0));
    int64_t n = baldro_tensor_numel(gate);
    BK_TRY(bk_check_numel(be, op, "up", up, n, "gate.numel"));
    BK_TRY(bk_check_numel(be, op, "out", out, n, "gate.numel"));
    BK_TRY(bk_check_disjoint(be, op, "out", out, "gate", gate));
    return bk_check_disjoint(be, op, "out", out, "up", up);
}

int bk_check_swiglu_bwd(baldro_backend *be, const baldro_tensor *dgate, const baldro_tensor *dup,
                        const baldro_tensor *dout, const baldro_tensor *gate,
                        const baldro_tensor *up) {
    const char *op = "swiglu_bwd";
    BK_TRY(bk_check_tensor(be, op, "dout", dout, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "gate", gate, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "up", up, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "dgate", dgate, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "dup", dup, BALDRO_DT_F32, 0));
    int64_t n = baldro_tensor_numel(dout);
    BK_TRY(bk_check_numel(be, op, "gate", gate, n, "dout.numel"));
    BK_TRY(bk_check_numel(be, op, "up", up, n, "dout.numel"));
    BK_TRY(bk_check_numel(be, op, "dgate", dgate, n, "dout.numel"));
    BK_TRY(bk_check_numel(be, op, "dup", dup, n, "dout.numel"));
    /* Permitted aliasing is exact (dgate == gate, dup == up); a partial overlap, or an
     * output over dout, would make results depend on the order of the work. */
    if (dgate->data != gate->data) BK_TRY(bk_check_disjoint(be, op, "dgate", dgate, "gate", gate));
    if (dup->data != up->data) BK_TRY(bk_check_disjoint(be, op, "dup", dup, "up", up));
    BK_TRY(bk_check_disjoint(be, op, "dgate", dgate, "dout", dout));
    BK_TRY(bk_check_disjoint(be, op, "dup", dup, "dout", dout));
    BK_TRY(bk_check_disjoint(be, op, "dgate", dgate, "dup", dup));
    BK_TRY(bk_check_disjoint(be, op, "dgate", dgate, "up", up));
    return bk_check_disjoint(be, op, "dup", dup, "gate", gate);
}

/* ---- attention ---------------------------------------------------------------------- */

/* Shared by forward and backward: q[B,Tq,Hq,D], k and v [B,S,Hkv,D], GQA divisibility,
 * and the workspace size the backend asks for. */
static int att_check_qkv(baldro_backend *be, const char *op, const baldro_tensor *q,
                         const baldro_tensor *k, const baldro_tensor *v, const baldro_tensor *ws) {
    BK_TRY(bk_check_tensor(be, op, "q", q, BALDRO_DT_F32, 4));
    BK_TRY(bk_check_tensor(be, op, "k", k, BALDRO_DT_F32, 4));
    BK_TRY(bk_check_tensor(be, op, "v", v, BALDRO_DT_F32, 4));
    BK_TRY(bk_check_dim(be, op, "k", k, 0, "q", q, 0));
    BK_TRY(bk_check_dim(be, op, "k", k, 3, "q", q, 3));
    for (int i = 0; i < 4; i++) BK_TRY(bk_check_dim(be, op, "v", v, i, "k", k, i));
    int64_t Hq = q->shape[2], Hkv = k->shape[2];
    if (Hkv == 0 || Hq % Hkv)
        return bk_fail(be, BALDRO_EINVAL,
                       "%s: q.shape[2]=%lld query heads is not a multiple of k.shape[2]=%lld", op,
                       (long long)Hq, (long long)Hkv);
    BK_TRY(bk_check_tensor(be, op, "workspace", ws, BALDRO_DT_F32, 0));
    size_t need = be->ops->attention_workspace(be, q->shape[0], q->shape[1], k->shape[1], Hq,
                                               Hkv, q->shape[3]);
    if (baldro_tensor_bytes(ws) < need)
        return bk_fail(be, BALDRO_EINVAL, "%s: workspace has %zu bytes but needs %zu", op,
                       baldro_tensor_bytes(ws), need);
    return BALDRO_OK;
}

/* Same shape as `ref` in every dim, else the first mismatching dim is named. */
static int att_same_shape(baldro_backend *be, const char *op, const char *an,
                          const baldro_tensor *a, const char *refn, const baldro_tensor *ref) {
    BK_TRY(bk_check_tensor(be, op, an, a, BALDRO_DT_F32, 4));
    for (int i = 0; i < 4; i++) BK_TRY(bk_check_dim(be, op, an, a, i, refn, ref, i));
    return BALDRO_OK;
}

int bk_check_attention_fwd(baldro_backend *be, const baldro_tensor *out,
                           const baldro_tensor *lse, const baldro_tensor *q,
                           const baldro_tensor *k, const baldro_tensor *v,
                           const baldro_tensor *pos0, const baldro_tensor *workspace) {
    const char *op = "attention_fwd";
    BK_TRY(att_check_qkv(be, op, q, k, v, workspace));
    BK_TRY(att_same_shape(be, op, "out", out, "q", q));
    const int64_t B = q->shape[0], Tq = q->shape[1], Hq = q->shape[2];
    if (lse) {
        BK_TRY(bk_check_tensor(be, op, "lse", lse, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_numel(be, op, "lse", lse, B * Hq * Tq, "B*Hq*Tq"));
    }
    return bk_check_pos0(be, op, pos0, B, "q.shape[0]");
}

int bk_check_attention_fwd_overlap(baldro_backend *be, const baldro_tensor *out,
                                   const baldro_tensor *q, const baldro_tensor *k,
                                   const baldro_tensor *v, const baldro_tensor *workspace) {
    const char *op = "attention_fwd";
    BK_TRY(bk_check_disjoint(be, op, "out", out, "q", q));
    BK_TRY(bk_check_disjoint(be, op, "out", out, "k", k));
    BK_TRY(bk_check_disjoint(be, op, "out", out, "v", v));
    return bk_check_disjoint(be, op, "out", out, "workspace", workspace);
}

int bk_check_attention_bwd(baldro_backend *be, const baldro_tensor *dq, const baldro_tensor *dk,
                           const baldro_tensor *dv, const baldro_tensor *dout,
                           const baldro_tensor *q, const baldro_tensor *k, const baldro_tensor *v,
                           const baldro_tensor *out, const baldro_tensor *lse,
                           const baldro_tensor *workspace) {
    const char *op = "attention_bwd";
    BK_TRY(att_check_qkv(be, op, q, k, v, workspace));
    /* Training form only: the keys are this pass's (S = T) and positions start at 0. */
    BK_TRY(bk_check_dim(be, op, "k", k, 1, "q", q, 1));
    BK_TRY(att_same_shape(be, op, "dout", dout, "q", q));
    BK_TRY(att_same_shape(be, op, "out", out, "q", q));
    BK_TRY(att_same_shape(be, op, "dq", dq, "q", q));
    BK_TRY(att_same_shape(be, op, "dk", dk, "k", k));
    BK_TRY(att_same_shape(be, op, "dv", dv, "k", k));
    const int64_t B = q->shape[0], T = q->shape[1], Hq = q->shape[2];
    BK_TRY(bk_check_tensor(be, op, "lse", lse, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_numel(be, op, "lse", lse, B * Hq * T, "B*Hq*T"));
    /* Outputs are written while inputs are still read: no output may share memory with
     * an input, another output or the workspace. */
    const baldro_tensor *ins[] = {dout, q, k, v, out, lse, workspace};
    const char *in_names[] = {"dout", "q", "k", "v", "out", "lse", "workspace"};
    const baldro_tensor *outs[] = {dq, dk, dv};
    const char *out_names[] = {"dq", "dk", "dv"};
    for (int o = 0; o < 3; o++) {
        for (int i = 0; i < 7; i++)
            BK_TRY(bk_check_disjoint(be, op, out_names[o], outs[o], in_names[i], ins[i]));
        for (int o2 = o + 1; o2 < 3; o2++)
            BK_TRY(bk_check_disjoint(be, op, out_names[o], outs[o], out_names[o2], outs[o2]));
    }
    return BALDRO_OK;
}

int bk_check_kv_append(baldro_backend *be, const baldro_tensor *cache, const baldro_tensor *x,
                       const baldro_tensor *pos0) {
    const char *op = "kv_append";
    BK_TRY(bk_check_tensor(be, op, "cache", cache, BALDRO_DT_F32, 4));
    BK_TRY(bk_check_tensor(be, op, "x", x, BALDRO_DT_F32, 4));
    BK_TRY(bk_check_dim(be, op, "x", x, 0, "cache", cache, 0));
    BK_TRY(bk_check_dim(be, op, "x", x, 2, "cache", cache, 2));
    BK_TRY(bk_check_dim(be, op, "x", x, 3, "cache", cache, 3));
    return bk_check_pos0(be, op, pos0, x->shape[0], "x.shape[0]");
}

/* ---- logits ------------------------------------------------------------------------- */

int bk_check_logsoftmax_gather_fwd(baldro_backend *be, const baldro_tensor *logp,
                                   const baldro_tensor *lse, const baldro_tensor *logits,
                                   const baldro_tensor *targets) {
    const char *op = "logsoftmax_gather_fwd";
    BK_TRY(bk_check_tensor(be, op, "logits", logits, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "targets", targets, BALDRO_DT_I32, 0));
    BK_TRY(bk_check_tensor(be, op, "logp", logp, BALDRO_DT_F32, 0));
    const int64_t N = bk_rows(logits);
    BK_TRY(bk_check_numel(be, op, "targets", targets, N, "rows of logits"));
    BK_TRY(bk_check_numel(be, op, "logp", logp, N, "rows of logits"));
    if (lse) {
        BK_TRY(bk_check_tensor(be, op, "lse", lse, BALDRO_DT_F32, 0));
        BK_TRY(bk_check_numel(be, op, "lse", lse, N, "rows of logits"));
    }
    return BALDRO_OK;
}

int bk_check_logsoftmax_gather_bwd(baldro_backend *be, const baldro_tensor *logits,
                                   const baldro_tensor *lse, const baldro_tensor *targets,
                                   const baldro_tensor *dlogp) {
    const char *op = "logsoftmax_gather_bwd";
    BK_TRY(bk_check_tensor(be, op, "logits", logits, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "lse", lse, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "targets", targets, BALDRO_DT_I32, 0));
    BK_TRY(bk_check_tensor(be, op, "dlogp", dlogp, BALDRO_DT_F32, 0));
    const int64_t N = bk_rows(logits);
    BK_TRY(bk_check_numel(be, op, "lse", lse, N, "rows of logits"));
    BK_TRY(bk_check_numel(be, op, "targets", targets, N, "rows of logits"));
    BK_TRY(bk_check_numel(be, op, "dlogp", dlogp, N, "rows of logits"));
    BK_TRY(bk_check_disjoint(be, op, "logits", logits, "lse", lse));
    return bk_check_disjoint(be, op, "logits", logits, "dlogp", dlogp);
}

int bk_check_argmax(baldro_backend *be, const baldro_tensor *ids, const baldro_tensor *logits) {
    const char *op = "argmax";
    BK_TRY(bk_check_tensor(be, op, "logits", logits, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "ids", ids, BALDRO_DT_I32, 0));
    BK_TRY(bk_check_numel(be, op, "ids", ids, bk_rows(logits), "rows of logits"));
    if (bk_cols(logits) == 0)
        return bk_fail(be, BALDRO_EINVAL, "%s: logits rows are empty (V=0)", op);
    return BALDRO_OK;
}

/* ---- AdamW -------------------------------------------------------------------------- */

int bk_check_adamw(baldro_backend *be, const baldro_tensor *param, const baldro_tensor *grad,
                   const baldro_tensor *m, const baldro_tensor *v, const baldro_adamw_args *a) {
    const char *op = "adamw";
    if (!a) return bk_fail(be, BALDRO_EINVAL, "%s: args is NULL", op);
    if (a->struct_size < sizeof(baldro_adamw_args))
        return bk_fail(be, BALDRO_EINVAL, "%s: args.struct_size=%u, expected >= %zu", op,
                       a->struct_size, sizeof(baldro_adamw_args));
    BK_TRY(bk_check_tensor(be, op, "grad", grad, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "param", param, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "m", m, BALDRO_DT_F32, 0));
    BK_TRY(bk_check_tensor(be, op, "v", v, BALDRO_DT_F32, 0));
    int64_t n = baldro_tensor_numel(grad);
    BK_TRY(bk_check_numel(be, op, "param", param, n, "grad.numel"));
    BK_TRY(bk_check_numel(be, op, "m", m, n, "grad.numel"));
    BK_TRY(bk_check_numel(be, op, "v", v, n, "grad.numel"));
    if (!(a->bias_correction1 > 0.0f && a->bias_correction1 <= 1.0f) ||
        !(a->bias_correction2 > 0.0f && a->bias_correction2 <= 1.0f))
        return bk_fail(be, BALDRO_EINVAL,
                       "%s: bias_correction1=%g, bias_correction2=%g, expected in (0, 1]", op,
                       (double)a->bias_correction1, (double)a->bias_correction2);
    if (!(a->eps >= 0.0f) || !isfinite(a->lr) || !isfinite(a->weight_decay) ||
        !(a->beta1 >= 0.0f && a->beta1 < 1.0f) || !(a->beta2 >= 0.0f && a->beta2 < 1.0f))
        return bk_fail(be, BALDRO_EINVAL,
                       "%s: lr=%g beta1=%g beta2=%g eps=%g weight_decay=%g out of range", op,
                       (double)a->lr, (double)a->beta1, (double)a->beta2, (double)a->eps,
                       (double)a->weight_decay);
    const baldro_tensor *all[] = {param, grad, m, v};
    const char *names[] = {"param", "grad", "m", "v"};
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            BK_TRY(bk_check_disjoint(be, op, names[i], all[i], names[j], all[j]));
    return BALDRO_OK;
}
