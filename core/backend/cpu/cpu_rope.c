/*
 * core/backend/cpu/cpu_rope.c: rotary position embedding: the cos/sin table and the
 * in-place rotation (forward) and its inverse (backward).
 *
 * The table mirrors Hugging Face transformers, which computes inv_freq and the angles
 * in fp32 even for a float64 model: every step below is the same float operation in
 * the same order, and only cos/sin are evaluated in double (then rounded), so the
 * table is the correctly rounded value of HF's fp32 angle.
 *
 * Shapes: table[P, D] (cols [0, D/2) cos, [D/2, D) sin of frequency i); x[B,T,H,D];
 * pos0[B] I32 or NULL.
 */
#include <math.h>
#include <omp.h>

#include "backend/cpu/cpu_internal.h"

/* HF's _compute_default_rope_parameters, then the scaling's adjustment, all in float. */
static float cpu_inv_freq(const baldro_rope_params *p, int64_t i) {
    const int64_t D = p->head_dim;
    float inv = 1.0f / powf((float)p->theta, (float)(2 * i) / (float)D);
    if (p->scaling == BALDRO_ROPE_LINEAR) return inv / (float)p->factor;
    if (p->scaling != BALDRO_ROPE_LLAMA3) return inv;
    /* _compute_llama3_parameters. The wavelength thresholds are Python floats (double)
     * that PyTorch casts to float when comparing with the float tensor. */
    const double orig = (double)p->original_max_positions;
    const float factor = (float)p->factor, lff = (float)p->low_freq_factor;
    const float low_wl = (float)(orig / p->low_freq_factor);
    const float high_wl = (float)(orig / p->high_freq_factor);
    const float band = (float)(p->high_freq_factor - p->low_freq_factor);
    /* `scalar / tensor` in PyTorch is tensor.reciprocal() * scalar: two roundings. */
    float wavelen = (1.0f / inv) * (float)(2.0 * M_PI);
    float inv_llama = wavelen > low_wl ? inv / factor : inv;
    float smooth = ((1.0f / wavelen) * (float)orig - lff) / band;
    float smoothed = (1.0f - smooth) * inv_llama / factor + smooth * inv_llama;
    int medium = !(wavelen < high_wl) && !(wavelen > low_wl);
    return medium ? smoothed : inv_llama;
}

int cpu_rope_table(baldro_backend *be, baldro_tensor *table, const baldro_rope_params *p) {
    const char *op = "rope_table";
    if (!p) return bk_fail(be, BALDRO_EINVAL, "%s: params is NULL", op);
    if (p->struct_size < sizeof(baldro_rope_params))
        return bk_fail(be, BALDRO_EINVAL, "%s: params.struct_size=%u, expected >= %zu", op,
                       p->struct_size, sizeof(baldro_rope_params));
    if (p->head_dim <= 0 || p->head_dim % 2)
        return bk_fail(be, BALDRO_EINVAL, "%s: head_dim=%d, expected a positive even number", op,
                       (int)p->head_dim);
    if (p->max_positions < 0)
        return bk_fail(be, BALDRO_EINVAL, "%s: max_positions=%d, expected >= 0", op,
                       (int)p->max_positions);
    if (!(p->theta > 0.0) || !isfinite(p->theta))
        return bk_fail(be, BALDRO_EINVAL, "%s: theta=%g, expected > 0", op, p->theta);
    if (p->scaling != BALDRO_ROPE_NONE && p->scaling != BALDRO_ROPE_LINEAR &&
        p->scaling != BALDRO_ROPE_LLAMA3)
        return bk_fail(be, BALDRO_EINVAL, "%s: scaling=%d is not a baldro_rope_scaling", op,
                       (int)p->scaling);
    if (p->scaling != BALDRO_ROPE_NONE && !(p->factor > 0.0))
        return bk_fail(be, BALDRO_EINVAL, "%s: factor=%g, expected > 0", op, p->factor);
    if (p->scaling == BALDRO_ROPE_LLAMA3) {
        if (!(p->low_freq_factor > 0.0) || !(p->high_freq_factor > p->low_freq_factor))
            return bk_fail(be, BALDRO_EINVAL,
                           "%s: low_freq_factor=%g, high_freq_factor=%g, expected "
                           "0 < low < high",
                           op, p->low_freq_factor, p->high_freq_factor);
        if (p->original_max_positions <= 0)
            return bk_fail(be, BALDRO_EINVAL, "%s: original_max_positions=%d, expected > 0", op,
                           (int)p->original_max_positions);
    }
    BK_TRY(bk_check_tensor(be, op, "table", table, BALDRO_DT_F32, 2));
    BK_TRY(bk_check_dim_val(be, op, "table", table, 0, p->max_positions, "max_positions"));
    BK_TRY(bk_check_dim_val(be, op, "table", table, 1, p->head_dim, "head_dim"));
    const int64_t P = p->max_positions, D = p->head_dim, h = D / 2;
    float *t = table->data;
#pragma omp parallel for num_threads(be->threads) if (P * D > CPU_PAR_MIN) schedule(static)
    for (int64_t i = 0; i < h; i++) {
        float inv = cpu_inv_freq(p, i);
        for (int64_t pos = 0; pos < P; pos++) {
            /* HF: inv_freq @ position_ids in float, a single product per entry. */
            float ang = (float)pos * inv;
            t[pos * D + i] = (float)cos((double)ang);
            t[pos * D + h + i] = (float)sin((double)ang);
        }
    }
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
    BK_TRY(bk_check_tensor(be, op, xn, x, BALDRO_DT_F32, 4));
    BK_TRY(bk_check_tensor(be, op, "table", table, BALDRO_DT_F32, 2));
    BK_TRY(bk_check_dim(be, op, "table", table, 1, xn, x, 3));
    const int64_t B = x->shape[0], T = x->shape[1], H = x->shape[2], D = x->shape[3];
    const int64_t P = table->shape[0];
    if (D % 2)
        return bk_fail(be, BALDRO_EINVAL, "%s: %s.shape[3]=%lld, expected an even head dim", op, xn,
                       (long long)D);
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
