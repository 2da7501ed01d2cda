"""Model files: human-readable JSON for both model kinds, and checked joblib pipelines.

A model file is indented JSON a reviewer can read line by line::

    {
      "kind": "rule_scorecard" | "logistic",
      "schema_version": 1,
      "riskscore_version": "...",
      "name": ...,
      "features": [...],          # catalogue feature names the model reads
      "parameters": {...},
      "bands": {...},             # points (scorecard) or probabilities (logistic)
      "rules": [...]              # scorecard
      "coefficients": {...}, "intercept": ..., "impute_values": {...}, ...  # logistic
      "model_card": {intended_use, training_data, metrics, limitations, created}
    }

Floats are written with Python's shortest round-trip representation, so a saved
and reloaded model gives bit-identical scores.

**What loading checks.** A model file is data from outside, so :func:`load_model`
and :func:`model_from_json` refuse, with :class:`riskscore.ModelFileError` naming the
entry and the fix:

* a file over :data:`MAX_FILE_BYTES`, JSON nested deeper than :data:`MAX_DEPTH`,
  ``NaN``/``Infinity`` or numbers that overflow, and keys given twice in one object;
* a kind other than ``rule_scorecard`` or ``logistic``; a ``schema_version`` other
  than exactly the integer :data:`SCHEMA_VERSION`; any key the schema does not list;
* feature names not in :data:`riskscore.FEATURES` (a file may name any catalogue
  feature, so files written for a later catalogue load once the feature exists);
* numbers outside :data:`LIMITS` (points, thresholds, log-odds coefficients and
  intercept, imputed values within each feature kind's range);
* bands out of order (``review`` above ``multi_agency_discussion``) or that mean
  nothing: a scorecard band every record reaches (at or below the lowest possible
  total) or beyond one point above the highest possible total; probability bands
  outside ``[1e-6, 1 - 1e-6]``;
* text (entry names too) holding a control character other than a line break or tab
  (an escape sequence printed by ``riskscore model`` acts on the terminal), or a
  bidirectional control such as U+202E (it reverses the text shown).

:func:`save_model` applies the same checks before writing (it never writes a file
that would be refused) and writes the file's SHA-256 beside it in ``<file>.sha256``
(``sha256sum`` format), so a user can pin it: ``load_model(path, sha256=...)``.

**Names and paths.** :func:`load_model` takes a *name* of a shipped model or a
*path* to a file, and never one for the other. A ``str`` without a folder separator
that does not end in ``.json`` is a name (``"review-rules-v1"``) and resolves only to
a model installed with the package; anything else (a ``pathlib.Path``, or text with
a separator or ending in ``.json``: ``"./review-rules-v1"``, ``"my.json"``) is a path
and resolves only to that file. A file in the working directory therefore cannot
stand in for a shipped model. Each shipped ``NAME.json`` is installed with its
SHA-256 in ``NAME.json.sha256`` and is checked against it on every load.

**Pickles.** Pickle and joblib files are code, not data: :func:`load_pipeline` reads
the file's bytes once, checks their SHA-256 against the digest the caller vouches
for, and unpickles those same bytes (the path is never opened twice).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import io
import json
import math
import os
import pickle
import re
import stat
import unicodedata
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from scipy.special import logit

from riskscore._params import validate_params
from riskscore._paths import output_file, refuse_nul, writing
from riskscore._version import __version__
from riskscore.disclosure import DisclosureSettings, hash_input
from riskscore.errors import MissingFileError, ModelFileError, ParameterError, RiskscoreError
from riskscore.logistic import ADDED_PARAMETERS, LogisticRiskModel
from riskscore.scorecard import AUDIT_ONLY_NOTICE, OPS, Rule, RuleScorecard
from riskscore.vocabulary import AGENCIES, BANDS, FEATURES

__all__ = [
    "SCHEMA_VERSION",
    "MAX_FILE_BYTES",
    "MAX_DEPTH",
    "LIMITS",
    "save_model",
    "load_model",
    "model_to_json",
    "model_from_json",
    "save_pipeline",
    "load_pipeline",
    "file_sha256",
    "default_scorecard",
    "DEFAULT_SCORECARD",
    "shipped_models",
    "is_model_name",
]

#: The model-file schema version this library writes and reads (exactly this integer).
SCHEMA_VERSION = 1
#: Largest model file read (bytes). The shipped files are about 10 kB; a logistic
#: model with a covariance matrix over the whole catalogue is under 50 kB.
MAX_FILE_BYTES = 1_000_000
#: Deepest JSON nesting accepted (the schema needs 6; a model card may add a few).
MAX_DEPTH = 32
#: Sane ranges of the numbers in a model file (inclusive bounds on absolute values,
#: except where a (low, high) pair is given).
LIMITS: Mapping[str, Any] = {
    # points a scorecard rule adds; shipped cards use 1-4
    "points": 1_000.0,
    # a rule threshold on a feature's own scale
    "threshold": 1e6,
    # log-odds per unit of a feature, and the intercept: an odds ratio of e^100 per
    # unit is not a model anyone could review
    "log_odds": 100.0,
    # predicted-probability bands of a logistic model
    "probability_band": (1e-6, 1 - 1e-6),
    # imputed values by feature kind (unknown kinds: +-1e6)
    "kind_range": {
        "flag": (0.0, 1.0),
        "fraction": (0.0, 1.0),
        "difference": (-1.0, 1.0),
        "count": (0.0, 1e6),
    },
    # sizes
    "rules": 1_000,
    "text": 20_000,
    "name": 200,
    "max_iter": 10_000_000,
    "covariance": 1e12,
    # the inverse penalty strength of a logistic model
    "C": (1e-300, 1e300),
}
_KINDS = ("rule_scorecard", "logistic")
_SHIPPED_PACKAGE = "riskscore.models"
_SHA256_SUFFIX = ".sha256"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_MISSING_SUFFIX = "__missing"
_FIX = "re-save the model with riskscore.save_model, or restore the file you vetted"
#: the same problem found by save_model, in a model just fitted: the fit is the cause
_SAVE_FIX = (
    "nothing was written; correct that value in the model (in a fitted logistic model, "
    "a value this far out comes from an unstable fit, separation or too few children "
    "for the features: fit with a penalty, penalty='l2' or a smaller C, on more "
    "children or with fewer features)"
)

# top-level keys: (required, optional)
_SCORECARD_KEYS = (
    ("kind", "schema_version", "features", "bands", "rules"),
    ("riskscore_version", "name", "parameters", "model_card"),
)
_RULE_KEYS = (("feature", "op", "threshold", "points"), ("rationale", "agencies"))
_LOGISTIC_KEYS = (
    (
        "kind",
        "schema_version",
        "features",
        "parameters",
        "bands",
        "classes",
        "intercept",
        "coefficients",
        "impute_values",
        "missing_indicators",
    ),
    (
        "riskscore_version",
        "name",
        "calibration",
        "covariance",
        "cluster_covariance",
        "interval",
        "constant_features",
        "n_iter",
        "model_card",
    ),
)
_CALIBRATION_KEYS = ((), ("method", "intercept_shift", "slope"))
_CALIBRATION_METHODS = (None, "intercept", "platt")

_LOGISTIC_LIMITATIONS = [
    "Associations in the training data, not causes; coefficients are per unit of each feature.",
    "Indicators linked to poverty (hardship, police contact, missed appointments) can make "
    "the score track deprivation: check metrics by deprivation quintile before any use.",
    "Missing values are imputed at the training mean with a missing indicator; a "
    "population with different recording practice needs re-checking.",
    "Performance outside the training population is unknown until validated there.",
]


# --------------------------------------------------------------------------- helpers


@validate_params({"path": ["path"]})
def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscore import file_sha256
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"; _ = p.write_bytes(b"abc")
    >>> file_sha256(p)[:12]
    'ba7816bf8f01'
    """
    name = os.fsdecode(path)  # bytes paths keep working
    refuse_nul(name, "file_sha256")
    if not os.path.lexists(name):
        raise MissingFileError(f"file_sha256: no such file '{name}'. Fix: check the path.")
    if os.path.isdir(name):
        raise ParameterError(f"file_sha256: '{name}' is a folder; give a file.")
    try:
        # one file hasher for model files and audit inputs
        return hash_input(name)
    except OSError as exc:
        raise ParameterError(
            f"file_sha256: cannot read '{name}' ({exc.strerror or exc})."
        ) from None


def _check_card_entries(value: Any, where: str, depth: int = 0) -> None:
    """Refuse model-card entries a file would change or could not hold.

    Writing turns NaN into null and every key into text (so keys 1 and "1" would
    become one entry), and a card that holds itself would never end: each is refused,
    naming the entry, instead of being written differently from what was given.
    """
    if depth > MAX_DEPTH:
        raise ModelFileError(
            f"save_model: {where} is nested more than {MAX_DEPTH} levels deep (does it "
            "hold itself?). Fix: model cards hold plain text, numbers, lists and mappings."
        )
    if isinstance(value, Mapping):
        keys = [str(k) for k in value]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ModelFileError(
                f"save_model: {where} has keys that are the same as text ({twice[0]!r}), "
                "which a file would merge into one entry. Fix: give each entry its own name."
            )
        for k, v in value.items():
            _check_card_entries(v, f"{where}[{str(k)!r}]", depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_card_entries(v, f"{where}[{i}]", depth + 1)
    elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
        raise ModelFileError(
            f"save_model: {where} is {value!r}, which a model file cannot hold (it would be "
            "written as null). Fix: give a finite number, or None for no value."
        )


#: Count-like names that are settings of the method, not counts of children or rows.
_SETTING_NAME = re.compile(
    r"^(?:n|num|number)_(?:splits|folds|repeats|boot|bootstrap|bootstraps|resamples|iter|"
    r"iterations|jobs|features|parameters|params|bins|thresholds|quantiles|deciles|rules|"
    r"bands|points|indicators|seeds)$|^min_count$",
    re.IGNORECASE,
)


def _refuse_small_card_counts(value: Any, where: str, depth: int = 0) -> None:
    """Refuse an exact count from 1 to ``min_count - 1`` anywhere in a caller's card entries.

    Only ``training_data`` is put under disclosure control on writing; any other entry is
    written as it is, so a count of 3 children in a subgroup would leave with the file.
    A count is a whole number under a name that says it counts (``n``, ``n_*``,
    ``*_events``, ``cases``, ...: the names :func:`riskscore.disclose` infers counts by);
    settings of the method (``n_splits``, ``n_boot``, ``min_count``) are not counts.
    """
    from riskscore.disclosure import DisclosureSettings, names_a_count

    if depth > MAX_DEPTH:
        return  # refused by _check_card_entries
    m = DisclosureSettings().min_count
    items = (
        value.items()
        if isinstance(value, Mapping)
        else enumerate(value)
        if isinstance(value, (list, tuple))
        else ()
    )
    for k, v in items:
        key = f"{where}[{k!r}]" if isinstance(value, Mapping) else f"{where}[{k}]"
        if (
            isinstance(value, Mapping)
            and names_a_count(k)
            and not _SETTING_NAME.search(str(k))
            and _is_count(v)
            and 0 < v < m
        ):
            raise ModelFileError(
                f"save_model: {key} is a count of {int(v)}, below the disclosure threshold "
                f"of {m}, and model card entries other than training_data are written as "
                "they are. Fix: pass the table the entry comes from through "
                "riskscore.disclose() first (a suppressed count becomes null), or leave the "
                "entry out."
            )
        _refuse_small_card_counts(v, key, depth + 1)


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays to Python, NaN refused upstream."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        value = float(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _disclosed_counts(counts: Mapping[str, int | None]) -> dict[str, int | None]:
    """Counts for a model card: under 10 suppressed (None), others rounded to 5.

    Events are a part of the rows: the rows without an event are protected too.
    """
    from riskscore.disclosure import disclose

    # a card read back from a file is free-form: only whole non-negative numbers count
    present = {k: int(v) for k, v in counts.items() if _is_count(v)}
    out: dict[str, int | None] = {k: None for k in counts}
    if present:
        pairs = (
            [("n_rows", ["n_events"])]
            if {"n_rows", "n_events"} <= set(present) and present["n_events"] <= present["n_rows"]
            else None
        )
        table = disclose(
            pd.DataFrame({k: [int(v)] for k, v in present.items()}),
            count_columns=list(present),
            total_columns=pairs,
        )
        for k in present:
            v = table[k].iloc[0]
            out[k] = None if pd.isna(v) else int(v)
    return out


def _is_count(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return False
    # exact in a float: larger "counts" in an edited card are not counts
    return bool(np.isfinite(value)) and 0 <= value < 2**53 and float(value) == int(value)


def _published_training_metrics(
    metrics: Mapping[str, float], exact: Mapping[str, Any], shown: Mapping[str, int | None]
) -> dict[str, float | None]:
    """Training metrics for a model card under the one disclosure rule.

    The observed rate is the published events over the published rows (the exact
    rate beside rounded counts gives the exact counts back); the other metrics are
    shown only with at least 10 events and 10 rows without one, of at least 10
    children each when the children are known (rows are person-time). The mean
    predicted risk times the rows is the expected number of events, which a maximum
    likelihood fit makes equal to the observed number on its training rows: it is
    published as that expected count rounded to 5, over the published rows.
    """

    settings = DisclosureSettings()
    m = settings.min_count
    n, e = exact.get("n_rows"), exact.get("n_events")
    big = _is_count(n) and _is_count(e) and e >= m and n - e >= m
    for key in ("n_cases_with_event", "n_cases_without_event"):
        kids = exact.get(key)
        if _is_count(kids) and kids < m:
            big = False
    out: dict[str, float | None] = {
        str(k): (float(v) if big and _is_number(v) else None) for k, v in metrics.items()
    }
    rows, events = shown.get("n_rows"), shown.get("n_events")
    if "observed_rate" in out:
        out["observed_rate"] = events / rows if big and rows and events is not None else None
    if out.get("mean_predicted_risk") is not None:
        expected = out["mean_predicted_risk"] * n
        rounded = settings.round_to * math.floor(expected / settings.round_to + 0.5)
        out["mean_predicted_risk"] = rounded / rows if rows else None
    return out


def _is_number(value: Any) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and bool(np.isfinite(value))
    )


def _sha256_line(digest: str, filename: str) -> str:
    """One line of ``sha256sum`` output, so ``sha256sum -c`` checks the file too."""
    return f"{digest}  {filename}\n"


# --------------------------------------------------------------------------- to dict


def _controlled_training_data(mc: dict) -> dict:
    """``mc`` with the counts of its ``training_data`` (however they got there: a caller's
    ``model_card=``, a card read from a file) under disclosure control."""
    td = mc.get("training_data")
    if isinstance(td, Mapping):
        td = dict(td)
        keys = [k for k in ("n_rows", "n_events", "n_cases") if k in td]
        if keys:
            td.update(_disclosed_counts({k: td[k] for k in keys}))
        mc["training_data"] = td
    return mc


def _scorecard_dict(card: RuleScorecard, model_card: Mapping | None) -> dict:
    mc = dict(card.model_card)
    mc.setdefault("intended_use", AUDIT_ONLY_NOTICE)
    mc.setdefault("created", _dt.date.today().isoformat())
    if model_card:
        mc.update(model_card)
    _controlled_training_data(mc)
    return {
        "kind": "rule_scorecard",
        "schema_version": SCHEMA_VERSION,
        "riskscore_version": __version__,
        "name": card.name,
        "features": list(card.features_),
        "parameters": {},
        "bands": dict(card.bands),
        "rules": [
            {
                "feature": r.feature,
                "op": r.op,
                "threshold": r.threshold,
                "points": r.points,
                "rationale": r.rationale,
                "agencies": list(r.agencies),
            }
            for r in card.rules
        ],
        "model_card": _plain(mc),
    }


def _logistic_dict(model: LogisticRiskModel, model_card: Mapping | None) -> dict:
    if not hasattr(model, "coef_"):
        raise ModelFileError("save_model: the LogisticRiskModel is not fitted; call fit first.")
    if not getattr(model, "_named_input", False):
        raise ModelFileError(
            "save_model: the model was fitted on an unnamed array; model files name their "
            "features, so fit it on a DataFrame of catalogue features."
        )
    names = list(model.feature_names_in_)
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ModelFileError(
            f"save_model: features: unknown feature {unknown[0]!r}. Fix: fit the model on "
            "catalogue features (riskscore.encode_features output) only."
        )
    params = model.get_params()
    for k, legacy in ADDED_PARAMETERS.items():
        # written only when it changes the fit from files written before it existed
        if params.get(k) == legacy:
            params.pop(k)
    if isinstance(params["class_weight"], Mapping):
        # JSON keys are text; keep labels typed as [label, weight] pairs
        params["class_weight"] = [[_plain(k), float(v)] for k, v in params["class_weight"].items()]
    if params["features"] is not None:
        params["features"] = list(params["features"])
    if params["random_state"] is not None and not isinstance(params["random_state"], int):
        params["random_state"] = None  # a RandomState object is not data
    td = dict(model.training_data_)
    counts = _disclosed_counts({k: td.get(k) for k in ("n_rows", "n_events", "n_cases")})
    if any(
        _is_count(td.get(k)) and td[k] < DisclosureSettings().min_count
        for k in ("n_cases_with_event", "n_cases_without_event")
    ):
        counts["n_events"] = None  # many rows, but of too few children
    mc = {
        "intended_use": AUDIT_ONLY_NOTICE,
        "training_data": {
            **counts,
            "sha256": td.get("sha256"),
            "disclosure": "counts under 10 suppressed (null), others rounded to the nearest 5; "
            "the observed rate is computed from the published counts, other metrics are "
            "shown only with at least 10 events and 10 rows without one",
        },
        "metrics": {"training": _published_training_metrics(model.training_metrics_, td, counts)},
        "limitations": list(_LOGISTIC_LIMITATIONS),
        "created": _dt.date.today().isoformat(),
    }
    recal = getattr(model, "recalibration_", None)
    if recal:
        mc["recalibration"] = {
            "method": recal["method"],
            "intercept": float(recal["intercept"]),
            "slope": float(recal["slope"]),
            **_disclosed_counts({k: recal.get(k) for k in ("n_rows", "n_events")}),
            "note": "recalibrated by riskscore.recalibrate on new data after fitting: the "
            "coefficients and intercept include it; the training metrics are of the "
            "original fit; the intervals condition on the recalibration",
        }
    if model_card:
        mc.update(model_card)
    _controlled_training_data(mc)
    return {
        "kind": "logistic",
        "schema_version": SCHEMA_VERSION,
        "riskscore_version": __version__,
        "name": getattr(model, "name_", None),
        "features": names,
        "parameters": _plain(params),
        "bands": dict(model.band_probabilities_),
        "classes": _plain(list(model.classes_)),
        "intercept": float(model.intercept_[0]),
        "coefficients": {
            f: float(c) for f, c in zip(model.features_, model.coef_.ravel(), strict=True)
        },
        "impute_values": {f: float(model.impute_values_[f]) for f in names},
        "missing_indicators": {k: list(v) for k, v in model.indicator_groups_.items()},
        "calibration": _plain(model.calibration_),
        "covariance": None if model.covariance_ is None else _plain(model.covariance_),
        **(
            {"cluster_covariance": _plain(model.cluster_covariance_)}
            if getattr(model, "cluster_covariance_", None) is not None
            else {}
        ),
        **(
            {"interval": model.interval_}
            if model.covariance_ is not None
            and getattr(model, "interval_", "wald-independent") != "wald-independent"
            else {}
        ),
        "constant_features": list(getattr(model, "constant_features_", [])),
        "n_iter": _plain(model.n_iter_),
        "model_card": _plain(mc),
    }


def model_to_json(
    model: RuleScorecard | LogisticRiskModel, *, model_card: Mapping | None = None
) -> str:
    """The model file text (indented JSON) for a scorecard or fitted logistic model.

    The text is checked as :func:`model_from_json` would check it, so a model that
    could not be loaded back (a NaN coefficient, bands no record can mean anything
    by) is refused here rather than written.

    Parameters
    ----------
    model : RuleScorecard or LogisticRiskModel
    model_card : mapping, optional
        Entries added to (or replacing) the generated model card, e.g. metrics by
        deprivation quintile from an evaluation, or a fixed ``created`` date.

    Raises
    ------
    ModelFileError
        The model is of another kind, not fitted, or would not load back.

    Examples
    --------
    >>> from riskscore import default_scorecard, model_to_json
    >>> model_to_json(default_scorecard()).splitlines()[1]
    '  "kind": "rule_scorecard",'
    """
    if model_card is not None and not isinstance(model_card, Mapping):
        raise ModelFileError(
            f"save_model: model_card must be a mapping of entries, got {type(model_card).__name__}."
        )
    _check_card_entries(model_card, "model_card")
    _refuse_small_card_counts(
        {k: v for k, v in (model_card or {}).items() if k != "training_data"}, "model_card"
    )
    if isinstance(model, RuleScorecard):
        _check_card_entries(model.model_card, "the scorecard's model_card")
        _refuse_small_card_counts(
            {k: v for k, v in model.model_card.items() if k != "training_data"},
            "the scorecard's model_card",
        )
        doc = _scorecard_dict(model, model_card)
    elif isinstance(model, LogisticRiskModel):
        doc = _logistic_dict(model, model_card)
    else:
        raise ModelFileError(
            f"save_model: cannot write a {type(model).__name__}; model files hold a "
            "RuleScorecard or a LogisticRiskModel (use save_pipeline for anything else)."
        )
    try:
        # allow_nan=False: a NaN or inf would not be valid JSON, fail loudly instead
        text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (ValueError, TypeError) as exc:
        raise ModelFileError(
            f"save_model: the model holds a value JSON cannot carry ({exc}). Fix: model "
            "files hold finite numbers, text, lists and mappings only."
        ) from None
    # never write what load_model would refuse
    model_from_json(text, source="save_model")
    return text


def save_model(
    model: RuleScorecard | LogisticRiskModel,
    path: str | os.PathLike,
    *,
    model_card: Mapping | None = None,
) -> Path:
    """Write a model as human-readable JSON, and its SHA-256 beside it.

    Writes ``path`` and ``<path>.sha256`` (one ``sha256sum`` line: digest, two
    spaces, file name), so a user can pin the exact file:
    ``load_model(path, sha256=...)`` or ``riskscore ... --model-sha256``.

    Parameters
    ----------
    model : RuleScorecard or LogisticRiskModel
        A scorecard, or a logistic model fitted on a DataFrame of catalogue features.
    path : path-like
        Destination (``.json``).
    model_card : mapping, optional
        Extra or replacement model-card entries (see :func:`model_to_json`).

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ModelFileError
        The model would not load back (see :func:`model_to_json`), or ``path`` is a
        folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscore import default_scorecard, file_sha256, load_model, save_model
    >>> path = save_model(default_scorecard(), pathlib.Path(tempfile.mkdtemp()) / "card.json")
    >>> load_model(path) == default_scorecard()
    True
    >>> digest = path.with_name("card.json.sha256").read_text().split()[0]
    >>> digest == file_sha256(path)
    True
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ModelFileError(f"save_model: path must be a file path, got {type(path).__name__}.")
    path = output_file(path, "save_model", ModelFileError)
    data = model_to_json(model, model_card=model_card).encode("utf-8")
    with writing(path, "save_model", ModelFileError):
        path.write_bytes(data)
        # the digest of the bytes just written, not of a re-read of the path
        digest = hashlib.sha256(data).hexdigest()
        path.with_name(path.name + _SHA256_SUFFIX).write_text(
            _sha256_line(digest, path.name), encoding="utf-8"
        )
    return path


# --------------------------------------------------------------------------- parsing


# a JSON string literal (escapes included): removed before counting brackets
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _nesting_depth(text: str) -> int:
    """Deepest bracket nesting of JSON text, found without recursion."""
    stripped = _JSON_STRING.sub('""', text)
    raw = np.frombuffer(stripped.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    step = ((raw == ord("[")) | (raw == ord("{"))).astype(np.int32) - (
        (raw == ord("]")) | (raw == ord("}"))
    ).astype(np.int32)
    return int(np.cumsum(step).max(initial=0))


def _parse_json(text: str, source: str) -> Any:
    """JSON text to Python, refusing what a model file never needs (see module notes)."""

    def refuse(problem: str, fix: str) -> ModelFileError:
        return ModelFileError(f"{source}: {problem}. Fix: {fix}.")

    def no_constant(name: str):
        raise refuse(
            f"the number {name} is not allowed (every number must be finite)",
            "write a finite number, or " + _FIX,
        )

    def finite_float(text_: str) -> float:
        value = float(text_)
        if not math.isfinite(value):
            raise refuse(f"the number {text_[:40]} overflows", "write a number in range")
        return value

    def short_int(text_: str) -> int:
        if len(text_.lstrip("-")) > 18:
            raise refuse(f"the integer {text_[:40]}... is too long", "write a number in range")
        return int(text_)

    def unique_keys(pairs):
        seen = set()
        for k, _ in pairs:
            if k in seen:
                raise refuse(
                    f"key {k!r} is given twice in one object (JSON readers disagree about "
                    "which one counts)",
                    "keep one of them",
                )
            seen.add(k)
        return dict(pairs)

    if len(text) > MAX_FILE_BYTES:
        raise refuse(
            f"{len(text):,} characters is larger than a model file can be "
            f"({MAX_FILE_BYTES:,} bytes)",
            "check that this is a riskscore model file",
        )
    depth = _nesting_depth(text)
    if depth > MAX_DEPTH:
        raise refuse(
            f"JSON nested {depth} levels deep; model files need no more than {MAX_DEPTH}",
            "check that this is a riskscore model file, or " + _FIX,
        )
    try:
        doc = json.loads(
            text,
            parse_constant=no_constant,
            parse_float=finite_float,
            parse_int=short_int,
            object_pairs_hook=unique_keys,
        )
    except ModelFileError:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise refuse(
            f"not valid JSON ({exc})", "check that this is a riskscore model file"
        ) from None
    try:
        # a "\ud800" escape is valid JSON but no text: printing or saving would fail
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise refuse(
            "a text holds a lone surrogate escape (such as \\ud800), which is not a character",
            "write the text as plain UTF-8",
        ) from None
    _refuse_control_characters(doc, "", source)
    return doc


# Format characters that reorder the text shown around them (a rule could read as its
# opposite): the bidirectional embeddings, overrides, isolates and marks.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# line breaks and tabs are plain layout in multi-line text (rationales, limitations)
_LAYOUT = frozenset("\n\t")


def _control_character(text: str) -> str | None:
    """The first character a terminal or viewer would act on rather than show, if any.

    Control characters (Unicode category Cc: escape, bell, carriage return, the C1
    controls such as CSI) other than a line break or tab, and bidirectional controls.
    """
    for c in text:
        if c in _BIDI_CONTROLS or (c not in _LAYOUT and unicodedata.category(c) == "Cc"):
            return c
    return None


def _refuse_control_characters(value: Any, key: str, source: str) -> None:
    """Refuse any text (entry names too) holding a control character, naming the entry.

    A model file is printed (``riskscore model``, the score sheet) and put in reports:
    an escape sequence in a rationale could set a terminal's title or clear its screen.
    """
    if isinstance(value, Mapping):
        for k, v in value.items():
            bad = _control_character(k)
            if bad is not None:
                _control_refusal(key or "(top level)", bad, source, f"the entry name {k!r}")
            _refuse_control_characters(v, _join(key, k), source)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _refuse_control_characters(v, f"{key}[{i}]", source)
    elif isinstance(value, str):
        bad = _control_character(value)
        if bad is not None:
            _control_refusal(key or "(top level)", bad, source, "the text")


def _control_refusal(key: str, char: str, source: str, what: str) -> None:
    name = unicodedata.name(char, "a control character")
    raise ModelFileError(
        f"{source}: {key}: {what} holds the control character U+{ord(char):04X} ({name}), "
        "which a terminal or viewer acts on instead of showing (escape sequences can "
        "change a terminal's title or clear its screen; bidirectional controls reverse "
        "the text shown). Fix: delete it (text may hold line breaks and tabs, no other "
        "control characters), or restore the file you vetted."
    )


# --------------------------------------------------------------------------- checking


class _Check:
    """Refusals that name the file, the entry (``rules[3].points``) and the fix."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, problem: str, fix: str = _FIX) -> ModelFileError:
        if fix is _FIX and self.source == "save_model":
            fix = _SAVE_FIX  # re-saving is what just failed
        return ModelFileError(f"{self.source}: {key}: {problem}. Fix: {fix}.")

    def keys(self, doc: Any, key: str, spec: tuple[tuple[str, ...], tuple[str, ...]]) -> Mapping:
        required, optional = spec
        if not isinstance(doc, Mapping):
            raise self.fail(key, f"must be a JSON object, got {_json_type(doc)}")
        unknown = [k for k in doc if k not in required and k not in optional]
        if unknown:
            raise self.fail(
                _join(key, unknown[0]),
                "unknown entry; this schema has only " + ", ".join(required + optional),
                "remove it (a file from a newer riskscore needs that version)",
            )
        missing = [k for k in required if k not in doc]
        if missing:
            raise self.fail(
                _join(key, missing[0]), "required entry is missing", "add it, or " + _FIX
            )
        return doc

    def mapping(self, value: Any, key: str, *, allow_none: bool = False) -> Mapping | None:
        if value is None and allow_none:
            return None
        if not isinstance(value, Mapping):
            raise self.fail(key, f"must be a JSON object, got {_json_type(value)}")
        return value

    def array(self, value: Any, key: str, *, min_len: int = 0, max_len: int = 10_000) -> list:
        if not isinstance(value, list):
            raise self.fail(key, f"must be a JSON array, got {_json_type(value)}")
        if not min_len <= len(value) <= max_len:
            raise self.fail(key, f"must have {min_len} to {max_len} entries, has {len(value)}")
        return value

    def number(self, value: Any, key: str, low: float, high: float) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"must be a number, got {_json_type(value)}")
        value = float(value)
        if not (math.isfinite(value) and low <= value <= high):
            raise self.fail(key, f"{value!r} is outside the sane range {_num(low)} to {_num(high)}")
        return value

    def integer(self, value: Any, key: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"must be a whole number, got {_json_type(value)}")
        if not low <= value <= high:
            raise self.fail(key, f"{value} is outside the range {low} to {high}")
        return value

    def text(
        self, value: Any, key: str, *, allow_none: bool = False, max_len: int | None = None
    ) -> str | None:
        if value is None and allow_none:
            return None
        if not isinstance(value, str):
            raise self.fail(key, f"must be text, got {_json_type(value)}")
        limit = LIMITS["text"] if max_len is None else max_len
        if len(value) > limit:
            raise self.fail(key, f"text of {len(value):,} characters is longer than {limit:,}")
        return value

    def name(self, value: Any, key: str) -> str | None:
        value = self.text(value, key, allow_none=True, max_len=LIMITS["name"])
        if value is not None and (not value.strip() or not value.isprintable()):
            raise self.fail(key, "a model name is printable text on one line", "rename the model")
        return value

    def features(self, value: Any, key: str) -> list[str]:
        names = self.array(value, key, min_len=1, max_len=len(FEATURES))
        for i, n in enumerate(names):
            self.text(n, f"{key}[{i}]", max_len=200)
            if n not in FEATURES:
                raise self.fail(
                    f"{key}[{i}]",
                    f"unknown feature {n!r}; known features are " + ", ".join(FEATURES),
                    "use catalogue names (the file may come from a newer riskscore, or "
                    "have been edited)",
                )
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise self.fail(key, f"feature {dup[0]!r} is listed twice", "list it once")
        return list(names)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


def _join(key: str, sub: Any) -> str:
    # an entry named by a file may hold anything (a newline, a quote): quote odd ones
    sub = sub if isinstance(sub, str) and re.fullmatch(r"[\w.-]{1,80}", sub) else repr(sub)[:80]
    return sub if not key else f"{key}.{sub}"


def _num(value: float) -> str:
    return format(value, "g")


def _check_header(doc: Any, source: str) -> str:
    """Kind and exact schema version; returns the kind."""
    check = _Check(source)
    if not isinstance(doc, Mapping):
        raise check.fail("(top level)", f"a model file is a JSON object, got {_json_type(doc)}")
    kind = doc.get("kind")
    if kind not in _KINDS:
        raise ModelFileError(
            f"{source}: kind: unknown model kind {kind!r}; riskscore reads kinds "
            f"{list(_KINDS)}. Fix: check that this is a riskscore model file."
        )
    if "schema_version" not in doc:
        raise ModelFileError(
            f"{source}: schema_version: 'schema_version' is missing; riskscore {__version__} "
            f'reads schema version {SCHEMA_VERSION}. Fix: add "schema_version": '
            f"{SCHEMA_VERSION}, or {_FIX}."
        )
    version = doc["schema_version"]
    if type(version) is not int or version != SCHEMA_VERSION:
        raise ModelFileError(
            f"{source}: schema_version: {version!r} is not supported; riskscore {__version__} "
            f"reads schema version {SCHEMA_VERSION} (the integer, exactly). Fix: upgrade "
            "riskscore, or re-save the model with this version."
        )
    return kind


def _common_entries(doc: Mapping, check: _Check) -> tuple[str | None, dict]:
    check.text(doc.get("riskscore_version", ""), "riskscore_version", max_len=50)
    name = check.name(doc.get("name"), "name")
    card = dict(check.mapping(doc.get("model_card"), "model_card", allow_none=True) or {})
    # the one free-form entry the library reads back (the score sheet lists it)
    zero = card.get("rounded_to_zero")
    if zero is not None:
        for i, z in enumerate(check.array(zero, "model_card.rounded_to_zero")):
            key = f"model_card.rounded_to_zero[{i}]"
            check.keys(z, key, (("condition", "log_odds_effect"), ("same_as", "scaled")))
            check.text(z["condition"], f"{key}.condition")
            check.number(z["log_odds_effect"], f"{key}.log_odds_effect", -1e6, 1e6)
    return name, card


def _total_range(card: RuleScorecard) -> tuple[float, float]:
    """Lowest and highest total a scorecard can give (each feature at its worst value)."""
    low = high = 0.0
    for f in card.features_:
        rules = [r for r in card.rules if r.feature == f]
        t = np.unique([r.threshold for r in rules])
        # totals are piecewise constant between thresholds: try each threshold, each gap,
        # and beyond both ends (as RuleScorecard.unknown's bound does)
        candidates = np.concatenate([t, (t[:-1] + t[1:]) / 2, [t[0] - 1.0, t[-1] + 1.0]])
        totals = sum(np.where(r.fires(candidates), r.points, 0.0) for r in rules)
        low += float(np.min(totals))
        high += float(np.max(totals))
    return low, high


def _scorecard_from(doc: Mapping, source: str) -> RuleScorecard:
    check = _Check(source)
    check.keys(doc, "", _SCORECARD_KEYS)
    name, model_card = _common_entries(doc, check)
    params = check.mapping(doc.get("parameters", {}), "parameters")
    if params:
        raise check.fail(
            _join("parameters", next(iter(params))),
            "a rule scorecard has no parameters",
            "leave 'parameters' empty ({})",
        )
    features = check.features(doc["features"], "features")
    rules_doc = check.array(doc["rules"], "rules", min_len=1, max_len=LIMITS["rules"])
    agency_codes = (*AGENCIES, "any")
    rules = []
    for i, r in enumerate(rules_doc):
        key = f"rules[{i}]"
        check.keys(r, key, _RULE_KEYS)
        feature = check.text(r["feature"], f"{key}.feature", max_len=200)
        if feature not in FEATURES:
            raise check.fail(
                f"{key}.feature",
                f"unknown feature {feature!r}; known features are " + ", ".join(FEATURES),
                "use a catalogue name (the file may come from a newer riskscore)",
            )
        op = check.text(r["op"], f"{key}.op", max_len=10)
        if op not in OPS:
            raise check.fail(
                f"{key}.op", f"unknown comparison {op!r}", "use one of " + ", ".join(OPS)
            )
        t = LIMITS["threshold"]
        threshold = check.number(r["threshold"], f"{key}.threshold", -t, t)
        p = LIMITS["points"]
        points = check.number(r["points"], f"{key}.points", -p, p)
        rationale = check.text(r.get("rationale", ""), f"{key}.rationale")
        agencies = check.array(r.get("agencies", []), f"{key}.agencies", max_len=len(agency_codes))
        for j, a in enumerate(agencies):
            if a not in agency_codes:
                raise check.fail(
                    f"{key}.agencies[{j}]",
                    f"unknown agency {a!r}",
                    "use codes from " + ", ".join(agency_codes),
                )
        rules.append(Rule(feature, op, threshold, points, rationale, tuple(agencies)))
    bands = _bands(doc["bands"], check, -LIMITS["threshold"], LIMITS["threshold"])
    try:
        card = RuleScorecard(rules, bands, name=name, model_card=model_card)
    except RiskscoreError as exc:
        raise check.fail("rules", str(exc).rstrip("."), "merge or remove the rule") from None
    if sorted(card.features_) != sorted(features):
        raise check.fail(
            "features",
            f"{features} does not match the features the rules read {card.features_}",
            "list exactly the features of the rules",
        )
    mapping = model_card.get("points_to_risk")
    if mapping is not None:
        check.keys(mapping, "model_card.points_to_risk", (("intercept", "slope"), ()))
        lim = LIMITS["log_odds"]
        card.points_to_risk_ = {
            k: check.number(mapping[k], f"model_card.points_to_risk.{k}", -lim, lim)
            for k in ("intercept", "slope")
        }
    low, high = _total_range(card)
    mad = bands["multi_agency_discussion"]
    for k in ("review", "multi_agency_discussion"):
        if bands[k] <= low and not _fitted_at_lowest(card, model_card, k, bands[k], low):
            raise check.fail(
                f"bands.{k}",
                f"{_num(bands[k])} is reached by every record (the lowest possible total is "
                f"{_num(low)})",
                f"set it above {_num(low)}",
            )
    if mad > high + 1:
        raise check.fail(
            "bands.multi_agency_discussion",
            f"{_num(mad)} can never be reached (the highest possible total is {_num(high)})",
            f"set it at most {_num(high + 1)} (one above the highest total means never)",
        )
    return card


def _fitted_at_lowest(
    card: RuleScorecard, model_card: Mapping, band: str, value: float, low: float
) -> bool:
    """A band is at the lowest total because the card's own fit puts it there.

    :meth:`LogisticRiskModel.to_scorecard` sets a band to the lowest possible total
    when the risk its points-to-risk map predicts there already reaches the band's
    probability: every record is in it because the data say so, not by mistake. A
    hand-written card (no map), a band below the lowest total, or a map that puts the
    risk there under the band's probability is still refused.
    """
    mapping = getattr(card, "points_to_risk_", None)
    probs = model_card.get("band_probabilities")
    if value != low or mapping is None or not isinstance(probs, Mapping):
        return False
    p = probs.get(band)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p < 1:
        return False
    a, b = mapping["intercept"], mapping["slope"]
    # to_scorecard rounds the band up with a slack of 1e-9 points
    return b > 0 and a + b * low >= float(logit(p)) - b * 1e-6


def _bands(value: Any, check: _Check, low: float, high: float) -> dict[str, float]:
    needed = list(BANDS[1:])
    check.keys(value, "bands", (tuple(needed), ()))
    out = {k: check.number(value[k], f"bands.{k}", low, high) for k in needed}
    if out[needed[0]] > out[needed[1]]:
        raise check.fail(
            "bands",
            f"out of order: review {_num(out[needed[0]])} is above "
            f"multi_agency_discussion {_num(out[needed[1]])}",
            "review must be at or below multi_agency_discussion",
        )
    return out


def _logistic_from(doc: Mapping, source: str) -> LogisticRiskModel:
    check = _Check(source)
    check.keys(doc, "", _LOGISTIC_KEYS)
    name, model_card = _common_entries(doc, check)
    names = check.features(doc["features"], "features")
    lim = LIMITS["log_odds"]

    # parameters: every key one LogisticRiskModel takes; the model checks the values
    params_doc = check.mapping(doc["parameters"], "parameters")
    known = LogisticRiskModel().get_params()
    for k in params_doc:
        if k not in known:
            raise check.fail(
                _join("parameters", k),
                "unknown parameter; LogisticRiskModel takes " + ", ".join(known),
                "remove it (a file from a newer riskscore needs that version)",
            )
    # a parameter added after a file was written takes the value that reproduces it
    params = {**ADDED_PARAMETERS, **dict(params_doc)}
    cw = params.get("class_weight")
    if isinstance(cw, list):
        pairs = {}
        for i, pair in enumerate(cw):
            key = f"parameters.class_weight[{i}]"
            if not (isinstance(pair, list) and len(pair) == 2):
                raise check.fail(key, "must be a [label, weight] pair")
            if isinstance(pair[0], (list, Mapping)) or pair[0] is None:
                raise check.fail(key, "the label must be a number, text or true/false")
            if pair[0] in pairs:
                # a dict would keep the last weight silently (true and 1 are one key)
                raise check.fail(
                    key,
                    f"the label {pair[0]!r} is given a weight twice",
                    "give each class one [label, weight] pair",
                )
            pairs[pair[0]] = check.number(pair[1], key, 1e-12, 1e12)
        params["class_weight"] = pairs
    elif cw is not None and cw != "balanced":
        raise check.fail(
            "parameters.class_weight", 'must be null, "balanced" or [label, weight] pairs'
        )
    if params.get("features") is not None:
        params["features"] = check.features(params["features"], "parameters.features")
        if params["features"] != names:
            raise check.fail("parameters.features", "differs from 'features'", "make them equal")
    if params.get("random_state") is not None:
        check.integer(params["random_state"], "parameters.random_state", 0, 2**32 - 1)
    if "max_iter" in params:
        check.integer(params["max_iter"], "parameters.max_iter", 1, LIMITS["max_iter"])
    if "tol" in params:
        check.number(params["tol"], "parameters.tol", 1e-300, 1.0)
    if "C" in params:
        check.number(params["C"], "parameters.C", *LIMITS["C"])
    if params.get("bands") is not None:
        _bands(params["bands"], check, *LIMITS["probability_band"])
    model = LogisticRiskModel(**params)
    try:
        model._check_params()
    except RiskscoreError as exc:
        raise check.fail("parameters", str(exc).rstrip(".")) from None

    # indicators, coefficients, imputation
    indicators = check.mapping(doc["missing_indicators"], "missing_indicators")
    seen: set[str] = set()
    for ind, members in indicators.items():
        key = _join("missing_indicators", ind)
        members = check.features(members, key)
        if any(m not in names for m in members):
            raise check.fail(key, "names a feature the model does not read", "list model features")
        if ind != members[0] + _MISSING_SUFFIX:
            raise check.fail(
                key,
                f"an indicator is named after its first feature ({members[0] + _MISSING_SUFFIX!r})",
                "rename it",
            )
        if seen & set(members):
            raise check.fail(key, "a feature is in two indicators", "list it in one")
        seen |= set(members)
    features_out = names + list(indicators)
    coefficients = check.mapping(doc["coefficients"], "coefficients")
    if list(coefficients) != features_out:
        raise check.fail(
            "coefficients",
            f"must list the features then the missing indicators, in order: expected "
            f"{features_out}, found {list(coefficients)}",
            "list one coefficient per feature and indicator, in that order",
        )
    coef = [check.number(v, f"coefficients.{k}", -lim, lim) for k, v in coefficients.items()]
    intercept = check.number(doc["intercept"], "intercept", -lim, lim)
    impute = check.mapping(doc["impute_values"], "impute_values")
    if sorted(impute) != sorted(names):
        raise check.fail(
            "impute_values",
            "must give exactly one value for each feature",
            "list each of 'features' once",
        )
    ranges = LIMITS["kind_range"]
    impute_values = {}
    for n in names:
        low, high = ranges.get(FEATURES[n].kind, (-1e6, 1e6))
        impute_values[n] = check.number(impute[n], f"impute_values.{n}", low, high)
    probs = _bands(doc["bands"], check, *LIMITS["probability_band"])
    classes = check.array(doc["classes"], "classes", min_len=2, max_len=2)
    if (
        any(isinstance(c, (list, Mapping)) or c is None for c in classes)
        or type(classes[0]) is not type(classes[1])
        or classes[0] == classes[1]
    ):
        raise check.fail("classes", "must be two different labels of one type, e.g. [0, 1]")
    if not classes[0] < classes[1]:
        # classes_[1] is the outcome; a fit sorts the labels (numpy.unique), so reversed
        # labels would silently count every outcome as a non-event
        raise check.fail(
            "classes",
            f"must be in ascending order, as a fit writes them (the second is the outcome), "
            f"got {classes}",
        )
    if isinstance(params.get("class_weight"), Mapping):
        # the labels weighted must be the classes, or the model would fail on refit
        for i, label in enumerate(params["class_weight"]):
            if label not in classes:
                raise check.fail(
                    f"parameters.class_weight[{i}]",
                    f"the label {label!r} is not one of the classes {classes}",
                    "key the weights by the labels in 'classes'",
                )

    # optional entries
    calibration = check.mapping(doc.get("calibration"), "calibration", allow_none=True) or {}
    check.keys(calibration, "calibration", _CALIBRATION_KEYS)
    if calibration.get("method") not in _CALIBRATION_METHODS:
        raise check.fail(
            "calibration.method",
            f"unknown method {calibration.get('method')!r}",
            'use null, "intercept" or "platt"',
        )
    for k in ("intercept_shift", "slope"):
        if k in calibration:
            check.number(calibration[k], f"calibration.{k}", -lim, lim)

    def covariance(key):
        cov = doc.get(key)
        if cov is not None:
            size = len(features_out) + 1
            check.array(cov, key, min_len=size, max_len=size)
            c = LIMITS["covariance"]
            for i, row in enumerate(cov):
                check.array(row, f"{key}[{i}]", min_len=size, max_len=size)
                for j, v in enumerate(row):
                    check.number(v, f"{key}[{i}][{j}]", -c, c)
            if any(cov[i][i] < 0 for i in range(size)):
                raise check.fail(key, "a variance on the diagonal is negative")
            # a fit gives a symmetric matrix (to rounding) whose correlations are at most 1
            m = np.asarray(cov, dtype=np.float64)
            scale = float(np.abs(np.diag(m)).max()) or 1.0
            if not np.allclose(m, m.T, rtol=1e-9, atol=1e-12 * scale):
                i, j = np.unravel_index(int(np.argmax(np.abs(m - m.T))), m.shape)
                raise check.fail(key, f"is not symmetric ([{i}][{j}] differs from [{j}][{i}])")
            bound = np.sqrt(np.outer(np.diag(m), np.diag(m)))
            if np.any(np.abs(m) > bound * (1 + 1e-9) + 1e-12 * scale):
                i, j = np.unravel_index(int(np.argmax(np.abs(m) - bound)), m.shape)
                raise check.fail(
                    key,
                    f"[{i}][{j}] is larger than its variances allow (a correlation above 1)",
                )
        return cov

    cov = covariance("covariance")
    cluster = covariance("cluster_covariance")
    interval = doc.get("interval", "wald-independent")
    if interval not in ("cluster", "wald", "wald-independent"):
        raise check.fail("interval", 'must be "cluster", "wald" or "wald-independent"')
    constant = check.array(doc.get("constant_features") or [], "constant_features")
    for i, f in enumerate(constant):
        if f not in features_out:
            raise check.fail(f"constant_features[{i}]", f"{f!r} is not a model feature")
    n_iter = check.array(doc.get("n_iter") or [0], "n_iter", min_len=1, max_len=100)
    for i, v in enumerate(n_iter):
        check.integer(v, f"n_iter[{i}]", 0, LIMITS["max_iter"])
    # the model card is free-form for readers; only these two entries are read back
    training_data = model_card.get("training_data")
    metrics = model_card.get("metrics")
    training_metrics = metrics.get("training") if isinstance(metrics, Mapping) else None

    model.classes_ = np.asarray(classes)
    model.coef_ = np.asarray([coef], dtype=np.float64)
    model.intercept_ = np.asarray([intercept], dtype=np.float64)
    model.feature_names_in_ = np.asarray(names, dtype=object)
    model.n_features_in_ = len(names)
    model._named_input = True
    model.features_ = features_out
    model.impute_values_ = dict(impute_values)
    model._impute_array = np.asarray([impute_values[n] for n in names], dtype=np.float64)
    model.indicator_groups_ = {k: list(v) for k, v in indicators.items()}
    model._indicator_index = [np.asarray([names.index(m) for m in v]) for v in indicators.values()]
    model.band_probabilities_ = dict(probs)
    model.bands_ = {k: float(logit(v)) for k, v in probs.items()}
    model.calibration_ = dict(calibration)
    model.covariance_ = None if cov is None else np.asarray(cov, dtype=np.float64)
    model.cluster_covariance_ = None if cluster is None else np.asarray(cluster, dtype=np.float64)
    model.interval_ = interval
    model.constant_features_ = list(constant)
    model.n_iter_ = np.asarray(n_iter)
    model.training_data_ = dict(training_data) if isinstance(training_data, Mapping) else {}
    model.training_metrics_ = (
        dict(training_metrics) if isinstance(training_metrics, Mapping) else {}
    )
    model.model_card_ = model_card
    model.name_ = name
    return model


def model_from_json(text: str, *, source: str = "model file") -> RuleScorecard | LogisticRiskModel:
    """Read a model from model-file text (see :func:`model_to_json` and the module notes).

    Raises
    ------
    ModelFileError
        Not JSON, too large or too deeply nested, wrong or unknown kind, a schema
        version other than :data:`SCHEMA_VERSION`, unknown entries or features, or a
        number out of its sane range (:data:`LIMITS`). The message names the entry
        (e.g. ``rules[2].points``) and the fix.

    Examples
    --------
    >>> from riskscore import ModelFileError, default_scorecard, model_from_json, model_to_json
    >>> model_from_json(model_to_json(default_scorecard())).name
    'review-rules-v2'
    >>> try:
    ...     model_from_json(model_to_json(default_scorecard()).replace("3.0", "NaN", 1))
    ... except ModelFileError as e:
    ...     print(str(e)[:60])
    model file: the number NaN is not allowed (every number must
    """
    if not isinstance(text, str):
        raise ModelFileError(
            f"{source}: model_from_json takes the file's text (str), got {type(text).__name__}."
        )
    doc = _parse_json(text, source)
    kind = _check_header(doc, source)
    if kind == "rule_scorecard":
        return _scorecard_from(doc, source)
    return _logistic_from(doc, source)


# --------------------------------------------------------------------------- loading


def _shipped_root():
    """Folder of the shipped model files.

    Installed, they are the package ``riskscore.models``; in a source checkout that is
    not installed (the top-level ``models/`` folder is mapped to it only at install
    time) the folder itself is used.
    """
    try:
        return resources.files(_SHIPPED_PACKAGE)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "models"


def shipped_models() -> list[str]:
    """Names of the model files installed with the package.

    A shipped model is a ``NAME.json`` installed together with its recorded SHA-256
    (``NAME.json.sha256``); a JSON file without one is not listed and not loaded.

    Examples
    --------
    >>> from riskscore import shipped_models
    >>> "review-rules-v1" in shipped_models()
    True
    """
    files = {p.name for p in _shipped_root().iterdir()}
    return sorted(
        f[: -len(".json")]
        for f in files
        if f.endswith(".json") and f + _SHA256_SUFFIX in files and _NAME.fullmatch(f[:-5])
    )


def is_model_name(ref: str | os.PathLike) -> bool:
    """Whether :func:`load_model` reads ``ref`` as a shipped model's name (else as a path).

    The rule: a ``str`` with no folder separator that does not end in ``.json`` is a
    name; a path-like object, or text with a separator or a ``.json`` ending, is a
    path. A name never loads a file and a path never loads a shipped model.

    Examples
    --------
    >>> from riskscore.modelfile import is_model_name
    >>> is_model_name("review-rules-v1"), is_model_name("./review-rules-v1")
    (True, False)
    >>> is_model_name("my-card.json")
    False
    """
    if not isinstance(ref, str):
        return False
    seps = {"/", os.sep, os.altsep} - {None}
    return not any(s in ref for s in seps) and not ref.lower().endswith(".json")


def _read_bounded(path: Path, source: str, limit: int | None) -> bytes:
    """A regular file's bytes, read once (at most ``limit`` of them)."""
    refuse_nul(path, source, ModelFileError)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelFileError(
            f"{source}: no such file. Fix: check the path; a shipped model is named without "
            f"a folder or .json (shipped: {', '.join(shipped_models())})."
        ) from None
    except OSError as exc:
        raise ModelFileError(f"{source}: cannot read it ({exc.strerror}).") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelFileError(f"{source}: is a folder, not a file. Fix: give the file's path.")
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileError(f"{source}: is not a regular file. Fix: give a model file's path.")
    try:
        with path.open("rb") as fh:
            data = fh.read(-1 if limit is None else limit + 1)
    except OSError as exc:
        raise ModelFileError(f"{source}: cannot read it ({exc.strerror}).") from None
    if limit is not None and len(data) > limit:
        raise ModelFileError(
            f"{source}: larger than a model file can be ({limit:,} bytes). Fix: check that "
            "this is a riskscore model file."
        )
    return data


def _shipped_bytes(name: str) -> tuple[bytes, str, str]:
    """A shipped model's bytes, source label and recorded SHA-256."""
    shipped = shipped_models()
    if not _NAME.fullmatch(name) or name not in shipped:
        raise ModelFileError(
            f"load_model: no shipped model named {name!r}; shipped models are "
            f"{', '.join(shipped)}. Fix: use one of those names, or to load a file of your "
            f"own give its path with a folder or .json (e.g. './{name}' or '{name}.json')."
        )
    root = _shipped_root()
    source = f"shipped model {name!r}"
    try:
        record = (root / f"{name}.json{_SHA256_SUFFIX}").read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(
            f"{source}: its recorded SHA-256 cannot be read ({exc}); the installation is "
            "damaged. Fix: reinstall riskscore."
        ) from None
    if len(record) != 2 or not _HEX64.fullmatch(record[0]) or record[1] != f"{name}.json":
        raise ModelFileError(
            f"{source}: its recorded SHA-256 ({name}.json.sha256) is malformed. Fix: "
            "reinstall riskscore."
        )
    with (root / f"{name}.json").open("rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    return data, source, record[0]


def load_model(
    path: str | os.PathLike, *, sha256: str | None = None
) -> RuleScorecard | LogisticRiskModel:
    """Load a model file (JSON), or a shipped model by bare name.

    A ``str`` with no folder separator that does not end in ``.json`` is a *name*
    and loads only a shipped model (checked against the SHA-256 recorded with it);
    anything else is a *path* and loads only that file. So ``"review-rules-v1"`` is
    always the shipped card, whatever files the working directory holds, and
    ``"./review-rules-v1"`` or ``"my-card.json"`` are always files.

    The file's bytes are read once; the SHA-256 check (if asked) and the parsing use
    those same bytes.

    Parameters
    ----------
    path : path-like or str
        A model file, or the name of a shipped model such as ``"review-rules-v1"``
        (see :func:`shipped_models`).
    sha256 : str, optional
        When given, the file's SHA-256 must match it (64 hexadecimal digits, in
        either case); :func:`save_model` writes it in ``<file>.sha256``.

    Returns
    -------
    RuleScorecard or LogisticRiskModel

    Raises
    ------
    ModelFileError
        See :func:`model_from_json`; also a checksum mismatch, a missing file, a
        folder, an unknown shipped name, or a shipped file that differs from its
        recorded SHA-256.

    Examples
    --------
    >>> from riskscore import load_model
    >>> load_model("review-rules-v1").bands["multi_agency_discussion"]
    10.0
    """
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if is_model_name(path):
        data, source, recorded = _shipped_bytes(path)
        if len(data) > MAX_FILE_BYTES or not hmac.compare_digest(
            hashlib.sha256(data).hexdigest(), recorded
        ):
            raise ModelFileError(
                f"{source}: the installed file does not match the SHA-256 recorded with it; "
                "it was changed after riskscore was installed. Fix: reinstall riskscore."
            )
    elif isinstance(path, (str, os.PathLike)):
        p = Path(path)
        source = str(p)
        data = _read_bounded(p, source, MAX_FILE_BYTES)
    else:
        raise ModelFileError(
            f"load_model: path must be a file path or a shipped model name, got "
            f"{type(path).__name__}."
        )
    if sha256 is not None:
        _check_digest(hashlib.sha256(data).hexdigest(), sha256, source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(
            f"{source}: not UTF-8 text. Fix: model files are JSON text; check the file."
        ) from None
    return model_from_json(text, source=source)


#: The shipped scorecard :func:`default_scorecard` loads (and the CLI's default ``--model``).
DEFAULT_SCORECARD = "review-rules-v2"


def default_scorecard() -> RuleScorecard:
    """The shipped default rule scorecard, ``review-rules-v2``.

    Encodes the serious case review's themes and the asthma evidence (the National
    Review of Asthma Deaths) on catalogue v2, with expert-set points; for
    retrospective audit and research only. ``load_model("review-rules-v1")`` still
    loads the first card, whose statement about single agencies is wrong (see the
    README).

    Examples
    --------
    >>> from riskscore import default_scorecard
    >>> card = default_scorecard()
    >>> card.name, card.bands["review"]
    ('review-rules-v2', 4.0)
    """
    return load_model(DEFAULT_SCORECARD)


# --------------------------------------------------------------------------- pipelines


def _expected_digest(expected: Any, source: str) -> str:
    """The expected SHA-256 in lower case; only its case may differ from the real one."""
    if not isinstance(expected, str) or not _HEX64.fullmatch(expected.lower()):
        shown = repr(expected) if len(repr(expected)) <= 80 else repr(expected)[:77] + "..."
        raise ModelFileError(
            f"{source}: the expected SHA-256 must be exactly 64 hexadecimal characters, got "
            f"{shown}. Fix: copy the digest from save_model's .sha256 file or save_pipeline."
        )
    return expected.lower()


def _check_digest(actual: str, expected: Any, source: str) -> None:
    expected = _expected_digest(expected, source)
    if not hmac.compare_digest(actual, expected):
        raise ModelFileError(
            f"{source}: SHA-256 mismatch (file {actual}, expected {expected}). "
            "The file is not the one you vetted; it was not loaded. Fix: restore the file "
            "you vetted, or vet this one and pass its digest."
        )


def save_pipeline(obj: Any, path: str | os.PathLike) -> str:
    """Write any object (e.g. a fitted Pipeline) with joblib and return its SHA-256.

    Keep the returned digest with the file: :func:`load_pipeline` needs it. The
    digest is of the bytes written (the file is not read back).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscore import load_pipeline, save_pipeline
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.joblib"
    >>> digest = save_pipeline({"a": 1}, path)
    >>> load_pipeline(path, sha256=digest)
    {'a': 1}
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ModelFileError(f"save_pipeline: path must be a file path, got {type(path).__name__}.")
    path = output_file(path, "save_pipeline", ModelFileError)
    buffer = io.BytesIO()
    try:
        joblib.dump(obj, buffer)
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise ModelFileError(
            f"save_pipeline: the {type(obj).__name__} cannot be pickled ({exc}); nothing was "
            "written. Fix: functions defined inline (lambdas) and open files cannot be "
            "saved; use named functions defined in a module."
        ) from None
    data = buffer.getvalue()
    with writing(path, "save_pipeline", ModelFileError):
        path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def load_pipeline(path: str | os.PathLike, *, sha256: str) -> Any:
    """Load a joblib/pickle file only if its SHA-256 matches ``sha256``.

    Unpickling runs code from the file, so it happens only when the caller vouches
    for the exact bytes. The file is read once; those bytes are hashed and, if the
    digest matches, unpickled from memory: the path is never opened again, so a file
    swapped after the check is never run.

    Parameters
    ----------
    path : path-like
    sha256 : str
        Expected hex digest (from :func:`save_pipeline` or :func:`file_sha256`);
        64 hexadecimal digits, in either case.

    Raises
    ------
    ModelFileError
        The digest does not match (nothing is unpickled), or is malformed, or the
        path is missing or a folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscore import ModelFileError, load_pipeline, save_pipeline
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.joblib"
    >>> _ = save_pipeline([1, 2], path)
    >>> try:
    ...     load_pipeline(path, sha256="0" * 64)
    ... except ModelFileError:
    ...     print("refused")
    refused
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ModelFileError(f"load_pipeline: path must be a file path, got {type(path).__name__}.")
    source = f"load_pipeline({os.fsdecode(path)!r})"
    expected = _expected_digest(sha256, source)  # its form, before touching the file
    data = _read_bounded(Path(path), source, None)
    _check_digest(hashlib.sha256(data).hexdigest(), expected, source)
    try:
        return joblib.load(io.BytesIO(data))
    except Exception as exc:  # vetted bytes, but not a pickle this Python can read
        raise ModelFileError(
            f"{source}: the file matches its digest but could not be unpickled "
            f"({type(exc).__name__}: {exc}). Fix: check it is the joblib file save_pipeline "
            "wrote, loaded with the same library versions."
        ) from None
