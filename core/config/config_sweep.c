/*
 * core/config/config_sweep.c: the `sweep` list, read into axes of a grid of runs.
 *
 * The list lives in the config rather than in a separate file so that one experiment
 * file says everything, and so that `--set sweep=(...)` and inheritance work on it like
 * on any other setting. Values are checked against the type of the setting they sweep
 * here, before any run starts; the range and enumeration rules are checked when the
 * pipeline resolves each grid point (baldro_config_validate on the point's config).
 */
#include "config/config.h"

#include <stdarg.h>
#include <string.h>

#include "config/config_internal.h"

static const char *const k_not_sweepable[] = {"run.name", "run.output_dir", "sweep", NULL};

static int kind_fits(baldro_cfg_kind want, baldro_cfg_kind got) {
    return want == got || (want == BALDRO_CFG_FLOAT && got == BALDRO_CFG_INT);
}

/* The label: the value as written, strings without quotes. */
static char *label_of(const config_setting_t *v) {
    if (config_setting_type(v) == CONFIG_TYPE_STRING) return g_strdup(config_setting_get_string(v));
    GString *s = g_string_new(NULL);
    baldro_config_append_value(s, v, 0);
    return g_string_free(s, FALSE);
}

static int entry_error(const baldro_config *cfg, const config_setting_t *e, int idx,
                       baldro_error *err, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int entry_error(const baldro_config *cfg, const config_setting_t *e, int idx,
                       baldro_error *err, const char *fmt, ...) {
    const char *origin = baldro_config_origin(cfg, "sweep");
    unsigned line = e ? config_setting_source_line(e) : 0;
    char where[256];
    /* A file origin is "file:line" of the list; the entry's own line is more useful. */
    if (origin && line && strchr(origin, ':') && strncmp(origin, "--set", 5) != 0) {
        const char *colon = strrchr(origin, ':');
        g_snprintf(where, sizeof where, "%.*s:%u", (int)(colon - origin), origin, line);
    } else {
        g_snprintf(where, sizeof where, "%s", origin ? origin : "sweep");
    }
    va_list ap;
    va_start(ap, fmt);
    char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    int rc = baldro_error_set(err, BALDRO_EINVAL, "%s: sweep[%d]: %s", where, idx, what);
    g_free(what);
    return rc;
}

void baldro_sweep_axes_free(baldro_sweep_axis *axes, size_t n_axes) {
    if (!axes) return;
    for (size_t i = 0; i < n_axes; i++) {
        g_free(axes[i].key);
        for (size_t j = 0; j < axes[i].n_values; j++) {
            g_free(axes[i].values[j]);
            g_free(axes[i].labels[j]);
        }
        g_free(axes[i].values);
        g_free(axes[i].labels);
    }
    g_free(axes);
}

int baldro_config_sweep(const baldro_config *cfg, baldro_sweep_axis **axes, size_t *n_axes,
                        baldro_error *err) {
    *axes = NULL;
    *n_axes = 0;
    const config_setting_t *list = baldro_config_setting(cfg, "sweep");
    if (!list) return BALDRO_OK;
    if (!config_setting_is_list(list) && !config_setting_is_array(list))
        return entry_error(cfg, NULL, 0, err, "sweep must be a list ( {key; values}, ... )");
    int n = config_setting_length(list);
    if (n == 0) return BALDRO_OK;
    baldro_sweep_axis *ax = g_new0(baldro_sweep_axis, (size_t)n);
    int rc = BALDRO_OK;
    int i;
    for (i = 0; i < n && rc == BALDRO_OK; i++) {
        const config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        if (!config_setting_is_group(e)) {
            rc = entry_error(cfg, e, i, err, "expected a group { key = \"...\"; values = [...]; }");
            break;
        }
        const config_setting_t *k = config_setting_get_member(e, "key");
        const config_setting_t *v = config_setting_get_member(e, "values");
        for (int m = 0; m < config_setting_length(e); m++) {
            const char *name = config_setting_name(config_setting_get_elem(e, (unsigned)m));
            if (strcmp(name, "key") && strcmp(name, "values")) {
                rc = entry_error(cfg, e, i, err, "unknown member '%s' (expected key and values)", name);
                break;
            }
        }
        if (rc) break;
        if (!k || config_setting_type(k) != CONFIG_TYPE_STRING) {
            rc = entry_error(cfg, e, i, err, "key: expected a string naming a setting");
            break;
        }
        const char *key = config_setting_get_string(k);
        baldro_cfg_kind want = baldro_config_kind(cfg, key);
        if (want == BALDRO_CFG_NONE) {
            rc = entry_error(cfg, e, i, err, "key: unknown setting '%s'", key);
            break;
        }
        if (want == BALDRO_CFG_GROUP || want == BALDRO_CFG_ARRAY || want == BALDRO_CFG_LIST) {
            rc = entry_error(cfg, e, i, err, "key: '%s' is %s; only single values can be swept",
                             key, baldro_config_kind_name(want));
            break;
        }
        for (const char *const *bad = k_not_sweepable; *bad; bad++)
            if (!strcmp(key, *bad))
                rc = entry_error(cfg, e, i, err, "key: '%s' cannot be swept%s", key,
                                 !strcmp(key, "sweep") ? "" : " (it names the experiment directory)");
        if (rc) break;
        for (int j = 0; j < i; j++)
            if (!strcmp(ax[j].key, key))
                rc = entry_error(cfg, e, i, err, "key: '%s' is swept twice", key);
        if (rc) break;
        if (!v || !(config_setting_is_array(v) || config_setting_is_list(v)) ||
            config_setting_length(v) == 0) {
            rc = entry_error(cfg, e, i, err, "values: expected a non-empty [ ... ] of values for '%s'", key);
            break;
        }
        ax[i].key = g_strdup(key);
        ax[i].n_values = (size_t)config_setting_length(v);
        ax[i].values = g_new0(char *, ax[i].n_values);
        ax[i].labels = g_new0(char *, ax[i].n_values);
        for (size_t j = 0; j < ax[i].n_values && rc == BALDRO_OK; j++) {
            const config_setting_t *val = config_setting_get_elem(v, (unsigned)j);
            baldro_cfg_kind got = baldro_config_setting_kind(val);
            if (!kind_fits(want, got)) {
                rc = entry_error(cfg, e, i, err, "values[%zu]: %s expects %s, got %s", j, key,
                                 baldro_config_kind_name(want), baldro_config_kind_name(got));
                break;
            }
            ax[i].labels[j] = label_of(val);
            if (got == BALDRO_CFG_STRING) {
                ax[i].values[j] = g_strdup_printf("\"%s\"", config_setting_get_string(val));
            } else {
                GString *s = g_string_new(NULL);
                baldro_config_append_value(s, val, 0);
                ax[i].values[j] = g_string_free(s, FALSE);
            }
            for (size_t q = 0; q < j && rc == BALDRO_OK; q++)
                if (!strcmp(ax[i].labels[q], ax[i].labels[j]))
                    rc = entry_error(cfg, e, i, err, "values: '%s' is listed twice for '%s'",
                                     ax[i].labels[j], key);
        }
    }
    if (rc != BALDRO_OK) {
        baldro_sweep_axes_free(ax, (size_t)n);
        return rc;
    }
    *axes = ax;
    *n_axes = (size_t)n;
    return BALDRO_OK;
}
