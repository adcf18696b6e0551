/*
 * core/backend/cpu/cpu_rope.c: rotary position embedding: the cos/sin table and the
 * in-place rotation (forward) and its inverse (backward).
 *
 * The table itself is built by core/backend/backend_rope.c, shared with the other
 * backends.
 *
 * Shapes: table[P, D] (cols [0, D/2) cos, [D/2, D) sin of frequency i); x[B,T,H,D];
 * pos0[B] I32 or NULL.
 */
#include <math.h>
#include <omp.h>

#include "backend/cpu/cpu_internal.h"

int cpu_rope_table(baldro_backend *be, baldro_tensor *table, const baldro_rope_params *p) {
    BK_TRY(bk_rope_table_check(be, table, p));
    bk_rope_table_fill(p, table->data, be->threads);
    return BALDRO_OK;
}

/* Rotates every head of one [H, D] slab by the angles of table row `c` (cos) / `s`
 * (sin). sgn = +1: forward; -1: the inverse rotation (backward). */
static void cpu_rope_row(float *restrict x, const float *restrict c, const float *restrict s,
                         int64_t H, int64_t D, float sgn, int interleaved) {
    const int64_t h = D / 2;
    for (int64_t hd = 0; hd < H; hd++, x += D) {
        if (interleaved) {
            /* llama2.c: pairs (2i, 2i+1) with frequency i. */
#pragma omp simd
            for (int64_t i = 0; i < h; i++) {
                float a = x[2 * i], b = x[2 * i + 1], si = sgn * s[i];
                x[2 * i] = a * c[i] - b * si;
                x[2 * i + 1] = b * c[i] + a * si;
            }
        } else {
            /* HF rotate-half: x * cos + rotate_half(x) * sin, pairs (i, i + D/2). */
#pragma omp simd
            for (int64_t i = 0; i < h; i++) {
                float a = x[i], b = x[i + h], si = sgn * s[i];
                x[i] = a * c[i] - b * si;
                x[i + h] = b * c[i] + a * si;
            }
        }
    }
}

static int cpu_rope_apply(baldro_backend *be, const char *op, const char *xn, baldro_tensor *x,
                          const baldro_tensor *table, const baldro_tensor *pos0, int interleaved,
                          float sgn) {
    BK_TRY(bk_check_rope(be, op, xn, x, table, pos0));
    const int64_t B = x->shape[0], T = x->shape[1], H = x->shape[2], D = x->shape[3];
    const int64_t P = table->shape[0];
    const int32_t *p0;
    int64_t bad;
    BK_TRY(cpu_check_pos0(be, op, pos0, B, "x.shape[0]", T, P, &p0, &bad));
    if (bad >= 0) {
        int64_t start = p0 ? p0[bad] : 0;
        return bk_fail(be, BALDRO_EINVAL,
                       "%s: positions %lld..%lld of row %lld are outside the table "
                       "(%lld positions)",
                       op, (long long)start, (long long)(start + T - 1), (long long)bad,
                       (long long)P);
    }
    float *xp = x->data;
    const float *tp = table->data;
#pragma omp parallel for num_threads(be->threads) if (B * T * H * D > CPU_PAR_MIN)                 \
    schedule(static) collapse(2)
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            int64_t pos = (p0 ? p0[b] : 0) + t;
            const float *row = tp + pos * D;
            cpu_rope_row(xp + (b * T + t) * H * D, row, row + D / 2, H, D, sgn, interleaved);
        }
    return BALDRO_OK;
}

int cpu_rope_fwd(baldro_backend *be, baldro_tensor *x, const baldro_tensor *table,
                 const baldro_tensor *pos0, int interleaved) {
    return cpu_rope_apply(be, "rope_fwd", "x", x, table, pos0, interleaved, 1.0f);
}

int cpu_rope_bwd(baldro_backend *be, baldro_tensor *dx, const baldro_tensor *table,
                 const baldro_tensor *pos0, int interleaved) {
    return cpu_rope_apply(be, "rope_bwd", "dx", dx, table, pos0, interleaved, -1.0f);
}
