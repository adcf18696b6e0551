/*
 * core/io/safetensors_write.c: the safetensors writer (see safetensors.h).
 *
 * Tensor data is borrowed, never copied, and streamed to the file after the header, so
 * writing a multi-gigabyte checkpoint needs no second copy in memory; that is why this
 * does not go through baldro_write_file_atomic(), which takes one buffer, but follows the
 * same protocol (temporary file in the target's directory, fsync, rename).
 */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "io/safetensors.h"

typedef struct {
    char *name;
    baldro_st_dtype dtype;
    int32_t ndim;
    int64_t shape[BALDRO_ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} st_entry;

struct baldro_st_writer {
    GPtrArray *entries; /* st_entry *, owned */
    GHashTable *names;  /* name -> st_entry * (borrowed), for duplicate detection */
    GHashTable *meta;   /* owned key -> owned value */
};

static void st_entry_free(gpointer p) {
    st_entry *e = p;
    g_free(e->name);
    g_free(e);
}

baldro_st_writer *baldro_st_writer_new(void) {
    baldro_st_writer *w = g_new0(baldro_st_writer, 1);
    w->entries = g_ptr_array_new_with_free_func(st_entry_free);
    w->names = g_hash_table_new(g_str_hash, g_str_equal);
    w->meta = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return w;
}

void baldro_st_writer_free(baldro_st_writer *w) {
    if (!w) return;
    g_hash_table_destroy(w->names);
    g_ptr_array_free(w->entries, TRUE);
    g_hash_table_destroy(w->meta);
    g_free(w);
}

int baldro_st_writer_add(baldro_st_writer *w, const char *name, baldro_st_dtype dt, int32_t ndim,
                         const int64_t *shape, const void *data, baldro_error *err) {
    if (!w || !name)
        return baldro_error_set(err, BALDRO_EINVAL, "safetensors writer: NULL writer or name");
    if (!g_utf8_validate(name, -1, NULL))
        return baldro_error_set(err, BALDRO_EINVAL, "safetensors writer: tensor name is not UTF-8");
    if (strcmp(name, "__metadata__") == 0)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "safetensors writer: tensor '__metadata__': the name is reserved");
    size_t esize = baldro_st_dtype_size(dt);
    if (esize == 0)
        return baldro_error_set(err, BALDRO_EINVAL, "safetensors writer: tensor '%s': dtype: "
                                "unknown value %d", name, (int)dt);
    if (ndim < 0 || ndim > BALDRO_ST_MAX_DIMS || (ndim > 0 && !shape))
        return baldro_error_set(err, BALDRO_EINVAL,
                                "safetensors writer: tensor '%s': shape: ndim %d is not in 0..%d "
                                "(or shape is NULL)",
                                name, (int)ndim, BALDRO_ST_MAX_DIMS);
    uint64_t numel = 1, nbytes;
    for (int32_t i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "safetensors writer: tensor '%s': shape: dimension %d is "
                                    "negative (%lld)",
                                    name, (int)i, (long long)shape[i]);
        if (__builtin_mul_overflow(numel, (uint64_t)shape[i], &numel))
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "safetensors writer: tensor '%s': shape: element count "
                                    "overflows", name);
    }
    if (__builtin_mul_overflow(numel, (uint64_t)esize, &nbytes) || nbytes > SIZE_MAX)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "safetensors writer: tensor '%s': shape: byte size overflows", name);
    if (nbytes > 0 && !data)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "safetensors writer: tensor '%s': data is NULL for %llu bytes", name,
                                (unsigned long long)nbytes);
    if (g_hash_table_contains(w->names, name))
        return baldro_error_set(err, BALDRO_EEXIST,
                                "safetensors writer: tensor '%s': added twice", name);
    st_entry *e = g_new0(st_entry, 1);
    e->name = g_strdup(name);
    e->dtype = dt;
    e->ndim = ndim;
    for (int32_t i = 0; i < ndim; i++) e->shape[i] = shape[i];
    e->data = data;
    e->nbytes = (size_t)nbytes;
    g_ptr_array_add(w->entries, e);
    g_hash_table_insert(w->names, e->name, e);
    return BALDRO_OK;
}

int baldro_st_writer_set_metadata(baldro_st_writer *w, const char *key, const char *value,
                                  baldro_error *err) {
    if (!w || !key || !value)
        return baldro_error_set(err, BALDRO_EINVAL, "safetensors writer: NULL metadata key or value");
    if (!g_utf8_validate(key, -1, NULL) || !g_utf8_validate(value, -1, NULL))
        return baldro_error_set(err, BALDRO_EINVAL,
                                "safetensors writer: __metadata__: key or value is not UTF-8");
    g_hash_table_insert(w->meta, g_strdup(key), g_strdup(value));
    return BALDRO_OK;
}

/* ---- serialization ------------------------------------------------------------------------- */

/* Descending dtype alignment as the reference sorts it: the order of its Dtype enum, last
 * first (I64 F64 F32 I32 BF16 F16 I16 I8 U8 BOOL), so wider elements come first and every
 * tensor's offset is a multiple of its element size. */
static int st_dtype_rank(baldro_st_dtype dt) {
    switch (dt) {
    case BALDRO_ST_I64: return 9;
    case BALDRO_ST_F64: return 8;
    case BALDRO_ST_F32: return 7;
    case BALDRO_ST_I32: return 6;
    case BALDRO_ST_BF16: return 5;
    case BALDRO_ST_F16: return 4;
    case BALDRO_ST_I16: return 3;
    case BALDRO_ST_I8: return 2;
    case BALDRO_ST_U8: return 1;
    case BALDRO_ST_BOOL: return 0;
    }
    return -1;
}

static gint st_entry_cmp(gconstpointer a, gconstpointer b) {
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    int rx = st_dtype_rank(x->dtype), ry = st_dtype_rank(y->dtype);
    if (rx != ry) return rx > ry ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int st_str_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* JSON string as serde_json writes it: only '"', '\\' and control characters escaped. */
static void st_json_str(GString *s, const char *str) {
    g_string_append_c(s, '"');
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        switch (*p) {
        case '"': g_string_append(s, "\\\""); break;
        case '\\': g_string_append(s, "\\\\"); break;
        case '\b': g_string_append(s, "\\b"); break;
        case '\f': g_string_append(s, "\\f"); break;
        case '\n': g_string_append(s, "\\n"); break;
        case '\r': g_string_append(s, "\\r"); break;
        case '\t': g_string_append(s, "\\t"); break;
        default:
            if (*p < 0x20) g_string_append_printf(s, "\\u%04x", *p);
            else g_string_append_c(s, (char)*p);
        }
    }
    g_string_append_c(s, '"');
}

/* The 8-byte length prefix and the padded header, and the entries in data order. */
static GString *st_build_header(baldro_st_writer *w, GPtrArray **order, baldro_error *err) {
    GPtrArray *sorted = g_ptr_array_sized_new(w->entries->len);
    for (guint i = 0; i < w->entries->len; i++) g_ptr_array_add(sorted, w->entries->pdata[i]);
    g_ptr_array_sort(sorted, st_entry_cmp);

    GString *s = g_string_new(NULL);
    g_string_append_len(s, "\0\0\0\0\0\0\0\0", 8);
    g_string_append_c(s, '{');
    bool first = true;
    if (g_hash_table_size(w->meta) > 0) {
        guint nk = 0;
        gpointer *keys = g_hash_table_get_keys_as_array(w->meta, &nk);
        qsort(keys, nk, sizeof *keys, st_str_cmp);
        g_string_append(s, "\"__metadata__\":{");
        for (guint i = 0; i < nk; i++) {
            if (i) g_string_append_c(s, ',');
            st_json_str(s, keys[i]);
            g_string_append_c(s, ':');
            st_json_str(s, g_hash_table_lookup(w->meta, keys[i]));
        }
        g_string_append_c(s, '}');
        g_free(keys);
        first = false;
    }
    uint64_t off = 0;
    for (guint i = 0; i < sorted->len; i++) {
        const st_entry *e = sorted->pdata[i];
        if (!first) g_string_append_c(s, ',');
        first = false;
        st_json_str(s, e->name);
        g_string_append_printf(s, ":{\"dtype\":\"%s\",\"shape\":[", baldro_st_dtype_name(e->dtype));
        for (int32_t d = 0; d < e->ndim; d++)
            g_string_append_printf(s, "%s%lld", d ? "," : "", (long long)e->shape[d]);
        uint64_t end;
        if (__builtin_add_overflow(off, (uint64_t)e->nbytes, &end) || end > (uint64_t)INT64_MAX) {
            baldro_error_set(err, BALDRO_EINVAL, "safetensors writer: total data size overflows");
            g_string_free(s, TRUE);
            g_ptr_array_free(sorted, TRUE);
            return NULL;
        }
        g_string_append_printf(s, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                               (unsigned long long)end);
        off = end;
    }
    g_string_append_c(s, '}');
    /* Spaces up to a multiple of 8, so the data section (and, with the sort above, every
     * tensor) is aligned for the widest element. */
    while ((s->len - 8) % 8 != 0) g_string_append_c(s, ' ');
    uint64_t hlen = s->len - 8;
    if (hlen > BALDRO_ST_MAX_HEADER) {
        baldro_error_set(err, BALDRO_EINVAL,
                         "safetensors writer: header of %llu bytes is above the %llu-byte limit "
                         "readers enforce",
                         (unsigned long long)hlen, (unsigned long long)BALDRO_ST_MAX_HEADER);
        g_string_free(s, TRUE);
        g_ptr_array_free(sorted, TRUE);
        return NULL;
    }
    for (int i = 0; i < 8; i++) s->str[i] = (char)((hlen >> (8 * i)) & 0xff);
    *order = sorted;
    return s;
}

void *baldro_st_writer_to_memory(baldro_st_writer *w, size_t *len, baldro_error *err) {
    GPtrArray *order = NULL;
    GString *s = st_build_header(w, &order, err);
    if (!s) return NULL;
    for (guint i = 0; i < order->len; i++) {
        const st_entry *e = order->pdata[i];
        if (e->nbytes) g_string_append_len(s, e->data, (gssize)e->nbytes);
    }
    g_ptr_array_free(order, TRUE);
    *len = s->len;
    return g_string_free(s, FALSE);
}

static int st_write_all(int fd, const void *buf, size_t len, const char *path, baldro_error *err) {
    const unsigned char *p = buf;
    while (len > 0) {
        /* Linux writes at most ~2 GiB per call; ask for 1 GiB at a time. */
        size_t chunk = len < ((size_t)1 << 30) ? len : ((size_t)1 << 30);
        ssize_t n = write(fd, p, chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            return baldro_error_set(err, BALDRO_EIO, "%s: write failed: %s", path, strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return BALDRO_OK;
}

int baldro_st_writer_write(baldro_st_writer *w, const char *path, baldro_error *err) {
    GPtrArray *order = NULL;
    GString *hdr = st_build_header(w, &order, err);
    if (!hdr) return err ? err->code : BALDRO_EINVAL;

    char *dir = g_path_get_dirname(path);
    char *base = g_path_get_basename(path);
    char *tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
    int rc = BALDRO_OK;
    /* 0666 before the umask, like any file the user creates; plain mkstemp gives 0600. */
    int fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0666);
    if (fd < 0) {
        rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot create a temporary file in '%s': %s",
                              path, dir, strerror(errno));
        goto out;
    }
    rc = st_write_all(fd, hdr->str, hdr->len, path, err);
    for (guint i = 0; rc == BALDRO_OK && i < order->len; i++) {
        const st_entry *e = order->pdata[i];
        if (e->nbytes) rc = st_write_all(fd, e->data, e->nbytes, path, err);
    }
    if (rc == BALDRO_OK && fsync(fd) != 0)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: fsync failed: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == BALDRO_OK)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: close failed: %s", path, strerror(errno));
    if (rc == BALDRO_OK && rename(tmp, path) != 0)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: rename from '%s' failed: %s", path, tmp,
                              strerror(errno));
    if (rc != BALDRO_OK) {
        unlink(tmp);
        goto out;
    }
    /* Make the rename itself durable. Best effort: the file's own bytes are already synced,
     * and some file systems refuse fsync on a directory. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
out:
    g_free(tmp);
    g_free(base);
    g_free(dir);
    g_ptr_array_free(order, TRUE);
    g_string_free(hdr, TRUE);
    return rc;
}
