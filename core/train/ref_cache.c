/* core/train/ref_cache.c: see ref_cache.h. */
#include "train/ref_cache.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#include "util/fsutil.h"
#include "util/progress.h"

#define REF_MAGIC "BLDRREF1"
#define REF_VERSION 1u

/* FNV-1a over 64-bit words with a final avalanche: fast enough to hash an 8B model's
 * weights in seconds, and any changed byte changes the result. */
typedef struct {
    uint64_t h;
} hasher;

static void hash_bytes(hasher *s, const void *p, size_t n) {
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        s->h = (s->h ^ w) * 0x100000001b3ULL;
        s->h ^= s->h >> 29;
    }
    for (; i < n; i++) s->h = (s->h ^ b[i]) * 0x100000001b3ULL;
}

static uint64_t hash_final(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int baldro_model_hash(baldro_model *m, uint64_t *out, baldro_error *err) {
    const baldro_param *p;
    int32_t n;
    baldro_model_params(m, &p, &n);
    const baldro_ops *ops = baldro_model_ops(m);
    baldro_backend *be = baldro_model_backend(m);
    hasher s = {0xcbf29ce484222325ULL};
    void *host = NULL;
    size_t cap = 0;
    int rc = BALDRO_OK;
    for (int32_t i = 0; i < n && rc == BALDRO_OK; i++) {
        size_t b = baldro_tensor_bytes(&p[i].value);
        hash_bytes(&s, p[i].name, strlen(p[i].name) + 1);
        if (b > cap) {
            g_free(host);
            host = g_malloc(b);
            cap = b;
        }
        rc = ops->download(be, host, p[i].value.data, b);
        if (rc) rc = baldro_error_set(err, rc, "model hash: %s", ops->last_error(be));
        else hash_bytes(&s, host, b);
    }
    g_free(host);
    *out = hash_final(s.h);
    return rc;
}

uint64_t baldro_tok_dataset_hash(const baldro_tok_dataset *ds) {
    hasher s = {0xcbf29ce484222325ULL};
    uint64_t n = ds->n;
    hash_bytes(&s, &n, 8);
    hash_bytes(&s, ds->off, (ds->n + 1) * sizeof *ds->off);
    hash_bytes(&s, ds->ids, ds->off[ds->n] * sizeof *ds->ids);
    hash_bytes(&s, ds->mask, ds->off[ds->n]);
    return hash_final(s.h);
}

static baldro_ref_logp *ref_new(const baldro_tok_dataset *ds, uint64_t mh) {
    baldro_ref_logp *r = g_new0(baldro_ref_logp, 1);
    r->model_hash = mh;
    r->data_hash = baldro_tok_dataset_hash(ds);
    r->n = ds->n;
    r->off = g_new(size_t, ds->n + 1);
    r->off[0] = 0;
    for (size_t i = 0; i < ds->n; i++) {
        size_t a = 0;
        /* the targets of a row are the mask positions after the first token */
        for (size_t k = ds->off[i] + 1; k < ds->off[i + 1]; k++) a += ds->mask[k] != 0;
        r->off[i + 1] = r->off[i] + a;
    }
    r->v = g_new0(float, r->off[ds->n] ? r->off[ds->n] : 1);
    return r;
}

int baldro_ref_logp_compute(baldro_model *m, uint64_t model_hash, const baldro_tok_dataset *ds,
                            baldro_batch *b, int32_t B, baldro_ref_logp **out,
                            baldro_error *err) {
    *out = NULL;
    baldro_ref_logp *r = ref_new(ds, model_hash);
    size_t idx[1024];
    if (B > (int32_t)G_N_ELEMENTS(idx)) B = (int32_t)G_N_ELEMENTS(idx);
    float *logp = g_new(float, (size_t)b->max_B * (size_t)b->max_T);
    int rc = BALDRO_OK;
    baldro_progress bar;
    baldro_progress_start(&bar, "reference log-probs", (int64_t)ds->n, "items");
    for (size_t i0 = 0; i0 < ds->n && rc == BALDRO_OK; i0 += (size_t)B) {
        int32_t nb = (int32_t)MIN((size_t)B, ds->n - i0);
        baldro_progress_update(&bar, (int64_t)i0, NULL);
        for (int32_t k = 0; k < nb; k++) idx[k] = i0 + (size_t)k;
        rc = baldro_batch_fill(b, ds, idx, nb, err);
        if (rc == BALDRO_OK)
            rc = baldro_model_forward(m, b->tokens, b->targets, b->B, b->T, logp, err);
        for (int32_t k = 0; rc == BALDRO_OK && k < nb; k++) {
            float *dst = r->v + r->off[i0 + (size_t)k];
            for (int32_t t = 0; t < b->T; t++)
                if (b->targets[(size_t)k * b->T + t] >= 0) *dst++ = logp[(size_t)k * b->T + t];
        }
    }
    g_free(logp);
    if (rc) {
        baldro_ref_logp_free(r);
        return rc;
    }
    bar.done = (int64_t)ds->n;
    baldro_progress_finish(&bar, NULL);
    *out = r;
    return BALDRO_OK;
}

int baldro_ref_logp_save(const baldro_ref_logp *r, const char *path, baldro_error *err) {
    baldro_atomic_file af;
    int rc = baldro_atomic_open(path, &af, err);
    if (rc) return rc;
    uint32_t ver = REF_VERSION;
    uint64_t n = r->n;
    baldro_atomic_write(&af, REF_MAGIC, 8);
    baldro_atomic_write(&af, &ver, 4);
    baldro_atomic_write(&af, &r->model_hash, 8);
    baldro_atomic_write(&af, &r->data_hash, 8);
    baldro_atomic_write(&af, &n, 8);
    for (size_t i = 0; i <= r->n; i++) {
        uint64_t o = r->off[i];
        baldro_atomic_write(&af, &o, 8);
    }
    baldro_atomic_write(&af, r->v, r->off[r->n] * sizeof(float));
    return baldro_atomic_commit(&af, err);
}

int baldro_ref_logp_load(const char *path, uint64_t model_hash, const baldro_tok_dataset *ds,
                         baldro_ref_logp **out, baldro_error *err) {
    *out = NULL;
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) return BALDRO_ENOTFOUND;
    GError *ge = NULL;
    GMappedFile *mf = g_mapped_file_new(path, FALSE, &ge);
    if (!mf) {
        int rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot read: %s", path, ge->message);
        g_error_free(ge);
        return rc;
    }
    const char *d = g_mapped_file_get_contents(mf);
    size_t len = g_mapped_file_get_length(mf);
    int rc = BALDRO_OK;
    uint32_t ver = 0;
    uint64_t mh = 0, dh = 0, n = 0;
    if (len < 36 || memcmp(d, REF_MAGIC, 8) != 0) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: not a baldro reference log-prob cache",
                              path);
    } else {
        memcpy(&ver, d + 8, 4);
        memcpy(&mh, d + 12, 8);
        memcpy(&dh, d + 20, 8);
        memcpy(&n, d + 28, 8);
        uint64_t want_dh = baldro_tok_dataset_hash(ds);
        if (ver != REF_VERSION)
            rc = baldro_error_set(err, BALDRO_EVERSION, "%s: version %u, this build reads %u",
                                  path, ver, REF_VERSION);
        else if (mh != model_hash || dh != want_dh)
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: built for model %016llx / data %016llx, this run has "
                                  "model %016llx / data %016llx; delete it to recompute",
                                  path, (unsigned long long)mh, (unsigned long long)dh,
                                  (unsigned long long)model_hash, (unsigned long long)want_dh);
        else if (n != ds->n || (len - 36) / 8 < n + 1)
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: holds %llu items for %zu", path,
                                  (unsigned long long)n, ds->n);
    }
    baldro_ref_logp *r = NULL;
    if (rc == BALDRO_OK) {
        r = ref_new(ds, model_hash);
        const char *offs = d + 36;
        for (size_t i = 0; i <= ds->n && rc == BALDRO_OK; i++) {
            uint64_t o;
            memcpy(&o, offs + 8 * i, 8);
            if (o != r->off[i])
                rc = baldro_error_set(err, BALDRO_EINVAL, "%s: item %zu has another answer "
                                      "length than the data", path, i ? i - 1 : 0);
        }
        size_t at = 36 + 8 * (ds->n + 1), bytes = r->off[ds->n] * sizeof(float);
        if (rc == BALDRO_OK && len - at != bytes)
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: %zu value bytes, expected %zu", path,
                                  len - at, bytes);
        if (rc == BALDRO_OK) memcpy(r->v, d + at, bytes);
        for (size_t k = 0; rc == BALDRO_OK && k < r->off[ds->n]; k++)
            if (!isfinite(r->v[k]) || r->v[k] > 0)
                rc = baldro_error_set(err, BALDRO_EINVAL, "%s: value %zu is not a log-prob",
                                      path, k);
    }
    g_mapped_file_unref(mf);
    if (rc) {
        baldro_ref_logp_free(r);
        return rc;
    }
    *out = r;
    return BALDRO_OK;
}

void baldro_ref_logp_free(baldro_ref_logp *r) {
    if (!r) return;
    g_free(r->off);
    g_free(r->v);
    g_free(r);
}

double baldro_ref_logp_probability(const baldro_ref_logp *r) {
    double s = 0;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        size_t a = r->off[i + 1] - r->off[i];
        if (a == 0) continue;
        double nll = 0;
        for (size_t j = r->off[i]; j < r->off[i + 1]; j++) nll -= r->v[j];
        s += exp(-nll / (double)a);
        k++;
    }
    return k ? s / (double)k : 0.0;
}
