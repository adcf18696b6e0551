/* core/backend/bf16_cache.c: the range map of bf16 working copies (see bf16_cache.h).
 *
 * A sorted array: a model has a few hundred weight tensors, looked up on every GEMM and
 * checked on every op's output, so lookups are binary searches and an overlap query only
 * scans the entries that can reach the written range (those starting at most
 * 4 * max_n - 1 bytes before it). Inserts and drops move the tail; they happen once per
 * weight and when blocks are freed. */
#include "backend/bf16_cache.h"

#include <stdlib.h>
#include <string.h>

#include <baldro/abi.h>

void bk_bf16_cache_init(bk_bf16_cache *c) {
    memset(c, 0, sizeof *c);
}

void bk_bf16_cache_clear(bk_bf16_cache *c, bk_bf16_free_fn free_fn, void *ud) {
    for (size_t i = 0; i < c->len; i++)
        if (free_fn) free_fn(ud, c->e[i].copy, (size_t)(2 * c->e[i].n));
    free(c->e);
    bk_bf16_cache_init(c);
}

/* Does the master of `e` share a byte with [p, p + bytes)? (No sums that could wrap.) */
static int overlaps(const bk_bf16_entry *e, uintptr_t p, size_t bytes) {
    if (bytes == 0 || e->n == 0) return 0;
    if (e->src >= p) return e->src - p < bytes;
    return p - e->src < 4 * e->n;
}

/* First index whose (src, n) is >= (src, n). */
static size_t lower_bound(const bk_bf16_cache *c, uintptr_t src, uint64_t n) {
    size_t lo = 0, hi = c->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const bk_bf16_entry *e = &c->e[mid];
        if (e->src < src || (e->src == src && e->n < n))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First entry that could overlap a range starting at p: src >= p - (4 max_n - 1). */
static size_t scan_start(const bk_bf16_cache *c, uintptr_t p) {
    uint64_t reach = c->max_n ? 4 * c->max_n - 1 : 0;
    uintptr_t lo = p > reach ? p - (uintptr_t)reach : 0;
    return lower_bound(c, lo, 0);
}

bk_bf16_entry *bk_bf16_cache_find(bk_bf16_cache *c, const void *src, uint64_t n) {
    uintptr_t s = (uintptr_t)src;
    size_t i = lower_bound(c, s, n);
    if (i < c->len && c->e[i].src == s && c->e[i].n == n) return &c->e[i];
    return NULL;
}

int bk_bf16_cache_insert(bk_bf16_cache *c, const void *src, uint64_t n, void *copy,
                         bk_bf16_entry **out) {
    if (out) *out = NULL;
    uintptr_t s = (uintptr_t)src;
    if (n == 0 || n > UINT64_MAX / 4) return BALDRO_EINVAL;
    size_t i = lower_bound(c, s, n);
    if (i < c->len && c->e[i].src == s && c->e[i].n == n) return BALDRO_EINVAL;
    if (c->len == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        bk_bf16_entry *e = realloc(c->e, cap * sizeof *e);
        if (!e) return BALDRO_ENOMEM;
        c->e = e;
        c->cap = cap;
    }
    memmove(&c->e[i + 1], &c->e[i], (c->len - i) * sizeof *c->e);
    c->e[i] = (bk_bf16_entry){.src = s, .n = n, .copy = copy, .valid = 0};
    c->len++;
    if (n > c->max_n) c->max_n = n;
    c->bytes += (size_t)(2 * n);
    if (out) *out = &c->e[i];
    return BALDRO_OK;
}

size_t bk_bf16_cache_invalidate(bk_bf16_cache *c, const void *p, size_t bytes) {
    if (c->len == 0 || bytes == 0) return 0;
    uintptr_t a = (uintptr_t)p;
    size_t hit = 0;
    for (size_t i = scan_start(c, a); i < c->len; i++) {
        bk_bf16_entry *e = &c->e[i];
        if (e->src >= a && e->src - a >= bytes) break; /* starts at or past the end */
        if (e->valid && overlaps(e, a, bytes)) {
            e->valid = 0;
            hit++;
        }
    }
    c->n_invalidated += hit;
    return hit;
}

bk_bf16_entry *bk_bf16_cache_adamw(bk_bf16_cache *c, const void *param, uint64_t n) {
    if (c->len == 0 || n == 0 || n > UINT64_MAX / 4) return NULL;
    bk_bf16_cache_invalidate(c, param, (size_t)(4 * n));
    bk_bf16_entry *e = bk_bf16_cache_find(c, param, n);
    if (e) {
        e->valid = 1;
        c->n_refreshed++;
    }
    return e;
}

size_t bk_bf16_cache_drop(bk_bf16_cache *c, const void *p, size_t bytes, bk_bf16_free_fn free_fn,
                          void *ud) {
    if (c->len == 0 || bytes == 0) return 0;
    uintptr_t a = (uintptr_t)p;
    size_t freed = 0, w = scan_start(c, a), i = w;
    for (; i < c->len; i++) {
        bk_bf16_entry *e = &c->e[i];
        if (e->src >= a && e->src - a >= bytes) break;
        if (overlaps(e, a, bytes)) {
            if (free_fn) free_fn(ud, e->copy, (size_t)(2 * e->n));
            freed += (size_t)(2 * e->n);
            continue;
        }
        c->e[w++] = *e;
    }
    if (w == i) return 0;
    memmove(&c->e[w], &c->e[i], (c->len - i) * sizeof *c->e);
    c->len -= i - w;
    c->bytes -= freed;
    c->max_n = 0;
    for (size_t k = 0; k < c->len; k++)
        if (c->e[k].n > c->max_n) c->max_n = c->e[k].n;
    return freed;
}
