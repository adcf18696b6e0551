/* core/data/batch.c: see batch.h. */
#include "data/batch.h"

#include <glib.h>
#include <string.h>

#include "data/chat_template.h"

/* ---- tokenised datasets ---------------------------------------------------------------- */

typedef struct ds_build {
    baldro_tok_dataset *ds;
    size_t cap; /* capacity of ds->ids and ds->mask, in tokens */
} ds_build;

static void ds_append(ds_build *b, const int32_t *ids, const uint8_t *mask, size_t n) {
    baldro_tok_dataset *ds = b->ds;
    size_t used = ds->off[ds->n];
    if (used + n > b->cap) {
        while (used + n > b->cap) b->cap = b->cap * 2 + 1024;
        ds->ids = g_renew(int32_t, ds->ids, b->cap);
        ds->mask = g_renew(uint8_t, ds->mask, b->cap);
    }
    memcpy(ds->ids + used, ids, n * sizeof *ids);
    memcpy(ds->mask + used, mask, n);
    ds->off[ds->n + 1] = used + n;
    ds->n++;
}

/* Items i < n from questions[i] / answers[i]; `split` (may be NULL) gives file:line for
 * messages, else `name` and the index do. */
static int build(const baldro_tokenizer *tok, int kind, size_t n, const char *const *q,
                 const char *const *a, const baldro_tofu_split *split, const char *name,
                 size_t max_length, baldro_tok_dataset **out, baldro_error *err) {
    *out = NULL;
    if (!name) name = "dataset";
    if (max_length < 2 || max_length > BALDRO_DATA_MAX_LENGTH)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "data.max_length: %zu: expected 2 to %d tokens", max_length,
                                BALDRO_DATA_MAX_LENGTH);
    if (n == 0) return baldro_error_set(err, BALDRO_EINVAL, "%s: holds no items", name);
    if (!q || !a) return baldro_error_set(err, BALDRO_EINVAL, "%s: no questions or answers", name);
    baldro_tok_dataset *ds = g_new0(baldro_tok_dataset, 1);
    ds->off = g_new0(size_t, n + 1);
    ds->max_length = max_length;
    ds->kind = kind;
    int32_t pad = baldro_tok_pad(tok);
    if (pad < 0) pad = baldro_tok_eos(tok);
    ds->pad_id = pad < 0 ? 0 : pad;
    ds_build b = { .ds = ds };
    int rc = BALDRO_OK;
    for (size_t i = 0; i < n && !rc; i++) {
        int32_t *ids = NULL;
        uint8_t *mask = NULL;
        size_t len = 0;
        baldro_error e = { 0 };
        if (!q[i] || !a[i]) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: item %zu: no %s", name, i,
                                  q[i] ? "answer" : "question");
            break;
        }
        rc = baldro_template_encode(tok, kind, q[i], a[i], &ids, &mask, &len, &e);
        if (!rc && len < 2)
            rc = baldro_error_set(&e, BALDRO_EINVAL, "template %s gave %zu token(s)",
                                  baldro_template_name(kind), len);
        if (rc) {
            if (split && i < split->n)
                baldro_error_set(err, rc, "%s:%zu: %s", split->path, split->items[i].line, e.msg);
            else
                baldro_error_set(err, rc, "%s: item %zu: %s", name, i, e.msg);
        } else {
            if (len > max_length) {
                len = max_length; /* keep the first max_length, as HF's truncation does */
                ds->n_truncated++;
            }
            size_t k = 0;
            while (k < len && !mask[k]) k++;
            if (k == len) ds->n_no_answer++;
            if (len > ds->longest) ds->longest = len;
            ds_append(&b, ids, mask, len);
        }
        g_free(ids);
        g_free(mask);
    }
    if (rc) {
        baldro_tok_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return BALDRO_OK;
}

int baldro_tok_dataset_build_qa(const baldro_tokenizer *tok, int kind, size_t n,
                                const char *const *questions, const char *const *answers,
                                const char *name, size_t max_length, baldro_tok_dataset **out,
                                baldro_error *err) {
    return build(tok, kind, n, questions, answers, NULL, name, max_length, out, err);
}

/* The split's questions [n] and, when `idk` is given, its chosen lines as answers [n],
 * else the split's answers. Arrays of borrowed pointers (g_free the arrays only). */
static void split_columns(const baldro_tofu_split *split, const baldro_tofu_lines *idk,
                          uint64_t seed, const char ***q, const char ***a) {
    *q = g_new(const char *, split->n);
    *a = g_new(const char *, split->n);
    for (size_t i = 0; i < split->n; i++) {
        (*q)[i] = split->items[i].question;
        (*a)[i] = idk ? idk->lines[baldro_data_idk_choice(idk->n, seed, i)]
                      : split->items[i].answer;
    }
}

int baldro_tok_dataset_build(const baldro_tokenizer *tok, int kind,
                             const baldro_tofu_split *split, size_t max_length,
                             baldro_tok_dataset **out, baldro_error *err) {
    *out = NULL;
    if (!split || split->n == 0)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: holds no items",
                                split ? split->path : "(no split)");
    const char **q, **a;
    split_columns(split, NULL, 0, &q, &a);
    int rc = build(tok, kind, split->n, q, a, split, split->path, max_length, out, err);
    g_free(q);
    g_free(a);
    return rc;
}

int baldro_tok_dataset_build_idk(const baldro_tokenizer *tok, int kind,
                                 const baldro_tofu_split *split, const baldro_tofu_lines *idk,
                                 uint64_t seed, size_t max_length, baldro_tok_dataset **out,
                                 baldro_error *err) {
    *out = NULL;
    if (!split || split->n == 0)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: holds no items",
                                split ? split->path : "(no split)");
    if (!idk || idk->n == 0)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: holds no items",
                                idk ? idk->path : "idontknow.jsonl");
    const char **q, **a;
    split_columns(split, idk, seed, &q, &a);
    int rc = build(tok, kind, split->n, q, a, split, split->path, max_length, out, err);
    g_free(q);
    g_free(a);
    return rc;
}

void baldro_tok_dataset_free(baldro_tok_dataset *ds) {
    if (!ds) return;
    g_free(ds->off);
    g_free(ds->ids);
    g_free(ds->mask);
    g_free(ds);
}

/* ---- batches --------------------------------------------------------------------------- */

int baldro_batch_init(baldro_batch *b, int32_t max_B, int32_t max_T, baldro_error *err) {
    memset(b, 0, sizeof *b);
    /* 2^32 cells (32 GiB of tokens and targets) is far past any real batch: a capacity
     * beyond it is a caller's bug, refused before it becomes an allocation. */
    if (max_B < 1 || max_T < 1 || (int64_t)max_B * max_T > (INT64_C(1) << 32))
        return baldro_error_set(err, BALDRO_EINVAL,
                                "batch: %d rows of %d positions is not a valid capacity", max_B,
                                max_T);
    /* One block: tokens and targets [max_B * max_T] each, then the per-row arrays. The
     * size_t array goes first so every member is aligned without padding arithmetic. */
    size_t cells = (size_t)max_B * (size_t)max_T;
    size_t bytes = (size_t)max_B * sizeof(size_t) + 2 * cells * sizeof(int32_t) +
                   2 * (size_t)max_B * sizeof(int32_t);
    char *p = g_malloc0(bytes);
    b->block_ = p;
    b->items = (size_t *)(void *)p;
    p += (size_t)max_B * sizeof(size_t);
    b->tokens = (int32_t *)(void *)p;
    p += cells * sizeof(int32_t);
    b->targets = (int32_t *)(void *)p;
    p += cells * sizeof(int32_t);
    b->row_len = (int32_t *)(void *)p;
    p += (size_t)max_B * sizeof(int32_t);
    b->ans_len = (int32_t *)(void *)p;
    b->max_B = max_B;
    b->max_T = max_T;
    return BALDRO_OK;
}

int baldro_batch_fill(baldro_batch *b, const baldro_tok_dataset *ds, const size_t *idx,
                      int32_t B, baldro_error *err) {
    b->B = b->T = 0;
    b->n_targets = 0;
    if (!b->block_) return baldro_error_set(err, BALDRO_ESTATE, "batch: filled before init");
    if (B < 1 || B > b->max_B)
        return baldro_error_set(err, BALDRO_EINVAL, "batch: %d rows, capacity is 1 to %d", B,
                                b->max_B);
    /* Validate every row and find T before writing, so a failure leaves nothing half-done. */
    int32_t T = 0;
    for (int32_t r = 0; r < B; r++) {
        if (idx[r] >= ds->n)
            return baldro_error_set(err, BALDRO_EINVAL, "batch: row %d: item %zu of %zu", r,
                                    idx[r], ds->n);
        size_t len = baldro_tok_dataset_len(ds, idx[r]);
        size_t row = len ? len - 1 : 0;
        if (row > (size_t)b->max_T)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "batch: row %d (item %zu) has %zu positions, capacity %d", r,
                                    idx[r], row, b->max_T);
        if ((int32_t)row > T) T = (int32_t)row;
    }
    if (T < 1) T = 1; /* items have >= 2 tokens, so only a hand-made dataset gets here */
    for (int32_t r = 0; r < B; r++) {
        const int32_t *ids = ds->ids + ds->off[idx[r]];
        const uint8_t *mask = ds->mask + ds->off[idx[r]];
        size_t len = baldro_tok_dataset_len(ds, idx[r]);
        int32_t row = len ? (int32_t)(len - 1) : 0, ans = 0;
        int32_t *tok = b->tokens + (size_t)r * (size_t)T;
        int32_t *tgt = b->targets + (size_t)r * (size_t)T;
        for (int32_t t = 0; t < row; t++) {
            tok[t] = ids[t];
            tgt[t] = mask[t + 1] ? ids[t + 1] : -1;
            ans += mask[t + 1] != 0;
        }
        for (int32_t t = row; t < T; t++) {
            tok[t] = ds->pad_id;
            tgt[t] = -1;
        }
        b->row_len[r] = row;
        b->ans_len[r] = ans;
        b->items[r] = idx[r];
        b->n_targets += ans;
    }
    b->B = B;
    b->T = T;
    b->pad_id = ds->pad_id;
    return BALDRO_OK;
}

void baldro_batch_release(baldro_batch *b) {
    if (!b) return;
    g_free(b->block_);
    memset(b, 0, sizeof *b);
}

/* ---- determinism ----------------------------------------------------------------------- */

/* splitmix64's output function (Steele, Lea, Flood 2014): a bijection of 64-bit words
 * with full avalanche, so consecutive counters give independent-looking words. */
static uint64_t mix(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t baldro_data_hash(uint64_t seed, uint64_t stream, uint64_t epoch, uint64_t i) {
    return mix(mix(mix(mix(seed) ^ stream) ^ epoch) ^ i);
}

uint64_t baldro_data_uniform(uint64_t n, uint64_t key) {
    if (n == 0) return 0;
    /* Reject the lowest 2^64 mod n words so every residue has the same number of
     * preimages: exactly uniform, unlike a bare modulo. */
    uint64_t threshold = (0 - n) % n;
    for (uint64_t j = 0;; j++) {
        uint64_t x = mix(key ^ j);
        if (x >= threshold) return x % n;
    }
}

void baldro_data_permutation(size_t n, uint64_t seed, uint64_t epoch, size_t *out) {
    for (size_t k = 0; k < n; k++) out[k] = k;
    for (size_t k = n; k-- > 1;) {
        size_t j = (size_t)baldro_data_uniform(
            (uint64_t)k + 1, baldro_data_hash(seed, BALDRO_DATA_STREAM_ORDER, epoch, k));
        size_t t = out[k];
        out[k] = out[j];
        out[j] = t;
    }
}

size_t baldro_data_pair(size_t n_retain, uint64_t seed, uint64_t epoch, size_t pos) {
    return (size_t)baldro_data_uniform(
        n_retain, baldro_data_hash(seed, BALDRO_DATA_STREAM_PAIR, epoch, pos));
}

void baldro_data_pair_batch(size_t n_retain, uint64_t seed, uint64_t epoch, size_t pos0,
                            size_t B, size_t *out) {
    for (size_t r = 0; r < B; r++) out[r] = baldro_data_pair(n_retain, seed, epoch, pos0 + r);
}

size_t baldro_data_idk_choice(size_t n_idk, uint64_t seed, size_t item) {
    return (size_t)baldro_data_uniform(n_idk,
                                       baldro_data_hash(seed, BALDRO_DATA_STREAM_IDK, 0, item));
}
