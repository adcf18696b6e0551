/*
 * core/io/gguf.h: a bounds-checked reader for GGUF files (llama.cpp's model format),
 * versions 2 and 3.
 *
 * Layout (little-endian): "GGUF", uint32 version, uint64 tensor count, uint64 metadata
 * count; the metadata key/value pairs (key: uint64 length + bytes; uint32 value type;
 * value); the tensor infos (name, uint32 n_dims, uint64 ne[n_dims], uint32 ggml type,
 * uint64 offset); padding to the alignment (general.alignment, default 32); the data
 * section, in which every tensor's offset is a multiple of the alignment. ggml lists
 * dimensions fastest first: ne[0] is the row length, so a [rows][cols] matrix has
 * ne = {cols, rows}.
 *
 * A GGUF file comes from the internet. Everything is validated before anything is handed
 * out: counts and lengths are bounded by the bytes that remain (so a hostile header cannot
 * make the reader allocate more than a small multiple of the file size), duplicate keys
 * and tensor names are refused, and every tensor's data must lie inside the file. Errors
 * are one line naming the file and the field, BALDRO_EINVAL for the format and BALDRO_EIO
 * for the file system.
 *
 * Requires a little-endian host.
 */
#ifndef BALDRO_CORE_IO_GGUF_H
#define BALDRO_CORE_IO_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define BALDRO_GGUF_MAX_DIMS 4
#define BALDRO_GGUF_DEFAULT_ALIGNMENT 32
/* Far above any real model (a 400B model has ~1000 tensors and ~50 keys), far below what
 * would let a 24-byte header request gigabytes of bookkeeping. */
#define BALDRO_GGUF_MAX_TENSORS ((uint64_t)1 << 20)
#define BALDRO_GGUF_MAX_KV ((uint64_t)1 << 20)
/* Keys and tensor names: llama.cpp caps tensor names at 63 bytes; keys are short too. */
#define BALDRO_GGUF_MAX_NAME 65535

typedef enum {
    BALDRO_GGUF_UINT8 = 0,
    BALDRO_GGUF_INT8 = 1,
    BALDRO_GGUF_UINT16 = 2,
    BALDRO_GGUF_INT16 = 3,
    BALDRO_GGUF_UINT32 = 4,
    BALDRO_GGUF_INT32 = 5,
    BALDRO_GGUF_FLOAT32 = 6,
    BALDRO_GGUF_BOOL = 7,
    BALDRO_GGUF_STRING = 8,
    BALDRO_GGUF_ARRAY = 9,
    BALDRO_GGUF_UINT64 = 10,
    BALDRO_GGUF_INT64 = 11,
    BALDRO_GGUF_FLOAT64 = 12,
} baldro_gguf_vtype;

/* The ggml tensor types this reader names; others with a known size are accepted by open
 * (their bounds are checked) but baldro_gguf_read_f32() refuses them. */
enum {
    BALDRO_GGML_F32 = 0,
    BALDRO_GGML_F16 = 1,
    BALDRO_GGML_BF16 = 30,
};

typedef struct baldro_gguf_kv {
    const char *key;        /* NUL-terminated copy                                     */
    baldro_gguf_vtype type; /* BALDRO_GGUF_ARRAY for arrays                             */
    baldro_gguf_vtype elem; /* arrays: the element type (never ARRAY); else == type     */
    uint64_t n;             /* arrays: element count; scalars: 1                         */
    /* Scalars: the value widened (integers and bools in i or u as their signedness
     * says, both filled when the value fits; floats in f). */
    int64_t i;
    uint64_t u;
    double f;
    const char *str;        /* STRING scalar: into the buffer, NOT NUL-terminated       */
    size_t str_len;
    const void *arr;        /* numeric arrays: the raw elements in the buffer (unaligned) */
    const uint64_t *str_off; /* string arrays: offset of each string's length field     */
} baldro_gguf_kv;

typedef struct baldro_gguf_tensor {
    const char *name;   /* NUL-terminated copy                                          */
    uint32_t type;      /* ggml type                                                     */
    int32_t ndim;       /* 1..4                                                          */
    int64_t ne[BALDRO_GGUF_MAX_DIMS]; /* ggml order (ne[0] fastest); 1 past ndim        */
    uint64_t offset;    /* relative to the data section                                 */
    const void *data;   /* into the buffer; valid until close                           */
    size_t nbytes;
} baldro_gguf_tensor;

typedef struct baldro_gguf_file baldro_gguf_file;

/* Map `path` read-only and validate it. Errors: BALDRO_EIO, BALDRO_EINVAL. */
int baldro_gguf_open(const char *path, baldro_gguf_file **out, baldro_error *err);
/* The same on a buffer the caller keeps alive and unchanged until close. */
int baldro_gguf_open_memory(const void *buf, size_t len, const char *name_for_errors,
                            baldro_gguf_file **out, baldro_error *err);
void baldro_gguf_close(baldro_gguf_file *f); /* safe on NULL */

const char *baldro_gguf_path(const baldro_gguf_file *f);
uint32_t baldro_gguf_version(const baldro_gguf_file *f);
uint64_t baldro_gguf_alignment(const baldro_gguf_file *f);
uint64_t baldro_gguf_data_offset(const baldro_gguf_file *f); /* file offset of the data */

size_t baldro_gguf_kv_count(const baldro_gguf_file *f);
const baldro_gguf_kv *baldro_gguf_kv_at(const baldro_gguf_file *f, size_t i); /* file order */
const baldro_gguf_kv *baldro_gguf_kv_find(const baldro_gguf_file *f, const char *key);
/* Element i of a string array (not NUL-terminated; *len its length); NULL when kv is not
 * a string array or i >= n. */
const char *baldro_gguf_kv_str_at(const baldro_gguf_file *f, const baldro_gguf_kv *kv,
                                  uint64_t i, size_t *len);

/* Typed look-ups. Return BALDRO_OK, BALDRO_ENOTFOUND (no such key; err untouched) or
 * BALDRO_EINVAL (wrong type or out of range; err names file and key). */
int baldro_gguf_get_int(const baldro_gguf_file *f, const char *key, int64_t min, int64_t max,
                        int64_t *out, baldro_error *err);
int baldro_gguf_get_float(const baldro_gguf_file *f, const char *key, double *out,
                          baldro_error *err);
/* A g_strndup() copy (g_free it); strings holding a NUL byte are refused. */
int baldro_gguf_get_str(const baldro_gguf_file *f, const char *key, char **out,
                        baldro_error *err);

size_t baldro_gguf_tensor_count(const baldro_gguf_file *f);
const baldro_gguf_tensor *baldro_gguf_tensor_at(const baldro_gguf_file *f, size_t i);
const baldro_gguf_tensor *baldro_gguf_tensor_find(const baldro_gguf_file *f, const char *name);
int64_t baldro_gguf_tensor_numel(const baldro_gguf_tensor *t);

/* A name from the file made safe for a one-line message: printable ASCII kept, other
 * bytes as \xNN, cut (with "...") to fit cap (>= 8). Returns buf. */
const char *baldro_gguf_escape(const char *s, char *buf, size_t cap);

/* "F32", "Q4_0", ...; "?" for a type this reader does not know. */
const char *baldro_gguf_type_name(uint32_t type);

/* Copy a tensor into dst as f32 after checking it has exactly n elements. Converts from
 * F32, F16 and BF16; any other type is BALDRO_EINVAL "unsupported tensor type". */
int baldro_gguf_read_f32(const baldro_gguf_file *f, const baldro_gguf_tensor *t, float *dst,
                         size_t n, baldro_error *err);

#endif /* BALDRO_CORE_IO_GGUF_H */
