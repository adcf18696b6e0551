/*
 * core/tokenizer/utf8.c: invalid UTF-8, handled the way the Python and Rust sides do.
 * Python's bytes.decode(errors="replace") and Rust's String::from_utf8_lossy both follow
 * the Unicode "maximal subpart" practice: a truncated but otherwise valid sequence becomes
 * one U+FFFD, any other bad byte one U+FFFD each. (g_utf8_make_valid() replaces byte by
 * byte, which gives more U+FFFD than HF for a truncated sequence.)
 */
#include <string.h>

#include "tokenizer/tokenizer_internal.h"

static const char REPL[] = "\xef\xbf\xbd";

/* Length of the valid sequence at p (1..4), or 0 with *bad set to the length of the
 * maximal invalid subpart to replace by one U+FFFD. */
static size_t utf8_step(const unsigned char *p, size_t avail, size_t *bad) {
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f; /* nothing past U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    size_t i = 1;
    for (; i < need && i < avail; i++) {
        unsigned x = p[i];
        if (x < lo || x > hi) break;
        lo = 0x80;
        hi = 0xbf;
    }
    if (i == need) return need;
    *bad = i;
    return 0;
}

static void append_fixed(GString *out, const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        size_t bad = 0, k;
        while (i < len && (k = utf8_step(p + i, len - i, &bad)) > 0) i += k;
        g_string_append_len(out, s + start, (gssize)(i - start));
        if (i < len) {
            g_string_append_len(out, REPL, 3);
            i += bad;
        }
    }
}

/* Valid UTF-8, NUL included (g_utf8_validate_len refuses NUL, Rust and Python do not). */
int tok_utf8_valid(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    size_t bad, k;
    for (size_t i = 0; i < len; i += k)
        if ((k = utf8_step(p + i, len - i, &bad)) == 0) return 0;
    return 1;
}

char *tok_utf8_repair(const char *s, size_t len, size_t *out_len) {
    if (tok_utf8_valid(s, len)) return NULL;
    GString *out = g_string_sized_new(len + 16);
    append_fixed(out, s, len);
    *out_len = out->len;
    return g_string_free(out, FALSE);
}

void tok_utf8_lossy_append(GString *out, const char *s, size_t len) {
    append_fixed(out, s, len);
}
