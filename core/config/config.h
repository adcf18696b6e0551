/*
 * core/config/config.h: layered, typed experiment configuration.
 *
 * Layers, later wins:
 *   1. the embedded defaults (core/config/defaults.cfg, compiled into the host): they are
 *      also the schema - every setting the host knows, with its type;
 *   2. parameters declared by loaded plugins (objectives.<name>.<param>,
 *      metrics.<name>.<param>), registered with baldro_config_declare_param();
 *   3. the experiment file(s): libconfig syntax; a top-level `inherit = ["a.cfg", ...];`
 *      list pulls in shared defaults first (paths relative to the including file,
 *      recursively, cycles refused); libconfig's own `@include` also works for
 *      disjoint pieces;
 *   4. command-line overrides `--set path=value`, parsed with the type of the setting.
 * A setting not in the schema, or a value of the wrong type, is an error that names
 * file:line (or "--set") and the setting's dotted path. Integers are accepted where a
 * float is expected; nothing else is converted.
 * Every resolved value remembers where it came from (baldro_config_origin), and the
 * resolved config is written back as a libconfig file annotated with those origins.
 */
#ifndef BALDRO_CORE_CONFIG_H
#define BALDRO_CORE_CONFIG_H

#include <stdint.h>

#include "baldro/params.h"
#include "util/error.h"

typedef struct baldro_config baldro_config;

/* Setting kinds as the schema knows them. */
typedef enum baldro_cfg_kind {
    BALDRO_CFG_NONE = 0, /* no such setting */
    BALDRO_CFG_GROUP,
    BALDRO_CFG_INT,      /* libconfig int and int64 */
    BALDRO_CFG_FLOAT,
    BALDRO_CFG_BOOL,
    BALDRO_CFG_STRING,
    BALDRO_CFG_ARRAY,    /* [ scalars of one type ] */
    BALDRO_CFG_LIST      /* ( anything ) */
} baldro_cfg_kind;

/* A fresh config holding the embedded defaults. NULL (with err set) only if the
 * embedded text does not parse, which a test guards against. */
baldro_config *baldro_config_new(baldro_error *err);
/* Same, from caller-supplied defaults text (for tests). `origin_name` labels it. */
baldro_config *baldro_config_new_from_string(const char *defaults_text, const char *origin_name,
                                             baldro_error *err);
void baldro_config_free(baldro_config *cfg);

/* Declare a plugin parameter: creates `<section>.<object>.<spec->name>` (section is
 * "objectives" or "metrics") with the spec's type and default, and remembers the spec's
 * bounds for validation. Origin "plugin <plugin_name>". */
int baldro_config_declare_param(baldro_config *cfg, const char *section, const char *object,
                                const baldro_param_spec *spec, const char *plugin_name,
                                baldro_error *err);

/* Merge an experiment file (and what it inherits) over the current values. */
int baldro_config_load_file(baldro_config *cfg, const char *path, baldro_error *err);
/* Apply one "dotted.path=value" override. */
int baldro_config_set_override(baldro_config *cfg, const char *assignment, baldro_error *err);

/* Run the host's semantic checks (ranges, enumerations, declared param bounds). The
 * message names the origin of the offending value. */
int baldro_config_validate(const baldro_config *cfg, baldro_error *err);

/* Typed getters: BALDRO_ENOTFOUND if the path does not exist, BALDRO_EINVAL if it has
 * another kind. Strings point into the config and live as long as it does. */
baldro_cfg_kind baldro_config_kind(const baldro_config *cfg, const char *path);
int baldro_config_get_int(const baldro_config *cfg, const char *path, int64_t *out);
int baldro_config_get_float(const baldro_config *cfg, const char *path, double *out); /* ints too */
int baldro_config_get_bool(const baldro_config *cfg, const char *path, int *out);
int baldro_config_get_string(const baldro_config *cfg, const char *path, const char **out);

/* Resolve a plugin's declared parameters into values in spec order (for create()).
 * `out` must hold one entry per spec before the terminator. */
int baldro_config_param_values(const baldro_config *cfg, const char *section, const char *object,
                               const baldro_param_spec *specs, baldro_param_value *out,
                               baldro_error *err);

/* Where a setting's value came from: "file.cfg:12", "--set", "defaults" or
 * "plugin NAME". NULL if the path does not exist. */
const char *baldro_config_origin(const baldro_config *cfg, const char *path);

/* The resolved config as libconfig text; with_origins adds "# from ..." comments.
 * g_free() the result. Parsing the text again gives the same values. */
char *baldro_config_to_string(const baldro_config *cfg, int with_origins);
/* Write it atomically. */
int baldro_config_write(const baldro_config *cfg, const char *path, baldro_error *err);

/* The settings under `prefixes` (NULL-terminated dotted paths, each matching itself and
 * what lies below it; a leading '!' excludes instead, and wins) as "path = value" lines
 * in schema order: the text a pipeline step's content hash covers. g_free() it. */
char *baldro_config_canonical(const baldro_config *cfg, const char *const *prefixes);

/* ---- sweeps ----------------------------------------------------------------------
 * `sweep = ( { key = "baldro.tau"; values = [0.5, 1.0]; }, ... );` names the axes of a
 * grid of runs. Each axis's values are kept as --set right-hand sides (`values`, which
 * baldro_config_set_override() parses with the setting's type) and as plain labels for
 * directory names and tables. */
typedef struct baldro_sweep_axis {
    char *key;      /* a setting's dotted path                                   */
    char **values;  /* n_values right-hand sides: "0.5", "\"npo\""               */
    char **labels;  /* n_values labels: "0.5", "npo"                             */
    size_t n_values;
} baldro_sweep_axis;

/* Reads and checks the sweep list: each entry a group with a string `key` naming a
 * setting of the schema (not run.name, run.output_dir or sweep itself; no key twice) and
 * a non-empty `values` array or list of scalars of the setting's type. *n_axes = 0 and
 * *axes = NULL when there is none. Errors name the file:line of the sweep entry. */
int baldro_config_sweep(const baldro_config *cfg, baldro_sweep_axis **axes, size_t *n_axes,
                        baldro_error *err);
void baldro_sweep_axes_free(baldro_sweep_axis *axes, size_t n_axes);

#endif /* BALDRO_CORE_CONFIG_H */
