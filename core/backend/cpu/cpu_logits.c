/*
 * core/backend/cpu/cpu_logits.c: the LM-head end of the network: fused log-softmax +
 * target gather (forward and in-place backward) and greedy argmax.
 *
 * Shapes: logits [N,V] (leading dims flatten to N rows), targets [N] I32 (< 0:
 * ignored), logp, lse, dlogp [N] F32, ids [M] I32. Rows of V up to ~128k floats: the
 * exp loops are what make this fast (vectorised cpu_expf, AVX2 clone).
 */
#include <math.h>
#include <omp.h>

#include "backend/cpu/cpu_internal.h"

/* Rows go parallel when the whole tensor is larger than this many floats. */
#define CPU_LOGITS_PAR_MIN CPU_PAR_MIN

/* log(sum_j exp(x_j)) of one row: max first, then the exps of (x - max) summed in
 * double over eight lanes (vectorises; no single running sum to reassociate). */
CPU_HOT static double cpu_row_lse(const float *restrict x, int64_t V) {
    float mx8[8];
    for (int l = 0; l < 8; l++) mx8[l] = -INFINITY;
    int64_t j = 0;
    for (; j + 8 <= V; j += 8)
        for (int l = 0; l < 8; l++) mx8[l] = x[j + l] > mx8[l] ? x[j + l] : mx8[l];
    float mx = mx8[0];
    for (int l = 1; l < 8; l++) mx = mx8[l] > mx ? mx8[l] : mx;
    for (; j < V; j++) mx = x[j] > mx ? x[j] : mx;
    double acc[8] = {0};
    for (j = 0; j + 8 <= V; j += 8)
        for (int l = 0; l < 8; l++) acc[l] += (double)cpu_expf(x[j + l] - mx);
    for (; j < V; j++) acc[0] += (double)cpu_expf(x[j] - mx);
    double sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    return (double)mx + log(sum);
}

/* Every target < V (negative ones are ignored rows), else the first bad one is named. */
static int cpu_check_targets(baldro_backend *be, const char *op, const baldro_tensor *targets,
                             int64_t V) {
    const int32_t *t = targets->data;
    int64_t n = baldro_tensor_numel(targets);
    for (int64_t i = 0; i < n; i++)
        if (t[i] >= V)
            return bk_fail(be, BALDRO_EINVAL, "%s: targets[%lld]=%d is not < V=%lld", op,
                           (long long)i, (int)t[i], (long long)V);
    return BALDRO_OK;
}

int cpu_logsoftmax_gather_fwd(baldro_backend *be, baldro_tensor *logp, baldro_tensor *lse,
                              const baldro_tensor *logits, const baldro_tensor *targets) {
    const char *op = "logsoftmax_gather_fwd";
    BK_TRY(bk_check_logsoftmax_gather_fwd(be, logp, lse, logits, targets));
    const int64_t N = bk_rows(logits), V = bk_cols(logits);
    BK_TRY(cpu_check_targets(be, op, targets, V));
    const float *x = logits->data;
    const int32_t *t = targets->data;
    float *lp = logp->data, *ls = lse ? lse->data : NULL;
    /* Ignored rows (padding) cost nothing: logp = 0 and lse = 0 without reading them. */
#pragma omp parallel for num_threads(be->threads) if (N * V > CPU_LOGITS_PAR_MIN) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        if (t[n] < 0) {
            lp[n] = 0.0f;
            if (ls) ls[n] = 0.0f;
            continue;
        }
        const float *row = x + n * V;
        double l = cpu_row_lse(row, V);
        lp[n] = (float)((double)row[t[n]] - l);
        if (ls) ls[n] = (float)l;
    }
    return BALDRO_OK;
}

/* row = d * (onehot(target) - exp(row - lse)), in place. The target entry is computed
 * as d * (1 - p) rather than (-d p) + d, which loses digits when p is near 1. */
CPU_HOT static void cpu_lsm_bwd_row(float *restrict row, int64_t V, float lse, float d,
                                    int32_t target) {
    float pt = cpu_expf(row[target] - lse);
#pragma omp simd
    for (int64_t j = 0; j < V; j++) row[j] = -d * cpu_expf(row[j] - lse);
    row[target] = d * (1.0f - pt);
}

int cpu_logsoftmax_gather_bwd(baldro_backend *be, baldro_tensor *logits, const baldro_tensor *lse,
                              const baldro_tensor *targets, const baldro_tensor *dlogp) {
    const char *op = "logsoftmax_gather_bwd";
    BK_TRY(bk_check_logsoftmax_gather_bwd(be, logits, lse, targets, dlogp));
    const int64_t N = bk_rows(logits), V = bk_cols(logits);
    BK_TRY(cpu_check_targets(be, op, targets, V));
    float *x = logits->data;
    const float *ls = lse->data, *d = dlogp->data;
    const int32_t *t = targets->data;
#pragma omp parallel for num_threads(be->threads) if (N * V > CPU_LOGITS_PAR_MIN) schedule(static)
    for (int64_t n = 0; n < N; n++) {
        float *row = x + n * V;
        if (t[n] < 0)
            memset(row, 0, (size_t)V * sizeof(float));
        else
            cpu_lsm_bwd_row(row, V, ls[n], d[n], t[n]);
    }
    return BALDRO_OK;
}

/* Index of the largest entry, lowest on ties: the maximum first (eight lanes, so it
 * vectorises), then the first index that holds it. NaN entries are never chosen; a row
 * of NaN gives 0. */
CPU_HOT static int32_t cpu_row_argmax(const float *restrict x, int64_t V) {
    float mx8[8];
    for (int l = 0; l < 8; l++) mx8[l] = -INFINITY;
    int64_t j = 0;
    for (; j + 8 <= V; j += 8)
        for (int l = 0; l < 8; l++) mx8[l] = x[j + l] > mx8[l] ? x[j + l] : mx8[l];
    float mx = mx8[0];
    for (int l = 1; l < 8; l++) mx = mx8[l] > mx ? mx8[l] : mx;
    for (; j < V; j++) mx = x[j] > mx ? x[j] : mx;
    for (j = 0; j < V; j++)
        if (x[j] == mx) return (int32_t)j;
    return 0;
}

int cpu_argmax(baldro_backend *be, baldro_tensor *ids, const baldro_tensor *logits) {
    BK_TRY(bk_check_argmax(be, ids, logits));
    const int64_t M = bk_rows(logits), V = bk_cols(logits);
    const float *x = logits->data;
    int32_t *out = ids->data;
#pragma omp parallel for num_threads(be->threads) if (M * V > CPU_LOGITS_PAR_MIN) schedule(static)
    for (int64_t m = 0; m < M; m++) out[m] = cpu_row_argmax(x + m * V, V);
    return BALDRO_OK;
}
