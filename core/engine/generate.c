/* core/engine/generate.c: see generate.h. */
#include "engine/generate.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct gen_state {
    baldro_model *m;
    const baldro_gen_options *opt;
    int32_t B, V;
    int32_t *ids_dev;   /* [B] backend: argmax output                                */
    int32_t *ids;       /* [B] host: the tokens picked this step                     */
    float *logits_host; /* [B][V] host, sampling only                                */
    double *probs;      /* [V] sampling scratch                                      */
    int32_t *order;     /* [V] sampling scratch                                      */
    uint64_t rng;
} gen_state;

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static gint by_prob_desc(gconstpointer a, gconstpointer b, gpointer probs_) {
    const double *probs = probs_;
    double x = probs[*(const int32_t *)a], y = probs[*(const int32_t *)b];
    if (x != y) return x < y ? 1 : -1;
    return *(const int32_t *)a - *(const int32_t *)b;
}

/* Temperature + top-p draw from one row of logits. */
static int32_t sample_row(gen_state *s, const float *row) {
    const int32_t V = s->V;
    double mx = -INFINITY, sum = 0;
    for (int32_t v = 0; v < V; v++)
        if (row[v] > mx) mx = row[v];
    for (int32_t v = 0; v < V; v++) {
        s->probs[v] = exp(((double)row[v] - mx) / s->opt->temperature);
        sum += s->probs[v];
    }
    for (int32_t v = 0; v < V; v++) s->probs[v] /= sum;
    int32_t keep = V;
    if (s->opt->top_p > 0 && s->opt->top_p < 1) {
        for (int32_t v = 0; v < V; v++) s->order[v] = v;
        g_qsort_with_data(s->order, V, sizeof(int32_t), by_prob_desc, s->probs);
        double c = 0;
        for (keep = 0; keep < V;) {
            c += s->probs[s->order[keep++]];
            if (c >= s->opt->top_p) break;
        }
    } else {
        for (int32_t v = 0; v < V; v++) s->order[v] = v;
    }
    double mass = 0;
    for (int32_t i = 0; i < keep; i++) mass += s->probs[s->order[i]];
    double u = ((double)(rng_next(&s->rng) >> 11) / 9007199254740992.0) * mass, c = 0;
    for (int32_t i = 0; i < keep; i++) {
        c += s->probs[s->order[i]];
        if (u < c) return s->order[i];
    }
    return s->order[keep - 1];
}

static int pick(gen_state *s, const baldro_tensor *logits, baldro_error *err) {
    const baldro_ops *o = baldro_model_ops(s->m);
    baldro_backend *be = baldro_model_backend(s->m);
    int rc;
    if (s->opt->temperature <= 0) {
        baldro_tensor ids = baldro_t1(s->ids_dev, BALDRO_DT_I32, s->B);
        baldro_tensor lg = baldro_t2(logits->data, logits->dtype, s->B, s->V);
        if ((rc = o->argmax(be, &ids, &lg)) ||
            (rc = o->download(be, s->ids, s->ids_dev, (size_t)s->B * 4)))
            return baldro_error_set(err, rc, "generate: %s", o->last_error(be));
        return BALDRO_OK;
    }
    if ((rc = o->download(be, s->logits_host, logits->data, (size_t)s->B * s->V * 4)))
        return baldro_error_set(err, rc, "generate: %s", o->last_error(be));
    for (int32_t b = 0; b < s->B; b++) s->ids[b] = sample_row(s, s->logits_host + (size_t)b * s->V);
    return BALDRO_OK;
}

static int is_stop(const baldro_gen_options *opt, int32_t id) {
    for (int32_t i = 0; i < opt->n_stop; i++)
        if (opt->stop_ids[i] == id) return 1;
    return 0;
}

int baldro_generate(baldro_model *m, const int32_t *prompts, const int32_t *lengths, int32_t B,
                    int32_t P, const baldro_gen_options *opt, int32_t *out_tokens,
                    int32_t *out_n, int32_t *out_stop, baldro_error *err) {
    const int32_t N = opt->max_new_tokens;
    if (B < 1 || P < 1 || N < 0)
        return baldro_error_set(err, BALDRO_EINVAL, "generate: B=%d, prompt length %d and "
                                "max_new_tokens %d must be positive", B, P, N);
    if (opt->temperature > 0 && !(opt->top_p > 0 && opt->top_p <= 1))
        return baldro_error_set(err, BALDRO_EINVAL, "generate: top_p=%g must be in (0, 1]",
                                (double)opt->top_p);
    for (int32_t b = 0; b < B; b++)
        if (lengths[b] < 1 || lengths[b] > P)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "generate: prompt %d has length %d, outside [1, %d]", b,
                                    lengths[b], P);
    const baldro_ops *o = baldro_model_ops(m);
    baldro_backend *be = baldro_model_backend(m);
    gen_state s = {.m = m, .opt = opt, .B = B, .V = baldro_model_get_info(m)->vocab_size,
                   .rng = opt->seed};
    int rc = o->alloc(be, (size_t)B * 4, (void **)&s.ids_dev);
    if (rc) return baldro_error_set(err, rc, "generate: %s", o->last_error(be));
    s.ids = g_new0(int32_t, (size_t)B);
    if (opt->temperature > 0) {
        s.logits_host = g_new(float, (size_t)B * s.V);
        s.probs = g_new(double, (size_t)s.V);
        s.order = g_new(int32_t, (size_t)s.V);
    }
    int32_t *done = g_new0(int32_t, (size_t)B), *n = g_new0(int32_t, (size_t)B);
    /* The no-cache path rebuilds prompt + generated rows each step. */
    int32_t W = P + N;
    int32_t *seq = opt->no_cache ? g_new0(int32_t, (size_t)B * W) : NULL;
    int32_t *len = opt->no_cache ? g_new0(int32_t, (size_t)B) : NULL;
    if (out_tokens)
        for (size_t i = 0; i < (size_t)B * N; i++) out_tokens[i] = -1;

    const baldro_tensor *logits = NULL;
    if (opt->no_cache) {
        for (int32_t b = 0; b < B; b++) {
            memcpy(seq + (size_t)b * W, prompts + (size_t)b * P, (size_t)lengths[b] * 4);
            len[b] = lengths[b];
        }
    }
    int32_t active = N > 0 ? B : 0;
    for (int32_t step = 0; step < N && active > 0; step++) {
        if (opt->no_cache) {
            int32_t T = 0;
            for (int32_t b = 0; b < B; b++) T = len[b] > T ? len[b] : T;
            /* Repack to width T (right padding is token 0, never attended). */
            int32_t *packed = g_new0(int32_t, (size_t)B * T);
            for (int32_t b = 0; b < B; b++)
                memcpy(packed + (size_t)b * T, seq + (size_t)b * W, (size_t)len[b] * 4);
            rc = baldro_model_gen_prefill(m, packed, len, B, T, &logits, err);
            g_free(packed);
        } else if (step == 0) {
            rc = baldro_model_gen_prefill(m, prompts, lengths, B, P, &logits, err);
        } else {
            rc = baldro_model_gen_decode(m, s.ids, &logits, err);
        }
        if (rc) goto out;
        if ((rc = pick(&s, logits, err))) goto out;
        for (int32_t b = 0; b < B; b++) {
            if (done[b]) {
                s.ids[b] = 0; /* a finished row feeds a harmless token */
                continue;
            }
            if (out_tokens) out_tokens[(size_t)b * N + n[b]] = s.ids[b];
            n[b]++;
            if (opt->no_cache) seq[(size_t)b * W + len[b]++] = s.ids[b];
            if (is_stop(opt, s.ids[b])) done[b] = BALDRO_STOP_TOKEN;
            else if (n[b] == N) done[b] = BALDRO_STOP_LENGTH;
            if (done[b]) active--;
        }
    }
    for (int32_t b = 0; b < B; b++) {
        if (out_n) out_n[b] = n[b];
        if (out_stop) out_stop[b] = done[b] ? done[b] : BALDRO_STOP_LENGTH;
    }
    rc = BALDRO_OK;
out:
    o->free(be, s.ids_dev);
    g_free(s.ids);
    g_free(s.logits_host);
    g_free(s.probs);
    g_free(s.order);
    g_free(done);
    g_free(n);
    g_free(seq);
    g_free(len);
    return rc;
}
