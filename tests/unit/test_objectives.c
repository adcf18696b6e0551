/*
 * The built-in objective plugins (plugins/objectives/) against the float64 oracle.
 *
 * tests/oracle/objective_oracle.py reimplements every objective in torch float64 from the
 * formulas and writes tests/fixtures/objectives/<name>.json: random batches (empty and
 * length-1 rows, scattered masks) and extreme ones (log-probs -1e4, -1e-9, 0, references
 * far above and below, beta tiny and large), with the expected losses and partials. Here
 * the built .so files are loaded as the host loads them, each case is run with NaN in the
 * padding, and every output must be within 1e-5 * max(1, |want|) of the reference (float32
 * outputs against float64: the plugins compute in double, so this is rounding only), finite
 * everywhere, and exactly 0 on padding. No Python is needed to run this.
 *
 * Objectives over whole distributions (BALDRO_OBJ_NEEDS_LOGITS: kl) are run through
 * loss_rows: their fixtures hold N positions of V logits and reference logits (masked rows
 * null, NaN here), the targets, and the expected loss[N] and dlogits[N][V], under the same
 * tolerance.
 *
 * Also: every objective of the issue is registered under its aliases with the right grain
 * and flags; hand-computed cases (npo, wga, kl); bad parameters and a pre-1.3 batch are
 * refused with a message; and the contract check passes for every objective.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "check/objective_check.h"
#include "plugin/loader.h"
#include "plugin/registry.h"

#define FIXTURE_DIR BALDRO_SOURCE_DIR "/tests/fixtures/objectives"
#define TOL 1e-5

/* ---- helpers ----------------------------------------------------------------------- */

static baldro_loader *load_builtin(void) {
    baldro_loader *ld = baldro_loader_new();
    cr_assert_not_null(ld);
    size_t n = baldro_loader_load_dir(ld, BALDRO_BUILT_PLUGIN_DIR);
    cr_assert_geq(n, 3, "only %zu plugins loaded from %s", n, BALDRO_BUILT_PLUGIN_DIR);
    return ld;
}

static const baldro_object *objective(const baldro_loader *ld, const char *name) {
    const baldro_object *o =
        baldro_registry_find(baldro_loader_registry(ld), BALDRO_KIND_OBJECTIVE, name);
    cr_assert_not_null(o, "objective '%s' is not registered", name);
    return o;
}

static size_t n_params(const baldro_object *o) {
    const baldro_param_spec *sp = baldro_object_params(o);
    size_t n = 0;
    while (sp && sp[n].name) n++;
    return n;
}

/* Index of a parameter in the objective's spec, or -1. */
static int param_index(const baldro_object *o, const char *name) {
    const baldro_param_spec *sp = baldro_object_params(o);
    for (int i = 0; sp && sp[i].name; i++)
        if (strcmp(sp[i].name, name) == 0) return i;
    return -1;
}

/* Parameter values in spec order, at their defaults. Caller frees. */
static baldro_param_value *default_params(const baldro_object *o) {
    const baldro_param_spec *sp = baldro_object_params(o);
    size_t n = n_params(o);
    baldro_param_value *v = g_new0(baldro_param_value, n ? n : 1);
    for (size_t i = 0; i < n; i++) {
        v[i].type = sp[i].type;
        v[i].f = sp[i].default_float;
        v[i].i = sp[i].default_int;
        v[i].s = sp[i].default_string;
    }
    return v;
}

/* Fixture parameters: the fixture names every declared one, nothing else; strings stay
 * owned by the JSON parser (alive while the case runs). Caller frees. */
static baldro_param_value *read_params(JsonObject *c, const baldro_object *o,
                                       const char *case_name) {
    JsonObject *p = json_object_get_object_member(c, "params");
    cr_assert_eq(json_object_get_size(p), n_params(o), "%s/%s: fixture params vs spec",
                 o->name, case_name);
    baldro_param_value *v = default_params(o);
    GList *names = json_object_get_members(p);
    for (GList *l = names; l; l = l->next) {
        int k = param_index(o, l->data);
        cr_assert_geq(k, 0, "%s: fixture parameter '%s' is not declared", o->name,
                      (const char *)l->data);
        if (v[k].type == BALDRO_PARAM_STRING)
            v[k].s = json_object_get_string_member(p, l->data);
        else
            v[k].f = json_object_get_double_member(p, l->data);
    }
    g_list_free(names);
    return v;
}

static void *create_or_die(const baldro_object *o, const baldro_param_value *v) {
    void *state = NULL;
    char err[256] = "";
    if (o->vt.objective.create)
        cr_assert_eq(o->vt.objective.create(&state, v, err, sizeof err), BALDRO_OK,
                     "%s: create failed: %s", o->name, err);
    return state;
}

static void destroy(const baldro_object *o, void *state) {
    if (o->vt.objective.destroy) o->vt.objective.destroy(state);
}

/* ---- fixture reading --------------------------------------------------------------- */

/* A JSON number (int or double) or null (padding: NaN). */
static double num(JsonNode *n) {
    if (JSON_NODE_HOLDS_NULL(n)) return NAN;
    cr_assert(JSON_NODE_HOLDS_VALUE(n), "fixture: expected a number");
    return json_node_get_double(n);
}

/* Reads a [rows][cols] array (or [cols] when rows == 0) of numbers into out. */
static void read_matrix(JsonObject *c, const char *key, int rows, int cols, double *out) {
    cr_assert(json_object_has_member(c, key), "fixture case lacks '%s'", key);
    JsonArray *a = json_object_get_array_member(c, key);
    if (rows == 0) {
        cr_assert_eq((int)json_array_get_length(a), cols, "'%s' length", key);
        for (int j = 0; j < cols; j++) out[j] = num(json_array_get_element(a, (guint)j));
        return;
    }
    cr_assert_eq((int)json_array_get_length(a), rows, "'%s' rows", key);
    for (int i = 0; i < rows; i++) {
        JsonArray *r = json_array_get_array_element(a, (guint)i);
        cr_assert_eq((int)json_array_get_length(r), cols, "'%s' row %d length", key, i);
        for (int j = 0; j < cols; j++)
            out[(size_t)i * cols + j] = num(json_array_get_element(r, (guint)j));
    }
}

/* One fixture case in the host's layout. */
typedef struct fx_case {
    const char *name;
    int extreme;
    int B, T, T_alt;
    float *logp, *ref_logp, *alt_logp, *alt_ref_logp; /* [B][T] / [B][T_alt], NaN padding */
    uint8_t *mask, *alt_mask;                          /* [B][T] / [B][T_alt]              */
    double *want_loss;                                 /* [B] or [B][T]                    */
    double *want_dlogp;                                /* [B][T]                           */
    double *want_dalt;                                 /* [B][T_alt]                       */
    baldro_param_value *params;                        /* spec order                       */
} fx_case;

static float *to_float(const double *x, size_t n) {
    float *f = g_new(float, n ? n : 1);
    for (size_t i = 0; i < n; i++) f[i] = (float)x[i];
    return f;
}

static uint8_t *to_mask(const double *x, size_t n) {
    uint8_t *m = g_new(uint8_t, n ? n : 1);
    for (size_t i = 0; i < n; i++) m[i] = x[i] != 0.0;
    return m;
}

static void read_case(JsonObject *c, const baldro_object *o, fx_case *fc) {
    memset(fc, 0, sizeof *fc);
    const uint32_t flags = o->vt.objective.flags;
    fc->name = json_object_get_string_member(c, "name");
    fc->extreme = json_object_get_boolean_member(c, "extreme");
    fc->B = (int)json_object_get_int_member(c, "B");
    fc->T = (int)json_object_get_int_member(c, "T");
    const size_t n = (size_t)fc->B * fc->T;
    double *tmp = g_new(double, n);
    read_matrix(c, "mask", fc->B, fc->T, tmp);
    fc->mask = to_mask(tmp, n);
    read_matrix(c, "logp", fc->B, fc->T, tmp);
    fc->logp = to_float(tmp, n);
    if (flags & BALDRO_OBJ_NEEDS_REF_LOGP) {
        read_matrix(c, "ref_logp", fc->B, fc->T, tmp);
        fc->ref_logp = to_float(tmp, n);
    }
    /* NaN exactly where the mask is 0, so a plugin that reads padding shows it. */
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(!fc->mask[i], isnan(fc->logp[i]), "%s: padding/mask mismatch", fc->name);
    g_free(tmp);
    const int token = o->vt.objective.grain == BALDRO_GRAIN_TOKEN;
    fc->want_loss = g_new(double, token ? n : (size_t)fc->B);
    read_matrix(c, "loss", token ? fc->B : 0, token ? fc->T : fc->B, fc->want_loss);
    fc->want_dlogp = g_new(double, n);
    read_matrix(c, "dlogp", fc->B, fc->T, fc->want_dlogp);
    if (flags & BALDRO_OBJ_NEEDS_ALT) {
        fc->T_alt = (int)json_object_get_int_member(c, "T_alt");
        const size_t na = (size_t)fc->B * fc->T_alt;
        double *ta = g_new(double, na ? na : 1);
        read_matrix(c, "alt_mask", fc->B, fc->T_alt, ta);
        fc->alt_mask = to_mask(ta, na);
        read_matrix(c, "alt_logp", fc->B, fc->T_alt, ta);
        fc->alt_logp = to_float(ta, na);
        read_matrix(c, "alt_ref_logp", fc->B, fc->T_alt, ta);
        fc->alt_ref_logp = to_float(ta, na);
        g_free(ta);
        fc->want_dalt = g_new(double, na ? na : 1);
        read_matrix(c, "dalt_logp", fc->B, fc->T_alt, fc->want_dalt);
    }
    fc->params = read_params(c, o, fc->name);
}

static void free_case(fx_case *fc) {
    g_free(fc->logp), g_free(fc->ref_logp), g_free(fc->alt_logp), g_free(fc->alt_ref_logp);
    g_free(fc->mask), g_free(fc->alt_mask);
    g_free(fc->want_loss), g_free(fc->want_dlogp), g_free(fc->want_dalt), g_free(fc->params);
}

/* Compares n outputs with the reference; on padding (mask 0) the output must be exactly 0.
 * mask may be NULL (sample losses: every entry is defined). Returns the max scaled error. */
static double compare(const char *obj, const char *cs, const char *what, const float *got,
                      const double *want, const uint8_t *mask, size_t n, int row_len) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        const int b = (int)(i / (size_t)row_len), t = (int)(i % (size_t)row_len);
        cr_assert(isfinite(got[i]), "%s/%s: %s[%d][%d] = %g is not finite", obj, cs, what, b,
                  t, got[i]);
        if (mask && !mask[i]) {
            cr_assert(got[i] == 0.0f, "%s/%s: %s[%d][%d] = %g on padding (must stay 0)", obj,
                      cs, what, b, t, got[i]);
            continue;
        }
        const double e = fabs((double)got[i] - want[i]) / fmax(1.0, fabs(want[i]));
        cr_assert(e <= TOL, "%s/%s: %s[%d][%d] = %.9g, oracle %.17g (scaled error %.3g)", obj,
                  cs, what, b, t, got[i], want[i], e);
        if (e > worst) worst = e;
    }
    return worst;
}

/* Runs one case; returns the max scaled error over its outputs. */
static double run_case(const baldro_object *o, fx_case *fc) {
    const baldro_objective_vtable *vt = &o->vt.objective;
    const int token = vt->grain == BALDRO_GRAIN_TOKEN;
    const size_t n = (size_t)fc->B * fc->T, na = (size_t)fc->B * fc->T_alt;
    const size_t n_loss = token ? n : (size_t)fc->B;
    float *loss = g_new0(float, n_loss ? n_loss : 1);
    float *dlogp = g_new0(float, n ? n : 1);
    float *dalt = (vt->flags & BALDRO_OBJ_NEEDS_ALT) ? g_new0(float, na ? na : 1) : NULL;
    baldro_objective_batch in = {.struct_size = sizeof in, .B = fc->B, .T = fc->T,
                                 .logp = fc->logp, .ref_logp = fc->ref_logp, .mask = fc->mask,
                                 .T_alt = fc->T_alt, .alt_logp = fc->alt_logp,
                                 .alt_ref_logp = fc->alt_ref_logp, .alt_mask = fc->alt_mask};
    baldro_objective_output out = {.struct_size = sizeof out, .loss = loss, .dlogp = dlogp,
                                   .dalt_logp = dalt};
    void *state = create_or_die(o, fc->params);
    char err[256] = "";
    cr_assert_eq(vt->loss(state, &in, &out, err, sizeof err), BALDRO_OK, "%s/%s: loss: %s",
                 o->name, fc->name, err);
    destroy(o, state);
    double worst = compare(o->name, fc->name, "loss", loss, fc->want_loss, token ? fc->mask : NULL,
                           n_loss, token ? fc->T : fc->B);
    worst = fmax(worst, compare(o->name, fc->name, "dlogp", dlogp, fc->want_dlogp, fc->mask, n,
                                fc->T));
    if (dalt)
        worst = fmax(worst, compare(o->name, fc->name, "dalt_logp", dalt, fc->want_dalt,
                                    fc->alt_mask, na, fc->T_alt ? fc->T_alt : 1));
    g_free(loss), g_free(dlogp), g_free(dalt);
    return worst;
}

/* ---- fixtures of objectives over logits (loss_rows) ------------------------------------- */

/* One rows case in the host's layout. */
typedef struct fx_rows_case {
    const char *name;
    int extreme;
    int N, V;
    float *logits, *ref_logits; /* [N][V], NaN on masked rows */
    int32_t *targets;           /* [N]                        */
    uint8_t *mask;              /* [N]                        */
    double *want_loss;          /* [N]                        */
    double *want_dlogits;       /* [N][V]                     */
    baldro_param_value *params; /* spec order                 */
} fx_rows_case;

static void read_rows_case(JsonObject *c, const baldro_object *o, fx_rows_case *fc) {
    memset(fc, 0, sizeof *fc);
    fc->name = json_object_get_string_member(c, "name");
    fc->extreme = json_object_get_boolean_member(c, "extreme");
    fc->N = (int)json_object_get_int_member(c, "N");
    fc->V = (int)json_object_get_int_member(c, "V");
    const size_t n = (size_t)fc->N, nv = n * (size_t)fc->V;
    double *tmp = g_new(double, nv ? nv : 1);
    read_matrix(c, "mask", 0, fc->N, tmp);
    fc->mask = to_mask(tmp, n);
    read_matrix(c, "targets", 0, fc->N, tmp);
    fc->targets = g_new(int32_t, n ? n : 1);
    for (size_t i = 0; i < n; i++) fc->targets[i] = (int32_t)tmp[i];
    read_matrix(c, "logits", fc->N, fc->V, tmp);
    fc->logits = to_float(tmp, nv);
    read_matrix(c, "ref_logits", fc->N, fc->V, tmp);
    fc->ref_logits = to_float(tmp, nv);
    /* NaN exactly on the masked rows, so a plugin that reads one shows it. */
    for (size_t i = 0; i < nv; i++)
        cr_assert_eq(!fc->mask[i / (size_t)fc->V], isnan(fc->logits[i]) && isnan(fc->ref_logits[i]),
                     "%s: masked rows / null mismatch", fc->name);
    g_free(tmp);
    fc->want_loss = g_new(double, n ? n : 1);
    read_matrix(c, "loss", 0, fc->N, fc->want_loss);
    fc->want_dlogits = g_new(double, nv ? nv : 1);
    read_matrix(c, "dlogits", fc->N, fc->V, fc->want_dlogits);
    fc->params = read_params(c, o, fc->name);
}

static void free_rows_case(fx_rows_case *fc) {
    g_free(fc->logits), g_free(fc->ref_logits), g_free(fc->targets), g_free(fc->mask);
    g_free(fc->want_loss), g_free(fc->want_dlogits), g_free(fc->params);
}

/* Runs one rows case; returns the max scaled error over its outputs. */
static double run_rows_case(const baldro_object *o, fx_rows_case *fc) {
    const size_t n = (size_t)fc->N, nv = n * (size_t)fc->V;
    float *loss = g_new0(float, n ? n : 1), *dl = g_new0(float, nv ? nv : 1);
    baldro_objective_rows in = {.struct_size = sizeof in, .N = fc->N, .V = fc->V,
                                .logits = fc->logits, .ref_logits = fc->ref_logits,
                                .targets = fc->targets, .mask = fc->mask};
    baldro_objective_rows_output out = {.struct_size = sizeof out, .loss = loss, .dlogits = dl};
    void *state = create_or_die(o, fc->params);
    char err[256] = "";
    cr_assert_eq(o->vt.objective.loss_rows(state, &in, &out, err, sizeof err), BALDRO_OK,
                 "%s/%s: loss_rows: %s", o->name, fc->name, err);
    destroy(o, state);
    /* [N] as N rows of 1, [N][V] with the row mask spread over V */
    uint8_t *mask_nv = g_new(uint8_t, nv ? nv : 1);
    for (size_t i = 0; i < nv; i++) mask_nv[i] = fc->mask[i / (size_t)fc->V];
    double worst = compare(o->name, fc->name, "loss", loss, fc->want_loss, fc->mask, n, 1);
    worst = fmax(worst, compare(o->name, fc->name, "dlogits", dl, fc->want_dlogits, mask_nv, nv,
                                fc->V));
    g_free(mask_nv), g_free(loss), g_free(dl);
    return worst;
}

/* Every case of tests/fixtures/objectives/<name>.json. */
static void check_fixture(const char *name) {
    baldro_loader *ld = load_builtin();
    const baldro_object *o = objective(ld, name);
    char *path = g_strdup_printf("%s/%s.json", FIXTURE_DIR, name);
    JsonParser *parser = json_parser_new();
    GError *gerr = NULL;
    cr_assert(json_parser_load_from_file(parser, path, &gerr), "%s: %s", path,
              gerr ? gerr->message : "?");
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    cr_assert_str_eq(json_object_get_string_member(root, "objective"), name);
    cr_assert_str_eq(json_object_get_string_member(root, "grain"),
                     o->vt.objective.grain == BALDRO_GRAIN_TOKEN ? "token" : "sample");
    const int rows = (o->vt.objective.flags & BALDRO_OBJ_NEEDS_LOGITS) != 0;
    cr_assert_eq(json_object_has_member(root, "needs_logits") &&
                     json_object_get_boolean_member(root, "needs_logits"), rows,
                 "%s: needs_logits does not match the objective's flags", path);
    JsonArray *cases = json_object_get_array_member(root, "cases");
    const guint n_cases = json_array_get_length(cases);
    cr_assert_geq(n_cases, 5, "%s: only %u cases", path, n_cases);
    double worst = 0.0;
    int n_extreme = 0;
    for (guint i = 0; i < n_cases; i++) {
        JsonObject *c = json_array_get_object_element(cases, i);
        if (rows) {
            fx_rows_case fc;
            read_rows_case(c, o, &fc);
            n_extreme += fc.extreme;
            worst = fmax(worst, run_rows_case(o, &fc));
            free_rows_case(&fc);
            continue;
        }
        fx_case fc;
        read_case(c, o, &fc);
        n_extreme += fc.extreme;
        worst = fmax(worst, run_case(o, &fc));
        free_case(&fc);
    }
    cr_assert_gt(n_extreme, 0, "%s: no extreme case", path);
    /* The number the issue report quotes; --verbose shows it. */
    cr_log_info("%-12s %2u cases, max scaled error %.3g", name, n_cases, worst);
    fprintf(stderr, "objective %-12s %2u cases, max scaled error %.3g\n", name, n_cases, worst);
    g_object_unref(parser);
    g_free(path);
    baldro_loader_free(ld);
}

/* ---- the fixtures, one test per objective ----------------------------------------------- */

Test(objectives, fixture_grad_ascent) { check_fixture("grad_ascent"); }
Test(objectives, fixture_grad_diff) { check_fixture("grad_diff"); }
Test(objectives, fixture_nll) { check_fixture("nll"); }
Test(objectives, fixture_npo) { check_fixture("npo"); }
Test(objectives, fixture_simnpo) { check_fixture("simnpo"); }
Test(objectives, fixture_dpo) { check_fixture("dpo"); }
Test(objectives, fixture_wga) { check_fixture("wga"); }
Test(objectives, fixture_tnpo) { check_fixture("tnpo"); }
Test(objectives, fixture_wtnpo) { check_fixture("wtnpo"); }
Test(objectives, fixture_satimp) { check_fixture("satimp"); }
Test(objectives, fixture_kl) { check_fixture("kl"); }

/* ---- registration ------------------------------------------------------------------------ */

#define REF BALDRO_OBJ_NEEDS_REF_LOGP
#define SUR BALDRO_OBJ_SURROGATE_GRAD
#define ALT BALDRO_OBJ_NEEDS_ALT
#define FGT BALDRO_OBJ_FORGET
#define RTN BALDRO_OBJ_RETAIN
#define LGT BALDRO_OBJ_NEEDS_LOGITS

static const struct {
    const char *name;
    uint32_t grain, flags;
    const char *aliases[3];
    double gamma, alpha; /* declared defaults; gamma < 0: no weights (retain objective) */
} k_expected[] = {
    {"grad_ascent", BALDRO_GRAIN_TOKEN, FGT, {"GradAscent", "ga"}, 1.0, 1.0},
    {"grad_diff", BALDRO_GRAIN_TOKEN, FGT, {"GradDiff"}, 1.0, 1.0},
    {"npo", BALDRO_GRAIN_SAMPLE, FGT | REF, {"NPO"}, 1.0, 1.0},
    {"simnpo", BALDRO_GRAIN_SAMPLE, FGT, {"SimNPO"}, 0.125, 1.0},
    {"dpo", BALDRO_GRAIN_SAMPLE, FGT | REF | ALT, {"DPO", "IdkDPO"}, 1.0, 1.0},
    {"wga", BALDRO_GRAIN_TOKEN, FGT | SUR, {"WGA"}, 1.0, 1.0},
    {"tnpo", BALDRO_GRAIN_TOKEN, FGT | SUR | REF, {"TNPO"}, 1.0, 1.0},
    {"wtnpo", BALDRO_GRAIN_TOKEN, FGT | SUR | REF, {"WTNPO"}, 1.0, 1.0},
    {"satimp", BALDRO_GRAIN_TOKEN, FGT | SUR, {"SatImp"}, 0.1, 1.0},
    {"nll", BALDRO_GRAIN_TOKEN, RTN, {"NLL"}, -1.0, -1.0},
    {"kl", BALDRO_GRAIN_TOKEN, RTN | LGT, {"KL"}, -1.0, -1.0},
};

Test(objectives, registered_with_aliases_grain_and_flags) {
    baldro_loader *ld = load_builtin();
    for (size_t i = 0; i < G_N_ELEMENTS(k_expected); i++) {
        const baldro_object *o = objective(ld, k_expected[i].name);
        cr_assert_str_eq(o->name, k_expected[i].name);
        cr_assert_eq(o->vt.objective.grain, k_expected[i].grain, "%s: grain", o->name);
        cr_assert_eq(o->vt.objective.flags, k_expected[i].flags, "%s: flags %#x, want %#x",
                     o->name, o->vt.objective.flags, k_expected[i].flags);
        cr_assert_not_null(o->description, "%s: no description", o->name);
        /* The entry point the host calls: loss_rows for NEEDS_LOGITS, else loss. */
        if (k_expected[i].flags & LGT)
            cr_assert(o->vt.objective.loss_rows && !o->vt.objective.loss, "%s: entry points",
                      o->name);
        else
            cr_assert(o->vt.objective.loss && !o->vt.objective.loss_rows, "%s: entry points",
                      o->name);
        for (int a = 0; a < 3 && k_expected[i].aliases[a]; a++)
            cr_assert_eq(baldro_registry_find(baldro_loader_registry(ld), BALDRO_KIND_OBJECTIVE,
                                              k_expected[i].aliases[a]), o,
                         "alias %s does not resolve to %s", k_expected[i].aliases[a], o->name);
        const baldro_param_spec *sp = baldro_object_params(o);
        int g = param_index(o, "gamma"), al = param_index(o, "alpha");
        if (k_expected[i].gamma < 0) {
            cr_assert(g < 0 && al < 0, "%s: a retain objective declares no forget weights",
                      o->name);
            continue;
        }
        cr_assert(g >= 0 && al >= 0, "%s: gamma and alpha must be declared", o->name);
        cr_assert_eq(sp[g].type, BALDRO_PARAM_FLOAT);
        cr_assert_eq(sp[g].default_float, k_expected[i].gamma, "%s: gamma default", o->name);
        cr_assert_eq(sp[al].default_float, k_expected[i].alpha, "%s: alpha default", o->name);
        int beta = param_index(o, "beta");
        if (beta >= 0)
            cr_assert(sp[beta].min > 0.0 && sp[beta].min <= sp[beta].max,
                      "%s: beta must be bounded away from 0", o->name);
    }
    baldro_loader_free(ld);
}

Test(objectives, declared_defaults_match_the_formula_sheet) {
    baldro_loader *ld = load_builtin();
    static const struct { const char *obj, *param; double want; } d[] = {
        {"npo", "beta", 0.1},     {"simnpo", "beta", 4.5},   {"simnpo", "delta", 0.0},
        {"dpo", "beta", 0.1},     {"wga", "beta", 1.0},      {"tnpo", "beta", 4.0},
        {"wtnpo", "beta", 4.0},   {"wtnpo", "alpha_w", 1.5}, {"satimp", "beta1", 5.0},
        {"satimp", "beta2", 1.0},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(d); i++) {
        const baldro_object *o = objective(ld, d[i].obj);
        int k = param_index(o, d[i].param);
        cr_assert_geq(k, 0, "%s: no parameter %s", d[i].obj, d[i].param);
        cr_assert_eq(baldro_object_params(o)[k].default_float, d[i].want, "%s.%s", d[i].obj,
                     d[i].param);
    }
    baldro_loader_free(ld);
}

/* ---- hand-computed cases ------------------------------------------------------------------ */

/* Runs objective `name` with its defaults except `beta`, on B = 1 row of T = 2 (a third,
 * padded position holds NaN). Outputs: loss[0..2], dlogp[0..2]. */
static void run_small(const char *name, double beta, const float *logp, const float *ref,
                      float *loss, float *dlogp) {
    baldro_loader *ld = load_builtin();
    const baldro_object *o = objective(ld, name);
    baldro_param_value *v = default_params(o);
    v[param_index(o, "beta")].f = beta;
    float lp[3] = {logp[0], logp[1], NAN}, rf[3] = {ref ? ref[0] : 0, ref ? ref[1] : 0, NAN};
    uint8_t mask[3] = {1, 1, 0};
    baldro_objective_batch in = {.struct_size = sizeof in, .B = 1, .T = 3, .logp = lp,
                                 .ref_logp = ref ? rf : NULL, .mask = mask};
    baldro_objective_output out = {.struct_size = sizeof out, .loss = loss, .dlogp = dlogp};
    void *state = create_or_die(o, v);
    char err[256] = "";
    cr_assert_eq(o->vt.objective.loss(state, &in, &out, err, sizeof err), BALDRO_OK, "%s", err);
    destroy(o, state);
    g_free(v);
    baldro_loader_free(ld);
}

Test(objectives, npo_by_hand) {
    /* logp = (-1, -2), ref = (-2, -3): r = (-1 + 2) + (-2 + 3) = 2. With beta = 0.5:
     *   L = -(2/beta) log sigma(-beta r) = 4 softplus(1) = 4 log(1 + e) = 5.25304681...
     *   dL/dlogp_t = 2 sigma(beta r) = 2 sigma(1) = 2 e / (1 + e) = 1.46211715... */
    const float logp[2] = {-1.0f, -2.0f}, ref[2] = {-2.0f, -3.0f};
    float loss[3] = {0}, dlogp[3] = {0};
    run_small("npo", 0.5, logp, ref, loss, dlogp);
    cr_assert_float_eq(loss[0], 5.2530468f, 1e-6f, "loss %.9g", loss[0]);
    cr_assert_float_eq(dlogp[0], 1.4621172f, 1e-6f, "dlogp %.9g", dlogp[0]);
    cr_assert_float_eq(dlogp[1], 1.4621172f, 1e-6f);
    cr_assert(dlogp[2] == 0.0f && loss[1] == 0.0f, "padding / other samples stay 0");

    /* r = 0 (the model equals the reference): L = (2/beta) log 2, dL/dlogp = 1 for any beta.
     * beta = 0.1: L = 20 log 2 = 13.8629436. */
    const float same[2] = {-1.5f, -0.25f};
    memset(loss, 0, sizeof loss), memset(dlogp, 0, sizeof dlogp);
    run_small("npo", 0.1, same, same, loss, dlogp);
    cr_assert_float_eq(loss[0], 13.862944f, 2e-6f, "loss %.9g", loss[0]);
    cr_assert_float_eq(dlogp[0], 1.0f, 1e-7f);
}

Test(objectives, wga_by_hand) {
    /* p = (1/2, 1/4), beta = 1: w = p = (0.5, 0.25);
     *   loss_t = w_t logp_t = (0.5 log 0.5, 0.25 log 0.25) = (-0.34657359, -0.34657359),
     *   dlogp_t = w_t = (0.5, 0.25). beta = 2: w = (0.25, 0.0625),
     *   loss = (-0.17328680, -0.08664340). */
    const float logp[2] = {(float)log(0.5), (float)log(0.25)};
    float loss[3] = {0}, dlogp[3] = {0};
    run_small("wga", 1.0, logp, NULL, loss, dlogp);
    cr_assert_float_eq(loss[0], -0.34657359f, 1e-7f, "loss %.9g", loss[0]);
    cr_assert_float_eq(loss[1], -0.34657359f, 1e-7f, "loss %.9g", loss[1]);
    cr_assert_float_eq(dlogp[0], 0.5f, 1e-7f);
    cr_assert_float_eq(dlogp[1], 0.25f, 1e-7f);
    cr_assert(loss[2] == 0.0f && dlogp[2] == 0.0f, "padding stays 0");
    memset(loss, 0, sizeof loss), memset(dlogp, 0, sizeof dlogp);
    run_small("wga", 2.0, logp, NULL, loss, dlogp);
    cr_assert_float_eq(loss[0], -0.17328680f, 1e-7f, "loss %.9g", loss[0]);
    cr_assert_float_eq(loss[1], -0.08664340f, 1e-7f, "loss %.9g", loss[1]);
    cr_assert_float_eq(dlogp[0], 0.25f, 1e-7f);
    cr_assert_float_eq(dlogp[1], 0.0625f, 1e-7f);
}

/* Runs kl with positions = `pos` on the rows given; returns the status, err filled. */
static int run_kl(const char *pos, int N, int V, const float *x, const float *r,
                  const int32_t *tgt, const uint8_t *mask, float *loss, float *dl, char *err,
                  size_t cap) {
    baldro_loader *ld = load_builtin();
    const baldro_object *o = objective(ld, "kl");
    baldro_param_value *v = default_params(o);
    v[param_index(o, "positions")].s = pos;
    baldro_objective_rows in = {.struct_size = sizeof in, .N = N, .V = V, .logits = x,
                                .ref_logits = r, .targets = tgt, .mask = mask};
    baldro_objective_rows_output out = {.struct_size = sizeof out, .loss = loss, .dlogits = dl};
    void *state = create_or_die(o, v);
    int rc = o->vt.objective.loss_rows(state, &in, &out, err, cap);
    destroy(o, state);
    g_free(v);
    baldro_loader_free(ld);
    return rc;
}

Test(objectives, kl_by_hand) {
    /* Position 0: current logits (0, 0) -> q = (1/2, 1/2); reference (log 3, 0) ->
     * p = (3/4, 1/4). KL(p || q) = 3/4 log(3/2) + 1/4 log(1/2) = 0.130812035...,
     * dlogits = q - p = (-1/4, 1/4). Position 1 is masked (NaN); position 2 is a prompt
     * position (target -1) with current (log 3, 0) against reference (0, 0):
     * KL = 1/2 log(2/3) + 1/2 log(2) = 0.143841036..., dlogits = (1/4, -1/4). */
    const float x[6] = {0.0f, 0.0f, NAN, NAN, (float)log(3.0), 0.0f};
    const float r[6] = {(float)log(3.0), 0.0f, NAN, NAN, 0.0f, 0.0f};
    const int32_t tgt[3] = {1, 0, -1};
    const uint8_t mask[3] = {1, 0, 1};
    float loss[3] = {0}, dl[6] = {0};
    char err[256] = "";
    cr_assert_eq(run_kl("all", 3, 2, x, r, tgt, mask, loss, dl, err, sizeof err), BALDRO_OK,
                 "%s", err);
    cr_assert_float_eq(loss[0], 0.13081204f, 1e-7f, "loss %.9g", loss[0]);
    cr_assert_float_eq(loss[2], 0.14384104f, 1e-7f, "loss %.9g", loss[2]);
    static const float want_d[6] = {-0.25f, 0.25f, 0.0f, 0.0f, 0.25f, -0.25f};
    for (int i = 0; i < 6; i++) cr_assert_float_eq(dl[i], want_d[i], 1e-7f, "dlogits[%d]", i);
    cr_assert(loss[1] == 0.0f, "masked position stays 0");

    /* positions = answer: the prompt position carries no loss. */
    memset(loss, 0, sizeof loss), memset(dl, 0, sizeof dl);
    cr_assert_eq(run_kl("answer", 3, 2, x, r, tgt, mask, loss, dl, err, sizeof err), BALDRO_OK,
                 "%s", err);
    cr_assert_float_eq(loss[0], 0.13081204f, 1e-7f);
    cr_assert(loss[2] == 0.0f && dl[4] == 0.0f && dl[5] == 0.0f, "prompt position skipped");

    /* Logits of 1e30 and -1e30 (finite floats): the max shift keeps it exact. */
    const float xb[2] = {1e30f, -1e30f}, rb[2] = {1e30f, -1e30f};
    const uint8_t m1[1] = {1};
    memset(loss, 0, sizeof loss), memset(dl, 0, sizeof dl);
    cr_assert_eq(run_kl("all", 1, 2, xb, rb, tgt, m1, loss, dl, err, sizeof err), BALDRO_OK,
                 "%s", err);
    cr_assert(loss[0] == 0.0f && dl[0] == 0.0f && dl[1] == 0.0f, "%g %g %g", loss[0], dl[0],
              dl[1]);
}

/* One state across calls of growing and shrinking V (its scratch row is reallocated): the
 * same outputs as a fresh state each time. */
Test(objectives, kl_state_reused_across_vocabularies) {
    baldro_loader *ld = load_builtin();
    const baldro_object *o = objective(ld, "kl");
    void *shared = create_or_die(o, NULL);
    static const int Vs[4] = {3, 200, 7, 1000};
    for (int k = 0; k < 4; k++) {
        const int N = 2, V = Vs[k];
        float *x = g_new(float, N * V), *r = g_new(float, N * V);
        for (int i = 0; i < N * V; i++) {
            x[i] = (float)sin(0.37 * i + k);
            r[i] = (float)cos(0.11 * i - k);
        }
        const int32_t tgt[2] = {0, -1};
        const uint8_t mask[2] = {1, 1};
        float loss_a[2] = {0}, loss_b[2] = {0};
        float *da = g_new0(float, N * V), *db = g_new0(float, N * V);
        baldro_objective_rows in = {.struct_size = sizeof in, .N = N, .V = V, .logits = x,
                                    .ref_logits = r, .targets = tgt, .mask = mask};
        baldro_objective_rows_output oa = {.struct_size = sizeof oa, .loss = loss_a,
                                           .dlogits = da};
        baldro_objective_rows_output ob = {.struct_size = sizeof ob, .loss = loss_b,
                                           .dlogits = db};
        char err[256] = "";
        cr_assert_eq(o->vt.objective.loss_rows(shared, &in, &oa, err, sizeof err), BALDRO_OK,
                     "%s", err);
        void *fresh = create_or_die(o, NULL);
        cr_assert_eq(o->vt.objective.loss_rows(fresh, &in, &ob, err, sizeof err), BALDRO_OK,
                     "%s", err);
        destroy(o, fresh);
        cr_assert(memcmp(loss_a, loss_b, sizeof loss_a) == 0 &&
                  memcmp(da, db, (size_t)N * V * sizeof *da) == 0, "V = %d differs", V);
        cr_assert(loss_a[0] > 0.0f && loss_a[1] > 0.0f, "V = %d: KL of different rows", V);
        g_free(x), g_free(r), g_free(da), g_free(db);
    }
    destroy(o, shared);
    baldro_loader_free(ld);
}

Test(objectives, kl_refusals_name_the_problem) {
    baldro_loader *ld = load_builtin();
    const baldro_object *o = objective(ld, "kl");
    const int k = param_index(o, "positions");
    cr_assert_geq(k, 0);
    const baldro_param_spec *sp = baldro_object_params(o);
    cr_assert_eq(sp[k].type, BALDRO_PARAM_STRING);
    cr_assert_str_eq(sp[k].default_string, "all");
    baldro_param_value *v = default_params(o);
    void *state = NULL;
    char err[256] = "";
    v[k].s = "prompt";
    cr_assert_eq(o->vt.objective.create(&state, v, err, sizeof err), BALDRO_EINVAL);
    cr_assert(strstr(err, "kl") && strstr(err, "positions") && strstr(err, "'prompt'"), "%s",
              err);
    cr_assert_null(strchr(err, '\n'), "one line: '%s'", err);
    cr_assert_null(state);
    v[k].s = "all\nanswer";
    cr_assert_eq(o->vt.objective.create(&state, v, err, sizeof err), BALDRO_EINVAL);
    cr_assert(strstr(err, "positions") && !strchr(err, '\n'), "one line: '%s'", err);
    v[k].type = BALDRO_PARAM_FLOAT;
    err[0] = '\0';
    cr_assert_eq(o->vt.objective.create(&state, v, err, sizeof err), BALDRO_EINVAL);
    cr_assert(strstr(err, "positions"), "%s", err);
    g_free(v);

    state = create_or_die(o, NULL); /* NULL values: the declared defaults */
    const float x[2] = {0.5f, 1.0f}, bad[2] = {NAN, 1.0f};
    const int32_t tgt[1] = {0};
    const uint8_t mask[1] = {1};
    float loss[1] = {0}, dl[2] = {0};
    baldro_objective_rows in = {.struct_size = sizeof in, .N = 1, .V = 2, .logits = x,
                                .ref_logits = x, .targets = tgt, .mask = mask};
    baldro_objective_rows_output out = {.struct_size = sizeof out, .loss = loss, .dlogits = dl};
    /* A host whose structs predate 1.3's layout: refused before anything is read. */
    in.struct_size = (uint32_t)offsetof(baldro_objective_rows, mask);
    cr_assert_eq(o->vt.objective.loss_rows(state, &in, &out, err, sizeof err),
                 BALDRO_EUNSUPPORTED);
    cr_assert(strstr(err, "struct_size"), "%s", err);
    in.struct_size = sizeof in;
    /* NaN in a row that carries loss. */
    in.logits = bad;
    cr_assert_eq(o->vt.objective.loss_rows(state, &in, &out, err, sizeof err), BALDRO_ENUMERIC);
    cr_assert(strstr(err, "logits[0]"), "%s", err);
    /* V = 0 with positions: no distribution. */
    in.logits = x;
    in.V = 0;
    cr_assert_eq(o->vt.objective.loss_rows(state, &in, &out, err, sizeof err), BALDRO_EINVAL);
    cr_assert(strstr(err, "V = 0"), "%s", err);
    destroy(o, state);

    /* positions = answer reads targets: NULL is refused. */
    baldro_param_value *va = default_params(o);
    va[k].s = "answer";
    state = create_or_die(o, va);
    in.V = 2;
    in.targets = NULL;
    cr_assert_eq(o->vt.objective.loss_rows(state, &in, &out, err, sizeof err), BALDRO_EINVAL);
    cr_assert(strstr(err, "targets"), "%s", err);
    destroy(o, state);
    g_free(va);
    baldro_loader_free(ld);
}

/* ---- refusals ------------------------------------------------------------------------------ */

Test(objectives, create_refuses_out_of_range_parameters) {
    baldro_loader *ld = load_builtin();
    static const struct { const char *obj, *param; double bad; } c[] = {
        {"npo", "beta", 0.0},    {"simnpo", "beta", -1.0}, {"dpo", "beta", NAN},
        {"wga", "beta", 0.0},    {"tnpo", "beta", INFINITY}, {"wtnpo", "alpha_w", -0.5},
        {"satimp", "beta2", -1.0},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(c); i++) {
        const baldro_object *o = objective(ld, c[i].obj);
        baldro_param_value *v = default_params(o);
        v[param_index(o, c[i].param)].f = c[i].bad;
        void *state = NULL;
        char err[256] = "";
        cr_assert_eq(o->vt.objective.create(&state, v, err, sizeof err), BALDRO_EINVAL,
                     "%s accepted %s = %g", c[i].obj, c[i].param, c[i].bad);
        cr_assert(strstr(err, c[i].param) && strstr(err, c[i].obj), "%s: message '%s'",
                  c[i].obj, err);
        cr_assert_null(strchr(err, '\n'), "one line: '%s'", err);
        g_free(v);
    }
    baldro_loader_free(ld);
}

Test(objectives, refusals_name_the_problem) {
    baldro_loader *ld = load_builtin();
    float logp[2] = {-1.0f, -2.0f}, loss[2] = {0}, dlogp[2] = {0};
    uint8_t mask[2] = {1, 1};
    char err[256] = "";

    /* npo without its reference log-probs. */
    const baldro_object *o = objective(ld, "npo");
    void *state = create_or_die(o, NULL); /* NULL values: the declared defaults */
    baldro_objective_batch in = {.struct_size = sizeof in, .B = 1, .T = 2, .logp = logp,
                                 .mask = mask};
    baldro_objective_output out = {.struct_size = sizeof out, .loss = loss, .dlogp = dlogp};
    cr_assert_eq(o->vt.objective.loss(state, &in, &out, err, sizeof err), BALDRO_EINVAL);
    cr_assert(strstr(err, "ref_logp"), "%s", err);
    destroy(o, state);

    /* dpo from a host whose batch ends before the 1.3 fields: refused, alt never read. The
     * struct is the full size in memory, but the plugin must trust struct_size. */
    o = objective(ld, "dpo");
    state = create_or_die(o, NULL);
    in.ref_logp = logp;
    in.struct_size = (uint32_t)offsetof(baldro_objective_batch, T_alt);
    err[0] = '\0';
    cr_assert_eq(o->vt.objective.loss(state, &in, &out, err, sizeof err), BALDRO_EUNSUPPORTED);
    cr_assert(strstr(err, "struct_size"), "%s", err);
    cr_assert(loss[0] == 0.0f && dlogp[0] == 0.0f, "nothing written on refusal");
    /* A 1.3 batch but an output without dalt_logp. */
    in.struct_size = sizeof in;
    in.T_alt = 1;
    float alt = -0.5f;
    in.alt_logp = &alt, in.alt_ref_logp = &alt, in.alt_mask = mask;
    err[0] = '\0';
    cr_assert_eq(o->vt.objective.loss(state, &in, &out, err, sizeof err), BALDRO_EINVAL);
    cr_assert(strstr(err, "dalt_logp"), "%s", err);
    destroy(o, state);
    baldro_loader_free(ld);
}

/* An empty batch (B = 0, or T = 0) is valid and writes nothing. */
Test(objectives, empty_batches) {
    baldro_loader *ld = load_builtin();
    for (size_t i = 0; i < G_N_ELEMENTS(k_expected); i++) {
        const baldro_object *o = objective(ld, k_expected[i].name);
        void *state = create_or_die(o, NULL);
        if (k_expected[i].flags & LGT) {
            /* N = 0 is valid and reads nothing (all pointers NULL). */
            baldro_objective_rows rin = {.struct_size = sizeof rin, .N = 0, .V = 5};
            baldro_objective_rows_output rout = {.struct_size = sizeof rout};
            char rerr[256] = "";
            cr_assert_eq(o->vt.objective.loss_rows(state, &rin, &rout, rerr, sizeof rerr),
                         BALDRO_OK, "%s: %s", o->name, rerr);
            destroy(o, state);
            continue;
        }
        float loss[2] = {0}, dlogp[1] = {0}, dalt[1] = {0};
        baldro_objective_batch in = {.struct_size = sizeof in, .B = 2, .T = 0};
        baldro_objective_output out = {.struct_size = sizeof out, .loss = loss, .dlogp = dlogp,
                                       .dalt_logp = dalt};
        char err[256] = "";
        cr_assert_eq(o->vt.objective.loss(state, &in, &out, err, sizeof err), BALDRO_OK,
                     "%s: %s", o->name, err);
        cr_assert(loss[0] == 0.0f && loss[1] == 0.0f, "%s: empty rows have loss 0", o->name);
        in.B = 0;
        in.T = 3;
        cr_assert_eq(o->vt.objective.loss(state, &in, &out, err, sizeof err), BALDRO_OK,
                     "%s: %s", o->name, err);
        destroy(o, state);
    }
    baldro_loader_free(ld);
}

/* ---- the contract check, on every objective -------------------------------------------------- */

Test(objectives, every_objective_passes_the_contract_check) {
    baldro_loader *ld = load_builtin();
    for (size_t i = 0; i < G_N_ELEMENTS(k_expected); i++) {
        const baldro_object *o = objective(ld, k_expected[i].name);
        baldro_param_value *v = default_params(o);
        baldro_check_result res;
        baldro_error err;
        baldro_error_clear(&err);
        cr_assert_eq(baldro_check_objective(o, v, 1234, &res, &err), BALDRO_OK, "%s", err.msg);
        cr_assert(res.passed, "%s", res.failure);
        cr_assert_eq(res.fd_checked, !(k_expected[i].flags & SUR), "%s", o->name);
        if (k_expected[i].flags & ALT) cr_assert_gt(res.n_alt_valid, 0, "%s", o->name);
        g_free(v);
    }
    baldro_loader_free(ld);
}
