/*
 * core/config/config_internal.h: what the config_*.c files share. Not part of the
 * public contract (config.h); nothing outside core/config/ includes it.
 */
#ifndef BALDRO_CORE_CONFIG_INTERNAL_H
#define BALDRO_CORE_CONFIG_INTERNAL_H

#include <glib.h>
#include <libconfig.h>

#include "config/config.h"

/* Bounds of a declared plugin parameter, checked by baldro_config_validate(). */
typedef struct baldro_config_bound {
    char *path; /* "objectives.toy.beta" */
    double lo, hi;
} baldro_config_bound;

struct baldro_config {
    /* A pointer, not an embedded config_t: every libconfig setting points back at its
     * config_t, so a load that fails half-way is undone by swapping in a snapshot. */
    config_t *lc;
    char *base_origin;   /* origin of everything not in `origins` ("defaults") */
    GHashTable *origins; /* dotted path -> origin string; both owned */
    GPtrArray *bounds;   /* baldro_config_bound *, in declaration order */
};

/* The setting at a dotted path: groups only, '.' only (config_lookup() also splits on
 * '/' and ':' and accepts "[n]", which would let `--set a/b=1` through). */
config_setting_t *baldro_config_setting(const baldro_config *cfg, const char *path);
/* A libconfig setting name: [A-Za-z*][-A-Za-z0-9_*]*. */
int baldro_config_is_name(const char *name);
baldro_cfg_kind baldro_config_setting_kind(const config_setting_t *s);
/* A value as libconfig text (floats read back exactly); in_array: inside [ ]. */
void baldro_config_append_value(GString *out, const config_setting_t *s, int in_array);
/* "a float", "an integer", ... for messages. */
const char *baldro_config_kind_name(baldro_cfg_kind kind);

/* Find integer literals libconfig 1.5 would silently misread: without an L suffix
 * beyond 32 bits (5000000000 reads as 705032704), with one beyond 64 bits (clamped).
 * Returns the 1-based line of the first, or 0 if there is none; `why` then gets the
 * reason, for the message after "file:line: " (g_free). */
unsigned baldro_config_scan_int_literals(const char *text, char **why);

#endif /* BALDRO_CORE_CONFIG_INTERNAL_H */
