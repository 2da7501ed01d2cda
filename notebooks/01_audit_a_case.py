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
# # 01 Audit a case: the fictional Child A, step by step
#
# > **Retrospective audit and research only.** This notebook works on **fictional** data: "Child A" is a fictional composite on an invented calendar (2101-2103), inspired by themes that published serious case reviews share; it is not a reconstruction of, and not about, any real child or family. It is not a decision about any child, family or person, and nothing in it may be used to make one (UK GDPR article 22; any use on real records needs a data protection impact assessment).
#
# A case audit asks of one past case, with evidence: *when did the warning signs
# become visible, to whom, and did anyone act?* It is individual-level output:
# **everything in this notebook about the case would have to stay inside the
# secure environment** if the case were real.
#
# Steps: load the case; read the scorecard; audit; look at the timeline and the
# scores; find the join-up gap (days on which only the joined-up record reached
# a band); see what contributed at each crossing and who held it; find the
# missed opportunities; compare with a logistic model; write the HTML report.

# %%
# %matplotlib inline
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
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
# ## 1. The case
#
# `vignette()` returns the events and a one-row cases table. The cases table
# flags the case as fictional and carries the note.

# %%
events, cases = rs.vignette()
print(cases.attrs["note"])
display(cases)

# %%
print(
    f"{len(events)} events from {events['date'].min():%Y-%m-%d} to {events['date'].max():%Y-%m-%d}"
)
pd.crosstab(events["event"].astype(str), events["agency"].astype(str))

# %% [markdown]
# ## 2. The model: the default rule scorecard
#
# The shipped scorecard encodes the review's themes as rules with expert-set
# points (not fitted). Each rule cites the finding it encodes and names the
# agencies that held the information. The audit bands are `review` (4 points)
# and `multi_agency_discussion` (10 points): the questions a retrospective audit
# asks, not instructions for live cases.

# %%
card = rs.default_scorecard()
print(card.bands)
display(card.summary)

# %% [markdown]
# ## 3. Audit
#
# `audit_case` computes the score on a 14-day grid *and* on every date a
# feature can change, for the joined record and for each agency's own view (what
# that agency could have known alone). Features on a date see only events on or
# before it (and recorded by then), so the audit is honest about what was
# knowable when.

# %%
audit = rs.audit_case(events, cases, card, "CHILD-A")
print(audit.summary())

# %% [markdown]
# ## 4. The timeline: who saw what
#
# One lane per agency with the events it recorded. Responses (referrals,
# meetings, plan starts) are black stars, so what agencies *did* stands apart
# from what they saw. The vertical lines are the (fictional) child protection
# plan and the outcome.

# %%
fig, ax = plt.subplots(figsize=(12, 5), layout="constrained")
plots.plot_case_timeline(audit, ax=ax)
plt.show()

# %% [markdown]
# ## 5. Scores over time, joined and per agency
#
# The thick line is the joined score; the thinner lines are each agency's own
# score. Shaded days are the **join-up gap**: the joined score was in a band
# that no single agency's view reached. Triangles mark band crossings; a red
# cross marks a missed opportunity.

# %%
fig, ax = plt.subplots(figsize=(12, 5), layout="constrained")
plots.plot_case_scores(audit, ax=ax)
plt.show()

# %% [markdown]
# ## 6. The join-up gap, in numbers
#
# For each view: the first date it reached each band, and the highest band it
# ever reached. Then the gap, and how long before the fictional child protection
# plan the joined-up record reached `multi_agency_discussion`.

# %%
plan = audit.events.loc[audit.events["event"].astype(str).eq("cp_plan_start"), "date"].min()
rows = []
for view in [None, *rs.AGENCIES]:
    col = "band" if view is None else f"band_{view}"
    rows.append(
        {
            "view": "joined" if view is None else view,
            "first review": audit.first_crossing("review", view),
            "first multi_agency_discussion": audit.first_crossing("multi_agency_discussion", view),
            "highest band": audit.trajectory[col].max(),
        }
    )
display(pd.DataFrame(rows))
mad = audit.first_crossing("multi_agency_discussion")
print(
    f"Join-up gap: {audit.join_up_gap_days} days on which only the joined record reached its band"
)
print(
    f"Joined view reached multi_agency_discussion on {mad:%Y-%m-%d}, "
    f"{(plan - mad).days} days before the child protection plan ({plan:%Y-%m-%d})"
)
print(
    f"Days at multi_agency_discussion, joined: {audit.days_in_band()}; "
    f"best single agency: {max(audit.days_in_band(agency=a) for a in rs.AGENCIES)}"
)

# %% [markdown]
# ## 7. Crossings, and what contributed
#
# Each crossing is exact to the day. For each, the rules that contributed and
# the agencies whose own records held that information on that day
# ("only when joined" means no single agency held it alone).

# %%
display(audit.crossings)
audit.contributions.merge(audit.crossings[["date", "band"]], left_on="crossing", right_index=True)[
    ["date", "band", "contributor", "contribution", "held_by"]
]

# %% [markdown]
# ## 8. Missed opportunities
#
# A crossing is a missed opportunity when no response (referral, early help,
# strategy meeting, conference, plan start) followed from the crossing day
# through 28 days after, and no plan was already active.

# %%
audit.missed_opportunities[["date", "band", "score", "contributors", "followed_by"]]

# %% [markdown]
# ## 9. Lead time
#
# Lead time is the outcome date minus the first crossing of each band. On its
# own it flatters: a score that is always high has long lead times. Cohort
# audits therefore report false alarms beside it (see notebook 00 and 03).

# %%
display(audit.lead_times)

# %% [markdown]
# ## 10. The same audit with a logistic model
#
# Audits take either model kind. The shipped `synthetic-logistic-v2` was fitted
# on a synthetic cohort (demonstration only); its score is log-odds and its bands
# are probabilities. A different model can tell a different story: compare the
# first crossings.

# %%
logistic = rs.load_model("synthetic-logistic-v2")
audit_lr = rs.audit_case(events, cases, logistic, "CHILD-A")
print(audit_lr.summary())
fig, ax = plt.subplots(figsize=(12, 4.5), layout="constrained")
plots.plot_case_scores(audit_lr, ax=ax)
plt.show()

# %% [markdown]
# ## 11. The HTML report
#
# `rs.write_report` writes one self-contained HTML file with the figures embedded.
# The page says at the top that it is a retrospective audit and not a decision
# about any person, and that it is individual-level and must stay in the secure
# environment. Here it goes to a temporary folder.

# %%
path = rs.write_report(audit, workdir / "child_a.html")
page = path.read_text(encoding="utf-8")
print(f"wrote {path.name}: {len(page) // 1024} KiB, {page.count('<img')} embedded figures")
print("says it is not a decision:", "not a decision about any child or family" in page)
print("says it stays in the secure environment:", "secure environment" in page)

# %% [markdown]
# ## What the audit shows
#
# Each agency held part of the picture and no single agency's view reached
# `multi_agency_discussion`; the joined record reached it long before the
# fictional child protection plan, and the first crossing into `review` was not
# followed by any response within 28 days. This is what a retrospective audit
# is for: learning, with evidence, about how information was joined up. It is
# not a judgement about any person, and Child A is fictional.
