/*
 * llama_init.c: random initialisation from a seed, as HF's _init_weights does it:
 * normal(0, initializer_range) for every linear and embedding weight, zeros for biases,
 * ones for RMSNorm weights. The generator is splitmix64 + Box-Muller, so a seed gives
 * the same model on every machine and backend (values are made on the host, uploaded).
 */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "llama.h"

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1]: never 0, so log() below is finite. */
static double uniform01(uint64_t *s) { return ((double)(splitmix64(s) >> 11) + 1.0) / 9007199254740992.0; }

int llama_init_weights(llama_model *m, uint64_t seed, float std, char *err, size_t cap) {
    size_t max_n = 0;
    for (int i = 0; i < m->n_params; i++) {
        size_t n = (size_t)baldro_tensor_numel(&m->params[i].value);
        if (n > max_n) max_n = n;
    }
    float *buf = g_try_new(float, max_n ? max_n : 1);
    if (!buf) return BALDRO_FAIL(err, cap, BALDRO_ENOMEM, "llama: out of memory for init");
    uint64_t s = seed;
    int rc = BALDRO_OK;
    for (int i = 0; i < m->n_params && rc == BALDRO_OK; i++) {
        const baldro_param *p = &m->params[i];
        size_t n = (size_t)baldro_tensor_numel(&p->value);
        const char *name = p->name;
        int is_norm = strstr(name, "norm.weight") != NULL;
        int is_bias = g_str_has_suffix(name, ".bias");
        if (is_norm || is_bias) {
            for (size_t j = 0; j < n; j++) buf[j] = is_norm ? 1.0f : 0.0f;
        } else {
            for (size_t j = 0; j < n; j += 2) {
                double r = sqrt(-2.0 * log(uniform01(&s))), t = 2.0 * G_PI * uniform01(&s);
                buf[j] = (float)(std * r * cos(t));
                if (j + 1 < n) buf[j + 1] = (float)(std * r * sin(t));
            }
        }
        rc = m->ops->upload(m->be, p->value.data, buf, n * sizeof(float));
        if (rc) rc = llama_op_fail(m, rc, "uploading initial weights", err, cap);
    }
    g_free(buf);
    return rc;
}
