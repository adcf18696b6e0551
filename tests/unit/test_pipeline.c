/*
 * tests/unit/test_pipeline.c: the pieces behind `baldro-host pipeline` - the sweep
 * reader (core/config/config_sweep.c), the canonical text step hashes cover
 * (baldro_config_canonical), step.json records and checkpoints (core/pipeline/step.c),
 * and the summary tables with their mean and spread over seeds (core/pipeline/summary.c).
 * The CLI-level behaviour (skipping, sharing, resume) is tests/cli/pipeline_cli.sh.
 */
#include <criterion/criterion.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "config/config.h"
#include "pipeline/step.h"
#include "pipeline/summary.h"

static baldro_config *with_sweep(const char *sweep, baldro_error *err) {
    baldro_config *cfg = baldro_config_new(err);
    cr_assert_not_null(cfg, "%s", err->msg);
    char *set = g_strdup_printf("sweep=%s", sweep);
    int rc = baldro_config_set_override(cfg, set, err);
    g_free(set);
    cr_assert_eq(rc, BALDRO_OK, "%s", err->msg);
    return cfg;
}

Test(sweep, reads_axes_with_typed_values_and_labels) {
    baldro_error err = {0};
    baldro_config *cfg = with_sweep("({key=\"objective.forget\"; values=[\"npo\", \"wga\"];},"
                                    " {key=\"baldro.tau\"; values=(0.5, 2);},"
                                    " {key=\"run.seed\"; values=[1, 2, 3];})", &err);
    baldro_sweep_axis *ax = NULL;
    size_t n = 0;
    cr_assert_eq(baldro_config_sweep(cfg, &ax, &n, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(ax[0].key, "objective.forget");
    cr_assert_str_eq(ax[0].values[1], "\"wga\"");
    cr_assert_str_eq(ax[0].labels[1], "wga");
    cr_assert_str_eq(ax[1].values[0], "0.5");
    cr_assert_str_eq(ax[1].labels[1], "2", "an integer where a float is expected is accepted");
    cr_assert_eq(ax[2].n_values, 3);
    /* every value applies as a --set override of its setting */
    for (size_t a = 0; a < n; a++)
        for (size_t v = 0; v < ax[a].n_values; v++) {
            char *set = g_strdup_printf("%s=%s", ax[a].key, ax[a].values[v]);
            cr_assert_eq(baldro_config_set_override(cfg, set, &err), BALDRO_OK, "%s: %s", set, err.msg);
            g_free(set);
        }
    const char *s = NULL;
    baldro_config_get_string(cfg, "objective.forget", &s);
    cr_assert_str_eq(s, "wga");
    baldro_sweep_axes_free(ax, n);
    baldro_config_free(cfg);
}

Test(sweep, empty_by_default) {
    baldro_error err = {0};
    baldro_config *cfg = baldro_config_new(&err);
    baldro_sweep_axis *ax = (baldro_sweep_axis *)1;
    size_t n = 7;
    cr_assert_eq(baldro_config_sweep(cfg, &ax, &n, &err), BALDRO_OK);
    cr_assert_eq(n, 0);
    cr_assert_null(ax);
    baldro_config_free(cfg);
}

Test(sweep, bad_entries_are_one_line_errors) {
    static const struct { const char *sweep, *want; } cases[] = {
        {"({key=\"baldro.taux\"; values=[1.0];})", "sweep[0]: key: unknown setting 'baldro.taux'"},
        {"({key=\"baldro\"; values=[1.0];})", "sweep[0]: key: 'baldro' is a group"},
        {"({key=\"run.name\"; values=[\"a\"];})", "sweep[0]: key: 'run.name' cannot be swept"},
        {"({key=\"baldro.tau\"; values=[];})", "sweep[0]: values: expected a non-empty"},
        {"({key=\"baldro.tau\"; values=[\"x\"];})", "values[0]: baldro.tau expects a float, got a string"},
        {"({key=\"run.seed\"; values=[1.5];})", "values[0]: run.seed expects an integer, got a float"},
        {"({key=\"baldro.tau\"; values=[1.0, 1.0];})", "values: '1.0' is listed twice"},
        {"({key=\"baldro.tau\"; values=[1.0];}, {key=\"baldro.tau\"; values=[2.0];})",
         "sweep[1]: key: 'baldro.tau' is swept twice"},
        {"({key=\"baldro.tau\"; values=[1.0]; vals=[2];})", "unknown member 'vals'"},
        {"(1)", "sweep[0]: expected a group"},
        {"({values=[1.0];})", "key: expected a string naming a setting"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        baldro_error err = {0};
        baldro_config *cfg = with_sweep(cases[i].sweep, &err);
        baldro_sweep_axis *ax = NULL;
        size_t n = 0;
        cr_assert_neq(baldro_config_sweep(cfg, &ax, &n, &err), BALDRO_OK, "case %zu accepted", i);
        cr_assert_not_null(strstr(err.msg, cases[i].want), "case %zu: '%s' lacks '%s'", i, err.msg,
                           cases[i].want);
        cr_assert_null(strchr(err.msg, '\n'), "case %zu: one line", i);
        cr_assert_null(ax);
        baldro_config_free(cfg);
    }
}

Test(canonical, prefixes_exclusions_and_what_changes_a_hash) {
    baldro_error err = {0};
    baldro_config *cfg = baldro_config_new(&err);
    const char *const keys[] = {"baldro", "model", "!model.path", "run.seed", NULL};
    char *a = baldro_config_canonical(cfg, keys);
    cr_assert_not_null(strstr(a, "baldro.tau = 1.0\n"), "%s", a);
    cr_assert_not_null(strstr(a, "run.seed = 42\n"));
    cr_assert_null(strstr(a, "model.path"), "excluded");
    cr_assert_null(strstr(a, "run.name"), "not asked for");
    cr_assert_null(strstr(a, "baldro.taux"));
    /* the model path does not change the text; the temperature does */
    cr_assert_eq(baldro_config_set_override(cfg, "model.path=/elsewhere", &err), BALDRO_OK);
    char *b = baldro_config_canonical(cfg, keys);
    cr_assert_str_eq(a, b);
    cr_assert_eq(baldro_config_set_override(cfg, "baldro.tau=1.0000000000000002", &err), BALDRO_OK);
    char *c = baldro_config_canonical(cfg, keys);
    cr_assert_str_neq(a, c, "one ulp of tau is another step");
    char *h1 = baldro_step_inputs(cfg, BALDRO_STEP_EVAL, "eval-x", "model = 1\n");
    char *h2 = baldro_step_inputs(cfg, BALDRO_STEP_EVAL, "eval-x", "model = 2\n");
    char *d1 = baldro_step_hash(h1), *d2 = baldro_step_hash(h2);
    cr_assert_str_neq(d1, d2, "the upstream hash is part of the inputs");
    cr_assert_eq(strlen(d1), 64);
    cr_assert_null(strstr(h1, "baldro.tau"), "evaluations do not depend on the unlearning settings");
    g_free(d1);
    g_free(d2);
    g_free(h1);
    g_free(h2);
    g_free(a);
    g_free(b);
    g_free(c);
    baldro_config_free(cfg);
}

Test(canonical, finetune_view) {
    baldro_error err = {0};
    baldro_config *cfg = baldro_config_new(&err);
    cr_assert_eq(baldro_config_set_override(cfg, "finetune.lr=3e-3", &err), BALDRO_OK);
    cr_assert_eq(baldro_config_set_override(cfg, "finetune.seed=7", &err), BALDRO_OK);
    cr_assert_eq(baldro_step_apply_finetune(cfg, &err), BALDRO_OK, "%s", err.msg);
    double lr = 0;
    int64_t epochs = 0, seed = 0;
    baldro_config_get_float(cfg, "trainer.lr", &lr);
    baldro_config_get_int(cfg, "trainer.epochs", &epochs);
    baldro_config_get_int(cfg, "run.seed", &seed);
    cr_assert_eq(lr, 3e-3);
    cr_assert_eq(epochs, 10, "finetune.epochs = 0 keeps trainer.epochs");
    cr_assert_eq(seed, 7);
    baldro_config_free(cfg);
}

Test(step, record_round_trip_and_broken_records) {
    char *dir = g_dir_make_tmp("baldro-step-XXXXXX", NULL);
    baldro_error err = {0};
    baldro_step_record rec;
    cr_assert_eq(baldro_step_read(dir, &rec, &err), BALDRO_OK);
    cr_assert_null(rec.status, "no record yet");
    cr_assert_eq(baldro_step_write(dir, "unlearn", "done", "abc", "a = 1\nb = 2\n", 12.5, &err),
                 BALDRO_OK, "%s", err.msg);
    cr_assert_eq(baldro_step_read(dir, &rec, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_str_eq(rec.status, "done");
    cr_assert_str_eq(rec.hash, "abc");
    cr_assert_eq(rec.seconds, 12.5);
    baldro_step_record_clear(&rec);
    char *p = g_build_filename(dir, "step.json", NULL);
    const char *bad[] = {"{", "[]", "{\"status\": \"done\"}", "{\"status\": 1, \"hash\": \"x\"}"};
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_file_set_contents(p, bad[i], -1, NULL);
        cr_assert_neq(baldro_step_read(dir, &rec, &err), BALDRO_OK, "'%s' accepted", bad[i]);
        cr_assert_not_null(strstr(err.msg, p), "names the file: %s", err.msg);
        cr_assert_null(rec.status);
    }
    /* checkpoints: the largest complete one; clearing removes them all */
    const char *cks[] = {"checkpoint-2", "checkpoint-10", "checkpoint-12", "checkpoint-x"};
    for (size_t i = 0; i < G_N_ELEMENTS(cks); i++) {
        char *d = g_build_filename(dir, cks[i], NULL);
        g_mkdir(d, 0755);
        if (i < 2 || i == 3) {
            char *f = g_build_filename(d, "trainer_state.json", NULL);
            g_file_set_contents(f, "{}", -1, NULL);
            g_free(f);
        }
        g_free(d);
    }
    char *latest = baldro_step_latest_checkpoint(dir);
    char *want = g_build_filename(dir, "checkpoint-10", NULL);
    cr_assert_str_eq(latest, want, "checkpoint-12 has no trainer_state.json");
    cr_assert_eq(baldro_step_clear_checkpoints(dir, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_null(baldro_step_latest_checkpoint(dir));
    g_free(latest);
    g_free(want);
    g_unlink(p);
    g_free(p);
    g_rmdir(dir);
    g_free(dir);
}

Test(step, fingerprint_follows_files) {
    char *dir = g_dir_make_tmp("baldro-fp-XXXXXX", NULL);
    char *f = g_build_filename(dir, "config.json", NULL);
    g_file_set_contents(f, "{}", -1, NULL);
    baldro_error err = {0};
    char *a = NULL, *b = NULL, *c = NULL;
    cr_assert_eq(baldro_step_fingerprint(dir, &a, &err), BALDRO_OK);
    cr_assert_eq(baldro_step_fingerprint(dir, &b, &err), BALDRO_OK);
    cr_assert_str_eq(a, b);
    g_file_set_contents(f, "{\"a\": 1}", -1, NULL);
    cr_assert_eq(baldro_step_fingerprint(dir, &c, &err), BALDRO_OK);
    cr_assert_str_neq(a, c, "another size, another fingerprint");
    char *missing = g_build_filename(dir, "nope", NULL);
    char *d = NULL;
    cr_assert_eq(baldro_step_fingerprint(missing, &d, &err), BALDRO_ENOTFOUND);
    cr_assert_not_null(strstr(err.msg, "no such file"));
    g_free(missing);
    g_free(a);
    g_free(b);
    g_free(c);
    g_unlink(f);
    g_free(f);
    g_rmdir(dir);
    g_free(dir);
}

/* Four runs: two settings x two seeds. Means and sample standard deviations by hand. */
Test(summary, rows_and_seed_groups) {
    char *dir = g_dir_make_tmp("baldro-sum-XXXXXX", NULL);
    const double fq[4] = {1e-3, 3e-3, 0.5, 0.7}, mu[4] = {0.4, 0.5, 0.6, 0.6};
    char *paths[4];
    for (int i = 0; i < 4; i++) {
        paths[i] = g_strdup_printf("%s/s%d.json", dir, i);
        char *t = g_strdup_printf("{\"forget_quality\": %.17g, \"model_utility\": %.17g, "
                                  "\"forget_truth_ratio\": 0.5}", fq[i], mu[i]);
        g_file_set_contents(paths[i], t, -1, NULL);
        g_free(t);
    }
    char *retain = g_strdup_printf("%s/retain.json", dir);
    g_file_set_contents(retain, "{\"model_utility\": 0.61}", -1, NULL);
    baldro_sweep_axis axes[2] = {0};
    char *k0v[] = {"\"none\"", "\"dv\""}, *k0l[] = {"none", "dv"};
    char *k1v[] = {"1", "2"}, *k1l[] = {"1", "2"};
    axes[0] = (baldro_sweep_axis){"baldro.mode", k0v, k0l, 2};
    axes[1] = (baldro_sweep_axis){"run.seed", k1v, k1l, 2};
    char *lab[4][2] = {{"none", "1"}, {"none", "2"}, {"dv", "1"}, {"dv", "2"}};
    baldro_summary_run runs[4];
    for (int i = 0; i < 4; i++)
        runs[i] = (baldro_summary_run){.id = lab[i][0], .labels = lab[i], .status = "done",
                                       .wall_seconds = 10.0 * (i + 1), .summary = paths[i]};
    baldro_error err = {0};
    cr_assert_eq(baldro_summary_write(dir, axes, 2, runs, 4, NULL, retain, &err), BALDRO_OK,
                 "%s", err.msg);
    char *csv = NULL, *md = NULL, *json = NULL;
    char *pc = g_build_filename(dir, "summary.csv", NULL), *pm = g_build_filename(dir, "summary.md", NULL),
         *pj = g_build_filename(dir, "summary.json", NULL);
    cr_assert(g_file_get_contents(pc, &csv, NULL, NULL));
    cr_assert(g_file_get_contents(pm, &md, NULL, NULL));
    cr_assert(g_file_get_contents(pj, &json, NULL, NULL));
    cr_assert_not_null(strstr(csv, "run,baldro.mode,run.seed,status,forget_quality,model_utility"), "%s", csv);
    cr_assert_not_null(strstr(csv, "\ndv,dv,2,done,0.7,0.6,0.5,,,,,,40.0\n"), "%s", csv);
    cr_assert_not_null(strstr(csv, "\nretain,,,reference,1,0.61,"), "the retain model is the reference: %s", csv);
    cr_assert_null(strstr(csv, "\ntarget,"), "no target row without its summary");
    /* none: FQ mean 2e-3, sd sqrt(2) * 1e-3; dv: MU 0.6 +- 0 */
    cr_assert_not_null(strstr(md, "| none | 2 | 2.000e-03 ± 1.414e-03 | 0.45 ± 0.07071 |"), "%s", md);
    cr_assert_not_null(strstr(md, "| dv | 2 | 6.000e-01 ± 1.414e-01 | 0.6 ± 0 |"), "%s", md);
    cr_assert_not_null(strstr(json, "\"n\" : 2"), "%s", json);
    /* a failed run is a row without figures and leaves its group */
    runs[3].status = "failed: unlearn";
    runs[3].summary = NULL;
    cr_assert_eq(baldro_summary_write(dir, axes, 2, runs, 4, NULL, NULL, &err), BALDRO_OK);
    g_free(md);
    cr_assert(g_file_get_contents(pm, &md, NULL, NULL));
    cr_assert_not_null(strstr(md, "| dv | 1 | 5.000e-01 | 0.6 |"), "%s", md);
    cr_assert_not_null(strstr(md, "| failed: unlearn |"), "%s", md);
    g_free(csv);
    g_free(md);
    g_free(json);
    g_unlink(pc);
    g_unlink(pm);
    g_unlink(pj);
    g_free(pc);
    g_free(pm);
    g_free(pj);
    for (int i = 0; i < 4; i++) {
        g_unlink(paths[i]);
        g_free(paths[i]);
    }
    g_unlink(retain);
    g_free(retain);
    g_rmdir(dir);
    g_free(dir);
}
