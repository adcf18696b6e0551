/*
 * core/backend/backend_rope.c: the rotary table every backend builds the same way, on
 * the host (the CPU backend in place, a device backend then uploads it), so that all of
 * them hold the bit-identical table.
 *
 * The table mirrors Hugging Face transformers, which computes inv_freq and the angles
 * in fp32 even for a float64 model: every step below is the same float operation in
 * the same order, and only cos/sin are evaluated in double (then rounded), so the
 * table is the correctly rounded value of HF's fp32 angle. (C11 mode: no FMA
 * contraction across these statements.)
 *
 * Shapes: table[P, D] (cols [0, D/2) cos, [D/2, D) sin of frequency i).
 */
#include <math.h>

#include "backend/backend_internal.h"

/* HF's _compute_default_rope_parameters, then the scaling's adjustment, all in float. */
static float rope_inv_freq(const baldro_rope_params *p, int64_t i) {
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

int bk_rope_table_check(baldro_backend *be, const baldro_tensor *table,
                        const baldro_rope_params *p) {
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
    return BALDRO_OK;
}

void bk_rope_table_fill(const baldro_rope_params *p, float *t, int threads) {
    const int64_t P = p->max_positions, D = p->head_dim, h = D / 2;
#pragma omp parallel for num_threads(threads) if (P * D > ((int64_t)1 << 15)) schedule(static)
    for (int64_t i = 0; i < h; i++) {
        float inv = rope_inv_freq(p, i);
        for (int64_t pos = 0; pos < P; pos++) {
            /* HF: inv_freq @ position_ids in float, a single product per entry. */
            float ang = (float)pos * inv;
            t[pos * D + i] = (float)cos((double)ang);
            t[pos * D + h + i] = (float)sin((double)ang);
        }
    }
}

