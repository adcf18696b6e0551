/*
 * core/config/config_rules.c: the semantic checks types alone cannot express (ranges,
 * enumerations), as one table, plus the bounds plugins declared for their parameters.
 * Each message starts with the origin of the offending value, so a user sees which
 * file, line or --set to fix.
 */
#include "config/config.h"

#include <math.h>
#include <string.h>

#include "config/config_internal.h"

typedef enum rule_kind {
    RULE_RANGE, /* a number within [lo, hi], either end optionally open */
    RULE_ENUM,  /* a string from `choices` */
    RULE_NAME   /* a directory name: non-empty, no '/', not "." or ".." */
} rule_kind;

typedef struct rule {
    const char *path;
    rule_kind kind;
    double lo, hi;        /* RULE_RANGE; HUGE_VAL for "no upper bound" */
    int lo_open, hi_open; /* exclusive ends */
    const char *const *choices; /* RULE_ENUM, NULL-terminated */
} rule;

#define GE(p, v) { (p), RULE_RANGE, (v), HUGE_VAL, 0, 0, NULL }
#define GT(p, v) { (p), RULE_RANGE, (v), HUGE_VAL, 1, 0, NULL }
#define ONE_OF(p, list) { (p), RULE_ENUM, 0, 0, 0, 0, (list) }

static const char *const templates[] = { "auto", "llama2", "llama3", "qwen3", "mistral", "plain", NULL };
static const char *const runtimes[] = { "cpu", "cuda", "auto", NULL };
static const char *const dtypes[] = { "fp32", "bf16", NULL };
static const char *const modes[] = { "none", "dv", "group", NULL };
static const char *const directions[] = { "official", "worst_case", NULL };
static const char *const scopes[] = { "micro", "effective", NULL };

static const rule rules[] = {
    { "run.name", RULE_NAME, 0, 0, 0, 0, NULL },
    GE("run.seed", 0),
    GE("data.max_length", 1),
    GE("data.subset_authors", 0),
    ONE_OF("model.template", templates),
    ONE_OF("model.dtype", dtypes),
    ONE_OF("runtime.backend", runtimes),
    GE("runtime.device", 0),
    ONE_OF("runtime.precision", dtypes),
    GT("trainer.lr", 0),
    GE("trainer.epochs", 1),
    GE("trainer.per_device_batch", 1),
    GE("trainer.grad_accum", 1),
    GE("trainer.warmup_epochs", 0),
    GE("trainer.weight_decay", 0),
    GE("trainer.max_grad_norm", 0),
    GE("trainer.save_every", 0),
    GE("trainer.logits_mib", 0),
    ONE_OF("baldro.mode", modes),
    GT("baldro.tau", 0),
    ONE_OF("baldro.direction", directions),
    ONE_OF("baldro.scope", scopes),
    { "baldro.rho", RULE_RANGE, 0, 1, 1, 0, NULL },
    GE("eval.batch_size", 1),
    GE("eval.max_new_tokens", 1),
    GE("eval.max_items", 0),
    GE("eval.classifier_max_length", 2),
    GE("finetune.lr", 0),
    GE("finetune.epochs", 0),
    GE("finetune.seed", -1),
};

static int fail(const baldro_config *cfg, const char *path, baldro_error *err, const char *what,
                const char *detail) {
    return baldro_error_set(err, BALDRO_EINVAL, "%s: %s: %s%s", baldro_config_origin(cfg, path),
                            path, what, detail ? detail : "");
}

static int check_range(const baldro_config *cfg, const char *path, double lo, double hi,
                       int lo_open, int hi_open, baldro_error *err) {
    double v;
    if (baldro_config_get_float(cfg, path, &v) != BALDRO_OK)
        return fail(cfg, path, err, "expected a number, got ",
                    baldro_config_kind_name(baldro_config_kind(cfg, path)));
    /* Written so that NaN fails too. */
    int ok = (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok) return BALDRO_OK;
    char *want = isinf(hi) ? g_strdup_printf("must be %s %g", lo_open ? ">" : ">=", lo)
                           : g_strdup_printf("must be in %c%g, %g%c", lo_open ? '(' : '[', lo, hi,
                                             hi_open ? ')' : ']');
    int64_t iv;
    char *got = baldro_config_get_int(cfg, path, &iv) == BALDRO_OK
                    ? g_strdup_printf(", got %lld", (long long)iv) : g_strdup_printf(", got %g", v);
    int rc = fail(cfg, path, err, want, got);
    g_free(got);
    g_free(want);
    return rc;
}

static int check_rule(const baldro_config *cfg, const rule *r, baldro_error *err) {
    /* A test's own defaults may leave settings out; the real ones have them all. */
    if (baldro_config_kind(cfg, r->path) == BALDRO_CFG_NONE) return BALDRO_OK;
    if (r->kind == RULE_RANGE)
        return check_range(cfg, r->path, r->lo, r->hi, r->lo_open, r->hi_open, err);

    const char *s;
    if (baldro_config_get_string(cfg, r->path, &s) != BALDRO_OK)
        return fail(cfg, r->path, err, "expected a string, got ",
                    baldro_config_kind_name(baldro_config_kind(cfg, r->path)));
    if (r->kind == RULE_NAME) {
        /* It names a directory under run.output_dir. */
        if (!*s) return fail(cfg, r->path, err, "must not be empty", NULL);
        if (strchr(s, '/')) return fail(cfg, r->path, err, "must not contain '/'", NULL);
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
            return fail(cfg, r->path, err, "must not be '.' or '..'", NULL);
        return BALDRO_OK;
    }
    for (const char *const *c = r->choices; *c; c++)
        if (strcmp(s, *c) == 0) return BALDRO_OK;
    GString *msg = g_string_new(NULL);
    g_string_append_printf(msg, "'%s' is not one of ", s);
    for (const char *const *c = r->choices; *c; c++)
        g_string_append_printf(msg, "%s%s", c == r->choices ? "" : ", ", *c);
    int rc = fail(cfg, r->path, err, msg->str, NULL);
    g_string_free(msg, TRUE);
    return rc;
}

/* Settings that constrain each other. bf16 GEMMs exist on the CUDA backend only. */
static int check_combinations(const baldro_config *cfg, baldro_error *err) {
    const char *prec = NULL, *backend = NULL;
    if (baldro_config_get_string(cfg, "runtime.precision", &prec) == BALDRO_OK &&
        baldro_config_get_string(cfg, "runtime.backend", &backend) == BALDRO_OK &&
        !strcmp(prec, "bf16") && !strcmp(backend, "cpu"))
        return fail(cfg, "runtime.precision", err,
                    "\"bf16\" needs runtime.backend = \"cuda\" or \"auto\" (the cpu backend "
                    "computes in fp32)",
                    NULL);
    return BALDRO_OK;
}

int baldro_config_validate(const baldro_config *cfg, baldro_error *err) {
    if (!cfg) return baldro_error_set(err, BALDRO_EINVAL, "validate: no config");
    for (size_t i = 0; i < G_N_ELEMENTS(rules); i++) {
        int rc = check_rule(cfg, &rules[i], err);
        if (rc != BALDRO_OK) return rc;
    }
    int crc = check_combinations(cfg, err);
    if (crc != BALDRO_OK) return crc;
    for (guint i = 0; i < cfg->bounds->len; i++) {
        const baldro_config_bound *b = g_ptr_array_index(cfg->bounds, i);
        int rc = check_range(cfg, b->path, b->lo, b->hi, 0, 0, err);
        if (rc != BALDRO_OK) return rc;
    }
    return BALDRO_OK;
}
