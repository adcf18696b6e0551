/* core/cli/cmd_stubs.c: commands whose machinery is not built yet. Each says which
 * issue brings it and exits 2, so scripts can tell "not available" from "failed". */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct stub {
    const char *name;
    const char *summary;
    const char *arrives;
} stub;

static const stub k_stubs[] = {
    {"eval", "evaluate a model on TOFU and write TOFU_EVAL.json / TOFU_SUMMARY.json", "issue #6 (evaluation)"},
};

int cmd_not_built(baldro_cli *cli, int argc, char **argv) {
    (void)cli;
    const stub *s = NULL;
    for (size_t i = 0; i < sizeof k_stubs / sizeof k_stubs[0]; i++)
        if (strcmp(argv[0], k_stubs[i].name) == 0) s = &k_stubs[i];
    if (!s) return BALDRO_EXIT_USAGE;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage:\n  baldro-host %s [--config FILE] [--set PATH=VALUE ...]\n\n"
                   "%s.\nNot built yet: arrives with %s.\n", s->name, s->summary, s->arrives);
            return BALDRO_EXIT_OK;
        }
    cli_error("%s: not built yet: arrives with %s", s->name, s->arrives);
    return BALDRO_EXIT_USAGE;
}
