/*
 * core/io/safetensors.h: reading and writing Hugging Face safetensors files.
 *
 * Format: an 8-byte little-endian header length N, N bytes of UTF-8 JSON (an object mapping
 * each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, plus an optional
 * "__metadata__" object of strings), then the data section; offsets are relative to the
 * start of the data section.
 *
 * The reader maps the file read-only and validates everything before handing out a single
 * pointer: a checkpoint comes from the internet, so a bad header must become a one-line
 * baldro_error (file, tensor/field, reason), never an out-of-bounds read. It is stricter
 * than the reference implementation in two ways: duplicate JSON keys are rejected (the
 * reference keeps one silently) and the JSON must be strict RFC 8259 (json-glib alone also
 * accepts single quotes and hex numbers). Unknown fields inside a tensor entry are ignored,
 * as the reference does.
 *
 * The writer produces what the Python `safetensors` library produces: tensors sorted by
 * dtype alignment (descending) then name, compact JSON, header padded with spaces to a
 * multiple of 8 bytes, so every tensor's data is aligned to its element size. With at most
 * one metadata key the bytes are identical (the reference writes metadata in hash order;
 * we sort the keys). Files are written atomically: temporary file in the same directory,
 * fsync, rename, fsync of the directory.
 *
 * Requires a little-endian host (as safetensors data is little-endian).
 */
#ifndef BALDRO_CORE_IO_SAFETENSORS_H
#define BALDRO_CORE_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define BALDRO_ST_MAX_DIMS 8
/* Same limit as the reference implementation: a larger header is an attack, not a model. */
#define BALDRO_ST_MAX_HEADER ((uint64_t)100000000)

typedef enum {
    BALDRO_ST_F64,
    BALDRO_ST_F32,
    BALDRO_ST_F16,
    BALDRO_ST_BF16,
    BALDRO_ST_I64,
    BALDRO_ST_I32,
    BALDRO_ST_I16,
    BALDRO_ST_I8,
    BALDRO_ST_U8,
    BALDRO_ST_BOOL
} baldro_st_dtype;

#define BALDRO_ST_NUM_DTYPES 10

typedef struct baldro_st_tensor {
    const char *name;
    baldro_st_dtype dtype;
    int32_t ndim; /* 0 for a scalar */
    int64_t shape[BALDRO_ST_MAX_DIMS];
    /* Into the mapping; valid until baldro_st_close(). Aligned to the element size only
     * when the writer padded the header (every modern writer does): copy with the
     * baldro_st_read_* functions, or memcpy, rather than casting. */
    const void *data;
    size_t nbytes; /* number of elements * baldro_st_dtype_size(dtype) */
} baldro_st_tensor;

/* "F32", ...; "?" for a value outside the enum. */
const char *baldro_st_dtype_name(baldro_st_dtype dt);
/* Bytes per element; 0 for a value outside the enum. */
size_t baldro_st_dtype_size(baldro_st_dtype dt);
/* Parse a dtype string ("BF16"); 0 on success, -1 if unknown. */
int baldro_st_dtype_parse(const char *s, baldro_st_dtype *out);

/* ---- Reader ------------------------------------------------------------------------ */

typedef struct baldro_st_file baldro_st_file;

/* Map `path` read-only and validate it. Errors: BALDRO_EIO (cannot open/stat/map, not a
 * regular file), BALDRO_EINVAL (anything wrong with the format). */
int baldro_st_open(const char *path, baldro_st_file **out, baldro_error *err);
/* The same on a buffer the caller keeps alive and unchanged until baldro_st_close();
 * `name_for_errors` is used in messages in place of a path. */
int baldro_st_open_memory(const void *buf, size_t len, const char *name_for_errors,
                          baldro_st_file **out, baldro_error *err);
void baldro_st_close(baldro_st_file *f); /* safe on NULL */

/* The path (or name_for_errors) given to open. */
const char *baldro_st_path(const baldro_st_file *f);
size_t baldro_st_count(const baldro_st_file *f);
/* In file order of data offsets (ties, which only zero-size tensors can have, by name);
 * NULL when i >= count. */
const baldro_st_tensor *baldro_st_at(const baldro_st_file *f, size_t i);
const baldro_st_tensor *baldro_st_find(const baldro_st_file *f, const char *name);
/* A value of __metadata__, or NULL. */
const char *baldro_st_metadata(const baldro_st_file *f, const char *key);
/* All __metadata__ keys, sorted; free the array (not the strings) with g_free(). Sets
 * *n to the count. Returns NULL when there are none. */
const char **baldro_st_metadata_keys(const baldro_st_file *f, size_t *n);

/* Copy tensor `name` into dst, converting, after checking that it has exactly n elements.
 * Errors: BALDRO_ENOTFOUND (no such tensor), BALDRO_EINVAL (element count differs, or a
 * dtype this function does not convert from, or an integer out of int32 range),
 * BALDRO_ENUMERIC (a finite f64 that overflows f32). NaN and infinities are copied as is.
 *   f32: from F32, F16, BF16 (exact), F64 (rounded to nearest even)
 *   f64: from F64, F32, F16, BF16 (all exact)
 *   i32: from I32, I16, I8, U8, I64 (range-checked) */
int baldro_st_read_f32(const baldro_st_file *f, const char *name, float *dst, size_t n,
                       baldro_error *err);
int baldro_st_read_f64(const baldro_st_file *f, const char *name, double *dst, size_t n,
                       baldro_error *err);
int baldro_st_read_i32(const baldro_st_file *f, const char *name, int32_t *dst, size_t n,
                       baldro_error *err);

/* Scalar conversions, exposed for the engine and the tests. */
float baldro_st_f16_to_f32(uint16_t h);
float baldro_st_bf16_to_f32(uint16_t b);

/* ---- Sharded checkpoints ------------------------------------------------------------- */

typedef struct baldro_st_set baldro_st_set;

/* Open a checkpoint: a directory holding model.safetensors.index.json (preferred) or a
 * single model.safetensors; a path to an index .json; or a path to one .safetensors file.
 * For an index, each shard named in weight_map is opened once; every weight_map name must
 * exist in its shard, every tensor in a shard must be in weight_map and mapped to that
 * shard, and no name may appear in two shards. Shard names must be relative paths without
 * "..". Errors: BALDRO_ENOTFOUND (directory with neither file), BALDRO_EIO, BALDRO_EINVAL. */
int baldro_st_open_index(const char *dir_or_index_json, baldro_st_set **out,
                         baldro_error *err);
void baldro_st_set_close(baldro_st_set *s); /* safe on NULL */

size_t baldro_st_set_count(const baldro_st_set *s);
/* Shards in the order of their file names, each in file order. NULL when i >= count. */
const baldro_st_tensor *baldro_st_set_at(const baldro_st_set *s, size_t i);
const baldro_st_tensor *baldro_st_set_find(const baldro_st_set *s, const char *name);
/* The shard holding `name` (to use with the baldro_st_read_* functions), or NULL. */
const baldro_st_file *baldro_st_set_file_of(const baldro_st_set *s, const char *name);
size_t baldro_st_set_shard_count(const baldro_st_set *s);
const baldro_st_file *baldro_st_set_shard(const baldro_st_set *s, size_t i);

/* baldro_st_read_* on whichever shard holds `name` (BALDRO_ENOTFOUND if none). */
int baldro_st_set_read_f32(const baldro_st_set *s, const char *name, float *dst, size_t n,
                           baldro_error *err);
int baldro_st_set_read_f64(const baldro_st_set *s, const char *name, double *dst, size_t n,
                           baldro_error *err);
int baldro_st_set_read_i32(const baldro_st_set *s, const char *name, int32_t *dst, size_t n,
                           baldro_error *err);

/* ---- Writer -------------------------------------------------------------------------- */

typedef struct baldro_st_writer baldro_st_writer;

baldro_st_writer *baldro_st_writer_new(void);
void baldro_st_writer_free(baldro_st_writer *w); /* safe on NULL */

/* Add a tensor. `data` (product(shape) * element size bytes; may be NULL when that is 0)
 * is borrowed, not copied: keep it alive and unchanged until the last write. The name is
 * copied. Errors: BALDRO_EINVAL (bad name, dtype, ndim or shape; "__metadata__" is
 * reserved), BALDRO_EEXIST (name already added). */
int baldro_st_writer_add(baldro_st_writer *w, const char *name, baldro_st_dtype dt,
                         int32_t ndim, const int64_t *shape, const void *data,
                         baldro_error *err);
/* Set (or replace) a __metadata__ entry; both strings are copied and must be UTF-8. */
int baldro_st_writer_set_metadata(baldro_st_writer *w, const char *key, const char *value,
                                  baldro_error *err);
/* Write atomically to `path` (see the top of this file). The writer stays usable.
 * Errors: BALDRO_EIO (the message names the path and the failing step). */
int baldro_st_writer_write(baldro_st_writer *w, const char *path, baldro_error *err);
/* The same bytes in memory (g_free() them); NULL on error. */
void *baldro_st_writer_to_memory(baldro_st_writer *w, size_t *len, baldro_error *err);

#endif /* BALDRO_CORE_IO_SAFETENSORS_H */
