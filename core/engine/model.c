/* core/engine/model.c: see model.h. */
#include "engine/model.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "io/json_strict.h"

struct baldro_model {
    const baldro_object *obj; /* registry entry (host copy of the vtable)            */
    const baldro_model_vtable *vt;
    void *impl;
    const baldro_ops *ops;
    baldro_backend *be;
    baldro_model_info info;
    const baldro_param *params;
    int32_t n_params;
    char *config_json; /* the config.json text the model was created from */
    char err[1024];
};

/* model_type of a config.json text, or NULL (caller frees). */
static char *config_model_type(const char *json, const char *source, baldro_error *err) {
    JsonParser *p = json_parser_new();
    GError *ge = NULL;
    char *out = NULL;
    if (!json_parser_load_from_data(p, json, -1, &ge)) {
        baldro_error_set(err, BALDRO_EINVAL, "%s: not valid JSON: %s", source, ge->message);
        g_clear_error(&ge);
    } else {
        JsonNode *root = json_parser_get_root(p);
        JsonObject *o = root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
        const char *mt = o ? json_object_get_string_member_with_default(o, "model_type", NULL)
                           : NULL;
        if (!o)
            baldro_error_set(err, BALDRO_EINVAL, "%s: the top level must be an object", source);
        else if (!mt)
            baldro_error_set(err, BALDRO_EINVAL, "%s: field 'model_type' is missing", source);
        else
            out = g_strdup(mt);
    }
    g_object_unref(p);
    return out;
}

static const baldro_object *find_arch(const baldro_registry *reg, const char *model_type) {
    for (size_t i = 0; i < baldro_registry_count(reg); i++) {
        const baldro_object *o = baldro_registry_at(reg, i);
        if (o->kind != BALDRO_KIND_MODEL || !o->vt.model.hf_model_types) continue;
        for (const char *const *t = o->vt.model.hf_model_types; *t; t++)
            if (!strcmp(*t, model_type)) return o;
    }
    return NULL;
}

int baldro_model_open(const baldro_registry *reg, const baldro_ops *ops, baldro_backend *be,
                      const baldro_model_open_args *a, baldro_model **out, baldro_error *err) {
    *out = NULL;
    const char *src = a->source ? a->source : "config.json";
    const baldro_object *obj = NULL;
    /* The plugin parses config.json with json-glib; the strict gate runs first so that
     * duplicate keys, >64-bit integers or deep nesting never reach it. */
    if (!a->hf_config_json)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: no config text", src);
    int jrc = baldro_json_check(a->hf_config_json, strlen(a->hf_config_json), src, "config", err);
    if (jrc) return jrc;
    if (a->arch) {
        obj = baldro_registry_find(reg, BALDRO_KIND_MODEL, a->arch);
        if (!obj) {
            char *shown = g_strescape(a->arch, NULL);
            baldro_error_set(err, BALDRO_ENOTFOUND,
                             "%s: no loaded plugin provides the model architecture '%.64s'", src,
                             shown);
            g_free(shown);
            return BALDRO_ENOTFOUND;
        }
    } else {
        char *mt = config_model_type(a->hf_config_json, src, err);
        if (!mt) return err ? err->code : BALDRO_EINVAL;
        obj = find_arch(reg, mt);
        if (!obj) {
            char *shown = g_strescape(mt, NULL); /* keep the message on one line */
            baldro_error_set(err, BALDRO_ENOTFOUND,
                             "%s: model_type '%.64s' is served by no loaded model plugin "
                             "(see `baldro-host plugins`)", src, shown);
            g_free(shown);
            g_free(mt);
            return BALDRO_ENOTFOUND;
        }
        g_free(mt);
    }
    const baldro_model_vtable *vt = &obj->vt.model;
    if (obj->plugin_struct_size < sizeof(baldro_model_vtable) || !vt->describe || !vt->params)
        return baldro_error_set(err, BALDRO_EVERSION,
                                "model '%s' was built against an SDK older than ABI 1.2 (no "
                                "describe/params): rebuild the plugin", obj->name);
    baldro_model *m = g_new0(baldro_model, 1);
    m->obj = obj;
    m->vt = vt;
    m->ops = ops;
    m->be = be;
    baldro_model_create_args ca = {.struct_size = sizeof ca, .hf_config_json = a->hf_config_json,
                                   .seed = a->seed, .ops = ops, .backend = be,
                                   .limits = a->limits, .init_std = a->init_std,
                                   .logits_bytes = a->limits.train ? a->logits_bytes : 0};
    int rc = vt->create(&m->impl, &ca, m->err, sizeof m->err);
    if (rc != BALDRO_OK) {
        baldro_error_set(err, rc, "%s: %s", src, m->err[0] ? m->err : "create failed");
        g_free(m);
        return rc;
    }
    m->config_json = g_strdup(a->hf_config_json);
    m->info.struct_size = sizeof m->info;
    vt->describe(m->impl, &m->info);
    vt->params(m->impl, &m->params, &m->n_params);
    *out = m;
    return BALDRO_OK;
}

void baldro_model_close(baldro_model *m) {
    if (!m) return;
    if (m->impl) m->vt->destroy(m->impl);
    g_free(m->config_json);
    g_free(m);
}

const baldro_model_info *baldro_model_get_info(const baldro_model *m) { return &m->info; }
const char *baldro_model_arch(const baldro_model *m) { return m->obj->name; }
const char *baldro_model_config_json(const baldro_model *m) { return m->config_json; }
const baldro_ops *baldro_model_ops(const baldro_model *m) { return m->ops; }
baldro_backend *baldro_model_backend(const baldro_model *m) { return m->be; }

void baldro_model_params(const baldro_model *m, const baldro_param **list, int32_t *n) {
    *list = m->params;
    *n = m->n_params;
}

const baldro_param *baldro_model_find_param(const baldro_model *m, const char *name) {
    for (int32_t i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name)) return &m->params[i];
    return NULL;
}

static int plugin_fail(baldro_model *m, int rc, const char *what, baldro_error *err) {
    return baldro_error_set(err, rc, "%s: %s", what, m->err[0] ? m->err : baldro_status_name(rc));
}

int baldro_model_forward(baldro_model *m, const int32_t *tokens, const int32_t *targets,
                         int32_t B, int32_t T, float *logp, baldro_error *err) {
    m->err[0] = 0;
    int rc = m->vt->forward(m->impl, tokens, targets, B, T, logp, m->err, sizeof m->err);
    return rc ? plugin_fail(m, rc, "forward", err) : BALDRO_OK;
}

int baldro_model_backward(baldro_model *m, const float *dlogp, baldro_error *err) {
    m->err[0] = 0;
    int rc = m->vt->backward(m->impl, dlogp, m->err, sizeof m->err);
    return rc ? plugin_fail(m, rc, "backward", err) : BALDRO_OK;
}

int baldro_model_logits(baldro_model *m, const baldro_tensor **logits, baldro_error *err) {
    if (!m->vt->logits)
        return baldro_error_set(err, BALDRO_EUNSUPPORTED, "model %s: the plugin predates ABI 1.3 "
                                "and cannot hand out logits (needed by KL-type objectives)",
                                m->vt->name);
    m->err[0] = 0;
    int rc = m->vt->logits(m->impl, logits, m->err, sizeof m->err);
    return rc ? plugin_fail(m, rc, "logits", err) : BALDRO_OK;
}

int baldro_model_backward_logits(baldro_model *m, const float *dlogp,
                                 const baldro_tensor *dlogits, baldro_error *err) {
    if (!dlogits) return baldro_model_backward(m, dlogp, err);
    if (!m->vt->backward_logits)
        return baldro_error_set(err, BALDRO_EUNSUPPORTED, "model %s: the plugin predates ABI 1.3 "
                                "and cannot take d logits (needed by KL-type objectives)",
                                m->vt->name);
    m->err[0] = 0;
    int rc = m->vt->backward_logits(m->impl, dlogp, dlogits, m->err, sizeof m->err);
    return rc ? plugin_fail(m, rc, "backward", err) : BALDRO_OK;
}

int baldro_model_zero_grad(baldro_model *m, baldro_error *err) {
    for (int32_t i = 0; i < m->n_params; i++) {
        baldro_tensor g = m->params[i].grad;
        if (!g.data) continue;
        int rc = m->ops->fill(m->be, &g, 0.0f);
        if (rc)
            return baldro_error_set(err, rc, "zero_grad: %s", m->ops->last_error(m->be));
    }
    return BALDRO_OK;
}

int baldro_model_gen_prefill(baldro_model *m, const int32_t *tokens, const int32_t *lengths,
                             int32_t B, int32_t T, const baldro_tensor **logits,
                             baldro_error *err) {
    if (!m->vt->gen_prefill)
        return baldro_error_set(err, BALDRO_EUNSUPPORTED, "model '%s' cannot generate",
                                m->obj->name);
    m->err[0] = 0;
    int rc = m->vt->gen_prefill(m->impl, tokens, lengths, B, T, logits, m->err, sizeof m->err);
    return rc ? plugin_fail(m, rc, "prefill", err) : BALDRO_OK;
}

int baldro_model_gen_decode(baldro_model *m, const int32_t *ids, const baldro_tensor **logits,
                            baldro_error *err) {
    if (!m->vt->gen_decode)
        return baldro_error_set(err, BALDRO_EUNSUPPORTED, "model '%s' cannot generate",
                                m->obj->name);
    m->err[0] = 0;
    int rc = m->vt->gen_decode(m->impl, ids, logits, m->err, sizeof m->err);
    return rc ? plugin_fail(m, rc, "decode", err) : BALDRO_OK;
}
