/*
 * core/tokenizer/strmap.c: the two hash maps the tokenizer lives on. Both are plain open
 * addressing with linear probing: the vocabulary (128k entries) and the merges (~280k)
 * are built once and then only read, and GHashTable would cost an allocation per key.
 */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static uint64_t strmap_hash(const char *s, size_t len) {
    /* FNV-1a, 64-bit: fast and good enough for token strings. */
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static size_t table_size(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n + 1) cap <<= 1; /* load factor at most 1/2 */
    return cap;
}

int tok_strmap_init(tok_strmap *m, char *const *s, const uint32_t *len, int32_t n) {
    size_t count = 0;
    for (int32_t i = 0; i < n; i++)
        if (s[i]) count++;
    size_t cap = table_size(count);
    m->slots = g_try_new(int32_t, cap);
    if (!m->slots) return -1;
    memset(m->slots, 0xff, cap * sizeof *m->slots);
    m->mask = cap - 1;
    for (int32_t i = 0; i < n; i++) {
        if (!s[i]) continue;
        size_t h = (size_t)strmap_hash(s[i], len[i]) & m->mask;
        for (;; h = (h + 1) & m->mask) {
            int32_t j = m->slots[h];
            if (j < 0) {
                m->slots[h] = i;
                break;
            }
            /* The lowest id keeps a duplicated string (an added token that repeats a
             * vocabulary entry has the same id anyway). */
            if (len[j] == len[i] && memcmp(s[j], s[i], len[i]) == 0) break;
        }
    }
    return 0;
}

int32_t tok_strmap_get(const tok_strmap *m, char *const *s, const uint32_t *len,
                       const char *key, size_t klen) {
    if (!m->slots) return -1;
    size_t h = (size_t)strmap_hash(key, klen) & m->mask;
    for (;; h = (h + 1) & m->mask) {
        int32_t j = m->slots[h];
        if (j < 0) return -1;
        if (len[j] == klen && memcmp(s[j], key, klen) == 0) return j;
    }
}

void tok_strmap_clear(tok_strmap *m) {
    g_free(m->slots);
    m->slots = NULL;
}

static size_t pair_hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

int tok_pairmap_init(tok_pairmap *m, size_t n) {
    size_t cap = table_size(n);
    m->keys = g_try_new(uint64_t, cap);
    m->vals = g_try_new(uint64_t, cap);
    if (!m->keys || !m->vals) {
        g_free(m->keys);
        g_free(m->vals);
        m->keys = m->vals = NULL;
        return -1;
    }
    memset(m->keys, 0xff, cap * sizeof *m->keys);
    m->mask = cap - 1;
    m->count = 0;
    return 0;
}

/* A later put of the same pair overwrites: tokenizers collects the merges into a HashMap,
 * so of a duplicated merge the last rank is the one it uses. */
void tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t id) {
    uint64_t k = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t h = pair_hash(k) & m->mask;
    while (m->keys[h] != UINT64_MAX && m->keys[h] != k) h = (h + 1) & m->mask;
    if (m->keys[h] == UINT64_MAX) m->count++;
    m->keys[h] = k;
    m->vals[h] = (uint64_t)rank << 32 | (uint32_t)id;
}

int tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b, uint32_t *rank, int32_t *id) {
    if (!m->keys) return 0;
    uint64_t k = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    size_t h = pair_hash(k) & m->mask;
    for (;; h = (h + 1) & m->mask) {
        if (m->keys[h] == UINT64_MAX) return 0;
        if (m->keys[h] == k) {
            *rank = (uint32_t)(m->vals[h] >> 32);
            *id = (int32_t)(uint32_t)m->vals[h];
            return 1;
        }
    }
}

void tok_pairmap_clear(tok_pairmap *m) {
    g_free(m->keys);
    g_free(m->vals);
    m->keys = m->vals = NULL;
}
