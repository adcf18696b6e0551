/* core/util/log.c: see log.h. */
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static baldro_log_level g_level = BALDRO_LOG_INFO;

void baldro_log_set_level(baldro_log_level level) { g_level = level; }
baldro_log_level baldro_log_get_level(void) { return g_level; }

int baldro_log_parse_level(const char *s, baldro_log_level *out) {
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (!s) return -1;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, names[i]) == 0 || (s[0] == '0' + i && s[1] == '\0')) {
            *out = (baldro_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = BALDRO_LOG_WARN;
        return 0;
    }
    return -1;
}

void baldro_logv(baldro_log_level level, const char *tag, const char *fmt, va_list ap) {
    static const char *prefix[] = {"error", "warning", "info", "debug"};
    if (level > g_level) return;
    /* One fprintf per line keeps lines whole when threads log concurrently. */
    char line[2048];
    vsnprintf(line, sizeof line, fmt, ap);
    if (tag)
        fprintf(stderr, "baldro-host: %s: [%s] %s\n", prefix[level], tag, line);
    else
        fprintf(stderr, "baldro-host: %s: %s\n", prefix[level], line);
}

void baldro_log(baldro_log_level level, const char *tag, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    baldro_logv(level, tag, fmt, ap);
    va_end(ap);
}
