/* core/io/gguf.c: see gguf.h. */
#include "io/gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/safetensors.h"

struct baldro_gguf_file {
    char *path;
    const uint8_t *buf;
    size_t len;
    void *map; /* non-NULL when we mapped the file ourselves */
    size_t map_len;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    baldro_gguf_kv *kv;
    size_t n_kv;
    baldro_gguf_tensor *tensors;
    size_t n_tensors;
    GHashTable *kv_index;     /* key -> baldro_gguf_kv*         */
    GHashTable *tensor_index; /* name -> baldro_gguf_tensor*    */
};

/* ---- ggml types ----------------------------------------------------------------------- */

typedef struct {
    const char *name;
    uint32_t block;  /* elements per block             */
    uint32_t bytes;  /* bytes per block; 0: unknown   */
} ggml_type_info;

/* Sizes from ggml.c's type_traits, for bounds checking tensors we cannot convert. */
static const ggml_type_info k_types[] = {
    [0] = {"F32", 1, 4},     [1] = {"F16", 1, 2},     [2] = {"Q4_0", 32, 18},
    [3] = {"Q4_1", 32, 20},  [6] = {"Q5_0", 32, 22},  [7] = {"Q5_1", 32, 24},
    [8] = {"Q8_0", 32, 34},  [9] = {"Q8_1", 32, 36},  [10] = {"Q2_K", 256, 84},
    [11] = {"Q3_K", 256, 110}, [12] = {"Q4_K", 256, 144}, [13] = {"Q5_K", 256, 176},
    [14] = {"Q6_K", 256, 210}, [15] = {"Q8_K", 256, 292}, [24] = {"I8", 1, 1},
    [25] = {"I16", 1, 2},    [26] = {"I32", 1, 4},    [27] = {"I64", 1, 8},
    [28] = {"F64", 1, 8},    [30] = {"BF16", 1, 2},
};
#define N_TYPES (sizeof k_types / sizeof k_types[0])

static const ggml_type_info *type_info(uint32_t t) {
    if (t >= N_TYPES || k_types[t].bytes == 0) return NULL;
    return &k_types[t];
}

const char *baldro_gguf_type_name(uint32_t type) {
    const ggml_type_info *ti = type_info(type);
    return ti ? ti->name : "?";
}

const char *baldro_gguf_escape(const char *s, char *buf, size_t cap) {
    size_t o = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        size_t need_n = ch >= 0x20 && ch < 0x7f ? 1 : 4;
        if (o + need_n + 4 > cap) {
            memcpy(buf + o, "...", 4);
            return buf;
        }
        if (need_n == 1) buf[o++] = (char)ch;
        else o += (size_t)g_snprintf(buf + o, cap - o, "\\x%02x", ch);
    }
    buf[o] = 0;
    return buf;
}

/* ---- cursor --------------------------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t len, pos;
    const char *path;
    baldro_error *err;
} cursor;

static size_t remaining(const cursor *c) { return c->len - c->pos; }

static int need(cursor *c, size_t n, const char *what) {
    if (n > remaining(c))
        return baldro_error_set(c->err, BALDRO_EINVAL,
                                "%s: %s: truncated (needs %zu bytes at offset %zu, file has %zu)",
                                c->path, what, n, c->pos, c->len);
    return BALDRO_OK;
}

static int rd_u32(cursor *c, uint32_t *v, const char *what) {
    int rc = need(c, 4, what);
    if (rc) return rc;
    memcpy(v, c->p + c->pos, 4);
    c->pos += 4;
    return BALDRO_OK;
}

static int rd_u64(cursor *c, uint64_t *v, const char *what) {
    int rc = need(c, 8, what);
    if (rc) return rc;
    memcpy(v, c->p + c->pos, 8);
    c->pos += 8;
    return BALDRO_OK;
}

/* A GGUF string: uint64 length then bytes. */
static int rd_str(cursor *c, const char **s, size_t *n, uint64_t max, const char *what) {
    uint64_t l = 0;
    int rc = rd_u64(c, &l, what);
    if (rc) return rc;
    if (l > max)
        return baldro_error_set(c->err, BALDRO_EINVAL,
                                "%s: %s: string length %llu exceeds the limit %llu", c->path,
                                what, (unsigned long long)l, (unsigned long long)max);
    if ((rc = need(c, (size_t)l, what))) return rc;
    *s = (const char *)c->p + c->pos;
    *n = (size_t)l;
    c->pos += (size_t)l;
    return BALDRO_OK;
}

/* A key or tensor name: non-empty, no NUL, bounded; returned as a copy. */
static int rd_name(cursor *c, char **out, const char *what) {
    const char *s = NULL;
    size_t n = 0;
    int rc = rd_str(c, &s, &n, BALDRO_GGUF_MAX_NAME, what);
    if (rc) return rc;
    if (n == 0)
        return baldro_error_set(c->err, BALDRO_EINVAL, "%s: %s is empty", c->path, what);
    if (memchr(s, 0, n))
        return baldro_error_set(c->err, BALDRO_EINVAL, "%s: %s holds a NUL byte", c->path,
                                what);
    *out = g_strndup(s, n);
    return BALDRO_OK;
}

static size_t vtype_size(uint32_t t) {
    switch (t) {
    case BALDRO_GGUF_UINT8: case BALDRO_GGUF_INT8: case BALDRO_GGUF_BOOL: return 1;
    case BALDRO_GGUF_UINT16: case BALDRO_GGUF_INT16: return 2;
    case BALDRO_GGUF_UINT32: case BALDRO_GGUF_INT32: case BALDRO_GGUF_FLOAT32: return 4;
    case BALDRO_GGUF_UINT64: case BALDRO_GGUF_INT64: case BALDRO_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

static int is_int_type(baldro_gguf_vtype t) {
    return t == BALDRO_GGUF_UINT8 || t == BALDRO_GGUF_INT8 || t == BALDRO_GGUF_UINT16 ||
           t == BALDRO_GGUF_INT16 || t == BALDRO_GGUF_UINT32 || t == BALDRO_GGUF_INT32 ||
           t == BALDRO_GGUF_UINT64 || t == BALDRO_GGUF_INT64;
}

/* Decode a numeric scalar at p into kv's i/u/f. */
static void set_scalar(baldro_gguf_kv *kv, const uint8_t *p) {
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
            float f32; uint64_t u64; int64_t i64; double f64; } v;
    memcpy(&v, p, vtype_size(kv->type));
    switch (kv->type) {
    case BALDRO_GGUF_UINT8: case BALDRO_GGUF_BOOL: kv->u = v.u8; kv->i = v.u8; break;
    case BALDRO_GGUF_INT8: kv->i = v.i8; break;
    case BALDRO_GGUF_UINT16: kv->u = v.u16; kv->i = v.u16; break;
    case BALDRO_GGUF_INT16: kv->i = v.i16; break;
    case BALDRO_GGUF_UINT32: kv->u = v.u32; kv->i = v.u32; break;
    case BALDRO_GGUF_INT32: kv->i = v.i32; break;
    case BALDRO_GGUF_UINT64: kv->u = v.u64; kv->i = v.u64 <= INT64_MAX ? (int64_t)v.u64 : 0; break;
    case BALDRO_GGUF_INT64: kv->i = v.i64; break;
    case BALDRO_GGUF_FLOAT32: kv->f = v.f32; break;
    case BALDRO_GGUF_FLOAT64: kv->f = v.f64; break;
    default: break;
    }
    if (kv->type == BALDRO_GGUF_INT8 || kv->type == BALDRO_GGUF_INT16 ||
        kv->type == BALDRO_GGUF_INT32 || kv->type == BALDRO_GGUF_INT64)
        kv->u = kv->i >= 0 ? (uint64_t)kv->i : 0;
    if (is_int_type(kv->type)) kv->f = kv->type == BALDRO_GGUF_UINT64 ? (double)kv->u
                                                                       : (double)kv->i;
}

static int parse_kv(cursor *c, baldro_gguf_kv *kv, uint64_t idx) {
    char what[96];
    g_snprintf(what, sizeof what, "metadata key %llu", (unsigned long long)idx);
    char *key = NULL;
    int rc = rd_name(c, &key, what);
    if (rc) return rc;
    kv->key = key;
    /* From here on messages name the key itself. */
    char kwhat[160], esc[128];
    g_snprintf(kwhat, sizeof kwhat, "metadata '%s'", baldro_gguf_escape(key, esc, sizeof esc));
    uint32_t t;
    if ((rc = rd_u32(c, &t, kwhat))) return rc;
    if (t > BALDRO_GGUF_FLOAT64)
        return baldro_error_set(c->err, BALDRO_EINVAL, "%s: %s: unknown value type %u",
                                c->path, kwhat, t);
    kv->type = kv->elem = (baldro_gguf_vtype)t;
    kv->n = 1;
    if (t == BALDRO_GGUF_STRING) return rd_str(c, &kv->str, &kv->str_len, UINT64_MAX, kwhat);
    if (t != BALDRO_GGUF_ARRAY) {
        size_t sz = vtype_size(t);
        if ((rc = need(c, sz, kwhat))) return rc;
        if (t == BALDRO_GGUF_BOOL && c->p[c->pos] > 1)
            return baldro_error_set(c->err, BALDRO_EINVAL, "%s: %s: bool value %u is not 0 or 1",
                                    c->path, kwhat, c->p[c->pos]);
        set_scalar(kv, c->p + c->pos);
        c->pos += sz;
        return BALDRO_OK;
    }
    uint32_t et;
    uint64_t n;
    if ((rc = rd_u32(c, &et, kwhat)) || (rc = rd_u64(c, &n, kwhat))) return rc;
    if (et > BALDRO_GGUF_FLOAT64 || et == BALDRO_GGUF_ARRAY)
        return baldro_error_set(c->err, BALDRO_EINVAL,
                                "%s: %s: array element type %u is not supported", c->path,
                                kwhat, et);
    kv->elem = (baldro_gguf_vtype)et;
    kv->n = n;
    /* Every element takes at least min bytes of file, so the count is bounded by what is
     * left: this is what keeps a hostile count from becoming a huge allocation. */
    size_t min = et == BALDRO_GGUF_STRING ? 8 : vtype_size(et);
    if (n > remaining(c) / min)
        return baldro_error_set(c->err, BALDRO_EINVAL,
                                "%s: %s: array of %llu elements runs past the end of the file",
                                c->path, kwhat, (unsigned long long)n);
    if (et != BALDRO_GGUF_STRING) {
        kv->arr = c->p + c->pos;
        if (et == BALDRO_GGUF_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (c->p[c->pos + i] > 1)
                    return baldro_error_set(c->err, BALDRO_EINVAL,
                                            "%s: %s[%llu]: bool value %u is not 0 or 1", c->path,
                                            kwhat, (unsigned long long)i, c->p[c->pos + i]);
        c->pos += (size_t)n * min;
        return BALDRO_OK;
    }
    uint64_t *off = g_try_new(uint64_t, n ? n : 1);
    if (!off)
        return baldro_error_set(c->err, BALDRO_ENOMEM, "%s: %s: out of memory", c->path, kwhat);
    kv->str_off = off;
    for (uint64_t i = 0; i < n; i++) {
        off[i] = c->pos;
        const char *s;
        size_t l;
        if ((rc = rd_str(c, &s, &l, UINT64_MAX, kwhat))) return rc;
    }
    return BALDRO_OK;
}

static int parse_tensor(cursor *c, baldro_gguf_tensor *t, uint64_t idx) {
    char what[96];
    g_snprintf(what, sizeof what, "tensor info %llu", (unsigned long long)idx);
    char *name = NULL;
    int rc = rd_name(c, &name, what);
    if (rc) return rc;
    t->name = name;
    char twhat[160], esc[128];
    g_snprintf(twhat, sizeof twhat, "tensor '%s'", baldro_gguf_escape(name, esc, sizeof esc));
    uint32_t nd;
    if ((rc = rd_u32(c, &nd, twhat))) return rc;
    if (nd > BALDRO_GGUF_MAX_DIMS)
        return baldro_error_set(c->err, BALDRO_EINVAL, "%s: %s: %u dimensions (at most %d)",
                                c->path, twhat, nd, BALDRO_GGUF_MAX_DIMS);
    t->ndim = (int32_t)nd;
    for (int d = 0; d < BALDRO_GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < nd; d++) {
        uint64_t v;
        if ((rc = rd_u64(c, &v, twhat))) return rc;
        if (v > (uint64_t)INT64_MAX)
            return baldro_error_set(c->err, BALDRO_EINVAL, "%s: %s: dimension %u is negative",
                                    c->path, twhat, d);
        t->ne[d] = (int64_t)v;
    }
    uint32_t type;
    if ((rc = rd_u32(c, &type, twhat)) || (rc = rd_u64(c, &t->offset, twhat))) return rc;
    t->type = type;
    const ggml_type_info *ti = type_info(type);
    if (!ti)
        return baldro_error_set(c->err, BALDRO_EINVAL, "%s: %s: unsupported tensor type %u",
                                c->path, twhat, type);
    if (t->ne[0] % ti->block != 0)
        return baldro_error_set(c->err, BALDRO_EINVAL,
                                "%s: %s: row length %lld is not a multiple of the %s block "
                                "size %u", c->path, twhat, (long long)t->ne[0], ti->name,
                                ti->block);
    /* Bytes = (ne0 / block) * block_bytes * ne1 * ne2 * ne3, refusing any overflow. */
    uint64_t bytes = (uint64_t)t->ne[0] / ti->block;
    int ovf = __builtin_mul_overflow(bytes, (uint64_t)ti->bytes, &bytes);
    for (int d = 1; d < BALDRO_GGUF_MAX_DIMS; d++)
        ovf |= __builtin_mul_overflow(bytes, (uint64_t)t->ne[d], &bytes);
    if (ovf || bytes > (uint64_t)c->len)
        return baldro_error_set(c->err, BALDRO_EINVAL,
                                "%s: %s: its size is larger than the file (%zu bytes)", c->path,
                                twhat, c->len);
    t->nbytes = (size_t)bytes;
    return BALDRO_OK;
}

static void kv_free_contents(baldro_gguf_kv *kv) {
    g_free((char *)kv->key);
    g_free((uint64_t *)kv->str_off);
}

void baldro_gguf_close(baldro_gguf_file *f) {
    if (!f) return;
    if (f->kv_index) g_hash_table_unref(f->kv_index);
    if (f->tensor_index) g_hash_table_unref(f->tensor_index);
    for (size_t i = 0; i < f->n_kv; i++) kv_free_contents(&f->kv[i]);
    g_free(f->kv);
    for (size_t i = 0; i < f->n_tensors; i++) g_free((char *)f->tensors[i].name);
    g_free(f->tensors);
    if (f->map) munmap(f->map, f->map_len);
    g_free(f->path);
    g_free(f);
}

static int parse(baldro_gguf_file *f, baldro_error *err) {
    char esc[128];
    cursor c = {.p = f->buf, .len = f->len, .pos = 0, .path = f->path, .err = err};
    int rc;
    if ((rc = need(&c, 4, "magic"))) return rc;
    if (memcmp(f->buf, "GGUF", 4) != 0)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: magic: not a GGUF file", f->path);
    c.pos = 4;
    if ((rc = rd_u32(&c, &f->version, "version"))) return rc;
    if (f->version != 2 && f->version != 3)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: version: %u is not supported (only 2 and 3)", f->path,
                                f->version);
    uint64_t nt, nkv;
    if ((rc = rd_u64(&c, &nt, "tensor count")) || (rc = rd_u64(&c, &nkv, "metadata count")))
        return rc;
    /* Minimum encoded sizes: a key/value 8+1+4+1 bytes, a tensor info 8+1+4+4+8 bytes. */
    if (nkv > BALDRO_GGUF_MAX_KV || nkv > remaining(&c) / 14)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: metadata count: %llu is more than the file can hold",
                                f->path, (unsigned long long)nkv);
    if (nt > BALDRO_GGUF_MAX_TENSORS || nt > remaining(&c) / 25)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor count: %llu is more than the file can hold", f->path,
                                (unsigned long long)nt);
    f->kv = g_new0(baldro_gguf_kv, nkv ? nkv : 1);
    f->kv_index = g_hash_table_new(g_str_hash, g_str_equal);
    for (uint64_t i = 0; i < nkv; i++) {
        baldro_gguf_kv *kv = &f->kv[i];
        f->n_kv = (size_t)i + 1; /* so close frees a partly parsed entry */
        if ((rc = parse_kv(&c, kv, i))) return rc;
        if (g_hash_table_contains(f->kv_index, kv->key))
            return baldro_error_set(err, BALDRO_EINVAL, "%s: metadata '%s' appears twice",
                                    f->path, baldro_gguf_escape(kv->key, esc, sizeof esc));
        g_hash_table_insert(f->kv_index, (char *)kv->key, kv);
    }
    f->alignment = BALDRO_GGUF_DEFAULT_ALIGNMENT;
    const baldro_gguf_kv *al = g_hash_table_lookup(f->kv_index, "general.alignment");
    if (al) {
        if (!is_int_type(al->type) || al->u == 0 || (al->u & (al->u - 1)) != 0 ||
            al->u > ((uint64_t)1 << 20))
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: metadata 'general.alignment': must be an integer power "
                                    "of two up to 2^20", f->path);
        f->alignment = al->u;
    }
    if (remaining(&c) / 25 < nt)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor count: %llu is more than the file can hold", f->path,
                                (unsigned long long)nt);
    f->tensors = g_new0(baldro_gguf_tensor, nt ? nt : 1);
    f->tensor_index = g_hash_table_new(g_str_hash, g_str_equal);
    for (uint64_t i = 0; i < nt; i++) {
        baldro_gguf_tensor *t = &f->tensors[i];
        f->n_tensors = (size_t)i + 1;
        if ((rc = parse_tensor(&c, t, i))) return rc;
        if (g_hash_table_contains(f->tensor_index, t->name))
            return baldro_error_set(err, BALDRO_EINVAL, "%s: tensor '%s' appears twice",
                                    f->path, baldro_gguf_escape(t->name, esc, sizeof esc));
        g_hash_table_insert(f->tensor_index, (char *)t->name, t);
    }
    /* The data section starts at the next multiple of the alignment. */
    uint64_t pos = c.pos;
    f->data_offset = (pos + f->alignment - 1) / f->alignment * f->alignment;
    if (nt > 0 && f->data_offset > f->len)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: data section: starts at %llu, past the end of the file "
                                "(%zu bytes)", f->path, (unsigned long long)f->data_offset,
                                f->len);
    uint64_t data_len = f->data_offset <= f->len ? f->len - f->data_offset : 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        baldro_gguf_tensor *t = &f->tensors[i];
        if (t->offset % f->alignment != 0)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: tensor '%s': offset %llu is not a multiple of the "
                                    "alignment %llu", f->path,
                                    baldro_gguf_escape(t->name, esc, sizeof esc),
                                    (unsigned long long)t->offset,
                                    (unsigned long long)f->alignment);
        if (t->offset > data_len || t->nbytes > data_len - t->offset)
            return baldro_error_set(err, BALDRO_EINVAL,
                                    "%s: tensor '%s': data [%llu, +%zu) lies outside the "
                                    "file's data section (%llu bytes)", f->path,
                                    baldro_gguf_escape(t->name, esc, sizeof esc),
                                    (unsigned long long)t->offset, t->nbytes,
                                    (unsigned long long)data_len);
        t->data = f->buf + f->data_offset + t->offset;
    }
    return BALDRO_OK;
}

int baldro_gguf_open_memory(const void *buf, size_t len, const char *name_for_errors,
                            baldro_gguf_file **out, baldro_error *err) {
    *out = NULL;
    baldro_gguf_file *f = g_new0(baldro_gguf_file, 1);
    f->path = g_strdup(name_for_errors ? name_for_errors : "<memory>");
    f->buf = buf;
    f->len = buf ? len : 0;
    int rc = parse(f, err);
    if (rc) {
        baldro_gguf_close(f);
        return rc;
    }
    *out = f;
    return BALDRO_OK;
}

int baldro_gguf_open(const char *path, baldro_gguf_file **out, baldro_error *err) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot open: %s", path, g_strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot stat: %s", path, g_strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return baldro_error_set(err, BALDRO_EIO, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    void *map = NULL;
    if (len > 0) {
        map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            int e = errno;
            close(fd);
            return baldro_error_set(err, BALDRO_EIO, "%s: cannot map: %s", path, g_strerror(e));
        }
    }
    close(fd);
    int rc = baldro_gguf_open_memory(map, len, path, out, err);
    if (rc) {
        if (map) munmap(map, len);
        return rc;
    }
    (*out)->map = map;
    (*out)->map_len = len;
    return BALDRO_OK;
}

/* ---- accessors ------------------------------------------------------------------------ */

const char *baldro_gguf_path(const baldro_gguf_file *f) { return f->path; }
uint32_t baldro_gguf_version(const baldro_gguf_file *f) { return f->version; }
uint64_t baldro_gguf_alignment(const baldro_gguf_file *f) { return f->alignment; }
uint64_t baldro_gguf_data_offset(const baldro_gguf_file *f) { return f->data_offset; }
size_t baldro_gguf_kv_count(const baldro_gguf_file *f) { return f->n_kv; }
size_t baldro_gguf_tensor_count(const baldro_gguf_file *f) { return f->n_tensors; }

const baldro_gguf_kv *baldro_gguf_kv_at(const baldro_gguf_file *f, size_t i) {
    return i < f->n_kv ? &f->kv[i] : NULL;
}

const baldro_gguf_kv *baldro_gguf_kv_find(const baldro_gguf_file *f, const char *key) {
    return g_hash_table_lookup(f->kv_index, key);
}

const baldro_gguf_tensor *baldro_gguf_tensor_at(const baldro_gguf_file *f, size_t i) {
    return i < f->n_tensors ? &f->tensors[i] : NULL;
}

const baldro_gguf_tensor *baldro_gguf_tensor_find(const baldro_gguf_file *f, const char *name) {
    return g_hash_table_lookup(f->tensor_index, name);
}

int64_t baldro_gguf_tensor_numel(const baldro_gguf_tensor *t) {
    /* Cannot overflow: nbytes was checked against the file size with these factors. */
    int64_t n = 1;
    for (int d = 0; d < BALDRO_GGUF_MAX_DIMS; d++) n *= t->ne[d];
    return n;
}

const char *baldro_gguf_kv_str_at(const baldro_gguf_file *f, const baldro_gguf_kv *kv,
                                  uint64_t i, size_t *len) {
    if (kv->type != BALDRO_GGUF_ARRAY || kv->elem != BALDRO_GGUF_STRING || i >= kv->n)
        return NULL;
    uint64_t l;
    memcpy(&l, f->buf + kv->str_off[i], 8); /* validated by parse_kv */
    *len = (size_t)l;
    return (const char *)f->buf + kv->str_off[i] + 8;
}

int baldro_gguf_get_int(const baldro_gguf_file *f, const char *key, int64_t min, int64_t max,
                        int64_t *out, baldro_error *err) {
    const baldro_gguf_kv *kv = baldro_gguf_kv_find(f, key);
    if (!kv) return BALDRO_ENOTFOUND;
    char esc[128];
    const char *ekey = baldro_gguf_escape(key, esc, sizeof esc);
    if (!is_int_type(kv->type))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: metadata '%s': expected an integer",
                                f->path, ekey);
    int big = kv->type == BALDRO_GGUF_UINT64 && kv->u > (uint64_t)INT64_MAX;
    if (big || kv->i < min || kv->i > max)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: metadata '%s': %s%llu is outside [%lld, %lld]", f->path, ekey,
                                kv->i < 0 ? "-" : "",
                                big ? (unsigned long long)kv->u
                                    : kv->i < 0 ? 0ULL - (unsigned long long)kv->i
                                                : (unsigned long long)kv->i,
                                (long long)min, (long long)max);
    *out = kv->i;
    return BALDRO_OK;
}

int baldro_gguf_get_float(const baldro_gguf_file *f, const char *key, double *out,
                          baldro_error *err) {
    const baldro_gguf_kv *kv = baldro_gguf_kv_find(f, key);
    if (!kv) return BALDRO_ENOTFOUND;
    char esc[128];
    const char *ekey = baldro_gguf_escape(key, esc, sizeof esc);
    if (kv->type != BALDRO_GGUF_FLOAT32 && kv->type != BALDRO_GGUF_FLOAT64 &&
        !is_int_type(kv->type))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: metadata '%s': expected a number",
                                f->path, ekey);
    *out = kv->f;
    return BALDRO_OK;
}

int baldro_gguf_get_str(const baldro_gguf_file *f, const char *key, char **out,
                        baldro_error *err) {
    const baldro_gguf_kv *kv = baldro_gguf_kv_find(f, key);
    if (!kv) return BALDRO_ENOTFOUND;
    char esc[128];
    const char *ekey = baldro_gguf_escape(key, esc, sizeof esc);
    if (kv->type != BALDRO_GGUF_STRING || memchr(kv->str, 0, kv->str_len))
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: metadata '%s': expected a string without NUL bytes",
                                f->path, ekey);
    *out = g_strndup(kv->str, kv->str_len);
    return BALDRO_OK;
}

int baldro_gguf_read_f32(const baldro_gguf_file *f, const baldro_gguf_tensor *t, float *dst,
                         size_t n, baldro_error *err) {
    char esc[128];
    if (t->type != BALDRO_GGML_F32 && t->type != BALDRO_GGML_F16 && t->type != BALDRO_GGML_BF16)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s': unsupported tensor type %s (%u); only F32, "
                                "F16 and BF16 are read", f->path,
                                baldro_gguf_escape(t->name, esc, sizeof esc),
                                baldro_gguf_type_name(t->type), t->type);
    size_t have = (size_t)baldro_gguf_tensor_numel(t);
    if (have != n)
        return baldro_error_set(err, BALDRO_EINVAL,
                                "%s: tensor '%s': has %zu elements, expected %zu", f->path,
                                baldro_gguf_escape(t->name, esc, sizeof esc), have, n);
    const uint8_t *p = t->data;
    if (t->type == BALDRO_GGML_F32) {
        if (n) memcpy(dst, p, n * 4);
        return BALDRO_OK;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, p + 2 * i, 2);
        dst[i] = t->type == BALDRO_GGML_F16 ? baldro_st_f16_to_f32(h) : baldro_st_bf16_to_f32(h);
    }
    return BALDRO_OK;
}
