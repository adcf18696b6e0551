/*
 * core/backend/cpu/cpu_embed.c: embedding lookup, its scatter-add backward, and row
 * gather.
 *
 * Shapes: ids[N] I32 (any shape with N elements), table[V,C], out[N,C] (leading dims
 * flatten to N rows). Index values are checked against their range before any write.
 */
#include <omp.h>

#include "backend/cpu/cpu_internal.h"

/* Every ids[n] in [0, limit), else "op: name[n]=X is out of range [0, limit)". */
static int cpu_check_index_range(baldro_backend *be, const char *op, const char *name,
                                 const baldro_tensor *ids, int64_t limit) {
    const int32_t *p = ids->data;
    int64_t n = baldro_tensor_numel(ids);
    for (int64_t i = 0; i < n; i++)
        if (p[i] < 0 || p[i] >= limit)
            return bk_fail(be, BALDRO_EINVAL, "%s: %s[%lld]=%d is out of range [0, %lld)", op, name,
                           (long long)i, (int)p[i], (long long)limit);
    return BALDRO_OK;
}

/* out[m, :] = src[idx[m], :] for m < M, rows of C floats. */
static void cpu_copy_rows(baldro_backend *be, float *out, const float *src, const int32_t *idx,
                          int64_t M, int64_t C) {
#pragma omp parallel for num_threads(be->threads) if (M * C > 4 * CPU_PAR_MIN) schedule(static)
    for (int64_t m = 0; m < M; m++)
        memcpy(out + m * C, src + (int64_t)idx[m] * C, (size_t)C * sizeof(float));
}

int cpu_embedding_fwd(baldro_backend *be, baldro_tensor *out, const baldro_tensor *ids,
                      const baldro_tensor *table) {
    const char *op = "embedding_fwd";
    BK_TRY(bk_check_embedding_fwd(be, out, ids, table));
    BK_TRY(cpu_check_index_range(be, op, "ids", ids, table->shape[0]));
    cpu_copy_rows(be, out->data, table->data, ids->data, bk_rows(out), table->shape[1]);
    return BALDRO_OK;
}

int cpu_embedding_bwd(baldro_backend *be, baldro_tensor *dtable, const baldro_tensor *dout,
                      const baldro_tensor *ids) {
    const char *op = "embedding_bwd";
    BK_TRY(bk_check_embedding_bwd(be, dtable, dout, ids));
    BK_TRY(cpu_check_index_range(be, op, "ids", ids, dtable->shape[0]));
    int64_t N = bk_rows(dout), C = dtable->shape[1];
    const int32_t *id = ids->data;
    const float *g = dout->data;
    float *dt = dtable->data;
    /* Repeated ids make rows collide, so threads split the columns instead of the rows:
     * each owns a column range of every table row and walks all N ids in order. No
     * races, and the sum order (n ascending) is the same for any thread count. */
    int nt = N * C > 4 * CPU_PAR_MIN && C >= 64 ? be->threads : 1;
    if (nt > C / 16) nt = C / 16 > 0 ? (int)(C / 16) : 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        /* Ranges of 16 columns (one 64-byte line) so no two threads share a line. */
        int64_t nb = (C + 15) / 16;
        int64_t c0 = nb * t / T * 16, c1 = nb * (t + 1) / T * 16;
        if (c1 > C) c1 = C;
        for (int64_t n = 0; n < N; n++) {
            float *restrict dst = dt + (int64_t)id[n] * C;
            const float *restrict src = g + n * C;
#pragma omp simd
            for (int64_t c = c0; c < c1; c++) dst[c] += src[c];
        }
    }
    return BALDRO_OK;
}

int cpu_gather_rows(baldro_backend *be, baldro_tensor *out, const baldro_tensor *x,
                    const baldro_tensor *idx) {
    const char *op = "gather_rows";
    BK_TRY(bk_check_gather_rows(be, out, x, idx));
    BK_TRY(cpu_check_index_range(be, op, "idx", idx, bk_rows(x)));
    cpu_copy_rows(be, out->data, x->data, idx->data, bk_rows(out), bk_cols(x));
    return BALDRO_OK;
}
