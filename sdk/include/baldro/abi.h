/*
 * baldro/abi.h: versions, status codes and the plugin <-> host handshake.
 *
 * This header and its siblings in sdk/include/baldro/ are the only headers a plugin
 * includes. Everything crossing the boundary is a plain C struct or function pointer:
 * plugins never link against host symbols, so a plugin built against an installed SDK
 * loads into any host of the same ABI major and the same or newer minor.
 *
 * Growth rules (docs/plugin-abi.md has the full story):
 *   - Every struct that crosses the boundary starts with `uint32_t struct_size`.
 *   - Structs only grow at the end; a new member bumps BALDRO_ABI_MINOR.
 *   - The host copies a plugin's vtable into a zeroed struct of its own size, so
 *     members a plugin's (older) SDK did not know read as NULL/0.
 *   - A plugin built against a newer minor than the host is refused at load time.
 *   - Removing or reordering a member bumps BALDRO_ABI_MAJOR.
 */
#ifndef BALDRO_ABI_H
#define BALDRO_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI history:
 *   1.0  plugin info, host API, model / objective / metric vtables.
 *   1.1  `aliases` at the end of the model, objective and metric vtables.
 *   1.2  ops.h and tensor.h; the model vtable gains describe, params, gen_prefill and
 *        gen_decode; model create args gain the backend, limits and init_std.
 *   1.3  objective flag BALDRO_OBJ_NEEDS_ALT; the objective batch gains T_alt, alt_logp,
 *        alt_ref_logp and alt_mask, the output dalt_logp (a second answer per sample).
 *        Objective flag BALDRO_OBJ_NEEDS_LOGITS with the vtable's loss_rows (losses over
 *        whole next-token distributions); the model vtable gains logits and
 *        backward_logits.
 *   1.4  classifier.h and host->register_classifier (encoder classifiers: the gibberish
 *        detector). Metric needs TOKENS (per-token answer log-probs and greedy hits),
 *        HOLDOUT (a second, held-out split), CLASSIFIER (class probabilities of each
 *        generation); the metric vtable gains reference_key / reference_agg, the item
 *        tok_logp, tok_top1, n_classes and class_probs, the input the holdout items.
 *   1.5  model create args gain logits_bytes (training may chunk the LM head and the
 *        log-softmax instead of holding [B*T, V] logits). */
#define BALDRO_ABI_MAJOR 1
#define BALDRO_ABI_MINOR 5

/* Status codes returned by every host API call and every plugin callback. */
typedef enum baldro_status {
    BALDRO_OK = 0,
    BALDRO_EINVAL = 1,      /* invalid argument or malformed input */
    BALDRO_ENOMEM = 2,      /* allocation failed */
    BALDRO_EIO = 3,         /* file or device I/O failed */
    BALDRO_EEXIST = 4,      /* a name is already registered */
    BALDRO_ENOTFOUND = 5,   /* a name or file does not exist */
    BALDRO_EVERSION = 6,    /* incompatible ABI or format version */
    BALDRO_EUNSUPPORTED = 7,/* valid request this implementation cannot serve */
    BALDRO_ESTATE = 8,      /* call made at the wrong time (e.g. register after init) */
    BALDRO_ENUMERIC = 9,    /* NaN/Inf or another numerical failure */
    BALDRO_EPLUGIN = 10     /* a plugin callback reported a failure */
} baldro_status;

/* Log levels, shared with the host's --verbose/--quiet/BALDRO_LOG switches. */
typedef enum baldro_log_level {
    BALDRO_LOG_ERROR = 0,
    BALDRO_LOG_WARN = 1,
    BALDRO_LOG_INFO = 2,
    BALDRO_LOG_DEBUG = 3
} baldro_log_level;

/* Symbol names the host looks up with dlsym(): the plugin-info data symbol (named
 * "manifest" so it does not clash with the type name) and the init function. */
#define BALDRO_PLUGIN_INFO_SYMBOL "baldro_plugin_manifest"
#define BALDRO_PLUGIN_INIT_SYMBOL "baldro_plugin_init"

/*
 * Plugin info: a *data* symbol the host reads and checks (struct size, ABI version,
 * name) before it calls any function of the plugin. Define it with BALDRO_PLUGIN().
 */
typedef struct baldro_plugin_info {
    uint32_t struct_size;    /* sizeof(baldro_plugin_info) in the plugin's SDK */
    uint16_t abi_major;      /* BALDRO_ABI_MAJOR the plugin was built against */
    uint16_t abi_minor;      /* BALDRO_ABI_MINOR the plugin was built against */
    const char *name;        /* unique plugin name, [A-Za-z0-9_.-], at most 63 bytes */
    const char *version;     /* the plugin's own version, free form ("1.2.0") */
    const char *description; /* one line, may be NULL */
} baldro_plugin_info;

/* Size of the 1.0 layout of the plugin info: the smallest the host accepts. */
#define BALDRO_PLUGIN_INFO_SIZE_1_0 \
    ((uint32_t)(offsetof(baldro_plugin_info, description) + sizeof(const char *)))

/* Opaque handle the host gives a plugin during init; identifies the registrant. */
typedef struct baldro_plugin_ctx baldro_plugin_ctx;

struct baldro_model_vtable;
struct baldro_objective_vtable;
struct baldro_metric_vtable;
struct baldro_classifier_vtable;

/*
 * The host API table: everything a plugin may call. Handed to the init entry point;
 * a plugin may keep the pointer for the lifetime of the process (it never moves).
 * Register calls are valid only during init; each one that fails makes the whole
 * plugin fail to load (the host undoes every registration of that plugin).
 */
typedef struct baldro_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *host_version;

    /* printf-style logging through the host's logger, tagged with the plugin name. */
    void (*log)(baldro_plugin_ctx *ctx, baldro_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    /* Record why init failed; shown to the user in `baldro-host plugins`. */
    void (*set_error)(baldro_plugin_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;

    int (*register_model)(baldro_plugin_ctx *ctx, const struct baldro_model_vtable *vt);
    int (*register_objective)(baldro_plugin_ctx *ctx,
                              const struct baldro_objective_vtable *vt);
    int (*register_metric)(baldro_plugin_ctx *ctx, const struct baldro_metric_vtable *vt);

    /* ---- ABI 1.4 (check host->abi_minor >= 4 before calling) ---- */
    int (*register_classifier)(baldro_plugin_ctx *ctx,
                               const struct baldro_classifier_vtable *vt);
} baldro_host_api;

/* The init entry point every plugin exports (see BALDRO_PLUGIN_INIT). Returns BALDRO_OK
 * or an error status, after calling host->set_error() with a reason. */
typedef int (*baldro_plugin_init_fn)(baldro_plugin_ctx *ctx, const baldro_host_api *host);

#ifdef __cplusplus
}
#endif

#endif /* BALDRO_ABI_H */
