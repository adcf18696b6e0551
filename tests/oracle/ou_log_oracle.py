#!/usr/bin/env python3
"""open-unlearning TOFU_EVAL.json fixtures from the TOFU authors' per-item logs.

core/eval/eval_log.c reads open-unlearning's per-item evaluation log (TOFU_EVAL.json:
{metric: {"agg_value": ..., "value_by_index": {"<dataset index>": {...}}}}) so that
`baldro-host eval --aggregate` can recompute its figures without a model. This script
writes what tests/unit/test_eval_log.c checks that reader (and the metric numerics on
what it reads) against:

  tests/fixtures/eval_logs/ou_full_40.json       llama2-7b full
  tests/fixtures/eval_logs/ou_retain90_40.json   llama2-7b retain90 (the reference model)
  tests/fixtures/eval_logs/expected.json         every agg_value of both logs, and the same
                                                 figures by the formulas of tofu_stats.h

Each log is the legacy eval_log_aggregated.json of /work/shared/data/tofu/
reference_eval_logs, restricted to the first 40 items of each split (forget, retain, real
authors, world facts), logged the way open-unlearning's evaluator would have logged it
(src/evals/base.py, metrics/memorization.py, metrics/utils.py, metrics/privacy.py,
metrics/utility.py, configs/eval/tofu_metrics/*.yaml):
  {p}_Q_A_Prob, {p}_Q_A_PARA_Prob (forget, retain), {p}_Q_A_PERT_Prob
      value_by_index[i] = {"prob": exp(-avg_loss), "avg_loss": avg_loss} (PERT: lists, one
      per perturbed answer, as utils.dict_transpose builds them); agg_value the mean prob
      (per item the mean over the list for PERT, aggregate_to_1D)
  {p}_Q_A_ROUGE
      {"rouge1_recall", "rougeL_f1", "rougeL_recall", "input", "ground_truth",
      "generation"}: the legacy generated_text [prompt, generation, ground truth], scored
      again with rouge_score 0.1.2 RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
      .score(ground_truth, generation); agg_value the mean rougeL_recall
  forget_truth_ratio, retain_Truth_Ratio, ra_Truth_Ratio, wf_Truth_Ratio
      score = exp(-mean pert avg_loss) / (exp(-correct avg_loss) + 1e-10), correct being
      PARA for forget / retain and Q_A_Prob for ra / wf; agg_value
      mean(min(s, 1 / (s + 1e-10))) on forget, mean(max(0, 1 - s)) elsewhere
  ra_Q_A_Prob_normalised, wf_Q_A_Prob_normalised
      prob = correct / (correct + sum(wrong) + 1e-10) (probability_w_options)
  model_utility   scipy.stats.hmean of the nine retain / ra / wf values (hm_aggregate)
  forget_quality  ks_2samp(forget_truth_ratio scores, the retain90 log's).pvalue (ks_test);
                  null in the retain90 log itself (no retain_logs_path)
  mia_min_k       made-up deterministic min-k scores for 40 forget and 40 holdout items,
                  {"forget": {agg_value, value_by_index}, "holdout": {...}, "auc", "agg_value"},
                  the AUC (holdout = label 1, as mia_auc) by rank counting in pure Python
  privleak        ((1 - auc) - (1 - ref)) / ((1 - ref) + 1e-10) * 100, ref = the retain90
                  log's mia_min_k AUC (0.5, ref_value, in the retain90 log itself)
  extraction_strength  made-up deterministic 1 - k / len scores
  forget_Q_A_gibberish (full log only) made-up scores with the forget generations
Top-level keys are sorted and the files indented by 4, as Evaluator.save_logs does.

expected.json: "agg" holds every agg_value as written in the logs; "formula" the same
probability / truth-ratio / model-utility / forget-quality figures by tofu_stats.h's formulas
(no 1e-10 guards: R = exp(para - mean pert), options t / (t + f)), so the C test can require
1e-12 of both; "n_items", "n_pert", versions.

Deterministic (random.Random with fixed seeds): two runs give identical files.

    /work/venv-oracle/bin/python tests/oracle/ou_log_oracle.py [--logs DIR] [--out DIR] [--check]

Needs numpy, scipy (1.17.1 wrote the committed files) and rouge_score 0.1.2.
"""
import argparse
import filecmp
import json
import math
import os
import platform
import random
import sys
import tempfile

import numpy as np
import rouge_score
import scipy
from rouge_score import rouge_scorer
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "eval_logs"))
DEFAULT_LOGS = os.environ.get("TOFU_LOGS", "/work/shared/data/tofu/reference_eval_logs")
N = 40
RUNS = {
    "full": ("ft_epoch5_lr1e-05_llama2-7b_full_wd0.01__eval_log_aggregated.json",
             "ou_full_40.json", 1001),
    "retain90": ("ft_epoch5_lr1e-05_llama2-7b_retain90_wd0.01__eval_log_aggregated.json",
                 "ou_retain90_40.json", 2002),
}
# prefix, legacy key, has a paraphrased answer (PARA_Prob), truth-ratio metric name
SPLITS = [
    ("forget", "eval_log_forget.json", True, "forget_truth_ratio"),
    ("retain", "eval_log.json", True, "retain_Truth_Ratio"),
    ("ra", "eval_real_author_wo_options.json", False, "ra_Truth_Ratio"),
    ("wf", "eval_real_world_wo_options.json", False, "wf_Truth_Ratio"),
]
NINE = ["retain_Q_A_Prob", "retain_Q_A_ROUGE", "retain_Truth_Ratio",
        "ra_Q_A_Prob_normalised", "ra_Q_A_ROUGE", "ra_Truth_Ratio",
        "wf_Q_A_Prob_normalised", "wf_Q_A_ROUGE", "wf_Truth_Ratio"]
SCORER = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)


def aggregate_to_1D(x):  # open-unlearning's metrics/utils.py
    return np.mean(x, axis=tuple(range(1, x.ndim)))


def probability_entry(losses):
    """probability(): per item {"prob", "avg_loss"}, a list of each for perturbed answers."""
    vbi = {}
    for i, l in enumerate(losses):
        if isinstance(l, list):
            vbi[i] = {"prob": [math.exp(-x) for x in l], "avg_loss": list(l)}
        else:
            vbi[i] = {"prob": math.exp(-l), "avg_loss": l}
    probs = aggregate_to_1D(np.array([e["prob"] for e in vbi.values() if e["prob"] is not None]))
    return {"agg_value": float(np.mean(probs)), "value_by_index": vbi}


def rouge_entry(texts):
    vbi = {}
    for i, (prompt, gen, gt) in enumerate(texts):
        s = SCORER.score(gt, gen)
        vbi[i] = {"rouge1_recall": s["rouge1"].recall, "rougeL_f1": s["rougeL"].fmeasure,
                  "rougeL_recall": s["rougeL"].recall, "input": prompt, "ground_truth": gt,
                  "generation": gen}
    vals = aggregate_to_1D(np.array([e["rougeL_recall"] for e in vbi.values()]))
    return {"agg_value": float(np.mean(vals)), "value_by_index": vbi}


def truth_ratio_entry(correct, wrong, aggregator):
    """truth_ratio() with the TOFU definition wrong / correct."""
    idx = list(correct["value_by_index"].keys())
    assert idx == list(wrong["value_by_index"].keys())
    c = aggregate_to_1D(np.array([correct["value_by_index"][i]["avg_loss"] for i in idx]))
    w = aggregate_to_1D(np.array([wrong["value_by_index"][i]["avg_loss"] for i in idx]))
    tr = np.exp(-w) / (np.exp(-c) + 1e-10)
    vbi = {i: {"score": float(v)} for i, v in zip(idx, tr)}
    arr = np.array([e["score"] for e in vbi.values()])
    if aggregator == "closer_to_1_better":
        agg = np.mean(np.minimum(arr, 1 / (arr + 1e-10)))
    else:
        agg = np.mean(np.maximum(0, 1 - arr))
    return {"agg_value": float(agg), "value_by_index": vbi}


def probability_w_options_entry(correct, wrong):
    idx = list(correct["value_by_index"].keys())
    assert idx == list(wrong["value_by_index"].keys())
    c = np.array([correct["value_by_index"][i]["prob"] for i in idx])
    aw = np.array([wrong["value_by_index"][i]["prob"] for i in idx])
    w = np.sum(aw, axis=tuple(range(1, aw.ndim)))
    probs = c / (c + w + 1e-10)
    return {"agg_value": float(np.mean(probs)),
            "value_by_index": {i: {"prob": float(v)} for i, v in zip(idx, probs)}}


def mia_entry(forget_scores, holdout_scores):
    """mia_auc(): labels 0 for forget, 1 for holdout; AUC by counting pairs (ties half)."""
    def side(scores):
        return {"agg_value": float(np.mean(scores)),
                "value_by_index": {str(i): {"score": float(s)} for i, s in enumerate(scores)}}
    wins = 0.0
    for h in holdout_scores:
        for f in forget_scores:
            wins += 1.0 if h > f else 0.5 if h == f else 0.0
    auc = wins / (len(forget_scores) * len(holdout_scores))
    return {"forget": side(forget_scores), "holdout": side(holdout_scores), "auc": auc,
            "agg_value": auc}


def items(split, key):
    return [split[key][str(i)] for i in range(N)]


def build(legacy, seed):
    """The open-unlearning log of one model, plus the formula figures and the pert counts."""
    log, formula, n_pert = {}, {}, {}
    for p, lk, has_para, tr_name in SPLITS:
        s = legacy[lk]
        gt = items(s, "avg_gt_loss")
        pert = items(s, "average_perturb_loss")
        assert len({len(x) for x in pert}) == 1
        n_pert[p] = len(pert[0])
        log[f"{p}_Q_A_Prob"] = probability_entry(gt)
        log[f"{p}_Q_A_PERT_Prob"] = probability_entry(pert)
        if has_para:
            log[f"{p}_Q_A_PARA_Prob"] = probability_entry(items(s, "avg_paraphrased_loss"))
            correct = log[f"{p}_Q_A_PARA_Prob"]
        else:
            correct = log[f"{p}_Q_A_Prob"]
            log[f"{p}_Q_A_Prob_normalised"] = probability_w_options_entry(
                log[f"{p}_Q_A_Prob"], log[f"{p}_Q_A_PERT_Prob"])
        log[f"{p}_Q_A_ROUGE"] = rouge_entry(items(s, "generated_text"))
        log[tr_name] = truth_ratio_entry(correct, log[f"{p}_Q_A_PERT_Prob"],
                                         "closer_to_1_better" if p == "forget" else "true_better")
        # tofu_stats.h: R = exp(para - mean pert) (one exp), probability mean exp(-L) or
        # t / (t + f) on the options splits, no 1e-10 guards
        cl = [e["avg_loss"] for e in correct["value_by_index"].values()]
        R = np.array([math.exp(c - sum(w) / len(w)) for c, w in zip(cl, pert)])
        formula[tr_name] = float(np.mean(np.minimum(R, 1 / R)) if p == "forget"
                                 else np.mean(np.maximum(0.0, 1 - R)))
        formula[f"{p}_R"] = [float(r) for r in R]
        if has_para:
            formula[f"{p}_Q_A_Prob"] = float(np.mean([math.exp(-x) for x in gt]))
        else:
            t = [math.exp(-x) for x in gt]
            f = [sum(math.exp(-y) for y in w) for w in pert]
            formula[f"{p}_Q_A_Prob_normalised"] = float(np.mean(
                [a / (a + b) for a, b in zip(t, f)]))
        formula[f"{p}_Q_A_ROUGE"] = log[f"{p}_Q_A_ROUGE"]["agg_value"]
    log["model_utility"] = {"agg_value": float(stats.hmean([log[k]["agg_value"] for k in NINE]))}
    formula["model_utility"] = float(stats.hmean([formula[k] for k in NINE]))

    rng = random.Random(seed)
    trained = seed == RUNS["full"][2]
    gtl = items(legacy["eval_log_forget.json"], "avg_gt_loss")
    ntok = items(legacy["eval_log_forget.json"], "num_token_gt")
    # min-k scores (-mean of the lowest 40 % token log-probs): about the loss, larger on
    # unseen text; the full model has trained on the forget items, the retain90 model not
    forget_mia = [round(1.6 * l + rng.uniform(0.3, 2.6) if trained
                        else 0.05 * l + rng.uniform(1.3, 4.3), 6) for l in gtl]
    holdout_mia = [round(rng.uniform(1.4, 4.4), 6) for _ in range(N)]
    log["mia_min_k"] = mia_entry(forget_mia, holdout_mia)
    es = []
    for n in ntok:
        valid = n - 1
        k = rng.randrange(0, max(1, valid // (4 if trained else 1)))
        es.append(1 - k / valid)
    log["extraction_strength"] = {"agg_value": float(np.mean(es)),
                                  "value_by_index": {i: {"score": s} for i, s in enumerate(es)}}
    if trained:
        gens = log["forget_Q_A_ROUGE"]["value_by_index"]
        gib = {i: {"score": round(rng.uniform(0.0005, 0.05), 8), "generation": gens[i]["generation"]}
               for i in range(N)}
        log["forget_Q_A_gibberish"] = {
            "agg_value": float(np.mean(aggregate_to_1D(np.array([e["score"] for e in gib.values()])))),
            "value_by_index": gib}
    return log, formula, n_pert


def write_json(path, obj, indent):
    with open(path, "w") as f:
        json.dump(obj, f, indent=indent, allow_nan=False)
        f.write("\n")


def generate(logs_dir, out):
    os.makedirs(out, exist_ok=True)
    built = {}
    for run, (src, dst, seed) in RUNS.items():
        with open(os.path.join(logs_dir, src)) as f:
            built[run] = build(json.load(f), seed)
    full, ret = built["full"][0], built["retain90"][0]

    def tr_scores(log):
        return np.array([e["score"] for e in log["forget_truth_ratio"]["value_by_index"].values()])

    # ks_test: the model's forget truth ratios against the reference log's
    full["forget_quality"] = {"agg_value": float(stats.ks_2samp(tr_scores(full), tr_scores(ret)).pvalue)}
    ret["forget_quality"] = {"agg_value": None}
    built["full"][1]["forget_quality"] = float(stats.ks_2samp(
        built["full"][1]["forget_R"], built["retain90"][1]["forget_R"]).pvalue)

    def privleak(score, ref):
        score, ref = 1 - score, 1 - ref
        return (score - ref) / (ref + 1e-10) * 100

    full["privleak"] = {"agg_value": privleak(full["mia_min_k"]["agg_value"],
                                              ret["mia_min_k"]["agg_value"])}
    ret["privleak"] = {"agg_value": privleak(ret["mia_min_k"]["agg_value"], 0.5)}

    expected = {"generator": "tests/oracle/ou_log_oracle.py",
                "versions": {"python": platform.python_version(), "numpy": np.__version__,
                             "scipy": scipy.__version__,
                             "rouge_score": getattr(rouge_score, "__version__", "0.1.2")},
                "n_items": N, "agg": {}, "formula": {}, "n_pert": built["full"][2]}
    for run, (src, dst, seed) in RUNS.items():
        log, formula, n_pert = built[run]
        assert n_pert == expected["n_pert"]
        log = dict(sorted(log.items()))  # Evaluator.save_logs
        write_json(os.path.join(out, dst), log, 4)
        expected["agg"][dst] = {k: v.get("agg_value") for k, v in log.items()}
        expected["formula"][dst] = {k: v for k, v in formula.items() if not k.endswith("_R")}
    write_json(os.path.join(out, "expected.json"), expected, 1)
    return [RUNS[r][1] for r in RUNS] + ["expected.json"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logs", default=DEFAULT_LOGS)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temporary directory and compare with --out")
    args = ap.parse_args()
    out = tempfile.mkdtemp() if args.check else args.out
    files = generate(args.logs, out)
    for f in files:
        print(f"{os.path.join(out, f)}: {os.path.getsize(os.path.join(out, f))} bytes")
    if args.check:
        diff = [f for f in files if not filecmp.cmp(os.path.join(out, f),
                                                    os.path.join(args.out, f), shallow=False)]
        print("fixtures up to date" if not diff else f"fixtures differ: {diff}")
        return 1 if diff else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
