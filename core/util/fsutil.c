/* core/util/fsutil.c: see fsutil.h. */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int baldro_write_file_atomic(const char *path, const void *data, size_t len, baldro_error *err) {
    char *dir = g_path_get_dirname(path);
    char *base = g_path_get_basename(path);
    char *tmpl = g_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
    int rc = BALDRO_OK;
    int fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0666); /* umask applies, as to any file */
    if (fd < 0) {
        rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot create temporary file: %s", path,
                              strerror(errno));
        goto out;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = baldro_error_set(err, BALDRO_EIO, "%s: write failed: %s", path, strerror(errno));
            break;
        }
        p += n;
        left -= (size_t)n;
    }
    if (rc == BALDRO_OK && fsync(fd) != 0)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: fsync failed: %s", path, strerror(errno));
    if (close(fd) != 0 && rc == BALDRO_OK)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: close failed: %s", path, strerror(errno));
    if (rc == BALDRO_OK && rename(tmpl, path) != 0)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: rename failed: %s", path, strerror(errno));
    if (rc != BALDRO_OK) unlink(tmpl);
out:
    g_free(tmpl);
    g_free(base);
    g_free(dir);
    return rc;
}

int baldro_atomic_open(const char *path, baldro_atomic_file *af, baldro_error *err) {
    memset(af, 0, sizeof *af);
    char *dir = g_path_get_dirname(path);
    char *base = g_path_get_basename(path);
    af->tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
    g_free(dir);
    g_free(base);
    int fd = g_mkstemp_full(af->tmp, O_RDWR | O_CLOEXEC, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            unlink(af->tmp);
        }
        g_free(af->tmp);
        af->tmp = NULL;
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot create temporary file: %s", path,
                                strerror(e));
    }
    af->f = f;
    af->path = g_strdup(path);
    return BALDRO_OK;
}

void baldro_atomic_write(baldro_atomic_file *af, const void *data, size_t len) {
    if (af->failed || len == 0) return;
    if (fwrite(data, 1, len, (FILE *)af->f) != len) af->failed = errno ? errno : EIO;
}

static void atomic_free(baldro_atomic_file *af) {
    g_free(af->tmp);
    g_free(af->path);
    memset(af, 0, sizeof *af);
}

int baldro_atomic_commit(baldro_atomic_file *af, baldro_error *err) {
    FILE *f = af->f;
    int rc = BALDRO_OK;
    if (af->failed)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: write failed: %s", af->path,
                              strerror(af->failed));
    if (rc == BALDRO_OK && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        rc = baldro_error_set(err, BALDRO_EIO, "%s: flush failed: %s", af->path, strerror(errno));
    if (fclose(f) != 0 && rc == BALDRO_OK)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: close failed: %s", af->path, strerror(errno));
    if (rc == BALDRO_OK && rename(af->tmp, af->path) != 0)
        rc = baldro_error_set(err, BALDRO_EIO, "%s: rename failed: %s", af->path,
                              strerror(errno));
    if (rc != BALDRO_OK) unlink(af->tmp);
    atomic_free(af);
    return rc;
}

void baldro_atomic_abort(baldro_atomic_file *af) {
    if (af->f) {
        fclose((FILE *)af->f);
        unlink(af->tmp);
    }
    atomic_free(af);
}

int baldro_mkdir_p(const char *path, baldro_error *err) {
    if (g_mkdir_with_parents(path, 0777) != 0)
        return baldro_error_set(err, BALDRO_EIO, "%s: cannot create directory: %s", path,
                                strerror(errno));
    return BALDRO_OK;
}

char *baldro_exe_dir(void) {
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (!exe) return NULL;
    char *dir = g_path_get_dirname(exe);
    g_free(exe);
    return dir;
}
