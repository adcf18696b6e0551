/* core/cli/cmd_check.c: `baldro-host check` runs the objective contract check
 * (core/check/objective_check.h) on every loaded objective, or on those named. */
#include <stdio.h>

#include "check/objective_check.h"
#include "cli/cli.h"

/* Check one objective with its parameters from the resolved config. 1 = passed. */
static int check_one(const baldro_config *cfg, const baldro_object *o, uint64_t seed) {
    baldro_error err;
    baldro_error_clear(&err);
    const baldro_param_spec *spec = baldro_object_params(o);
    size_t n = 0;
    while (spec && spec[n].name) n++;
    baldro_param_value *vals = g_new0(baldro_param_value, n ? n : 1);
    baldro_check_result res;
    int rc = baldro_config_param_values(cfg, "objectives", o->name, spec, vals, &err);
    if (rc == BALDRO_OK) rc = baldro_check_objective(o, vals, seed, &res, &err);
    g_free(vals);
    if (rc != BALDRO_OK) {
        printf("FAIL  %-20s %s\n", o->name, err.msg);
        return 0;
    }
    if (!res.passed) {
        printf("FAIL  %-20s %s\n", o->name, res.failure);
        return 0;
    }
    if (res.fd_checked)
        printf("ok    %-20s batch loss %-12.6g finite-difference error %.2e over %d positions\n",
               o->name, res.batch_loss, res.max_fd_error, res.n_valid);
    else
        printf("ok    %-20s batch loss %-12.6g (surrogate gradient: finite differences skipped)\n",
               o->name, res.batch_loss);
    return 1;
}

int cmd_check(baldro_cli *cli, int argc, char **argv) {
    baldro_cli_config_opts opts = {0};
    char **names = NULL;
    gint64 seed = 1234;
    GOptionEntry entries[] = {
        {"objective", 'O', 0, G_OPTION_ARG_STRING_ARRAY, &names,
         "Check only this objective (name or alias; repeatable)", "NAME"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed of the synthetic batch (default 1234)",
         "N"},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- check objective plugins against the ABI contract");
    g_option_context_add_main_entries(ctx, entries, NULL);
    cli_add_config_options(ctx, &opts);
    g_option_context_set_description(ctx,
        "Runs each objective on a synthetic micro-batch (4 rows of 1 to 7 answer tokens,\n"
        "NaN in the padding) with its parameters from the configuration, and checks:\n"
        "finite outputs, padding never read, determinism, per-row/per-token locality and,\n"
        "unless the objective declares a surrogate gradient, dlogp against central finite\n"
        "differences. An objective over whole distributions (NEEDS_LOGITS) gets 6 positions\n"
        "of 11 logits (2 masked out, NaN) through loss_rows, under the same rules.\n"
        "Exit status 1 if any objective fails.");
    int ok = cli_parse(ctx, &argc, &argv, "check");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    baldro_config *cfg = NULL;
    if (!ok) goto out;
    if (argc > 1) {
        cli_error("check: unexpected argument '%s'", argv[1]);
        goto out;
    }
    cfg = cli_resolve_config(cli, &opts);
    if (!cfg) goto out;
    const baldro_registry *reg = baldro_loader_registry(cli->loader);
    int n = 0, passed = 0;
    if (names) {
        for (char **nm = names; *nm; nm++) {
            const baldro_object *o = baldro_registry_find(reg, BALDRO_KIND_OBJECTIVE, *nm);
            if (!o) {
                cli_error("check: no loaded objective named '%s' (see baldro-host plugins)", *nm);
                goto out;
            }
            n++;
            passed += check_one(cfg, o, (uint64_t)seed);
        }
    } else {
        for (size_t i = 0; i < baldro_registry_count(reg); i++) {
            const baldro_object *o = baldro_registry_at(reg, i);
            if (o->kind != BALDRO_KIND_OBJECTIVE) continue;
            n++;
            passed += check_one(cfg, o, (uint64_t)seed);
        }
    }
    printf("check: %d of %d objectives passed\n", passed, n);
    rc = passed == n ? BALDRO_EXIT_OK : BALDRO_EXIT_FAILED;
out:
    baldro_config_free(cfg);
    g_strfreev(names);
    cli_config_opts_clear(&opts);
    return rc;
}
