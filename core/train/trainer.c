/* core/train/trainer.c: see trainer.h. */
#include "train/trainer.h"

#include <baldro/objective.h>
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "engine/model_hf.h"
#include "io/json_strict.h"
#include "util/fsutil.h"

/* Everything one run needs, sized once at the start: nothing is allocated per step. */
typedef struct trainer {
    const baldro_train_config *c;
    baldro_model *m;
    baldro_optimizer *opt;
    int has_alt, has_ret;
    int32_t B, G, max_T, max_R;
    size_t n, n_micro, upe; /* items, micro-batches and updates per epoch */
    int64_t total, warmup;
    baldro_batch bm, ba, br;
    size_t *perm;           /* [n] this epoch's order                          */
    int64_t perm_epoch;
    size_t *pair;           /* [B] retain items of the current micro-batch     */
    /* one micro-batch, [max_R][max_T] or [B][max_T] */
    int32_t *tokens, *targets;
    float *logp, *dlogp;
    uint8_t *mask_f, *mask_a, *mask_r;
    float *ref_f, *ref_a;
    float *loss_f, *dlogp_f, *dalt_f, *loss_r, *dlogp_r;
    double *unit_w, *sample_L, *sample_w, *scratch, *nll_mean, *ret_sL, *ret_sw;
    uint8_t *keep;
    /* the effective scope: G micro-batches of the update, [G*B][max_T] */
    float *eff_loss;
    uint8_t *eff_mask, *eff_keep;
    double *eff_nll, *eff_unit_w, *eff_sL, *eff_sw, *eff_scratch;
    /* KL-type retain objectives: [B*max_T][V] host logits of the current and reference
     * models, d logits, and the backend d logits of the whole stacked batch */
    int has_kl;
    int32_t V;
    float *kl_cur, *kl_ref, *kl_dlog, *kl_loss, *kl_logp;
    uint8_t *kl_mask;
    baldro_tensor kl_dl;    /* [max_R*max_T, V] backend                         */
    /* the current micro-batch */
    int32_t Bm, T;
    uint32_t grain;
    FILE *metrics, *dro_log;
    GString *line;
    double t0;
    int64_t tokens_done;
} trainer;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double baldro_param_lookup(const baldro_object *o, const baldro_param_value *vals,
                           const char *name, double dflt) {
    const baldro_param_spec *s = baldro_object_params(o);
    for (size_t i = 0; s && s[i].name; i++)
        if (!strcmp(s[i].name, name))
            return s[i].type == BALDRO_PARAM_FLOAT ? vals[i].f : (double)vals[i].i;
    return dflt;
}

static int32_t longest_row(const baldro_tok_dataset *ds) {
    return ds ? (int32_t)ds->longest - 1 : 0;
}

int64_t baldro_train_total_steps(const baldro_train_config *c, size_t *updates_per_epoch) {
    size_t micro = (c->main->n + (size_t)c->batch - 1) / (size_t)c->batch;
    size_t upe = (micro + (size_t)c->accum - 1) / (size_t)c->accum;
    if (updates_per_epoch) *updates_per_epoch = upe;
    return (int64_t)upe * c->epochs;
}

void baldro_train_limits(const baldro_train_config *c, int32_t *max_rows, int32_t *max_seq) {
    int32_t t = longest_row(c->main);
    if (longest_row(c->alt) > t) t = longest_row(c->alt);
    if (longest_row(c->retain) > t) t = longest_row(c->retain);
    *max_seq = t < 1 ? 1 : t;
    *max_rows = c->batch * (1 + (c->alt != NULL) + (c->retain != NULL));
}

static void trainer_free(trainer *t) {
    baldro_batch_release(&t->bm);
    baldro_batch_release(&t->ba);
    baldro_batch_release(&t->br);
    void *bufs[] = {t->perm, t->pair, t->tokens, t->targets, t->logp, t->dlogp, t->mask_f,
                    t->mask_a, t->mask_r, t->ref_f, t->ref_a, t->loss_f, t->dlogp_f, t->dalt_f,
                    t->loss_r, t->dlogp_r, t->unit_w, t->sample_L, t->sample_w, t->scratch,
                    t->nll_mean, t->ret_sL, t->ret_sw, t->keep, t->eff_loss, t->eff_mask, t->eff_keep, t->eff_nll,
                    t->eff_unit_w, t->eff_sL, t->eff_sw, t->eff_scratch};
    for (size_t i = 0; i < G_N_ELEMENTS(bufs); i++) g_free(bufs[i]);
    if (t->metrics) fclose(t->metrics);
    if (t->dro_log) fclose(t->dro_log);
    if (t->line) g_string_free(t->line, TRUE);
    g_free(t->kl_cur);
    g_free(t->kl_ref);
    g_free(t->kl_dlog);
    g_free(t->kl_loss);
    g_free(t->kl_logp);
    g_free(t->kl_mask);
    if (t->kl_dl.data) baldro_model_ops(t->m)->free(baldro_model_backend(t->m), t->kl_dl.data);
    baldro_optim_free(t->opt);
}

static int trainer_init(trainer *t, baldro_model *m, const baldro_train_config *c,
                        baldro_error *err) {
    memset(t, 0, sizeof *t);
    t->c = c;
    t->m = m;
    t->has_alt = c->alt != NULL;
    t->has_ret = c->retain != NULL && c->retain_obj != NULL;
    t->B = c->batch;
    t->G = c->accum;
    t->n = c->main->n;
    t->n_micro = (t->n + (size_t)t->B - 1) / (size_t)t->B;
    t->total = baldro_train_total_steps(c, &t->upe);
    t->warmup = (int64_t)floor(c->warmup_epochs * (double)t->upe + 1e-9);
    t->grain = c->forget_obj->vt.objective.grain;
    t->perm_epoch = -1;
    baldro_train_limits(c, &t->max_R, &t->max_T);
    const int32_t B = t->B, T = t->max_T;
    const size_t bt = (size_t)B * (size_t)T, rt = (size_t)t->max_R * (size_t)T;
    const size_t gbt = (size_t)t->G * bt;
    int rc = baldro_batch_init(&t->bm, B, longest_row(c->main), err);
    if (!rc && t->has_alt) rc = baldro_batch_init(&t->ba, B, longest_row(c->alt), err);
    if (!rc && t->has_ret) rc = baldro_batch_init(&t->br, B, longest_row(c->retain), err);
    if (rc) return rc;
    t->perm = g_new(size_t, t->n);
    t->pair = g_new(size_t, (size_t)B);
    t->tokens = g_new(int32_t, rt);
    t->targets = g_new(int32_t, rt);
    t->logp = g_new(float, rt);
    t->dlogp = g_new(float, rt);
    t->mask_f = g_new(uint8_t, bt);
    t->mask_a = g_new(uint8_t, bt);
    t->mask_r = g_new(uint8_t, bt);
    t->ref_f = g_new(float, bt);
    t->ref_a = g_new(float, bt);
    t->loss_f = g_new(float, bt);
    t->dlogp_f = g_new(float, bt);
    t->dalt_f = g_new(float, bt);
    t->loss_r = g_new(float, bt);
    t->dlogp_r = g_new(float, bt);
    t->unit_w = g_new(double, bt);
    t->sample_L = g_new(double, (size_t)B);
    t->sample_w = g_new(double, (size_t)B);
    t->scratch = g_new(double, 3 * bt);
    t->nll_mean = g_new(double, (size_t)B);
    t->ret_sL = g_new(double, (size_t)B);
    t->ret_sw = g_new(double, (size_t)B);
    t->keep = g_new(uint8_t, (size_t)B);
    if (c->dro.mode != BALDRO_DRO_NONE && c->dro.scope == BALDRO_DRO_EFFECTIVE) {
        t->eff_loss = g_new0(float, gbt);
        t->eff_mask = g_new0(uint8_t, gbt);
        t->eff_keep = g_new0(uint8_t, (size_t)t->G * (size_t)B);
        t->eff_nll = g_new(double, (size_t)t->G * (size_t)B);
        t->eff_unit_w = g_new(double, gbt);
        t->eff_sL = g_new(double, (size_t)t->G * (size_t)B);
        t->eff_sw = g_new(double, (size_t)t->G * (size_t)B);
        t->eff_scratch = g_new(double, 3 * gbt);
    }
    t->line = g_string_sized_new(256);
    t->has_kl = t->has_ret && (c->retain_obj->vt.objective.flags & BALDRO_OBJ_NEEDS_LOGITS);
    if (t->has_kl) {
        if (!c->ref_model || !c->retain_obj->vt.objective.loss_rows)
            return baldro_error_set(err, BALDRO_EINVAL, "%s: retain objective %s needs the "
                                    "reference model's logits, and none was given", c->what,
                                    c->retain_obj->name);
        t->V = baldro_model_get_info(m)->vocab_size;
        const size_t btv = bt * (size_t)t->V;
        t->kl_cur = g_try_new(float, btv);
        t->kl_ref = g_try_new(float, btv);
        t->kl_dlog = g_try_new(float, btv);
        t->kl_loss = g_new(float, bt);
        t->kl_logp = g_new(float, bt);
        t->kl_mask = g_new(uint8_t, bt);
        const baldro_ops *o = baldro_model_ops(m);
        size_t dl_bytes = rt * (size_t)t->V * sizeof(float);
        if (!t->kl_cur || !t->kl_ref || !t->kl_dlog ||
            o->alloc(baldro_model_backend(m), dl_bytes, &t->kl_dl.data))
            return baldro_error_set(err, BALDRO_ENOMEM, "%s: %s needs %.1f MiB of logits buffers",
                                    c->what, c->retain_obj->name,
                                    (3.0 * (double)btv * 4 + (double)dl_bytes) / 1048576.0);
        t->kl_dl.dtype = BALDRO_DT_F32;
    }
    return baldro_optim_new(m, &c->adamw, &t->opt, err);
}

/* The rows of one block into the stacked batch at row offset r0. */
static void stack_rows(trainer *t, const baldro_batch *b, int32_t r0) {
    for (int32_t r = 0; r < b->B; r++) {
        int32_t *tok = t->tokens + (size_t)(r0 + r) * t->T;
        int32_t *tgt = t->targets + (size_t)(r0 + r) * t->T;
        for (int32_t k = 0; k < t->T; k++) {
            int in = k < b->T;
            tok[k] = in ? b->tokens[(size_t)r * b->T + k] : b->pad_id;
            tgt[k] = in ? b->targets[(size_t)r * b->T + k] : -1;
        }
    }
}

/* Mask of the targets of block rows [r0, r0 + Bm) and, with `ref`, its cached
 * log-probs lined up with the valid positions of each row. */
static void block_inputs(trainer *t, int32_t r0, uint8_t *mask, const baldro_ref_logp *ref,
                         const size_t *items, float *ref_out) {
    for (int32_t b = 0; b < t->Bm; b++) {
        const int32_t *tgt = t->targets + (size_t)(r0 + b) * t->T;
        const float *src = ref ? ref->v + ref->off[items[b]] : NULL;
        for (int32_t k = 0; k < t->T; k++) {
            size_t u = (size_t)b * t->T + k;
            mask[u] = tgt[k] >= 0;
            if (ref_out) ref_out[u] = mask[u] ? *src++ : 0.0f;
        }
    }
}

/* Fill, stack and run the forward pass of micro-batch `mi` of epoch `epoch`, then the
 * forget objective. */
static int micro_forward(trainer *t, int64_t epoch, size_t mi, baldro_error *err) {
    const baldro_train_config *c = t->c;
    size_t pos0 = mi * (size_t)t->B;
    t->Bm = (int32_t)MIN((size_t)t->B, t->n - pos0);
    const size_t *idx = t->perm + pos0;
    int rc = baldro_batch_fill(&t->bm, c->main, idx, t->Bm, err);
    if (!rc && t->has_alt) rc = baldro_batch_fill(&t->ba, c->alt, idx, t->Bm, err);
    if (!rc && t->has_ret) {
        baldro_data_pair_batch(c->retain->n, c->seed, (uint64_t)epoch, pos0, (size_t)t->Bm,
                               t->pair);
        rc = baldro_batch_fill(&t->br, c->retain, t->pair, t->Bm, err);
    }
    if (rc) return rc;
    t->T = t->bm.T;
    if (t->has_alt && t->ba.T > t->T) t->T = t->ba.T;
    if (t->has_ret && t->br.T > t->T) t->T = t->br.T;
    int32_t r = 0;
    stack_rows(t, &t->bm, r);
    r += t->Bm;
    if (t->has_alt) {
        stack_rows(t, &t->ba, r);
        r += t->Bm;
    }
    if (t->has_ret) {
        stack_rows(t, &t->br, r);
        r += t->Bm;
    }
    rc = baldro_model_forward(t->m, t->tokens, t->targets, r, t->T, t->logp, err);
    if (rc) return rc;
    block_inputs(t, 0, t->mask_f, c->ref_main, idx, c->ref_main ? t->ref_f : NULL);
    if (t->has_alt) block_inputs(t, t->Bm, t->mask_a, c->ref_alt, idx, c->ref_alt ? t->ref_a : NULL);
    const size_t bt = (size_t)t->Bm * t->T;
    memset(t->loss_f, 0, bt * sizeof *t->loss_f);
    memset(t->dlogp_f, 0, bt * sizeof *t->dlogp_f);
    memset(t->dalt_f, 0, bt * sizeof *t->dalt_f);
    const baldro_objective_vtable *vt = &c->forget_obj->vt.objective;
    baldro_objective_batch in = {
        .struct_size = sizeof in, .B = t->Bm, .T = t->T, .logp = t->logp,
        .ref_logp = (vt->flags & BALDRO_OBJ_NEEDS_REF_LOGP) ? t->ref_f : NULL,
        .mask = t->mask_f};
    if (t->has_alt) {
        in.T_alt = t->T;
        in.alt_logp = t->logp + bt;
        in.alt_ref_logp = (vt->flags & BALDRO_OBJ_NEEDS_REF_LOGP) ? t->ref_a : NULL;
        in.alt_mask = t->mask_a;
    }
    baldro_objective_output out = {.struct_size = sizeof out, .loss = t->loss_f,
                                   .dlogp = t->dlogp_f,
                                   .dalt_logp = t->has_alt ? t->dalt_f : NULL};
    char perr[256] = "";
    rc = vt->loss(c->forget_state, &in, &out, perr, sizeof perr);
    if (rc)
        return baldro_error_set(err, BALDRO_EPLUGIN, "%s: objective %s failed: %s", c->what,
                                c->forget_obj->name, perr[0] ? perr : "(no message)");
    /* Per-sample token-mean NLL (group selection and the log). */
    for (int32_t b = 0; b < t->Bm; b++) {
        double s = 0;
        int32_t k = 0;
        for (int32_t j = 0; j < t->T; j++) {
            size_t u = (size_t)b * t->T + j;
            if (t->mask_f[u]) s -= t->logp[u], k++;
        }
        t->nll_mean[b] = k ? s / k : NAN;
    }
    return BALDRO_OK;
}

/* A non-finite forget loss, partial or log-prob names the step and the samples. */
static int check_finite(trainer *t, int64_t step, int64_t epoch, baldro_error *err) {
    GString *bad = NULL;
    for (int32_t b = 0; b < t->Bm; b++) {
        int ok = t->grain == BALDRO_GRAIN_TOKEN || isfinite(t->loss_f[b]);
        for (int32_t j = 0; j < t->T; j++) {
            size_t u = (size_t)b * t->T + j;
            if (!isfinite(t->logp[u]) || !isfinite(t->dlogp_f[u]) ||
                (t->grain == BALDRO_GRAIN_TOKEN && !isfinite(t->loss_f[u])))
                ok = 0;
        }
        if (!ok) {
            if (!bad) bad = g_string_new(NULL);
            g_string_append_printf(bad, "%s%zu", bad->len ? ", " : "", t->bm.items[b]);
        }
    }
    if (!bad) return BALDRO_OK;
    int rc = baldro_error_set(err, BALDRO_ENUMERIC,
                              "%s: step %lld (epoch %lld): the %s loss is not finite for %s "
                              "items %s; stopped, the last checkpoint is intact", t->c->what,
                              (long long)step, (long long)epoch + 1, t->c->forget_obj->name,
                              t->c->main_name, bad->str);
    g_string_free(bad, TRUE);
    return rc;
}

/* A retain objective over whole distributions (KL to the reference): logits of the
 * retain rows from both models, loss_rows, then d logits into the backend buffer that
 * backward adds to the log-softmax's. Positions: every real position of a retain row, or
 * only its answer positions; rows not kept (group mode) are left out. */
static int retain_kl(trainer *t, const uint8_t *keep, double scale, double *value,
                     baldro_error *err) {
    const baldro_train_config *c = t->c;
    const baldro_ops *o = baldro_model_ops(t->m);
    baldro_backend *be = baldro_model_backend(t->m);
    const int32_t r0 = t->Bm * (1 + t->has_alt), T = t->T, V = t->V;
    const size_t N = (size_t)t->Bm * T, NV = N * (size_t)V;
    const int32_t *tok = t->tokens + (size_t)r0 * T, *tgt = t->targets + (size_t)r0 * T;
    const baldro_tensor *lg;
    int rc = baldro_model_logits(t->m, &lg, err);
    if (!rc && o->download(be, t->kl_cur, (const char *)lg->data + (size_t)r0 * T * V * 4,
                           NV * 4))
        rc = baldro_error_set(err, BALDRO_EIO, "%s: logits: %s", c->what, o->last_error(be));
    if (!rc) rc = baldro_model_forward(c->ref_model, tok, tgt, t->Bm, T, t->kl_logp, err);
    if (!rc) rc = baldro_model_logits(c->ref_model, &lg, err);
    if (!rc) {
        const baldro_ops *ro = baldro_model_ops(c->ref_model);
        baldro_backend *rbe = baldro_model_backend(c->ref_model);
        if (ro->download(rbe, t->kl_ref, lg->data, NV * 4))
            rc = baldro_error_set(err, BALDRO_EIO, "%s: reference logits: %s", c->what,
                                  ro->last_error(rbe));
    }
    if (rc) return rc;
    size_t count = 0;
    for (int32_t b = 0; b < t->Bm; b++)
        for (int32_t j = 0; j < T; j++) {
            size_t u = (size_t)b * T + j;
            int on = j < t->br.row_len[b] && (!keep || keep[b]) &&
                     (!c->retain_answer_only || tgt[u] >= 0);
            t->kl_mask[u] = (uint8_t)on;
            count += (size_t)on;
        }
    memset(t->kl_loss, 0, N * sizeof *t->kl_loss);
    memset(t->kl_dlog, 0, NV * sizeof *t->kl_dlog);
    baldro_objective_rows in = {.struct_size = sizeof in, .N = (int32_t)N, .V = V,
                                .logits = t->kl_cur, .ref_logits = t->kl_ref, .targets = tgt,
                                .mask = t->kl_mask};
    baldro_objective_rows_output out = {.struct_size = sizeof out, .loss = t->kl_loss,
                                        .dlogits = t->kl_dlog};
    char perr[256] = "";
    if (c->retain_obj->vt.objective.loss_rows(c->retain_state, &in, &out, perr, sizeof perr))
        return baldro_error_set(err, BALDRO_EPLUGIN, "%s: objective %s failed: %s", c->what,
                                c->retain_obj->name, perr[0] ? perr : "(no message)");
    double s = 0;
    for (size_t u = 0; u < N; u++)
        if (t->kl_mask[u]) s += t->kl_loss[u];
    *value = count ? s / (double)count : 0.0;
    if (!isfinite(*value))
        return baldro_error_set(err, BALDRO_ENUMERIC, "%s: the %s retain loss is not finite",
                                c->what, c->retain_obj->name);
    const float w = count ? (float)(c->alpha * scale / (double)count) : 0.0f;
    for (size_t k = 0; k < NV; k++) t->kl_dlog[k] *= w;
    /* the whole stacked batch's d logits: zero, then the retain rows */
    t->kl_dl.ndim = 2;
    t->kl_dl.shape[0] = (int64_t)(r0 + t->Bm) * T; /* the retain rows are the last block */
    t->kl_dl.shape[1] = V;
    t->kl_dl.shape[2] = t->kl_dl.shape[3] = 1;
    if (o->fill(be, &t->kl_dl, 0.0f) ||
        o->upload(be, (char *)t->kl_dl.data + (size_t)r0 * T * V * 4, t->kl_dlog, NV * 4))
        return baldro_error_set(err, BALDRO_EIO, "%s: d logits: %s", c->what, o->last_error(be));
    return BALDRO_OK;
}

/* The retain term over the paired rows (those paired with kept samples in group mode):
 * its value, with its d/dlogp written into the stacked dlogp at `scale`. */
static int retain_term(trainer *t, const uint8_t *keep, double scale, double *value,
                       baldro_error *err) {
    const baldro_train_config *c = t->c;
    const int32_t r0 = t->Bm * (1 + t->has_alt);
    const size_t bt = (size_t)t->Bm * t->T;
    block_inputs(t, r0, t->mask_r, NULL, NULL, NULL);
    memset(t->loss_r, 0, bt * sizeof *t->loss_r);
    memset(t->dlogp_r, 0, bt * sizeof *t->dlogp_r);
    const baldro_objective_vtable *vt = &c->retain_obj->vt.objective;
    baldro_objective_batch in = {.struct_size = sizeof in, .B = t->Bm, .T = t->T,
                                 .logp = t->logp + (size_t)r0 * t->T, .mask = t->mask_r};
    baldro_objective_output out = {.struct_size = sizeof out, .loss = t->loss_r,
                                   .dlogp = t->dlogp_r};
    char perr[256] = "";
    int rc = vt->loss(c->retain_state, &in, &out, perr, sizeof perr);
    if (rc)
        return baldro_error_set(err, BALDRO_EPLUGIN, "%s: objective %s failed: %s", c->what,
                                c->retain_obj->name, perr[0] ? perr : "(no message)");
    baldro_dro_config plain = {.mode = BALDRO_DRO_NONE};
    /* unit_w is free again here: the forget term has been written out already */
    *value = baldro_dro_reduce(&plain, vt->grain, t->Bm, t->T, t->mask_r, t->loss_r, keep,
                               t->unit_w, t->ret_sL, t->ret_sw, t->scratch);
    if (!isfinite(*value))
        return baldro_error_set(err, BALDRO_ENUMERIC, "%s: the %s retain loss is not finite",
                                c->what, c->retain_obj->name);
    for (int32_t b = 0; b < t->Bm; b++)
        for (int32_t j = 0; j < t->T; j++) {
            size_t u = (size_t)b * t->T + j;
            if (!t->mask_r[u]) continue;
            double w = vt->grain == BALDRO_GRAIN_TOKEN ? t->unit_w[u] : t->unit_w[b];
            t->dlogp[(size_t)r0 * t->T + u] = (float)(c->alpha * scale * w * t->dlogp_r[u]);
        }
    return BALDRO_OK;
}

static void log_samples(trainer *t, int64_t step, int64_t epoch, size_t mi, const double *sL,
                        const double *sw, const uint8_t *keep) {
    if (!t->dro_log) return;
    for (int32_t b = 0; b < t->Bm; b++) {
        g_string_printf(t->line, "{\"step\":%lld,\"epoch\":%lld,\"micro\":%zu,\"item\":%zu,"
                        "\"loss\":%.9g,\"weight\":%.9g,\"kept\":%d,\"nll_mean\":%.9g}\n",
                        (long long)step, (long long)epoch + 1, mi, t->bm.items[b], sL[b], sw[b],
                        keep ? keep[b] : 1, isnan(t->nll_mean[b]) ? 0.0 : t->nll_mean[b]);
        fputs(t->line->str, t->dro_log);
    }
}

/* The forget part of d/dlogp from the weights, into the stacked dlogp. */
static void forget_grad(trainer *t, const double *unit_w, double scale) {
    const baldro_train_config *c = t->c;
    const size_t bt = (size_t)t->Bm * t->T;
    for (int32_t b = 0; b < t->Bm; b++)
        for (int32_t j = 0; j < t->T; j++) {
            size_t u = (size_t)b * t->T + j;
            double w = t->grain == BALDRO_GRAIN_TOKEN ? unit_w[u] : unit_w[b];
            if (t->mask_f[u]) t->dlogp[u] = (float)(c->gamma * scale * w * t->dlogp_f[u]);
            if (t->has_alt && t->mask_a[u])
                t->dlogp[bt + u] = (float)(c->gamma * scale * unit_w[b] * t->dalt_f[u]);
        }
}

static int64_t row_tokens(const trainer *t) {
    int64_t s = 0;
    for (int32_t b = 0; b < t->Bm; b++) {
        s += t->bm.row_len[b];
        if (t->has_alt) s += t->ba.row_len[b];
        if (t->has_ret) s += t->br.row_len[b];
    }
    return s;
}

/* One optimizer update: micro-batches [m0, m1) of epoch `epoch`. */
static int run_update(trainer *t, int64_t step, int64_t epoch, size_t m0, size_t m1,
                      baldro_step_report *rep, baldro_error *err) {
    const baldro_train_config *c = t->c;
    const double G = (double)(m1 - m0);
    const int effective = t->eff_loss != NULL;
    int rc = baldro_model_zero_grad(t->m, err);
    double forget_sum = 0, retain_sum = 0, F_eff = 0;
    rep->tokens = 0;
    if (effective) {
        /* Pass 1: every micro-batch's forget losses, then the weights over all of them. */
        const size_t stride = (size_t)t->B * t->max_T;
        int32_t rows = 0;
        memset(t->eff_mask, 0, (size_t)t->G * stride);
        for (size_t mi = m0; mi < m1 && !rc; mi++) {
            rc = micro_forward(t, epoch, mi, err);
            if (!rc) rc = check_finite(t, step, epoch, err);
            /* [rows][max_T] masks; losses [rows][max_T] (TOKEN) or [rows] (SAMPLE) */
            for (int32_t b = 0; !rc && b < t->Bm; b++, rows++) {
                t->eff_nll[rows] = t->nll_mean[b];
                for (int32_t j = 0; j < t->T; j++) {
                    size_t src = (size_t)b * t->T + j, dst = (size_t)rows * t->max_T + j;
                    t->eff_mask[dst] = t->mask_f[src];
                    if (t->grain == BALDRO_GRAIN_TOKEN) t->eff_loss[dst] = t->loss_f[src];
                }
                if (t->grain != BALDRO_GRAIN_TOKEN) t->eff_loss[rows] = t->loss_f[b];
            }
        }
        if (rc) return rc;
        const uint8_t *keep = NULL;
        if (c->dro.mode == BALDRO_DRO_GROUP) {
            baldro_dro_group(t->eff_nll, rows, c->dro.rho, t->eff_keep);
            keep = t->eff_keep;
        }
        F_eff = baldro_dro_reduce(&c->dro, t->grain, rows, t->max_T, t->eff_mask, t->eff_loss,
                                  keep, t->eff_unit_w, t->eff_sL, t->eff_sw, t->eff_scratch);
    }
    int32_t row0 = 0;
    for (size_t mi = m0; mi < m1 && !rc; mi++) {
        rc = micro_forward(t, epoch, mi, err);
        if (!rc && !effective) rc = check_finite(t, step, epoch, err);
        if (rc) break;
        memset(t->dlogp, 0, (size_t)t->max_R * t->T * sizeof *t->dlogp);
        const uint8_t *keep = NULL;
        double fval;
        if (effective) {
            /* this micro-batch's slice of the update's weights, re-laid at stride T */
            double *w = t->unit_w;
            if (t->grain == BALDRO_GRAIN_TOKEN) {
                for (int32_t b = 0; b < t->Bm; b++)
                    for (int32_t j = 0; j < t->T; j++)
                        w[(size_t)b * t->T + j] = t->eff_unit_w[(size_t)(row0 + b) * t->max_T + j];
            } else {
                for (int32_t b = 0; b < t->Bm; b++) w[b] = t->eff_unit_w[row0 + b];
            }
            if (c->dro.mode == BALDRO_DRO_GROUP) keep = t->eff_keep + row0;
            forget_grad(t, w, 1.0);
            log_samples(t, step, epoch, mi, t->eff_sL + row0, t->eff_sw + row0, keep);
            fval = F_eff;
            row0 += t->Bm;
        } else {
            if (c->dro.mode == BALDRO_DRO_GROUP) {
                baldro_dro_group(t->nll_mean, t->Bm, c->dro.rho, t->keep);
                keep = t->keep;
            }
            fval = baldro_dro_reduce(&c->dro, t->grain, t->Bm, t->T, t->mask_f, t->loss_f, keep,
                                     t->unit_w, t->sample_L, t->sample_w, t->scratch);
            forget_grad(t, t->unit_w, 1.0 / G);
            log_samples(t, step, epoch, mi, t->sample_L, t->sample_w, keep);
            forget_sum += fval / G;
        }
        if (!isfinite(fval)) {
            rc = check_finite(t, step, epoch, err);
            if (!rc)
                rc = baldro_error_set(err, BALDRO_ENUMERIC,
                                      "%s: step %lld: the reduced %s loss is not finite", c->what,
                                      (long long)step, c->forget_obj->name);
            break;
        }
        if (t->has_ret) {
            double rv = 0;
            rc = t->has_kl ? retain_kl(t, keep, 1.0 / G, &rv, err)
                           : retain_term(t, keep, 1.0 / G, &rv, err);
            retain_sum += rv / G;
        }
        if (!rc)
            rc = baldro_model_backward_logits(t->m, t->dlogp, t->has_kl ? &t->kl_dl : NULL, err);
        rep->tokens += row_tokens(t);
    }
    if (rc) return rc;
    if (effective) forget_sum = F_eff;
    rep->forget = forget_sum;
    rep->retain = retain_sum;
    rep->loss = c->gamma * forget_sum + (t->has_ret ? c->alpha * retain_sum : 0.0);
    rep->lr = baldro_lr_linear(step - 1, t->warmup, t->total, c->lr);
    rc = baldro_optim_step(t->opt, rep->lr, &rep->grad_norm, err);
    if (rc == BALDRO_ENUMERIC) {
        char why[sizeof err->msg];
        g_strlcpy(why, err->msg, sizeof why);
        return baldro_error_set(err, BALDRO_ENUMERIC, "%s: step %lld (epoch %lld): %s; stopped, "
                                "the last checkpoint is intact", c->what, (long long)step,
                                (long long)epoch + 1, why);
    }
    return rc;
}

/* ---- checkpoints and logs ------------------------------------------------------------- */

static int write_state(trainer *t, const char *dir, int64_t step, baldro_error *err) {
    char *path = g_build_filename(dir, "trainer_state.json", NULL);
    char *json = g_strdup_printf(
        "{\n  \"format\": \"baldro-trainer-state\",\n  \"version\": 1,\n  \"step\": %lld,\n"
        "  \"total_steps\": %lld,\n  \"epochs\": %d,\n  \"updates_per_epoch\": %zu,\n"
        "  \"seed\": %llu,\n  \"main_data_hash\": \"%016llx\",\n"
        "  \"ref_model_hash\": \"%016llx\"\n}\n",
        (long long)step, (long long)t->total, t->c->epochs, t->upe,
        (unsigned long long)t->c->seed,
        (unsigned long long)baldro_tok_dataset_hash(t->c->main),
        (unsigned long long)t->c->ref_model_hash);
    int rc = baldro_write_file_atomic(path, json, strlen(json), err);
    g_free(json);
    g_free(path);
    return rc;
}

static int save_checkpoint(trainer *t, const char *dir, int64_t step, baldro_error *err) {
    baldro_save_options so = {.copy_files_from = t->c->copy_files_from, .overwrite = 1};
    int rc = baldro_model_save_hf_dir(t->m, dir, &so, err);
    char *opt = g_build_filename(dir, "optimizer.bin", NULL);
    if (!rc) rc = baldro_optim_save(t->opt, opt, err);
    g_free(opt);
    if (!rc) rc = write_state(t, dir, step, err);
    return rc;
}

/* trainer_state.json of `dir`: its step, after checking it belongs to this run. */
static int read_state(trainer *t, const char *dir, int64_t *step, baldro_error *err) {
    char *path = g_build_filename(dir, "trainer_state.json", NULL);
    char *text = NULL;
    gsize len = 0;
    int rc = BALDRO_OK;
    if (!g_file_get_contents(path, &text, &len, NULL)) {
        rc = baldro_error_set(err, BALDRO_ENOTFOUND,
                              "%s: missing: not a complete baldro checkpoint", path);
        g_free(path);
        return rc;
    }
    JsonNode *root = baldro_json_parse(text, len, path, "JSON", err);
    g_free(text);
    if (!root) {
        g_free(path);
        return err ? err->code : BALDRO_EINVAL;
    }
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
    int64_t s = -1, total = -1;
    const char *dh = NULL;
    if (o && json_object_has_member(o, "step")) s = json_object_get_int_member(o, "step");
    if (o && json_object_has_member(o, "total_steps"))
        total = json_object_get_int_member(o, "total_steps");
    if (o && json_object_has_member(o, "main_data_hash"))
        dh = json_object_get_string_member(o, "main_data_hash");
    char want[32];
    g_snprintf(want, sizeof want, "%016llx",
               (unsigned long long)baldro_tok_dataset_hash(t->c->main));
    if (s < 1 || s > t->total)
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: step: expected 1..%lld", path,
                              (long long)t->total);
    else if (total != t->total)
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "%s: total_steps: %lld, this run plans %lld (epochs, batch or "
                              "accumulation changed)", path, (long long)total,
                              (long long)t->total);
    else if (!dh || strcmp(dh, want) != 0)
        rc = baldro_error_set(err, BALDRO_EINVAL,
                              "%s: main_data_hash: the checkpoint was trained on other data",
                              path);
    json_node_unref(root);
    g_free(path);
    *step = s;
    return rc;
}

int baldro_train_checkpoint_ref_hash(const char *dir, uint64_t *hash, baldro_error *err) {
    char *path = g_build_filename(dir, "trainer_state.json", NULL);
    char *text = NULL;
    gsize len = 0;
    int rc = BALDRO_OK;
    if (!g_file_get_contents(path, &text, &len, NULL)) {
        rc = baldro_error_set(err, BALDRO_ENOTFOUND,
                              "%s: missing: not a complete baldro checkpoint", path);
        g_free(path);
        return rc;
    }
    JsonNode *root = baldro_json_parse(text, len, path, "JSON", err);
    g_free(text);
    const char *h = NULL;
    if (root && JSON_NODE_HOLDS_OBJECT(root) &&
        json_object_has_member(json_node_get_object(root), "ref_model_hash"))
        h = json_object_get_string_member(json_node_get_object(root), "ref_model_hash");
    char *end = NULL;
    if (!root) rc = err ? err->code : BALDRO_EINVAL;
    else if (!h || !*h || (*hash = g_ascii_strtoull(h, &end, 16), *end != '\0'))
        rc = baldro_error_set(err, BALDRO_EINVAL, "%s: ref_model_hash: missing or not hex", path);
    if (root) json_node_unref(root);
    g_free(path);
    return rc;
}

/* Keep the log lines of steps <= `step` (resume), or start the log afresh. */
static int open_log(const char *run_dir, const char *name, int64_t keep_upto, FILE **out,
                    baldro_error *err) {
    char *path = g_build_filename(run_dir, name, NULL);
    int rc = BALDRO_OK;
    if (keep_upto > 0 && g_file_test(path, G_FILE_TEST_EXISTS)) {
        char *text = NULL;
        gsize len = 0;
        if (g_file_get_contents(path, &text, &len, NULL)) {
            GString *kept = g_string_sized_new(len);
            char **lines = g_strsplit(text, "\n", -1);
            for (char **l = lines; *l; l++) {
                const char *p = strstr(*l, "\"step\":");
                if (p && g_ascii_strtoll(p + 7, NULL, 10) <= keep_upto)
                    g_string_append_printf(kept, "%s\n", *l);
            }
            rc = baldro_write_file_atomic(path, kept->str, kept->len, err);
            g_strfreev(lines);
            g_string_free(kept, TRUE);
            g_free(text);
        }
    } else if (keep_upto == 0) {
        rc = baldro_write_file_atomic(path, "", 0, err);
    }
    if (!rc) {
        *out = fopen(path, "a");
        if (!*out)
            rc = baldro_error_set(err, BALDRO_EIO, "%s: cannot open for writing", path);
    }
    g_free(path);
    return rc;
}

int baldro_train(baldro_model *m, const baldro_train_config *c, const char *resume_dir,
                 baldro_train_result *res, baldro_error *err) {
    memset(res, 0, sizeof *res);
    if (!c->main || c->main->n == 0 || c->batch < 1 || c->accum < 1 || c->epochs < 1)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: empty data or a zero batch", c->what);
    if (c->alt && c->alt->n != c->main->n)
        return baldro_error_set(err, BALDRO_EINVAL, "%s: %zu IDK answers for %zu items",
                                c->what, c->alt->n, c->main->n);
    if ((c->ref_main && c->ref_main->n != c->main->n) ||
        (c->ref_alt && (!c->alt || c->ref_alt->n != c->alt->n)))
        return baldro_error_set(err, BALDRO_EINVAL, "%s: reference log-probs do not match "
                                "the data", c->what);
    if (baldro_mkdir_p(c->run_dir, err)) return err->code;
    char *metrics_path = g_build_filename(c->run_dir, "metrics.jsonl", NULL);
    int previous = g_file_test(metrics_path, G_FILE_TEST_EXISTS);
    g_free(metrics_path);
    if (previous && !resume_dir && !c->overwrite)
        return baldro_error_set(err, BALDRO_EEXIST,
                                "%s: %s holds a previous run (metrics.jsonl); resume it from "
                                "one of its checkpoints, choose another run.name, or overwrite",
                                c->what, c->run_dir);
    trainer t;
    int rc = trainer_init(&t, m, c, err);
    int64_t start = 0;
    if (!rc && resume_dir) {
        rc = read_state(&t, resume_dir, &start, err);
        char *opt = g_build_filename(resume_dir, "optimizer.bin", NULL);
        if (!rc) rc = baldro_optim_load(t.opt, opt, err);
        g_free(opt);
        if (!rc && baldro_optim_steps_done(t.opt) != start)
            rc = baldro_error_set(err, BALDRO_EINVAL, "%s: optimizer.bin has %lld updates, "
                                  "trainer_state.json %lld", resume_dir,
                                  (long long)baldro_optim_steps_done(t.opt), (long long)start);
    }
    if (!rc) rc = open_log(c->run_dir, "metrics.jsonl", start, &t.metrics, err);
    if (!rc && strcmp(c->what, "unlearn") == 0)
        rc = open_log(c->run_dir, "dro.jsonl", start, &t.dro_log, err);
    t.t0 = now_s();
    baldro_step_report rep = {0};
    for (int64_t k = start; !rc && k < t.total; k++) {
        int64_t epoch = k / (int64_t)t.upe;
        size_t j = (size_t)(k % (int64_t)t.upe);
        if (epoch != t.perm_epoch) {
            baldro_data_permutation(t.n, c->seed, (uint64_t)epoch, t.perm);
            t.perm_epoch = epoch;
        }
        size_t m0 = j * (size_t)t.G, m1 = MIN(m0 + (size_t)t.G, t.n_micro);
        rc = run_update(&t, k + 1, epoch, m0, m1, &rep, err);
        if (rc) break;
        t.tokens_done += rep.tokens;
        rep.step = k + 1;
        rep.total_steps = t.total;
        rep.epoch = (int32_t)epoch;
        rep.seconds = now_s() - t.t0;
        rep.tokens_per_s = (double)t.tokens_done / (rep.seconds > 0 ? rep.seconds : 1e-9);
        rep.saved = NULL;
        g_string_printf(t.line, "{\"step\":%lld,\"epoch\":%lld,\"lr\":%.9g,\"loss\":%.9g,"
                        "\"forget\":%.9g,\"retain\":%.9g,\"grad_norm\":%.9g,\"tokens\":%lld,"
                        "\"seconds\":%.3f}\n", (long long)rep.step, (long long)epoch + 1,
                        (double)rep.lr, rep.loss, rep.forget, rep.retain, rep.grad_norm,
                        (long long)rep.tokens, rep.seconds);
        fputs(t.line->str, t.metrics);
        fflush(t.metrics);
        if (t.dro_log) fflush(t.dro_log);
        char *ck = NULL;
        if (c->save_every > 0 && rep.step % c->save_every == 0 && rep.step < t.total) {
            char name[48];
            g_snprintf(name, sizeof name, "checkpoint-%lld", (long long)rep.step);
            ck = g_build_filename(c->run_dir, name, NULL);
            rc = save_checkpoint(&t, ck, rep.step, err);
            rep.saved = ck;
        }
        if (!rc && c->on_step) c->on_step(c->ud, &rep);
        g_free(ck);
        res->last_loss = rep.loss;
    }
    if (!rc) {
        res->final_dir = g_build_filename(c->run_dir, "model", NULL);
        rc = save_checkpoint(&t, res->final_dir, t.total, err);
    }
    res->steps = rc ? 0 : t.total;
    res->seconds = now_s() - t.t0;
    res->tokens = t.tokens_done;
    trainer_free(&t);
    return rc;
}
