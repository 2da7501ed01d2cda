"""riskscore: transparent, point-in-time risk indicators and retrospective audit of
anonymised multi-agency children's case records.

For retrospective audit, learning and research on anonymised data only. It does not
make, and must not be used to make, decisions about any child or family (UK GDPR
article 22); any use on real records needs a data protection impact assessment.

Data flows one way: schema/privacy -> features -> models -> audit/evaluation ->
report/CLI. The public names are listed in ``__all__``.
"""

from riskscore import plots, scale, sources  # scale registers the Dask path (no Dask import)
from riskscore._dates import DEFAULT_GRID
from riskscore._version import __version__
from riskscore.audit import CaseAudit, CohortAudit, audit_case, audit_cohort
from riskscore.contract import RiskModel
from riskscore.coverage import apply_coverage, coverage_gaps, coverage_table
from riskscore.disclosure import (
    DisclosureSettings,
    apply_disclosure,
    check_disclosure,
    check_publishable,
    disclose,
    disclose_tables,
    disclosure_manifest,
    is_synthetic,
    mark_undisclosed,
    protect_nested,
    provenance,
    rates_from_published,
    read_table,
    write_table,
)
from riskscore.errors import (
    DataQualityWarning,
    DependencyError,
    DisclosureError,
    EstimationError,
    IdentifyingDataError,
    LeakageError,
    MissingFileError,
    ModelContractError,
    ModelFileError,
    NotFittedError,
    NotNumbersError,
    OutputExistsError,
    ParameterError,
    RiskscoreError,
    SampleSizeWarning,
    SchemaError,
)
from riskscore.evaluation import EvaluationResult, compare_models, evaluate, recalibrate
from riskscore.fairness import subgroup_metrics
from riskscore.features import (
    FeatureEncoder,
    as_of_grid,
    change_dates,
    encode_features,
    release_memory,
    write_features,
)
from riskscore.logistic import LogisticRiskModel
from riskscore.model_selection import CaseKFold, TemporalSplit
from riskscore.modelfile import (
    default_scorecard,
    file_sha256,
    load_model,
    load_pipeline,
    model_from_json,
    model_to_json,
    save_model,
    save_pipeline,
    shipped_models,
)
from riskscore.points import IntegerPointsModel
from riskscore.privacy import check_identifying, pseudonymise
from riskscore.reach import agency_reach
from riskscore.report import write_report
from riskscore.schema import (
    ValidationReport,
    read_cases,
    read_events,
    validate_cases,
    validate_events,
)
from riskscore.scorecard import Rule, RuleScorecard
from riskscore.synthetic import TRUE_INTERCEPT, TRUE_LOG_ODDS, make_cohort, vignette
from riskscore.training import (
    TrainingSet,
    build_synthetic_model,
    check_point_in_time,
    make_training_set,
    train_model,
)
from riskscore.vocabulary import AGENCIES, BANDS, EVENTS, FEATURES, RESPONSE_EVENTS, FeatureSpec

__all__ = [
    "__version__",
    "DEFAULT_GRID",
    # vocabulary
    "AGENCIES",
    "BANDS",
    "EVENTS",
    "FEATURES",
    "RESPONSE_EVENTS",
    "FeatureSpec",
    # errors
    "RiskscoreError",
    "SchemaError",
    "IdentifyingDataError",
    "NotNumbersError",
    "ModelFileError",
    "DisclosureError",
    "EstimationError",
    "LeakageError",
    "ParameterError",
    "ModelContractError",
    "MissingFileError",
    "OutputExistsError",
    "DependencyError",
    "NotFittedError",
    "DataQualityWarning",
    "SampleSizeWarning",
    # data contract and privacy
    "ValidationReport",
    "read_events",
    "read_cases",
    "validate_events",
    "validate_cases",
    "check_identifying",
    "pseudonymise",
    "sources",
    "scale",
    "plots",
    "coverage_table",
    "apply_coverage",
    "coverage_gaps",
    # synthetic data
    "make_cohort",
    "vignette",
    "TRUE_LOG_ODDS",
    "TRUE_INTERCEPT",
    # features
    "encode_features",
    "write_features",
    "as_of_grid",
    "change_dates",
    "FeatureEncoder",
    "release_memory",
    # models
    "RiskModel",
    "Rule",
    "RuleScorecard",
    "LogisticRiskModel",
    "save_model",
    "load_model",
    "save_pipeline",
    "load_pipeline",
    "default_scorecard",
    "shipped_models",
    "model_to_json",
    "model_from_json",
    "file_sha256",
    "agency_reach",
    # audit and disclosure
    "audit_case",
    "audit_cohort",
    "CaseAudit",
    "CohortAudit",
    "disclose",
    "apply_disclosure",
    "mark_undisclosed",
    "disclosure_manifest",
    "check_disclosure",
    "check_publishable",
    "disclose_tables",
    "protect_nested",
    "rates_from_published",
    "is_synthetic",
    "DisclosureSettings",
    "provenance",
    "write_table",
    "read_table",
    # training and evaluation
    "TrainingSet",
    "make_training_set",
    "check_point_in_time",
    "train_model",
    "build_synthetic_model",
    "evaluate",
    "EvaluationResult",
    "CaseKFold",
    "TemporalSplit",
    "IntegerPointsModel",
    "compare_models",
    "recalibrate",
    "subgroup_metrics",
    # reports
    "write_report",
]
