/*
 * tests/unit/test_loader.c: the plugin loader and the object registry, driven by the
 * fixture plugins of tests/fixtures/plugins/ (one per way a plugin can be good or
 * broken; each fixture's source says what it exercises).
 *
 * Load order matters for the duplicate-name cases: a directory is loaded in file-name
 * order and "duplicate_name.so" sorts before "good_objectives.so", so load_all() loads
 * good_objectives.so explicitly first and then the whole directory (a file already
 * loaded is skipped silently). Every test makes and frees its own loader.
 */
#include <criterion/criterion.h>

#include <glib.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/loader.h"
#include "plugin/registry.h"

#define FX(file) BALDRO_TEST_PLUGIN_DIR "/" file

/* ---- helpers ----------------------------------------------------------------------- */

/* good_objectives.so first, then every fixture in the directory. */
static baldro_loader *load_all(void) {
    baldro_loader *ld = baldro_loader_new();
    cr_assert_not_null(ld);
    baldro_error err;
    baldro_error_clear(&err);
    int rc = baldro_loader_load_file(ld, FX("good_objectives.so"), &err);
    cr_assert_eq(rc, BALDRO_OK, "good_objectives.so did not load: %s", err.msg);
    baldro_loader_load_dir(ld, BALDRO_TEST_PLUGIN_DIR);
    return ld;
}

static const baldro_plugin_rec *find_plugin(const baldro_loader *ld, const char *name) {
    for (size_t i = 0; i < baldro_loader_n_plugins(ld); i++) {
        const baldro_plugin_rec *p = baldro_loader_plugin(ld, i);
        if (strcmp(p->name, name) == 0) return p;
    }
    return NULL;
}

/* Is a file (by base name) among the loaded plugins? */
static int file_loaded(const baldro_loader *ld, const char *basename) {
    for (size_t i = 0; i < baldro_loader_n_plugins(ld); i++) {
        char *b = g_path_get_basename(baldro_loader_plugin(ld, i)->path);
        int match = strcmp(b, basename) == 0;
        g_free(b);
        if (match) return 1;
    }
    return 0;
}

static const baldro_object *find_obj(const baldro_loader *ld, baldro_object_kind kind,
                                     const char *name) {
    return baldro_registry_find(baldro_loader_registry(ld), kind, name);
}

/* Any object, whatever its kind. */
static const baldro_object *find_any(const baldro_loader *ld, const char *name) {
    const baldro_object *o = find_obj(ld, BALDRO_KIND_OBJECTIVE, name);
    if (!o) o = find_obj(ld, BALDRO_KIND_METRIC, name);
    if (!o) o = find_obj(ld, BALDRO_KIND_MODEL, name);
    return o;
}

/* `file` was rejected at `step`, with a reason containing each of the NULL-terminated
 * substrings; it is not among the loaded plugins. */
static const baldro_rejection *assert_rejected(const baldro_loader *ld, const char *file,
                                               const char *step, ...) {
    const baldro_rejection *r = baldro_loader_find_rejection(ld, file);
    cr_assert_not_null(r, "%s: no rejection recorded", file);
    cr_assert_not_null(r->step);
    cr_assert_not_null(r->reason);
    cr_assert_str_eq(r->step, step, "%s: rejected at step '%s' (expected '%s'): %s", file,
                     r->step, step, r->reason);
    va_list ap;
    va_start(ap, step);
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *))
        cr_assert(strstr(r->reason, s) != NULL, "%s: reason lacks \"%s\": %s", file, s,
                  r->reason);
    va_end(ap);
    cr_assert(strchr(r->reason, '\n') == NULL, "%s: reason is not one line", file);
    cr_assert_not(file_loaded(ld, file), "%s is both rejected and loaded", file);
    return r;
}

/* Every object in the registry belongs to a loaded plugin, and the plugins' object
 * counts add up to the registry's: nothing of a rejected plugin is left behind (checked
 * by pointer, without reading the objects, which would dangle). */
static void assert_registry_consistent(const baldro_loader *ld) {
    const baldro_registry *reg = baldro_loader_registry(ld);
    size_t total = 0;
    for (size_t i = 0; i < baldro_loader_n_plugins(ld); i++)
        total += baldro_loader_plugin(ld, i)->n_objects;
    cr_assert_eq(baldro_registry_count(reg), total, "registry holds %zu objects, plugins %zu",
                 baldro_registry_count(reg), total);
    for (size_t i = 0; i < baldro_registry_count(reg); i++) {
        const struct baldro_plugin_rec *owner = baldro_registry_at(reg, i)->plugin;
        int found = 0;
        for (size_t j = 0; j < baldro_loader_n_plugins(ld) && !found; j++)
            found = baldro_loader_plugin(ld, j) == owner;
        cr_assert(found, "registry object %zu belongs to no loaded plugin", i);
    }
}

/* The well-formed fixtures loaded, whatever else was in the directory. */
static void assert_good_loaded(const baldro_loader *ld) {
    assert_registry_consistent(ld);
    cr_assert_not_null(find_plugin(ld, "good_objectives"));
    cr_assert_not_null(find_plugin(ld, "good_model"));
    cr_assert_not_null(find_plugin(ld, "old_minor_vtable"));
    cr_assert_not_null(find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_ga"));
    cr_assert_not_null(find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_sample"));
    cr_assert_not_null(find_obj(ld, BALDRO_KIND_METRIC, "fx_mean"));
    cr_assert_not_null(find_obj(ld, BALDRO_KIND_MODEL, "fx_model"));
    cr_assert_not_null(find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_old"));
    cr_assert_not_null(find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_rows"));
}

/* A fixture whose init must not run leaves this environment variable when it does. */
static void assert_init_not_run(const char *fixture) {
    char var[128];
    snprintf(var, sizeof var, "BALDRO_FX_INIT_RAN_%s", fixture);
    cr_assert_null(getenv(var), "the init of %s ran", fixture);
}

/* Is a file mapped into this process? (A rejected plugin must be dlclose()d.) */
static int mapped(const char *basename) {
    gchar *maps = NULL;
    cr_assert(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
    char needle[256];
    snprintf(needle, sizeof needle, "/%s\n", basename);
    int found = strstr(maps, needle) != NULL;
    g_free(maps);
    return found;
}

/* Two directory names denote the same directory (realpath when both exist). */
static int same_dir(const char *a, const char *b) {
    char ra[4096], rb[4096];
    if (realpath(a, ra) && realpath(b, rb)) return strcmp(ra, rb) == 0;
    gchar *ca = g_canonicalize_filename(a, "/");
    gchar *cb = g_canonicalize_filename(b, "/");
    int same = strcmp(ca, cb) == 0;
    g_free(ca);
    g_free(cb);
    return same;
}

static size_t strv_len(char **v) {
    size_t n = 0;
    while (v[n]) n++;
    return n;
}

/* A small batch shared by the objective tests: B = 2, T = 3. */
enum { B = 2, T = 3 };
static const float k_logp[B * T] = {-1.0f, -2.0f, -3.0f, -0.5f, -0.25f, -4.0f};
static const uint8_t k_mask[B * T] = {1, 1, 0, 1, 0, 0};

static baldro_objective_batch make_batch(void) {
    baldro_objective_batch in = {
        .struct_size = sizeof(baldro_objective_batch),
        .B = B, .T = T, .logp = k_logp, .ref_logp = NULL, .mask = k_mask,
    };
    return in;
}

/* ---- loading the whole directory: what loads ----------------------------------------- */

Test(loader, good_plugins_load) {
    baldro_loader *ld = baldro_loader_new();
    baldro_error err;
    baldro_error_clear(&err);
    cr_assert_eq(baldro_loader_load_file(ld, FX("good_objectives.so"), &err), BALDRO_OK, "%s",
                 err.msg);
    size_t n = baldro_loader_load_dir(ld, BALDRO_TEST_PLUGIN_DIR);
    assert_good_loaded(ld);

    /* Exactly the five well-formed fixtures load; every other file is rejected. */
    cr_assert_eq(n, 4, "load_dir returned %zu (good_objectives was already loaded)", n);
    cr_assert_eq(baldro_loader_n_plugins(ld), 5);
    cr_assert_not_null(find_plugin(ld, "register_outside_init"));
    cr_assert_not_null(find_plugin(ld, "logits_objective"));
    cr_assert_eq(baldro_loader_n_rejected(ld), 15, "%zu rejections",
                 baldro_loader_n_rejected(ld));
    for (size_t i = 0; i < baldro_loader_n_rejected(ld); i++) {
        const baldro_rejection *r = baldro_loader_rejection(ld, i);
        cr_assert_not_null(r);
        cr_assert_not_null(r->path);
        cr_assert(r->reason && r->reason[0], "%s: empty reason", r->path);
        cr_assert(strchr(r->reason, '\n') == NULL);
    }
    cr_assert_null(baldro_loader_rejection(ld, baldro_loader_n_rejected(ld)));
    cr_assert_null(baldro_loader_plugin(ld, baldro_loader_n_plugins(ld)));
    cr_assert_null(baldro_loader_find_rejection(ld, "good_objectives.so"));

    const baldro_plugin_rec *p = find_plugin(ld, "good_objectives");
    cr_assert_str_eq(p->version, "1.2.3");
    cr_assert_str_eq(p->description, "loader test fixture: objectives and a metric");
    cr_assert_eq(p->abi_major, BALDRO_ABI_MAJOR);
    cr_assert_eq(p->abi_minor, BALDRO_ABI_MINOR);
    cr_assert_eq(p->n_objects, 3);
    char *base = g_path_get_basename(p->path);
    cr_assert_str_eq(base, "good_objectives.so");
    g_free(base);
    cr_assert(g_path_is_absolute(p->path), "plugin path %s is not absolute", p->path);

    const baldro_plugin_rec *m = find_plugin(ld, "good_model");
    cr_assert_null(m->description);
    cr_assert_eq(m->n_objects, 1);
    cr_assert_eq(find_plugin(ld, "old_minor_vtable")->n_objects, 1);
    cr_assert_eq(find_plugin(ld, "register_outside_init")->n_objects, 1);

    /* 3 + 1 + 1 + 1 + 1 objects, in registration order, each owned by its plugin. */
    const baldro_registry *reg = baldro_loader_registry(ld);
    cr_assert_eq(baldro_registry_count(reg), 7);
    cr_assert_str_eq(baldro_registry_at(reg, 0)->name, "fx_ga");
    cr_assert_str_eq(baldro_registry_at(reg, 1)->name, "fx_sample");
    cr_assert_str_eq(baldro_registry_at(reg, 2)->name, "fx_mean");
    cr_assert_null(baldro_registry_at(reg, 7));
    for (size_t i = 0; i < 3; i++) cr_assert_eq(baldro_registry_at(reg, i)->plugin, p);
    cr_assert_eq(find_obj(ld, BALDRO_KIND_MODEL, "fx_model")->plugin, m);
    baldro_loader_free(ld);
}

Test(loader, object_metadata) {
    baldro_loader *ld = load_all();
    const baldro_object *ga = find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_ga");
    cr_assert_eq(ga->kind, BALDRO_KIND_OBJECTIVE);
    cr_assert_str_eq(ga->version, "0.9");
    cr_assert_str_eq(ga->description, "fixture gradient ascent (token grain)");
    cr_assert_eq(ga->plugin_struct_size, sizeof(baldro_objective_vtable));
    cr_assert_eq(ga->vt.objective.grain, BALDRO_GRAIN_TOKEN);
    cr_assert_eq(ga->vt.objective.flags, BALDRO_OBJ_FORGET);
    cr_assert_null(baldro_object_params(ga));
    /* No version in the vtable: the plugin's. */
    cr_assert_str_eq(find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_sample")->version, "1.2.3");
    cr_assert_str_eq(find_obj(ld, BALDRO_KIND_MODEL, "fx_model")->version, "0.0.1");
    cr_assert_str_eq(baldro_kind_name(BALDRO_KIND_MODEL), "model");
    cr_assert_str_eq(baldro_kind_name(BALDRO_KIND_OBJECTIVE), "objective");
    cr_assert_str_eq(baldro_kind_name(BALDRO_KIND_METRIC), "metric");
    baldro_loader_free(ld);
}

/* ---- rejections, one per fixture ----------------------------------------------------- */

Test(loader, wrong_abi_major) {
    baldro_loader *ld = load_all();
    char plugin_abi[32], host_abi[32];
    snprintf(plugin_abi, sizeof plugin_abi, "ABI %d.%d", BALDRO_ABI_MAJOR + 1, BALDRO_ABI_MINOR);
    snprintf(host_abi, sizeof host_abi, "%d.%d", BALDRO_ABI_MAJOR, BALDRO_ABI_MINOR);
    const baldro_rejection *r = assert_rejected(ld, "bad_abi_major.so", "abi", plugin_abi,
                                                host_abi, NULL);
    cr_assert(g_path_is_absolute(r->path));
    assert_init_not_run("bad_abi_major");
    cr_assert_null(find_any(ld, "fx_marker_abi_major"));
    cr_assert_null(find_plugin(ld, "bad_abi_major"));
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, wrong_abi_minor_newer) {
    baldro_loader *ld = load_all();
    char plugin_abi[32], host_abi[32];
    snprintf(plugin_abi, sizeof plugin_abi, "ABI %d.%d", BALDRO_ABI_MAJOR, BALDRO_ABI_MINOR + 1);
    snprintf(host_abi, sizeof host_abi, "%d.%d", BALDRO_ABI_MAJOR, BALDRO_ABI_MINOR);
    assert_rejected(ld, "bad_abi_minor_newer.so", "abi", plugin_abi, host_abi, "newer", NULL);
    assert_init_not_run("bad_abi_minor_newer");
    cr_assert_null(find_any(ld, "fx_marker_abi_minor"));
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, missing_init) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "missing_init.so", "symbol", BALDRO_PLUGIN_INIT_SYMBOL, NULL);
    cr_assert_null(find_plugin(ld, "missing_init"));
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, missing_info) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "missing_info.so", "info", BALDRO_PLUGIN_INFO_SYMBOL, NULL);
    assert_init_not_run("missing_info");
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, empty_plugin_name) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "empty_plugin_name.so", "info", "name", NULL);
    assert_init_not_run("empty_plugin_name");
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, not_elf) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "not_elf.so", "dlopen", "not_elf.so", NULL);
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, undefined_symbol) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "undefined_symbol.so", "dlopen", "baldro_no_such_function", NULL);
    cr_assert_null(find_plugin(ld, "undefined_symbol"));
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, init_fails) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "init_fails.so", "init", "simulated failure: weights not found",
                    "init_fails", NULL);
    /* What init registered before failing is gone, name and alias. */
    cr_assert_null(find_any(ld, "fx_partial"));
    cr_assert_null(find_any(ld, "fx_partial_alias"));
    cr_assert_null(find_plugin(ld, "init_fails"));
    for (size_t i = 0; i < baldro_registry_count(baldro_loader_registry(ld)); i++)
        cr_assert_str_neq(baldro_registry_at(baldro_loader_registry(ld), i)->name, "fx_partial");
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, init_fails_error_out) {
    /* load_file copies the rejection into err and returns an error status. */
    baldro_loader *ld = baldro_loader_new();
    baldro_error err;
    baldro_error_clear(&err);
    int rc = baldro_loader_load_file(ld, FX("init_fails.so"), &err);
    cr_assert_neq(rc, BALDRO_OK);
    cr_assert_eq(err.code, rc);
    cr_assert(strstr(err.msg, "simulated failure: weights not found"), "%s", err.msg);
    cr_assert_eq(baldro_loader_n_plugins(ld), 0);
    cr_assert_eq(baldro_loader_n_rejected(ld), 1);
    cr_assert_eq(baldro_registry_count(baldro_loader_registry(ld)), 0);
    baldro_loader_free(ld);
}

Test(loader, duplicate_name) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "duplicate_name.so", "init", "fx_ga", "already", "good_objectives",
                    NULL);
    /* fx_ga stays good_objectives', and what duplicate_name registered before the clash
     * was rolled back. */
    const baldro_object *ga = find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_ga");
    cr_assert_not_null(ga);
    cr_assert_str_eq(ga->plugin->name, "good_objectives");
    cr_assert_eq(ga->vt.objective.grain, BALDRO_GRAIN_TOKEN);
    cr_assert_null(find_any(ld, "fx_dup_first"));
    cr_assert_null(find_plugin(ld, "duplicate_name"));
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, duplicate_alias) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "duplicate_alias.so", "init", "fx_sample", "already", NULL);
    cr_assert_null(find_any(ld, "fx_dup_alias"));
    cr_assert_null(find_any(ld, "fx_dup_alias_ok"));
    const baldro_object *s = find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_sample");
    cr_assert_not_null(s);
    cr_assert_str_eq(s->name, "fx_sample");
    cr_assert_str_eq(s->plugin->name, "good_objectives");
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, duplicate_plugin_name) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "plugin_name_taken.so", "duplicate", "good_objectives", "already",
                    NULL);
    assert_init_not_run("plugin_name_taken");
    cr_assert_str_eq(find_plugin(ld, "good_objectives")->version, "1.2.3");
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, null_callback) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "null_callback.so", "init", "loss", "fx_null_loss", NULL);
    cr_assert_null(find_any(ld, "fx_null_loss"));
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, empty_object_name) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "empty_name.so", "init", "empty", NULL);
    cr_assert_null(find_plugin(ld, "empty_name"));
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, bad_vtable_size) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "bad_vtable_size.so", "init", "struct_size", "8", NULL);
    cr_assert_null(find_any(ld, "fx_small_vtable"));
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, rejected_plugins_unloaded) {
    /* A rejected plugin leaves no trace but its rejection: its library is closed. */
    baldro_loader *ld = load_all();
    static const char *const rejected[] = {
        "bad_abi_major.so", "bad_abi_minor_newer.so", "missing_init.so", "missing_info.so",
        "empty_plugin_name.so", "init_fails.so", "duplicate_name.so", "duplicate_alias.so",
        "plugin_name_taken.so", "null_callback.so", "empty_name.so", "bad_vtable_size.so",
        "not_elf.so", "undefined_symbol.so", "logits_no_rows.so", NULL};
    for (size_t i = 0; rejected[i]; i++) {
        cr_assert_not_null(baldro_loader_find_rejection(ld, rejected[i]), "%s", rejected[i]);
        cr_assert_not(mapped(rejected[i]), "%s is still mapped", rejected[i]);
    }
    cr_assert(mapped("good_objectives.so"));
    baldro_loader_free(ld);
    /* baldro_loader_free() closes what loaded. */
    cr_assert_not(mapped("good_objectives.so"));
    cr_assert_not(mapped("good_model.so"));
}

/* ---- ABI 1.0 plugin ------------------------------------------------------------------ */

Test(loader, old_minor_vtable) {
    baldro_loader *ld = load_all();
    const baldro_plugin_rec *p = find_plugin(ld, "old_minor_vtable");
    cr_assert_not_null(p);
    cr_assert_eq(p->abi_major, 1);
    cr_assert_eq(p->abi_minor, 0);
    cr_assert_null(baldro_loader_find_rejection(ld, "old_minor_vtable.so"));

    const baldro_object *o = find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_old");
    cr_assert_not_null(o);
    cr_assert_eq(o->plugin, p);
    cr_assert_eq(o->plugin_struct_size, BALDRO_OBJECTIVE_VTABLE_SIZE_1_0);
    /* Zero-extended: the 1.1 member reads as NULL, the guard behind the 1.0 struct was
     * not taken for aliases. */
    cr_assert_null(o->vt.objective.aliases);
    const char *const *aliases = baldro_object_aliases(o);
    cr_assert_not_null(aliases);
    cr_assert_null(aliases[0]);
    cr_assert_null(find_any(ld, "fx_guard_must_not_be_read"));
    cr_assert_str_eq(o->version, "1.0.0"); /* none in the vtable: the plugin's */

    /* Its loss works through the host's copy: loss[b] = sum of masked logp. */
    cr_assert_eq(o->vt.objective.grain, BALDRO_GRAIN_SAMPLE);
    cr_assert_null(o->vt.objective.create);
    baldro_objective_batch in = make_batch();
    float loss[B] = {0}, dlogp[B * T] = {0};
    baldro_objective_output out = {.struct_size = sizeof out, .loss = loss, .dlogp = dlogp};
    char err[256] = "";
    cr_assert_eq(o->vt.objective.loss(NULL, &in, &out, err, sizeof err), BALDRO_OK, "%s", err);
    cr_assert_float_eq(loss[0], -3.0f, 1e-6);
    cr_assert_float_eq(loss[1], -0.5f, 1e-6);
    static const float want_d[B * T] = {1, 1, 0, 1, 0, 0};
    for (int i = 0; i < B * T; i++) cr_assert_float_eq(dlogp[i], want_d[i], 1e-6, "dlogp[%d]", i);
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

/* ---- ABI 1.3 objectives over logits (BALDRO_OBJ_NEEDS_LOGITS, loss_rows) ---------------- */

Test(loader, logits_objective_loads) {
    baldro_loader *ld = load_all();
    cr_assert_null(baldro_loader_find_rejection(ld, "logits_objective.so"));
    const baldro_object *o = find_obj(ld, BALDRO_KIND_OBJECTIVE, "FxRows");
    cr_assert_not_null(o, "logits_objective did not load");
    cr_assert_str_eq(o->name, "fx_rows");
    cr_assert_eq(o->plugin_struct_size, sizeof(baldro_objective_vtable));
    const baldro_objective_vtable *vt = &o->vt.objective;
    cr_assert_eq(vt->grain, BALDRO_GRAIN_TOKEN);
    cr_assert_eq(vt->flags, BALDRO_OBJ_RETAIN | BALDRO_OBJ_NEEDS_LOGITS);
    cr_assert_null(vt->loss, "loss may be NULL with NEEDS_LOGITS");
    cr_assert_not_null(vt->loss_rows);

    /* Through the registry's copy: N = 3 positions of V = 2, the middle one masked out
     * (NaN, never read). loss[n] = 0.5 |x - r|^2, dlogits = x - r. */
    enum { N = 3, V = 2 };
    const float x[N * V] = {1.0f, -2.0f, NAN, NAN, 0.5f, 0.25f};
    const float r[N * V] = {0.0f, 0.0f, NAN, NAN, 1.5f, 0.25f};
    const int32_t tgt[N] = {1, -1, 0};
    const uint8_t mask[N] = {1, 0, 1};
    float loss[N] = {0}, dl[N * V] = {0};
    baldro_objective_rows in = {.struct_size = sizeof in, .N = N, .V = V, .logits = x,
                                .ref_logits = r, .targets = tgt, .mask = mask};
    baldro_objective_rows_output out = {.struct_size = sizeof out, .loss = loss, .dlogits = dl};
    char err[256] = "";
    cr_assert_eq(vt->loss_rows(NULL, &in, &out, err, sizeof err), BALDRO_OK, "%s", err);
    static const float want_loss[N] = {2.5f, 0.0f, 0.5f};
    static const float want_d[N * V] = {1.0f, -2.0f, 0.0f, 0.0f, -1.0f, 0.0f};
    for (int i = 0; i < N; i++) cr_assert_float_eq(loss[i], want_loss[i], 1e-6, "loss[%d]", i);
    for (int i = 0; i < N * V; i++) cr_assert_float_eq(dl[i], want_d[i], 1e-6, "dlogits[%d]", i);
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, logits_objective_without_loss_rows) {
    baldro_loader *ld = load_all();
    assert_rejected(ld, "logits_no_rows.so", "init", "objective 'fx_logits_no_rows'",
                    "BALDRO_OBJ_NEEDS_LOGITS", "loss_rows", NULL);
    cr_assert_null(find_any(ld, "fx_logits_no_rows"));
    cr_assert_null(find_plugin(ld, "logits_no_rows"));
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

static int rows_stub(void *s, const baldro_objective_rows *in, baldro_objective_rows_output *out,
                     char *e, size_t c) {
    (void)s, (void)in, (void)out, (void)e, (void)c;
    return BALDRO_OK;
}
static int loss_stub(void *s, const baldro_objective_batch *in, baldro_objective_output *out,
                     char *e, size_t c) {
    (void)s, (void)in, (void)out, (void)e, (void)c;
    return BALDRO_OK;
}

/* Registers vt directly (no .so); returns the status and copies the message. */
static int add_objective(const void *vt, char *msg, size_t cap) {
    baldro_registry *reg = baldro_registry_new();
    baldro_error err;
    baldro_error_clear(&err);
    int rc = baldro_registry_add(reg, BALDRO_KIND_OBJECTIVE, vt, NULL, &err);
    snprintf(msg, cap, "%s", rc == BALDRO_OK ? "" : err.msg);
    baldro_registry_free(reg);
    return rc;
}

Test(loader, registry_rules_for_loss_rows) {
    char msg[1024];
    baldro_objective_vtable vt = {BALDRO_VTABLE_HEADER(baldro_objective_vtable),
                                  .name = "fx_r", .grain = BALDRO_GRAIN_TOKEN,
                                  .flags = BALDRO_OBJ_NEEDS_LOGITS, .loss_rows = rows_stub};
    cr_assert_eq(add_objective(&vt, msg, sizeof msg), BALDRO_OK, "%s", msg);
    vt.loss = loss_stub; /* a loss as well is allowed; the host calls loss_rows */
    cr_assert_eq(add_objective(&vt, msg, sizeof msg), BALDRO_OK, "%s", msg);

    /* loss_rows without the flag: the host would never call it. */
    vt.flags = BALDRO_OBJ_RETAIN;
    cr_assert_eq(add_objective(&vt, msg, sizeof msg), BALDRO_EINVAL);
    cr_assert(strstr(msg, "'fx_r'") && strstr(msg, "loss_rows") &&
              strstr(msg, "BALDRO_OBJ_NEEDS_LOGITS"), "%s", msg);
    cr_assert_null(strchr(msg, '\n'));
    /* ...and without loss_rows, the flag absent: loss is required as before. */
    vt.loss_rows = NULL;
    vt.loss = NULL;
    cr_assert_eq(add_objective(&vt, msg, sizeof msg), BALDRO_EINVAL);
    cr_assert(strstr(msg, "'loss' is NULL"), "%s", msg);

    /* The flag needs token grain, and excludes the logp-side flags. */
    vt.loss_rows = rows_stub;
    vt.flags = BALDRO_OBJ_NEEDS_LOGITS;
    vt.grain = BALDRO_GRAIN_SAMPLE;
    cr_assert_eq(add_objective(&vt, msg, sizeof msg), BALDRO_EINVAL);
    cr_assert(strstr(msg, "BALDRO_GRAIN_TOKEN") && strstr(msg, "'fx_r'"), "%s", msg);
    vt.grain = BALDRO_GRAIN_TOKEN;
    vt.flags = BALDRO_OBJ_NEEDS_LOGITS | BALDRO_OBJ_NEEDS_ALT;
    cr_assert_eq(add_objective(&vt, msg, sizeof msg), BALDRO_EINVAL);
    cr_assert(strstr(msg, "BALDRO_OBJ_NEEDS_ALT"), "%s", msg);
    vt.flags = BALDRO_OBJ_NEEDS_LOGITS | BALDRO_OBJ_NEEDS_REF_LOGP;
    cr_assert_eq(add_objective(&vt, msg, sizeof msg), BALDRO_EINVAL);
    cr_assert(strstr(msg, "BALDRO_OBJ_NEEDS_REF_LOGP"), "%s", msg);
}

Test(loader, registry_pre_1_3_vtable_has_no_loss_rows) {
    /* A 1.2 plugin's vtable ends before loss_rows. Whatever lies behind it in memory (here
     * a real function pointer) is not read: without the flag it registers with loss_rows
     * NULL; with the flag it is refused, and the message says the vtable is too old. */
    char msg[1024];
    baldro_objective_vtable vt = {.struct_size = BALDRO_OBJECTIVE_VTABLE_SIZE_1_2,
                                  .name = "fx_12", .grain = BALDRO_GRAIN_TOKEN,
                                  .loss = loss_stub, .loss_rows = rows_stub};
    baldro_registry *reg = baldro_registry_new();
    baldro_error err;
    baldro_error_clear(&err);
    cr_assert_eq(baldro_registry_add(reg, BALDRO_KIND_OBJECTIVE, &vt, NULL, &err), BALDRO_OK,
                 "%s", err.msg);
    const baldro_object *o = baldro_registry_find(reg, BALDRO_KIND_OBJECTIVE, "fx_12");
    cr_assert_not_null(o);
    cr_assert_null(o->vt.objective.loss_rows, "read past struct_size");
    baldro_registry_free(reg);

    vt.flags = BALDRO_OBJ_NEEDS_LOGITS;
    cr_assert_eq(add_objective(&vt, msg, sizeof msg), BALDRO_EINVAL);
    cr_assert(strstr(msg, "'fx_12'") && strstr(msg, "predates"), "%s", msg);
}

/* ---- registration outside init --------------------------------------------------------- */

Test(loader, register_outside_init) {
    baldro_loader *ld = load_all();
    const baldro_object *o = find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_late");
    cr_assert_not_null(o, "register_outside_init did not load");
    size_t before = baldro_registry_count(baldro_loader_registry(ld));
    void *state = (void *)&before;
    char err[256] = "";
    /* fx_late's create() tries host->register_objective() with the ctx it kept. */
    int rc = o->vt.objective.create(&state, NULL, err, sizeof err);
    cr_assert_eq(rc, BALDRO_ESTATE, "late register returned %d (%s)", rc, err);
    cr_assert_null(state);
    cr_assert_null(find_any(ld, "fx_late_extra"));
    cr_assert_eq(baldro_registry_count(baldro_loader_registry(ld)), before);
    cr_assert_eq(find_plugin(ld, "register_outside_init")->n_objects, 1);
    baldro_loader_free(ld);
}

/* ---- registry lookups ---------------------------------------------------------------- */

Test(loader, lookup_by_alias) {
    baldro_loader *ld = load_all();
    const baldro_object *ga = find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_ga");
    cr_assert_not_null(ga);
    cr_assert_eq(find_obj(ld, BALDRO_KIND_OBJECTIVE, "FxGradAscent"), ga);
    cr_assert_eq(find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx-ga"), ga);
    const char *const *a = baldro_object_aliases(ga);
    cr_assert_str_eq(a[0], "FxGradAscent");
    cr_assert_str_eq(a[1], "fx-ga");
    cr_assert_null(a[2]);

    const baldro_object *s = find_obj(ld, BALDRO_KIND_OBJECTIVE, "FxSample");
    cr_assert_not_null(s);
    cr_assert_str_eq(s->name, "fx_sample");
    const baldro_object *m = find_obj(ld, BALDRO_KIND_METRIC, "fx_avg");
    cr_assert_not_null(m);
    cr_assert_str_eq(m->name, "fx_mean");
    /* A model without aliases: an empty list, never NULL. */
    const baldro_object *md = find_obj(ld, BALDRO_KIND_MODEL, "fx_model");
    cr_assert_not_null(baldro_object_aliases(md));
    cr_assert_null(baldro_object_aliases(md)[0]);

    /* Names are case-sensitive and exact. */
    cr_assert_null(find_any(ld, "FX_GA"));
    cr_assert_null(find_any(ld, "fxgradascent"));
    cr_assert_null(find_any(ld, "fx_g"));
    cr_assert_null(find_any(ld, ""));
    cr_assert_null(find_obj(ld, BALDRO_KIND_OBJECTIVE, NULL));
    baldro_loader_free(ld);
}

Test(loader, kind_mismatch) {
    baldro_loader *ld = load_all();
    cr_assert_null(find_obj(ld, BALDRO_KIND_METRIC, "fx_ga"));
    cr_assert_null(find_obj(ld, BALDRO_KIND_MODEL, "fx_ga"));
    cr_assert_null(find_obj(ld, BALDRO_KIND_MODEL, "FxGradAscent"));
    cr_assert_null(find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_mean"));
    cr_assert_null(find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_avg"));
    cr_assert_null(find_obj(ld, BALDRO_KIND_METRIC, "fx_model"));
    cr_assert_null(find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_model"));
    /* "fx" is a model_type the model serves, not one of its names. */
    cr_assert_null(find_obj(ld, BALDRO_KIND_MODEL, "fx"));
    baldro_loader_free(ld);
}

/* ---- calling plugin code through the registry's copies ------------------------------- */

Test(loader, objective_ga_loss) {
    baldro_loader *ld = load_all();
    const baldro_object *o = find_obj(ld, BALDRO_KIND_OBJECTIVE, "FxGradAscent");
    cr_assert_not_null(o);
    cr_assert_null(o->vt.objective.create);
    baldro_objective_batch in = make_batch();
    float loss[B * T] = {0}, dlogp[B * T] = {0};
    baldro_objective_output out = {.struct_size = sizeof out, .loss = loss, .dlogp = dlogp};
    char err[256] = "";
    cr_assert_eq(o->vt.objective.loss(NULL, &in, &out, err, sizeof err), BALDRO_OK, "%s", err);
    static const float want_loss[B * T] = {-1.0f, -2.0f, 0, -0.5f, 0, 0};
    static const float want_d[B * T] = {1, 1, 0, 1, 0, 0};
    for (int i = 0; i < B * T; i++) {
        cr_assert_float_eq(loss[i], want_loss[i], 1e-6, "loss[%d] = %g", i, loss[i]);
        cr_assert_float_eq(dlogp[i], want_d[i], 1e-6, "dlogp[%d] = %g", i, dlogp[i]);
    }
    baldro_loader_free(ld);
}

Test(loader, objective_sample_loss) {
    baldro_loader *ld = load_all();
    const baldro_object *o = find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_sample");
    cr_assert_not_null(o);
    const baldro_objective_vtable *vt = &o->vt.objective;
    cr_assert_eq(vt->grain, BALDRO_GRAIN_SAMPLE);
    cr_assert_eq(vt->flags, BALDRO_OBJ_RETAIN);

    /* The declared parameter: beta, FLOAT, default 0.1, bounds [0, 10]. */
    const baldro_param_spec *ps = baldro_object_params(o);
    cr_assert_not_null(ps);
    cr_assert_str_eq(ps[0].name, "beta");
    cr_assert_eq(ps[0].type, BALDRO_PARAM_FLOAT);
    cr_assert_float_eq(ps[0].default_float, 0.1, 1e-12);
    cr_assert_float_eq(ps[0].min, 0.0, 1e-12);
    cr_assert_float_eq(ps[0].max, 10.0, 1e-12);
    cr_assert_null(ps[1].name);

    baldro_param_value pv[1] = {{.type = BALDRO_PARAM_FLOAT, .f = ps[0].default_float}};
    void *state = NULL;
    char err[256] = "";
    cr_assert_eq(vt->create(&state, pv, err, sizeof err), BALDRO_OK, "%s", err);
    cr_assert_not_null(state);
    baldro_objective_batch in = make_batch();
    float loss[B] = {0}, dlogp[B * T] = {0};
    baldro_objective_output out = {.struct_size = sizeof out, .loss = loss, .dlogp = dlogp};
    cr_assert_eq(vt->loss(state, &in, &out, err, sizeof err), BALDRO_OK, "%s", err);
    cr_assert_float_eq(loss[0], 3.0f, 1e-6, "loss[0] = %g", loss[0]);
    cr_assert_float_eq(loss[1], 0.5f, 1e-6, "loss[1] = %g", loss[1]);
    static const float want_d[B * T] = {-1, -1, 0, -1, 0, 0};
    for (int i = 0; i < B * T; i++) cr_assert_float_eq(dlogp[i], want_d[i], 1e-6, "dlogp[%d]", i);
    vt->destroy(state);

    /* A callback's failure comes back through (err, err_cap). */
    err[0] = '\0';
    cr_assert_eq(vt->loss(NULL, &in, &out, err, sizeof err), BALDRO_ESTATE);
    cr_assert(strstr(err, "fx_sample"), "%s", err);
    baldro_loader_free(ld);
}

Test(loader, metric_compute) {
    baldro_loader *ld = load_all();
    const baldro_object *o = find_obj(ld, BALDRO_KIND_METRIC, "fx_mean");
    cr_assert_not_null(o);
    const baldro_metric_vtable *vt = &o->vt.metric;
    cr_assert_eq(vt->needs, BALDRO_METRIC_NEEDS_SCORES);
    cr_assert_null(vt->create);

    baldro_eval_item items[3] = {
        {.struct_size = sizeof(baldro_eval_item), .nll = 2.0, .n_tokens = 4},
        {.struct_size = sizeof(baldro_eval_item), .nll = 3.0, .n_tokens = 1},
        {.struct_size = sizeof(baldro_eval_item), .nll = 1.0, .n_tokens = 0},
    };
    const baldro_eval_item *ptrs[3] = {&items[0], &items[1], &items[2]};
    baldro_metric_input in = {.struct_size = sizeof in, .split = "forget01", .n_items = 3,
                              .items = ptrs};
    double scores[3] = {NAN, NAN, NAN};
    baldro_metric_output out = {.struct_size = sizeof out, .item_scores = scores, .value = NAN};
    char err[256] = "";
    cr_assert_eq(vt->compute(NULL, &in, &out, err, sizeof err), BALDRO_OK, "%s", err);
    cr_assert_float_eq(scores[0], 0.5, 1e-12);
    cr_assert_float_eq(scores[1], 3.0, 1e-12);
    cr_assert(isnan(scores[2]));
    cr_assert_float_eq(out.value, 1.75, 1e-12);
    baldro_loader_free(ld);
}

Test(loader, model_roundtrip) {
    baldro_loader *ld = load_all();
    const baldro_object *o = find_obj(ld, BALDRO_KIND_MODEL, "fx_model");
    cr_assert_not_null(o);
    const baldro_model_vtable *vt = &o->vt.model;
    cr_assert_not_null(vt->hf_model_types);
    cr_assert_str_eq(vt->hf_model_types[0], "fx");
    cr_assert_null(vt->hf_model_types[1]);

    baldro_model_create_args args = {.struct_size = sizeof args, .hf_config_json = "{}",
                                     .seed = 42, .ops = NULL};
    void *model = NULL;
    char err[256] = "";
    cr_assert_eq(vt->create(&model, &args, err, sizeof err), BALDRO_OK, "%s", err);
    cr_assert_not_null(model);
    int32_t tokens[B * T] = {1, 2, 3, 4, 5, 6}, targets[B * T] = {2, 3, 4, 5, 6, 7};
    float logp[B * T] = {0};
    cr_assert_eq(vt->forward(model, tokens, targets, B, T, logp, err, sizeof err), BALDRO_OK,
                 "%s", err);
    for (int i = 0; i < B * T; i++) cr_assert_float_eq(logp[i], -1.0f, 1e-6, "logp[%d]", i);
    float dlogp[B * T] = {0};
    cr_assert_eq(vt->backward(model, dlogp, err, sizeof err), BALDRO_OK, "%s", err);
    vt->destroy(model);
    baldro_loader_free(ld);
}

/* ---- loading: idempotence, directories, files ------------------------------------------ */

Test(loader, load_same_file_twice) {
    baldro_loader *ld = baldro_loader_new();
    baldro_error err;
    baldro_error_clear(&err);
    cr_assert_eq(baldro_loader_load_file(ld, FX("good_objectives.so"), &err), BALDRO_OK, "%s",
                 err.msg);
    cr_assert_eq(baldro_loader_load_file(ld, FX("good_objectives.so"), &err), BALDRO_OK, "%s",
                 err.msg);
    /* The same file by another spelling of its path. */
    cr_assert_eq(baldro_loader_load_file(ld, BALDRO_TEST_PLUGIN_DIR "/./good_objectives.so",
                                         &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_loader_n_plugins(ld), 1);
    cr_assert_eq(baldro_loader_n_rejected(ld), 0);
    cr_assert_eq(baldro_registry_count(baldro_loader_registry(ld)), 3);
    cr_assert_eq(find_plugin(ld, "good_objectives")->n_objects, 3);
    baldro_loader_free(ld);
}

Test(loader, load_dir_twice) {
    baldro_loader *ld = load_all();
    size_t plugins = baldro_loader_n_plugins(ld), rejected = baldro_loader_n_rejected(ld);
    size_t objects = baldro_registry_count(baldro_loader_registry(ld));
    /* Every file was already tried: nothing new loads, nothing is rejected again. */
    cr_assert_eq(baldro_loader_load_dir(ld, BALDRO_TEST_PLUGIN_DIR), 0);
    cr_assert_eq(baldro_loader_n_plugins(ld), plugins);
    cr_assert_eq(baldro_loader_n_rejected(ld), rejected);
    cr_assert_eq(baldro_registry_count(baldro_loader_registry(ld)), objects);
    baldro_loader_free(ld);
}

Test(loader, load_dir_name_order) {
    /* Without loading good_objectives.so first, the directory's name order decides:
     * duplicate_name.so (d...) takes "fx_ga" and good_objectives.so (g...) is refused. */
    baldro_loader *ld = baldro_loader_new();
    baldro_loader_load_dir(ld, BALDRO_TEST_PLUGIN_DIR);
    const baldro_object *ga = find_obj(ld, BALDRO_KIND_OBJECTIVE, "fx_ga");
    cr_assert_not_null(ga);
    cr_assert_str_eq(ga->plugin->name, "duplicate_name");
    assert_rejected(ld, "good_objectives.so", "init", "fx_ga", "already", NULL);
    cr_assert_null(find_any(ld, "FxGradAscent"));
    cr_assert_null(find_any(ld, "fx_mean"));
    /* plugin_name_taken.so calls itself good_objectives, which is no longer taken. */
    cr_assert_not_null(find_plugin(ld, "good_objectives"));
    cr_assert_str_eq(find_plugin(ld, "good_objectives")->version, "9.9.9");
    baldro_loader_free(ld);
}

Test(loader, missing_dir) {
    baldro_loader *ld = baldro_loader_new();
    cr_assert_eq(baldro_loader_load_dir(ld, BALDRO_TEST_PLUGIN_DIR "/no/such/dir"), 0);
    cr_assert_eq(baldro_loader_n_rejected(ld), 0);
    cr_assert_eq(baldro_loader_n_plugins(ld), 0);
    /* A path that is a file, not a directory, is skipped the same way. */
    cr_assert_eq(baldro_loader_load_dir(ld, FX("good_objectives.so")), 0);
    cr_assert_eq(baldro_loader_n_rejected(ld), 0);
    cr_assert_eq(baldro_loader_n_plugins(ld), 0);
    baldro_loader_free(ld);
}

Test(loader, missing_file) {
    baldro_loader *ld = baldro_loader_new();
    baldro_error err;
    baldro_error_clear(&err);
    int rc = baldro_loader_load_file(ld, FX("no_such_plugin.so"), &err);
    cr_assert_neq(rc, BALDRO_OK);
    cr_assert_eq(err.code, rc);
    cr_assert(strstr(err.msg, "no_such_plugin.so"), "%s", err.msg);
    cr_assert_not_null(baldro_loader_find_rejection(ld, "no_such_plugin.so"));
    cr_assert_eq(baldro_loader_n_plugins(ld), 0);
    baldro_loader_free(ld);
}

Test(loader, empty_loader) {
    baldro_loader *ld = baldro_loader_new();
    cr_assert_eq(baldro_loader_n_plugins(ld), 0);
    cr_assert_eq(baldro_loader_n_rejected(ld), 0);
    cr_assert_null(baldro_loader_plugin(ld, 0));
    cr_assert_null(baldro_loader_rejection(ld, 0));
    cr_assert_null(baldro_loader_find_rejection(ld, "good_objectives.so"));
    cr_assert_eq(baldro_registry_count(baldro_loader_registry(ld)), 0);
    cr_assert_null(find_any(ld, "fx_ga"));
    baldro_loader_free(ld);
    baldro_loader_free(NULL);
}

Test(loader, load_search_path) {
    baldro_loader *ld = baldro_loader_new();
    baldro_error err;
    baldro_error_clear(&err);
    cr_assert_eq(baldro_loader_load_file(ld, FX("good_objectives.so"), &err), BALDRO_OK, "%s",
                 err.msg);
    char *dirs[] = {BALDRO_TEST_PLUGIN_DIR "/no/such/dir", BALDRO_TEST_PLUGIN_DIR, NULL};
    cr_assert_eq(baldro_loader_load_search_path(ld, dirs), 4);
    assert_good_loaded(ld);
    baldro_loader_free(ld);
}

Test(loader, host_api_table) {
    const baldro_host_api *h = baldro_host_api_table();
    cr_assert_not_null(h);
    cr_assert_eq(h->struct_size, sizeof(baldro_host_api));
    cr_assert_eq(h->abi_major, BALDRO_ABI_MAJOR);
    cr_assert_eq(h->abi_minor, BALDRO_ABI_MINOR);
    cr_assert_not_null(h->host_version);
    cr_assert_not_null(h->log);
    cr_assert_not_null(h->set_error);
    cr_assert_not_null(h->register_model);
    cr_assert_not_null(h->register_objective);
    cr_assert_not_null(h->register_metric);
    cr_assert_eq(baldro_host_api_table(), h, "the table never moves");
}

/* ---- search path --------------------------------------------------------------------- */

Test(loader, search_path_order) {
    char **v = baldro_plugin_search_path("/nonexistent/cli_a:/nonexistent/cli_b",
                                         "/nonexistent/env_a");
    cr_assert_not_null(v);
    cr_assert_eq(strv_len(v), 5, "%zu entries", strv_len(v));
    cr_assert_str_eq(v[0], "/nonexistent/cli_a");
    cr_assert_str_eq(v[1], "/nonexistent/cli_b");
    cr_assert_str_eq(v[2], "/nonexistent/env_a");
    /* Next to the executable: <bindir>/../lib/baldro/plugins, the build tree's. */
    cr_assert(same_dir(v[3], BALDRO_BUILT_PLUGIN_DIR), "%s vs %s", v[3],
              BALDRO_BUILT_PLUGIN_DIR);
    cr_assert(same_dir(v[4], BALDRO_PLUGIN_INSTALL_FULLDIR), "%s", v[4]);
    g_strfreev(v);
}

Test(loader, search_path_defaults) {
    char **v = baldro_plugin_search_path(NULL, NULL);
    cr_assert_eq(strv_len(v), 2, "%zu entries", strv_len(v));
    cr_assert(same_dir(v[0], BALDRO_BUILT_PLUGIN_DIR), "%s", v[0]);
    cr_assert(same_dir(v[1], BALDRO_PLUGIN_INSTALL_FULLDIR), "%s", v[1]);
    g_strfreev(v);
    /* Empty strings are empty lists. */
    v = baldro_plugin_search_path("", "");
    cr_assert_eq(strv_len(v), 2, "%zu entries", strv_len(v));
    g_strfreev(v);
}

Test(loader, search_path_dedup) {
    /* The same spelling twice, and the same directory spelled differently. */
    char **v = baldro_plugin_search_path("/nonexistent/a:/tmp:/nonexistent/a:/tmp/",
                                         "/tmp/.:/nonexistent/a:/nonexistent/b:/tmp//");
    cr_assert_eq(strv_len(v), 5, "%zu entries", strv_len(v));
    cr_assert_str_eq(v[0], "/nonexistent/a");
    cr_assert_str_eq(v[1], "/tmp");
    cr_assert_str_eq(v[2], "/nonexistent/b"); /* env after cli, minus what cli had */
    cr_assert(same_dir(v[3], BALDRO_BUILT_PLUGIN_DIR), "%s", v[3]);
    g_strfreev(v);

    /* A directory given on the command line keeps its place there and is not repeated
     * where the default would have put it. */
    cr_assert_eq(g_mkdir_with_parents(BALDRO_BUILT_PLUGIN_DIR, 0755), 0);
    v = baldro_plugin_search_path(BALDRO_BUILT_PLUGIN_DIR, NULL);
    cr_assert_eq(strv_len(v), 2, "%zu entries", strv_len(v));
    cr_assert_str_eq(v[0], BALDRO_BUILT_PLUGIN_DIR);
    cr_assert(same_dir(v[1], BALDRO_PLUGIN_INSTALL_FULLDIR), "%s", v[1]);
    g_strfreev(v);
}

Test(loader, search_path_empty_components) {
    char **v = baldro_plugin_search_path("::/nonexistent/a::", ":/nonexistent/b:");
    cr_assert_eq(strv_len(v), 4, "%zu entries", strv_len(v));
    cr_assert_str_eq(v[0], "/nonexistent/a");
    cr_assert_str_eq(v[1], "/nonexistent/b");
    for (size_t i = 0; v[i]; i++) cr_assert(v[i][0] != '\0', "entry %zu is empty", i);
    g_strfreev(v);
}

/* ---- names ------------------------------------------------------------------------- */

Test(loader, valid_name) {
    cr_assert(baldro_valid_name("a"));
    cr_assert(baldro_valid_name("fx_ga"));
    cr_assert(baldro_valid_name("FxGradAscent"));
    cr_assert(baldro_valid_name("fx-ga"));
    cr_assert(baldro_valid_name("simnpo.v2"));
    cr_assert(baldro_valid_name("_private"));
    cr_assert(baldro_valid_name("9lives"));
    char name[80];
    memset(name, 'a', sizeof name);
    name[63] = '\0';
    cr_assert(baldro_valid_name(name), "63 bytes is allowed");
    name[63] = 'a';
    name[64] = '\0';
    cr_assert_not(baldro_valid_name(name), "64 bytes is too long");

    cr_assert_not(baldro_valid_name(NULL));
    cr_assert_not(baldro_valid_name(""));
    cr_assert_not(baldro_valid_name(".hidden"));
    cr_assert_not(baldro_valid_name("-flag"));
    cr_assert_not(baldro_valid_name("a b"));
    cr_assert_not(baldro_valid_name("a/b"));
    cr_assert_not(baldro_valid_name("a:b"));
    cr_assert_not(baldro_valid_name("a=b"));
    cr_assert_not(baldro_valid_name("caf\xc3\xa9"));
    cr_assert_not(baldro_valid_name("tab\there"));
}
