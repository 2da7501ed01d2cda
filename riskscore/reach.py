"""What one agency's records alone can score: computed from the rules and the vocabulary.

A model card that says "no single agency's information reaches a band" is a claim
about every possible record, not about one cohort, so it must be computed, not
written. :func:`agency_reach` computes, for a rule scorecard, the most points each
single agency's own records can produce (its *view*, as
``riskscore.encode_features(..., agency=...)`` builds it), and the joined maximum;
:func:`reach_statement` turns that into the sentence a model card prints.

How the maximum is computed
---------------------------
Which agencies may record each event is :data:`riskscore.EVENTS` (``"any"`` = every
agency; pass ``recorders=`` for local recording practice). A feature can move
towards concern in a view only if the view's agency may record one of the events
that raise it (:attr:`riskscore.FeatureSpec.raised_by`: an admission raises
``no_asthma_plan_12m``, a plan review only lowers it). In such a view the feature can
take any value of its kind (counts 0, 1, 2, ...; flags 0 or 1; attendance fractions
in [0, 1]; differences in [-1, 1]); otherwise it keeps its value with no events
(0 for counts and flags, missing for attendance, which scores nothing). For each
feature the most points its rules give at any one reachable value are added up
over features.

This is an upper bound: it assumes rules on different features can hold at once.
For the shipped cards it is reached: the tests build, for every agency, records that
agency alone may make and that score exactly this maximum in its view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from riskscore._params import validate_params
from riskscore.errors import ModelContractError, ParameterError
from riskscore.features import encode_features
from riskscore.scorecard import RuleScorecard
from riskscore.vocabulary import AGENCIES, BANDS, EVENTS, FEATURES

__all__ = ["agency_reach", "reach_statement", "default_recorders"]

_JOINED = "joined"


def default_recorders() -> dict[str, tuple[str, ...]]:
    """Event code -> the agencies that may record it, from :data:`riskscore.EVENTS`.

    ``"any"`` is expanded to every agency.

    Examples
    --------
    >>> from riskscore.reach import default_recorders
    >>> default_recorders()["asthma_admission"]
    ('hospital',)
    >>> len(default_recorders()["child_voice_concern"])
    8
    """
    return {e: (AGENCIES if "any" in who else tuple(who)) for e, who in EVENTS.items()}


def _empty_values() -> dict[str, float]:
    """Each feature's value when a view has no events at all (from the encoder itself)."""
    events = pd.DataFrame(
        {
            "case_id": pd.Series([], dtype=object),
            "date": pd.Series([], dtype="datetime64[ns]"),
            "agency": pd.Series([], dtype=object),
            "event": pd.Series([], dtype=object),
        }
    )
    q = pd.DataFrame({"case_id": ["nobody"], "as_of": pd.to_datetime(["2101-01-01"])})
    row = encode_features(events, q).iloc[0]
    return {f: float(row[f]) for f in FEATURES}


def _candidates(kind: str, thresholds: np.ndarray) -> np.ndarray:
    """Values of a feature of ``kind`` at which every set of rules takes each of its totals."""
    if kind == "flag":
        return np.array([0.0, 1.0])
    lo, hi = {"count": (0.0, np.inf), "fraction": (0.0, 1.0), "difference": (-1.0, 1.0)}[kind]
    if kind == "count":
        # whole numbers: each threshold, its neighbours, and beyond the largest
        t = np.concatenate([np.floor(thresholds), np.ceil(thresholds)])
        vals = np.concatenate([t - 1, t, t + 1, [0.0]])
    else:
        t = np.unique(thresholds)
        gaps = (t[:-1] + t[1:]) / 2
        vals = np.concatenate([t, gaps, t - 1e-9, t + 1e-9, [lo, hi]])
    return np.unique(vals[(vals >= lo) & (vals <= hi)])


def _feature_max(card: RuleScorecard, feature: str, raisable: bool, empty: float) -> float:
    rules = [r for r in card.rules if r.feature == feature]
    values = np.array([empty])
    if raisable:
        kind = FEATURES[feature].kind
        values = np.concatenate([values, _candidates(kind, np.array([r.threshold for r in rules]))])
    totals = sum(np.where(r.fires(values), r.points, 0.0) for r in rules)
    return float(np.max(totals))


@validate_params({"recorders": [Mapping, None]})
def agency_reach(
    model: RuleScorecard, *, recorders: Mapping[str, Sequence[str]] | None = None
) -> pd.DataFrame:
    """The most points each single agency's own records can score, and the joined maximum.

    Computed from the model's rules and the vocabulary (see the module notes), never
    from a cohort: it holds for any records that follow the recording rules.

    Parameters
    ----------
    model : RuleScorecard
        A points scorecard (a logistic model's score has no maximum).
    recorders : mapping, optional
        Event code -> agencies that may record it (``"any"`` = every agency).
        Default: :data:`riskscore.EVENTS` (:func:`default_recorders`). Events left
        out may be recorded by nobody.

    Returns
    -------
    DataFrame
        One row per view: every agency of :data:`riskscore.AGENCIES`, then
        ``"joined"``. Columns ``view``, ``max_points`` (float), ``band`` (the
        highest band that total reaches) and ``rules`` (labels of the rules that can
        score in that view, in card order, joined by ``"; "``).

    Raises
    ------
    ModelContractError
        ``model`` is not a :class:`riskscore.RuleScorecard`.

    Examples
    --------
    >>> from riskscore import load_model
    >>> from riskscore.reach import agency_reach
    >>> reach = agency_reach(load_model("review-rules-v1")).set_index("view")
    >>> float(reach.loc["school", "max_points"]), reach.loc["school", "band"]
    (13.0, 'multi_agency_discussion')
    >>> float(reach.loc["joined", "max_points"])
    28.0
    """
    if not isinstance(model, RuleScorecard):
        raise ModelContractError(
            f"agency_reach needs a RuleScorecard, got {type(model).__name__}: a logistic "
            "model's score grows without bound with the counts, so it has no maximum."
        )
    who = default_recorders() if recorders is None else dict(recorders)
    for event, agencies in who.items():
        agencies = tuple(agencies)
        bad = [a for a in agencies if a not in (*AGENCIES, "any")]
        if event not in EVENTS or bad:
            raise ParameterError(
                f"recorders: {event!r} -> {agencies!r} is not an event code mapped to agency "
                f"codes (events: riskscore.EVENTS; agencies: {', '.join(AGENCIES)} or 'any')."
            )
        who[event] = AGENCIES if "any" in agencies else agencies
    empty = _empty_values()
    thresholds = list(model.bands.items())
    rows = []
    for view in (*AGENCIES, _JOINED):
        total, scoring = 0.0, set()
        for f in model.features_:
            raisable = any(
                (view == _JOINED and who.get(e)) or view in who.get(e, ())
                for e in FEATURES[f].raised_by
            )
            best = _feature_max(model, f, raisable, empty[f])
            total += best
            if best > 0:
                scoring.add(f)
        band = BANDS[0]
        for name, threshold in thresholds:
            if total >= threshold:
                band = name
        labels = [r.label for r in model.rules if r.feature in scoring and r.points > 0]
        rows.append({"view": view, "max_points": total, "band": band, "rules": "; ".join(labels)})
    return pd.DataFrame(rows)


def _points(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _agency_words(agencies) -> str:
    words = [a.replace("_", " ") for a in agencies]
    words = ["GP" if w == "gp" else w for w in words]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def reach_statement(
    model: RuleScorecard, *, recorders: Mapping[str, Sequence[str]] | None = None
) -> str:
    """The model-card sentence on what single agencies can reach, computed by :func:`agency_reach`.

    Examples
    --------
    >>> from riskscore import load_model
    >>> from riskscore.reach import reach_statement
    >>> print(reach_statement(load_model("review-rules-v1"))[:60])
    review at 4 points; multi_agency_discussion at 10. Computed
    """
    reach = agency_reach(model, recorders=recorders)
    one = reach[reach["view"] != _JOINED].sort_values("max_points", ascending=False, kind="stable")
    joined = float(reach.loc[reach["view"] == _JOINED, "max_points"].iloc[0])
    bands = "; ".join(
        f"{k} at {_points(v)}" + (" points" if i == 0 else "")
        for i, (k, v) in enumerate(model.bands.items())
    )
    per = "; ".join(
        f"{_points(r.max_points)} ({_agency_words([r.view])})" for r in one.itertuples()
    )
    top = list(model.bands)[-1]
    alone = one.loc[one["band"] == top, "view"].tolist()
    not_alone = one.loc[one["band"] != top, "view"].tolist()
    if alone and not_alone:
        verdict = (
            f"{_agency_words(alone)} can each reach {top} from their own records alone; "
            f"{_agency_words(not_alone)} cannot."
        )
    elif alone:
        verdict = f"every agency can reach {top} from its own records alone."
    else:
        verdict = f"no single agency can reach {top} from its own records alone."
    # what every agency can score from the events any agency may record
    who = default_recorders() if recorders is None else recorders
    raising = {e for f in model.features_ for e in FEATURES[f].raised_by}
    shared = {
        e: AGENCIES
        for e, a in who.items()
        if e in raising and ("any" in a or set(a) >= set(AGENCIES))
    }
    common = float(agency_reach(model, recorders=shared)["max_points"].min())
    shared_text = (
        f" Events any agency may record ({', '.join(sorted(shared))}) give every agency up "
        f"to {_points(common)} points alone."
        if shared and common > 0
        else ""
    )
    return (
        f"{bands}. Computed by riskscore.agency_reach from the rules and the agencies that "
        f"may record each event (riskscore.EVENTS): the largest total one agency's own "
        f"records can produce is {per}; so {verdict}{shared_text} The joined maximum is "
        f"{_points(joined)}."
    )
