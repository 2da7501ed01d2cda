import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")

# CI keeps the property suite bounded so the whole run stays well under 15 minutes on
# 2 cores; "dev" explores more when asked (HYPOTHESIS_PROFILE=dev).
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
