/* core/plugin/registry.c: see registry.h. */
#include "plugin/registry.h"

#include <glib.h>
#include <string.h>

#include "plugin/loader.h"

struct baldro_registry {
    GPtrArray *objects;  /* baldro_object*, registration order, owned   */
    GHashTable *by_name; /* name or alias -> baldro_object* (borrowed)  */
};

/* Host-side sizes of the 1.0 layouts: anything smaller cannot be a valid vtable. */
static const uint32_t k_min_size[] = {
    [BALDRO_KIND_MODEL] = BALDRO_MODEL_VTABLE_SIZE_1_0,
    [BALDRO_KIND_OBJECTIVE] = BALDRO_OBJECTIVE_VTABLE_SIZE_1_0,
    [BALDRO_KIND_METRIC] = BALDRO_METRIC_VTABLE_SIZE_1_0,
    [BALDRO_KIND_CLASSIFIER] = BALDRO_CLASSIFIER_VTABLE_SIZE_1_4,
};
static const uint32_t k_host_size[] = {
    [BALDRO_KIND_MODEL] = sizeof(baldro_model_vtable),
    [BALDRO_KIND_OBJECTIVE] = sizeof(baldro_objective_vtable),
    [BALDRO_KIND_METRIC] = sizeof(baldro_metric_vtable),
    [BALDRO_KIND_CLASSIFIER] = sizeof(baldro_classifier_vtable),
};

static const char *const k_no_aliases[] = {NULL};

const char *baldro_kind_name(baldro_object_kind kind) {
    switch (kind) {
    case BALDRO_KIND_MODEL: return "model";
    case BALDRO_KIND_OBJECTIVE: return "objective";
    case BALDRO_KIND_METRIC: return "metric";
    case BALDRO_KIND_CLASSIFIER: return "classifier";
    }
    return "object";
}

int baldro_valid_name(const char *name) {
    if (!name || !name[0]) return 0;
    size_t n = 0;
    for (const char *p = name; *p; p++, n++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || (n > 0 && (c == '.' || c == '-'));
        if (!ok || n >= 63) return 0;
    }
    return 1;
}

static int valid_param_name(const char *s) {
    if (!s || !s[0]) return 0;
    if (!(g_ascii_isalpha(s[0]) || s[0] == '_')) return 0;
    for (const char *p = s; *p; p++)
        if (!(g_ascii_isalnum(*p) || *p == '_')) return 0;
    return 1;
}

baldro_registry *baldro_registry_new(void) {
    baldro_registry *reg = g_new0(baldro_registry, 1);
    reg->objects = g_ptr_array_new_with_free_func(g_free);
    reg->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    return reg;
}

void baldro_registry_free(baldro_registry *reg) {
    if (!reg) return;
    g_hash_table_destroy(reg->by_name);
    g_ptr_array_free(reg->objects, TRUE);
    g_free(reg);
}

const char *const *baldro_object_aliases(const baldro_object *obj) {
    const char *const *a = NULL;
    switch (obj->kind) {
    case BALDRO_KIND_MODEL: a = obj->vt.model.aliases; break;
    case BALDRO_KIND_OBJECTIVE: a = obj->vt.objective.aliases; break;
    case BALDRO_KIND_METRIC: a = obj->vt.metric.aliases; break;
    case BALDRO_KIND_CLASSIFIER: a = obj->vt.classifier.aliases; break;
    }
    return a ? a : k_no_aliases;
}

const baldro_param_spec *baldro_object_params(const baldro_object *obj) {
    switch (obj->kind) {
    case BALDRO_KIND_OBJECTIVE: return obj->vt.objective.params;
    case BALDRO_KIND_METRIC: return obj->vt.metric.params;
    default: return NULL;
    }
}

/* Checks that a declared parameter list is well formed: names valid and unique, types
 * known, defaults inside their bounds, reserved fields zero. */
static int check_params(const char *what, const baldro_param_spec *p, baldro_error *err) {
    if (!p) return BALDRO_OK;
    for (size_t i = 0; p[i].name; i++) {
        if (i >= 256)
            return baldro_error_set(err, BALDRO_EINVAL, "%s: parameter list not terminated "
                                    "(more than 256 entries; end it with BALDRO_PARAM_END)", what);
        if (!valid_param_name(p[i].name))
            return baldro_error_set(err, BALDRO_EINVAL, "%s: parameter %zu has an invalid "
                                    "name '%s'", what, i, p[i].name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(p[i].name, p[j].name) == 0)
                return baldro_error_set(err, BALDRO_EINVAL, "%s: parameter '%s' declared twice",
                                        what, p[i].name);
        if (p[i].reserved[0] || p[i].reserved[1])
            return baldro_error_set(err, BALDRO_EINVAL, "%s: parameter '%s': reserved fields "
                                    "must be zero", what, p[i].name);
        int bounded = p[i].min <= p[i].max;
        switch (p[i].type) {
        case BALDRO_PARAM_FLOAT:
            if (bounded && !(p[i].default_float >= p[i].min && p[i].default_float <= p[i].max))
                return baldro_error_set(err, BALDRO_EINVAL, "%s: parameter '%s': default %g "
                                        "outside [%g, %g]", what, p[i].name,
                                        p[i].default_float, p[i].min, p[i].max);
            break;
        case BALDRO_PARAM_INT:
            if (bounded && ((double)p[i].default_int < p[i].min ||
                            (double)p[i].default_int > p[i].max))
                return baldro_error_set(err, BALDRO_EINVAL, "%s: parameter '%s': default %lld "
                                        "outside [%g, %g]", what, p[i].name,
                                        (long long)p[i].default_int, p[i].min, p[i].max);
            break;
        case BALDRO_PARAM_BOOL:
            if (p[i].default_int != 0 && p[i].default_int != 1)
                return baldro_error_set(err, BALDRO_EINVAL, "%s: parameter '%s': bool default "
                                        "must be 0 or 1", what, p[i].name);
            break;
        case BALDRO_PARAM_STRING:
            if (!p[i].default_string)
                return baldro_error_set(err, BALDRO_EINVAL, "%s: parameter '%s': string "
                                        "default is NULL", what, p[i].name);
            break;
        default:
            return baldro_error_set(err, BALDRO_EINVAL, "%s: parameter '%s': unknown type %d",
                                    what, p[i].name, (int)p[i].type);
        }
    }
    return BALDRO_OK;
}

/* Kind-specific checks on the zero-extended copy. */
static int check_vtable(baldro_object *o, baldro_error *err) {
    const char *kind = baldro_kind_name(o->kind);
    const char *missing = NULL;
    char what[128];
    snprintf(what, sizeof what, "%s '%s'", kind, o->name);
    switch (o->kind) {
    case BALDRO_KIND_MODEL: {
        const baldro_model_vtable *v = &o->vt.model;
        if (!v->create) missing = "create";
        else if (!v->destroy) missing = "destroy";
        else if (!v->forward) missing = "forward";
        else if (!v->backward) missing = "backward";
        break;
    }
    case BALDRO_KIND_OBJECTIVE: {
        const baldro_objective_vtable *v = &o->vt.objective;
        /* Which entry point the host will call decides which callback is required: a
         * NEEDS_LOGITS objective gets loss_rows only (loss may be NULL), any other gets
         * loss only, so a loss_rows without the flag would be dead code that its author
         * believes runs. A pre-1.3 plugin has no loss_rows: zero-extension reads NULL. */
        const int rows = (v->flags & BALDRO_OBJ_NEEDS_LOGITS) != 0;
        if (rows && !v->loss_rows) {
            if (o->plugin_struct_size < offsetof(baldro_objective_vtable, loss_rows) +
                                            sizeof v->loss_rows)
                return baldro_error_set(err, BALDRO_EINVAL, "%s: declares "
                                        "BALDRO_OBJ_NEEDS_LOGITS but its vtable (struct_size %u) "
                                        "predates ABI 1.3's loss_rows", what,
                                        o->plugin_struct_size);
            return baldro_error_set(err, BALDRO_EINVAL, "%s: declares BALDRO_OBJ_NEEDS_LOGITS "
                                    "but callback 'loss_rows' is NULL", what);
        }
        if (!rows && v->loss_rows)
            return baldro_error_set(err, BALDRO_EINVAL, "%s: has a 'loss_rows' callback but "
                                    "does not declare BALDRO_OBJ_NEEDS_LOGITS (the host would "
                                    "never call it)", what);
        if (rows && v->grain != BALDRO_GRAIN_TOKEN)
            return baldro_error_set(err, BALDRO_EINVAL, "%s: BALDRO_OBJ_NEEDS_LOGITS requires "
                                    "BALDRO_GRAIN_TOKEN (one loss a position), got grain %u",
                                    what, v->grain);
        /* loss_rows gets the reference's logits and has no second answer. */
        if (rows && (v->flags & (BALDRO_OBJ_NEEDS_REF_LOGP | BALDRO_OBJ_NEEDS_ALT)))
            return baldro_error_set(err, BALDRO_EINVAL, "%s: BALDRO_OBJ_NEEDS_LOGITS cannot be "
                                    "combined with %s (loss_rows receives ref_logits and has "
                                    "no second answer)", what,
                                    (v->flags & BALDRO_OBJ_NEEDS_ALT) ? "BALDRO_OBJ_NEEDS_ALT"
                                                                      : "BALDRO_OBJ_NEEDS_REF_LOGP");
        if (!rows && !v->loss) missing = "loss";
        else if (v->grain != BALDRO_GRAIN_SAMPLE && v->grain != BALDRO_GRAIN_TOKEN)
            return baldro_error_set(err, BALDRO_EINVAL, "%s: grain %u is neither "
                                    "BALDRO_GRAIN_SAMPLE nor BALDRO_GRAIN_TOKEN", what, v->grain);
        else if (v->destroy && !v->create)
            return baldro_error_set(err, BALDRO_EINVAL, "%s: destroy without create", what);
        break;
    }
    case BALDRO_KIND_METRIC: {
        const baldro_metric_vtable *v = &o->vt.metric;
        if (!v->compute) missing = "compute";
        else if (v->destroy && !v->create)
            return baldro_error_set(err, BALDRO_EINVAL, "%s: destroy without create", what);
        else if (v->reference_agg != 0 && v->reference_agg != 1)
            return baldro_error_set(err, BALDRO_EINVAL, "%s: reference_agg must be 0 or 1, got "
                                    "%d", what, (int)v->reference_agg);
        break;
    }
    case BALDRO_KIND_CLASSIFIER: {
        const baldro_classifier_vtable *v = &o->vt.classifier;
        if (!v->open) missing = "open";
        else if (!v->close) missing = "close";
        else if (!v->n_classes) missing = "n_classes";
        else if (!v->classify) missing = "classify";
        break;
    }
    }
    if (missing)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: required callback '%s' is NULL", what,
                                missing);
    return check_params(what, baldro_object_params(o), err);
}

/* Name taken? Says by whom. */
static int check_unique(const baldro_registry *reg, const char *name, const char *role,
                        const baldro_object *o, baldro_error *err) {
    const baldro_object *other = g_hash_table_lookup(reg->by_name, name);
    if (!other) return BALDRO_OK;
    return baldro_error_set(err, BALDRO_EEXIST, "%s '%s': %s '%s' is already registered by "
                            "plugin '%s' (%s '%s')", baldro_kind_name(o->kind), o->name, role,
                            name, other->plugin ? other->plugin->name : "?",
                            baldro_kind_name(other->kind), other->name);
}

int baldro_registry_add(baldro_registry *reg, baldro_object_kind kind, const void *vtable,
                        const baldro_plugin_rec *plugin, baldro_error *err) {
    const char *kname = baldro_kind_name(kind);
    if ((unsigned)kind > BALDRO_KIND_CLASSIFIER)
        return baldro_error_set(err, BALDRO_EINVAL, "unknown object kind %d", (int)kind);
    if (!vtable) return baldro_error_set(err, BALDRO_EINVAL, "%s vtable pointer is NULL", kname);

    /* struct_size is the first member of every vtable. */
    uint32_t size;
    memcpy(&size, vtable, sizeof size);
    if (size < k_min_size[kind])
        return baldro_error_set(err, BALDRO_EINVAL, "%s vtable: struct_size %u is smaller than "
                                "the ABI 1.0 layout (%u bytes)", kname, size, k_min_size[kind]);

    baldro_object *o = g_new0(baldro_object, 1);
    o->kind = kind;
    o->plugin = plugin;
    o->plugin_struct_size = size;
    /* Zero-extend: never read past what the plugin says it has. A larger struct (a
     * plugin of the same minor built by a newer compiler with padding) is truncated to
     * what this host knows. */
    memcpy(&o->vt, vtable, size < k_host_size[kind] ? size : k_host_size[kind]);

    /* name/version/description follow struct_size identically in all three vtables. */
    const baldro_objective_vtable *common = &o->vt.objective;
    o->name = common->name;
    o->version = common->version ? common->version : (plugin ? plugin->version : NULL);
    o->description = common->description;

    int rc;
    if (!o->name || !o->name[0]) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s vtable: name is %s", kname,
                              o->name ? "empty" : "NULL");
        goto fail;
    }
    if (!baldro_valid_name(o->name)) {
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s vtable: name '%.80s' is not of the form "
                              "[A-Za-z0-9_][A-Za-z0-9_.-]* (at most 63 bytes)", kname, o->name);
        goto fail;
    }
    if ((rc = check_vtable(o, err)) != BALDRO_OK) goto fail;
    if ((rc = check_unique(reg, o->name, "name", o, err)) != BALDRO_OK) goto fail;

    const char *const *aliases = baldro_object_aliases(o);
    for (size_t i = 0; aliases[i]; i++) {
        if (i >= 64) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s '%s': alias list not terminated",
                                  kname, o->name);
            goto fail;
        }
        if (!baldro_valid_name(aliases[i])) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s '%s': alias %zu '%.80s' is not a "
                                  "valid name", kname, o->name, i, aliases[i]);
            goto fail;
        }
        if ((rc = check_unique(reg, aliases[i], "alias", o, err)) != BALDRO_OK) goto fail;
        int repeated = strcmp(aliases[i], o->name) == 0;
        for (size_t j = 0; j < i && !repeated; j++) repeated = strcmp(aliases[i], aliases[j]) == 0;
        if (repeated) {
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s '%s': alias '%s' repeats a name",
                                  kname, o->name, aliases[i]);
            goto fail;
        }
    }

    g_ptr_array_add(reg->objects, o);
    g_hash_table_insert(reg->by_name, (gpointer)o->name, o);
    for (size_t i = 0; aliases[i]; i++) g_hash_table_insert(reg->by_name, (gpointer)aliases[i], o);
    return BALDRO_OK;
fail:
    g_free(o);
    return rc;
}

static gboolean owned_by(gpointer key, gpointer value, gpointer plugin) {
    (void)key;
    return ((baldro_object *)value)->plugin == plugin;
}

void baldro_registry_remove_plugin(baldro_registry *reg, const baldro_plugin_rec *plugin) {
    g_hash_table_foreach_remove(reg->by_name, owned_by, (gpointer)plugin);
    for (guint i = reg->objects->len; i-- > 0;) {
        baldro_object *o = g_ptr_array_index(reg->objects, i);
        if (o->plugin == plugin) g_ptr_array_remove_index(reg->objects, i);
    }
}

const baldro_object *baldro_registry_find(const baldro_registry *reg, baldro_object_kind kind,
                                          const char *name) {
    if (!name) return NULL;
    const baldro_object *o = g_hash_table_lookup(reg->by_name, name);
    return (o && o->kind == kind) ? o : NULL;
}

size_t baldro_registry_count(const baldro_registry *reg) { return reg->objects->len; }

const baldro_object *baldro_registry_at(const baldro_registry *reg, size_t i) {
    return i < reg->objects->len ? g_ptr_array_index(reg->objects, i) : NULL;
}
