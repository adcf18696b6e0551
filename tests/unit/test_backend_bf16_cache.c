/*
 * tests/unit/test_backend_bf16_cache.c: the bf16 working-copy bookkeeping
 * (core/backend/bf16_cache.c) and the fp32 -> bf16 rounding (core/backend/bf16.h) that the
 * CUDA backend's bf16 mode uses. Both are plain C, so they run here without a GPU.
 *
 * Addresses are made-up integers: the cache never dereferences them.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <baldro/abi.h>

#include "backend/bf16.h"
#include "backend/bf16_cache.h"

#define A(x) ((void *)(uintptr_t)(x))

/* ---- the copies' allocator: counts what the cache frees --------------------------------- */
typedef struct freed {
    size_t calls, bytes;
    uintptr_t last;
} freed;
static void count_free(void *ud, void *copy, size_t bytes) {
    freed *f = ud;
    f->calls++;
    f->bytes += bytes;
    f->last = (uintptr_t)copy;
}

/* Inserts [src, src + 4n) with copy `copy` and marks it valid (a GEMM converted it). */
static bk_bf16_entry *add_valid(bk_bf16_cache *c, uintptr_t src, uint64_t n, uintptr_t copy) {
    bk_bf16_entry *e = NULL;
    cr_assert_eq(bk_bf16_cache_insert(c, A(src), n, A(copy), &e), BALDRO_OK);
    cr_assert_not_null(e);
    cr_assert_eq(e->valid, 0, "a new entry starts invalid");
    e->valid = 1;
    return e;
}

static int valid(bk_bf16_cache *c, uintptr_t src, uint64_t n) {
    bk_bf16_entry *e = bk_bf16_cache_find(c, A(src), n);
    cr_assert_not_null(e, "entry %#lx/%llu is missing", (unsigned long)src,
                       (unsigned long long)n);
    return e->valid;
}

Test(bf16_cache, lookup_is_exact) {
    bk_bf16_cache c;
    bk_bf16_cache_init(&c);
    cr_assert_null(bk_bf16_cache_find(&c, A(0x1000), 16));
    add_valid(&c, 0x1000, 16, 0x900000);
    bk_bf16_entry *e = bk_bf16_cache_find(&c, A(0x1000), 16);
    cr_assert_not_null(e);
    cr_assert_eq((uintptr_t)e->copy, 0x900000);
    /* Same start but another length, or inside the range: other tensors. */
    cr_assert_null(bk_bf16_cache_find(&c, A(0x1000), 8));
    cr_assert_null(bk_bf16_cache_find(&c, A(0x1004), 15));
    cr_assert_eq(c.bytes, 32);
    /* The same range twice is refused; n = 0 too. */
    cr_assert_eq(bk_bf16_cache_insert(&c, A(0x1000), 16, A(0x2), NULL), BALDRO_EINVAL);
    cr_assert_eq(bk_bf16_cache_insert(&c, A(0x5000), 0, A(0x2), NULL), BALDRO_EINVAL);
    /* Another length at the same start is a second entry (a view of the same block). */
    add_valid(&c, 0x1000, 8, 0x910000);
    cr_assert_eq(c.len, 2);
    cr_assert_eq(c.bytes, 48);
    bk_bf16_cache_clear(&c, NULL, NULL);
    cr_assert_eq(c.len, 0);
}

Test(bf16_cache, overlapping_writes_invalidate) {
    bk_bf16_cache c;
    bk_bf16_cache_init(&c);
    /* Three weights back to back: [0x1000, 0x1100), [0x1100, 0x1200), [0x1200, 0x1300). */
    add_valid(&c, 0x1000, 64, 0xa000);
    add_valid(&c, 0x1100, 64, 0xb000);
    add_valid(&c, 0x1200, 64, 0xc000);
    /* A write that ends exactly where the first begins, or starts where the last ends. */
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0x0f00), 0x100), 0);
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0x1300), 0x100), 0);
    cr_assert(valid(&c, 0x1000, 64) && valid(&c, 0x1100, 64) && valid(&c, 0x1200, 64));
    /* One byte of the middle one's last element. */
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0x11ff), 1), 1);
    cr_assert(valid(&c, 0x1000, 64));
    cr_assert_not(valid(&c, 0x1100, 64));
    cr_assert(valid(&c, 0x1200, 64));
    /* Already invalid: not counted again. A write straddling the first two. */
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0x10f0), 0x20), 1);
    cr_assert_not(valid(&c, 0x1000, 64));
    /* A write covering everything, starting before the first. */
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0x10), 0x10000), 1);
    cr_assert_not(valid(&c, 0x1200, 64));
    /* Zero bytes touch nothing. */
    bk_bf16_entry *e = bk_bf16_cache_find(&c, A(0x1000), 64);
    e->valid = 1;
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0x1000), 0), 0);
    cr_assert(valid(&c, 0x1000, 64));
    cr_assert_eq(c.n_invalidated, 3);
    bk_bf16_cache_clear(&c, NULL, NULL);
}

Test(bf16_cache, write_inside_a_long_entry_found_past_short_ones) {
    /* The overlap scan starts max_n elements back: a long entry that begins far before
     * the write, with short ones between, must still be found. */
    bk_bf16_cache c;
    bk_bf16_cache_init(&c);
    add_valid(&c, 0x100000, 1u << 20, 0xa0000000); /* [0x100000, 0x500000) */
    for (int i = 0; i < 50; i++) add_valid(&c, 0x200000 + 0x100 * (uintptr_t)i, 16, 0xb0000000);
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0x4ffffc), 4), 1);
    cr_assert_not(valid(&c, 0x100000, 1u << 20));
    for (int i = 0; i < 50; i++) cr_assert(valid(&c, 0x200000 + 0x100 * (uintptr_t)i, 16));
    bk_bf16_cache_clear(&c, NULL, NULL);
}

Test(bf16_cache, adamw_refresh_keeps_valid) {
    bk_bf16_cache c;
    bk_bf16_cache_init(&c);
    add_valid(&c, 0x1000, 64, 0xa000);  /* the parameter */
    add_valid(&c, 0x1040, 16, 0xb000);  /* a view inside it */
    add_valid(&c, 0x1100, 64, 0xc000);  /* the next parameter */
    bk_bf16_entry *e = bk_bf16_cache_adamw(&c, A(0x1000), 64);
    cr_assert_not_null(e);
    cr_assert_eq((uintptr_t)e->copy, 0xa000, "the kernel must get this copy to refresh");
    cr_assert(valid(&c, 0x1000, 64), "refreshed by the same kernel: still valid");
    cr_assert_not(valid(&c, 0x1040, 16), "a view AdamW does not rewrite is stale");
    cr_assert(valid(&c, 0x1100, 64));
    cr_assert_eq(c.n_refreshed, 1);
    /* An invalid copy becomes valid through AdamW too (the kernel writes all of it). */
    bk_bf16_cache_invalidate(&c, A(0x1000), 4);
    cr_assert_not(valid(&c, 0x1000, 64));
    cr_assert_not_null(bk_bf16_cache_adamw(&c, A(0x1000), 64));
    cr_assert(valid(&c, 0x1000, 64));
    /* A parameter without a copy: nothing to refresh, overlapping copies invalidated. */
    cr_assert_null(bk_bf16_cache_adamw(&c, A(0x10e0), 8)); /* [0x10e0, 0x1100) */
    cr_assert_not(valid(&c, 0x1000, 64));
    cr_assert(valid(&c, 0x1100, 64));
    bk_bf16_cache_clear(&c, NULL, NULL);
}

Test(bf16_cache, free_drops_copies_in_the_block) {
    bk_bf16_cache c;
    bk_bf16_cache_init(&c);
    add_valid(&c, 0x1000, 64, 0xa000);
    add_valid(&c, 0x1100, 32, 0xb000);
    add_valid(&c, 0x2000, 64, 0xc000);
    freed f = {0};
    /* The block [0x1000, 0x1200) goes: its two copies are freed. */
    cr_assert_eq(bk_bf16_cache_drop(&c, A(0x1000), 0x200, count_free, &f), 128 + 64);
    cr_assert_eq(f.calls, 2);
    cr_assert_eq(f.bytes, 192);
    cr_assert_eq(c.len, 1);
    cr_assert_eq(c.bytes, 128);
    cr_assert_eq(c.max_n, 64);
    cr_assert_null(bk_bf16_cache_find(&c, A(0x1000), 64));
    cr_assert(valid(&c, 0x2000, 64));
    /* A new block at the old address starts with no copy. */
    add_valid(&c, 0x1000, 64, 0xd000);
    cr_assert_eq(c.len, 2);
    /* Dropping nothing. */
    cr_assert_eq(bk_bf16_cache_drop(&c, A(0x5000), 0x100, count_free, &f), 0);
    cr_assert_eq(f.calls, 2);
    f = (freed){0};
    bk_bf16_cache_clear(&c, count_free, &f);
    cr_assert_eq(f.calls, 2);
    cr_assert_eq(f.bytes, 256);
    cr_assert_eq(c.len, 0);
    cr_assert_eq(c.bytes, 0);
}

Test(bf16_cache, many_tensors) {
    /* A 1B-sized model: ~150 weights in shuffled insert order; sorted lookups, a write
     * into each one invalidates exactly it, AdamW refreshes each, drops free all. */
    enum { N = 1000 };
    bk_bf16_cache c;
    bk_bf16_cache_init(&c);
    uintptr_t src[N];
    uint64_t n[N];
    uintptr_t at = 0x10000000;
    for (int i = 0; i < N; i++) {
        n[i] = 1 + (uint64_t)((i * 7919) % 4096);
        src[i] = at;
        at += 4 * n[i] + 256 * (uint64_t)(i % 3); /* gaps of 0, 256, 512 bytes */
    }
    int order[N];
    for (int i = 0; i < N; i++) order[i] = i;
    srand(7);
    for (int i = N - 1; i > 0; i--) {
        int j = rand() % (i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < N; k++) add_valid(&c, src[order[k]], n[order[k]], 0xf0000000u + k);
    cr_assert_eq(c.len, N);
    for (size_t i = 1; i < c.len; i++) cr_assert(c.e[i - 1].src < c.e[i].src, "not sorted");
    for (int i = 0; i < N; i++) {
        cr_assert_eq(bk_bf16_cache_invalidate(&c, A(src[i] + 4 * n[i] - 4), 4), 1);
        cr_assert_not(valid(&c, src[i], n[i]));
        if (i + 1 < N) cr_assert(valid(&c, src[i + 1], n[i + 1]));
        cr_assert_not_null(bk_bf16_cache_adamw(&c, A(src[i]), n[i]));
        cr_assert(valid(&c, src[i], n[i]));
    }
    freed f = {0};
    cr_assert_gt(bk_bf16_cache_drop(&c, A(src[0]), (size_t)(at - src[0]), count_free, &f), 0);
    cr_assert_eq(f.calls, N);
    cr_assert_eq(c.len, 0);
    cr_assert_eq(c.bytes, 0);
    bk_bf16_cache_clear(&c, NULL, NULL);
}

Test(bf16_cache, edge_cases) {
    bk_bf16_cache c;
    bk_bf16_cache_init(&c);
    /* Empty table: every query is a no-op. */
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0), SIZE_MAX), 0);
    cr_assert_null(bk_bf16_cache_adamw(&c, A(0x1000), 4));
    cr_assert_eq(bk_bf16_cache_drop(&c, A(0), SIZE_MAX, NULL, NULL), 0);
    /* Ranges at address 0 and near the top of the address space do not wrap. */
    add_valid(&c, 0, 4, 0xa);
    uintptr_t top = UINTPTR_MAX - 15; /* [top, top + 16) ends at the last byte */
    add_valid(&c, top, 4, 0xb);
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(top - 100), 100), 0);
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(UINTPTR_MAX), 1), 1);
    cr_assert_not(valid(&c, top, 4));
    cr_assert(valid(&c, 0, 4));
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(15), 1), 1);
    cr_assert_not(valid(&c, 0, 4));
    /* A one-element tensor. */
    add_valid(&c, 0x100, 1, 0xc);
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0x104), 4), 0);
    cr_assert_eq(bk_bf16_cache_invalidate(&c, A(0x103), 1), 1);
    bk_bf16_cache_clear(&c, NULL, NULL);
}

/* ---- rounding ------------------------------------------------------------------------- */

/* Reference: the nearest bf16 by comparing distances in double, ties to the even mantissa.
 * Works on the value, not the bits, so it checks bk_f32_to_bf16's bit trick. */
static uint16_t ref_round(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t lo = (uint16_t)(u >> 16); /* truncation: toward zero */
    uint16_t hi = (uint16_t)(lo + 1);  /* next away from zero (may become infinity) */
    double x = fabs((double)f);
    double a = fabs((double)bk_bf16_to_f32(lo));
    /* Past the largest finite bf16, (2 - 2^-7) 2^127, the next step is infinity, which IEEE
     * rounding treats as 2^128 (one ulp further): x at or beyond half an ulp past the
     * largest finite value rounds to it (the tie too, 0x7f80 being even). */
    double b = (hi & 0x7fff) == 0x7f80 ? 0x1p128 : fabs((double)bk_bf16_to_f32(hi));
    if (x - a < b - x) return lo;
    if (x - a > b - x) return hi;
    return (lo & 1) ? hi : lo;
}

Test(bf16_round, matches_nearest_even_on_a_sweep) {
    /* Every 16-bit high half with a spread of low halves, both signs: exact ties (0x8000),
     * just below and above them, and values near the largest finite and the subnormals. */
    static const uint32_t lows[] = {0x0000, 0x0001, 0x3fff, 0x7fff, 0x8000,
                                    0x8001, 0xbfff, 0xfffe, 0xffff};
    size_t n = 0;
    for (uint32_t hi = 0; hi < 0x10000; hi++) {
        if ((hi & 0x7f80) == 0x7f80) continue; /* inf/NaN: below */
        for (size_t k = 0; k < sizeof lows / sizeof lows[0]; k++) {
            uint32_t u = hi << 16 | lows[k];
            float f;
            memcpy(&f, &u, 4);
            uint16_t got = bk_f32_to_bf16(f), want = ref_round(f);
            cr_assert_eq(got, want, "%a (%#x): got %#x, want %#x", (double)f, u, got, want);
            n++;
        }
    }
    cr_assert_gt(n, 500000);
}

Test(bf16_round, specials) {
    cr_assert_eq(bk_f32_to_bf16(0.0f), 0x0000);
    cr_assert_eq(bk_f32_to_bf16(-0.0f), 0x8000);
    cr_assert_eq(bk_f32_to_bf16(INFINITY), 0x7f80);
    cr_assert_eq(bk_f32_to_bf16(-INFINITY), 0xff80);
    cr_assert_eq(bk_f32_to_bf16(1.0f), 0x3f80);
    /* 1 + 2^-8 is exactly half way between 1 and 1 + 2^-7: to even (1). */
    cr_assert_eq(bk_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
    /* 1 + 3 * 2^-8 is half way between 1 + 2^-7 (odd) and 1 + 2^-6: to even (up). */
    cr_assert_eq(bk_f32_to_bf16(1.0f + 0x3p-8f), 0x3f82);
    /* FLT_MAX rounds to infinity (it is past the largest bf16 by more than half an ulp). */
    cr_assert_eq(bk_f32_to_bf16(0x1.fffffep127f), 0x7f80);
    /* NaNs stay NaN, including one whose payload is only in the low 16 bits (adding
     * the rounding bias would carry it into infinity), with the sign kept. */
    const uint32_t nans[] = {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu, 0xffc00000u};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        float f;
        memcpy(&f, &nans[i], 4);
        uint16_t h = bk_f32_to_bf16(f);
        cr_assert((h & 0x7f80) == 0x7f80 && (h & 0x7f) != 0, "%#x -> %#x is not a NaN", nans[i],
                  h);
        cr_assert_eq(h >> 15, nans[i] >> 31, "sign of %#x lost", nans[i]);
        cr_assert(isnan(bk_bf16_to_f32(h)));
    }
    /* Round trip: every bf16 (not NaN) converts to itself. */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue;
        cr_assert_eq(bk_f32_to_bf16(bk_bf16_to_f32((uint16_t)h)), h);
    }
}
