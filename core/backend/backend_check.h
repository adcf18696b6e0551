/*
 * core/backend/backend_check.h: the argument checks of every op, shared by the backends.
 *
 * Each op of sdk/include/baldro/ops.h checks its tensors (dtype, rank, shapes, overlap)
 * before it touches memory, and every backend must fail the same way with the same
 * one-line message. So the checks live here once, as bk_check_<op>(), and both the CPU
 * backend (core/backend/cpu/) and the CUDA backend (core/backend/cuda/) call them first.
 * What is left in a backend is what only it can check: index values in memory it can
 * read (ids, targets, pos0 on the CPU; the CUDA kernels check those on the device) and its
 * own limits (the CUDA attention kernels' head dim).
 *
 * Each returns BALDRO_OK or fails through bk_fail (backend_internal.h) and returns the
 * code. Argument names match ops.h.
 */
#ifndef BALDRO_BACKEND_CHECK_H
#define BALDRO_BACKEND_CHECK_H

#include "backend/backend_internal.h"

/* ---- elementwise -------------------------------------------------------------------- */
/* x F32, or I32 with an integral value in range ("fill: value %g is not an I32 value"). */
int bk_check_fill(baldro_backend *be, const baldro_tensor *x, float value);
/* x any baldro_dtype, y the same dtype and numel. (Overlap rules are the backend's.) */
int bk_check_copy(baldro_backend *be, const baldro_tensor *y, const baldro_tensor *x);
/* a, b, y F32 with a's numel; y may be a or b exactly but not overlap them partly. */
int bk_check_add(baldro_backend *be, const baldro_tensor *y, const baldro_tensor *a,
                 const baldro_tensor *b);
int bk_check_scale(baldro_backend *be, const baldro_tensor *x);
int bk_check_sumsq(baldro_backend *be, const baldro_tensor *x, const double *out);

/* ---- linear ------------------------------------------------------------------------- */
/* x[N,I] (leading dims flatten), w[O,I], b[O] or NULL, y[N,O]; y disjoint from x and w. */
int bk_check_linear_fwd(baldro_backend *be, const baldro_tensor *y, const baldro_tensor *x,
                        const baldro_tensor *w, const baldro_tensor *b);
/* dy[N,O]; dx[N,I] needs w; dw[O,I] needs x (and w, when given, agrees); db[O]. */
int bk_check_linear_bwd(baldro_backend *be, const baldro_tensor *dx, const baldro_tensor *dw,
                        const baldro_tensor *db, const baldro_tensor *dy, const baldro_tensor *x,
                        const baldro_tensor *w);

/* ---- embedding ---------------------------------------------------------------------- */
/* Shapes only: the values of ids / idx are the backend's to check. */
int bk_check_embedding_fwd(baldro_backend *be, const baldro_tensor *out,
                           const baldro_tensor *ids, const baldro_tensor *table);
int bk_check_embedding_bwd(baldro_backend *be, const baldro_tensor *dtable,
                           const baldro_tensor *dout, const baldro_tensor *ids);
int bk_check_gather_rows(baldro_backend *be, const baldro_tensor *out, const baldro_tensor *x,
                         const baldro_tensor *idx);

/* ---- RMSNorm ------------------------------------------------------------------------ */
int bk_check_rmsnorm_fwd(baldro_backend *be, const baldro_tensor *out, const baldro_tensor *rstd,
                         const baldro_tensor *x, const baldro_tensor *w, float eps);
int bk_check_rmsnorm_bwd(baldro_backend *be, const baldro_tensor *dx, const baldro_tensor *dw,
                         const baldro_tensor *dout, const baldro_tensor *x,
                         const baldro_tensor *w, const baldro_tensor *rstd);

/* ---- positions (rope, attention, kv_append) ----------------------------------------- */
/* pos0 [B] I32 or NULL: dtype and length (B named by b_from). Values are the backend's. */
int bk_check_pos0(baldro_backend *be, const char *op, const baldro_tensor *pos0, int64_t B,
                  const char *b_from);
/* rope_fwd (op "rope_fwd", xn "x") and rope_bwd ("rope_bwd", "dx"): x[B,T,H,D] with D even,
 * table[P,D], pos0 as above. */
int bk_check_rope(baldro_backend *be, const char *op, const char *xn, const baldro_tensor *x,
                  const baldro_tensor *table, const baldro_tensor *pos0);

/* ---- SwiGLU ------------------------------------------------------------------------- */
int bk_check_swiglu_fwd(baldro_backend *be, const baldro_tensor *out, const baldro_tensor *gate,
                        const baldro_tensor *up);
/* dgate may be gate and dup may be up exactly; no other sharing. */
int bk_check_swiglu_bwd(baldro_backend *be, const baldro_tensor *dgate, const baldro_tensor *dup,
                        const baldro_tensor *dout, const baldro_tensor *gate,
                        const baldro_tensor *up);

/* ---- attention ---------------------------------------------------------------------- */
/* q[B,Tq,Hq,D], k, v [B,S,Hkv,D] with Hq a multiple of Hkv, out like q, lse [B*Hq*Tq] or
 * NULL, pos0's dtype and length, and a workspace of at least ops->attention_workspace
 * bytes. The pos0 values come next (the backend's), then bk_check_attention_fwd_overlap. */
int bk_check_attention_fwd(baldro_backend *be, const baldro_tensor *out,
                           const baldro_tensor *lse, const baldro_tensor *q,
                           const baldro_tensor *k, const baldro_tensor *v,
                           const baldro_tensor *pos0, const baldro_tensor *workspace);
int bk_check_attention_fwd_overlap(baldro_backend *be, const baldro_tensor *out,
                                   const baldro_tensor *q, const baldro_tensor *k,
                                   const baldro_tensor *v, const baldro_tensor *workspace);
/* The training form (S = T); no output shares memory with an input or another output. */
int bk_check_attention_bwd(baldro_backend *be, const baldro_tensor *dq, const baldro_tensor *dk,
                           const baldro_tensor *dv, const baldro_tensor *dout,
                           const baldro_tensor *q, const baldro_tensor *k, const baldro_tensor *v,
                           const baldro_tensor *out, const baldro_tensor *lse,
                           const baldro_tensor *workspace);
/* cache[B,S,H,D], x[B,Tq,H,D], pos0's dtype and length. */
int bk_check_kv_append(baldro_backend *be, const baldro_tensor *cache, const baldro_tensor *x,
                       const baldro_tensor *pos0);

/* ---- logits ------------------------------------------------------------------------- */
/* Shapes only: targets' values are the backend's to check. */
int bk_check_logsoftmax_gather_fwd(baldro_backend *be, const baldro_tensor *logp,
                                   const baldro_tensor *lse, const baldro_tensor *logits,
                                   const baldro_tensor *targets);
int bk_check_logsoftmax_gather_bwd(baldro_backend *be, const baldro_tensor *logits,
                                   const baldro_tensor *lse, const baldro_tensor *targets,
                                   const baldro_tensor *dlogp);
int bk_check_argmax(baldro_backend *be, const baldro_tensor *ids, const baldro_tensor *logits);

/* ---- AdamW -------------------------------------------------------------------------- */
/* The args (struct_size, ranges) and four disjoint F32 tensors of grad's numel. */
int bk_check_adamw(baldro_backend *be, const baldro_tensor *param, const baldro_tensor *grad,
                   const baldro_tensor *m, const baldro_tensor *v, const baldro_adamw_args *a);

#endif /* BALDRO_BACKEND_CHECK_H */
