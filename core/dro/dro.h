/*
 * core/dro/dro.h: the BalDRO core (Shao et al., arXiv 2601.09172). It turns the per-sample
 * (or per-token) losses an objective plugin returns into one forget value and into the
 * weights the model's backward pass gets, without knowing what the objective computes.
 *
 * Modes (baldro.mode):
 *   none   the plain reduction: SAMPLE grain, mean over samples; TOKEN grain, mean over
 *          the valid tokens of the scope (HF's token mean).
 *   dv     Donsker-Varadhan soft worst case over the scope's n units (samples, or tokens
 *          for TOKEN-grained objectives, as the official DrSatImp):
 *            official:   F = -tau log((1/n) sum_i exp(-L_i/tau)),  w = softmax(-L/tau)
 *            worst_case: F =  tau log((1/n) sum_i exp(+L_i/tau)),  w = softmax(+L/tau)
 *          and grad F = sum_i w_i grad L_i (the weights carry no gradient of their own).
 *          The official sign puts more weight on samples with a LOWER loss; for NPO those
 *          are the ones already forgotten. worst_case is the textbook DRO direction.
 *          Equal losses give w_i = 1/n: dv then equals none exactly.
 *   group  keep the k = max(1, floor(rho B)) samples with the lowest token-mean NLL (the
 *          most memorised), ties to the lower index, and apply the plain reduction to
 *          them; the retain term uses only the retain samples paired with the kept ones.
 *
 * Scope (baldro.scope): micro = each micro-batch on its own (the official code; with a
 * micro-batch of one sample dv does nothing); effective = all micro-batches of one
 * optimizer update together. The trainer gets the effective scope's losses by a forward
 * pass over every micro-batch of the update before the backward passes (the parameters do
 * not change in between, so the losses are the same ones), computes the weights once over
 * all of them, and hands each micro-batch its slice.
 *
 * All arithmetic is in double, with log-sum-exp shifted by the extreme value, so any
 * finite loss gives finite weights.
 */
#ifndef BALDRO_CORE_DRO_H
#define BALDRO_CORE_DRO_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

typedef enum baldro_dro_mode {
    BALDRO_DRO_NONE = 0,
    BALDRO_DRO_DV = 1,
    BALDRO_DRO_GROUP = 2
} baldro_dro_mode;

typedef enum baldro_dro_direction {
    BALDRO_DRO_OFFICIAL = 0,  /* softmax(-L/tau) */
    BALDRO_DRO_WORST_CASE = 1 /* softmax(+L/tau) */
} baldro_dro_direction;

typedef enum baldro_dro_scope {
    BALDRO_DRO_MICRO = 0,
    BALDRO_DRO_EFFECTIVE = 1
} baldro_dro_scope;

typedef struct baldro_dro_config {
    baldro_dro_mode mode;
    double tau;                    /* dv temperature, > 0                    */
    baldro_dro_direction direction;
    baldro_dro_scope scope;
    double rho;                    /* group: kept fraction, in (0, 1]        */
} baldro_dro_config;

/* "none" | "dv" | "group" (and the others) -> enum; -1 when unknown. */
int baldro_dro_parse_mode(const char *s);
int baldro_dro_parse_direction(const char *s);
int baldro_dro_parse_scope(const char *s);
const char *baldro_dro_mode_name(int mode);

/* DV over n losses L[n]: weights w[n] (sum 1) and the DV value *F. n >= 1. */
void baldro_dro_dv(const double *L, size_t n, double tau, baldro_dro_direction dir, double *w,
                   double *F);

/* group: keep[B] = 1 for the k = max(1, floor(rho B)) samples with the lowest nll_mean[B],
 * ties to the lower index; returns k. Samples with no valid token (nll_mean NaN) are never
 * kept unless nothing else is left. */
int32_t baldro_dro_group(const double *nll_mean, int32_t B, double rho, uint8_t *keep);

/* The forget term of one scope, given an objective's outputs.
 *   grain      BALDRO_GRAIN_SAMPLE or BALDRO_GRAIN_TOKEN (baldro/objective.h)
 *   B, T       rows and positions; mask [B][T]
 *   loss       SAMPLE: [B]; TOKEN: [B][T] (0 off the mask)
 *   keep       [B] rows that take part (group mode), or NULL for all
 * Writes
 *   unit_w     SAMPLE: [B]; TOKEN: [B][T]: the weight of each unit (sum 1 over the
 *              units that take part; 0 elsewhere). Multiply dlogp by it to get the
 *              gradient of the returned value.
 *   sample_L   [B] per-sample loss for the log (TOKEN: mean over the row's tokens)
 *   sample_w   [B] per-sample weight for the log (TOKEN: sum of the row's token weights)
 *   scratch    3 * (number of units) doubles of workspace (the caller's, so nothing is
 *              allocated per step)
 * and returns the value (none/group: the weighted mean; dv: F). A scope with no valid
 * unit returns 0 with all weights 0. */
double baldro_dro_reduce(const baldro_dro_config *c, uint32_t grain, int32_t B, int32_t T,
                         const uint8_t *mask, const float *loss, const uint8_t *keep,
                         double *unit_w, double *sample_L, double *sample_w, double *scratch);

#endif /* BALDRO_CORE_DRO_H */
