/*
 * baldro/ops.h: the backend-neutral ops table.
 *
 * Model plugins bring no kernels. The host hands them a backend (an opaque handle) and
 * this table of operations, implemented once per backend (core/backend/cpu with a
 * BLAS; core/backend/cuda with cuBLAS). A plugin that composes its network from these
 * ops runs unchanged on every backend.
 *
 * Conventions, for every op:
 *  - Returns BALDRO_OK or a baldro_status; on failure `last_error(be)` says which op,
 *    which argument and why ("linear_fwd: w.shape[1]=64 but x.shape[1]=32"). Ops check
 *    the dtypes and shapes of their arguments before touching memory.
 *  - Tensors are contiguous row-major views (tensor.h). Shapes are written [B, T, H, D]
 *    with N = B*T rows where the op does not care about the split. Activations and
 *    parameters have dtype `ops->act_dtype` (F32 on cpu); index tensors are I32.
 *  - Gradients of parameters are ACCUMULATED (+=), so micro-batches add up. Gradients
 *    of activations are written (=) unless the op takes an `accumulate` flag and it is
 *    set, in which case they are added (+=): this is how residual branches merge
 *    without an extra pass.
 *  - Memory: `alloc` is meant to be called a handful of times, at set-up (one block for
 *    a model's parameters, gradients and activations; one for the optimizer state).
 *    Nothing is allocated by the ops themselves: ops that need scratch space take a
 *    `workspace` tensor whose size the caller asked for when planning.
 *  - Ops may run asynchronously on a device backend; `download` synchronises.
 */
#ifndef BALDRO_OPS_H
#define BALDRO_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct baldro_backend baldro_backend; /* opaque, owned by the host */

/* Rotary position embedding. The table the backend builds from this has shape
 * [max_positions, head_dim]: row p holds cos(p * f_i) in columns [0, D/2) and
 * sin(p * f_i) in [D/2, D), for the D/2 frequencies f_i = theta^(-2i/D) after scaling. */
typedef enum baldro_rope_scaling {
    BALDRO_ROPE_NONE = 0,   /* "default" or absent                                   */
    BALDRO_ROPE_LINEAR = 1, /* frequencies divided by factor (HF's inv_freq / factor)  */
    BALDRO_ROPE_LLAMA3 = 2, /* Llama-3.1: low/high-frequency bands, smooth between    */
} baldro_rope_scaling;

typedef struct baldro_rope_params {
    uint32_t struct_size;
    int32_t head_dim;          /* D, even; the whole head is rotated                 */
    int32_t max_positions;     /* rows of the table                                  */
    int32_t interleaved;       /* 0: HF rotate-half, pairs (i, i + D/2);              */
                               /* 1: llama2.c, pairs (2i, 2i + 1)                     */
    int32_t scaling;           /* baldro_rope_scaling                                 */
    double theta;              /* rope_theta (base)                                   */
    double factor;             /* LINEAR, LLAMA3                                      */
    double low_freq_factor;    /* LLAMA3                                              */
    double high_freq_factor;   /* LLAMA3                                              */
    int32_t original_max_positions; /* LLAMA3: original_max_position_embeddings     */
} baldro_rope_params;

/* One AdamW update, HF/PyTorch semantics (torch.optim.AdamW):
 *   p -= lr * weight_decay * p                    (decoupled decay, before the moments)
 *   m  = m + (1 - beta1) (g - m)   (torch's lerp_) ;  v = beta2 v + (1 - beta2) g^2
 *   p -= (lr / bias_correction1) * m / (sqrt(v) / sqrt(bias_correction2) + eps)
 * with bias_correctionK = 1 - betaK^step computed by the caller. */
typedef struct baldro_adamw_args {
    uint32_t struct_size;
    float lr, beta1, beta2, eps, weight_decay;
    float bias_correction1, bias_correction2;
} baldro_adamw_args;

typedef struct baldro_ops {
    uint32_t struct_size;
    const char *name;  /* "cpu", "cuda"                                                */
    int32_t act_dtype; /* dtype of parameters and activations on this backend         */
    const char *(*last_error)(baldro_backend *be);

    /* ---- memory ---------------------------------------------------------------- */
    /* One zeroed block of `bytes`, 64-byte aligned, counted in the backend's plan.   */
    int (*alloc)(baldro_backend *be, size_t bytes, void **out);
    void (*free)(baldro_backend *be, void *p);
    /* Host <-> backend copies of raw bytes; download waits for pending work.         */
    int (*upload)(baldro_backend *be, void *dst, const void *src, size_t bytes);
    int (*download)(baldro_backend *be, void *dst, const void *src, size_t bytes);
    /* x[...] = value (F32 or I32 tensors).                                            */
    int (*fill)(baldro_backend *be, baldro_tensor *x, float value);
    /* y = x, same numel and dtype (shapes may differ).                                */
    int (*copy)(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x);
    /* y = a + b, elementwise, same shapes; y may alias a or b.                        */
    int (*add)(baldro_backend *be, baldro_tensor *y, const baldro_tensor *a,
               const baldro_tensor *b);
    /* x *= s.                                                                         */
    int (*scale)(baldro_backend *be, baldro_tensor *x, float s);
    /* *out = sum of x^2, accumulated in double (gradient-norm clipping).              */
    int (*sumsq)(baldro_backend *be, const baldro_tensor *x, double *out);

    /* ---- dense layers ---------------------------------------------------------- */
    /* y[N,O] (= or +=) x[N,I] . w[O,I]^T (+ b[O]); b may be NULL.                     */
    int (*linear_fwd)(baldro_backend *be, baldro_tensor *y, const baldro_tensor *x,
                      const baldro_tensor *w, const baldro_tensor *b, int accumulate);
    /* dx[N,I] (= or +=) dy[N,O] . w[O,I];  dw[O,I] += dy^T . x;  db[O] += sum_n dy.
     * Any of dx, dw, db may be NULL (not wanted).                                     */
    int (*linear_bwd)(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw,
                      baldro_tensor *db, const baldro_tensor *dy, const baldro_tensor *x,
                      const baldro_tensor *w, int accumulate_dx);

    /* ---- embedding ------------------------------------------------------------- */
    /* out[N,C] = table[ids[n], :]; ids[N] I32, each in [0, V) (checked).              */
    int (*embedding_fwd)(baldro_backend *be, baldro_tensor *out, const baldro_tensor *ids,
                         const baldro_tensor *table);
    /* dtable[V,C] += scatter of dout[N,C] by ids.                                     */
    int (*embedding_bwd)(baldro_backend *be, baldro_tensor *dtable, const baldro_tensor *dout,
                         const baldro_tensor *ids);
    /* out[M,C] = x[idx[m], :]; idx[M] I32 in [0, N). Row selection, e.g. the last
     * prompt position of each sequence before the LM head.                            */
    int (*gather_rows)(baldro_backend *be, baldro_tensor *out, const baldro_tensor *x,
                       const baldro_tensor *idx);

    /* ---- RMSNorm (Llama: y = w * x / sqrt(mean(x^2) + eps), computed in fp32) ------- */
    /* out[N,C], rstd[N] saved for backward (may be NULL when not training).           */
    int (*rmsnorm_fwd)(baldro_backend *be, baldro_tensor *out, baldro_tensor *rstd,
                       const baldro_tensor *x, const baldro_tensor *w, float eps);
    /* dx[N,C] (= or +=); dw[C] +=.                                                    */
    int (*rmsnorm_bwd)(baldro_backend *be, baldro_tensor *dx, baldro_tensor *dw,
                       const baldro_tensor *dout, const baldro_tensor *x,
                       const baldro_tensor *w, const baldro_tensor *rstd, int accumulate_dx);

    /* ---- rotary embedding ------------------------------------------------------ */
    /* Builds table[max_positions, head_dim] (see baldro_rope_params).                 */
    int (*rope_table)(baldro_backend *be, baldro_tensor *table, const baldro_rope_params *p);
    /* In place on x[B,T,H,D]: the element at (b, t) sits at position pos0[b] + t
     * (pos0[B] I32; NULL means 0 for every row). interleaved as in the params.       */
    int (*rope_fwd)(baldro_backend *be, baldro_tensor *x, const baldro_tensor *table,
                    const baldro_tensor *pos0, int interleaved);
    /* The inverse rotation, in place on the gradient dx[B,T,H,D].                     */
    int (*rope_bwd)(baldro_backend *be, baldro_tensor *dx, const baldro_tensor *table,
                    const baldro_tensor *pos0, int interleaved);

    /* ---- SwiGLU MLP activation: out = silu(gate) * up ---------------------------- */
    int (*swiglu_fwd)(baldro_backend *be, baldro_tensor *out, const baldro_tensor *gate,
                      const baldro_tensor *up);
    /* dgate, dup (=) from dout; dgate may alias gate and dup may alias up.            */
    int (*swiglu_bwd)(baldro_backend *be, baldro_tensor *dgate, baldro_tensor *dup,
                      const baldro_tensor *dout, const baldro_tensor *gate,
                      const baldro_tensor *up);

    /* ---- causal attention with grouped-query heads ------------------------------- */
    /* Bytes of workspace attention_fwd/bwd need for these sizes.                      */
    size_t (*attention_workspace)(baldro_backend *be, int64_t B, int64_t Tq, int64_t S,
                                  int64_t Hq, int64_t Hkv, int64_t D);
    /* q[B,Tq,Hq,D]; k, v [B,S,Hkv,D] (S >= Tq: a KV cache or the keys of this pass);
     * query i of row b sits at position p = pos0[b] + i (pos0 NULL: 0) and attends the
     * keys j <= p. Query head h reads kv head h / (Hq / Hkv). Scores are scaled by
     * `scale`. out[B,Tq,Hq,D]; lse[B,Hq,Tq] (log-sum-exp of each score row, saved for
     * backward; may be NULL). workspace: attention_workspace bytes (F32 1-D tensor).  */
    int (*attention_fwd)(baldro_backend *be, baldro_tensor *out, baldro_tensor *lse,
                         const baldro_tensor *q, const baldro_tensor *k,
                         const baldro_tensor *v, const baldro_tensor *pos0, float scale,
                         baldro_tensor *workspace);
    /* Training form (pos0 = 0, S = T): dq[B,T,Hq,D], dk, dv [B,T,Hkv,D] written (=),
     * from dout and the forward's q, k, v, out and lse.                               */
    int (*attention_bwd)(baldro_backend *be, baldro_tensor *dq, baldro_tensor *dk,
                         baldro_tensor *dv, const baldro_tensor *dout,
                         const baldro_tensor *q, const baldro_tensor *k,
                         const baldro_tensor *v, const baldro_tensor *out,
                         const baldro_tensor *lse, float scale, baldro_tensor *workspace);
    /* KV cache write: cache[b, pos0[b] + i, :, :] = x[b, i, :, :] for x[B,Tq,H,D] into
     * cache[B,S,H,D]; fails if a position reaches S.                                  */
    int (*kv_append)(baldro_backend *be, baldro_tensor *cache, const baldro_tensor *x,
                     const baldro_tensor *pos0);

    /* ---- output: fused log-softmax + target gather ------------------------------- */
    /* logits[N,V], targets[N] I32 (< 0: ignored, logp = 0). logp[N] = log softmax of
     * the row at the target; lse[N] saved. No probability tensor is kept.             */
    int (*logsoftmax_gather_fwd)(baldro_backend *be, baldro_tensor *logp, baldro_tensor *lse,
                                 const baldro_tensor *logits, const baldro_tensor *targets);
    /* In place: logits[N,V] becomes d loss / d logits =
     * dlogp[n] * (onehot(target) - softmax(row)); ignored rows become 0.             */
    int (*logsoftmax_gather_bwd)(baldro_backend *be, baldro_tensor *logits,
                                 const baldro_tensor *lse, const baldro_tensor *targets,
                                 const baldro_tensor *dlogp);
    /* ids[M] I32 = argmax of each row of logits[M,V] (lowest index on ties).          */
    int (*argmax)(baldro_backend *be, baldro_tensor *ids, const baldro_tensor *logits);

    /* ---- optimizer ------------------------------------------------------------- */
    /* In place on param, m, v (same shape as grad); see baldro_adamw_args.           */
    int (*adamw)(baldro_backend *be, baldro_tensor *param, const baldro_tensor *grad,
                 baldro_tensor *m, baldro_tensor *v, const baldro_adamw_args *a);
} baldro_ops;

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_OPS_H */
