/*
 * core/data/subset.h: a smaller TOFU with the same structure, for demos and quick runs.
 *
 * TOFU's author splits are ordered by author, 20 questions each: full.json holds the 200
 * authors, retain90/95/99 the first 180/190/198, and forget10/05/01 the last 20/10/2
 * (so full = retainNN followed by the matching forgetNN). data.subset_authors = N keeps,
 * in every split that holds retain authors, only the first N of them:
 *   full       -> its first 20 N items, then its last n_forget items (the forget authors)
 *   retainNN   -> its first 20 N items
 * Forget, perturbed, holdout and world splits are left whole. N = 0 keeps everything.
 */
#ifndef BALDRO_DATA_SUBSET_H
#define BALDRO_DATA_SUBSET_H

#include <stddef.h>

#include "data/tofu.h"
#include "util/error.h"

#define BALDRO_TOFU_QA_PER_AUTHOR 20

/* Applies the rule above to `s`, loaded from split `name`. n_forget: the forget split's
 * size (for full). BALDRO_EINVAL when the split is too small for N authors. */
int baldro_tofu_subset_authors(baldro_tofu_split *s, const char *name, size_t n_authors,
                               size_t n_forget, baldro_error *err);

/* Keeps the first n items of s (all when n == 0 or n >= s->n): quick evaluations
 * (eval.max_items). */
void baldro_tofu_keep_first(baldro_tofu_split *s, size_t n);

#endif /* BALDRO_DATA_SUBSET_H */
