"""Synthetic cohorts with a known truth, and the fictional "Child A" vignette.

Everything here is invented: no record, date or person is real. The calendar is the
project's invented one (years 2101-2110). Synthetic cohorts exist so that the whole
pipeline (validation, features, models, audits, evaluation) can be exercised and
benchmarked on data whose generating process, and so whose right answer, is known.

Generative model of :func:`make_cohort`
=======================================

Time runs over a *span* of ``years`` calendar years from ``start``: day 0 is
``start`` and the span has ``D`` days (day ``D - 1`` is its last day). Case number
``k`` (0-based) has the id ``"C"`` followed by ``k + 1`` in at least seven digits.

Randomness (per-case seeds)
---------------------------
Every random number is a uniform ``u = hash(seed, case number, stream, draw)`` from a
counter-based generator (the splitmix64 finaliser applied twice to 64-bit words
mixing the four keys), where ``stream`` names the quantity drawn (for example
``"latent.drug"`` or ``"school_concern.all.date"``) and ``draw`` counts draws of that
quantity within the case. A case's data therefore depend only on ``random_state``
and its own case number: any subset or chunk of a cohort, generated on its own with
``case_range``, equals the same cases cut out of the whole cohort. Generation is
vectorised over the cases of a chunk.

Latent family circumstances (one draw per case)
-----------------------------------------------
Bernoulli(p) means "true with probability p"; U(a, b) is uniform on [a, b).

- ``imd_quintile`` q in 1..5 with probabilities (0.30, 0.25, 0.20, 0.15, 0.10): the
  cohort stands for children known to services, who skew towards deprived areas.
- *hardship* H ~ Bernoulli((0.50, 0.35, 0.25, 0.15, 0.08)[q - 1]).
- *parental drug use* G ~ Bernoulli(0.10 + 0.12 H). Onset day ``max(0, U(-D, D))``:
  about half the users are using when the record starts. It lasts to the span end.
- *drug treatment* T ~ Bernoulli(0.6) among users; contacts run from onset +
  U(30, 180) days for U(180, 720) days.
- *domestic abuse* A ~ Bernoulli(0.03 + 0.08 G + 0.03 H); onset ``max(0, U(-D, D))``.
- *siblings removed* (history) S ~ Bernoulli(0.01 + 0.20 G + 0.01 H); 1 or 2 (with
  probability 0.4) ``sibling_removed`` records dated U(0, 365): historic removals
  entered early in the record.
- *father involved* F ~ Bernoulli(0.70 - 0.20 G); *loss* L ~ Bernoulli(F (0.06 +
  0.20 G + 0.15 A)) on day U(0, D); *restoration* with probability 0.3, U(90, 720)
  days after the loss.
- *competing care demand* C ~ Bernoulli(0.05 + 0.10 G + 0.05 H) (for example an older
  sibling and her baby needing the carer), from day U(0, D) for U(180, 540) days.
- *asthma* ~ Bernoulli(0.18 + 0.07 H); severity mild / moderate / severe with
  probabilities 0.6 / 0.3 / 0.1 (levels 1 / 2 / 3, level 0 without asthma).
- *not enrolled at school* (no attendance records) ~ Bernoulli(0.02).
- *severe absence episode* (generator 2) ~ Bernoulli(0.04 + 0.10 G + 0.03 H + 0.03 C),
  from day U(0, D) for 60..299 days.
- *previous child protection plan* P (generator 2; history) ~ Bernoulli(0.01 + 0.08 G +
  0.10 S + 0.01 H): a ``cp_plan_start`` on day U(0, 180) (a previous plan, entered
  when the record opens) and its ``cp_plan_end`` 90..364 days later.
- ``birth_year`` = start year - U{5..11}; ``sex`` female / male with probabilities
  0.49 / 0.51; ``ethnic_group`` ``group_1`` .. ``group_5`` with probabilities (0.70,
  0.10, 0.08, 0.07, 0.05). **These group labels are synthetic placeholders**, not
  any real classification; they exist so subgroup audits have something to split on.
  Sex and ethnic group drive nothing.

Each circumstance is active on an interval of days (empty when absent): ``all``
(the whole span), ``hardship`` (the whole span if H), ``drug`` (onset to end),
``pre_drug`` (day 0 to the onset, the whole span for non-users), ``treatment``,
``abuse``, ``father_lost`` (loss to restoration or the span end), ``competing``,
``asthma`` (the whole span for children with asthma), ``severe_absence`` (the
episode; never in generator 1).

Risk events
-----------
Each event type is a Poisson process whose rate (events per year) is the sum of the
terms in the table below, each term applying while its circumstance is active (a
piecewise-constant rate, drawn as a superposition of homogeneous Poisson processes on
the intervals, dates uniform within each). Asthma terms have one rate per severity
level (mild, moderate, severe).

{RATE_TABLE}

Events with more than one possible recording agency draw it from the mix listed.
Point events: ``paternal_involvement_lost`` / ``_restored`` on the loss and
restoration days (recorded by probation 0.4, social care 0.3, school 0.2, police
0.1), ``sibling_removed`` as above.

``attendance`` is recorded at the end of each school half-term (about 6 a year: days
42 + 61 j + a per-case offset U{0..6}) for enrolled children, with ``value`` = the
fraction of sessions attended, ``clip(b - 0.12 drug - 0.05 abuse - 0.05 competing -
0.04 father_lost - 0.03 H - 0.02 severity - 0.50 severe_absence + 0.012 logit(v), 0,
1)`` rounded to 3 decimals, where each circumstance counts 1 if active on that day, b = 0.965 + 0.01
logit(w) is a per-case baseline and v, w are uniforms (logistic noise).

Derived events (each trigger independently; a delay ``lo..hi`` is a whole number of
days drawn uniformly from ``lo`` to ``hi`` inclusive, as are all ranges written so):

- ``asthma_plan_review`` after ``asthma_admission`` (follow-up after discharge):
  probability 0.6, or 0.2 while ``drug`` is active, delay 2..42 (generator 1: 0.5, or
  0.15, delay 7..42); recorded by gp 0.7 or hospital 0.3. With the plan reviews of
  the rate table, about 38% of admissions are followed by a review within 28 days
  (generator 1: about 31%), as measured on 20,000 generated cases.
- ``school_referral`` after ``school_concern``: probability 0.15; delay 0..7.
- ``social_care_referral`` (recorded by the trigger's agency) after
  ``police_incident_home`` 0.15, ``domestic_abuse_incident`` 0.30,
  ``school_concern`` 0.08, ``child_voice_concern`` 0.15, ``asthma_admission`` 0.05,
  ``parent_substance_use`` 0.10; delay 0..14. Also a background of 0.05 referrals a
  year for every child (from any agency), so that low-risk children are referred too.
- A copy of 30% of ``police_incident_home`` and ``domestic_abuse_incident`` records
  made by social care on the same date (shared by police), recorded U{1..60} days
  later. Same case, date, event and value: the features count them once.

Responses to referrals
----------------------
Each referral leads, with severity ``v = G + A + 0.5 S + 0.5 C + 0.3 H + 0.5 P``, to a
child protection route with probability ``min(0.05 + 0.10 v, 0.5)``, a child in need
plan with probability ``min(0.15 + 0.05 v, 0.4)``, early help with probability 0.3,
and otherwise no further action. Early help: ``early_help_start`` 7..30 days later.
Child in need: ``cin_plan_start`` 20..60 days later, with a ``strategy_meeting``
1..5 days after the referral with probability 0.3. Child protection:
``strategy_meeting`` 0..3 days after the referral, ``cp_conference`` 10..15 days
after that and, with probability 0.85, ``cp_plan_start`` on the conference day. Only
the first child in need plan and the first child protection plan of a case are kept;
a child in need plan is kept only if it starts before any child protection plan and
it ends at the earlier of its own end (start + 90..365 days) and the child protection
plan's start (a step-up). ``cp_plan_end`` is 180..539 days after the plan start. While a
previous plan (P) runs, referrals start no plan: the first plan of either kind after
it starts after its end (so a child may have two child protection plans).
Plan ends after the follow-up end do not appear.

Recording delays (``recorded_date``)
------------------------------------
``recorded_date`` is missing (the event was recorded on its date) except: 70% of the
circumstance records made by social care (``parent_substance_use``,
``paternal_involvement_lost`` / ``_restored``, ``competing_care_demand``,
``child_voice_concern``, ``economic_hardship`` and ``sibling_removed`` recorded by
social care) are recorded at the end of a children-in-need assessment, 10..45 days
after the event; and the social-care copies of police records above. Overall about
3% of events carry a ``recorded_date``.

Outcome (the known truth)
-------------------------
Each case has an ``index_date`` drawn uniformly from day 90 to day ``D - 366`` (so
that there is a first attendance period before it and a full year after it). With
``x`` = :func:`riskscore.encode_features` (default 90-day recent window) of the
case's events as of ``index_date`` (generator 1: of its risk events only, leaving
out the derived records - follow-up plan reviews, referrals, plans - so its
``no_asthma_plan_12m`` could differ from the data's; generator 2: of every record
made before the outcome), and a missing feature value counted as 0 (a
missing attendance flag adds nothing), the probability of an outcome within 365
days after ``index_date`` is::

    P = expit(TRUE_INTERCEPT + logit(outcome_rate) - logit(0.02)
              + sum(TRUE_LOG_ODDS[f] * x[f] for f in TRUE_LOG_ODDS))

(:func:`true_linear_predictor` computes the argument of ``expit``; generator 1 uses
``TRUE_INTERCEPT_V1`` and ``TRUE_LOG_ODDS_V1``, generator 2 adds ``severe_absence``,
``asthma_admissions_no_followup_12m``, ``preventer_underuse_12m`` and
``cp_plans_ever``). Each intercept was calibrated, on 100,000 cases, so that about 2%
of cases have an outcome at the default ``outcome_rate=0.02``; the shift by ``logit(outcome_rate) - logit(0.02)``
moves the rate approximately to other values. The outcome kind is drawn
independently of the features: children with asthma get ``life_threatening_asthma``
/ ``serious_harm`` / ``death`` with probabilities 0.6 / 0.3 / 0.1, others
``serious_harm`` / ``death`` with 0.9 / 0.1. ``outcome_date`` = ``index_date`` +
U{1..365} days.

**Real rates are far lower.** Deaths and serious harm are rare events; synthetic
rates of 1-3% are chosen so that models can be fitted on modest cohorts, and they
make precision (PPV), net benefit and alert yields look far better than they would
on real data. Do not quote synthetic precision as evidence about real services.

The true model holds exactly at the index date only. Labels on other as-of dates
(as :mod:`riskscore` evaluations build them) are related to features through it,
but not by exactly these log-odds.

After a non-fatal outcome, a ``social_care_referral`` follows 0..2 days later with
probability 0.8 (from the hospital for asthma, else police, hospital or school),
and a ``strategy_meeting`` 1..5 days after that with probability 0.6.

Follow-up and truncation
------------------------
``followup_end`` is the last day of the span, or the date of death. The generator
drops every event dated after the case's ``followup_end``, and every event whose
``recorded_date`` falls after the span end (not yet in the record when the extract
was taken); what is returned never runs past follow-up.

Generator versions
------------------
``make_cohort(..., generator=2)`` is the default. Generator 1 is the original model,
kept byte for byte so that what was built on it rebuilds exactly
(``synthetic-logistic-v1``, the illustration on ``review-rules-v1``'s card). In it
severe absence never happens (the lowest recent attendance mean is about 0.6) and no
child has more than one child protection plan. Generator 2 adds the severe absence
episode, previous child protection plans and more, earlier discharge follow-up, and
its truth reads the catalogue v2 features. Every draw the two share comes from the
same stream, so the same seed gives the same children; the additions and what they
change (attendance, plans, follow-up reviews, outcomes) differ.

Returned tables follow the data contract (``riskscore.vocabulary``): events sorted
by case, date, event, agency; ``case_id``, ``agency`` and ``event`` are pandas
categoricals (agency and event with the full vocabulary as categories) to keep
memory low; ``cases`` has the extra column ``index_date``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from numbers import Integral
from types import MappingProxyType

import numpy as np
import pandas as pd

from riskscore._dispatch import backend
from riskscore._params import COUNT, POSITIVE_INT, UNIT_OPEN, Interval, Options, validate_params
from riskscore.disclosure import mark_synthetic
from riskscore.errors import ParameterError, SchemaError
from riskscore.features import encode_features
from riskscore.schema import declare_valid
from riskscore.vocabulary import AGENCIES, EVENTS, FEATURES

__all__ = [
    "make_cohort",
    "vignette",
    "true_linear_predictor",
    "TRUE_LOG_ODDS",
    "TRUE_INTERCEPT",
    "TRUE_LOG_ODDS_V1",
    "TRUE_INTERCEPT_V1",
    "GENERATOR",
    "VIGNETTE_NOTE",
    "SYNTHETIC_NOTE",
]

#: True log-odds per feature unit of generator 1 (see the module docstring).
TRUE_LOG_ODDS_V1: Mapping[str, float] = MappingProxyType(
    {
        "parental_substance_use_12m": 0.9,
        "persistent_absence": 0.5,
        "school_concerns_12m": 0.15,
        "asthma_admissions_12m": 0.5,
        "asthma_admission_28d": 0.8,
        "no_asthma_plan_12m": 0.7,
        "reliever_overuse_12m": 0.8,
        "paternal_involvement_lost": 0.5,
        "siblings_removed": 0.4,
        "police_incidents_home_12m": 0.2,
        "competing_care_12m": 0.4,
        "child_voice_concerns_12m": 0.3,
    }
)

#: Intercept of generator 1's true model at the default ``outcome_rate=0.02``.
TRUE_INTERCEPT_V1: float = -5.03

#: True log-odds per feature unit of the synthetic outcome, generator 2 (the default):
#: generator 1's terms plus severe absence, admissions without follow-up, preventer
#: under-use and child protection plans (see the module docstring).
TRUE_LOG_ODDS: Mapping[str, float] = MappingProxyType(
    {
        **TRUE_LOG_ODDS_V1,
        "severe_absence": 0.6,
        "asthma_admissions_no_followup_12m": 0.4,
        "preventer_underuse_12m": 0.3,
        "cp_plans_ever": 0.3,
    }
)

#: Intercept of the true model (generator 2) at the default ``outcome_rate=0.02``.
TRUE_INTERCEPT: float = -5.2

#: Generator version -> (true log-odds, true intercept at outcome_rate=0.02).
_TRUTH = {1: (TRUE_LOG_ODDS_V1, TRUE_INTERCEPT_V1), 2: (TRUE_LOG_ODDS, TRUE_INTERCEPT)}
#: The generator make_cohort uses unless told otherwise.
GENERATOR = 2

_REFERENCE_RATE = 0.02

#: Says, wherever the vignette is used, that Child A is not a real child.
#: What outputs made from :func:`make_cohort` data say about them.
SYNTHETIC_NOTE: str = (
    "SYNTHETIC DATA generated by riskscore.make_cohort: invented children on an invented "
    "calendar; outcome rates are far above real ones, so precision looks far better than it "
    "would on real records. Not evidence about any real child or family."
)

VIGNETTE_NOTE: str = (
    "Child A is a fictional composite on an invented calendar (2101-2103), inspired by "
    "themes that published serious case reviews share. It is not a reconstruction of, "
    "and not about, any real child or family."
)

_EVENT_CODES = {name: i for i, name in enumerate(EVENTS)}
# The running pandas' default text dtype ("str" on pandas 3, object before), so that
# missing text stays missing rather than becoming the string "None".
_TEXT = pd.Series(["text"]).dtype
_AGENCY_CODES = {name: i for i, name in enumerate(AGENCIES)}

# ------------------------------------------------------------------ model tables

#: Poisson rates per year: event -> {circumstance: rate}.
_RATES: Mapping[str, Mapping[str, float]] = {
    "attainment_decline": {
        "all": 0.3,
        "hardship": 0.2,
        "drug": 0.6,
        "abuse": 0.3,
        "father_lost": 0.4,
        "competing": 0.3,
    },
    "school_concern": {
        "all": 1.2,
        "hardship": 0.4,
        "drug": 1.2,
        "abuse": 1.0,
        "father_lost": 0.5,
        "competing": 0.6,
    },
    "missed_appointment": {
        "all": 1.5,
        "hardship": 0.6,
        "drug": 1.5,
        "competing": 0.6,
        "asthma": 0.5,
    },
    "parent_substance_use": {"all": 0.01, "drug": 3.0},
    "parent_substance_treatment": {"treatment": 12.0},
    "competing_care_demand": {"competing": 4.0},
    "child_voice_concern": {
        "all": 0.1,
        "drug": 0.5,
        "abuse": 0.6,
        "father_lost": 0.4,
        "competing": 0.3,
    },
    "police_incident_home": {"all": 0.25, "hardship": 0.3, "drug": 1.2, "abuse": 0.6},
    "domestic_abuse_incident": {"abuse": 2.0},
    "housing_poor": {"all": 0.1, "hardship": 1.0},
    "economic_hardship": {"all": 0.5, "hardship": 3.0},
    "social_care_referral": {"all": 0.05},
}

#: Asthma rates per year by severity (mild, moderate, severe): event -> {circumstance: rates}.
_ASTHMA_RATES: Mapping[str, Mapping[str, tuple[float, float, float]]] = {
    "asthma_admission": {
        "all": (0.08, 0.3, 0.8),
        "drug": (0.12, 0.45, 1.2),
        "father_lost": (0.04, 0.15, 0.4),
        "competing": (0.04, 0.15, 0.4),
    },
    "asthma_ed_visit": {
        "all": (0.3, 0.8, 1.5),
        "drug": (0.3, 0.8, 1.5),
        "hardship": (0.1, 0.25, 0.45),
    },
    "reliever_prescription": {
        "all": (4.0, 7.0, 10.0),
        "drug": (2.0, 5.0, 8.0),
        "competing": (3.0, 3.0, 3.0),
    },
    "preventer_prescription": {"pre_drug": (1.0, 6.0, 8.0), "drug": (0.3, 1.8, 2.4)},
    "asthma_plan_review": {"pre_drug": (0.6, 1.0, 1.2), "drug": (0.1, 0.2, 0.3)},
}

_ANY = tuple((a, 1.0 / len(AGENCIES)) for a in AGENCIES)

#: Recording agency mix for events more than one agency records.
_AGENCY_MIX: Mapping[str, tuple[tuple[str, float], ...]] = {
    "missed_appointment": (("gp", 0.6), ("hospital", 0.4)),
    "asthma_plan_review": (("gp", 0.7), ("hospital", 0.3)),
    "parent_substance_use": (
        ("police", 0.35),
        ("gp", 0.25),
        ("drug_service", 0.2),
        ("social_care", 0.15),
        ("school", 0.05),
    ),
    "child_voice_concern": (
        ("school", 0.5),
        ("social_care", 0.2),
        ("gp", 0.15),
        ("hospital", 0.1),
        ("police", 0.05),
    ),
    "economic_hardship": (
        ("housing", 0.3),
        ("school", 0.3),
        ("social_care", 0.2),
        ("gp", 0.2),
    ),
    "social_care_referral": _ANY,
    "paternal_involvement": (
        ("probation", 0.4),
        ("social_care", 0.3),
        ("school", 0.2),
        ("police", 0.1),
    ),
}

_SEVERITY_P = (0.6, 0.3, 0.1)
_ETHNIC_P = (0.70, 0.10, 0.08, 0.07, 0.05)
_IMD_P = (0.30, 0.25, 0.20, 0.15, 0.10)
_HARDSHIP_P = (0.50, 0.35, 0.25, 0.15, 0.08)
#: Why the synthetic cases' ``index_date`` (a full date outside the contract) passes the
#: identifying-data guard; kept in the provenance of outputs made from the cohort.
INDEX_DATE_REASON = (
    "synthetic: the invented date the generating model applies at, not a date of birth"
)
_OUTCOME_KINDS = ("life_threatening_asthma", "serious_harm", "death")
_SOCIAL_CARE_DELAYED = (
    "parent_substance_use",
    "paternal_involvement_lost",
    "paternal_involvement_restored",
    "competing_care_demand",
    "child_voice_concern",
    "economic_hardship",
    "sibling_removed",
)


def _rate_table_text() -> str:
    rule = "=" * 32 + " " + "=" * 48
    lines = [rule, "event".ljust(33) + "rate per year while active (circumstance: rate)", rule]
    for event, terms in _RATES.items():
        text = ", ".join(f"{c}: {r:g}" for c, r in terms.items())
        lines.append(f"``{event}``".ljust(33) + text)
    for event, terms in _ASTHMA_RATES.items():
        text = ", ".join(f"{c}: {'/'.join(f'{r:g}' for r in rs)}" for c, rs in terms.items())
        lines.append(f"``{event}``".ljust(33) + text)
    lines.append(rule)
    lines.append("")
    lines.append("Agency mixes (others are recorded by their usual agency):")
    lines.append("")
    for event, mix in _AGENCY_MIX.items():
        if event == "paternal_involvement":
            continue  # stated with the point events
        if mix is _ANY:
            lines.append(f"- ``{event}``: any agency, equally likely.")
        else:
            lines.append(f"- ``{event}``: " + ", ".join(f"{a} {p:g}" for a, p in mix) + ".")
    return "\n".join(lines)


# ------------------------------------------------------------------ counter-based RNG

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_DRAW_MULT = 0xD1B54A32D192ED03
_U = np.uint64


def _mix_int(x: int) -> int:
    """splitmix64 finaliser on a Python int (no numpy scalar overflow warnings)."""
    x = (x + _GOLDEN) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a uint64 array (wrap-around is intended)."""
    x += _U(_GOLDEN)
    x ^= x >> _U(30)
    x *= _U(0xBF58476D1CE4E5B9)
    x ^= x >> _U(27)
    x *= _U(0x94D049BB133111EB)
    x ^= x >> _U(31)
    return x


_STREAM_CACHE: dict[str, int] = {}


def _stream(name: str) -> int:
    s = _STREAM_CACHE.get(name)
    if s is None:
        s = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")
        _STREAM_CACHE[name] = s
    return s


def _case_keys(seed: int, case_numbers: np.ndarray) -> np.ndarray:
    k = case_numbers.astype(np.uint64)
    k += _U(_mix_int(seed & _M64))
    _mix(k)
    k ^= _U(_mix_int((seed ^ 0x5DEECE66D) & _M64))
    return _mix(k)


def _uniform(keys: np.ndarray, name: str, draw=None) -> np.ndarray:
    """Uniforms on (0, 1) from (case key, stream name, draw number)."""
    h = keys ^ _U(_stream(name))
    _mix(h)
    if draw is not None:
        d = np.asarray(draw).astype(np.uint64)
        h += d * _U(_DRAW_MULT)
    _mix(h)
    return ((h >> _U(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def _ints(u: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Uniform integers lo..hi inclusive from uniforms."""
    return lo + np.floor(u * (hi - lo + 1)).astype(np.int64)


def _choose(u: np.ndarray, probs) -> np.ndarray:
    cum = np.cumsum(np.asarray(probs, dtype=np.float64))
    cum[-1] = np.inf
    return np.searchsorted(cum, u, side="right")


def _poisson(lam: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson counts by inverting the CDF, vectorised over cases (loop over k only)."""
    k = np.zeros(len(lam), dtype=np.int64)
    p = np.exp(-lam)
    cdf = p.copy()
    active = np.flatnonzero(u > cdf)
    step = 0
    limit = int(np.max(lam, initial=0.0) + 12 * np.sqrt(np.max(lam, initial=0.0)) + 30)
    while active.size and step < limit:
        step += 1
        p[active] *= lam[active] / step
        cdf[active] += p[active]
        k[active] = step
        active = active[u[active] > cdf[active]]
    return k


def _within(counts: np.ndarray) -> np.ndarray:
    """0, 1, .. within each run of a repeat: the draw number of each generated row."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


# ------------------------------------------------------------------ event blocks


class _Blocks:
    """Accumulates generated rows as numpy arrays (positions are chunk-local)."""

    def __init__(self):
        self.parts: list[dict[str, np.ndarray]] = []

    def add(self, pos, day, event, agency, value=None, rec=None, draw=None):
        n = len(pos)
        if n == 0:
            return
        self.parts.append(
            {
                "pos": np.asarray(pos, dtype=np.int64),
                "day": np.asarray(day, dtype=np.int64),
                "event": np.full(n, _EVENT_CODES[event], dtype=np.int8)
                if isinstance(event, str)
                else np.asarray(event, dtype=np.int8),
                "agency": np.full(n, _AGENCY_CODES[agency], dtype=np.int8)
                if isinstance(agency, str)
                else np.asarray(agency, dtype=np.int8),
                "value": np.full(n, np.nan) if value is None else np.asarray(value, np.float64),
                "rec": np.full(n, -1, dtype=np.int64) if rec is None else np.asarray(rec),
                "draw": np.zeros(n, dtype=np.int64) if draw is None else np.asarray(draw),
            }
        )

    def table(self) -> dict[str, np.ndarray]:
        keys = ("pos", "day", "event", "agency", "value", "rec", "draw")
        if not self.parts:
            return {k: np.array([], dtype=np.float64 if k == "value" else np.int64) for k in keys}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in keys}


def _agency_codes(event: str, keys_rows: np.ndarray, name: str, draw) -> np.ndarray:
    mix = _AGENCY_MIX.get(event)
    if mix is None:
        return np.full(len(keys_rows), _AGENCY_CODES[EVENTS[event][0]], dtype=np.int8)
    codes = np.array([_AGENCY_CODES[a] for a, _ in mix], dtype=np.int8)
    return codes[_choose(_uniform(keys_rows, name + ".agency", draw), [p for _, p in mix])]


def _poisson_rows(blocks, keys, event, term, term_id, rate, lo, hi):
    """Homogeneous Poisson events at ``rate`` per year on each case's [lo, hi)."""
    length = np.maximum(hi - lo, 0)
    lam = rate * length / 365.25
    idx = np.flatnonzero(lam > 0)
    if idx.size == 0:
        return
    name = f"{event}.{term}"
    counts = _poisson(lam[idx], _uniform(keys[idx], name + ".n"))
    pos = np.repeat(idx, counts)
    draw = _within(counts)
    krow = keys[pos]
    day = lo[pos] + np.floor(_uniform(krow, name + ".date", draw) * length[pos]).astype(np.int64)
    agency = _agency_codes(event, krow, name, draw)
    # Draw numbers stay unique within an event type across its terms, so that events
    # derived from these rows (keyed by draw number) are independent.
    blocks.add(pos, day, event, agency, draw=draw + (term_id << 32))


# ------------------------------------------------------------------ one chunk


def _latents(keys: np.ndarray, span: int, generator: int) -> dict[str, np.ndarray]:
    n = len(keys)

    def u(name):
        return _uniform(keys, "latent." + name)

    zero = np.zeros(n, dtype=np.int64)
    full = np.full(n, span, dtype=np.int64)
    lat: dict[str, np.ndarray] = {}
    q = _choose(u("imd"), _IMD_P) + 1
    hard = u("hardship") < np.asarray(_HARDSHIP_P)[q - 1]
    drug = u("drug") < 0.10 + 0.12 * hard
    drug_on = np.maximum(0, np.floor((2 * u("drug_onset") - 1) * span)).astype(np.int64)
    treat = drug & (u("treatment") < 0.6)
    treat_on = drug_on + _ints(u("treatment_onset"), 30, 179)
    treat_off = treat_on + _ints(u("treatment_length"), 180, 719)
    abuse = u("abuse") < 0.03 + 0.08 * drug + 0.03 * hard
    abuse_on = np.maximum(0, np.floor((2 * u("abuse_onset") - 1) * span)).astype(np.int64)
    sibling = u("sibling") < 0.01 + 0.20 * drug + 0.01 * hard
    father = u("father") < 0.70 - 0.20 * drug
    lost = father & (u("father_loss") < 0.06 + 0.20 * drug + 0.15 * abuse)
    lost_day = np.floor(u("father_loss_day") * span).astype(np.int64)
    restored = lost & (u("father_restored") < 0.3)
    restored_day = lost_day + _ints(u("father_restored_day"), 90, 719)
    comp = u("competing") < 0.05 + 0.10 * drug + 0.05 * hard
    comp_on = np.floor(u("competing_onset") * span).astype(np.int64)
    comp_off = comp_on + _ints(u("competing_length"), 180, 539)
    asthma = u("asthma") < 0.18 + 0.07 * hard
    severity = np.where(asthma, _choose(u("asthma_severity"), _SEVERITY_P) + 1, 0)

    def interval(flag, lo, hi):
        return np.where(flag, np.minimum(lo, span), 0), np.where(flag, np.minimum(hi, span), 0)

    lat["imd_quintile"] = q
    lat["H"], lat["G"], lat["A"], lat["S"], lat["C"] = hard, drug, abuse, sibling, comp
    lat["severity"] = severity
    lat["enrolled"] = u("not_enrolled") >= 0.02
    lat["iv.all"] = (zero, full)
    lat["iv.hardship"] = interval(hard, zero, full)
    lat["iv.drug"] = interval(drug, drug_on, full)
    lat["iv.pre_drug"] = (zero, np.where(drug, np.minimum(drug_on, span), span))
    lat["iv.treatment"] = interval(treat, treat_on, treat_off)
    lat["iv.abuse"] = interval(abuse, abuse_on, full)
    lat["iv.father_lost"] = interval(lost, lost_day, np.where(restored, restored_day, span))
    lat["iv.competing"] = interval(comp, comp_on, comp_off)
    lat["iv.asthma"] = interval(asthma, zero, full)
    lat["lost"], lat["lost_day"] = lost, lost_day
    lat["restored"], lat["restored_day"] = restored & (restored_day < span), restored_day
    lat["n_sibling"] = np.where(sibling, 1 + (u("sibling_two") < 0.4), 0)
    lat["birth_offset"] = _ints(u("age"), 5, 11)
    lat["sex"] = (u("sex") >= 0.49).astype(np.int64)  # 0 female, 1 male
    lat["ethnic"] = _choose(u("ethnic"), _ETHNIC_P)
    lat["index_day"] = _ints(u("index_day"), 90, span - 366)
    lat["att_offset"] = _ints(u("attendance_offset"), 0, 6)
    lat["att_base"] = 0.965 + 0.01 * _logit(u("attendance_base"))
    # Generator 2's additions draw from streams of their own, so every draw above is
    # the same in both generators.
    if generator >= 2:
        absent = u("severe_absence") < 0.04 + 0.10 * drug + 0.03 * hard + 0.03 * comp
        absent_on = np.floor(u("severe_absence_onset") * span).astype(np.int64)
        absent_off = absent_on + _ints(u("severe_absence_length"), 60, 299)
        lat["iv.severe_absence"] = interval(absent, absent_on, absent_off)
        previous = u("previous_plan") < 0.01 + 0.08 * drug + 0.10 * sibling + 0.01 * hard
        start = np.floor(u("previous_plan_day") * min(180, span)).astype(np.int64)
        end = start + _ints(u("previous_plan_length"), 90, 364)
        lat["P"] = previous
        lat["previous_plan"] = (np.where(previous, start, -1), np.where(previous, end, -1))
    else:
        lat["iv.severe_absence"] = (zero, zero)
        lat["P"] = np.zeros(n, dtype=bool)
        lat["previous_plan"] = (np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64))
    return lat


def _logit(u: np.ndarray) -> np.ndarray:
    return np.log(u) - np.log1p(-u)


def _active(lat, name: str, pos: np.ndarray, day: np.ndarray) -> np.ndarray:
    lo, hi = lat["iv." + name]
    return (lo[pos] <= day) & (day < hi[pos])


def _risk_events(blocks: _Blocks, keys: np.ndarray, lat, span: int) -> None:
    for event, terms in _RATES.items():
        for term_id, (term, rate) in enumerate(terms.items()):
            lo, hi = lat["iv." + term]
            _poisson_rows(blocks, keys, event, term, term_id, np.full(len(keys), rate), lo, hi)
    sev = lat["severity"]
    for event, terms in _ASTHMA_RATES.items():
        for term_id, (term, rates) in enumerate(terms.items()):
            rate = np.asarray((0.0, *rates))[sev]
            lo, hi = lat["iv." + term]
            _poisson_rows(blocks, keys, event, term, term_id, rate, lo, hi)

    # Paternal involvement: point events on the loss and restoration days.
    for event, flag, day in (
        ("paternal_involvement_lost", lat["lost"], lat["lost_day"]),
        ("paternal_involvement_restored", lat["restored"], lat["restored_day"]),
    ):
        pos = np.flatnonzero(flag)
        agency = _agency_codes("paternal_involvement", keys[pos], event, None)
        blocks.add(pos, day[pos], event, agency)

    # Historic sibling removals entered early in the record.
    counts = lat["n_sibling"]
    pos = np.repeat(np.arange(len(keys)), counts)
    draw = _within(counts)
    day = np.floor(_uniform(keys[pos], "sibling_removed.date", draw) * min(365, span))
    blocks.add(pos, day.astype(np.int64), "sibling_removed", "social_care", draw=draw)

    # Attendance at each half-term end, for enrolled children.
    n_periods = max((span - 42 + 60) // 61, 0)
    period = np.arange(n_periods, dtype=np.int64)
    enrolled = np.flatnonzero(lat["enrolled"])
    pos = np.repeat(enrolled, n_periods)
    draw = np.tile(period, len(enrolled))
    day = 42 + 61 * draw + lat["att_offset"][pos]
    keep = day < span
    pos, draw, day = pos[keep], draw[keep], day[keep]
    value = (
        lat["att_base"][pos]
        - 0.12 * _active(lat, "drug", pos, day)
        - 0.05 * _active(lat, "abuse", pos, day)
        - 0.05 * _active(lat, "competing", pos, day)
        - 0.04 * _active(lat, "father_lost", pos, day)
        - 0.03 * lat["H"][pos]
        - 0.02 * lat["severity"][pos]
        + 0.012 * _logit(_uniform(keys[pos], "attendance.value", draw))
    )
    # generator 2: a severe absence episode (empty in generator 1, where this subtracts
    # exactly 0.0 and leaves every value as it was)
    value = value - 0.50 * _active(lat, "severe_absence", pos, day)
    value = np.round(np.clip(value, 0.0, 1.0), 3)
    blocks.add(pos, day, "attendance", "school", value=value, draw=draw)


def _derived(blocks, keys, lat, source, trigger, event, prob, delay, agency=None, name=None):
    """Events following trigger rows independently with probability ``prob``."""
    code = _EVENT_CODES[trigger]
    sel = np.flatnonzero(source["event"] == code)
    pos, day, draw = source["pos"][sel], source["day"][sel], source["draw"][sel]
    name = name or f"{event}.after.{trigger}"
    krow = keys[pos]
    p = prob(pos, day) if callable(prob) else prob
    hit = _uniform(krow, name + ".hit", draw) < p
    pos, day, draw, krow = pos[hit], day[hit], draw[hit], krow[hit]
    new_day = day + _ints(_uniform(krow, name + ".delay", draw), *delay)
    if agency is None:
        codes = source["agency"][sel][hit]
    elif isinstance(agency, str):
        codes = np.full(len(pos), _AGENCY_CODES[agency], dtype=np.int8)
    else:
        codes = _agency_codes(agency[0], krow, name, draw)
    blocks.add(pos, new_day, event, codes, draw=draw)
    return pos, new_day, draw


def _responses(
    blocks: _Blocks, keys, lat, risk: dict[str, np.ndarray], span: int, generator: int
) -> None:
    """Derived records, referrals and the plans that follow them."""
    # follow-up after an admission: (probability, probability while drug use is
    # active, delay in days) by generator
    p_review, p_review_drug, delay = ((0.5, 0.15, (7, 42)), (0.6, 0.2, (2, 42)))[generator - 1]
    _derived(
        blocks,
        keys,
        lat,
        risk,
        "asthma_admission",
        "asthma_plan_review",
        lambda pos, day: np.where(_active(lat, "drug", pos, day), p_review_drug, p_review),
        delay,
        agency=("asthma_plan_review",),
    )
    _derived(blocks, keys, lat, risk, "school_concern", "school_referral", 0.15, (0, 7), "school")

    # Police records shared with social care late: same happening, a second record.
    for trigger in ("police_incident_home", "domestic_abuse_incident"):
        sel = np.flatnonzero(risk["event"] == _EVENT_CODES[trigger])
        pos, day, draw = risk["pos"][sel], risk["day"][sel], risk["draw"][sel]
        name = f"shared.{trigger}"
        hit = _uniform(keys[pos], name + ".hit", draw) < 0.3
        pos, day, draw = pos[hit], day[hit], draw[hit]
        rec = day + _ints(_uniform(keys[pos], name + ".delay", draw), 1, 60)
        blocks.add(pos, day, trigger, "social_care", rec=rec, draw=draw)

    background = risk["event"] == _EVENT_CODES["social_care_referral"]
    refs = [(risk["pos"][background], risk["day"][background], risk["draw"][background])]
    for trigger, p in (
        ("police_incident_home", 0.15),
        ("domestic_abuse_incident", 0.30),
        ("school_concern", 0.08),
        ("child_voice_concern", 0.15),
        ("asthma_admission", 0.05),
        ("parent_substance_use", 0.10),
    ):
        refs.append(_derived(blocks, keys, lat, risk, trigger, "social_care_referral", p, (0, 14)))
    # Number every referral uniquely within its case: (source << 48) | draw.
    pos = np.concatenate([r[0] for r in refs])
    day = np.concatenate([r[1] for r in refs])
    draw = np.concatenate([(i << 48) + r[2] for i, r in enumerate(refs)])
    _plans(blocks, keys, lat, pos, day, draw, span)


def _plans(blocks, keys, lat, pos, day, draw, span: int) -> None:
    n = len(keys)
    krow = keys[pos]
    v = lat["G"] + lat["A"] + 0.5 * lat["S"] + 0.5 * lat["C"] + 0.3 * lat["H"] + 0.5 * lat["P"]
    p_cp = np.minimum(0.05 + 0.10 * v, 0.5)[pos]
    p_cin = np.minimum(0.15 + 0.05 * v, 0.4)[pos]
    u = _uniform(krow, "referral.level", draw)
    # 3 = child protection route, 2 = child in need, 1 = early help, 0 = no further action
    level = np.select([u < p_cp, u < p_cp + p_cin, u < p_cp + p_cin + 0.3], [3, 2, 1], 0)

    def d(name, lo, hi, sel):
        return _ints(_uniform(krow[sel], name, draw[sel]), lo, hi)

    eh = level == 1
    blocks.add(
        pos[eh],
        day[eh] + d("early_help.delay", 7, 30, eh),
        "early_help_start",
        "social_care",
        draw=draw[eh],
    )

    # A previous child protection plan (generator 2): entered when the record opens.
    prev_start, prev_end = lat["previous_plan"]
    prev = np.flatnonzero(prev_start >= 0)
    blocks.add(prev, prev_start[prev], "cp_plan_start", "social_care")
    blocks.add(prev, prev_end[prev], "cp_plan_end", "social_care")

    # Child protection route: strategy meeting, conference, plan (first plan only, and
    # only after any previous plan has ended).
    cp = level == 3
    sm_day = day[cp] + d("cp.strategy", 0, 3, cp)
    conf_day = sm_day + d("cp.conference", 10, 15, cp)
    blocks.add(pos[cp], sm_day, "strategy_meeting", "social_care", draw=draw[cp])
    blocks.add(pos[cp], conf_day, "cp_conference", "social_care", draw=draw[cp])
    plan = _uniform(krow[cp], "cp.plan", draw[cp]) < 0.85
    plan &= conf_day > prev_end[pos[cp]]
    cp_start = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(cp_start, pos[cp][plan], conf_day[plan])
    has_cp = cp_start < np.iinfo(np.int64).max
    cp_pos = np.flatnonzero(has_cp)
    blocks.add(cp_pos, cp_start[cp_pos], "cp_plan_start", "social_care")
    cp_end = cp_start[cp_pos] + _ints(_uniform(keys[cp_pos], "cp.plan_length"), 180, 539)
    blocks.add(cp_pos, cp_end, "cp_plan_end", "social_care")

    # Child in need: first plan, kept only if it starts before any CP plan.
    cin = level == 2
    sm = _uniform(krow[cin], "cin.strategy", draw[cin]) < 0.3
    cin_sm_day = day[cin][sm] + d("cin.strategy_day", 1, 5, cin)[sm]
    blocks.add(pos[cin][sm], cin_sm_day, "strategy_meeting", "social_care", draw=draw[cin][sm])
    start = day[cin] + d("cin.delay", 20, 60, cin)
    cin_start = np.full(n, np.iinfo(np.int64).max)
    after = start > prev_end[pos[cin]]  # not while a previous CP plan runs
    np.minimum.at(cin_start, pos[cin][after], start[after])
    has_cin = (cin_start < np.iinfo(np.int64).max) & (cin_start < cp_start)
    cin_pos = np.flatnonzero(has_cin)
    natural = cin_start[cin_pos] + _ints(_uniform(keys[cin_pos], "cin.plan_length"), 90, 365)
    cin_end = np.minimum(natural, cp_start[cin_pos])
    blocks.add(cin_pos, cin_start[cin_pos], "cin_plan_start", "social_care")
    blocks.add(cin_pos, cin_end, "cin_plan_end", "social_care")


def _recording_delays(keys, risk: dict[str, np.ndarray]) -> None:
    """Children-in-need assessment factors enter social care's record at its end."""
    sc = _AGENCY_CODES["social_care"]
    for event in _SOCIAL_CARE_DELAYED:
        sel = np.flatnonzero((risk["event"] == _EVENT_CODES[event]) & (risk["agency"] == sc))
        if sel.size == 0:
            continue
        krow, draw = keys[risk["pos"][sel]], risk["draw"][sel]
        late = _uniform(krow, f"recorded.{event}.hit", draw) < 0.7
        delay = _ints(_uniform(krow, f"recorded.{event}.delay", draw), 10, 45)
        risk["rec"][sel[late]] = risk["day"][sel[late]] + delay[late]


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _shifted_intercept(outcome_rate: float, generator: int = GENERATOR) -> float:
    def logit(p):
        return float(np.log(p) - np.log1p(-p))

    return _TRUTH[generator][1] + (logit(outcome_rate) - logit(_REFERENCE_RATE))


def _check_generator(generator) -> int:
    if isinstance(generator, bool) or generator not in _TRUTH:
        raise ParameterError(f"generator must be one of {sorted(_TRUTH)}, got {generator!r}.")
    return int(generator)


def true_linear_predictor(
    features: pd.DataFrame, outcome_rate: float = 0.02, *, generator: int = GENERATOR
) -> pd.Series:
    """The true log-odds of an outcome within 365 days in a :func:`make_cohort` cohort.

    ``TRUE_INTERCEPT + logit(outcome_rate) - logit(0.02) + sum(TRUE_LOG_ODDS[f] * x[f])``
    with missing feature values counted as 0 (generator 1: ``TRUE_INTERCEPT_V1`` and
    ``TRUE_LOG_ODDS_V1``). It is the generating model at each case's ``index_date``
    (see the module docstring) and a reference elsewhere.

    Parameters
    ----------
    features : DataFrame
        Output of :func:`riskscore.encode_features` (needs the columns named in
        :data:`TRUE_LOG_ODDS`).
    outcome_rate : float, default=0.02
        The ``outcome_rate`` the cohort was generated with.
    generator : {1, 2}, default=2
        The generator version the cohort was made with.

    Returns
    -------
    Series
        Log-odds, float64, on the index of ``features``.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscore.synthetic import TRUE_INTERCEPT, TRUE_LOG_ODDS, true_linear_predictor
    >>> x = pd.DataFrame({f: [0.0, 1.0] for f in TRUE_LOG_ODDS})
    >>> lp = true_linear_predictor(x)
    >>> bool(lp.iloc[0] == TRUE_INTERCEPT)
    True
    """
    log_odds = _TRUTH[_check_generator(generator)][0]
    missing = [f for f in log_odds if f not in features.columns]
    if missing:
        raise SchemaError(
            f"features: missing column(s) {missing}. Fix: pass the output of "
            "riskscore.encode_features, which has every catalogue feature."
        )
    if not 0.0 < outcome_rate < 1.0:
        raise ParameterError(f"outcome_rate must be strictly between 0 and 1, got {outcome_rate}.")
    x = features[list(log_odds)].to_numpy(dtype=np.float64)
    beta = np.array(list(log_odds.values()))
    lp = _shifted_intercept(outcome_rate, generator) + np.nan_to_num(x, nan=0.0) @ beta
    return pd.Series(lp, index=features.index, name="true_log_odds")


_OUTCOME_FEATURE_EVENTS = {
    g: tuple(sorted({e for f in truth[0] for e in FEATURES[f].events}, key=list(EVENTS).index))
    for g, truth in _TRUTH.items()
}


def _outcome_lp(risk, lat, span_start: int, intercept: float, generator: int) -> np.ndarray:
    """True linear predictor per case at its index date, via the public encoder."""
    n = len(lat["index_day"])
    log_odds = _TRUTH[generator][0]
    codes = [_EVENT_CODES[e] for e in _OUTCOME_FEATURE_EVENTS[generator]]
    keep = np.isin(risk["event"], codes) & (risk["day"] <= lat["index_day"][risk["pos"]])
    pos, day, rec = risk["pos"][keep], risk["day"][keep], risk["rec"][keep]
    # typed as the contract types events (ids as text categories), so the encoder's
    # contract check is the cheap one
    ids = pd.Index(np.arange(n).astype(str), dtype=_TEXT)
    events = pd.DataFrame(
        {
            "case_id": pd.Categorical.from_codes(pos, categories=ids),
            "date": _to_datetime(span_start + day),
            # agencies do not matter to the joined view
            "agency": pd.Categorical.from_codes(np.zeros(len(pos), np.int8), list(AGENCIES)),
            "event": pd.Categorical.from_codes(risk["event"][keep], categories=list(EVENTS)),
            "value": risk["value"][keep],
            "recorded_date": _to_datetime(np.where(rec >= 0, span_start + rec, -1), rec < 0),
        }
    )
    declare_valid(events, "events")
    as_of = pd.DataFrame(
        {
            "case_id": pd.Categorical.from_codes(np.arange(n), categories=ids),
            "as_of": _to_datetime(span_start + lat["index_day"]),
        }
    )
    x = encode_features(events, as_of)
    beta = np.array(list(log_odds.values()))
    xv = np.nan_to_num(x[list(log_odds)].to_numpy(dtype=np.float64), nan=0.0)
    return intercept + xv @ beta


def _to_datetime(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    out = np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[ns]")
    if missing is not None:
        out[missing] = np.datetime64("NaT")
    return out


def _chunk(
    seed: int, numbers: np.ndarray, span: int, span_start: int, intercept: float, generator: int
):
    """Events (chunk-local positions, days from span start) and case columns."""
    keys = _case_keys(seed, numbers)
    lat = _latents(keys, span, generator)
    blocks = _Blocks()
    _risk_events(blocks, keys, lat, span)
    risk = blocks.table()
    _recording_delays(keys, risk)
    resp = _Blocks()
    _responses(resp, keys, lat, risk, span, generator)
    responses = resp.table()

    # Generator 1 computed the truth from the risk events alone (so a follow-up plan
    # review, a derived record, was invisible to it); generator 2 from every record
    # made before the outcome, as the module docstring says.
    if generator == 1:
        seen = risk
    else:
        seen = {k: np.concatenate([risk[k], responses[k]]) for k in risk}
    lp = _outcome_lp(seen, lat, span_start, intercept, generator)
    has = _uniform(keys, "outcome") < _expit(lp)
    kind_u = _uniform(keys, "outcome.kind")
    kind = np.where(
        lat["severity"] > 0, _choose(kind_u, (0.6, 0.3, 0.1)), _choose(kind_u, (0.9, 0.1)) + 1
    )
    outcome_day = lat["index_day"] + _ints(_uniform(keys, "outcome.day"), 1, 365)
    death = has & (kind == 2)
    followup = np.where(death, outcome_day, span - 1)

    # Non-fatal harm brings a referral and often a strategy meeting.
    post = _Blocks()
    harm = has & ~death
    ref = harm & (_uniform(keys, "outcome.referral") < 0.8)
    pos = np.flatnonzero(ref)
    ref_day = outcome_day[pos] + _ints(_uniform(keys[pos], "outcome.referral_day"), 0, 2)
    src = np.array([_AGENCY_CODES[a] for a in ("police", "hospital", "school")], dtype=np.int8)
    agency = np.where(
        kind[pos] == 0,
        _AGENCY_CODES["hospital"],
        src[_choose(_uniform(keys[pos], "outcome.referral_agency"), (1 / 3, 1 / 3, 1 / 3))],
    )
    post.add(pos, ref_day, "social_care_referral", agency)
    sm = _uniform(keys[pos], "outcome.strategy") < 0.6
    sm_day = ref_day[sm] + _ints(_uniform(keys[pos][sm], "outcome.strategy_day"), 1, 5)
    post.add(pos[sm], sm_day, "strategy_meeting", "social_care")

    parts = [risk, responses, post.table()]
    ev = {k: np.concatenate([p[k] for p in parts]) for k in ("pos", "day", "event", "agency")}
    ev["value"] = np.concatenate([p["value"] for p in parts])
    ev["rec"] = np.concatenate([p["rec"] for p in parts])
    # The generator's own truncation: nothing after follow-up, nothing recorded after
    # the extract was taken (the span end).
    keep = (ev["day"] <= followup[ev["pos"]]) & (ev["rec"] < span)
    order = np.lexsort(
        (ev["rec"][keep], ev["agency"][keep], ev["event"][keep], ev["day"][keep], ev["pos"][keep])
    )
    idx = np.flatnonzero(keep)[order]
    events = {
        "pos": ev["pos"][idx].astype(np.int64),
        "day": ev["day"][idx].astype(np.int32),
        "event": ev["event"][idx].astype(np.int8),
        "agency": ev["agency"][idx].astype(np.int8),
        "value": ev["value"][idx],
        "rec": ev["rec"][idx].astype(np.int32),
    }
    cases = {
        "birth_offset": lat["birth_offset"],
        "sex": lat["sex"],
        "ethnic": lat["ethnic"],
        "imd_quintile": lat["imd_quintile"],
        "outcome": np.where(has, kind, -1),
        "outcome_day": outcome_day,
        "followup_day": followup,
        "index_day": lat["index_day"],
    }
    return events, cases


def _check_int(name: str, value, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ParameterError(f"{name} must be an integer, got {type(value).__name__}.")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"between {low} and {high}"
        raise ParameterError(f"{name} must be {bounds}, got {value}.")
    return int(value)


@validate_params(
    {
        "n_cases": [COUNT],
        "random_state": [COUNT, None],
        "start": ["date"],
        "years": [Interval(Integral, 2, 10)],
        "outcome_rate": [UNIT_OPEN],
        "chunk_size": [POSITIVE_INT],
        "progress": ["boolean"],
        "case_range": [tuple, list, None],
        "path": ["path", None],
        "n_partitions": [POSITIVE_INT, None],
        "generator": [Options(*_TRUTH)],
    }
)
def make_cohort(
    n_cases: int,
    random_state: int | None = 0,
    *,
    start: str | pd.Timestamp = "2101-01-01",
    years: int = 3,
    outcome_rate: float = 0.02,
    chunk_size: int = 50_000,
    progress: bool = False,
    case_range: tuple[int, int] | None = None,
    path=None,
    n_partitions: int | None = None,
    generator: int = GENERATOR,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Generate a synthetic cohort (events and cases) with a known outcome model.

    With ``path=``, the cohort is written chunk by chunk to hash-partitioned
    Parquet (``events/`` and ``cases/`` folders, ``n_partitions`` files each, for
    :func:`riskscore.read_events` with ``engine="dask"``) without being held in
    memory, identical case by case to the in-memory cohort; the folder is returned.

    The generative model, the true log-odds and the truncation rules are stated in
    full in the docstring of :mod:`riskscore.synthetic`. Synthetic outcome rates
    (about 1-3%) are far above real ones, so synthetic precision flatters.

    Parameters
    ----------
    n_cases : int
        Number of cases in the whole cohort (case numbers ``0 .. n_cases - 1``).
    random_state : int or None, default=0
        Cohort seed (a non-negative integer). Each case's data depend only on this
        seed and the case number. ``None`` draws a fresh seed (not reproducible).
    start : str or Timestamp, default="2101-01-01"
        First day of the span (the project's invented calendar).
    years : int, default=3
        Length of the span in calendar years (2 to 10): every index date leaves a
        full year of follow-up before the span end.
    outcome_rate : float, default=0.02
        Approximate share of cases with an outcome (shifts the true intercept by
        ``logit(outcome_rate) - logit(0.02)``).
    chunk_size : int, default=50_000
        Cases generated at a time; bounds memory. It does not change the output.
    progress : bool, default=False
        Show a tqdm progress bar over chunks.
    case_range : (int, int), optional
        Generate only case numbers ``start <= k < stop`` (Python slice rules within
        ``0 .. n_cases``); equals those cases cut out of the whole cohort. Use it to
        write a huge cohort in pieces.
    path : path-like, optional
        Write hash-partitioned Parquet there instead of returning the tables.
    n_partitions : int, optional
        Files per table when writing to ``path``.
    generator : {1, 2}, default=2
        Version of the generative model (module docstring, "Generator versions").
        Generator 1 is the original, kept so that models and cards built on it
        (``synthetic-logistic-v1``, ``review-rules-v1``'s illustration) rebuild
        exactly; generator 2 adds severe absence, previous child protection plans
        and discharge follow-up, and its truth includes the catalogue v2 features.

    Returns
    -------
    events : DataFrame
        ``case_id`` (categorical over this call's case ids, in case order: compare
        subsets as text), ``date``, ``agency`` and ``event`` (categoricals with the
        full vocabulary as categories), ``value`` (float64, attendance only),
        ``recorded_date`` (mostly NaT); sorted by case, date, event, agency; dates
        are ``datetime64[ns]`` at day resolution.
    cases : DataFrame
        ``case_id``, ``birth_year``, ``sex``, ``ethnic_group`` (synthetic labels
        ``group_1`` .. ``group_5``), ``imd_quintile`` (1 most deprived .. 5),
        ``outcome`` (missing when none), ``outcome_date``, ``followup_end`` and the
        extra column ``index_date`` (the date the true model applies at).

    Raises
    ------
    TypeError, ValueError
        If an argument is of the wrong type or out of range (programming errors,
        not data errors).

    Examples
    --------
    >>> from riskscore.synthetic import make_cohort
    >>> events, cases = make_cohort(200, random_state=1)
    >>> list(cases.columns)[:4]
    ['case_id', 'birth_year', 'sex', 'ethnic_group']
    >>> part, _ = make_cohort(200, random_state=1, case_range=(10, 12))
    >>> sub = events[events["case_id"].isin(["C0000011", "C0000012"])]
    >>> bool((part["date"].to_numpy() == sub["date"].to_numpy()).all())
    True
    """
    if path is not None:
        # written piece by piece by riskscore.scale (needs riskscore[dask] to read back)
        return backend("write_cohort")(
            path,
            n_cases,
            random_state,
            n_partitions=n_partitions,
            chunk_size=chunk_size,
            start=start,
            years=years,
            outcome_rate=outcome_rate,
            generator=generator,
        )
    generator = _check_generator(generator)
    n_cases = _check_int("n_cases", n_cases, 0)
    years = _check_int("years", years, 2, 10)
    chunk_size = _check_int("chunk_size", chunk_size, 1)
    if random_state is None:
        random_state = int(np.random.SeedSequence().entropy) & _M64
    seed = _check_int("random_state", random_state, 0)
    if not 0.0 < float(outcome_rate) < 1.0:
        raise ParameterError(f"outcome_rate must be strictly between 0 and 1, got {outcome_rate}.")
    first, stop = (0, n_cases) if case_range is None else case_range
    first = _check_int("case_range start", first, 0, n_cases)
    stop = _check_int("case_range stop", stop, first, n_cases)
    t0 = pd.Timestamp(start)
    if t0 != t0.normalize() or t0.tzinfo is not None:
        raise ParameterError(
            f"start must be a plain date without time or time zone, got {start!r}."
        )
    span_start = int((t0 - pd.Timestamp("1970-01-01")).days)
    span = int((t0 + pd.DateOffset(years=years) - t0).days)
    intercept = _shifted_intercept(float(outcome_rate), generator)

    bounds = [*range(first, stop, chunk_size), stop]
    chunks = list(zip(bounds[:-1], bounds[1:], strict=True))
    if progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc="synthetic cohort", unit="chunk")
    ev_parts, case_parts = [], []
    for a, b in chunks:
        numbers = np.arange(a, b, dtype=np.int64)
        ev, cs = _chunk(seed, numbers, span, span_start, intercept, generator)
        ev["pos"] = (ev["pos"] + (a - first)).astype(np.int32)
        ev_parts.append(ev)
        case_parts.append(cs)

    def cat(parts, key, dtype=None):
        # Concatenate one column and free the chunks' copies as we go, so that peak
        # memory stays near the size of the result.
        if not parts:
            return np.array([], dtype=dtype or np.int64)
        out = np.concatenate([p.pop(key) for p in parts])
        return out if dtype is None else out.astype(dtype, copy=False)

    width = max(7, len(str(n_cases)))
    ids = "C" + pd.Series(np.arange(first, stop) + 1).astype(str).str.zfill(width)
    ids = pd.Index(ids.to_numpy(dtype=object), dtype=_TEXT)
    columns = {"case_id": pd.Categorical.from_codes(cat(ev_parts, "pos", np.int32), categories=ids)}
    columns["date"] = _to_datetime(span_start + cat(ev_parts, "day", np.int64))
    columns["agency"] = pd.Categorical.from_codes(
        cat(ev_parts, "agency", np.int8), categories=list(AGENCIES)
    )
    columns["event"] = pd.Categorical.from_codes(
        cat(ev_parts, "event", np.int8), categories=list(EVENTS)
    )
    columns["value"] = cat(ev_parts, "value", np.float64)
    rec = cat(ev_parts, "rec", np.int64)
    columns["recorded_date"] = _to_datetime(span_start + rec, rec < 0)
    del rec
    events = pd.DataFrame(columns, copy=False)
    del columns
    kind = cat(case_parts, "outcome")
    outcome = np.asarray(_OUTCOME_KINDS, dtype=object)[np.maximum(kind, 0)]
    outcome[kind < 0] = None
    cases = pd.DataFrame(
        {
            "case_id": pd.Series(ids.to_numpy(), dtype=_TEXT),
            "birth_year": (t0.year - cat(case_parts, "birth_offset")).astype(np.int64),
            "sex": pd.Series(
                np.asarray(["female", "male"], dtype=object)[cat(case_parts, "sex")], dtype=_TEXT
            ),
            "ethnic_group": pd.Series(
                np.asarray([f"group_{i}" for i in range(1, 6)], dtype=object)[
                    cat(case_parts, "ethnic")
                ],
                dtype=_TEXT,
            ),
            "imd_quintile": cat(case_parts, "imd_quintile").astype(np.int64),
            "outcome": pd.Series(outcome, dtype=_TEXT),
            "outcome_date": _to_datetime(span_start + cat(case_parts, "outcome_day"), kind < 0),
            "followup_end": _to_datetime(span_start + cat(case_parts, "followup_day")),
            "index_date": _to_datetime(span_start + cat(case_parts, "index_day")),
        }
    )
    mark_synthetic(events, cases, note=SYNTHETIC_NOTE)
    # built from the vocabulary: the contract holds by construction (checked cheaply)
    declare_valid(events, "events")
    declare_valid(cases, "cases", allowed={"index_date": INDEX_DATE_REASON})
    return events, cases


__doc__ = __doc__.replace("{RATE_TABLE}", _rate_table_text())


# ------------------------------------------------------------------ Child A

# One-off records of the vignette: (date, agency, event, recorded_date or None).
_CHILD_A_EVENTS: tuple[tuple[str, str, str, str | None], ...] = (
    # Year 1 (2101): history, the last asthma plan, hardship, the father's imprisonment.
    ("2101-01-18", "social_care", "sibling_removed", None),  # historic removals, entered
    ("2101-02-03", "social_care", "sibling_removed", None),  # when the record opened
    ("2101-01-25", "gp", "asthma_plan_review", None),  # the last plan review on record
    ("2101-06-08", "school", "economic_hardship", None),
    ("2101-09-20", "housing", "housing_poor", None),
    ("2101-10-14", "probation", "paternal_involvement_lost", None),  # father imprisoned
    ("2101-11-05", "police", "police_incident_home", None),
    ("2101-11-05", "police", "parent_substance_use", None),
    ("2101-11-20", "police", "social_care_referral", None),  # no further action
    # Year 2 (2102): treatment contacts, three admissions with no plan, falling attendance.
    ("2102-01-10", "drug_service", "parent_substance_use", None),
    ("2102-02-16", "hospital", "asthma_admission", None),
    ("2102-03-02", "housing", "economic_hardship", None),
    ("2102-03-15", "gp", "missed_appointment", None),
    ("2102-03-28", "police", "police_incident_home", None),
    ("2102-04-05", "gp", "parent_substance_use", None),  # held by the GP, not shared
    ("2102-04-30", "hospital", "asthma_ed_visit", None),
    ("2102-05-12", "school", "school_concern", None),
    ("2102-06-19", "police", "police_incident_home", None),
    ("2102-07-15", "school", "attainment_decline", None),
    ("2102-07-22", "hospital", "asthma_admission", None),
    ("2102-08-15", "social_care", "competing_care_demand", "2102-09-28"),
    ("2102-08-26", "hospital", "missed_appointment", None),
    ("2102-09-10", "police", "domestic_abuse_incident", None),
    ("2102-09-10", "social_care", "domestic_abuse_incident", "2102-11-02"),  # shared late
    ("2102-09-12", "housing", "housing_poor", None),
    ("2102-10-03", "hospital", "asthma_ed_visit", None),
    ("2102-10-06", "school", "school_concern", None),
    ("2102-10-06", "school", "school_referral", None),  # no follow-up
    ("2102-11-07", "gp", "missed_appointment", None),
    ("2102-11-26", "police", "police_incident_home", None),
    ("2102-12-09", "school", "attainment_decline", None),
    ("2102-12-19", "hospital", "asthma_admission", None),
    # Year 3 (2103): the child's voice, more of everything, a plan two days before death.
    ("2103-01-20", "school", "child_voice_concern", None),  # afraid of asthma attacks
    ("2103-01-30", "hospital", "missed_appointment", None),
    ("2103-02-14", "police", "police_incident_home", None),
    ("2103-02-22", "drug_service", "parent_substance_use", None),  # relapse
    ("2103-03-09", "social_care", "competing_care_demand", "2103-04-20"),
    ("2103-03-16", "school", "child_voice_concern", None),  # unhappy at home
    ("2103-03-24", "school", "attainment_decline", None),
    ("2103-04-21", "school", "school_concern", None),
    ("2103-05-11", "school", "social_care_referral", None),
    ("2103-06-01", "social_care", "strategy_meeting", None),
    ("2103-06-22", "social_care", "cp_conference", None),
    ("2103-06-22", "social_care", "cp_plan_start", None),
)

# Half-term attendance: falling from 0.96 to 0.60 as the picture darkens.
_CHILD_A_ATTENDANCE: tuple[tuple[str, float], ...] = (
    ("2101-02-12", 0.96),
    ("2101-04-01", 0.95),
    ("2101-05-27", 0.95),
    ("2101-07-20", 0.94),
    ("2101-10-21", 0.95),
    ("2101-12-17", 0.93),
    ("2102-02-11", 0.92),
    ("2102-03-31", 0.88),
    ("2102-05-26", 0.85),
    ("2102-07-19", 0.82),
    ("2102-10-20", 0.78),
    ("2102-12-16", 0.75),
    ("2103-02-10", 0.70),
    ("2103-03-30", 0.62),
    ("2103-05-25", 0.60),
)

#: Date of the fictional outcome in the vignette (a fatal asthma attack).
_CHILD_A_OUTCOME = "2103-06-24"


def vignette() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fictional "Child A" case: events and a one-row cases table.

    **Child A is a fictional composite on an invented calendar (2101-2103), inspired
    by themes that published serious case reviews share. It is not a reconstruction
    of, and not about, any real child or family.** (:data:`VIGNETTE_NOTE`; the
    cases table carries ``fictional=True`` and the note in ``cases.attrs["note"]``:
    a short flag rather than a text column, so the identifying-data guard, which
    rightly refuses free-text columns, passes the vignette as it is.)

    The story, told only through coded records: two older siblings had been removed
    (historic records entered when the record opens); the father's positive
    involvement ends when he is imprisoned in October 2101; the mother's class A drug
    use is seen by police, then the drug service sees her monthly from 2102 and the
    GP learns of it; the child has three asthma admissions (February, July and
    December 2102) and two emergency visits with no asthma plan review after January
    2101, reliever prescriptions every three weeks (over 12 a year) and missed
    appointments; attendance falls from 0.96 to 0.60 with school concerns and
    declining attainment; police attend the home repeatedly; an older sister and her
    baby compete for the carer's attention; the child tells school he is afraid of
    asthma attacks and unhappy at home; the family lives in hardship and poor
    housing. Responses are few and late: a police referral with no further action,
    a school referral with no follow-up, then in 2103 a referral, a strategy meeting,
    and a child protection conference and plan on 22 June 2103, two days before the
    child dies of an asthma attack on 24 June 2103.

    Each agency holds part of the picture; only the joined record shows how serious
    it was, for many months before the plan.

    Returns
    -------
    events : DataFrame
        The case's events in the data contract format of :func:`make_cohort`
        (``case_id`` ``"CHILD-A"``), sorted by date, event and agency.
    cases : DataFrame
        One row: ``case_id``, ``birth_year``, ``sex``, ``ethnic_group`` (missing),
        ``imd_quintile``, ``outcome`` (``"death"``), ``outcome_date``,
        ``followup_end`` (the date of death) and ``fictional`` (True); the
        note (:data:`VIGNETTE_NOTE`) is in ``cases.attrs["note"]``.

    Examples
    --------
    >>> from riskscore.synthetic import vignette
    >>> events, cases = vignette()
    >>> cases.loc[0, "outcome"], str(cases.loc[0, "outcome_date"].date())
    ('death', '2103-06-24')
    >>> bool(cases.loc[0, "fictional"]), "fictional" in cases.attrs["note"]
    (True, True)
    """
    once = pd.DataFrame(list(_CHILD_A_EVENTS), columns=["date", "agency", "event", "recorded_date"])
    once["value"] = np.nan
    attendance = pd.DataFrame(list(_CHILD_A_ATTENDANCE), columns=["date", "value"])
    attendance["agency"], attendance["event"] = "school", "attendance"
    # Reliever every three weeks from January 2102 (17 a year: the overuse marker);
    # the mother's drug-service contacts every four weeks.
    reliever = pd.DataFrame(
        {
            "date": np.concatenate(
                [
                    pd.date_range("2101-01-15", "2101-12-31", freq="61D").strftime("%Y-%m-%d"),
                    pd.date_range("2102-01-05", "2103-06-20", freq="21D").strftime("%Y-%m-%d"),
                ]
            ),
            "agency": "gp",
            "event": "reliever_prescription",
        }
    )
    preventer = pd.DataFrame(
        {
            "date": ["2101-01-15", "2101-04-15", "2101-07-14", "2101-10-12", "2102-05-10"],
            "agency": "gp",
            "event": "preventer_prescription",
        }
    )
    treatment = pd.DataFrame(
        {
            "date": pd.date_range("2102-01-24", "2103-06-17", freq="28D").strftime("%Y-%m-%d"),
            "agency": "drug_service",
            "event": "parent_substance_treatment",
        }
    )
    ev = pd.concat([once, attendance, reliever, preventer, treatment], ignore_index=True)
    ev["date"] = pd.to_datetime(ev["date"], format="%Y-%m-%d").astype("datetime64[ns]")
    ev["recorded_date"] = pd.to_datetime(ev["recorded_date"], format="%Y-%m-%d").astype(
        "datetime64[ns]"
    )
    ev["case_id"] = "CHILD-A"
    ev["agency"] = pd.Categorical(ev["agency"], categories=list(AGENCIES))
    ev["event"] = pd.Categorical(ev["event"], categories=list(EVENTS))
    ev["value"] = ev["value"].astype(np.float64)
    ev = ev.sort_values(["date", "event", "agency"], kind="stable", ignore_index=True)
    ev["case_id"] = pd.Categorical(ev["case_id"])
    events = ev[["case_id", "date", "agency", "event", "value", "recorded_date"]]

    died = pd.Timestamp(_CHILD_A_OUTCOME)
    cases = pd.DataFrame(
        {
            "case_id": pd.Series(["CHILD-A"], dtype=_TEXT),
            "birth_year": np.array([2095], dtype=np.int64),
            "sex": pd.Series(["male"], dtype=_TEXT),
            "ethnic_group": pd.Series([None], dtype=_TEXT),
            "imd_quintile": np.array([1], dtype=np.int64),
            "outcome": pd.Series(["death"], dtype=_TEXT),
            "outcome_date": np.array([died], dtype="datetime64[ns]"),
            "followup_end": np.array([died], dtype="datetime64[ns]"),
            "fictional": [True],
        }
    )
    cases.attrs["note"] = VIGNETTE_NOTE
    events.attrs["note"] = VIGNETTE_NOTE
    mark_synthetic(events, cases, note=VIGNETTE_NOTE)
    declare_valid(events, "events")
    declare_valid(cases, "cases")
    return events, cases
