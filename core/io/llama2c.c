/* core/io/llama2c.c: see llama2c.h. */
#include "io/llama2c.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- mapping a file (shared by the checkpoint and the tokenizer) ----------------------- */

static int map_file(const char *path, void **map, size_t *len, baldro_error *err) {
    *map = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot open: %s", path, g_strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return baldro_error_set(err, BALDRO_EIO, "%s: not a readable regular file", path);
    }
    *len = (size_t)st.st_size;
    if (*len > 0) {
        void *m = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            close(fd);
            return baldro_error_set(err, BALDRO_EIO, "%s: cannot map: %s", path, g_strerror(e));
        }
        *map = m;
    }
    close(fd);
    return BALDRO_OK;
}

/* ---- checkpoint ------------------------------------------------------------------------ */

struct baldro_l2c_file {
    char *path;
    const uint8_t *buf;
    size_t len;
    void *map;
    size_t map_len;
    baldro_l2c_config cfg;
    uint64_t off[BALDRO_L2C_NUM_ARRAYS];      /* byte offset of each array             */
    uint64_t per_layer[BALDRO_L2C_NUM_ARRAYS]; /* elements of one layer's slice          */
    int32_t layered[BALDRO_L2C_NUM_ARRAYS];
};

/* llama2.c export.py version >= 1 starts with this magic ("ak42" little-endian). */
#define L2C_MAGIC 0x616b3432

static int check_header(baldro_l2c_file *f, const int32_t h[7], baldro_error *err) {
    static const char *names[7] = {"dim", "hidden_dim", "n_layers", "n_heads",
                                   "n_kv_heads", "vocab_size", "seq_len"};
    static const int32_t max[7] = {BALDRO_L2C_MAX_DIM, 16 * BALDRO_L2C_MAX_DIM,
                                   BALDRO_L2C_MAX_LAYERS, BALDRO_L2C_MAX_DIM,
                                   BALDRO_L2C_MAX_DIM, BALDRO_L2C_MAX_VOCAB, BALDRO_L2C_MAX_SEQ};
    if ((uint32_t)h[0] == L2C_MAGIC)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: header: a llama2.c version >= 1 checkpoint (magic 'ak42'); "
                                "only the legacy version 0 layout is supported", f->path);
    for (int i = 0; i < 7; i++) {
        int64_t v = h[i];
        if (i == 5 && v < 0) v = -v; /* negative vocab_size: unshared classifier */
        if (v <= 0 || v > max[i])
            return baldro_error_set(err, BALDRO_EINVAL, "%s: header: %s=%d is outside [1, %d]",
                                    f->path, names[i], h[i], max[i]);
    }
    baldro_l2c_config *c = &f->cfg;
    c->dim = h[0];
    c->hidden_dim = h[1];
    c->n_layers = h[2];
    c->n_heads = h[3];
    c->n_kv_heads = h[4];
    c->shared_classifier = h[5] > 0;
    c->vocab_size = h[5] > 0 ? h[5] : -h[5];
    c->seq_len = h[6];
    if (c->dim % c->n_heads != 0)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: header: n_heads=%d does not divide dim=%d", f->path,
                                c->n_heads, c->dim);
    if (c->n_kv_heads > c->n_heads || c->n_heads % c->n_kv_heads != 0)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: header: n_kv_heads=%d does not divide n_heads=%d", f->path,
                                c->n_kv_heads, c->n_heads);
    c->head_size = c->dim / c->n_heads;
    if (c->head_size % 2 != 0)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: header: head size %d (dim / n_heads) must be even for RoPE",
                                f->path, c->head_size);
    c->kv_dim = c->head_size * c->n_kv_heads;
    return BALDRO_OK;
}

static int layout(baldro_l2c_file *f, baldro_error *err) {
    const baldro_l2c_config *c = &f->cfg;
    /* All factors are bounded by the header limits, so none of this can overflow. */
    uint64_t C = (uint64_t)c->dim, F = (uint64_t)c->hidden_dim, V = (uint64_t)c->vocab_size;
    uint64_t K = (uint64_t)c->kv_dim, L = (uint64_t)c->n_layers;
    const uint64_t per[BALDRO_L2C_NUM_ARRAYS] = {V * C, C, C * C, K * C, K * C, C * C,
                                                 C, F * C, C * F, F * C, C, V * C};
    uint64_t pos = 28;
    for (int a = 0; a < BALDRO_L2C_NUM_ARRAYS; a++) {
        f->per_layer[a] = per[a];
        f->layered[a] = a != BALDRO_L2C_TOKEN_EMBEDDING && a != BALDRO_L2C_RMS_FINAL &&
                        a != BALDRO_L2C_WCLS;
        if (a == BALDRO_L2C_WCLS) {
            /* The two legacy freq_cis tables come before wcls (run.c skips them). */
            pos += 2 * (uint64_t)c->seq_len * (uint64_t)(c->head_size / 2) * 4;
            if (c->shared_classifier) {
                f->off[a] = f->off[BALDRO_L2C_TOKEN_EMBEDDING];
                continue;
            }
        }
        f->off[a] = pos;
        pos += per[a] * (f->layered[a] ? L : 1) * 4;
    }
    if (pos != (uint64_t)f->len)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: size: the header (dim=%d hidden_dim=%d n_layers=%d "
                                "n_heads=%d n_kv_heads=%d vocab_size=%d seq_len=%d) implies %llu "
                                "bytes, the file has %zu", f->path, c->dim, c->hidden_dim,
                                c->n_layers, c->n_heads, c->n_kv_heads,
                                c->shared_classifier ? c->vocab_size : -c->vocab_size,
                                c->seq_len, (unsigned long long)pos, f->len);
    return BALDRO_OK;
}

void baldro_l2c_close(baldro_l2c_file *f) {
    if (!f) return;
    if (f->map) munmap(f->map, f->map_len);
    g_free(f->path);
    g_free(f);
}

int baldro_l2c_open_memory(const void *buf, size_t len, const char *name_for_errors,
                           baldro_l2c_file **out, baldro_error *err) {
    *out = NULL;
    baldro_l2c_file *f = g_new0(baldro_l2c_file, 1);
    f->path = g_strdup(name_for_errors ? name_for_errors : "<memory>");
    f->buf = buf;
    f->len = buf ? len : 0;
    int rc;
    if (f->len < 28) {
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "%s: header: truncated (%zu bytes, the header alone is 28)",
                              f->path, f->len);
    } else {
        int32_t h[7];
        memcpy(h, f->buf, sizeof h);
        rc = check_header(f, h, err);
        if (!rc) rc = layout(f, err);
    }
    if (rc) {
        baldro_l2c_close(f);
        return rc;
    }
    *out = f;
    return BALDRO_OK;
}

int baldro_l2c_open(const char *path, baldro_l2c_file **out, baldro_error *err) {
    void *map;
    size_t len;
    *out = NULL;
    int rc = map_file(path, &map, &len, err);
    if (rc) return rc;
    if ((rc = baldro_l2c_open_memory(map, len, path, out, err))) {
        if (map) munmap(map, len);
        return rc;
    }
    (*out)->map = map;
    (*out)->map_len = len;
    return BALDRO_OK;
}

const char *baldro_l2c_path(const baldro_l2c_file *f) { return f->path; }
const baldro_l2c_config *baldro_l2c_config_of(const baldro_l2c_file *f) { return &f->cfg; }

size_t baldro_l2c_array_numel(const baldro_l2c_file *f, baldro_l2c_array a) {
    if ((int)a < 0 || a >= BALDRO_L2C_NUM_ARRAYS) return 0;
    return (size_t)f->per_layer[a];
}

int baldro_l2c_read(const baldro_l2c_file *f, baldro_l2c_array a, int32_t layer, float *dst,
                    size_t n, baldro_error *err) {
    if ((int)a < 0 || a >= BALDRO_L2C_NUM_ARRAYS)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: no weight array %d", f->path, (int)a);
    if (f->layered[a] && (layer < 0 || layer >= f->cfg.n_layers))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: layer %d is outside [0, %d)", f->path,
                                layer, f->cfg.n_layers);
    if (n != f->per_layer[a])
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: weight array %d has %llu elements per layer, not %zu",
                                f->path, (int)a, (unsigned long long)f->per_layer[a], n);
    uint64_t off = f->off[a] + (f->layered[a] ? (uint64_t)layer * n * 4 : 0);
    /* layout() proved every array lies inside the file. */
    if (n) memcpy(dst, f->buf + off, n * 4);
    return BALDRO_OK;
}

/* ---- tokenizer ------------------------------------------------------------------------- */

typedef struct {
    const char *s;
    size_t n;
} l2c_piece;

struct baldro_l2c_tokenizer {
    int32_t vocab_size;
    uint32_t max_token_length;
    char **pieces; /* NUL-terminated copies (a piece may hold NUL; lengths are kept) */
    size_t *lens;
    float *scores;
    l2c_piece *keys;       /* [vocab_size], the hash keys                           */
    GHashTable *index; /* piece* -> id + 1; the lowest id of equal pieces       */
    size_t max_len;
};

static guint piece_hash(gconstpointer p) {
    const l2c_piece *k = p;
    guint h = 5381;
    for (size_t i = 0; i < k->n; i++) h = h * 33u + (unsigned char)k->s[i];
    return h;
}

static gboolean piece_equal(gconstpointer a, gconstpointer b) {
    const l2c_piece *x = a, *y = b;
    return x->n == y->n && memcmp(x->s, y->s, x->n) == 0;
}

static int32_t lookup(const baldro_l2c_tokenizer *t, const char *s, size_t n) {
    l2c_piece k = {s, n};
    gpointer v = g_hash_table_lookup(t->index, &k);
    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

void baldro_l2c_tokenizer_free(baldro_l2c_tokenizer *t) {
    if (!t) return;
    if (t->index) g_hash_table_unref(t->index);
    if (t->pieces)
        for (int32_t i = 0; i < t->vocab_size; i++) g_free(t->pieces[i]);
    g_free(t->pieces);
    g_free(t->lens);
    g_free(t->scores);
    g_free(t->keys);
    g_free(t);
}

int baldro_l2c_tokenizer_open_memory(const void *buf, size_t len, const char *name,
                                     int32_t vocab_size, baldro_l2c_tokenizer **out,
                                     baldro_error *err) {
    *out = NULL;
    const uint8_t *p = buf;
    if (!name) name = "<memory>";
    if (!p) len = 0;
    if (vocab_size < 0 || vocab_size > BALDRO_L2C_MAX_VOCAB)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: vocab_size %d is outside [0, %d]", name,
                                vocab_size, BALDRO_L2C_MAX_VOCAB);
    if (len < 4)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: max_token_length: truncated", name);
    /* Pass 1: count and bounds-check every entry (each takes at least 8 bytes), so the
     * arrays below are sized by what the file really holds. */
    size_t pos = 4, count = 0;
    while (pos < len && (vocab_size == 0 || count < (size_t)vocab_size)) {
        if (len - pos < 8)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: token %zu: truncated score/length at offset %zu", name,
                                    count, pos);
        int32_t l;
        memcpy(&l, p + pos + 4, 4);
        if (l < 0 || (size_t)l > len - pos - 8)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: token %zu: length %d runs past the end of the file",
                                    name, count, l);
        pos += 8 + (size_t)l;
        count++;
        if (count > BALDRO_L2C_MAX_VOCAB)
            return baldro_error_set(err, BALDRO_EINVAL, "%s: more than %d tokens", name,
                                    BALDRO_L2C_MAX_VOCAB);
    }
    if (vocab_size > 0 && count < (size_t)vocab_size)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: holds %zu tokens, expected %d", name,
                                count, vocab_size);
    if (pos != len)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: %zu bytes left over after %zu tokens", name, len - pos,
                                count);
    if (count == 0)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: holds no tokens", name);
    baldro_l2c_tokenizer *t = g_new0(baldro_l2c_tokenizer, 1);
    memcpy(&t->max_token_length, p, 4);
    t->vocab_size = (int32_t)count;
    t->pieces = g_new0(char *, count);
    t->lens = g_new(size_t, count);
    t->scores = g_new(float, count);
    t->keys = g_new(l2c_piece, count);
    t->index = g_hash_table_new(piece_hash, piece_equal);
    pos = 4;
    for (size_t i = 0; i < count; i++) {
        int32_t l;
        memcpy(&t->scores[i], p + pos, 4);
        memcpy(&l, p + pos + 4, 4);
        t->pieces[i] = g_strndup((const char *)p + pos + 8, (size_t)l);
        /* g_strndup stops at a NUL; keep the bytes as they are. */
        memcpy(t->pieces[i], p + pos + 8, (size_t)l);
        t->lens[i] = (size_t)l;
        if (t->lens[i] > t->max_len) t->max_len = t->lens[i];
        t->keys[i] = (l2c_piece){t->pieces[i], t->lens[i]};
        if (!g_hash_table_contains(t->index, &t->keys[i]))
            g_hash_table_insert(t->index, &t->keys[i], GINT_TO_POINTER((int)i + 1));
        pos += 8 + (size_t)l;
    }
    *out = t;
    return BALDRO_OK;
}

int baldro_l2c_tokenizer_open(const char *path, int32_t vocab_size,
                              baldro_l2c_tokenizer **out, baldro_error *err) {
    void *map;
    size_t len;
    *out = NULL;
    int rc = map_file(path, &map, &len, err);
    if (rc) return rc;
    rc = baldro_l2c_tokenizer_open_memory(map, len, path, vocab_size, out, err);
    if (map) munmap(map, len); /* the tokenizer keeps copies */
    return rc;
}

int32_t baldro_l2c_tokenizer_vocab_size(const baldro_l2c_tokenizer *t) { return t->vocab_size; }

const char *baldro_l2c_tokenizer_piece(const baldro_l2c_tokenizer *t, int32_t id, size_t *len,
                                       float *score) {
    if (id < 0 || id >= t->vocab_size) return NULL;
    if (len) *len = t->lens[id];
    if (score) *score = t->scores[id];
    return t->pieces[id];
}

int baldro_l2c_encode(const baldro_l2c_tokenizer *t, const char *text, size_t len, int bos,
                      int eos, int32_t **ids, size_t *n, baldro_error *err) {
    *ids = NULL;
    *n = 0;
    if (!text && len) return baldro_error_set(err, BALDRO_EINVAL, "encode: text is NULL");
    if ((bos || eos) && t->vocab_size < 3)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "encode: the vocabulary (%d tokens) has no BOS/EOS ids 1 and 2",
                                t->vocab_size);
    int32_t *tok = g_new(int32_t, len + 3);
    size_t nt = 0;
    if (bos) tok[nt++] = 1;
    /* run.c adds the dummy prefix as the token of " " (sentencepiece add_dummy_prefix). */
    if (len > 0) {
        int32_t sp = lookup(t, " ", 1);
        if (sp < 0) sp = ' ' + 3;
        if (sp >= t->vocab_size) goto no_byte;
        tok[nt++] = sp;
    }
    /* One UTF-8 character at a time: a lead byte plus at most 3 continuation bytes. */
    for (size_t i = 0; i < len;) {
        size_t j = i + 1;
        while (j < len && ((unsigned char)text[j] & 0xC0) == 0x80 && j - i < 4) j++;
        int32_t id = lookup(t, text + i, j - i);
        if (id >= 0) {
            tok[nt++] = id;
        } else {
            for (size_t k = i; k < j; k++) {
                id = (int32_t)(unsigned char)text[k] + 3; /* byte tokens follow <unk> <s> </s> */
                if (id >= t->vocab_size) goto no_byte;
                tok[nt++] = id;
            }
        }
        i = j;
    }
    /* Greedy merges by score. */
    char *buf = g_malloc(2 * t->max_len + 1);
    for (;;) {
        float best = -1e10f;
        size_t best_i = SIZE_MAX;
        int32_t best_id = -1;
        for (size_t i = 0; i + 1 < nt; i++) {
            size_t a = t->lens[tok[i]], b = t->lens[tok[i + 1]];
            memcpy(buf, t->pieces[tok[i]], a);
            memcpy(buf + a, t->pieces[tok[i + 1]], b);
            int32_t id = lookup(t, buf, a + b);
            if (id >= 0 && t->scores[id] > best) {
                best = t->scores[id];
                best_i = i;
                best_id = id;
            }
        }
        if (best_i == SIZE_MAX) break;
        tok[best_i] = best_id;
        memmove(tok + best_i + 1, tok + best_i + 2, (nt - best_i - 2) * sizeof *tok);
        nt--;
    }
    g_free(buf);
    if (eos) tok[nt++] = 2;
    *ids = tok;
    *n = nt;
    return BALDRO_OK;
no_byte:
    g_free(tok);
    return baldro_error_set(err, BALDRO_EINVAL,
                            "encode: the vocabulary (%d tokens) lacks the byte-fallback tokens "
                            "3..258", t->vocab_size);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static const char k_bytes[256] = {
#define B4(i) (char)(i), (char)(i + 1), (char)(i + 2), (char)(i + 3)
#define B16(i) B4(i), B4(i + 4), B4(i + 8), B4(i + 12)
#define B64(i) B16(i), B16(i + 16), B16(i + 32), B16(i + 48)
    B64(0), B64(64), B64(128), B64(192)
#undef B64
#undef B16
#undef B4
};

const char *baldro_l2c_decode(const baldro_l2c_tokenizer *t, int32_t prev, int32_t token,
                              size_t *len) {
    if (token < 0 || token >= t->vocab_size) return NULL;
    const char *s = t->pieces[token];
    size_t n = t->lens[token];
    /* After BOS, sentencepiece drops the leading space (run.c's rule). */
    if (prev == 1 && n > 0 && s[0] == ' ') {
        s++;
        n--;
    }
    /* run.c parses "<0x%02hhX>": one or two hex digits after "<0x". */
    if (n >= 4 && memcmp(s, "<0x", 3) == 0 && hexval(s[3]) >= 0) {
        int v = hexval(s[3]);
        if (n >= 5 && hexval(s[4]) >= 0) v = v * 16 + hexval(s[4]);
        *len = 1;
        return &k_bytes[v];
    }
    *len = n;
    return s;
}

int baldro_l2c_piece_printable(const char *piece, size_t len) {
    if (len != 1) return len > 0;
    unsigned char b = (unsigned char)piece[0];
    /* isprint || isspace in the C locale, without the locale dependency. */
    return (b >= 0x20 && b < 0x7f) || b == ' ' || (b >= '\t' && b <= '\r');
}
