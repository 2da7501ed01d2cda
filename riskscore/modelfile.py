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
and reloaded model gives bit-identical scores. Loading refuses a file of the wrong
or unknown kind, a missing or unknown schema version, or feature names the library
does not know, with :class:`riskscore.ModelFileError`.

Pickle and joblib files are code, not data: :func:`load_pipeline` opens one only
when the caller supplies its expected SHA-256.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from scipy.special import logit

from riskscore._version import __version__
from riskscore.disclosure import hash_input
from riskscore.errors import ModelFileError
from riskscore.logistic import ADDED_PARAMETERS, LogisticRiskModel
from riskscore.scorecard import AUDIT_ONLY_NOTICE, Rule, RuleScorecard, check_bands
from riskscore.vocabulary import FEATURES

__all__ = [
    "SCHEMA_VERSION",
    "save_model",
    "load_model",
    "model_to_json",
    "model_from_json",
    "save_pipeline",
    "load_pipeline",
    "file_sha256",
    "default_scorecard",
    "shipped_models",
]

#: The model-file schema version this library writes and reads.
SCHEMA_VERSION = 1
_KINDS = ("rule_scorecard", "logistic")
_SHIPPED_PACKAGE = "riskscore.models"

_LOGISTIC_LIMITATIONS = [
    "Associations in the training data, not causes; coefficients are per unit of each feature.",
    "Indicators linked to poverty (hardship, police contact, missed appointments) can make "
    "the score track deprivation: check metrics by deprivation quintile before any use.",
    "Missing values are imputed at the training mean with a missing indicator; a "
    "population with different recording practice needs re-checking.",
    "Performance outside the training population is unknown until validated there.",
]


# --------------------------------------------------------------------------- helpers


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
    # one file hasher for model files and audit inputs; fsdecode keeps bytes paths working
    return hash_input(os.fsdecode(path))


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
        return float(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _disclosed_counts(counts: Mapping[str, int | None]) -> dict[str, int | None]:
    """Counts for a model card: under 10 suppressed (None), others rounded to 5."""
    from riskscore.disclosure import disclose

    present = {k: v for k, v in counts.items() if v is not None}
    out: dict[str, int | None] = {k: None for k in counts}
    if present:
        table = disclose(
            pd.DataFrame({k: [int(v)] for k, v in present.items()}),
            count_columns=list(present),
        )
        for k in present:
            v = table[k].iloc[0]
            out[k] = None if pd.isna(v) else int(v)
    return out


def _known_features(names, where: str) -> list[str]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ModelFileError(f"{where}: 'features' must be a list of feature names.")
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ModelFileError(
            f"{where}: unknown feature {unknown[0]!r}"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + ". Known features are: "
            + ", ".join(FEATURES)
            + ". The file may come from a newer riskscore or have been edited."
        )
    return names


# --------------------------------------------------------------------------- to dict


def _scorecard_dict(card: RuleScorecard, model_card: Mapping | None) -> dict:
    mc = dict(card.model_card)
    mc.setdefault("intended_use", AUDIT_ONLY_NOTICE)
    mc.setdefault("created", _dt.date.today().isoformat())
    if model_card:
        mc.update(model_card)
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
    _known_features(names, "save_model")
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
    mc = {
        "intended_use": AUDIT_ONLY_NOTICE,
        "training_data": {
            **counts,
            "sha256": td.get("sha256"),
            "disclosure": "counts under 10 suppressed (null), others rounded to the nearest 5",
        },
        "metrics": {"training": dict(model.training_metrics_)},
        "limitations": list(_LOGISTIC_LIMITATIONS),
        "created": _dt.date.today().isoformat(),
    }
    if model_card:
        mc.update(model_card)
    extra = {}
    if getattr(model, "cluster_covariance_", None) is not None:
        extra["cluster_covariance"] = _plain(model.cluster_covariance_)
    if model.covariance_ is not None and getattr(model, "interval_", "") != "wald-independent":
        extra["interval"] = model.interval_
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
        "constant_features": list(getattr(model, "constant_features_", [])),
        "n_iter": _plain(model.n_iter_),
        **extra,
        "model_card": _plain(mc),
    }


def model_to_json(
    model: RuleScorecard | LogisticRiskModel, *, model_card: Mapping | None = None
) -> str:
    """The model file text (indented JSON) for a scorecard or fitted logistic model.

    Parameters
    ----------
    model : RuleScorecard or LogisticRiskModel
    model_card : mapping, optional
        Entries added to (or replacing) the generated model card, e.g. metrics by
        deprivation quintile from an evaluation, or a fixed ``created`` date.

    Examples
    --------
    >>> from riskscore import default_scorecard, model_to_json
    >>> model_to_json(default_scorecard()).splitlines()[1]
    '  "kind": "rule_scorecard",'
    """
    if isinstance(model, RuleScorecard):
        doc = _scorecard_dict(model, model_card)
    elif isinstance(model, LogisticRiskModel):
        doc = _logistic_dict(model, model_card)
    else:
        raise ModelFileError(
            f"save_model: cannot write a {type(model).__name__}; model files hold a "
            "RuleScorecard or a LogisticRiskModel (use save_pipeline for anything else)."
        )
    # allow_nan=False: a NaN or inf would not be valid JSON, fail loudly instead
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def save_model(
    model: RuleScorecard | LogisticRiskModel,
    path: str | os.PathLike,
    *,
    model_card: Mapping | None = None,
) -> Path:
    """Write a model as human-readable JSON.

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

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscore import default_scorecard, load_model, save_model
    >>> path = save_model(default_scorecard(), pathlib.Path(tempfile.mkdtemp()) / "card.json")
    >>> load_model(path) == default_scorecard()
    True
    """
    text = model_to_json(model, model_card=model_card)
    path = Path(path)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- from dict


def _require(doc: Mapping, key: str, where: str):
    if key not in doc:
        raise ModelFileError(f"{where}: required entry {key!r} is missing.")
    return doc[key]


def _scorecard_from(doc: Mapping, where: str) -> RuleScorecard:
    features = _known_features(_require(doc, "features", where), where)
    rules_doc = _require(doc, "rules", where)
    if not isinstance(rules_doc, list):
        raise ModelFileError(f"{where}: 'rules' must be a list.")
    rules = []
    for i, r in enumerate(rules_doc):
        if not isinstance(r, Mapping):
            raise ModelFileError(f"{where}: rule {i + 1} is not an object.")
        extra = set(r) - {"feature", "op", "threshold", "points", "rationale", "agencies"}
        if extra:
            raise ModelFileError(f"{where}: rule {i + 1} has unknown entries {sorted(extra)}.")
        try:
            rules.append(
                Rule(
                    _require(r, "feature", f"{where}, rule {i + 1}"),
                    _require(r, "op", f"{where}, rule {i + 1}"),
                    _require(r, "threshold", f"{where}, rule {i + 1}"),
                    _require(r, "points", f"{where}, rule {i + 1}"),
                    r.get("rationale", ""),
                    tuple(r.get("agencies", ())),
                )
            )
        except ModelFileError as exc:
            raise ModelFileError(f"{where}, rule {i + 1}: {exc}") from None
    card = RuleScorecard(
        rules, _require(doc, "bands", where), name=doc.get("name"), model_card=doc.get("model_card")
    )
    if sorted(card.features_) != sorted(features):
        raise ModelFileError(
            f"{where}: 'features' {features} does not match the features the rules read "
            f"{card.features_}."
        )
    return card


def _logistic_from(doc: Mapping, where: str) -> LogisticRiskModel:
    names = _known_features(_require(doc, "features", where), where)
    params = {**ADDED_PARAMETERS, **dict(_require(doc, "parameters", where))}
    if isinstance(params.get("class_weight"), list):
        params["class_weight"] = {k: v for k, v in params["class_weight"]}
    try:
        model = LogisticRiskModel(**params)
    except TypeError as exc:
        raise ModelFileError(f"{where}: unknown model parameter ({exc}).") from None
    coefficients = _require(doc, "coefficients", where)
    indicators = _require(doc, "missing_indicators", where)
    impute = _require(doc, "impute_values", where)
    features_out = names + list(indicators)
    if list(coefficients) != features_out:
        raise ModelFileError(
            f"{where}: 'coefficients' must list the features then the missing indicators, "
            f"in order: expected {features_out}, found {list(coefficients)}."
        )
    if sorted(impute) != sorted(names):
        raise ModelFileError(f"{where}: 'impute_values' must give a value for each feature.")
    for ind, members in indicators.items():
        if not members or any(m not in names for m in members):
            raise ModelFileError(f"{where}: missing indicator {ind!r} names unknown features.")
    numbers_ = [*coefficients.values(), *impute.values(), _require(doc, "intercept", where)]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers_):
        raise ModelFileError(f"{where}: coefficients, intercept and impute values must be numbers.")
    probs = check_bands(_require(doc, "bands", where), where)
    classes = _require(doc, "classes", where)
    if not isinstance(classes, list) or len(classes) != 2:
        raise ModelFileError(f"{where}: 'classes' must list the two outcome labels.")

    model.classes_ = np.asarray(classes)
    model.coef_ = np.asarray([list(coefficients.values())], dtype=np.float64)
    model.intercept_ = np.asarray([doc["intercept"]], dtype=np.float64)
    model.feature_names_in_ = np.asarray(names, dtype=object)
    model.n_features_in_ = len(names)
    model._named_input = True
    model.features_ = features_out
    model.impute_values_ = {n: float(impute[n]) for n in names}
    model._impute_array = np.asarray([impute[n] for n in names], dtype=np.float64)
    model.indicator_groups_ = {k: list(v) for k, v in indicators.items()}
    model._indicator_index = [np.asarray([names.index(m) for m in v]) for v in indicators.values()]
    model.band_probabilities_ = dict(probs)
    model.bands_ = {k: float(logit(v)) for k, v in probs.items()}
    model.calibration_ = dict(doc.get("calibration") or {})
    cov = doc.get("covariance")
    model.covariance_ = None if cov is None else np.asarray(cov, dtype=np.float64)
    cluster = doc.get("cluster_covariance")
    model.cluster_covariance_ = None if cluster is None else np.asarray(cluster, dtype=np.float64)
    model.interval_ = doc.get("interval") or "wald-independent"
    model.constant_features_ = list(doc.get("constant_features") or [])
    model.n_iter_ = np.asarray(doc.get("n_iter") or [0])
    card = dict(doc.get("model_card") or {})
    model.training_data_ = dict(card.get("training_data") or {})
    model.training_metrics_ = dict((card.get("metrics") or {}).get("training") or {})
    model.model_card_ = card
    model.name_ = doc.get("name")
    return model


def model_from_json(text: str, *, source: str = "model file") -> RuleScorecard | LogisticRiskModel:
    """Read a model from model-file text (see :func:`model_to_json`).

    Raises
    ------
    ModelFileError
        Not JSON, wrong or unknown kind, missing or unknown schema version, unknown
        features or malformed content.

    Examples
    --------
    >>> from riskscore import default_scorecard, model_from_json, model_to_json
    >>> model_from_json(model_to_json(default_scorecard())).name
    'review-rules-v1'
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{source}: not valid JSON ({exc}).") from None
    if not isinstance(doc, Mapping):
        raise ModelFileError(f"{source}: a model file is a JSON object.")
    kind = doc.get("kind")
    if kind not in _KINDS:
        raise ModelFileError(
            f"{source}: unknown model kind {kind!r}; riskscore reads kinds {list(_KINDS)}."
        )
    if "schema_version" not in doc:
        raise ModelFileError(
            f"{source}: 'schema_version' is missing; riskscore {__version__} reads schema "
            f"version {SCHEMA_VERSION}."
        )
    version = doc["schema_version"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise ModelFileError(
            f"{source}: schema_version {version!r} is not supported; riskscore {__version__} "
            f"reads schema version {SCHEMA_VERSION}. Upgrade riskscore or re-save the model."
        )
    if kind == "rule_scorecard":
        return _scorecard_from(doc, source)
    return _logistic_from(doc, source)


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

    Examples
    --------
    >>> from riskscore import shipped_models
    >>> "review-rules-v1" in shipped_models()
    True
    """
    root = _shipped_root()
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def load_model(
    path: str | os.PathLike, *, sha256: str | None = None
) -> RuleScorecard | LogisticRiskModel:
    """Load a model file (JSON), or a shipped model by bare name.

    Parameters
    ----------
    path : path-like or str
        A ``.json`` model file, or the name of a shipped model such as
        ``"review-rules-v1"`` (see :func:`shipped_models`).
    sha256 : str, optional
        When given, the file's SHA-256 must match it.

    Returns
    -------
    RuleScorecard or LogisticRiskModel

    Raises
    ------
    ModelFileError
        See :func:`model_from_json`; also a checksum mismatch or an unknown name.

    Examples
    --------
    >>> from riskscore import load_model
    >>> load_model("review-rules-v1").bands["multi_agency_discussion"]
    10.0
    """
    p = Path(path)
    if p.is_file():
        data = p.read_bytes()
        source = str(p)
    elif isinstance(path, str) and os.sep not in path and "/" not in path:
        name = path[:-5] if path.endswith(".json") else path
        resource = _shipped_root() / f"{name}.json"
        if not resource.is_file():
            raise ModelFileError(
                f"load_model: no file {path!r} and no shipped model of that name; shipped "
                f"models are {shipped_models()}."
            )
        data = resource.read_bytes()
        source = f"shipped model {name!r}"
    else:
        raise ModelFileError(f"load_model: no such file {str(path)!r}.")
    if sha256 is not None:
        _check_digest(hashlib.sha256(data).hexdigest(), sha256, source)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ModelFileError(f"{source}: not UTF-8 text; model files are JSON.") from None
    return model_from_json(text, source=source)


def default_scorecard() -> RuleScorecard:
    """The shipped default rule scorecard ``review-rules-v1``.

    Encodes the serious case review's themes with expert-set points; for
    retrospective audit and research only.

    Examples
    --------
    >>> from riskscore import default_scorecard
    >>> card = default_scorecard()
    >>> card.name, card.bands["review"]
    ('review-rules-v1', 4.0)
    """
    return load_model("review-rules-v1")


# --------------------------------------------------------------------------- pipelines


def _check_digest(actual: str, expected: str, source: str) -> None:
    if not isinstance(expected, str) or len(expected.strip()) != 64:
        raise ModelFileError(
            f"{source}: expected SHA-256 must be 64 hexadecimal characters, got {expected!r}."
        )
    if not hmac.compare_digest(actual, expected.strip().lower()):
        raise ModelFileError(
            f"{source}: SHA-256 mismatch (file {actual}, expected {expected.strip().lower()}). "
            "The file is not the one you vetted; it was not loaded."
        )


def save_pipeline(obj: Any, path: str | os.PathLike) -> str:
    """Write any object (e.g. a fitted Pipeline) with joblib and return its SHA-256.

    Keep the returned digest with the file: :func:`load_pipeline` needs it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from riskscore import load_pipeline, save_pipeline
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "p.joblib"
    >>> digest = save_pipeline({"a": 1}, path)
    >>> load_pipeline(path, sha256=digest)
    {'a': 1}
    """
    joblib.dump(obj, path)
    return file_sha256(path)


def load_pipeline(path: str | os.PathLike, *, sha256: str) -> Any:
    """Load a joblib/pickle file only if its SHA-256 matches ``sha256``.

    Unpickling runs code from the file, so a file is only opened when the caller
    vouches for its exact bytes.

    Parameters
    ----------
    path : path-like
    sha256 : str
        Expected hex digest (from :func:`save_pipeline` or :func:`file_sha256`).

    Raises
    ------
    ModelFileError
        The digest does not match (the file is not read further), or is malformed.

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
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"load_pipeline: no such file {str(path)!r}.")
    _check_digest(file_sha256(p), sha256, f"load_pipeline({str(p)!r})")
    return joblib.load(p)
