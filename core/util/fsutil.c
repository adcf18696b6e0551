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
    int fd = g_mkstemp(tmpl);
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
