/*
 * core/config/config_write.c: the resolved config as libconfig text. Our own writer
 * rather than config_write(): it can annotate each value with its origin, it prints
 * floats so that they read back as floats with the same value, and its layout does not
 * depend on libconfig's formatting options.
 */
#include "config/config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config/config_internal.h"
#include "util/fsutil.h"

static void append_float(GString *out, double v) {
    if (isnan(v)) {
        /* Unreachable through files, --set and declare_param, which all refuse it. */
        g_string_append(out, "0.0 /* NaN: libconfig has no literal for it */");
        return;
    }
    if (isinf(v)) {
        /* libconfig has no "inf" literal, but it reads an overflowing one as infinity. */
        g_string_append(out, v > 0 ? "1e999" : "-1e999");
        return;
    }
    /* The shortest %g form that reads back as the same double: 1e-05, not
     * 1.0000000000000001e-05. g_ascii_*: C locale whatever LC_NUMERIC says. */
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    for (int prec = 1; prec <= 17; prec++) {
        char fmt[8];
        snprintf(fmt, sizeof fmt, "%%.%dg", prec);
        g_ascii_formatd(buf, sizeof buf, fmt, v);
        if (g_ascii_strtod(buf, NULL) == v) break;
    }
    g_string_append(out, buf);
    /* "3" would read back as an integer. */
    if (!strpbrk(buf, ".eE")) g_string_append(out, ".0");
}

static void append_string(GString *out, const char *s) {
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\\': g_string_append(out, "\\\\"); break;
        case '"': g_string_append(out, "\\\""); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\r': g_string_append(out, "\\r"); break;
        case '\t': g_string_append(out, "\\t"); break;
        case '\f': g_string_append(out, "\\f"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) g_string_append_printf(out, "\\x%02x", *p);
            else g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

void baldro_config_append_value(GString *out, const config_setting_t *s, int in_array) {
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT: g_string_append_printf(out, "%d", config_setting_get_int(s)); break;
    case CONFIG_TYPE_INT64: {
        long long v = config_setting_get_int64(s);
        /* libconfig 1.5 truncates a large literal without L; inside an array every
         * element keeps its L, because an array may not mix int and int64. */
        int suffix = in_array || v < INT32_MIN || v > INT32_MAX;
        g_string_append_printf(out, "%lld%s", v, suffix ? "L" : "");
        break;
    }
    case CONFIG_TYPE_FLOAT: append_float(out, config_setting_get_float(s)); break;
    case CONFIG_TYPE_BOOL: g_string_append(out, config_setting_get_bool(s) ? "true" : "false"); break;
    case CONFIG_TYPE_STRING: append_string(out, config_setting_get_string(s)); break;
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        int array = config_setting_is_array(s);
        g_string_append_c(out, array ? '[' : '(');
        for (int i = 0; i < config_setting_length(s); i++) {
            if (i) g_string_append(out, ", ");
            baldro_config_append_value(out, config_setting_get_elem(s, (unsigned)i), array);
        }
        g_string_append_c(out, array ? ']' : ')');
        break;
    }
    case CONFIG_TYPE_GROUP: /* only inside lists: written on one line */
        g_string_append(out, "{ ");
        for (int i = 0; i < config_setting_length(s); i++) {
            const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
            g_string_append_printf(out, "%s = ", config_setting_name(m));
            baldro_config_append_value(out, m, 0);
            g_string_append(out, "; ");
        }
        g_string_append_c(out, '}');
        break;
    default: g_string_append(out, "0 /* unknown libconfig type */"); break;
    }
}

static void append_members(GString *out, const baldro_config *cfg, const config_setting_t *g,
                           GString *path, int depth, int with_origins) {
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(s);
        size_t mark = path->len;
        if (mark) g_string_append_c(path, '.');
        g_string_append(path, name);
        for (int d = 0; d < depth; d++) g_string_append(out, "  ");
        if (config_setting_is_group(s)) {
            if (config_setting_length(s) == 0) {
                g_string_append_printf(out, "%s: { };\n", name);
            } else {
                g_string_append_printf(out, "%s: {\n", name);
                append_members(out, cfg, s, path, depth + 1, with_origins);
                for (int d = 0; d < depth; d++) g_string_append(out, "  ");
                g_string_append(out, "};\n");
            }
        } else {
            g_string_append_printf(out, "%s = ", name);
            baldro_config_append_value(out, s, 0);
            g_string_append_c(out, ';');
            const char *origin = with_origins ? baldro_config_origin(cfg, path->str) : NULL;
            if (origin) {
                g_string_append(out, "  # from ");
                /* A file name with a newline in it must not end the comment early. */
                for (const char *p = origin; *p; p++)
                    g_string_append_c(out, (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
            }
            g_string_append_c(out, '\n');
        }
        g_string_truncate(path, mark);
    }
}

char *baldro_config_to_string(const baldro_config *cfg, int with_origins) {
    if (!cfg) return NULL;
    GString *out = g_string_new(NULL);
    GString *path = g_string_new(NULL);
    append_members(out, cfg, config_root_setting(cfg->lc), path, 0, with_origins);
    g_string_free(path, TRUE);
    return g_string_free(out, FALSE);
}

int baldro_config_write(const baldro_config *cfg, const char *path, baldro_error *err) {
    if (!cfg || !path) return baldro_error_set(err, BALDRO_EINVAL, "write: no config or path");
    char *text = baldro_config_to_string(cfg, 1);
    int rc = baldro_write_file_atomic(path, text, strlen(text), err);
    g_free(text);
    return rc;
}

/* ---- canonical text: what a pipeline step's content hash covers ----------------- */

static int wanted(const char *path, const char *const *prefixes) {
    int keep = 0;
    for (const char *const *p = prefixes; *p; p++) {
        const char *pre = **p == '!' ? *p + 1 : *p;
        size_t n = strlen(pre);
        if (strncmp(path, pre, n) != 0 || (path[n] && path[n] != '.')) continue;
        if (**p == '!') return 0; /* an exclusion wins wherever it is listed */
        keep = 1;
    }
    return keep;
}

static void canon_members(GString *out, const config_setting_t *g, GString *path,
                          const char *const *prefixes) {
    for (int i = 0; i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        size_t mark = path->len;
        if (mark) g_string_append_c(path, '.');
        g_string_append(path, config_setting_name(s));
        if (config_setting_is_group(s)) {
            canon_members(out, s, path, prefixes);
        } else if (wanted(path->str, prefixes)) {
            g_string_append_printf(out, "%s = ", path->str);
            baldro_config_append_value(out, s, 0);
            g_string_append_c(out, '\n');
        }
        g_string_truncate(path, mark);
    }
}

char *baldro_config_canonical(const baldro_config *cfg, const char *const *prefixes) {
    GString *out = g_string_new(NULL);
    GString *path = g_string_new(NULL);
    if (cfg && prefixes) canon_members(out, config_root_setting(cfg->lc), path, prefixes);
    g_string_free(path, TRUE);
    return g_string_free(out, FALSE);
}
