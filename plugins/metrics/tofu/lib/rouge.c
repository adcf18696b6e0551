/*
 * rouge.c: rouge_score's tokenizer, ROUGE-1 and ROUGE-L (see rouge.h).
 */
#include "rouge.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "porter.h"

/* ---- tokenizer ----------------------------------------------------------------------- */

/* One pass over the text. Counts tokens (returned) and the bytes they need with their
 * NULs (*bytes); when dst is given, also writes them there and their starts to ptrs. */
static size_t scan(const unsigned char *s, size_t len, char *dst, char **ptrs, size_t *bytes) {
    size_t ntok = 0, w = 0, i = 0;
    int in_tok = 0;
    while (i < len) {
        unsigned char c = s[i];
        char ch = 0;  /* the token character this code point gives, 0 if none */
        int ends = 0; /* a separator follows it (U+0130 -> "i" U+0307)       */
        size_t adv = 1;
        if (c < 0x80) {
            if (c >= 'A' && c <= 'Z')
                ch = (char)(c - 'A' + 'a');
            else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
                ch = (char)c;
        } else if (c == 0xC4 && i + 1 < len && s[i + 1] == 0xB0) {
            ch = 'i'; /* U+0130 */
            ends = 1;
            adv = 2;
        } else if (c == 0xE2 && i + 2 < len && s[i + 1] == 0x84 && s[i + 2] == 0xAA) {
            ch = 'k'; /* U+212A KELVIN SIGN */
            adv = 3;
        }
        /* Any other byte >= 0x80 is (part of) a separator. C4 and E2 are lead bytes, never
         * continuation bytes, so a UTF-8 decoder is always at a code point boundary there:
         * matching their byte sequences directly is what decoding would do. */
        i += adv;
        if (ch) {
            if (!in_tok) {
                if (ptrs) ptrs[ntok] = dst + w;
                ntok++;
                in_tok = 1;
            }
            if (dst) dst[w] = ch;
            w++;
        }
        if ((!ch || ends) && in_tok) {
            if (dst) dst[w] = '\0';
            w++;
            in_tok = 0;
        }
    }
    if (in_tok) {
        if (dst) dst[w] = '\0';
        w++;
    }
    *bytes = w;
    return ntok;
}

int baldro_rouge_tokenize(const char *text, size_t len, bool use_stemmer, char ***tokens,
                          size_t *n) {
    if (!tokens || !n || (!text && len)) return -1;
    const unsigned char *s = (const unsigned char *)text;
    size_t bytes = 0;
    size_t ntok = len ? scan(s, len, NULL, NULL, &bytes) : 0;

    size_t head = (ntok + 1) * sizeof(char *);
    if (ntok >= SIZE_MAX / sizeof(char *) - 1 || bytes > SIZE_MAX - head) return -1;
    char **ptrs = malloc(head + bytes + 1);
    if (!ptrs) return -1;
    char *dst = (char *)ptrs + head;
    if (len) scan(s, len, dst, ptrs, &bytes);

    size_t kept = 0;
    for (size_t i = 0; i < ntok; i++) {
        char *t = ptrs[i];
        size_t tl = strlen(t);
        /* rouge_score stems only tokens of more than 3 characters. */
        if (use_stemmer && tl > 3) tl = baldro_porter_stem(t, tl, t);
        /* and then drops empty tokens (a stem never is; kept for the definition). */
        if (tl > 0) ptrs[kept++] = t;
    }
    ptrs[kept] = NULL;
    *tokens = ptrs;
    *n = kept;
    return 0;
}

/* ---- scores -------------------------------------------------------------------------- */

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static void set_score(baldro_rouge_result *sc, size_t hits, size_t nt, size_t np, size_t p_den,
                      size_t r_den, int lcs_zero) {
    sc->hits = hits;
    sc->target_tokens = nt;
    sc->prediction_tokens = np;
    if (lcs_zero) {
        sc->precision = sc->recall = sc->fmeasure = 0.0;
        return;
    }
    double p = (double)hits / (double)p_den;
    double r = (double)hits / (double)r_den;
    sc->precision = p;
    sc->recall = r;
    sc->fmeasure = (p + r > 0) ? 2 * p * r / (p + r) : 0.0;
}

int baldro_rouge_score_tokens(const char *const *target, size_t n_target,
                              const char *const *prediction, size_t n_prediction,
                              baldro_rouge_result *rouge1, baldro_rouge_result *rougeL) {
    if ((!target && n_target) || (!prediction && n_prediction)) return -1;
    size_t nt = n_target, np = n_prediction;
    if (nt > SIZE_MAX / 8 || np > SIZE_MAX / 8 - nt) return -1;
    size_t total = nt + np;

    /* Give every distinct token a small integer id (open addressing, load <= 1/2), then
     * count and compare ids. One scratch block of size_t: slots, ids, counts, LCS row. */
    size_t cap = 2;
    while (cap < 2 * total) cap *= 2;
    size_t words = cap + total + 2 * total + (np + 1);
    if (words > SIZE_MAX / sizeof(size_t)) return -1;
    size_t *mem = calloc(words, sizeof(size_t));
    if (!mem) return -1;
    size_t *slot = mem;            /* [cap] token index + 1, 0 = empty  */
    size_t *id = slot + cap;       /* [total] id of each token          */
    size_t *cnt_t = id + total;    /* [total] per id: count in target   */
    size_t *cnt_p = cnt_t + total; /* [total] per id: count in prediction */
    size_t *row = cnt_p + total;   /* [np + 1] LCS DP row               */

    size_t nid = 0;
    for (size_t k = 0; k < total; k++) {
        const char *tok = k < nt ? target[k] : prediction[k - nt];
        size_t h = (size_t)hash_str(tok) & (cap - 1);
        for (;;) {
            if (slot[h] == 0) {
                slot[h] = k + 1;
                id[k] = nid++;
                break;
            }
            size_t o = slot[h] - 1;
            const char *other = o < nt ? target[o] : prediction[o - nt];
            if (strcmp(tok, other) == 0) {
                id[k] = id[o];
                break;
            }
            h = (h + 1) & (cap - 1);
        }
    }
    const size_t *tid = id, *pid = id + nt;

    if (rouge1) {
        for (size_t i = 0; i < nt; i++) cnt_t[tid[i]]++;
        for (size_t j = 0; j < np; j++) cnt_p[pid[j]]++;
        size_t hits = 0;
        for (size_t v = 0; v < nid; v++) hits += cnt_t[v] < cnt_p[v] ? cnt_t[v] : cnt_p[v];
        set_score(rouge1, hits, nt, np, np ? np : 1, nt ? nt : 1, 0);
    }
    if (rougeL) {
        size_t lcs = 0;
        if (nt && np) {
            for (size_t i = 0; i < nt; i++) {
                size_t diag = 0; /* row[j - 1] of the previous row */
                for (size_t j = 1; j <= np; j++) {
                    size_t up = row[j];
                    if (tid[i] == pid[j - 1])
                        row[j] = diag + 1;
                    else if (row[j - 1] > up)
                        row[j] = row[j - 1];
                    diag = up;
                }
            }
            lcs = row[np];
        }
        set_score(rougeL, lcs, nt, np, np, nt, nt == 0 || np == 0);
    }
    free(mem);
    return 0;
}

int baldro_rouge_score(const char *target, const char *prediction, baldro_rouge_result *rouge1,
                       baldro_rouge_result *rougeL) {
    if (!target || !prediction) return -1;
    char **t = NULL, **p = NULL;
    size_t nt = 0, np = 0;
    int rc = -1;
    if (baldro_rouge_tokenize(target, strlen(target), true, &t, &nt) != 0) goto out;
    if (baldro_rouge_tokenize(prediction, strlen(prediction), true, &p, &np) != 0) goto out;
    rc = baldro_rouge_score_tokens((const char *const *)t, nt, (const char *const *)p, np, rouge1,
                                   rougeL);
out:
    free(t);
    free(p);
    return rc;
}

int baldro_rouge_recall(const char *target, const char *prediction, double *rouge1_recall,
                        double *rougeL_recall) {
    baldro_rouge_result r1, rl;
    int rc = baldro_rouge_score(target, prediction, &r1, &rl);
    if (rc != 0) return rc;
    if (rouge1_recall) *rouge1_recall = r1.recall;
    if (rougeL_recall) *rougeL_recall = rl.recall;
    return 0;
}
