/*
 * core/tokenizer/bpe.c: the BPE merge loop for one pre-tokenized piece.
 *
 * The same algorithm as tokenizers' Word::merge_all: symbols in a linked list, candidate
 * pairs in a min-heap ordered by (rank, position); a popped candidate is dropped when its
 * left symbol was merged away or the pair no longer yields the same token. That makes the
 * result identical to "merge the lowest-ranked pair, leftmost first" at O(n log n), which
 * matters for 10k-character words.
 */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

typedef struct {
    int32_t id;
    int32_t prev, next;
    uint32_t len; /* 0 once merged into its left neighbour */
} bpe_sym;

typedef struct {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
} bpe_cand;

static int cand_less(const bpe_cand *a, const bpe_cand *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(GArray *h, bpe_cand c) {
    g_array_append_val(h, c);
    bpe_cand *v = (bpe_cand *)(void *)h->data;
    size_t i = h->len - 1;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&v[i], &v[p])) break;
        bpe_cand tmp = v[i];
        v[i] = v[p];
        v[p] = tmp;
        i = p;
    }
}

static bpe_cand heap_pop(GArray *h) {
    bpe_cand *v = (bpe_cand *)(void *)h->data;
    bpe_cand top = v[0];
    v[0] = v[h->len - 1];
    g_array_set_size(h, h->len - 1);
    size_t n = h->len, i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cand_less(&v[l], &v[m])) m = l;
        if (r < n && cand_less(&v[r], &v[m])) m = r;
        if (m == i) break;
        bpe_cand tmp = v[i];
        v[i] = v[m];
        v[m] = tmp;
        i = m;
    }
    return top;
}

static void push_pair(const baldro_tokenizer *t, GArray *heap, const bpe_sym *s, int32_t pos) {
    int32_t nx = s[pos].next;
    if (nx < 0) return;
    uint32_t rank;
    int32_t id;
    if (tok_pairmap_get(&t->merges, s[pos].id, s[nx].id, &rank, &id))
        heap_push(heap, (bpe_cand){ rank, (uint32_t)pos, id });
}

static void sym_add(GArray *syms, int32_t id, uint32_t len) {
    bpe_sym s = { id, (int32_t)syms->len - 1, -1, len };
    g_array_append_val(syms, s);
}

/* The initial symbols: bytes for a byte-level model, else characters, with byte fallback
 * or the unknown token for characters outside the vocabulary. */
static void initial_symbols(const baldro_tokenizer *t, const char *s, size_t len,
                            GArray *syms) {
    if (t->byte_level) {
        for (size_t i = 0; i < len; i++) {
            int32_t id = t->byte_id[(unsigned char)s[i]];
            if (id >= 0) sym_add(syms, id, 1);
            else if (t->unk_id >= 0) sym_add(syms, t->unk_id, 1);
        }
        return;
    }
    const char *p = s, *end = s + len;
    while (p < end) {
        const char *q = g_utf8_next_char(p);
        if (q > end) q = end;
        size_t cl = (size_t)(q - p);
        int32_t id = tok_strmap_get(&t->by_raw, t->raw, t->raw_len, p, cl);
        if (id >= 0) {
            sym_add(syms, id, (uint32_t)cl);
        } else {
            int have_fb = t->byte_fallback;
            for (size_t k = 0; have_fb && k < cl; k++)
                if (t->fallback_id[(unsigned char)p[k]] < 0) have_fb = 0;
            if (have_fb) {
                for (size_t k = 0; k < cl; k++)
                    sym_add(syms, t->fallback_id[(unsigned char)p[k]], 1);
            } else if (t->unk_id >= 0) {
                bpe_sym *v = (bpe_sym *)(void *)syms->data;
                /* fuse_unk: consecutive unknowns become one symbol */
                if (t->fuse_unk && syms->len > 0 && v[syms->len - 1].id == t->unk_id)
                    v[syms->len - 1].len += (uint32_t)cl;
                else
                    sym_add(syms, t->unk_id, (uint32_t)cl);
            }
            /* no unk token: tokenizers drops the character */
        }
        p = q;
    }
}

void tok_bpe_piece(const baldro_tokenizer *t, const char *s, size_t len, GArray *out) {
    if (len == 0) return;
    if (t->ignore_merges) {
        int32_t id = tok_strmap_get(&t->by_raw, t->raw, t->raw_len, s, len);
        if (id >= 0) {
            g_array_append_val(out, id);
            return;
        }
    }
    GArray *syms = g_array_sized_new(FALSE, FALSE, sizeof(bpe_sym), (guint)len);
    initial_symbols(t, s, len, syms);
    bpe_sym *v = (bpe_sym *)(void *)syms->data;
    int32_t n = (int32_t)syms->len;
    if (n > 0) v[n - 1].next = -1;
    for (int32_t i = 0; i + 1 < n; i++) v[i].next = i + 1;
    GArray *heap = g_array_sized_new(FALSE, FALSE, sizeof(bpe_cand), (guint)(n > 0 ? n : 1));
    for (int32_t i = 0; i + 1 < n; i++) push_pair(t, heap, v, i);
    while (heap->len > 0) {
        bpe_cand c = heap_pop(heap);
        int32_t pos = (int32_t)c.pos;
        if (v[pos].len == 0 || v[pos].next < 0) continue;
        int32_t nx = v[pos].next;
        uint32_t rank;
        int32_t id;
        if (!tok_pairmap_get(&t->merges, v[pos].id, v[nx].id, &rank, &id) || id != c.new_id)
            continue;
        v[pos].id = id;
        v[pos].len += v[nx].len;
        v[pos].next = v[nx].next;
        v[nx].len = 0;
        if (v[pos].next >= 0) v[v[pos].next].prev = pos;
        if (v[pos].prev >= 0) push_pair(t, heap, v, v[pos].prev);
        push_pair(t, heap, v, pos);
    }
    for (int32_t i = 0; i < n; i = v[i].next) {
        g_array_append_val(out, v[i].id);
        if (v[i].next < 0) break;
    }
    g_array_free(heap, TRUE);
    g_array_free(syms, TRUE);
}
