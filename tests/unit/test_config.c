/*
 * tests/unit/test_config.c: the layered config (core/config/config.h): defaults as
 * schema, experiment files with inherit and @include, --set, plugin parameters,
 * validation, and the resolved-config writer.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "config/config.h"

#define FIX(name) BALDRO_TEST_FIXTURES "/config/" name

/* A schema with the kinds the real defaults lack (arrays, lists, booleans). */
static const char extra_schema[] =
    "extra: {\n"
    "  ids = [1, 2, 3];\n"
    "  weights = [0.5];\n"
    "  tags = ();\n"
    "  names = [];\n"
    "  flag = false;\n"
    "  big = 1;\n"
    "  ratio = 0.5;\n"
    "  text = \"\";\n"
    "};\n";

static baldro_config *new_default(void) {
    baldro_error err = { 0 };
    baldro_config *cfg = baldro_config_new(&err);
    cr_assert_not_null(cfg, "defaults do not parse: %s", err.msg);
    return cfg;
}

static baldro_config *new_schema(const char *text) {
    baldro_error err = { 0 };
    baldro_config *cfg = baldro_config_new_from_string(text, "schema", &err);
    cr_assert_not_null(cfg, "schema does not parse: %s", err.msg);
    return cfg;
}

static void assert_contains(const char *hay, const char *needle) {
    cr_assert(hay && strstr(hay, needle), "expected \"%s\" in \"%s\"", needle, hay ? hay : "(null)");
}

static double get_f(const baldro_config *cfg, const char *path) {
    double v = NAN;
    cr_assert_eq(baldro_config_get_float(cfg, path, &v), BALDRO_OK, "%s", path);
    return v;
}

static int64_t get_i(const baldro_config *cfg, const char *path) {
    int64_t v = 0;
    cr_assert_eq(baldro_config_get_int(cfg, path, &v), BALDRO_OK, "%s", path);
    return v;
}

static const char *get_s(const baldro_config *cfg, const char *path) {
    const char *v = NULL;
    cr_assert_eq(baldro_config_get_string(cfg, path, &v), BALDRO_OK, "%s", path);
    return v;
}

static void set_ok(baldro_config *cfg, const char *assignment) {
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_set_override(cfg, assignment, &err), BALDRO_OK, "--set %s: %s",
                 assignment, err.msg);
}

/* --set that must fail with EINVAL and a message containing `needle`. */
static void set_bad(baldro_config *cfg, const char *assignment, const char *needle) {
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_set_override(cfg, assignment, &err), BALDRO_EINVAL,
                 "--set %s was accepted", assignment);
    assert_contains(err.msg, needle);
}

static void load_ok(baldro_config *cfg, const char *path) {
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_load_file(cfg, path, &err), BALDRO_OK, "%s", err.msg);
}

/* Load that must fail with `code` and a message containing `needle`. */
static void load_bad(baldro_config *cfg, const char *path, int code, const char *needle) {
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_load_file(cfg, path, &err), code, "%s: got %d (%s)", path,
                 err.code, err.msg);
    assert_contains(err.msg, needle);
}

static void assert_origin(const baldro_config *cfg, const char *path, const char *want) {
    const char *o = baldro_config_origin(cfg, path);
    cr_assert_not_null(o, "%s has no origin", path);
    cr_assert_str_eq(o, want, "origin of %s", path);
}

static void assert_origin_line(const baldro_config *cfg, const char *path, const char *file, int line) {
    char *want = g_strdup_printf("%s:%d", file, line);
    assert_origin(cfg, path, want);
    g_free(want);
}

/* ---- defaults ----------------------------------------------------------------- */

Test(config, defaults_parse_and_validate) {
    baldro_config *cfg = new_default();
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_OK, "%s", err.msg);
    assert_origin(cfg, "trainer.lr", "defaults");
    cr_assert_null(baldro_config_origin(cfg, "trainer.nope"));
    baldro_config_free(cfg);
}

Test(config, every_default_has_its_kind) {
    static const struct { const char *path; baldro_cfg_kind kind; } want[] = {
        { "run", BALDRO_CFG_GROUP },
        { "run.name", BALDRO_CFG_STRING }, { "run.output_dir", BALDRO_CFG_STRING },
        { "run.seed", BALDRO_CFG_INT },
        { "data.tofu_dir", BALDRO_CFG_STRING }, { "data.forget_split", BALDRO_CFG_STRING },
        { "data.retain_split", BALDRO_CFG_STRING }, { "data.max_length", BALDRO_CFG_INT },
        { "data.finetune_split", BALDRO_CFG_STRING }, { "data.subset_authors", BALDRO_CFG_INT },
        { "model.path", BALDRO_CFG_STRING }, { "model.template", BALDRO_CFG_STRING },
        { "model.tokenizer", BALDRO_CFG_STRING }, { "model.init_config", BALDRO_CFG_STRING },
        { "runtime.precision", BALDRO_CFG_STRING }, { "model.dtype", BALDRO_CFG_STRING },
        { "trainer.lr", BALDRO_CFG_FLOAT }, { "trainer.epochs", BALDRO_CFG_INT },
        { "trainer.per_device_batch", BALDRO_CFG_INT }, { "trainer.grad_accum", BALDRO_CFG_INT },
        { "trainer.warmup_epochs", BALDRO_CFG_FLOAT }, { "trainer.weight_decay", BALDRO_CFG_FLOAT },
        { "trainer.max_grad_norm", BALDRO_CFG_FLOAT }, { "trainer.save_every", BALDRO_CFG_INT },
        { "trainer.recompute", BALDRO_CFG_BOOL },
        { "objective.forget", BALDRO_CFG_STRING }, { "objective.retain", BALDRO_CFG_STRING },
        { "baldro.mode", BALDRO_CFG_STRING }, { "baldro.tau", BALDRO_CFG_FLOAT },
        { "baldro.direction", BALDRO_CFG_STRING }, { "baldro.scope", BALDRO_CFG_STRING },
        { "baldro.rho", BALDRO_CFG_FLOAT },
        { "eval.batch_size", BALDRO_CFG_INT }, { "eval.max_new_tokens", BALDRO_CFG_INT },
        { "eval.retain_logs", BALDRO_CFG_STRING }, { "eval.max_items", BALDRO_CFG_INT },
        { "objectives", BALDRO_CFG_GROUP }, { "metrics", BALDRO_CFG_GROUP },
    };
    baldro_config *cfg = new_default();
    for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
        cr_assert_eq(baldro_config_kind(cfg, want[i].path), want[i].kind, "%s", want[i].path);
        switch (want[i].kind) {
        case BALDRO_CFG_INT: (void)get_i(cfg, want[i].path); break;
        case BALDRO_CFG_FLOAT: (void)get_f(cfg, want[i].path); break;
        case BALDRO_CFG_STRING: (void)get_s(cfg, want[i].path); break;
        default: break;
        }
    }
    cr_assert_float_eq(get_f(cfg, "trainer.lr"), 1e-5, 1e-20);
    cr_assert_eq(get_i(cfg, "run.seed"), 42);
    cr_assert_str_eq(get_s(cfg, "baldro.mode"), "none");
    baldro_config_free(cfg);
}

Test(config, getters_report_missing_and_wrong_kind) {
    baldro_config *cfg = new_default();
    int64_t i;
    double f;
    int b;
    const char *s;
    cr_assert_eq(baldro_config_kind(cfg, "trainer.nope"), BALDRO_CFG_NONE);
    cr_assert_eq(baldro_config_kind(cfg, ""), BALDRO_CFG_NONE);
    cr_assert_eq(baldro_config_kind(cfg, "trainer..lr"), BALDRO_CFG_NONE);
    /* libconfig's own lookup would accept these separators; the config must not. */
    cr_assert_eq(baldro_config_kind(cfg, "trainer/lr"), BALDRO_CFG_NONE);
    cr_assert_eq(baldro_config_kind(cfg, "trainer:lr"), BALDRO_CFG_NONE);
    cr_assert_eq(baldro_config_get_int(cfg, "trainer.nope", &i), BALDRO_ENOTFOUND);
    cr_assert_eq(baldro_config_get_int(cfg, "trainer.lr", &i), BALDRO_EINVAL);
    cr_assert_eq(baldro_config_get_string(cfg, "trainer.lr", &s), BALDRO_EINVAL);
    cr_assert_eq(baldro_config_get_bool(cfg, "trainer.lr", &b), BALDRO_EINVAL);
    cr_assert_eq(baldro_config_get_float(cfg, "run.name", &f), BALDRO_EINVAL);
    cr_assert_eq(baldro_config_get_float(cfg, "trainer", &f), BALDRO_EINVAL);
    /* An integer reads as a float. */
    cr_assert_eq(baldro_config_get_float(cfg, "trainer.epochs", &f), BALDRO_OK);
    cr_assert_float_eq(f, 10.0, 0.0);
    baldro_config_free(cfg);
}

Test(config, bad_defaults_text_is_an_error_with_line) {
    baldro_error err = { 0 };
    baldro_config *cfg = baldro_config_new_from_string("a = 1;\nb = ;\n", "mine", &err);
    cr_assert_null(cfg);
    cr_assert_eq(err.code, BALDRO_EINVAL);
    assert_contains(err.msg, "mine:2:");
}

/* ---- experiment files --------------------------------------------------------- */

Test(config, file_overrides_with_origins) {
    baldro_config *cfg = new_default();
    load_ok(cfg, FIX("override.cfg"));
    cr_assert_float_eq(get_f(cfg, "trainer.lr"), 2e-5, 1e-20);
    cr_assert_eq(get_i(cfg, "trainer.epochs"), 3);
    cr_assert_str_eq(get_s(cfg, "run.name"), "exp1");
    cr_assert_str_eq(get_s(cfg, "baldro.mode"), "dv");
    assert_origin_line(cfg, "trainer.lr", FIX("override.cfg"), 3);
    assert_origin_line(cfg, "trainer.epochs", FIX("override.cfg"), 4);
    assert_origin_line(cfg, "run.name", FIX("override.cfg"), 7);
    assert_origin_line(cfg, "baldro.mode", FIX("override.cfg"), 9);
    /* Untouched values keep their origin. */
    assert_origin(cfg, "trainer.grad_accum", "defaults");
    baldro_config_free(cfg);
}

Test(config, int_promotes_to_float) {
    baldro_config *cfg = new_default();
    load_ok(cfg, FIX("override.cfg"));
    cr_assert_eq(baldro_config_kind(cfg, "trainer.weight_decay"), BALDRO_CFG_FLOAT);
    cr_assert_float_eq(get_f(cfg, "trainer.weight_decay"), 0.0, 0.0);
    cr_assert_eq(baldro_config_kind(cfg, "baldro.rho"), BALDRO_CFG_FLOAT);
    cr_assert_float_eq(get_f(cfg, "baldro.rho"), 1.0, 0.0);
    baldro_config_free(cfg);
}

Test(config, float_for_int_is_rejected_with_file_line_and_path) {
    baldro_config *cfg = new_default();
    char *want = g_strdup_printf("%s:2: trainer.epochs: expected an integer, got a float",
                                 FIX("float_to_int.cfg"));
    load_bad(cfg, FIX("float_to_int.cfg"), BALDRO_EINVAL, want);
    cr_assert_eq(get_i(cfg, "trainer.epochs"), 10);
    g_free(want);
    baldro_config_free(cfg);
}

Test(config, string_for_float_is_rejected) {
    baldro_config *cfg = new_default();
    char *want = g_strdup_printf("%s:1: trainer.lr: expected a float, got a string",
                                 FIX("string_for_float.cfg"));
    load_bad(cfg, FIX("string_for_float.cfg"), BALDRO_EINVAL, want);
    g_free(want);
    baldro_config_free(cfg);
}

Test(config, group_and_scalar_do_not_mix) {
    baldro_config *cfg = new_default();
    load_bad(cfg, FIX("group_for_scalar.cfg"), BALDRO_EINVAL,
             "group_for_scalar.cfg:2: trainer.lr: expected a float, got a group");
    load_bad(cfg, FIX("scalar_for_group.cfg"), BALDRO_EINVAL,
             "scalar_for_group.cfg:2: trainer: expected a group, got an integer");
    baldro_config_free(cfg);
}

Test(config, unknown_setting_suggests_a_sibling) {
    baldro_config *cfg = new_default();
    load_bad(cfg, FIX("typo.cfg"), BALDRO_EINVAL,
             "typo.cfg:2: unknown setting 'trainer.lrr' (did you mean 'trainer.lr'?)");
    baldro_config_free(cfg);
}

Test(config, unknown_group) {
    baldro_config *cfg = new_default();
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_load_file(cfg, FIX("unknown_group.cfg"), &err), BALDRO_EINVAL);
    assert_contains(err.msg, "unknown_group.cfg:2: unknown setting 'optimizer'");
    cr_assert_null(strstr(err.msg, "did you mean"), "%s", err.msg);
    baldro_config_free(cfg);
}

Test(config, syntax_error_names_file_and_line) {
    baldro_config *cfg = new_default();
    char *want = g_strdup_printf("%s:3: ", FIX("syntax.cfg"));
    load_bad(cfg, FIX("syntax.cfg"), BALDRO_EINVAL, want);
    g_free(want);
    baldro_config_free(cfg);
}

Test(config, missing_file) {
    baldro_config *cfg = new_default();
    load_bad(cfg, FIX("no_such_file.cfg"), BALDRO_ENOTFOUND, "no_such_file.cfg: cannot read: ");
    /* A directory is there but cannot be read as a file. */
    load_bad(cfg, FIX("inherit"), BALDRO_EIO, "cannot read");
    baldro_config_free(cfg);
}

Test(config, failed_load_changes_nothing) {
    baldro_config *cfg = new_default();
    /* partial.cfg sets trainer.lr on line 2 and fails on line 3. */
    load_bad(cfg, FIX("partial.cfg"), BALDRO_EINVAL, "partial.cfg:3: unknown setting 'trainer.bogus'");
    cr_assert_float_eq(get_f(cfg, "trainer.lr"), 1e-5, 1e-20);
    assert_origin(cfg, "trainer.lr", "defaults");
    /* And the config still works afterwards. */
    load_ok(cfg, FIX("override.cfg"));
    cr_assert_float_eq(get_f(cfg, "trainer.lr"), 2e-5, 1e-20);
    baldro_config_free(cfg);
}

Test(config, large_int_literal_needs_L) {
    baldro_config *cfg = new_default();
    /* libconfig 1.5 would read 5000000000 as 705032704 without a word. */
    load_bad(cfg, FIX("big_int.cfg"), BALDRO_EINVAL, "big_int.cfg:2: integer 5000000000 does not fit");
    cr_assert_eq(get_i(cfg, "run.seed"), 42);
    load_ok(cfg, FIX("big_int64.cfg"));
    cr_assert_eq(get_i(cfg, "run.seed"), INT64_C(5000000000));
    baldro_config_free(cfg);
}

Test(config, int_literal_check_skips_strings_comments_names_and_floats) {
    static const char ok_text[] =
        "s = \"5000000000 \\\" 6000000000\";  # 7000000000\n"
        "// 8000000000\n"
        "/* 9000000000\n 9000000000 */\n"
        "x-5000000000 = 1;\n"
        "f = 5000000000.0; g = 5e10; h = 5000000000e0;\n"
        "lo = -2147483648; hi = 2147483647; big = 9223372036854775807L;\n"
        "neg = -9223372036854775808L; hex = 0xFFFFFFFF; hexl = 0x100000000L;\n";
    baldro_error err = { 0 };
    baldro_config *cfg = baldro_config_new_from_string(ok_text, "t", &err);
    cr_assert_not_null(cfg, "%s", err.msg);
    int64_t v;
    cr_assert_eq(baldro_config_get_int(cfg, "lo", &v), BALDRO_OK);
    cr_assert_eq(v, INT32_MIN);
    cr_assert_eq(baldro_config_get_int(cfg, "neg", &v), BALDRO_OK);
    cr_assert_eq(v, INT64_MIN);
    baldro_config_free(cfg);

    static const struct { const char *text, *msg; } bad[] = {
        { "a = 1;\nb = 2147483648;\n", "t:2: integer 2147483648 does not fit in 32 bits" },
        { "a = -2147483649;\n", "t:1: integer -2147483649 does not fit in 32 bits" },
        { "s = \"x\ny\"; a = [1, 99999999999];\n", "t:2: integer 99999999999 does not fit" },
        { "a = 9223372036854775808L;\n", "t:1: integer 9223372036854775808L does not fit in 64 bits" },
        { "a = 0x1FFFFFFFF;\n", "t:1: integer 0x1FFFFFFFF does not fit in 32 bits" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        cr_assert_null(baldro_config_new_from_string(bad[i].text, "t", &err), "%s", bad[i].text);
        assert_contains(err.msg, bad[i].msg);
    }
}

Test(config, non_finite_float_in_file_is_rejected) {
    baldro_config *cfg = new_default();
    /* libconfig reads 1e999 as infinity. */
    load_bad(cfg, FIX("nonfinite.cfg"), BALDRO_EINVAL, "nonfinite.cfg:1: trainer.lr: ");
    baldro_config_free(cfg);
}

/* ---- inherit and @include ----------------------------------------------------- */

Test(config, inherit_chain_later_wins) {
    baldro_config *cfg = new_default();
    load_ok(cfg, FIX("inherit_a.cfg"));
    cr_assert_float_eq(get_f(cfg, "trainer.lr"), 3e-3, 1e-18);
    cr_assert_eq(get_i(cfg, "trainer.epochs"), 6);
    cr_assert_eq(get_i(cfg, "run.seed"), 1);
    assert_origin_line(cfg, "trainer.lr", FIX("inherit_a.cfg"), 3);
    assert_origin_line(cfg, "trainer.epochs", FIX("inherit/b.cfg"), 4);
    assert_origin_line(cfg, "run.seed", FIX("inherit/c.cfg"), 1);
    /* `inherit` itself is not a setting. */
    cr_assert_eq(baldro_config_kind(cfg, "inherit"), BALDRO_CFG_NONE);
    baldro_config_free(cfg);
}

Test(config, inherit_cycle_is_refused) {
    baldro_config *cfg = new_default();
    char *want = g_strdup_printf("%s:2: inherit: cycle through %s", FIX("cycle_b.cfg"),
                                 FIX("cycle_a.cfg"));
    load_bad(cfg, FIX("cycle_a.cfg"), BALDRO_EINVAL, want);
    g_free(want);
    baldro_config_free(cfg);
}

Test(config, inherit_self_is_a_cycle) {
    char *dir = g_dir_make_tmp("baldro-cfg-XXXXXX", NULL);
    cr_assert_not_null(dir);
    char *path = g_build_filename(dir, "self.cfg", NULL);
    cr_assert(g_file_set_contents(path, "inherit = \"self.cfg\";\n", -1, NULL));
    baldro_config *cfg = new_default();
    load_bad(cfg, path, BALDRO_EINVAL, "inherit: cycle through");
    baldro_config_free(cfg);
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

Test(config, inherit_too_deep) {
    char *dir = g_dir_make_tmp("baldro-cfg-XXXXXX", NULL);
    cr_assert_not_null(dir);
    enum { N = 20 };
    char *paths[N];
    for (int i = 0; i < N; i++) {
        paths[i] = g_strdup_printf("%s/f%d.cfg", dir, i);
        char *text = i + 1 < N ? g_strdup_printf("inherit = \"f%d.cfg\";\n", i + 1)
                               : g_strdup("run: { seed = 7; };\n");
        cr_assert(g_file_set_contents(paths[i], text, -1, NULL));
        g_free(text);
    }
    baldro_config *cfg = new_default();
    load_bad(cfg, paths[0], BALDRO_EINVAL, "levels of inheritance");
    /* Ten levels are fine. */
    load_ok(cfg, paths[10]);
    cr_assert_eq(get_i(cfg, "run.seed"), 7);
    baldro_config_free(cfg);
    for (int i = 0; i < N; i++) {
        g_unlink(paths[i]);
        g_free(paths[i]);
    }
    g_rmdir(dir);
    g_free(dir);
}

Test(config, missing_inherited_file_names_the_including_line) {
    baldro_config *cfg = new_default();
    char *want = g_strdup_printf("%s:2: inherit: %s: cannot read: ", FIX("inherit_missing.cfg"),
                                 FIX("does_not_exist.cfg"));
    load_bad(cfg, FIX("inherit_missing.cfg"), BALDRO_ENOTFOUND, want);
    g_free(want);
    baldro_config_free(cfg);
}

Test(config, inherit_must_be_file_names) {
    baldro_config *cfg = new_default();
    load_bad(cfg, FIX("inherit_bad_type.cfg"), BALDRO_EINVAL,
             "inherit_bad_type.cfg:1: inherit: expected a file name or a list of file names");
    baldro_config_free(cfg);
}

Test(config, include_is_relative_to_the_file) {
    baldro_config *cfg = new_default();
    load_ok(cfg, FIX("include_main.cfg"));
    cr_assert_str_eq(get_s(cfg, "model.dtype"), "bf16");
    cr_assert_eq(get_i(cfg, "trainer.epochs"), 7);
    assert_origin_line(cfg, "model.dtype", FIX("include/part.cfg"), 2);
    assert_origin_line(cfg, "trainer.epochs", FIX("include_main.cfg"), 3);
    baldro_config_free(cfg);
}

/* ---- arrays and lists --------------------------------------------------------- */

Test(config, arrays_and_lists_from_a_file) {
    baldro_config *cfg = new_schema(extra_schema);
    load_ok(cfg, FIX("arrays.cfg"));
    char *text = baldro_config_to_string(cfg, 0);
    assert_contains(text, "ids = [4, 5];");
    /* ints in a float array become floats */
    assert_contains(text, "weights = [1.0, 2.0];");
    assert_contains(text, "tags = (\"x\", 2, { k = true; });");
    cr_assert_eq(baldro_config_kind(cfg, "extra.ids"), BALDRO_CFG_ARRAY);
    cr_assert_eq(baldro_config_kind(cfg, "extra.tags"), BALDRO_CFG_LIST);
    assert_origin_line(cfg, "extra.tags", FIX("arrays.cfg"), 4);
    g_free(text);
    baldro_config_free(cfg);
}

Test(config, array_element_and_kind_checks) {
    baldro_config *cfg = new_schema(extra_schema);
    load_bad(cfg, FIX("array_bad_elem.cfg"), BALDRO_EINVAL,
             "array_bad_elem.cfg:2: extra.ids: element 0: expected an integer, got a float");
    load_bad(cfg, FIX("array_as_list.cfg"), BALDRO_EINVAL,
             "array_as_list.cfg:2: extra.ids: expected an array, got a list");
    baldro_config_free(cfg);
}

Test(config, arrays_and_lists_from_set) {
    baldro_config *cfg = new_schema(extra_schema);
    set_ok(cfg, "extra.ids=[7, 8, 9, 10]");
    set_ok(cfg, "extra.weights=[1, 2]");
    set_ok(cfg, "extra.tags=(\"a\", [1, 2], 3.5)");
    set_ok(cfg, "extra.names=[\"p\", \"q\"]"); /* empty default: any element type */
    char *text = baldro_config_to_string(cfg, 1);
    assert_contains(text, "ids = [7, 8, 9, 10];  # from --set");
    assert_contains(text, "weights = [1.0, 2.0];");
    assert_contains(text, "tags = (\"a\", [1, 2], 3.5);");
    assert_contains(text, "names = [\"p\", \"q\"];");
    g_free(text);
    set_bad(cfg, "extra.ids=[1.5]", "extra.ids: element 0: expected an integer, got a float");
    set_bad(cfg, "extra.ids=(1)", "expected an array, got a list");
    set_bad(cfg, "extra.ids=[1,", "--set extra.ids=[1,: extra.ids expects an array");
    set_bad(cfg, "extra.ids=[1]; flag = true", "extra.ids expects an array");
    set_bad(cfg, "extra.ids=[5000000000]", "integer 5000000000 does not fit in 32 bits");
    set_bad(cfg, "extra.ids=[9223372036854775808L]", "integer 9223372036854775808L does not fit in 64 bits");
    set_bad(cfg, "extra.ids=[0x100000000]", "does not fit in 32 bits");
    set_bad(cfg, "extra.tags=(\"5000000000\", 5000000000)", "integer 5000000000 does not fit");
    set_bad(cfg, "extra.weights=[1e999]", "not finite");
    /* The failed ones changed nothing. */
    text = baldro_config_to_string(cfg, 0);
    assert_contains(text, "ids = [7, 8, 9, 10];");
    int flag = 1;
    cr_assert_eq(baldro_config_get_bool(cfg, "extra.flag", &flag), BALDRO_OK);
    cr_assert_eq(flag, 0);
    g_free(text);
    baldro_config_free(cfg);
}

/* ---- --set -------------------------------------------------------------------- */

Test(config, set_int) {
    baldro_config *cfg = new_default();
    set_ok(cfg, "trainer.epochs=12");
    cr_assert_eq(get_i(cfg, "trainer.epochs"), 12);
    assert_origin(cfg, "trainer.epochs", "--set");
    set_ok(cfg, "run.seed=+7");
    cr_assert_eq(get_i(cfg, "run.seed"), 7);
    set_ok(cfg, "run.seed=-3"); /* type-correct; validate() judges the range */
    cr_assert_eq(get_i(cfg, "run.seed"), -3);
    set_ok(cfg, "run.seed=9223372036854775807");
    cr_assert_eq(get_i(cfg, "run.seed"), INT64_MAX);
    set_bad(cfg, "trainer.epochs=12abc", "--set trainer.epochs=12abc: trainer.epochs expects an integer");
    set_bad(cfg, "trainer.epochs=99999999999999999999", "trainer.epochs expects an integer");
    set_bad(cfg, "trainer.epochs=1.5", "trainer.epochs expects an integer");
    set_bad(cfg, "trainer.epochs=", "trainer.epochs expects an integer");
    set_bad(cfg, "trainer.epochs= 3", "trainer.epochs expects an integer");
    set_bad(cfg, "trainer.epochs=0x10", "trainer.epochs expects an integer");
    cr_assert_eq(get_i(cfg, "trainer.epochs"), 12);
    baldro_config_free(cfg);
}

Test(config, set_float) {
    baldro_config *cfg = new_default();
    set_ok(cfg, "trainer.lr=2e-5");
    cr_assert_eq(get_f(cfg, "trainer.lr"), 2e-5);
    set_ok(cfg, "trainer.lr=3");
    cr_assert_eq(baldro_config_kind(cfg, "trainer.lr"), BALDRO_CFG_FLOAT);
    cr_assert_eq(get_f(cfg, "trainer.lr"), 3.0);
    set_bad(cfg, "trainer.lr=abc", "--set trainer.lr=abc: trainer.lr expects a float");
    set_bad(cfg, "trainer.lr=nan", "trainer.lr expects a float");
    set_bad(cfg, "trainer.lr=inf", "trainer.lr expects a float");
    set_bad(cfg, "trainer.lr=-Infinity", "trainer.lr expects a float");
    set_bad(cfg, "trainer.lr=1e999", "trainer.lr expects a float");
    set_bad(cfg, "trainer.lr=1.5x", "trainer.lr expects a float");
    set_bad(cfg, "trainer.lr=", "trainer.lr expects a float");
    cr_assert_eq(get_f(cfg, "trainer.lr"), 3.0);
    baldro_config_free(cfg);
}

Test(config, set_bool) {
    static const struct { const char *text; int value; } cases[] = {
        { "true", 1 }, { "FALSE", 0 }, { "yes", 1 }, { "No", 0 }, { "on", 1 }, { "OFF", 0 },
        { "1", 1 }, { "0", 0 },
    };
    baldro_config *cfg = new_schema(extra_schema);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *a = g_strdup_printf("extra.flag=%s", cases[i].text);
        set_ok(cfg, a);
        int v = -1;
        cr_assert_eq(baldro_config_get_bool(cfg, "extra.flag", &v), BALDRO_OK);
        cr_assert_eq(v, cases[i].value, "%s", a);
        g_free(a);
    }
    set_bad(cfg, "extra.flag=maybe", "--set extra.flag=maybe: extra.flag expects a boolean");
    set_bad(cfg, "extra.flag=2", "extra.flag expects a boolean");
    set_bad(cfg, "extra.flag=", "extra.flag expects a boolean");
    baldro_config_free(cfg);
}

Test(config, set_string) {
    baldro_config *cfg = new_default();
    set_ok(cfg, "run.name=exp2");
    cr_assert_str_eq(get_s(cfg, "run.name"), "exp2");
    set_ok(cfg, "run.name=\"quoted name\"");
    cr_assert_str_eq(get_s(cfg, "run.name"), "quoted name");
    set_ok(cfg, "run.name=a=b");
    cr_assert_str_eq(get_s(cfg, "run.name"), "a=b");
    set_ok(cfg, "run.name=\"half");
    cr_assert_str_eq(get_s(cfg, "run.name"), "\"half");
    set_ok(cfg, "model.path=");
    cr_assert_str_eq(get_s(cfg, "model.path"), "");
    set_ok(cfg, "run.seed=5"); /* a number is not a string, but a string may look like one */
    set_ok(cfg, "run.name=123");
    cr_assert_str_eq(get_s(cfg, "run.name"), "123");
    assert_origin(cfg, "run.name", "--set");
    baldro_config_free(cfg);
}

Test(config, set_syntax_and_path_errors) {
    baldro_config *cfg = new_default();
    set_bad(cfg, "trainer.lr", "--set trainer.lr: expected path=value");
    set_bad(cfg, "=5", "--set =5: expected path=value");
    set_bad(cfg, "", "expected path=value");
    set_bad(cfg, "trainer.lrr=1", "--set trainer.lrr=1: unknown setting 'trainer.lrr' (did you mean 'trainer.lr'?)");
    set_bad(cfg, "trainr.lr=1", "unknown setting 'trainr.lr' (did you mean 'trainer.lr'?)");
    set_bad(cfg, "trainer/lr=1", "unknown setting 'trainer/lr'");
    set_bad(cfg, "trainer.lr.x=1", "unknown setting 'trainer.lr.x'");
    set_bad(cfg, "trainer..lr=1", "unknown setting 'trainer..lr'");
    set_bad(cfg, "objectives.npo.beta=1", "no loaded objective declares parameters named 'npo'");
    set_bad(cfg, "trainer=1", "--set trainer=1: trainer is a group; set its members");
    baldro_error err = { 0 };
    baldro_config_set_override(cfg, "zzzzzz.qqqq=1", &err);
    cr_assert_null(strstr(err.msg, "did you mean"), "%s", err.msg);
    baldro_config_free(cfg);
}

Test(config, set_wins_over_file) {
    baldro_config *cfg = new_default();
    load_ok(cfg, FIX("override.cfg"));
    set_ok(cfg, "trainer.lr=4e-5");
    cr_assert_eq(get_f(cfg, "trainer.lr"), 4e-5);
    assert_origin(cfg, "trainer.lr", "--set");
    assert_origin_line(cfg, "trainer.epochs", FIX("override.cfg"), 4);
    baldro_config_free(cfg);
}

/* ---- plugin parameters -------------------------------------------------------- */

static const baldro_param_spec toy_params[] = {
    BALDRO_PARAM_F("beta", 0.5, 0.0, 1.0, "a weight"),
    BALDRO_PARAM_I("steps", 10, 1, 100, "how many"),
    BALDRO_PARAM_B("verbose", 0, "chatty"),
    BALDRO_PARAM_S("label", "x", "a name"),
    BALDRO_PARAM_I("huge", INT64_C(1) << 40, 1.0, 0.0, "unbounded, beyond 32 bits"),
    BALDRO_PARAM_END,
};

static void declare_toy(baldro_config *cfg) {
    baldro_error err = { 0 };
    for (size_t i = 0; toy_params[i].name; i++)
        cr_assert_eq(baldro_config_declare_param(cfg, "objectives", "toy", &toy_params[i], "toyplug", &err),
                     BALDRO_OK, "%s", err.msg);
}

Test(config, declare_param_creates_typed_settings) {
    baldro_config *cfg = new_default();
    declare_toy(cfg);
    cr_assert_eq(baldro_config_kind(cfg, "objectives.toy"), BALDRO_CFG_GROUP);
    cr_assert_eq(baldro_config_kind(cfg, "objectives.toy.beta"), BALDRO_CFG_FLOAT);
    cr_assert_eq(baldro_config_kind(cfg, "objectives.toy.steps"), BALDRO_CFG_INT);
    cr_assert_eq(baldro_config_kind(cfg, "objectives.toy.verbose"), BALDRO_CFG_BOOL);
    cr_assert_eq(baldro_config_kind(cfg, "objectives.toy.label"), BALDRO_CFG_STRING);
    cr_assert_eq(get_f(cfg, "objectives.toy.beta"), 0.5);
    cr_assert_eq(get_i(cfg, "objectives.toy.steps"), 10);
    cr_assert_eq(get_i(cfg, "objectives.toy.huge"), INT64_C(1) << 40);
    cr_assert_str_eq(get_s(cfg, "objectives.toy.label"), "x");
    assert_origin(cfg, "objectives.toy.beta", "plugin toyplug");
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_OK, "%s", err.msg);
    baldro_config_free(cfg);
}

Test(config, declare_param_errors) {
    baldro_config *cfg = new_default();
    declare_toy(cfg);
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_declare_param(cfg, "objectives", "toy", &toy_params[0], "other", &err),
                 BALDRO_EEXIST);
    assert_contains(err.msg, "objectives.toy.beta");
    cr_assert_eq(baldro_config_declare_param(cfg, "trainer", "toy", &toy_params[0], "p", &err),
                 BALDRO_EINVAL);
    const baldro_param_spec bad_name = BALDRO_PARAM_F("2x", 0.0, 1.0, 0.0, "");
    cr_assert_eq(baldro_config_declare_param(cfg, "metrics", "m", &bad_name, "p", &err), BALDRO_EINVAL);
    const baldro_param_spec dotted = BALDRO_PARAM_F("a.b", 0.0, 1.0, 0.0, "");
    cr_assert_eq(baldro_config_declare_param(cfg, "metrics", "m", &dotted, "p", &err), BALDRO_EINVAL);
    const baldro_param_spec nan_default = BALDRO_PARAM_F("n", NAN, 1.0, 0.0, "");
    cr_assert_eq(baldro_config_declare_param(cfg, "metrics", "m", &nan_default, "p", &err), BALDRO_EINVAL);
    const baldro_param_spec ok = BALDRO_PARAM_F("k", 1.0, 1.0, 0.0, "");
    cr_assert_eq(baldro_config_declare_param(cfg, "metrics", "bad.obj", &ok, "p", &err), BALDRO_EINVAL);
    cr_assert_eq(baldro_config_declare_param(cfg, "metrics", "rouge", &ok, "p", &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_config_kind(cfg, "metrics.rouge.k"), BALDRO_CFG_FLOAT);
    baldro_config_free(cfg);
}

Test(config, file_sets_declared_param_and_validate_checks_bounds) {
    baldro_config *cfg = new_default();
    declare_toy(cfg);
    load_ok(cfg, FIX("params.cfg"));
    cr_assert_eq(get_f(cfg, "objectives.toy.beta"), 5.0);
    cr_assert_eq(get_i(cfg, "objectives.toy.steps"), 3);
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_EINVAL);
    char *want = g_strdup_printf("%s:3: objectives.toy.beta: must be in [0, 1], got 5", FIX("params.cfg"));
    cr_assert_str_eq(err.msg, want);
    g_free(want);
    set_ok(cfg, "objectives.toy.beta=1");
    cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_OK, "%s", err.msg);
    set_ok(cfg, "objectives.toy.steps=0");
    cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_EINVAL);
    cr_assert_str_eq(err.msg, "--set: objectives.toy.steps: must be in [1, 100], got 0");
    baldro_config_free(cfg);
}

Test(config, undeclared_objective_group) {
    baldro_config *cfg = new_default();
    declare_toy(cfg);
    load_bad(cfg, FIX("unknown_objective.cfg"), BALDRO_EINVAL,
             "unknown_objective.cfg:2: unknown setting 'objectives.foo' (no loaded objective "
             "declares parameters named 'foo')");
    set_bad(cfg, "objectives.toy.betta=0.1", "unknown setting 'objectives.toy.betta' (did you mean 'objectives.toy.beta'?)");
    set_bad(cfg, "metrics.toy.beta=0.1", "no loaded metric declares parameters named 'toy'");
    baldro_config_free(cfg);
}

Test(config, param_values_in_spec_order) {
    baldro_config *cfg = new_default();
    declare_toy(cfg);
    set_ok(cfg, "objectives.toy.beta=0.25");
    set_ok(cfg, "objectives.toy.verbose=yes");
    set_ok(cfg, "objectives.toy.label=\"hi\"");
    baldro_param_value vals[5];
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_param_values(cfg, "objectives", "toy", toy_params, vals, &err),
                 BALDRO_OK, "%s", err.msg);
    cr_assert_eq(vals[0].type, BALDRO_PARAM_FLOAT);
    cr_assert_eq(vals[0].f, 0.25);
    cr_assert_eq(vals[1].type, BALDRO_PARAM_INT);
    cr_assert_eq(vals[1].i, 10);
    cr_assert_eq(vals[2].type, BALDRO_PARAM_BOOL);
    cr_assert_eq(vals[2].i, 1);
    cr_assert_eq(vals[3].type, BALDRO_PARAM_STRING);
    cr_assert_str_eq(vals[3].s, "hi");
    cr_assert_eq(vals[4].i, INT64_C(1) << 40);
    /* An undeclared object is an error, not zeros. */
    cr_assert_eq(baldro_config_param_values(cfg, "objectives", "other", toy_params, vals, &err),
                 BALDRO_ENOTFOUND);
    assert_contains(err.msg, "objectives.other.beta");
    baldro_config_free(cfg);
}

/* ---- validate ----------------------------------------------------------------- */

Test(config, validate_enum_lists_choices_with_file_origin) {
    baldro_config *cfg = new_default();
    load_ok(cfg, FIX("enum_bad.cfg"));
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_EINVAL);
    char *want = g_strdup_printf("%s:2: baldro.mode: 'foo' is not one of none, dv, group",
                                 FIX("enum_bad.cfg"));
    cr_assert_str_eq(err.msg, want);
    g_free(want);
    baldro_config_free(cfg);
}

Test(config, validate_rules_from_set) {
    static const struct { const char *set, *msg; } cases[] = {
        { "baldro.mode=foo", "--set: baldro.mode: 'foo' is not one of none, dv, group" },
        { "model.template=gpt", "--set: model.template: 'gpt' is not one of auto, llama2, llama3, qwen3, mistral, plain" },
        { "runtime.precision=fp16", "--set: runtime.precision: 'fp16' is not one of fp32, bf16" },
        { "model.dtype=fp16", "--set: model.dtype: 'fp16' is not one of fp32, bf16" },
        { "baldro.direction=up", "--set: baldro.direction: 'up' is not one of official, worst_case" },
        { "baldro.scope=macro", "--set: baldro.scope: 'macro' is not one of micro, effective" },
        { "trainer.lr=0", "--set: trainer.lr: must be > 0, got 0" },
        { "trainer.lr=-1e-5", "--set: trainer.lr: must be > 0, got -1e-05" },
        { "trainer.epochs=0", "--set: trainer.epochs: must be >= 1, got 0" },
        { "run.seed=-1", "--set: run.seed: must be >= 0, got -1" },
        { "data.max_length=0", "--set: data.max_length: must be >= 1, got 0" },
        { "data.subset_authors=-1", "--set: data.subset_authors: must be >= 0, got -1" },
        { "trainer.per_device_batch=0", "--set: trainer.per_device_batch: must be >= 1, got 0" },
        { "trainer.grad_accum=0", "--set: trainer.grad_accum: must be >= 1, got 0" },
        { "trainer.warmup_epochs=-0.5", "--set: trainer.warmup_epochs: must be >= 0, got -0.5" },
        { "trainer.weight_decay=-1", "--set: trainer.weight_decay: must be >= 0, got -1" },
        { "trainer.max_grad_norm=-1", "--set: trainer.max_grad_norm: must be >= 0, got -1" },
        { "trainer.save_every=-1", "--set: trainer.save_every: must be >= 0, got -1" },
        { "baldro.tau=0", "--set: baldro.tau: must be > 0, got 0" },
        { "baldro.rho=0", "--set: baldro.rho: must be in (0, 1], got 0" },
        { "baldro.rho=1.5", "--set: baldro.rho: must be in (0, 1], got 1.5" },
        { "eval.batch_size=0", "--set: eval.batch_size: must be >= 1, got 0" },
        { "eval.max_new_tokens=0", "--set: eval.max_new_tokens: must be >= 1, got 0" },
        { "run.name=", "--set: run.name: must not be empty" },
        { "run.name=a/b", "--set: run.name: must not contain '/'" },
        { "run.name=..", "--set: run.name: must not be '.' or '..'" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        baldro_config *cfg = new_default();
        set_ok(cfg, cases[i].set);
        baldro_error err = { 0 };
        cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_EINVAL, "--set %s passed", cases[i].set);
        cr_assert_str_eq(err.msg, cases[i].msg);
        baldro_config_free(cfg);
    }
    /* The edges that are allowed. */
    baldro_config *cfg = new_default();
    set_ok(cfg, "baldro.rho=1");
    set_ok(cfg, "run.seed=0");
    set_ok(cfg, "trainer.save_every=0");
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_OK, "%s", err.msg);
    baldro_config_free(cfg);
}

Test(config, validate_names_defaults_origin) {
    baldro_error err = { 0 };
    baldro_config *cfg = baldro_config_new_from_string("baldro: { mode = \"x\"; };\n", "defaults", &err);
    cr_assert_not_null(cfg, "%s", err.msg);
    cr_assert_eq(baldro_config_validate(cfg, &err), BALDRO_EINVAL);
    cr_assert_str_eq(err.msg, "defaults: baldro.mode: 'x' is not one of none, dv, group");
    baldro_config_free(cfg);
}

/* ---- writing ------------------------------------------------------------------ */

/* Parse `text` as fresh defaults: the round trip the writer promises. */
static baldro_config *reparse(const char *text) {
    baldro_error err = { 0 };
    baldro_config *cfg = baldro_config_new_from_string(text, "resolved", &err);
    cr_assert_not_null(cfg, "written text does not parse: %s\n%s", err.msg, text);
    return cfg;
}

Test(config, to_string_round_trips_the_resolved_config) {
    baldro_config *cfg = new_default();
    declare_toy(cfg);
    load_ok(cfg, FIX("override.cfg"));
    set_ok(cfg, "trainer.lr=3");
    set_ok(cfg, "run.seed=5000000000");
    char *annotated = baldro_config_to_string(cfg, 1);
    assert_contains(annotated, "trainer: {\n  lr = 3.0;  # from --set\n");
    assert_contains(annotated, "  seed = 5000000000L;  # from --set\n");
    assert_contains(annotated, "# from defaults");
    assert_contains(annotated, "# from plugin toyplug");
    assert_contains(annotated, "huge = 1099511627776L;");
    assert_contains(annotated, "metrics: { };");
    char *want = g_strdup_printf("epochs = 3;  # from %s:4", FIX("override.cfg"));
    assert_contains(annotated, want);
    g_free(want);

    baldro_config *back = reparse(annotated);
    char *plain = baldro_config_to_string(cfg, 0);
    char *plain_back = baldro_config_to_string(back, 0);
    cr_assert_str_eq(plain_back, plain);
    cr_assert_eq(get_f(back, "trainer.lr"), 3.0);
    cr_assert_eq(baldro_config_kind(back, "trainer.lr"), BALDRO_CFG_FLOAT);
    cr_assert_eq(get_i(back, "run.seed"), INT64_C(5000000000));
    cr_assert_eq(get_f(back, "trainer.weight_decay"), 0.0);
    cr_assert_eq(baldro_config_kind(back, "trainer.weight_decay"), BALDRO_CFG_FLOAT);
    g_free(plain);
    g_free(plain_back);
    g_free(annotated);
    baldro_config_free(back);
    baldro_config_free(cfg);
}

Test(config, round_trip_escapes_and_numbers) {
    static const char *const strings[] = {
        "plain", "", "say \"hi\"", "back\\slash", "two\nlines", "tab\there", "cr\rlf",
        "form\ffeed", "bell\x01\x1f\x7f", "utf-8 \xc3\xa9\xe2\x82\xac", "# not a comment",
        "/* nor this */", "trailing backslash \\",
    };
    static const double floats[] = { 1e-5, 3.0, 0.1, 1.0 / 3.0, -2.5e300, 5e-324, -0.0,
                                     1e22, 123456789012345680.0, 2e-5 };
    static const int64_t ints[] = { 0, -1, INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1,
                                    (int64_t)INT32_MIN - 1, INT64_MAX, INT64_MIN };
    for (size_t i = 0; i < G_N_ELEMENTS(strings); i++) {
        baldro_config *cfg = new_schema(extra_schema);
        char *a = g_strdup_printf("extra.text=%s", strings[i]);
        set_ok(cfg, a);
        char *text = baldro_config_to_string(cfg, 1);
        baldro_config *back = reparse(text);
        cr_assert_str_eq(get_s(back, "extra.text"), strings[i], "in:\n%s", text);
        g_free(text);
        g_free(a);
        baldro_config_free(back);
        baldro_config_free(cfg);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(floats); i++) {
        baldro_config *cfg = new_schema(extra_schema);
        char *a = g_strdup_printf("extra.ratio=%.17g", floats[i]);
        set_ok(cfg, a);
        char *text = baldro_config_to_string(cfg, 0);
        baldro_config *back = reparse(text);
        cr_assert_eq(baldro_config_kind(back, "extra.ratio"), BALDRO_CFG_FLOAT, "%s", text);
        double v = get_f(back, "extra.ratio");
        cr_assert(v == floats[i] && signbit(v) == signbit(floats[i]), "%.17g -> %s", floats[i], text);
        g_free(text);
        g_free(a);
        baldro_config_free(back);
        baldro_config_free(cfg);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(ints); i++) {
        baldro_config *cfg = new_schema(extra_schema);
        char *a = g_strdup_printf("extra.big=%lld", (long long)ints[i]);
        set_ok(cfg, a);
        char *text = baldro_config_to_string(cfg, 0);
        baldro_config *back = reparse(text);
        cr_assert_eq(get_i(back, "extra.big"), ints[i], "%s", text);
        g_free(text);
        g_free(a);
        baldro_config_free(back);
        baldro_config_free(cfg);
    }
    /* An int64 array keeps every L: libconfig refuses to mix int and int64 elements. */
    baldro_config *cfg = new_schema(extra_schema);
    set_ok(cfg, "extra.ids=[1L, 5000000000L]");
    set_ok(cfg, "extra.tags=({ s = \"q\\\"uote\"; n = 7L; }, 1e-5, [true, false])");
    char *text = baldro_config_to_string(cfg, 0);
    assert_contains(text, "ids = [1L, 5000000000L];");
    baldro_config *back = reparse(text);
    char *text_back = baldro_config_to_string(back, 0);
    cr_assert_str_eq(text_back, text);
    g_free(text_back);
    g_free(text);
    baldro_config_free(back);
    baldro_config_free(cfg);
}

Test(config, round_trip_random_values) {
    GRand *rng = g_rand_new_with_seed(20240501);
    for (int i = 0; i < 300; i++) {
        union { uint64_t u; double d; } bits;
        do {
            bits.u = ((uint64_t)g_rand_int(rng) << 32) | g_rand_int(rng);
        } while (!isfinite(bits.d));
        int64_t iv = (int64_t)(((uint64_t)g_rand_int(rng) << 32) | g_rand_int(rng)) >> g_rand_int_range(rng, 0, 63);
        baldro_config *cfg = new_schema(extra_schema);
        char *a = g_strdup_printf("extra.ratio=%.17g", bits.d);
        char *b = g_strdup_printf("extra.big=%lld", (long long)iv);
        set_ok(cfg, a);
        set_ok(cfg, b);
        char *text = baldro_config_to_string(cfg, 1);
        baldro_config *back = reparse(text);
        double v = get_f(back, "extra.ratio");
        cr_assert(memcmp(&v, &bits.d, sizeof v) == 0, "%.17g -> %s", bits.d, text);
        cr_assert_eq(get_i(back, "extra.big"), iv, "%s", text);
        g_free(text);
        g_free(a);
        g_free(b);
        baldro_config_free(back);
        baldro_config_free(cfg);
    }
    g_rand_free(rng);
}

Test(config, origin_comment_cannot_break_the_file) {
    char *dir = g_dir_make_tmp("baldro-cfg-XXXXXX", NULL);
    cr_assert_not_null(dir);
    char *path = g_build_filename(dir, "odd\nname.cfg", NULL);
    cr_assert(g_file_set_contents(path, "trainer: { lr = 0.5; };\n", -1, NULL));
    baldro_config *cfg = new_default();
    load_ok(cfg, path);
    char *text = baldro_config_to_string(cfg, 1);
    baldro_config *back = reparse(text);
    cr_assert_eq(get_f(back, "trainer.lr"), 0.5);
    baldro_config_free(back);
    g_free(text);
    baldro_config_free(cfg);
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

Test(config, write_is_atomic_and_complete) {
    char *dir = g_dir_make_tmp("baldro-cfg-XXXXXX", NULL);
    cr_assert_not_null(dir);
    char *path = g_build_filename(dir, "resolved.cfg", NULL);
    baldro_config *cfg = new_default();
    set_ok(cfg, "run.name=written");
    baldro_error err = { 0 };
    cr_assert_eq(baldro_config_write(cfg, path, &err), BALDRO_OK, "%s", err.msg);
    /* Overwrite: the second write replaces the first. */
    set_ok(cfg, "run.name=rewritten");
    cr_assert_eq(baldro_config_write(cfg, path, &err), BALDRO_OK, "%s", err.msg);

    GDir *d = g_dir_open(dir, 0, NULL);
    cr_assert_not_null(d);
    int entries = 0;
    const char *name;
    while ((name = g_dir_read_name(d))) {
        entries++;
        cr_assert_str_eq(name, "resolved.cfg", "stray file %s", name);
    }
    g_dir_close(d);
    cr_assert_eq(entries, 1);

    char *text = NULL;
    cr_assert(g_file_get_contents(path, &text, NULL, NULL));
    char *expected = baldro_config_to_string(cfg, 1);
    cr_assert_str_eq(text, expected);
    baldro_config *back = reparse(text);
    cr_assert_str_eq(get_s(back, "run.name"), "rewritten");
    baldro_config_free(back);
    g_free(expected);
    g_free(text);

    char *nowhere = g_build_filename(dir, "missing", "resolved.cfg", NULL);
    cr_assert_eq(baldro_config_write(cfg, nowhere, &err), BALDRO_EIO);
    g_free(nowhere);

    baldro_config_free(cfg);
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}
