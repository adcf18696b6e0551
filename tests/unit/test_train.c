/*
 * The trainer (core/train/trainer.c) on a tiny random Llama and synthetic tokenised data:
 * NPO + BalDRO steps lower the forget log-prob while the retain NLL stays bounded; a run
 * resumed from a checkpoint logs exactly the losses of the uninterrupted run; dv over a
 * single sample per micro-batch equals no reweighting; group mode keeps the lowest-NLL
 * samples; a NaN loss stops the run naming the step and the items, with the last
 * checkpoint intact; the reference cache refuses another model's key.
 */
#include <baldro/objective.h>
#include <glib/gstdio.h>

#include "data/batch.h"
#include "engine/model_hf.h"
#include "engine_util.h"
#include "train/ref_cache.h"
#include "train/trainer.h"

static engine_env env;
static void setup(void) { engine_env_open(&env, 1); }
static void teardown(void) { engine_env_close(&env); }

static const char *k_cfg =
    "{\"model_type\": \"llama\", \"hidden_size\": 32, \"intermediate_size\": 48,"
    " \"num_hidden_layers\": 2, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
    " \"vocab_size\": 40, \"max_position_embeddings\": 64, \"rms_norm_eps\": 1e-6,"
    " \"rope_theta\": 10000.0, \"tie_word_embeddings\": false}";

/* n items: a prompt of 3..5 tokens, an answer of 3..7; tokens from `lo` up, so forget
 * and retain sets can use different vocabularies. */
static baldro_tok_dataset *synth(size_t n, uint32_t seed, int32_t lo) {
    GRand *r = g_rand_new_with_seed(seed);
    baldro_tok_dataset *ds = g_new0(baldro_tok_dataset, 1);
    ds->n = n;
    ds->off = g_new(size_t, n + 1);
    ds->ids = g_new(int32_t, n * 12);
    ds->mask = g_new0(uint8_t, n * 12);
    ds->off[0] = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t p = g_rand_int_range(r, 3, 6), a = g_rand_int_range(r, 3, 8);
        size_t o = ds->off[i];
        for (int32_t k = 0; k < p + a; k++) {
            ds->ids[o + k] = g_rand_int_range(r, lo, lo + 18);
            ds->mask[o + k] = k >= p;
        }
        ds->off[i + 1] = o + (size_t)(p + a);
        if ((size_t)(p + a) > ds->longest) ds->longest = (size_t)(p + a);
    }
    ds->max_length = 12;
    ds->pad_id = 0;
    g_rand_free(r);
    return ds;
}

static const baldro_object *objective(const char *name) {
    const baldro_object *o =
        baldro_registry_find(baldro_loader_registry(env.ld), BALDRO_KIND_OBJECTIVE, name);
    cr_assert_not_null(o, "objective %s is not built", name);
    return o;
}

/* An objective's state from its declared defaults (as the CLI makes it from the config). */
static void *obj_state(const baldro_object *o) {
    const baldro_param_spec *spec = baldro_object_params(o);
    baldro_param_value vals[16] = {0};
    for (size_t i = 0; spec && spec[i].name; i++) {
        cr_assert_lt(i, 16);
        vals[i].type = spec[i].type;
        vals[i].f = spec[i].default_float;
        vals[i].i = spec[i].default_int;
        vals[i].s = spec[i].default_string;
    }
    void *st = NULL;
    char e[256] = "";
    if (o->vt.objective.create)
        cr_assert_eq(o->vt.objective.create(&st, vals, e, sizeof e), 0, "%s: %s", o->name, e);
    return st;
}

static void obj_destroy(const baldro_object *o, void *st) {
    if (st && o->vt.objective.destroy) o->vt.objective.destroy(st);
}

/* Items [a, b) of ds as a dataset of their own. */
static baldro_tok_dataset *slice(const baldro_tok_dataset *ds, size_t a, size_t b) {
    baldro_tok_dataset *r = g_new0(baldro_tok_dataset, 1);
    *r = *ds;
    r->n = b - a;
    size_t o = ds->off[a], len = ds->off[b] - o;
    r->off = g_new(size_t, r->n + 1);
    for (size_t i = 0; i <= r->n; i++) r->off[i] = ds->off[a + i] - o;
    r->ids = g_memdup2(ds->ids + o, len * sizeof *r->ids);
    r->mask = g_memdup2(ds->mask + o, len);
    return r;
}

typedef struct run_setup {
    baldro_tok_dataset *all, *forget, *retain;
    baldro_ref_logp *ref;
    baldro_train_config c;
    char *dir;
} run_setup;

static void setup_run(run_setup *s, const char *forget_obj, baldro_dro_mode mode) {
    memset(s, 0, sizeof *s);
    s->all = synth(22, 7, 2);
    s->forget = slice(s->all, 0, 10);
    s->retain = slice(s->all, 10, 22);
    s->dir = g_dir_make_tmp("baldro-train-XXXXXX", NULL);
    cr_assert_not_null(s->dir);
    s->c = (baldro_train_config){
        .what = "unlearn", .main = s->forget, .main_name = "synthetic", .retain = s->retain,
        .forget_obj = objective(forget_obj), .retain_obj = objective("nll"), .gamma = 1.0,
        .alpha = 1.0, .dro = {mode, 1.0, BALDRO_DRO_OFFICIAL, BALDRO_DRO_MICRO, 0.5},
        .forget_state = obj_state(objective(forget_obj)),
        .lr = 1e-2f, .epochs = 2, .batch = 3, .accum = 2, .warmup_epochs = 0.5,
        .adamw = {0.9f, 0.999f, 1e-8f, 0.01f, 1.0f}, .seed = 5, .run_dir = s->dir};
}

static void free_run(run_setup *s) {
    obj_destroy(s->c.forget_obj, s->c.forget_state);
    baldro_tok_dataset_free(s->all);
    baldro_tok_dataset_free(s->forget);
    baldro_tok_dataset_free(s->retain);
    baldro_ref_logp_free(s->ref);
    char *argv[] = {"rm", "-rf", s->dir, NULL};
    g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
    g_free(s->dir);
}

static baldro_model *open_model(const baldro_train_config *c, const char *from_dir) {
    int32_t rows, seq;
    baldro_train_limits(c, &rows, &seq);
    baldro_model_limits lim = {.max_batch = rows, .max_seq = seq, .train = 1};
    baldro_model *m = NULL;
    baldro_error err = {0};
    if (from_dir)
        cr_assert_eq(baldro_model_open_hf_dir(baldro_loader_registry(env.ld), env.ops, env.be,
                                              from_dir, lim, &m, &err), BALDRO_OK, "%s", err.msg);
    else
        cr_assert_eq(engine_open_model(&env, k_cfg, lim, 3, 0.1f, &m, &err), BALDRO_OK, "%s",
                     err.msg);
    return m;
}

static void with_reference(run_setup *s, baldro_model *m) {
    baldro_batch b = {0};
    baldro_error err = {0};
    const int32_t B = s->c.batch;
    cr_assert_eq(baldro_batch_init(&b, B, (int32_t)s->forget->longest - 1, &err), BALDRO_OK);
    uint64_t h;
    cr_assert_eq(baldro_model_hash(m, &h, &err), BALDRO_OK);
    cr_assert_eq(baldro_ref_logp_compute(m, h, s->forget, &b, B, &s->ref, &err), BALDRO_OK, "%s",
                 err.msg);
    baldro_batch_release(&b);
    s->c.ref_main = s->ref;
    s->c.ref_model_hash = h;
}

static char *read_file(const char *dir, const char *name) {
    char *p = g_build_filename(dir, name, NULL), *text = NULL;
    cr_assert(g_file_get_contents(p, &text, NULL, NULL), "%s", p);
    g_free(p);
    return text;
}

/* The "loss" values of metrics.jsonl, in order. */
static GArray *losses(const char *dir) {
    char *text = read_file(dir, "metrics.jsonl");
    GArray *a = g_array_new(FALSE, FALSE, sizeof(double));
    for (char *p = strstr(text, "\"loss\":"); p; p = strstr(p + 1, "\"loss\":")) {
        double v = g_ascii_strtod(p + 7, NULL);
        g_array_append_val(a, v);
    }
    g_free(text);
    return a;
}

/* Mean target log-prob of a dataset under m. */
static double mean_logp(baldro_model *m, const baldro_tok_dataset *ds) {
    baldro_batch b = {0};
    baldro_error err = {0};
    baldro_ref_logp *r = NULL;
    cr_assert_eq(baldro_batch_init(&b, 1, (int32_t)ds->longest - 1, &err), BALDRO_OK);
    cr_assert_eq(baldro_ref_logp_compute(m, 0, ds, &b, 1, &r, &err), BALDRO_OK, "%s", err.msg);
    double s = 0;
    for (size_t k = 0; k < r->off[r->n]; k++) s += r->v[k];
    s /= (double)r->off[r->n];
    baldro_ref_logp_free(r);
    baldro_batch_release(&b);
    return s;
}

TestSuite(train, .init = setup, .fini = teardown, .timeout = 120);

/* First teach the model both sets, then unlearn the forget set with NPO + DV. */
Test(train, npo_dv_forgets_and_keeps_retain) {
    run_setup s;
    setup_run(&s, "npo", BALDRO_DRO_DV);
    baldro_model *m = open_model(&s.c, NULL);
    baldro_error err = {0};
    baldro_train_result res;
    /* fine-tune: NLL on forget + retain */
    {
        baldro_train_config ft = s.c;
        ft.what = "finetune";
        ft.main = s.all;
        ft.retain = NULL;
        ft.retain_obj = NULL;
        ft.forget_obj = objective("nll");
        ft.forget_state = NULL;
        ft.dro.mode = BALDRO_DRO_NONE;
        ft.epochs = 15;
        ft.lr = 2e-2f;
        ft.overwrite = 1;
        cr_assert_eq(baldro_train(m, &ft, NULL, &res, &err), BALDRO_OK, "%s", err.msg);
        g_free(res.final_dir);
    }
    double f0 = mean_logp(m, s.forget), r0 = mean_logp(m, s.retain);
    cr_assert_gt(f0, -1.5, "fine-tuning learned the forget set (mean logp %g)", f0);
    with_reference(&s, m);
    s.c.overwrite = 1;
    s.c.epochs = 4;
    s.c.lr = 5e-3f;
    cr_assert_eq(baldro_train(m, &s.c, NULL, &res, &err), BALDRO_OK, "%s", err.msg);
    g_free(res.final_dir);
    double f1 = mean_logp(m, s.forget), r1 = mean_logp(m, s.retain);
    cr_log_info("forget mean logp %.4f -> %.4f, retain %.4f -> %.4f", f0, f1, r0, r1);
    cr_assert_lt(f1, f0 - 1.0, "the forget log-prob fell by more than 1 nat (%g -> %g)", f0, f1);
    cr_assert_gt(r1, r0 - 1.0, "the retain log-prob stayed within 1 nat (%g -> %g)", r0, r1);
    /* the per-sample log has one line per forget sample per update */
    char *dro = read_file(s.dir, "dro.jsonl");
    size_t lines = 0;
    for (char *p = dro; (p = strchr(p, '\n')); p++) lines++;
    cr_assert_eq(lines, 10 * 4, "%zu lines", lines);
    g_free(dro);
    baldro_model_close(m);
    free_run(&s);
}

/* Checkpoint at step 2, resume there: steps 3.. log the same losses, bit for bit, in
 * both scopes. */
static void check_resume(baldro_dro_scope scope) {
    run_setup s;
    setup_run(&s, "npo", BALDRO_DRO_DV);
    s.c.dro.scope = scope;
    s.c.save_every = 2;
    baldro_model *m = open_model(&s.c, NULL);
    with_reference(&s, m);
    baldro_error err = {0};
    baldro_train_result res;
    cr_assert_eq(baldro_train(m, &s.c, NULL, &res, &err), BALDRO_OK, "%s", err.msg);
    cr_assert_eq(res.steps, 4, "2 epochs x ceil(ceil(10/3)/2) = 4 updates");
    g_free(res.final_dir);
    baldro_model_close(m);
    GArray *full = losses(s.dir);
    cr_assert_eq(full->len, 4);
    char *ck = g_build_filename(s.dir, "checkpoint-2", NULL);
    m = open_model(&s.c, ck);
    cr_assert_eq(baldro_train(m, &s.c, ck, &res, &err), BALDRO_OK, "%s", err.msg);
    g_free(res.final_dir);
    GArray *resumed = losses(s.dir);
    cr_assert_eq(resumed->len, 4, "steps 1-2 kept, 3-4 appended");
    for (guint i = 0; i < 4; i++)
        cr_assert_eq(g_array_index(full, double, i), g_array_index(resumed, double, i),
                     "step %u: %.17g vs %.17g", i + 1, g_array_index(full, double, i),
                     g_array_index(resumed, double, i));
    /* A fresh start in a directory with a run is refused. */
    cr_assert_eq(baldro_train(m, &s.c, NULL, &res, &err), BALDRO_EEXIST);
    cr_assert(strstr(err.msg, "holds a previous run"), "%s", err.msg);
    g_array_free(full, TRUE);
    g_array_free(resumed, TRUE);
    g_free(ck);
    baldro_model_close(m);
    free_run(&s);
}

Test(train, resume_reproduces_losses_micro) { check_resume(BALDRO_DRO_MICRO); }
Test(train, resume_reproduces_losses_effective) { check_resume(BALDRO_DRO_EFFECTIVE); }

/* With one sample per micro-batch the DV weights are all 1: dv trains exactly as none. */
Test(train, dv_on_single_samples_equals_none) {
    double last[2];
    for (int k = 0; k < 2; k++) {
        run_setup s;
        setup_run(&s, "npo", k ? BALDRO_DRO_DV : BALDRO_DRO_NONE);
        s.c.batch = 1;
        s.c.accum = 3;
        baldro_model *m = open_model(&s.c, NULL);
        with_reference(&s, m);
        baldro_error err = {0};
        baldro_train_result res;
        cr_assert_eq(baldro_train(m, &s.c, NULL, &res, &err), BALDRO_OK, "%s", err.msg);
        g_free(res.final_dir);
        last[k] = mean_logp(m, s.forget);
        baldro_model_close(m);
        free_run(&s);
    }
    cr_assert_eq(last[0], last[1], "%.17g vs %.17g", last[0], last[1]);
}

/* Group mode: in every micro-batch the kept samples are those with the lowest NLL. */
Test(train, group_keeps_lowest_nll) {
    run_setup s;
    setup_run(&s, "grad_ascent", BALDRO_DRO_GROUP);
    s.c.batch = 4;
    s.c.accum = 1;
    baldro_model *m = open_model(&s.c, NULL);
    baldro_error err = {0};
    baldro_train_result res;
    cr_assert_eq(baldro_train(m, &s.c, NULL, &res, &err), BALDRO_OK, "%s", err.msg);
    g_free(res.final_dir);
    char *text = read_file(s.dir, "dro.jsonl");
    char **lines = g_strsplit(text, "\n", -1);
    /* group lines by (step, micro): at most 4 samples each */
    int checked = 0;
    for (int i = 0; lines[i] && *lines[i];) {
        int j = i;
        double kept_max = -1e300, dropped_min = 1e300;
        int kept = 0, n = 0;
        long step = strtol(strstr(lines[i], "\"step\":") + 7, NULL, 10);
        while (lines[j] && *lines[j] && strtol(strstr(lines[j], "\"step\":") + 7, NULL, 10) == step) {
            double nll = g_ascii_strtod(strstr(lines[j], "\"nll_mean\":") + 11, NULL);
            int k = strstr(lines[j], "\"kept\":1") != NULL;
            if (k) kept++, kept_max = fmax(kept_max, nll);
            else dropped_min = fmin(dropped_min, nll);
            n++, j++;
        }
        cr_assert_eq(kept, n >= 2 ? n / 2 : 1, "step %ld: %d of %d kept", step, kept, n);
        cr_assert_leq(kept_max, dropped_min, "step %ld: a kept sample has a higher NLL", step);
        checked++;
        i = j;
    }
    cr_assert_gt(checked, 3);
    g_strfreev(lines);
    g_free(text);
    baldro_model_close(m);
    free_run(&s);
}

/* An objective that returns NaN from its third call on. */
static int nan_calls;
static int nan_loss(void *st, const baldro_objective_batch *in, baldro_objective_output *out,
                    char *e, size_t cap) {
    (void)st, (void)e, (void)cap;
    nan_calls++;
    for (int32_t b = 0; b < in->B; b++) {
        int any = 0;
        for (int32_t t = 0; t < in->T; t++)
            if (in->mask[b * in->T + t]) any = 1, out->dlogp[b * in->T + t] = 1.0f;
        out->loss[b] = any ? (nan_calls >= 3 && b == 1 ? NAN : 1.0f) : 0.0f;
    }
    return BALDRO_OK;
}

Test(train, nan_stops_naming_step_and_items) {
    run_setup s;
    setup_run(&s, "grad_ascent", BALDRO_DRO_NONE);
    baldro_object nan_obj = {.kind = BALDRO_KIND_OBJECTIVE, .name = "nan_after_two"};
    nan_obj.vt.objective = (baldro_objective_vtable){
        .struct_size = sizeof(baldro_objective_vtable), .name = "nan_after_two",
        .grain = BALDRO_GRAIN_SAMPLE, .flags = BALDRO_OBJ_FORGET, .loss = nan_loss};
    s.c.forget_obj = &nan_obj;
    s.c.accum = 1;
    s.c.save_every = 1;
    nan_calls = 0;
    baldro_model *m = open_model(&s.c, NULL);
    baldro_error err = {0};
    baldro_train_result res;
    cr_assert_eq(baldro_train(m, &s.c, NULL, &res, &err), BALDRO_ENUMERIC);
    cr_assert(strstr(err.msg, "step 3 (epoch 1): the nan_after_two loss is not finite for "
                              "synthetic items"), "%s", err.msg);
    cr_assert(strstr(err.msg, "the last checkpoint is intact"), "%s", err.msg);
    char *ck = g_build_filename(s.dir, "checkpoint-2", "trainer_state.json", NULL);
    cr_assert(g_file_test(ck, G_FILE_TEST_EXISTS), "checkpoint-2 is complete");
    char *ck3 = g_build_filename(s.dir, "checkpoint-3", NULL);
    cr_assert(!g_file_test(ck3, G_FILE_TEST_EXISTS), "nothing saved for the failed step");
    g_free(ck);
    g_free(ck3);
    g_free(res.final_dir);
    baldro_model_close(m);
    free_run(&s);
}

/* The reference cache: saved, reloaded for the same key, refused for another. */
Test(train, ref_cache_key) {
    run_setup s;
    setup_run(&s, "npo", BALDRO_DRO_NONE);
    baldro_model *m = open_model(&s.c, NULL);
    with_reference(&s, m);
    char *p = g_build_filename(s.dir, "ref.bin", NULL);
    baldro_error err = {0};
    cr_assert_eq(baldro_ref_logp_save(s.ref, p, &err), BALDRO_OK, "%s", err.msg);
    baldro_ref_logp *back = NULL;
    cr_assert_eq(baldro_ref_logp_load(p, s.ref->model_hash, s.forget, &back, &err), BALDRO_OK,
                 "%s", err.msg);
    cr_assert(memcmp(back->v, s.ref->v, s.ref->off[s.ref->n] * sizeof(float)) == 0);
    baldro_ref_logp_free(back);
    cr_assert_eq(baldro_ref_logp_load(p, s.ref->model_hash ^ 1, s.forget, &back, &err),
                 BALDRO_EINVAL);
    cr_assert(strstr(err.msg, "ref.bin: built for model") && strstr(err.msg, "delete it"), "%s",
              err.msg);
    cr_assert_eq(baldro_ref_logp_load(p, s.ref->model_hash, s.retain, &back, &err), BALDRO_EINVAL,
                 "another data set");
    cr_assert(g_file_set_contents(p, "BLDRREF1 truncated", -1, NULL));
    cr_assert_eq(baldro_ref_logp_load(p, s.ref->model_hash, s.forget, &back, &err), BALDRO_EINVAL);
    g_free(p);
    baldro_model_close(m);
    free_run(&s);
}

/* The KL retain term (whole distributions, a frozen reference model): zero at the first
 * step, where the model is the reference, and it holds the retain set closer to the
 * reference than gradient ascent alone does. */
Test(train, kl_retain_holds_the_reference) {
    double drop[2];
    for (int k = 0; k < 2; k++) {
        run_setup s;
        setup_run(&s, "grad_ascent", BALDRO_DRO_NONE);
        s.c.epochs = 3;
        s.c.lr = 2e-2f;
        baldro_model *m = open_model(&s.c, NULL), *ref = NULL;
        double r0 = mean_logp(m, s.retain);
        if (k == 1) {
            s.c.retain_obj = objective("kl");
            s.c.retain_state = obj_state(s.c.retain_obj);
            s.c.alpha = 5.0;
            baldro_model_limits rl = {.max_batch = s.c.batch, .max_seq = 11};
            baldro_error e = {0};
            cr_assert_eq(engine_open_model(&env, k_cfg, rl, 3, 0.1f, &ref, &e), BALDRO_OK, "%s",
                         e.msg);
            s.c.ref_model = ref;
        } else {
            s.c.retain = NULL;
            s.c.retain_obj = NULL;
        }
        baldro_error err = {0};
        baldro_train_result res;
        cr_assert_eq(baldro_train(m, &s.c, NULL, &res, &err), BALDRO_OK, "%s", err.msg);
        g_free(res.final_dir);
        if (k == 1) {
            /* Step 1: KL of the model to itself. Not bit-exactly 0: the reference runs on
             * the retain rows alone, the model on the stacked batch, and the sgemm blocking
             * of the two shapes rounds differently (~1e-14). */
            char *text = read_file(s.dir, "metrics.jsonl");
            double kl1 = g_ascii_strtod(strstr(text, "\"retain\":") + 9, NULL);
            double kl_last = g_ascii_strtod(g_strrstr(text, "\"retain\":") + 9, NULL);
            cr_assert_lt(fabs(kl1), 1e-9, "step 1: KL to itself %g", kl1);
            cr_assert_gt(kl_last, 1e-6, "the last step has a KL above 0: %g", kl_last);
            g_free(text);
            obj_destroy(s.c.retain_obj, s.c.retain_state);
        }
        drop[k] = r0 - mean_logp(m, s.retain);
        baldro_model_close(m);
        baldro_model_close(ref);
        free_run(&s);
    }
    cr_log_info("retain mean log-prob drop: GA alone %.4f, GA + KL %.4f", drop[0], drop[1]);
    cr_assert_lt(drop[1], 0.5 * drop[0], "KL keeps the retain set (%g vs %g)", drop[1], drop[0]);
}

/* With one micro-batch per update the effective scope is the micro scope: the same
 * losses, bit for bit, for sample- and token-grained objectives, in dv and group mode. */
Test(train, effective_scope_of_one_micro_batch_is_micro) {
    const char *objs[] = {"npo", "wga"};
    const baldro_dro_mode modes[] = {BALDRO_DRO_DV, BALDRO_DRO_GROUP};
    for (int o = 0; o < 2; o++)
        for (int md = 0; md < 2; md++) {
            GArray *l[2];
            for (int sc = 0; sc < 2; sc++) {
                run_setup s;
                setup_run(&s, objs[o], modes[md]);
                s.c.accum = 1;
                s.c.batch = 4;
                s.c.dro.scope = sc ? BALDRO_DRO_EFFECTIVE : BALDRO_DRO_MICRO;
                baldro_model *m = open_model(&s.c, NULL);
                with_reference(&s, m);
                baldro_error err = {0};
                baldro_train_result res;
                cr_assert_eq(baldro_train(m, &s.c, NULL, &res, &err), BALDRO_OK, "%s", err.msg);
                g_free(res.final_dir);
                l[sc] = losses(s.dir);
                baldro_model_close(m);
                free_run(&s);
            }
            cr_assert_eq(l[0]->len, l[1]->len);
            for (guint i = 0; i < l[0]->len; i++)
                cr_assert_eq(g_array_index(l[0], double, i), g_array_index(l[1], double, i),
                             "%s %s step %u: %.17g vs %.17g", objs[o], baldro_dro_mode_name(modes[md]),
                             i + 1, g_array_index(l[0], double, i), g_array_index(l[1], double, i));
            g_array_free(l[0], TRUE);
            g_array_free(l[1], TRUE);
        }
}

/* With two micro-batches per update the scopes really differ: DV weights over the whole
 * update are not the two halves' weights. */
Test(train, effective_scope_differs_across_micro_batches) {
    GArray *l[2];
    for (int sc = 0; sc < 2; sc++) {
        run_setup s;
        setup_run(&s, "wga", BALDRO_DRO_DV);
        s.c.dro.tau = 0.05;
        s.c.dro.scope = sc ? BALDRO_DRO_EFFECTIVE : BALDRO_DRO_MICRO;
        baldro_model *m = open_model(&s.c, NULL);
        baldro_error err = {0};
        baldro_train_result res;
        cr_assert_eq(baldro_train(m, &s.c, NULL, &res, &err), BALDRO_OK, "%s", err.msg);
        g_free(res.final_dir);
        l[sc] = losses(s.dir);
        baldro_model_close(m);
        free_run(&s);
    }
    int differ = 0;
    for (guint i = 0; i < l[0]->len; i++)
        differ |= g_array_index(l[0], double, i) != g_array_index(l[1], double, i);
    cr_assert(differ, "micro and effective scopes gave the same losses");
    g_array_free(l[0], TRUE);
    g_array_free(l[1], TRUE);
}
