/*
 * core/plugin/registry.h: every object (model architecture, objective, metric, classifier) that
 * loaded plugins registered, by unique name.
 *
 * Names and aliases share one namespace across all kinds, so `--set objective.forget=x`
 * or a log line naming `x` can never be ambiguous. The registry keeps its own copy of
 * each vtable, zero-extended to the host's struct size: members a plugin's older SDK
 * did not have read as NULL, and the host never reads past the plugin's struct_size.
 */
#ifndef BALDRO_CORE_REGISTRY_H
#define BALDRO_CORE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "baldro/plugin.h"
#include "util/error.h"

typedef enum baldro_object_kind {
    BALDRO_KIND_MODEL = 0,
    BALDRO_KIND_OBJECTIVE = 1,
    BALDRO_KIND_METRIC = 2,
    BALDRO_KIND_CLASSIFIER = 3 /* ABI 1.4 */
} baldro_object_kind;

struct baldro_plugin_rec;

typedef struct baldro_object {
    baldro_object_kind kind;
    const char *name;          /* the vtable's (lives in the plugin's memory)        */
    const char *version;       /* the vtable's, else the plugin's                    */
    const char *description;   /* may be NULL                                        */
    const struct baldro_plugin_rec *plugin; /* owner                                 */
    uint32_t plugin_struct_size;            /* struct_size the plugin reported       */
    union {
        baldro_model_vtable model;
        baldro_objective_vtable objective;
        baldro_metric_vtable metric;
        baldro_classifier_vtable classifier;
    } vt;                      /* host-size copy, zero-extended                      */
} baldro_object;

typedef struct baldro_registry baldro_registry;

baldro_registry *baldro_registry_new(void);
void baldro_registry_free(baldro_registry *reg);

/* Validate and add a vtable on behalf of `plugin`. Errors (BALDRO_EINVAL, BALDRO_EEXIST)
 * name the object and the reason: NULL vtable, struct_size smaller than the 1.0 layout,
 * empty or malformed name, NULL required callback (loss; loss_rows for an objective with
 * BALDRO_OBJ_NEEDS_LOGITS, which must also be token-grained and may leave loss NULL), a
 * loss_rows without that flag, unknown grain, bad parameter spec, a name or alias already
 * taken (and by which plugin). */
int baldro_registry_add(baldro_registry *reg, baldro_object_kind kind, const void *vtable,
                        const struct baldro_plugin_rec *plugin, baldro_error *err);

/* Remove every object `plugin` registered (used when its init fails). */
void baldro_registry_remove_plugin(baldro_registry *reg, const struct baldro_plugin_rec *plugin);

/* Look up by name or alias; NULL if absent or of another kind. */
const baldro_object *baldro_registry_find(const baldro_registry *reg, baldro_object_kind kind,
                                          const char *name);
/* Objects in registration order. */
size_t baldro_registry_count(const baldro_registry *reg);
const baldro_object *baldro_registry_at(const baldro_registry *reg, size_t i);

const char *baldro_kind_name(baldro_object_kind kind); /* "model", ..., "classifier" */

/* Aliases of an object (NULL-terminated, possibly empty list; never NULL). */
const char *const *baldro_object_aliases(const baldro_object *obj);
/* Declared parameters (NULL for models and for objects that declare none). */
const baldro_param_spec *baldro_object_params(const baldro_object *obj);

/* Name rule shared by plugins, objects and aliases: [A-Za-z0-9_][A-Za-z0-9_.-]{0,62}. */
int baldro_valid_name(const char *name);

#endif /* BALDRO_CORE_REGISTRY_H */
