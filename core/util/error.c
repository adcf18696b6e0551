/* core/util/error.c: see error.h. */
#include "util/error.h"

#include <stdio.h>
#include <string.h>

void baldro_error_clear(baldro_error *err) {
    if (!err) return;
    err->code = BALDRO_OK;
    err->msg[0] = '\0';
}

int baldro_error_setv(baldro_error *err, int code, const char *fmt, va_list ap) {
    if (!err) return code;
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    /* Keep messages one line: the CLI prints them as "baldro-host: <msg>". */
    for (char *p = err->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
    return code;
}

int baldro_error_set(baldro_error *err, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    baldro_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

const char *baldro_status_name(int code) {
    switch (code) {
    case BALDRO_OK: return "OK";
    case BALDRO_EINVAL: return "EINVAL";
    case BALDRO_ENOMEM: return "ENOMEM";
    case BALDRO_EIO: return "EIO";
    case BALDRO_EEXIST: return "EEXIST";
    case BALDRO_ENOTFOUND: return "ENOTFOUND";
    case BALDRO_EVERSION: return "EVERSION";
    case BALDRO_EUNSUPPORTED: return "EUNSUPPORTED";
    case BALDRO_ESTATE: return "ESTATE";
    case BALDRO_ENUMERIC: return "ENUMERIC";
    case BALDRO_EPLUGIN: return "EPLUGIN";
    default: return "E?";
    }
}
