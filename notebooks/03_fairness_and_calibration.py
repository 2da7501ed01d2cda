# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 Fairness and calibration
#
# > **Retrospective audit and research only.** This notebook works on a **synthetic** cohort (invented children, invented calendar 2101-2103; the ethnic groups are synthetic labels `group_1` .. `group_5`). It is not a decision about any child, family or person, and nothing in it may be used to make one (UK GDPR article 22; any use on real records needs a data protection impact assessment).
#
# A model that discriminates well can still be miscalibrated, and a model that
# is calibrated overall can still be miscalibrated, or alert at very different
# rates, for some groups. This notebook checks calibration (overall and by
# group), the effect of class weighting and recalibration, and subgroup metrics
# by sex, ethnic group and deprivation quintile, with intervals that resample
# children and with disclosure control applied.
#
# **Synthetic outcome rates are far above real ones**, so precision (PPV)
# here flatters; real PPV would be much lower.

# %%
# %matplotlib inline
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

# tqdm's notebook progress bars need ipywidgets; without it tqdm says so on import
warnings.filterwarnings("ignore", message="IProgress not found")
import riskscore as rs  # noqa: E402
from riskscore import plots  # noqa: E402

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)
pd.set_option("display.max_colwidth", 90)
plt.rcParams["figure.dpi"] = 80
# every file this notebook writes goes to a temporary folder, never into the repository
workdir = Path(tempfile.mkdtemp(prefix="riskscore-notebook-"))
print("riskscore", rs.__version__, "| files written to a temporary folder")

# %%
events, cases = rs.make_cohort(3000, random_state=2103)
ts = rs.make_training_set(events, cases, grid="90D")
print(
    f"{len(ts.y):,} rows, {len(np.unique(ts.case_ids)):,} synthetic children, "
    f"outcome within a year in {ts.y.mean():.2%} of rows"
)
cases[["sex", "ethnic_group", "imd_quintile"]].astype(str).describe()

# %% [markdown]
# ## 1. Calibration: class weighting must be followed by recalibration
#
# Weighting the rare class makes a model over-predict. `LogisticRiskModel`
# recalibrates the intercept after class weighting by default so that its
# probabilities stay honest. Three fits, the same splits:
#
# * plain (no weighting),
# * `class_weight="balanced"` with recalibration (the default),
# * `class_weight="balanced"` with `recalibrate=False` (deliberately wrong).
#
# Calibration intercept ("in the large") should be near 0 and slope near 1.

# %%
variants = {
    "plain": rs.LogisticRiskModel(penalty="l2"),
    "balanced + recalibrated": rs.LogisticRiskModel(penalty="l2", class_weight="balanced"),
    "balanced, not recalibrated": rs.LogisticRiskModel(
        penalty="l2", class_weight="balanced", recalibrate=False
    ),
}
table = rs.compare_models(variants, ts, cv=5, n_boot=50, random_state=0)
results = table.attrs["results"]
table[
    table["metric"].isin(
        ["auroc", "calibration_intercept", "calibration_slope", "mean_predicted", "observed_rate"]
    )
].round(3)

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
for ax, (name, res) in zip(axes, results.items(), strict=True):
    plots.plot_calibration(res, ax=ax)
    ax.set_title(name + "\n" + ax.get_title(), fontsize=9)

# %% [markdown]
# The calibration table behind each plot passes disclosure control: counts
# are rounded to 5, bins merged where a small count could be worked out, and the
# observed rate computed from the published counts.

# %%
display(results["plain"].calibration)

# %% [markdown]
# ## 2. Subgroup metrics
#
# `evaluate(..., cases=cases)` runs the subgroup audit (its estimates equal
# fairlearn's `MetricFrame`, checked in the tests) on the out-of-fold predictions at the first alert
# rate (5% of rows here): alert rate, true and
# false positive rates, PPV, AUROC, observed and mean predicted risk and the
# observed/expected ratio, each with a case-bootstrap interval and a ratio to
# the reference group (the largest, by default). Rows resting on fewer than 10
# children or events are suppressed.

# %%
res = rs.evaluate(
    rs.LogisticRiskModel(penalty="l2"),
    ts,
    cv=5,
    n_boot=50,
    alert_rates=(0.05,),
    cases=cases,
    random_state=0,
)
sub = res.subgroups
print(f"alert threshold: probability >= {sub.attrs['threshold']:.3f} (5% of rows alerted)")
print("suppressed rows:", int(sub["estimate"].isna().sum()), "of", len(sub))
sub[sub["metric"].isin(["selection_rate", "tpr", "ppv", "oe_ratio"])][
    [
        "attribute",
        "group",
        "metric",
        "estimate",
        "lower",
        "upper",
        "ratio",
        "ratio_lower",
        "ratio_upper",
        "reference",
        "n_cases",
    ]
].round(3)

# %%
fig, ax = plt.subplots(figsize=(8, 7), layout="constrained")
plots.plot_subgroups(sub, ax=ax, metrics=("selection_rate", "tpr", "oe_ratio"))
plt.show()

# %% [markdown]
# ## 3. By deprivation quintile
#
# The question the design insists on: does the score track deprivation? Alert
# rate, sensitivity, PPV and calibration (observed/expected) by deprivation
# quintile (1 = most deprived), with intervals. A higher alert rate in quintile
# 1 can reflect a genuinely higher outcome rate there; the observed/expected
# ratio shows whether the *probabilities* are right in each quintile.

# %%
dep = sub[sub["attribute"] == "imd_quintile"]
wide = dep.pivot_table(index="group", columns="metric", values="estimate", aggfunc="first")
cols = ["selection_rate", "tpr", "ppv", "observed_rate", "mean_predicted", "oe_ratio"]
wide[cols].round(3)

# %% [markdown]
# The default scorecard has one rule that is a poverty indicator
# (`hardship_12m`). Dropping it and comparing the alert rate by quintile, at
# the same overall alert rate (the 5% of rows with the most points), shows how
# much of the gradient across quintiles that rule drives. At a fixed share of
# rows alerted only the ranking of the scores matters, so the points (scaled to
# 0-1) go straight into `subgroup_metrics`; no points-to-risk mapping is needed.

# %%
card = rs.default_scorecard()
no_hardship = rs.RuleScorecard(
    [r for r in card.rules if r.feature != "hardship_12m"],
    bands=card.bands,
    name="without hardship rule",
)
quintile = cases.set_index(cases["case_id"].astype(str))["imd_quintile"]
row_quintile = quintile.reindex(pd.Index(ts.case_ids).astype(str)).reset_index(drop=True)
rates = {}
for name, model in {"default scorecard": card, "without hardship rule": no_hardship}.items():
    points = model.risk_score(ts.X).to_numpy()
    t = rs.subgroup_metrics(
        ts.y,
        points / points.max(),
        row_quintile.rename("imd_quintile"),
        alert_rate=0.05,
        case_ids=ts.case_ids,
        n_boot=50,
        random_state=0,
    )
    t = t[t["metric"].eq("selection_rate")].set_index("group")
    rates[name] = t["estimate"]
    rates[f"{name}: ratio to quintile {t['reference'].iloc[0]}"] = t["ratio"]
pd.DataFrame(rates).round(3)

# %% [markdown]
# ## 4. The cohort audit by deprivation
#
# The retrospective audit itself (default scorecard) by deprivation quintile:
# share of children reaching `multi_agency_discussion`, share with a join-up
# gap, and median lead time, all after disclosure control (suppressed cells are
# drawn as labelled gaps).

# %%
cohort = rs.audit_cohort(events, cases, card)
display(cohort["by_deprivation"])
fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
plots.plot_by_deprivation(cohort, ax=ax)
plt.show()

# %% [markdown]
# ## Take-aways
#
# * Class weighting without recalibration inflates every probability; the
#   default recalibration restores calibration-in-the-large.
# * Report calibration and alert rates by group, not just overall, and always
#   by deprivation quintile.
# * Intervals resample children; small groups are suppressed before anything
#   leaves the secure environment.
# * Synthetic outcome rates flatter precision: none of these PPVs describes a
#   real population.
