/*
 * core/backend/cpu/cpu_attention.c: causal grouped-query attention (forward and
 * backward) and the KV-cache write.
 *
 * Shapes: q, out, dout, dq [B,Tq,Hq,D]; k, v [B,S,Hkv,D] (dk, dv [B,T,Hkv,D] in the
 * training form S = Tq = T); lse [B,Hq,Tq]; pos0 [B] I32 or NULL. Query head h reads kv
 * head h / (Hq / Hkv). Query i of row b sits at position pos0[b] + i and attends keys
 * j <= pos0[b] + i.
 *
 * The heads are interleaved in memory ([.., T, H, D]), so every sgemm reads a head in
 * place with leading dimension H*D; nothing is transposed or copied. Queries go in
 * blocks of CPU_ATT_BQ rows, so the scratch per thread is CPU_ATT_BQ x S scores (not
 * T x S), taken from the caller's workspace. The backward is flash-style: it keeps no
 * probabilities from the forward and recomputes them from q, k and the saved lse.
 */
#include <math.h>
#include <omp.h>

#include "backend/cpu/cpu_internal.h"

#define CPU_ATT_BQ 64
/* Below this many multiply-adds (B*Hq*Tq*S*D) a pass runs on one thread. */
#define CPU_ATT_PAR_MIN ((int64_t)1 << 18)

/* Floats of scratch one worker needs: scores and their gradient, [bq, S] each, rounded
 * to a 64-byte line so the slots of different threads never share one. */
static int64_t cpu_att_slot_floats(int64_t Tq, int64_t S, int64_t D) {
    int64_t bq = Tq < CPU_ATT_BQ ? Tq : CPU_ATT_BQ, f = 2 * bq * S;
    if (D <= CPU_ATT_SMALL_D) {
        /* The sgemm-free kernels (small head dims) need whole transposed heads. */
        int64_t fs = cpu_att_small_fwd_floats(S, D), bs = cpu_att_small_bwd_floats(S, D);
        f = f > fs ? f : fs;
        f = f > bs ? f : bs;
    }
    return (f + 15) / 16 * 16;
}

size_t cpu_attention_workspace(baldro_backend *be, int64_t B, int64_t Tq, int64_t S, int64_t Hq,
                               int64_t Hkv, int64_t D) {
    if (!be || B < 0 || Tq < 0 || S < 0 || Hq < 0 || Hkv < 0 || D < 0) return 0;
    return (size_t)be->threads * (size_t)cpu_att_slot_floats(Tq, S, D) * sizeof(float);
}

/* Row of scores [0, lim) -> softmax probabilities in place; [lim, nk) -> 0 (the keys
 * after the query's position). Returns the log-sum-exp; sums in double.
 * (Declared in cpu_internal.h: the small-head kernels use it too.) */
CPU_HOT double cpu_att_softmax_row(float *restrict row, int64_t lim, int64_t nk) {
    float mx8[8];
    for (int l = 0; l < 8; l++) mx8[l] = -INFINITY;
    int64_t j = 0;
    for (; j + 8 <= lim; j += 8)
        for (int l = 0; l < 8; l++) mx8[l] = row[j + l] > mx8[l] ? row[j + l] : mx8[l];
    float mx = mx8[0];
    for (int l = 1; l < 8; l++) mx = mx8[l] > mx ? mx8[l] : mx;
    for (; j < lim; j++) mx = row[j] > mx ? row[j] : mx;
    double acc[8] = {0};
    for (j = 0; j + 8 <= lim; j += 8)
        for (int l = 0; l < 8; l++) {
            float e = cpu_expf(row[j + l] - mx);
            row[j + l] = e;
            acc[l] += (double)e;
        }
    for (; j < lim; j++) {
        float e = cpu_expf(row[j] - mx);
        row[j] = e;
        acc[0] += (double)e;
    }
    double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    /* PyTorch's softmax also multiplies by the reciprocal of the sum. */
    float inv = (float)(1.0 / sum);
#pragma omp simd
    for (j = 0; j < lim; j++) row[j] *= inv;
    for (j = lim; j < nk; j++) row[j] = 0.0f;
    return (double)mx + log(sum);
}

/* Scores -> probabilities from the saved lse: p = exp(s - lse), 0 after position. */
CPU_HOT static void cpu_att_probs_row(float *restrict row, int64_t lim, int64_t nk, float lse) {
#pragma omp simd
    for (int64_t j = 0; j < lim; j++) row[j] = cpu_expf(row[j] - lse);
    for (int64_t j = lim; j < nk; j++) row[j] = 0.0f;
}

/* dS = P * (dP - Di) in place on dP, 0 after position. */
CPU_HOT static void cpu_att_dscore_row(float *restrict dp, const float *restrict p, int64_t lim,
                                       int64_t nk, float di) {
#pragma omp simd
    for (int64_t j = 0; j < lim; j++) dp[j] = p[j] * (dp[j] - di);
    for (int64_t j = lim; j < nk; j++) dp[j] = 0.0f;
}

int cpu_attention_fwd(baldro_backend *be, baldro_tensor *out, baldro_tensor *lse,
                      const baldro_tensor *q, const baldro_tensor *k, const baldro_tensor *v,
                      const baldro_tensor *pos0, float scale, baldro_tensor *workspace) {
    const char *op = "attention_fwd";
    BK_TRY(bk_check_attention_fwd(be, out, lse, q, k, v, pos0, workspace));
    const int64_t B = q->shape[0], Tq = q->shape[1], Hq = q->shape[2], D = q->shape[3];
    const int64_t S = k->shape[1], Hkv = k->shape[2], G = Hq / Hkv;
    const int32_t *p0;
    int64_t bad;
    BK_TRY(cpu_check_pos0(be, op, pos0, B, "q.shape[0]", Tq, S, &p0, &bad));
    if (bad >= 0)
        return bk_fail(be, BALDRO_EINVAL,
                       "%s: pos0[%lld]=%lld with q.shape[1]=%lld reaches past k.shape[1]=%lld",
                       op, (long long)bad, (long long)(p0 ? p0[bad] : 0), (long long)Tq,
                       (long long)S);
    BK_TRY(bk_check_attention_fwd_overlap(be, out, q, k, v, workspace));

    const int64_t bq = Tq < CPU_ATT_BQ ? Tq : CPU_ATT_BQ;
    const int64_t nblk = bq ? (Tq + bq - 1) / bq : 0, items = B * Hq * nblk;
    const int64_t ldq = Hq * D, ldk = Hkv * D, slot = cpu_att_slot_floats(Tq, S, D);
    const float *qp = q->data, *kp = k->data, *vp = v->data;
    float *outp = out->data, *lsep = lse ? lse->data : NULL, *ws = workspace->data;
    int par = B * Hq * Tq * S * D > CPU_ATT_PAR_MIN && items > 1 && be->threads > 1;
    if (D <= CPU_ATT_SMALL_D) {
        cpu_att_small sa = {.q = qp, .k = kp, .v = vp, .out = outp, .lse = lsep, .pos0 = p0,
                            .Tq = Tq, .S = S, .Hq = Hq, .Hkv = Hkv, .D = D, .scale = scale};
        int par_s = par && B * Hq > 1;
#pragma omp parallel for num_threads(be->threads) if (par_s) schedule(dynamic, 1)
        for (int64_t it = 0; it < B * Hq; it++)
            cpu_att_small_fwd_item(&sa, it / Hq, it % Hq,
                                   ws + (int64_t)omp_get_thread_num() * slot);
        return BALDRO_OK;
    }
    /* Every (row, head, query block) is independent; causal blocks differ in cost, so
     * they are handed out dynamically. sgemm runs single-threaded inside the team. */
#pragma omp parallel for num_threads(be->threads) if (par) schedule(dynamic, 1)
    for (int64_t it = 0; it < items; it++) {
        const int64_t b = it / (Hq * nblk), h = it / nblk % Hq, blk = it % nblk;
        const int64_t i0 = blk * bq, m = Tq - i0 < bq ? Tq - i0 : bq;
        const int64_t start = p0 ? p0[b] : 0, nk = start + i0 + m; /* keys needed */
        const float *qb = qp + ((b * Tq + i0) * Hq + h) * D;
        const float *kb = kp + (b * S * Hkv + h / G) * D, *vb = vp + (b * S * Hkv + h / G) * D;
        float *sc = ws + (int64_t)omp_get_thread_num() * slot; /* [m, nk] */
        cpu_sgemm(CblasNoTrans, CblasTrans, m, nk, D, scale, qb, ldq, kb, ldk, 0.0f, sc, nk);
        for (int64_t r = 0; r < m; r++) {
            double l = cpu_att_softmax_row(sc + r * nk, start + i0 + r + 1, nk);
            if (lsep) lsep[(b * Hq + h) * Tq + i0 + r] = (float)l;
        }
        cpu_sgemm(CblasNoTrans, CblasNoTrans, m, D, nk, 1.0f, sc, nk, vb, ldk, 0.0f,
                  outp + ((b * Tq + i0) * Hq + h) * D, ldq);
    }
    return BALDRO_OK;
}

/* The backward of one (row b, kv head) unit: writes dk, dv of that kv head (summing
 * the G query heads that read it) and dq of those query heads. */
typedef struct cpu_att_bwd {
    const float *q, *k, *v, *o, *dout, *lse;
    float *dq, *dk, *dv;
    int64_t T, Hq, Hkv, D, bq;
    float scale;
} cpu_att_bwd;

static void cpu_att_bwd_unit(const cpu_att_bwd *a, int64_t b, int64_t kvh, float *sc) {
    const int64_t T = a->T, Hq = a->Hq, Hkv = a->Hkv, D = a->D, bq = a->bq, G = Hq / Hkv;
    const int64_t ldq = Hq * D, ldk = Hkv * D;
    const float *kb = a->k + (b * T * Hkv + kvh) * D, *vb = a->v + (b * T * Hkv + kvh) * D;
    float *dkb = a->dk + (b * T * Hkv + kvh) * D, *dvb = a->dv + (b * T * Hkv + kvh) * D;
    for (int64_t t = 0; t < T; t++) {
        memset(dkb + t * ldk, 0, (size_t)D * sizeof(float));
        memset(dvb + t * ldk, 0, (size_t)D * sizeof(float));
    }
    for (int64_t h = kvh * G; h < (kvh + 1) * G; h++)
        for (int64_t i0 = 0; i0 < T; i0 += bq) {
            const int64_t m = T - i0 < bq ? T - i0 : bq, nk = i0 + m;
            const int64_t off = ((b * T + i0) * Hq + h) * D;
            const float *qb = a->q + off, *ob = a->o + off, *gb = a->dout + off;
            const float *lb = a->lse + (b * Hq + h) * T + i0;
            float *p = sc, *ds = sc + bq * nk; /* [m, nk] each */
            /* P = exp(scale q k^T - lse), recomputed exactly as the forward's scores. */
            cpu_sgemm(CblasNoTrans, CblasTrans, m, nk, D, a->scale, qb, ldq, kb, ldk, 0.0f, p, nk);
            for (int64_t r = 0; r < m; r++) cpu_att_probs_row(p + r * nk, i0 + r + 1, nk, lb[r]);
            /* dP = dO V^T; dS = P (dP - rowsum(dO * O)). */
            cpu_sgemm(CblasNoTrans, CblasTrans, m, nk, D, 1.0f, gb, ldq, vb, ldk, 0.0f, ds, nk);
            for (int64_t r = 0; r < m; r++) {
                double di = 0.0;
                for (int64_t d = 0; d < D; d++)
                    di += (double)gb[r * ldq + d] * (double)ob[r * ldq + d];
                cpu_att_dscore_row(ds + r * nk, p + r * nk, i0 + r + 1, nk, (float)di);
            }
            /* dV += P^T dO; dQ = scale dS K; dK += scale dS^T Q. */
            cpu_sgemm(CblasTrans, CblasNoTrans, nk, D, m, 1.0f, p, nk, gb, ldq, 1.0f, dvb, ldk);
            cpu_sgemm(CblasNoTrans, CblasNoTrans, m, D, nk, a->scale, ds, nk, kb, ldk, 0.0f,
                      a->dq + off, ldq);
            cpu_sgemm(CblasTrans, CblasNoTrans, nk, D, m, a->scale, ds, nk, qb, ldq, 1.0f, dkb,
                      ldk);
        }
}

int cpu_attention_bwd(baldro_backend *be, baldro_tensor *dq, baldro_tensor *dk, baldro_tensor *dv,
                      const baldro_tensor *dout, const baldro_tensor *q, const baldro_tensor *k,
                      const baldro_tensor *v, const baldro_tensor *out, const baldro_tensor *lse,
                      float scale, baldro_tensor *workspace) {
    BK_TRY(bk_check_attention_bwd(be, dq, dk, dv, dout, q, k, v, out, lse, workspace));
    const int64_t B = q->shape[0], T = q->shape[1], Hq = q->shape[2], D = q->shape[3];
    const int64_t Hkv = k->shape[2];
    cpu_att_bwd a = {.q = q->data,
                     .k = k->data,
                     .v = v->data,
                     .o = out->data,
                     .dout = dout->data,
                     .lse = lse->data,
                     .dq = dq->data,
                     .dk = dk->data,
                     .dv = dv->data,
                     .T = T,
                     .Hq = Hq,
                     .Hkv = Hkv,
                     .D = D,
                     .bq = T < CPU_ATT_BQ ? T : CPU_ATT_BQ,
                     .scale = scale};
    const int64_t units = B * Hkv, slot = cpu_att_slot_floats(T, T, D);
    float *ws = workspace->data;
    if (D <= CPU_ATT_SMALL_D) {
        cpu_att_small sa = {.q = q->data, .k = k->data, .v = v->data, .o = out->data,
                            .dout = dout->data, .lse_in = lse->data, .dq = dq->data,
                            .dk = dk->data, .dv = dv->data, .Tq = T, .S = T, .Hq = Hq,
                            .Hkv = Hkv, .D = D, .scale = scale};
        int par_s = units > 1 && be->threads > 1 && B * Hq * T * T * D > CPU_ATT_PAR_MIN;
#pragma omp parallel for num_threads(be->threads) if (par_s) schedule(dynamic, 1)
        for (int64_t u = 0; u < units; u++)
            cpu_att_small_bwd_unit(&sa, u / Hkv, u % Hkv,
                                   ws + (int64_t)omp_get_thread_num() * slot);
        return BALDRO_OK;
    }
    /* Units own disjoint dk/dv (and dq) slices, so they run in parallel without races.
     * With fewer units than threads, the units go one by one and sgemm uses the
     * threads instead. */
    int par = units >= be->threads && be->threads > 1 && B * Hq * T * T * D > CPU_ATT_PAR_MIN;
#pragma omp parallel for num_threads(be->threads) if (par) schedule(static)
    for (int64_t u = 0; u < units; u++)
        cpu_att_bwd_unit(&a, u / Hkv, u % Hkv, ws + (int64_t)omp_get_thread_num() * slot);
    return BALDRO_OK;
}

int cpu_kv_append(baldro_backend *be, baldro_tensor *cache, const baldro_tensor *x,
                  const baldro_tensor *pos0) {
    const char *op = "kv_append";
    BK_TRY(bk_check_kv_append(be, cache, x, pos0));
    const int64_t B = x->shape[0], Tq = x->shape[1], S = cache->shape[1];
    const int64_t row = x->shape[2] * x->shape[3]; /* floats per position */
    const int32_t *p0;
    int64_t bad;
    BK_TRY(cpu_check_pos0(be, op, pos0, B, "x.shape[0]", Tq, S, &p0, &bad));
    if (bad >= 0) {
        int64_t start = p0 ? p0[bad] : 0;
        return bk_fail(be, BALDRO_EINVAL,
                       "%s: positions %lld..%lld of row %lld do not fit cache.shape[1]=%lld", op,
                       (long long)start, (long long)(start + Tq - 1), (long long)bad,
                       (long long)S);
    }
    float *cp = cache->data;
    const float *xp = x->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t start = p0 ? p0[b] : 0;
        /* The Tq positions of row b are contiguous in both x and the cache. */
        memmove(cp + (b * S + start) * row, xp + b * Tq * row, (size_t)(Tq * row) * sizeof(float));
    }
    return BALDRO_OK;
}
