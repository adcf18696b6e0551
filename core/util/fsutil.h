/*
 * core/util/fsutil.h: file helpers. Every file baldro writes goes through
 * baldro_write_file_atomic(): written to a temporary file in the same directory,
 * flushed and fsync'ed, then rename()d over the target, so a crash or a full disk never
 * leaves a half-written result where a complete one is expected.
 */
#ifndef BALDRO_CORE_FSUTIL_H
#define BALDRO_CORE_FSUTIL_H

#include <stddef.h>

#include "util/error.h"

int baldro_write_file_atomic(const char *path, const void *data, size_t len, baldro_error *err);

/* The same protocol for files written piece by piece (optimizer state, caches): open
 * creates the temporary file, write appends (a failure is remembered, so callers may
 * check once at commit), commit flushes, fsyncs and renames; abort removes the
 * temporary. Exactly one of commit or abort must follow a successful open. */
typedef struct baldro_atomic_file {
    void *f;     /* FILE *                          */
    char *tmp;   /* temporary path                  */
    char *path;  /* final path                      */
    int failed;  /* errno of the first failed write */
} baldro_atomic_file;

int baldro_atomic_open(const char *path, baldro_atomic_file *af, baldro_error *err);
void baldro_atomic_write(baldro_atomic_file *af, const void *data, size_t len);
int baldro_atomic_commit(baldro_atomic_file *af, baldro_error *err);
void baldro_atomic_abort(baldro_atomic_file *af);

/* mkdir -p. */
int baldro_mkdir_p(const char *path, baldro_error *err);

/* Directory holding the running executable (from /proc/self/exe); g_free() it.
 * Returns NULL if it cannot be determined. */
char *baldro_exe_dir(void);

#endif /* BALDRO_CORE_FSUTIL_H */
