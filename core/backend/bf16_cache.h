/*
 * core/backend/bf16_cache.h: the host-side bookkeeping of a backend's bf16 working copies
 * of fp32 weights (runtime.precision = "bf16", docs/cuda.md "bf16").
 *
 * A bf16 GEMM needs its weight operand in bf16. Converting every weight at every use would
 * cost a read and a write of the whole model per GEMM, so the backend keeps one bf16 copy
 * per weight tensor, keyed by the device range of the fp32 tensor (its master copy):
 *
 *   - created (invalid) on the first GEMM that uses the range, then converted and marked
 *     valid; later GEMMs reuse it while it stays valid;
 *   - refreshed by the AdamW kernel itself: the step that writes the fp32 master also
 *     writes its bf16 copy (bk_bf16_cache_adamw), so it stays valid across steps;
 *   - invalidated by any other write that touches the range (upload, copy, fill, any op's
 *     output): the next GEMM converts it again. Invalidating keeps the copy's memory;
 *   - dropped (its memory freed) when the block holding the fp32 range is freed, so that
 *     a later block at the same address cannot meet a stale copy.
 *
 * Only bookkeeping lives here: no CUDA call, no device memory access (the caller allocates,
 * converts and frees copies), so a unit test runs it on the CPU
 * (tests/unit/test_backend_bf16_cache.c). Ranges are plain addresses; nothing is
 * dereferenced. Entries may overlap one another (two views of one block); every query
 * handles that.
 */
#ifndef BALDRO_BF16_CACHE_H
#define BALDRO_BF16_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bk_bf16_entry {
    uintptr_t src; /* first byte of the fp32 master tensor                          */
    uint64_t n;    /* elements: the master is [src, src + 4n), the copy 2n bytes     */
    void *copy;    /* the bf16 copy (device memory, owned by the backend)            */
    int valid;     /* 1: copy == bf16(master) as of the last op enqueued             */
} bk_bf16_entry;

typedef struct bk_bf16_cache {
    bk_bf16_entry *e; /* sorted by (src, n); no two with the same (src, n)           */
    size_t len, cap;
    uint64_t max_n; /* >= every entry's n: bounds the backward reach of an overlap scan */
    size_t bytes;   /* bytes of all copies (2n each)                                  */
    /* counters for statistics and tests */
    uint64_t n_conversions; /* copies (re)converted by a GEMM                         */
    uint64_t n_hits;        /* GEMM operands served by a valid copy                   */
    uint64_t n_refreshed;   /* copies rewritten by AdamW                              */
    uint64_t n_invalidated; /* valid copies turned invalid by a write                 */
} bk_bf16_cache;

/* Frees one copy's device memory: the caller's allocator. */
typedef void (*bk_bf16_free_fn)(void *ud, void *copy, size_t bytes);

void bk_bf16_cache_init(bk_bf16_cache *c);
/* Drops every entry (free_fn on each copy, may be NULL) and the table itself. */
void bk_bf16_cache_clear(bk_bf16_cache *c, bk_bf16_free_fn free_fn, void *ud);

/* The entry for exactly the fp32 tensor [src, src + 4n), or NULL. */
bk_bf16_entry *bk_bf16_cache_find(bk_bf16_cache *c, const void *src, uint64_t n);

/* Adds an invalid entry for [src, src + 4n) holding `copy` (2n bytes). The range must not
 * be in the table yet (BALDRO_EINVAL) and n must be > 0; BALDRO_ENOMEM when the table
 * cannot grow. The returned pointer is valid until the next insert or drop. */
int bk_bf16_cache_insert(bk_bf16_cache *c, const void *src, uint64_t n, void *copy,
                         bk_bf16_entry **out);

/* A write to [p, p + bytes): every valid entry whose master overlaps it becomes invalid.
 * Returns how many were invalidated. bytes = 0 touches nothing. */
size_t bk_bf16_cache_invalidate(bk_bf16_cache *c, const void *p, size_t bytes);

/* AdamW is about to update the fp32 tensor [param, param + 4n). Every other entry that
 * overlaps it is invalidated; the entry for exactly that tensor, if there is one, is
 * marked valid and returned: the caller's kernel must write its copy in the same pass.
 * NULL when the tensor has no copy (nothing to refresh). */
bk_bf16_entry *bk_bf16_cache_adamw(bk_bf16_cache *c, const void *param, uint64_t n);

/* The block [p, p + bytes) is being freed: every entry whose master overlaps it is
 * removed and its copy passed to free_fn. Returns the bytes of copies freed. */
size_t bk_bf16_cache_drop(bk_bf16_cache *c, const void *p, size_t bytes, bk_bf16_free_fn free_fn,
                          void *ud);

#endif /* BALDRO_BF16_CACHE_H */
