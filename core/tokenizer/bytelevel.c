/*
 * core/tokenizer/bytelevel.c: GPT-2's reversible byte <-> character table. Byte-level
 * vocabularies spell every byte as a printable code point (space is "Ġ", newline "Ċ") so
 * tokens are valid strings; printable Latin-1 bytes stand for themselves and the other 68
 * bytes take U+0100 onwards in byte order.
 */
#include "tokenizer/tokenizer_internal.h"

static int byte_is_self(unsigned b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

/* The non-self bytes are 0..32, 127..160 and 173, numbered 0..67 in that order. */
gunichar tok_byte_to_char(uint8_t b) {
    if (byte_is_self(b)) return b;
    if (b <= 32) return 256u + b;
    if (b <= 160) return 256u + 33 + (b - 127u);
    return 256u + 67; /* 173, the soft hyphen */
}

int tok_char_to_byte(gunichar c) {
    if (c < 256) return byte_is_self(c) ? (int)c : -1;
    if (c >= 256 + 68) return -1;
    unsigned n = c - 256;
    if (n <= 32) return (int)n;
    if (n <= 66) return (int)(127 + n - 33);
    return 173;
}

char *tok_bytelevel_unmap(const char *s, size_t len, size_t *out_len) {
    char *out = g_malloc(len + 1);
    size_t n = 0;
    const char *p = s, *end = s + len;
    while (p < end) {
        gunichar c = g_utf8_get_char_validated(p, end - p);
        int b = (c == (gunichar)-1 || c == (gunichar)-2) ? -1 : tok_char_to_byte(c);
        if (b < 0) {
            g_free(out);
            return NULL;
        }
        out[n++] = (char)b;
        p = g_utf8_next_char(p);
    }
    out[n] = '\0';
    *out_len = n;
    return out;
}
