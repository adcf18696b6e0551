/*
 * core/util/log.h: leveled logging to stderr.
 *
 * Level order: error < warn < info < debug. The default is info; BALDRO_LOG
 * (error|warn|info|debug) sets it from the environment, and --quiet / --verbose on the
 * command line win over the environment. Results go to stdout; logs never do, so a
 * command's output can be piped.
 */
#ifndef BALDRO_CORE_LOG_H
#define BALDRO_CORE_LOG_H

#include <stdarg.h>

#include "baldro/abi.h"

void baldro_log_set_level(baldro_log_level level);
baldro_log_level baldro_log_get_level(void);
/* Parse "error", "warn", "info", "debug" (or 0..3). Returns 0 on success. */
int baldro_log_parse_level(const char *s, baldro_log_level *out);

void baldro_log(baldro_log_level level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void baldro_logv(baldro_log_level level, const char *tag, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define LOG_ERROR(...) baldro_log(BALDRO_LOG_ERROR, NULL, __VA_ARGS__)
#define LOG_WARN(...) baldro_log(BALDRO_LOG_WARN, NULL, __VA_ARGS__)
#define LOG_INFO(...) baldro_log(BALDRO_LOG_INFO, NULL, __VA_ARGS__)
#define LOG_DEBUG(...) baldro_log(BALDRO_LOG_DEBUG, NULL, __VA_ARGS__)

#endif /* BALDRO_CORE_LOG_H */
