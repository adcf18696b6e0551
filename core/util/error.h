/*
 * core/util/error.h: the host's error value.
 *
 * Library code in core/ never prints and never aborts: a function that can fail takes a
 * `baldro_error *` out-parameter, fills it with a status code and a one-line message
 * naming the file, the field and the reason, and returns the code. Only the CLI layer
 * prints the message and maps codes to exit statuses.
 */
#ifndef BALDRO_CORE_ERROR_H
#define BALDRO_CORE_ERROR_H

#include <stdarg.h>

#include "baldro/abi.h"

#define BALDRO_ERROR_MSG_MAX 1024

typedef struct baldro_error {
    int code; /* baldro_status; BALDRO_OK when nothing went wrong */
    char msg[BALDRO_ERROR_MSG_MAX];
} baldro_error;

/* Reset to "no error". Safe on NULL. */
void baldro_error_clear(baldro_error *err);

/* Record an error and return `code`, so callers can write `return baldro_error_set(...)`.
 * Safe on NULL (the message is dropped, the code still returned). */
int baldro_error_set(baldro_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int baldro_error_setv(baldro_error *err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Short name of a status code ("EINVAL"). */
const char *baldro_status_name(int code);

#endif /* BALDRO_CORE_ERROR_H */
