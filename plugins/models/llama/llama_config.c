/*
 * llama_config.c: HF config.json -> llama_config.
 *
 * Accepts what Hub checkpoints carry (transformers 4.x: rope_theta + rope_scaling) and
 * what transformers 5 writes (rope_parameters holding rope_type and rope_theta). Every
 * refusal names the field, so a user can fix the file.
 */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "llama.h"

#define FAIL(...) BALDRO_FAIL(err, cap, BALDRO_EINVAL, "config.json: " __VA_ARGS__)

/* A string from the file, escaped and cut for a one-line message (a value with a
 * newline must not break the message; found by tests/fuzz/fuzz_llama_config.c). */
static const char *shown(const char *v, char *buf, size_t cap) {
    char *e = g_strescape(v, NULL);
    g_strlcpy(buf, e, cap);
    g_free(e);
    return buf;
}

/* Integer field: absent -> *out = def (def < 0: required). JSON null counts as absent. */
static int get_int(JsonObject *o, const char *key, int64_t def, int64_t lo, int64_t hi,
                   int32_t *out, char *err, size_t cap) {
    JsonNode *n = json_object_get_member(o, key);
    if (!n || JSON_NODE_HOLDS_NULL(n)) {
        if (def < 0) return FAIL("field '%s' is required", key);
        *out = (int32_t)def;
        return BALDRO_OK;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
        return FAIL("field '%s' must be an integer", key);
    int64_t v = json_node_get_int(n);
    if (v < lo || v > hi)
        return FAIL("field '%s'=%lld is out of range [%lld, %lld]", key, (long long)v,
                    (long long)lo, (long long)hi);
    *out = (int32_t)v;
    return BALDRO_OK;
}

static int get_num(JsonObject *o, const char *key, double def, double lo, double hi,
                   double *out, char *err, size_t cap) {
    JsonNode *n = json_object_get_member(o, key);
    if (!n || JSON_NODE_HOLDS_NULL(n)) {
        if (isnan(def)) return FAIL("field '%s' is required", key);
        *out = def;
        return BALDRO_OK;
    }
    GType t = JSON_NODE_HOLDS_VALUE(n) ? json_node_get_value_type(n) : G_TYPE_INVALID;
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return FAIL("field '%s' must be a number", key);
    double v = json_node_get_double(n);
    if (!(v >= lo && v <= hi))
        return FAIL("field '%s'=%g is out of range [%g, %g]", key, v, lo, hi);
    *out = v;
    return BALDRO_OK;
}

static int get_bool(JsonObject *o, const char *key, int def, int32_t *out, char *err,
                    size_t cap) {
    JsonNode *n = json_object_get_member(o, key);
    if (!n || JSON_NODE_HOLDS_NULL(n)) {
        *out = def;
        return BALDRO_OK;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
        return FAIL("field '%s' must be true or false", key);
    *out = json_node_get_boolean(n) ? 1 : 0;
    return BALDRO_OK;
}

static const char *get_str(JsonObject *o, const char *key) {
    JsonNode *n = json_object_get_member(o, key);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

/* rope_scaling (4.x) or rope_parameters (5.x). `where` names the object for errors. */
static int parse_rope(JsonObject *root, llama_config *c, char *err, size_t cap) {
    baldro_rope_params *r = &c->rope;
    double theta;
    int rc = get_num(root, "rope_theta", 10000.0, 1.0, 1e12, &theta, err, cap);
    if (rc) return rc;
    const char *where = "rope_scaling";
    JsonNode *n = json_object_get_member(root, "rope_scaling");
    if (!n || JSON_NODE_HOLDS_NULL(n)) {
        n = json_object_get_member(root, "rope_parameters");
        where = "rope_parameters";
    }
    r->struct_size = sizeof *r;
    r->head_dim = c->D;
    r->max_positions = c->P;
    r->interleaved = 0; /* HF checkpoints store q/k for rotate-half */
    r->scaling = BALDRO_ROPE_NONE;
    r->factor = 1.0;
    if (!n || JSON_NODE_HOLDS_NULL(n)) {
        r->theta = theta;
        return BALDRO_OK;
    }
    if (!JSON_NODE_HOLDS_OBJECT(n)) return FAIL("field '%s' must be an object or null", where);
    JsonObject *s = json_node_get_object(n);
    if (json_object_has_member(s, "rope_theta")) {
        rc = get_num(s, "rope_theta", theta, 1.0, 1e12, &theta, err, cap);
        if (rc) return rc;
    }
    r->theta = theta;
    const char *type = get_str(s, "rope_type");
    if (!type) type = get_str(s, "type");
    if (!type || !strcmp(type, "default")) return BALDRO_OK;
    if (!strcmp(type, "linear")) {
        r->scaling = BALDRO_ROPE_LINEAR;
        return get_num(s, "factor", NAN, 1e-6, 1e6, &r->factor, err, cap)
                   ? FAIL("%s.factor must be a positive number", where)
                   : BALDRO_OK;
    }
    if (!strcmp(type, "llama3")) {
        r->scaling = BALDRO_ROPE_LLAMA3;
        const char *keys[] = {"factor", "low_freq_factor", "high_freq_factor"};
        double *dst[] = {&r->factor, &r->low_freq_factor, &r->high_freq_factor};
        for (int i = 0; i < 3; i++)
            if (get_num(s, keys[i], NAN, 1e-6, 1e6, dst[i], err, cap))
                return FAIL("%s.%s must be a positive number", where, keys[i]);
        if (!(r->high_freq_factor > r->low_freq_factor))
            return FAIL("%s.high_freq_factor=%g must exceed low_freq_factor=%g", where,
                        r->high_freq_factor, r->low_freq_factor);
        /* transformers falls back to max_position_embeddings when it is absent. */
        if (get_int(s, "original_max_position_embeddings", c->P, 1, 1 << 24,
                    &r->original_max_positions, err, cap))
            return FAIL("%s.original_max_position_embeddings must be a positive integer",
                        where);
        return BALDRO_OK;
    }
    char b[64];
    return FAIL("%s.rope_type '%s' is not supported (supported: default, linear, llama3)",
                where, shown(type, b, sizeof b));
}

int llama_config_parse(const char *json, const char *arch_hint, llama_config *c, char *err,
                       size_t cap) {
    memset(c, 0, sizeof *c);
    if (!json) return FAIL("no text");
    JsonParser *p = json_parser_new();
    GError *ge = NULL;
    int rc = BALDRO_OK;
    if (!json_parser_load_from_data(p, json, -1, &ge)) {
        rc = FAIL("not valid JSON: %s", ge ? ge->message : "parse error");
        g_clear_error(&ge);
        goto out;
    }
    JsonNode *root_n = json_parser_get_root(p);
    if (!root_n || !JSON_NODE_HOLDS_OBJECT(root_n)) {
        rc = FAIL("the top level must be an object");
        goto out;
    }
    JsonObject *o = json_node_get_object(root_n);

    const char *mt = get_str(o, "model_type");
    if (!mt) mt = arch_hint;
    if (!mt) {
        rc = FAIL("field 'model_type' is required");
        goto out;
    }
    if (!strcmp(mt, "llama") || !strcmp(mt, "mistral")) c->arch = LLAMA_ARCH_LLAMA;
    else if (!strcmp(mt, "qwen2")) c->arch = LLAMA_ARCH_QWEN2;
    else if (!strcmp(mt, "qwen3")) c->arch = LLAMA_ARCH_QWEN3;
    else {
        char b[64];
        rc = FAIL("model_type '%s' is not served by the llama plugin (llama, mistral, qwen2, "
                  "qwen3)", shown(mt, b, sizeof b));
        goto out;
    }
    const int64_t big = 1 << 20;
    if ((rc = get_int(o, "hidden_size", -1, 1, big, &c->C, err, cap)) ||
        (rc = get_int(o, "intermediate_size", -1, 1, 4 * big, &c->F, err, cap)) ||
        (rc = get_int(o, "num_hidden_layers", -1, 1, 4096, &c->L, err, cap)) ||
        (rc = get_int(o, "num_attention_heads", -1, 1, 4096, &c->Hq, err, cap)) ||
        (rc = get_int(o, "num_key_value_heads", c->Hq, 1, 4096, &c->Hkv, err, cap)) ||
        (rc = get_int(o, "vocab_size", -1, 1, 16 * big, &c->V, err, cap)) ||
        (rc = get_int(o, "max_position_embeddings", 2048, 1, 16 * big, &c->P, err, cap)))
        goto out;
    if (json_object_has_member(o, "head_dim") &&
        !JSON_NODE_HOLDS_NULL(json_object_get_member(o, "head_dim"))) {
        if ((rc = get_int(o, "head_dim", -1, 2, 65536, &c->D, err, cap))) goto out;
    } else {
        if (c->C % c->Hq) {
            rc = FAIL("num_attention_heads=%d does not divide hidden_size=%d (and no "
                      "head_dim is given)", c->Hq, c->C);
            goto out;
        }
        c->D = c->C / c->Hq;
    }
    if (c->D % 2) {
        rc = FAIL("head_dim=%d must be even for rotary embeddings", c->D);
        goto out;
    }
    if (c->Hq % c->Hkv) {
        rc = FAIL("num_key_value_heads=%d does not divide num_attention_heads=%d", c->Hkv,
                  c->Hq);
        goto out;
    }
    double eps, range;
    if ((rc = get_num(o, "rms_norm_eps", 1e-6, 0.0, 1.0, &eps, err, cap)) ||
        (rc = get_num(o, "initializer_range", 0.02, 0.0, 10.0, &range, err, cap)))
        goto out;
    c->eps = (float)eps;
    c->init_range = (float)range;
    if ((rc = get_bool(o, "tie_word_embeddings", 0, &c->tied, err, cap))) goto out;
    const char *act = get_str(o, "hidden_act");
    if (act && strcmp(act, "silu")) {
        char b[64];
        rc = FAIL("hidden_act '%s' is not supported (silu)", shown(act, b, sizeof b));
        goto out;
    }
    int32_t mlp_bias = 0, attn_bias = 0;
    if ((rc = get_bool(o, "mlp_bias", 0, &mlp_bias, err, cap)) ||
        (rc = get_bool(o, "attention_bias", 0, &attn_bias, err, cap)))
        goto out;
    if (mlp_bias) {
        rc = FAIL("mlp_bias=true is not supported");
        goto out;
    }
    switch (c->arch) {
    case LLAMA_ARCH_LLAMA: c->qkv_bias = c->o_bias = attn_bias; break;
    case LLAMA_ARCH_QWEN2: c->qkv_bias = 1; break;
    case LLAMA_ARCH_QWEN3:
        c->qk_norm = 1;
        c->qkv_bias = c->o_bias = attn_bias;
        break;
    }
    /* Sliding-window attention: Mistral v0.1 (4096) and Qwen with use_sliding_window.
     * Rows longer than the window would need a banded mask; they are refused instead. */
    int32_t use_sw = c->arch == LLAMA_ARCH_LLAMA;
    if (c->arch != LLAMA_ARCH_LLAMA &&
        (rc = get_bool(o, "use_sliding_window", 0, &use_sw, err, cap)))
        goto out;
    if (use_sw && (rc = get_int(o, "sliding_window", 0, 1, 16 * big, &c->sliding_window, err,
                                cap)))
        goto out;
    rc = parse_rope(o, c, err, cap);
out:
    g_object_unref(p);
    return rc;
}
