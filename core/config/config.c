/*
 * core/config/config.c: the config object, lookups, typed getters and plugin
 * parameters. Loading and merging live in config_merge.c, the semantic rules in
 * config_rules.c, the serializer in config_write.c.
 */
#include "config/config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "config/config_internal.h"

extern const char baldro_defaults_cfg[];

static void bound_free(gpointer p) {
    baldro_config_bound *b = p;
    g_free(b->path);
    g_free(b);
}

baldro_config *baldro_config_new_from_string(const char *defaults_text, const char *origin_name,
                                             baldro_error *err) {
    const char *origin = origin_name ? origin_name : "defaults";
    if (!defaults_text) {
        baldro_error_set(err, BALDRO_EINVAL, "%s: no defaults text", origin);
        return NULL;
    }
    char *why = NULL;
    unsigned bad_line = baldro_config_scan_int_literals(defaults_text, &why);
    if (bad_line) {
        baldro_error_set(err, BALDRO_EINVAL, "%s:%u: %s", origin, bad_line, why);
        g_free(why);
        return NULL;
    }
    config_t *lc = g_new0(config_t, 1);
    config_init(lc);
    if (!config_read_string(lc, defaults_text)) {
        baldro_error_set(err, BALDRO_EINVAL, "%s:%d: %s", origin, config_error_line(lc),
                         config_error_text(lc));
        config_destroy(lc);
        g_free(lc);
        return NULL;
    }
    baldro_config *cfg = g_new0(baldro_config, 1);
    cfg->lc = lc;
    cfg->base_origin = g_strdup(origin);
    cfg->origins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    cfg->bounds = g_ptr_array_new_with_free_func(bound_free);
    return cfg;
}

baldro_config *baldro_config_new(baldro_error *err) {
    return baldro_config_new_from_string(baldro_defaults_cfg, "defaults", err);
}

void baldro_config_free(baldro_config *cfg) {
    if (!cfg) return;
    config_destroy(cfg->lc);
    g_free(cfg->lc);
    g_free(cfg->base_origin);
    g_hash_table_destroy(cfg->origins);
    g_ptr_array_free(cfg->bounds, TRUE);
    g_free(cfg);
}

int baldro_config_is_name(const char *name) {
    if (!name || !(g_ascii_isalpha(*name) || *name == '*')) return 0;
    for (name++; *name; name++)
        if (!(g_ascii_isalnum(*name) || *name == '-' || *name == '_' || *name == '*')) return 0;
    return 1;
}

config_setting_t *baldro_config_setting(const baldro_config *cfg, const char *path) {
    if (!cfg || !path || !*path) return NULL;
    gchar **segs = g_strsplit(path, ".", -1);
    config_setting_t *s = config_root_setting(cfg->lc);
    for (int i = 0; s && segs[i]; i++) {
        /* libconfig 1.5's member lookup stops at '/' or ':' ("trainer/lr" finds
         * "trainer"), so anything but a plain name is refused before it gets there. */
        if (!config_setting_is_group(s) || !baldro_config_is_name(segs[i])) s = NULL;
        else s = config_setting_get_member(s, segs[i]);
    }
    g_strfreev(segs);
    return s;
}

baldro_cfg_kind baldro_config_setting_kind(const config_setting_t *s) {
    if (!s) return BALDRO_CFG_NONE;
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_GROUP: return BALDRO_CFG_GROUP;
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64: return BALDRO_CFG_INT;
    case CONFIG_TYPE_FLOAT: return BALDRO_CFG_FLOAT;
    case CONFIG_TYPE_BOOL: return BALDRO_CFG_BOOL;
    case CONFIG_TYPE_STRING: return BALDRO_CFG_STRING;
    case CONFIG_TYPE_ARRAY: return BALDRO_CFG_ARRAY;
    case CONFIG_TYPE_LIST: return BALDRO_CFG_LIST;
    default: return BALDRO_CFG_NONE;
    }
}

const char *baldro_config_kind_name(baldro_cfg_kind kind) {
    switch (kind) {
    case BALDRO_CFG_GROUP: return "a group";
    case BALDRO_CFG_INT: return "an integer";
    case BALDRO_CFG_FLOAT: return "a float";
    case BALDRO_CFG_BOOL: return "a boolean";
    case BALDRO_CFG_STRING: return "a string";
    case BALDRO_CFG_ARRAY: return "an array";
    case BALDRO_CFG_LIST: return "a list";
    default: return "nothing";
    }
}

baldro_cfg_kind baldro_config_kind(const baldro_config *cfg, const char *path) {
    return baldro_config_setting_kind(baldro_config_setting(cfg, path));
}

int baldro_config_get_int(const baldro_config *cfg, const char *path, int64_t *out) {
    const config_setting_t *s = baldro_config_setting(cfg, path);
    if (!s) return BALDRO_ENOTFOUND;
    if (baldro_config_setting_kind(s) != BALDRO_CFG_INT) return BALDRO_EINVAL;
    if (out) *out = config_setting_get_int64(s);
    return BALDRO_OK;
}

int baldro_config_get_float(const baldro_config *cfg, const char *path, double *out) {
    const config_setting_t *s = baldro_config_setting(cfg, path);
    if (!s) return BALDRO_ENOTFOUND;
    switch (baldro_config_setting_kind(s)) {
    case BALDRO_CFG_FLOAT:
        if (out) *out = config_setting_get_float(s);
        return BALDRO_OK;
    case BALDRO_CFG_INT:
        if (out) *out = (double)config_setting_get_int64(s);
        return BALDRO_OK;
    default: return BALDRO_EINVAL;
    }
}

int baldro_config_get_bool(const baldro_config *cfg, const char *path, int *out) {
    const config_setting_t *s = baldro_config_setting(cfg, path);
    if (!s) return BALDRO_ENOTFOUND;
    if (baldro_config_setting_kind(s) != BALDRO_CFG_BOOL) return BALDRO_EINVAL;
    if (out) *out = config_setting_get_bool(s) ? 1 : 0;
    return BALDRO_OK;
}

int baldro_config_get_string(const baldro_config *cfg, const char *path, const char **out) {
    const config_setting_t *s = baldro_config_setting(cfg, path);
    if (!s) return BALDRO_ENOTFOUND;
    if (baldro_config_setting_kind(s) != BALDRO_CFG_STRING) return BALDRO_EINVAL;
    if (out) *out = config_setting_get_string(s);
    return BALDRO_OK;
}

const char *baldro_config_origin(const baldro_config *cfg, const char *path) {
    if (!baldro_config_setting(cfg, path)) return NULL;
    const char *o = g_hash_table_lookup(cfg->origins, path);
    return o ? o : cfg->base_origin;
}

/* [A-Za-z_][A-Za-z0-9_]* as params.h promises; `hyphen` also admits '-' (libconfig
 * names may contain it, and plugin names sometimes do). */
static int is_identifier(const char *s, int hyphen) {
    if (!s || !(g_ascii_isalpha(*s) || *s == '_')) return 0;
    for (s++; *s; s++)
        if (!(g_ascii_isalnum(*s) || *s == '_' || (hyphen && *s == '-'))) return 0;
    return 1;
}

int baldro_config_declare_param(baldro_config *cfg, const char *section, const char *object,
                                const baldro_param_spec *spec, const char *plugin_name,
                                baldro_error *err) {
    const char *plugin = plugin_name ? plugin_name : "?";
    if (!cfg || !spec)
        return baldro_error_set(err, BALDRO_EINVAL, "plugin %s: no parameter spec", plugin);
    if (!section || (strcmp(section, "objectives") != 0 && strcmp(section, "metrics") != 0))
        return baldro_error_set(err, BALDRO_EINVAL,
                                "plugin %s: parameters belong under 'objectives' or 'metrics', "
                                "not '%s'", plugin, section ? section : "(null)");
    /* libconfig 1.5 names must start with a letter, so the leading '_' that params.h
     * allows cannot be represented in a config file: refuse it here, with a reason. */
    if (!is_identifier(object, 1) || object[0] == '_')
        return baldro_error_set(err, BALDRO_EINVAL,
                                "plugin %s: '%s' cannot be a config group name (letters, digits, "
                                "'_' and '-', starting with a letter)", plugin,
                                object ? object : "(null)");
    if (!is_identifier(spec->name, 0) || spec->name[0] == '_')
        return baldro_error_set(err, BALDRO_EINVAL,
                                "plugin %s: %s.%s: parameter name '%s' is not an identifier "
                                "starting with a letter", plugin, section, object,
                                spec->name ? spec->name : "(null)");

    char *path = g_strdup_printf("%s.%s.%s", section, object, spec->name);
    int rc = BALDRO_OK;
    int type;
    switch (spec->type) {
    case BALDRO_PARAM_FLOAT:
        if (!isfinite(spec->default_float)) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "plugin %s: %s: default is not finite",
                                  plugin, path);
            goto out;
        }
        type = CONFIG_TYPE_FLOAT;
        break;
    case BALDRO_PARAM_INT:
        type = (spec->default_int >= INT32_MIN && spec->default_int <= INT32_MAX)
                   ? CONFIG_TYPE_INT : CONFIG_TYPE_INT64;
        break;
    case BALDRO_PARAM_BOOL: type = CONFIG_TYPE_BOOL; break;
    case BALDRO_PARAM_STRING: type = CONFIG_TYPE_STRING; break;
    default:
        rc = baldro_error_set(err, BALDRO_EINVAL, "plugin %s: %s: unknown parameter type %d",
                              plugin, path, (int)spec->type);
        goto out;
    }

    config_setting_t *sec = config_setting_get_member(config_root_setting(cfg->lc), section);
    if (!sec) sec = config_setting_add(config_root_setting(cfg->lc), section, CONFIG_TYPE_GROUP);
    if (!sec || !config_setting_is_group(sec)) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "plugin %s: %s: '%s' is not a group", plugin,
                              path, section);
        goto out;
    }
    config_setting_t *obj = config_setting_get_member(sec, object);
    if (!obj) obj = config_setting_add(sec, object, CONFIG_TYPE_GROUP);
    if (!obj || !config_setting_is_group(obj)) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "plugin %s: %s: '%s.%s' is not a group", plugin,
                              path, section, object);
        goto out;
    }
    if (config_setting_get_member(obj, spec->name)) {
        rc = baldro_error_set(err, BALDRO_EEXIST, "plugin %s: %s: already declared (%s)", plugin,
                              path, baldro_config_origin(cfg, path));
        goto out;
    }
    config_setting_t *s = config_setting_add(obj, spec->name, type);
    if (!s) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "plugin %s: %s: cannot add the setting",
                              plugin, path);
        goto out;
    }
    switch (spec->type) {
    case BALDRO_PARAM_FLOAT: config_setting_set_float(s, spec->default_float); break;
    case BALDRO_PARAM_INT:
        if (type == CONFIG_TYPE_INT) config_setting_set_int(s, (int)spec->default_int);
        else config_setting_set_int64(s, spec->default_int);
        break;
    case BALDRO_PARAM_BOOL: config_setting_set_bool(s, spec->default_int != 0); break;
    case BALDRO_PARAM_STRING:
        config_setting_set_string(s, spec->default_string ? spec->default_string : "");
        break;
    }
    g_hash_table_replace(cfg->origins, g_strdup(path), g_strdup_printf("plugin %s", plugin));
    /* `min <= max` is also false for NaN bounds, which therefore mean "unbounded". */
    if ((spec->type == BALDRO_PARAM_FLOAT || spec->type == BALDRO_PARAM_INT) &&
        spec->min <= spec->max) {
        baldro_config_bound *b = g_new0(baldro_config_bound, 1);
        b->path = g_strdup(path);
        b->lo = spec->min;
        b->hi = spec->max;
        g_ptr_array_add(cfg->bounds, b);
    }
out:
    g_free(path);
    return rc;
}

int baldro_config_param_values(const baldro_config *cfg, const char *section, const char *object,
                               const baldro_param_spec *specs, baldro_param_value *out,
                               baldro_error *err) {
    if (!cfg || !section || !object || (specs && !out))
        return baldro_error_set(err, BALDRO_EINVAL, "param_values: missing argument");
    for (size_t i = 0; specs && specs[i].name; i++) {
        const baldro_param_spec *sp = &specs[i];
        char *path = g_strdup_printf("%s.%s.%s", section, object, sp->name);
        baldro_param_value *v = &out[i];
        memset(v, 0, sizeof *v);
        v->type = sp->type;
        int rc;
        const char *want;
        switch (sp->type) {
        case BALDRO_PARAM_FLOAT:
            want = "a float";
            rc = baldro_config_get_float(cfg, path, &v->f);
            break;
        case BALDRO_PARAM_INT:
            want = "an integer";
            rc = baldro_config_get_int(cfg, path, &v->i);
            break;
        case BALDRO_PARAM_BOOL: {
            int b = 0;
            want = "a boolean";
            rc = baldro_config_get_bool(cfg, path, &b);
            v->i = b;
            break;
        }
        case BALDRO_PARAM_STRING:
            want = "a string";
            rc = baldro_config_get_string(cfg, path, &v->s);
            break;
        default:
            want = "a known parameter type";
            rc = BALDRO_EINVAL;
            break;
        }
        if (rc == BALDRO_ENOTFOUND)
            baldro_error_set(err, rc, "%s: parameter not declared", path);
        else if (rc != BALDRO_OK)
            baldro_error_set(err, rc, "%s: expected %s, found %s", path, want,
                             baldro_config_kind_name(baldro_config_kind(cfg, path)));
        g_free(path);
        if (rc != BALDRO_OK) return rc;
    }
    return BALDRO_OK;
}
