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
# # 02 Train and validate a model
#
# > **Retrospective audit and research only.** This notebook works on a **synthetic** cohort (invented children, invented calendar 2101-2105). It is not a decision about any child, family or person, and nothing in it may be used to make one (UK GDPR article 22; any use on real records needs a data protection impact assessment).
#
# From an anonymised cohort to a validated logistic model: honest labels,
# validation grouped by child and in time, intervals that resample children,
# calibration, decision curves, a comparison with the default scorecard and an
# integer-points version, metrics by deprivation quintile, and a model file
# with a model card.
#
# **Synthetic outcome rates are far above real ones.** About 2% of these
# synthetic children have an outcome; the serious outcomes that reviews look at
# are far rarer in real populations. Precision (PPV, AUPRC) rises with the
# outcome rate, so the precision figures here flatter any real use.

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

# %% [markdown]
# ## 1. Cohort and training set
#
# Each child is sampled every 90 days from the first event; the label is
# "outcome within 365 days after T". A row is labelled only when its whole
# horizon was observed (or the outcome itself ended follow-up, a death): rows
# cut off by the end of the extract are excluded *whatever their outcome*, and
# so are rows whose 12-month windows reach back before the child's first record
# (less than a year of history would make 12-month counts look reassuring).
# Both are counted, not silently dropped. The exclusion table holds exact
# counts, so it passes disclosure control before it is shown. Five synthetic
# years leave three to label.

# %%
events, cases = rs.make_cohort(3000, random_state=2102, years=5)
ts = rs.make_training_set(events, cases, grid="90D", horizon=365)
print(
    f"{len(ts.y):,} rows from {len(np.unique(ts.case_ids)):,} synthetic children; "
    f"{ts.y.mean():.2%} of rows have the outcome within the horizon"
)
rs.disclose(ts.excluded, count_columns=["n_rows", "n_cases"])

# %% [markdown]
# ## 2. Fit a logistic model and read its odds ratios
#
# A ridge-penalised `LogisticRiskModel` on the whole catalogue (missing values
# get an indicator; the penalty acts on standardised features, so it does not
# depend on units). Odds ratios are per the unit in the `unit` column (per 10
# percentage points for attendance). A penalised fit has no Wald or
# cluster-robust interval, so the intervals come from refits on bootstrap
# samples of whole children, because the rows of one child are not independent;
# the `interval` column says so.

# %%
model = rs.LogisticRiskModel(penalty="l2", C=1.0).fit(ts.X, ts.y, case_ids=ts.case_ids)
ors = model.odds_ratios(
    ts.X, ts.y, ci="bootstrap", n_boot=50, case_ids=ts.case_ids, random_state=0, progress=False
)
ors.round(2)

# %% [markdown]
# ## 3. Validation grouped by child
#
# Five-fold cross-validation in which no child is ever on both sides of a
# split; the model is refitted on each training fold and judged on the
# out-of-fold predictions. Intervals are percentile intervals from resampling
# children in those predictions (50 replicates here to keep the notebook fast;
# use 200 or more for publication).

# %%
result = rs.evaluate(
    model, ts, cv=5, n_boot=50, alert_rates=(0.05, 0.01, 0.1), cases=cases, random_state=0
)
m = result.metrics.set_index("metric")
print(
    f"AUROC {m.loc['auroc', 'estimate']:.3f} (95% CI {m.loc['auroc', 'lower']:.3f} "
    f"to {m.loc['auroc', 'upper']:.3f})"
)
print(
    f"AUPRC {m.loc['auprc', 'estimate']:.3f} (95% CI {m.loc['auprc', 'lower']:.3f} "
    f"to {m.loc['auprc', 'upper']:.3f}) -- flattered by the synthetic outcome rate"
)
result.metrics.round(4)

# %% [markdown]
# Is the sample large enough for a model with this many parameters? The Riley et
# al. (2020) criteria, with the children (not the rows) as the effective sample:
# `evaluate` warns and adds a note when they are not met, as here.

# %%
print(
    result.sample_size.attrs["n_parameters"],
    "parameters;",
    result.sample_size.attrs["cases"],
    "children",
)
display(result.sample_size)

# %% [markdown]
# On synthetic data we know the truth: the generator's own log-odds give the
# best discrimination any model could reach on these rows, a ceiling for the
# fitted model's AUROC.

# %%
from sklearn.metrics import roc_auc_score  # noqa: E402

from riskscore.synthetic import true_linear_predictor  # noqa: E402

print(
    f"AUROC of the generator's true risk on the same rows: "
    f"{roc_auc_score(ts.y, true_linear_predictor(ts.X)):.3f}"
)

# %% [markdown]
# ## 4. Calibration, decision curve, ROC
#
# Calibration plots observed against predicted risk in tenths of predicted risk
# (under disclosure control, neighbouring bins are merged until none could be
# worked out from the other tables). The decision curve shows net benefit
# against alerting everyone or no one across threshold probabilities; only
# thresholds where the model beats both are worth discussing (thresholds whose
# counts would differ from a neighbour's by a small count are suppressed).

# %%
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
plots.plot_calibration(result, ax=axes[0])
plots.plot_decision_curve(result, ax=axes[1])
plots.plot_roc(result, ax=axes[2])
plt.show()

# %% [markdown]
# Sensitivity and PPV at fixed alert rates (the share of rows flagged, highest
# predicted risk first) and at the model's band thresholds. PPV depends on the
# outcome rate: with a real, much lower rate it would be much lower.

# %%
display(result.alerts)

# %% [markdown]
# ## 5. Temporal validation
#
# Train on the past, test on the future: training rows need `as_of + horizon`
# before the cut, test rows start after it, and no child is on both sides.

# %%
temporal = rs.evaluate(model, ts, cv="temporal", n_boot=50, random_state=0)
print(temporal.design["validation"])
print(temporal)

# %% [markdown]
# ## 6. Compare: default scorecard, logistic model, integer points
#
# The same splits and the same bootstrap replicates for all three. The
# scorecard keeps its expert-set points; only its points-to-risk mapping is
# fitted on each training fold.

# %%
table = rs.compare_models(
    {
        "default scorecard": rs.default_scorecard(),
        "logistic": rs.LogisticRiskModel(penalty="l2"),
        "integer points": rs.IntegerPointsModel(rs.LogisticRiskModel(penalty="l2")),
    },
    ts,
    cv=5,
    n_boot=50,
    random_state=0,
)
display(plots.plot_model_comparison(table))
table[table["metric"].isin(["auroc", "auprc", "calibration_slope"])].round(3)

# %% [markdown]
# Paired differences against the first model (the default scorecard): each
# model minus the scorecard on the same rows, with intervals from the same
# resamples of children, so that what the rows share cancels out.

# %%
table.attrs["differences"].round(4)

# %% [markdown]
# The integer-points version of the fitted model, as a scorecard a person can
# read. Its points-to-risk table (`points_table_`) holds exact counts and stays
# inside the secure environment; the version that may leave (and that goes into
# a model card) passes disclosure control: totals with fewer than 10 rows, events
# or rows without an event are suppressed (`<NA>`), the rest rounded to 5.

# %%
points = model.to_scorecard(ts.X, ts.y, max_points=20, name="synthetic-points")
print(points)
rs.disclose(
    points.points_table_[["points", "n", "events", "observed_risk", "predicted_risk"]],
    count_columns=["n", "events"],
    rate_columns={"observed_risk": ["events", "n"]},
    total_columns=[("n", ["events"])],  # the rows without the outcome are a count too
    by="points",
)

# %% [markdown]
# ## 7. By deprivation quintile
#
# Indicators of poverty (hardship, police contact, missed appointments) can
# make a score track deprivation. The subgroup audit (at the first alert rate,
# 5% of rows) reports each metric by
# deprivation quintile (1 = most deprived) with ratios to the reference group,
# after disclosure control: a row resting on fewer than 10 children or events
# is suppressed (`<NA>`).

# %%
dep = result.subgroups[result.subgroups["attribute"] == "imd_quintile"]
wide = dep.pivot_table(index="group", columns="metric", values="estimate", aggfunc="first")
display(
    wide[["selection_rate", "tpr", "ppv", "observed_rate", "mean_predicted", "oe_ratio"]].round(3)
)
print("suppressed cells:", int(dep["estimate"].isna().sum()), "of", len(dep))
dep[dep["metric"].isin(["selection_rate", "tpr"])][
    ["group", "metric", "estimate", "lower", "upper", "ratio", "n_cases"]
].round(3)

# %% [markdown]
# ## 8. Train, validate and write the model file in one call
#
# `train_model` fits on the whole set, validates the same procedure by
# cross-validation and fills a model card (data, outcome and horizon,
# validation design, metrics with intervals, calibration, subgroups including
# deprivation, intended use and limitations). The file is readable JSON and
# goes to a temporary folder here.

# %%
final, final_eval = rs.train_model(
    events, cases, penalty="l2", cv=5, n_boot=50, name="notebook-demo", random_state=0
)
path = rs.save_model(final, workdir / "notebook-demo.json", model_card=final.model_card_)
reloaded = rs.load_model(path)
print(path.name, "| model card sections:", ", ".join(final.model_card_))
print("intended use:", final.model_card_["intended_use"][:200])
