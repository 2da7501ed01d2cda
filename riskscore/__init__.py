"""riskscore: transparent, point-in-time risk indicators and retrospective audit of
anonymised multi-agency children's case records.

For retrospective audit, learning and research on anonymised data only. It does not
make, and must not be used to make, decisions about any child or family (UK GDPR
article 22); any use on real records needs a data protection impact assessment.
"""

from riskscore._version import __version__
from riskscore.errors import (
    DisclosureError,
    IdentifyingDataError,
    ModelFileError,
    RiskscoreError,
    SchemaError,
)
from riskscore.features import FeatureEncoder, as_of_grid, encode_features
from riskscore.vocabulary import AGENCIES, BANDS, EVENTS, FEATURES, RESPONSE_EVENTS, FeatureSpec

__all__ = [
    "__version__",
    "AGENCIES",
    "BANDS",
    "EVENTS",
    "FEATURES",
    "RESPONSE_EVENTS",
    "FeatureSpec",
    "encode_features",
    "as_of_grid",
    "FeatureEncoder",
    "RiskscoreError",
    "SchemaError",
    "IdentifyingDataError",
    "ModelFileError",
    "DisclosureError",
]
