/*
 * baldro/params.h: typed parameters that objectives and metrics declare.
 *
 * A plugin lists its parameters (name, type, default, range, one-line help) in a
 * NULL-name-terminated array. The host turns that list into config settings
 * `objectives.<name>.<param>` / `metrics.<name>.<param>`, type-checks the user's values
 * and --set overrides against it, and hands the resolved values to create() in the same
 * order as the spec. Plugins therefore never parse config files themselves.
 */
#ifndef BALDRO_PARAMS_H
#define BALDRO_PARAMS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum baldro_param_type {
    BALDRO_PARAM_FLOAT = 1,
    BALDRO_PARAM_INT = 2,
    BALDRO_PARAM_BOOL = 3,
    BALDRO_PARAM_STRING = 4
} baldro_param_type;

/* One declared parameter. The layout is fixed for ABI major 1 (arrays of it are indexed
 * by the host, so it cannot grow); `reserved` must be zero. */
typedef struct baldro_param_spec {
    const char *name;           /* [A-Za-z_][A-Za-z0-9_]*; NULL ends the list */
    baldro_param_type type;
    double default_float;       /* used when type == FLOAT */
    int64_t default_int;        /* INT, and BOOL (0 or 1) */
    const char *default_string; /* STRING */
    double min, max;            /* inclusive bounds for FLOAT/INT; ignored when min > max */
    const char *description;    /* one line for `baldro-host plugins --verbose` */
    const void *reserved[2];
} baldro_param_spec;

/* A resolved value, as handed to create(). */
typedef struct baldro_param_value {
    baldro_param_type type;
    double f;       /* FLOAT */
    int64_t i;      /* INT and BOOL */
    const char *s;  /* STRING; owned by the host, valid during create() */
} baldro_param_value;

/* Convenience initialisers for spec arrays. The bounds are inclusive; pass lo > hi
 * for "unbounded". */
#define BALDRO_PARAM_F(nm, dflt, lo, hi, help) \
    { (nm), BALDRO_PARAM_FLOAT, (dflt), 0, NULL, (lo), (hi), (help), { NULL, NULL } }
#define BALDRO_PARAM_I(nm, dflt, lo, hi, help) \
    { (nm), BALDRO_PARAM_INT, 0.0, (dflt), NULL, (lo), (hi), (help), { NULL, NULL } }
#define BALDRO_PARAM_B(nm, dflt, help) \
    { (nm), BALDRO_PARAM_BOOL, 0.0, (dflt) ? 1 : 0, NULL, 1.0, 0.0, (help), { NULL, NULL } }
#define BALDRO_PARAM_S(nm, dflt, help) \
    { (nm), BALDRO_PARAM_STRING, 0.0, 0, (dflt), 1.0, 0.0, (help), { NULL, NULL } }
#define BALDRO_PARAM_END { NULL, (baldro_param_type)0, 0.0, 0, NULL, 0.0, 0.0, NULL, { NULL, NULL } }

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_PARAMS_H */
