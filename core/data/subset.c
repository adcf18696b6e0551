/* core/data/subset.c: see subset.h. */
#include "data/subset.h"

#include <glib.h>
#include <string.h>

/* Keeps items [0, first) and [n - last, n) of s, in order. */
static void keep_ends(baldro_tofu_split *s, size_t first, size_t last) {
    for (size_t i = first; i < s->n - last; i++) g_free((gpointer)s->items[i].perturbed);
    memmove(s->items + first, s->items + (s->n - last), last * sizeof *s->items);
    s->n = first + last;
}

void baldro_tofu_keep_first(baldro_tofu_split *s, size_t n) {
    if (n > 0 && n < s->n) keep_ends(s, n, 0);
}

int baldro_tofu_subset_authors(baldro_tofu_split *s, const char *name, size_t n_authors,
                               size_t n_forget, baldro_error *err) {
    if (n_authors == 0) return BALDRO_OK;
    int is_full = !strcmp(name, "full");
    int is_retain = g_str_has_prefix(name, "retain") && g_ascii_isdigit(name[6]);
    if (!is_full && !is_retain) return BALDRO_OK;
    size_t keep = n_authors * BALDRO_TOFU_QA_PER_AUTHOR, last = is_full ? n_forget : 0;
    if (keep + last > s->n)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "data.subset_authors = %zu: %s holds %zu items, fewer than the "
                                "%zu that %zu retain authors%s need", n_authors, s->path, s->n,
                                keep + last, n_authors, is_full ? " plus the forget authors" : "");
    keep_ends(s, keep, last);
    return BALDRO_OK;
}
