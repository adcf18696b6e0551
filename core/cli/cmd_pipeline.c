/* core/cli/cmd_pipeline.c: `baldro-host pipeline` - the researcher's loop.
 *
 * Today it resolves and validates the experiment, creates the run directory, writes the
 * resolved config there, checks that the objectives it names are loaded, and prints the
 * plan. Fine-tuning and unlearning exist as their own commands (finetune, unlearn); the
 * pipeline runs nothing until evaluation exists, since a run it cannot finish would
 * leave a half-compared experiment, and says so. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/fsutil.h"

typedef struct pipeline_step {
    const char *name;
    const char *what;
    const char *arrives; /* NULL once built */
} pipeline_step;

static const pipeline_step k_steps[] = {
    {"finetune-target", "fine-tune the target model on TOFU full (baldro-host finetune)", NULL},
    {"finetune-retain", "fine-tune the retain model on data.retain_split (finetune --split)", NULL},
    {"eval-retain", "evaluate the retain model (forget-quality reference)", "issue #6 (evaluation)"},
    {"unlearn", "unlearn data.forget_split with objective.forget + objective.retain + baldro (baldro-host unlearn)", NULL},
    {"eval-unlearned", "evaluate the unlearned model", "issue #6"},
    {"report", "compare and write the HTML report", "issue #8 (pipeline and report)"},
};

static void check_objective(const baldro_registry *reg, const baldro_config *cfg,
                            const char *path) {
    const char *name = NULL;
    if (baldro_config_get_string(cfg, path, &name) != BALDRO_OK) return;
    const baldro_object *o = baldro_registry_find(reg, BALDRO_KIND_OBJECTIVE, name);
    if (o)
        printf("  %-17s %s (plugin %s %s)\n", path, name, o->plugin->name, o->plugin->version);
    else
        printf("  %-17s %s: NOT LOADED (see baldro-host plugins)\n", path, name);
}

int cmd_pipeline(baldro_cli *cli, int argc, char **argv) {
    baldro_cli_config_opts opts = {0};
    gboolean dry_run = FALSE;
    GOptionEntry entries[] = {
        {"dry-run", 'n', 0, G_OPTION_ARG_NONE, &dry_run,
         "Resolve the config, create the run directory, write the resolved config and print "
         "the plan without running any step",
         NULL},
        G_OPTION_ENTRY_NULL};
    GOptionContext *ctx = g_option_context_new("- fine-tune, unlearn, evaluate and report in one run");
    g_option_context_add_main_entries(ctx, entries, NULL);
    cli_add_config_options(ctx, &opts);
    int ok = cli_parse(ctx, &argc, &argv, "pipeline");
    g_option_context_free(ctx);
    int rc = BALDRO_EXIT_USAGE;
    baldro_config *cfg = NULL;
    char *run_dir = NULL, *resolved = NULL;
    if (!ok) goto out;
    if (argc > 1) {
        cli_error("pipeline: unexpected argument '%s'", argv[1]);
        goto out;
    }
    cfg = cli_resolve_config(cli, &opts);
    if (!cfg) goto out;

    const char *out_dir = NULL, *name = NULL;
    baldro_config_get_string(cfg, "run.output_dir", &out_dir);
    baldro_config_get_string(cfg, "run.name", &name);
    run_dir = g_build_filename(out_dir, name, NULL);
    resolved = g_build_filename(run_dir, "config.resolved.cfg", NULL);
    baldro_error err;
    baldro_error_clear(&err);
    if (baldro_mkdir_p(run_dir, &err) != BALDRO_OK ||
        baldro_config_write(cfg, resolved, &err) != BALDRO_OK) {
        cli_error("pipeline: %s", err.msg);
        rc = BALDRO_EXIT_FAILED;
        goto out;
    }
    printf("run directory     %s\n", run_dir);
    printf("resolved config   %s\n", resolved);
    check_objective(baldro_loader_registry(cli->loader), cfg, "objective.forget");
    check_objective(baldro_loader_registry(cli->loader), cfg, "objective.retain");
    const char *mode = NULL;
    baldro_config_get_string(cfg, "baldro.mode", &mode);
    printf("  %-17s %s\n", "baldro.mode", mode);
    printf("plan:\n");
    size_t first_missing = sizeof k_steps / sizeof k_steps[0];
    for (size_t i = 0; i < sizeof k_steps / sizeof k_steps[0]; i++) {
        printf("  %zu. %-16s %s\n", i + 1, k_steps[i].name, k_steps[i].what);
        if (k_steps[i].arrives) {
            printf("     %-16s not built yet: arrives with %s\n", "", k_steps[i].arrives);
            if (first_missing == sizeof k_steps / sizeof k_steps[0]) first_missing = i;
        }
    }
    if (dry_run) {
        printf("dry run: nothing executed\n");
        rc = BALDRO_EXIT_OK;
    } else if (first_missing < sizeof k_steps / sizeof k_steps[0]) {
        cli_error("pipeline: stops before step %zu '%s': not built yet (arrives with %s)",
                  first_missing + 1, k_steps[first_missing].name, k_steps[first_missing].arrives);
        rc = BALDRO_EXIT_USAGE;
    } else {
        rc = BALDRO_EXIT_OK;
    }
out:
    g_free(resolved);
    g_free(run_dir);
    baldro_config_free(cfg);
    cli_config_opts_clear(&opts);
    return rc;
}
