/*
 * core/io/safetensors_read.c: the validating safetensors reader (see safetensors.h).
 *
 * Validation happens once, in st_parse(), before the file handle exists: after it, every
 * baldro_st_tensor's [data, data + nbytes) lies inside the data section, the tensors tile
 * the data section exactly (no overlap, no hole, nothing after the last one, as the
 * reference implementation requires), and nbytes == product(shape) * element size. The
 * accessors and the read_* functions rely on that and only check the caller's side.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <glib.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"
#include "io/safetensors_internal.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this reader copies it without swapping"
#endif

struct baldro_st_file {
    char *path;    /* path or name_for_errors */
    void *map;     /* the mapping, NULL when reading a caller's buffer */
    size_t map_len;
    const unsigned char *data; /* the data section */
    size_t data_len;
    baldro_st_tensor *tensors; /* sorted by data offset */
    size_t n_tensors;
    GHashTable *by_name;  /* name -> baldro_st_tensor * (into tensors) */
    GHashTable *metadata; /* owned key -> owned value */
};

/* ---- dtypes ---------------------------------------------------------------------------- */

static const struct {
    const char *name;
    size_t size;
} st_dtypes[BALDRO_ST_NUM_DTYPES] = {
    [BALDRO_ST_F64] = { "F64", 8 },  [BALDRO_ST_F32] = { "F32", 4 }, [BALDRO_ST_F16] = { "F16", 2 },
    [BALDRO_ST_BF16] = { "BF16", 2 }, [BALDRO_ST_I64] = { "I64", 8 }, [BALDRO_ST_I32] = { "I32", 4 },
    [BALDRO_ST_I16] = { "I16", 2 },  [BALDRO_ST_I8] = { "I8", 1 },   [BALDRO_ST_U8] = { "U8", 1 },
    [BALDRO_ST_BOOL] = { "BOOL", 1 },
};

const char *baldro_st_dtype_name(baldro_st_dtype dt) {
    if ((unsigned)dt >= BALDRO_ST_NUM_DTYPES) return "?";
    return st_dtypes[dt].name;
}

size_t baldro_st_dtype_size(baldro_st_dtype dt) {
    if ((unsigned)dt >= BALDRO_ST_NUM_DTYPES) return 0;
    return st_dtypes[dt].size;
}

int baldro_st_dtype_parse(const char *s, baldro_st_dtype *out) {
    for (int i = 0; i < BALDRO_ST_NUM_DTYPES; i++) {
        if (strcmp(s, st_dtypes[i].name) == 0) {
            *out = (baldro_st_dtype)i;
            return 0;
        }
    }
    return -1;
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* Fills one tensor from its header entry; `t->name` is already set. Offsets come back in
 * begin/end (relative to the data section) for the coverage check. */
static int st_parse_entry(const char *file, const char *name, JsonNode *node, size_t data_len,
                          baldro_st_tensor *t, uint64_t *begin, uint64_t *end, baldro_error *err) {
    if (!JSON_NODE_HOLDS_OBJECT(node))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s': entry is not a JSON object",
                                file, name);
    JsonObject *o = json_node_get_object(node);

    JsonNode *dn = json_object_get_member(o, "dtype");
    if (!dn)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s': dtype: missing", file, name);
    if (!JSON_NODE_HOLDS_VALUE(dn) || json_node_get_value_type(dn) != G_TYPE_STRING)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s': dtype: not a string", file,
                                name);
    const char *ds = json_node_get_string(dn);
    if (baldro_st_dtype_parse(ds, &t->dtype) != 0)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s': dtype: unsupported dtype \"%s\" (supported: F64 "
                                "F32 F16 BF16 I64 I32 I16 I8 U8 BOOL)",
                                file, name, ds);
    size_t esize = st_dtypes[t->dtype].size;

    JsonNode *sn = json_object_get_member(o, "shape");
    if (!sn)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s': shape: missing", file, name);
    if (!JSON_NODE_HOLDS_ARRAY(sn))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s': shape: not an array", file,
                                name);
    JsonArray *sa = json_node_get_array(sn);
    guint ndim = json_array_get_length(sa);
    if (ndim > BALDRO_ST_MAX_DIMS)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s': shape: %u dimensions, at most %d supported", file,
                                name, ndim, BALDRO_ST_MAX_DIMS);
    t->ndim = (int32_t)ndim;
    uint64_t numel = 1;
    for (guint i = 0; i < ndim; i++) {
        int64_t d;
        if (baldro_json_int(json_array_get_element(sa, i), &d) != 0 || d < 0)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: tensor '%s': shape: dimension %u is not a non-negative "
                                    "integer",
                                    file, name, i);
        t->shape[i] = d;
        if (__builtin_mul_overflow(numel, (uint64_t)d, &numel))
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: tensor '%s': shape: element count overflows 64 bits",
                                    file, name);
    }
    uint64_t nbytes;
    if (__builtin_mul_overflow(numel, (uint64_t)esize, &nbytes) || nbytes > SIZE_MAX)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s': shape: byte size overflows 64 bits", file, name);

    JsonNode *on = json_object_get_member(o, "data_offsets");
    if (!on)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s': data_offsets: missing", file,
                                name);
    int64_t b, e;
    if (!JSON_NODE_HOLDS_ARRAY(on) || json_array_get_length(json_node_get_array(on)) != 2 ||
        baldro_json_int(json_array_get_element(json_node_get_array(on), 0), &b) != 0 ||
        baldro_json_int(json_array_get_element(json_node_get_array(on), 1), &e) != 0 || b < 0 ||
        e < 0)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s': data_offsets: not an array of two non-negative "
                                "integers [begin, end]",
                                file, name);
    if (b > e)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s': data_offsets: begin %lld > end %lld", file, name,
                                (long long)b, (long long)e);
    if ((uint64_t)e > data_len)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s': data_offsets: end %lld is past the data section "
                                "(%zu bytes)",
                                file, name, (long long)e, data_len);
    if ((uint64_t)(e - b) != nbytes)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s': data_offsets: [%lld, %lld] holds %lld bytes but "
                                "shape and dtype %s need %llu",
                                file, name, (long long)b, (long long)e, (long long)(e - b),
                                st_dtypes[t->dtype].name, (unsigned long long)nbytes);
    *begin = (uint64_t)b;
    *end = (uint64_t)e;
    t->nbytes = (size_t)nbytes;
    return BALDRO_OK;
}

static int st_parse_metadata(baldro_st_file *f, JsonNode *node, baldro_error *err) {
    if (!JSON_NODE_HOLDS_OBJECT(node))
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: __metadata__: must be an object of strings", f->path);
    JsonObject *o = json_node_get_object(node);
    GList *members = json_object_get_members(o);
    int rc = BALDRO_OK;
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *v = json_object_get_member(o, key);
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING) {
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: __metadata__: key '%s': value is not a string", f->path, key);
            break;
        }
        g_hash_table_insert(f->metadata, g_strdup(key), g_strdup(json_node_get_string(v)));
    }
    g_list_free(members);
    return rc;
}

typedef struct {
    uint64_t begin, end;
    const char *name; /* tie-break between zero-size tensors at one offset */
    size_t idx;       /* into the unsorted tensor array */
} st_span;

static int st_span_cmp(const void *a, const void *b) {
    const st_span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Everything after the 8-byte prefix and the header length check. */
static int st_parse(baldro_st_file *f, const unsigned char *buf, size_t len, baldro_error *err) {
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | buf[i];
    if (hlen > BALDRO_ST_MAX_HEADER)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: header length %llu is above the %llu-byte limit", f->path,
                                (unsigned long long)hlen, (unsigned long long)BALDRO_ST_MAX_HEADER);
    if (hlen > len - 8)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: header length %llu is larger than the %zu bytes after the "
                                "length prefix",
                                f->path, (unsigned long long)hlen, len - 8);
    f->data = buf + 8 + hlen;
    f->data_len = len - 8 - (size_t)hlen;

    JsonNode *root = baldro_json_parse((const char *)buf + 8, (size_t)hlen, f->path, "header", err);
    if (!root) return err ? err->code : BALDRO_EINVAL;
    int rc = BALDRO_OK;
    GList *members = NULL;
    st_span *spans = NULL;
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: header: not a JSON object", f->path);
        goto out;
    }
    JsonObject *o = json_node_get_object(root);
    members = json_object_get_members(o);
    size_t n = json_object_get_size(o);
    JsonNode *meta = json_object_get_member(o, "__metadata__");
    if (meta) {
        n--;
        rc = st_parse_metadata(f, meta, err);
        if (rc != BALDRO_OK) goto out;
    }

    /* Parse in header order, then sort by offset. */
    baldro_st_tensor *raw = g_new0(baldro_st_tensor, n ? n : 1);
    spans = g_new0(st_span, n ? n : 1);
    size_t k = 0;
    for (GList *l = members; l; l = l->next) {
        const char *name = l->data;
        if (strcmp(name, "__metadata__") == 0) continue;
        raw[k].name = g_strdup(name);
        rc = st_parse_entry(f->path, name, json_object_get_member(o, name), f->data_len, &raw[k],
                            &spans[k].begin, &spans[k].end, err);
        spans[k].idx = k;
        spans[k].name = raw[k].name;
        k++;
        if (rc != BALDRO_OK) break;
    }
    if (rc != BALDRO_OK) {
        for (size_t i = 0; i < k; i++) g_free((char *)raw[i].name);
        g_free(raw);
        goto out;
    }
    qsort(spans, n, sizeof *spans, st_span_cmp);

    f->tensors = g_new0(baldro_st_tensor, n ? n : 1);
    f->n_tensors = n;
    for (size_t i = 0; i < n; i++) {
        f->tensors[i] = raw[spans[i].idx];
        f->tensors[i].data = f->data + spans[i].begin;
        g_hash_table_insert(f->by_name, (char *)f->tensors[i].name, &f->tensors[i]);
    }
    g_free(raw);

    /* The tensors must tile [0, data_len): each begins where the previous ended. */
    uint64_t cursor = 0;
    size_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        const baldro_st_tensor *t = &f->tensors[i];
        if (spans[i].begin < cursor) {
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s' "
                                  "[%llu, %llu]",
                                  f->path, t->name, (unsigned long long)spans[i].begin,
                                  (unsigned long long)spans[i].end, f->tensors[prev].name,
                                  (unsigned long long)spans[prev].begin,
                                  (unsigned long long)spans[prev].end);
            goto out;
        }
        if (spans[i].begin > cursor) {
            rc = baldro_error_set(err, BALDRO_EINVAL,
                                  "%s: tensor '%s': data_offsets: hole of %llu bytes at [%llu, "
                                  "%llu) before it (safetensors requires the tensors to cover the "
                                  "data section without holes)",
                                  f->path, t->name, (unsigned long long)(spans[i].begin - cursor),
                                  (unsigned long long)cursor, (unsigned long long)spans[i].begin);
            goto out;
        }
        if (spans[i].end > spans[i].begin) {
            cursor = spans[i].end;
            prev = i;
        }
    }
    if (cursor != f->data_len) {
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "%s: data section: %llu bytes at [%llu, %zu) belong to no tensor "
                              "(safetensors requires the tensors to cover the data section "
                              "without holes)",
                              f->path, (unsigned long long)(f->data_len - cursor),
                              (unsigned long long)cursor, f->data_len);
        goto out;
    }
out:
    g_free(spans);
    g_list_free(members);
    json_node_unref(root);
    return rc;
}

static baldro_st_file *st_file_new(const char *path) {
    baldro_st_file *f = g_new0(baldro_st_file, 1);
    f->path = g_strdup(path ? path : "(memory)");
    f->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    f->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return f;
}

static int st_open_buffer(baldro_st_file *f, const unsigned char *buf, size_t len,
                          baldro_error *err) {
    if (len < 8)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: file is %zu bytes, shorter than the 8-byte header length",
                                f->path, len);
    return st_parse(f, buf, len, err);
}

int baldro_st_open_memory(const void *buf, size_t len, const char *name_for_errors,
                          baldro_st_file **out, baldro_error *err) {
    *out = NULL;
    baldro_st_file *f = st_file_new(name_for_errors);
    if (!buf && len > 0) {
        int rc = baldro_error_set(err, BALDRO_EINVAL, "%s: NULL buffer", f->path);
        baldro_st_close(f);
        return rc;
    }
    int rc = st_open_buffer(f, buf, len, err);
    if (rc != BALDRO_OK) {
        baldro_st_close(f);
        return rc;
    }
    *out = f;
    return BALDRO_OK;
}

int baldro_st_open(const char *path, baldro_st_file **out, baldro_error *err) {
    *out = NULL;
    /* O_NONBLOCK: a FIFO must fail the regular-file check below, not hang the open. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot stat: %s", path, strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return baldro_error_set(err, BALDRO_EIO, "%s: not a regular file", path);
    }
    baldro_st_file *f = st_file_new(path);
    size_t len = (size_t)st.st_size;
    int rc;
    if (len < 8) {
        close(fd);
        rc = st_open_buffer(f, NULL, len, err);
        baldro_st_close(f);
        return rc;
    }
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd); /* the mapping keeps the file alive */
    if (map == MAP_FAILED) {
        baldro_st_close(f);
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot map %zu bytes: %s", path, len,
                                strerror(saved));
    }
    f->map = map;
    f->map_len = len;
    rc = st_open_buffer(f, map, len, err);
    if (rc != BALDRO_OK) {
        baldro_st_close(f);
        return rc;
    }
    *out = f;
    return BALDRO_OK;
}

void baldro_st_close(baldro_st_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n_tensors; i++) g_free((char *)f->tensors[i].name);
    g_free(f->tensors);
    g_hash_table_destroy(f->by_name);
    g_hash_table_destroy(f->metadata);
    if (f->map) munmap(f->map, f->map_len);
    g_free(f->path);
    g_free(f);
}

/* ---- accessors ----------------------------------------------------------------------------- */

const char *baldro_st_path(const baldro_st_file *f) { return f->path; }

size_t baldro_st_count(const baldro_st_file *f) { return f->n_tensors; }

const baldro_st_tensor *baldro_st_at(const baldro_st_file *f, size_t i) {
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const baldro_st_tensor *baldro_st_find(const baldro_st_file *f, const char *name) {
    return name ? g_hash_table_lookup(f->by_name, name) : NULL;
}

const char *baldro_st_metadata(const baldro_st_file *f, const char *key) {
    return key ? g_hash_table_lookup(f->metadata, key) : NULL;
}

static int st_strptr_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **baldro_st_metadata_keys(const baldro_st_file *f, size_t *n) {
    guint len = 0;
    const char **keys = (const char **)g_hash_table_get_keys_as_array(f->metadata, &len);
    *n = len;
    if (len == 0) {
        g_free(keys);
        return NULL;
    }
    qsort(keys, len, sizeof *keys, st_strptr_cmp);
    return keys;
}

/* ---- conversions --------------------------------------------------------------------------- */

float baldro_st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13); /* inf, NaN (payload kept) */
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (mant << 13); /* rebias 15 -> 127 */
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* Subnormal half: every one is a normal float; shift the mantissa up to the
         * implicit bit, lowering the exponent as we go. */
        exp = 113;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            exp--;
        }
        bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
    float out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

float baldro_st_bf16_to_f32(uint16_t b) {
    uint32_t bits = (uint32_t)b << 16;
    float out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

/* The tensor, after checking that it exists and has exactly n elements. */
static const baldro_st_tensor *st_lookup(const baldro_st_file *f, const char *name, size_t n,
                                         baldro_error *err) {
    const baldro_st_tensor *t = baldro_st_find(f, name);
    if (!t) {
        baldro_error_set(err, BALDRO_ENOTFOUND, "%s: tensor '%s': not in the file", f->path,
                         name ? name : "(null)");
        return NULL;
    }
    size_t numel = t->nbytes / st_dtypes[t->dtype].size;
    if (numel != n) {
        baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s': has %zu elements, expected %zu",
                         f->path, name, numel, n);
        return NULL;
    }
    return t;
}

static int st_bad_conversion(const baldro_st_file *f, const baldro_st_tensor *t, const char *to,
                             baldro_error *err) {
    return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s': dtype %s cannot be read as %s",
                            f->path, t->name, st_dtypes[t->dtype].name, to);
}

/* Element i of a tensor by memcpy: the data section is aligned only if the writer padded
 * the header, which the format does not require. */
static uint16_t st_u16(const void *base, size_t i) {
    uint16_t v;
    memcpy(&v, (const unsigned char *)base + i * sizeof v, sizeof v);
    return v;
}
static int16_t st_i16(const void *base, size_t i) {
    int16_t v;
    memcpy(&v, (const unsigned char *)base + i * sizeof v, sizeof v);
    return v;
}
static int64_t st_i64(const void *base, size_t i) {
    int64_t v;
    memcpy(&v, (const unsigned char *)base + i * sizeof v, sizeof v);
    return v;
}
static float st_f32(const void *base, size_t i) {
    float v;
    memcpy(&v, (const unsigned char *)base + i * sizeof v, sizeof v);
    return v;
}
static double st_f64(const void *base, size_t i) {
    double v;
    memcpy(&v, (const unsigned char *)base + i * sizeof v, sizeof v);
    return v;
}

int baldro_st_read_f32(const baldro_st_file *f, const char *name, float *dst, size_t n,
                       baldro_error *err) {
    const baldro_st_tensor *t = st_lookup(f, name, n, err);
    if (!t) return err ? err->code : BALDRO_EINVAL;
    switch (t->dtype) {
    case BALDRO_ST_F32:
        if (n) memcpy(dst, t->data, n * sizeof *dst);
        return BALDRO_OK;
    case BALDRO_ST_F16:
        for (size_t i = 0; i < n; i++) dst[i] = baldro_st_f16_to_f32(st_u16(t->data, i));
        return BALDRO_OK;
    case BALDRO_ST_BF16:
        for (size_t i = 0; i < n; i++) dst[i] = baldro_st_bf16_to_f32(st_u16(t->data, i));
        return BALDRO_OK;
    case BALDRO_ST_F64:
        for (size_t i = 0; i < n; i++) {
            double d = st_f64(t->data, i);
            /* Finite values at or beyond FLT_MAX + half an ulp round to infinity: a silent
             * inf in a checkpoint is worse than an error. */
            if (isfinite(d) && fabs(d) >= 0x1.ffffffp+127)
                return baldro_error_set(err, BALDRO_ENUMERIC,
                                        "%s: tensor '%s': element %zu (%g) overflows f32", f->path,
                                        t->name, i, d);
            dst[i] = (float)d;
        }
        return BALDRO_OK;
    default: return st_bad_conversion(f, t, "f32", err);
    }
}

int baldro_st_read_f64(const baldro_st_file *f, const char *name, double *dst, size_t n,
                       baldro_error *err) {
    const baldro_st_tensor *t = st_lookup(f, name, n, err);
    if (!t) return err ? err->code : BALDRO_EINVAL;
    switch (t->dtype) {
    case BALDRO_ST_F64:
        if (n) memcpy(dst, t->data, n * sizeof *dst);
        return BALDRO_OK;
    case BALDRO_ST_F32:
        for (size_t i = 0; i < n; i++) dst[i] = st_f32(t->data, i);
        return BALDRO_OK;
    case BALDRO_ST_F16:
        for (size_t i = 0; i < n; i++) dst[i] = baldro_st_f16_to_f32(st_u16(t->data, i));
        return BALDRO_OK;
    case BALDRO_ST_BF16:
        for (size_t i = 0; i < n; i++) dst[i] = baldro_st_bf16_to_f32(st_u16(t->data, i));
        return BALDRO_OK;
    default: return st_bad_conversion(f, t, "f64", err);
    }
}

int baldro_st_read_i32(const baldro_st_file *f, const char *name, int32_t *dst, size_t n,
                       baldro_error *err) {
    const baldro_st_tensor *t = st_lookup(f, name, n, err);
    if (!t) return err ? err->code : BALDRO_EINVAL;
    switch (t->dtype) {
    case BALDRO_ST_I32:
        if (n) memcpy(dst, t->data, n * sizeof *dst);
        return BALDRO_OK;
    case BALDRO_ST_I64:
        for (size_t i = 0; i < n; i++) {
            int64_t v = st_i64(t->data, i);
            if (v < INT32_MIN || v > INT32_MAX)
                return baldro_error_set(err, BALDRO_EINVAL,
                                        "%s: tensor '%s': element %zu (%lld) is outside the int32 "
                                        "range",
                                        f->path, t->name, i, (long long)v);
            dst[i] = (int32_t)v;
        }
        return BALDRO_OK;
    case BALDRO_ST_I16:
        for (size_t i = 0; i < n; i++) dst[i] = st_i16(t->data, i);
        return BALDRO_OK;
    case BALDRO_ST_I8:
        for (size_t i = 0; i < n; i++) dst[i] = ((const int8_t *)t->data)[i];
        return BALDRO_OK;
    case BALDRO_ST_U8:
        for (size_t i = 0; i < n; i++) dst[i] = ((const uint8_t *)t->data)[i];
        return BALDRO_OK;
    default: return st_bad_conversion(f, t, "i32", err);
    }
}
