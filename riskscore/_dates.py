"""Dates as the engine holds them: int64 days since 1970-01-01, and grid steps in days.

Shared by the feature encoder, the audit engine and the Dask path (public names in a
private module: no module reaches into another's privates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore.errors import SchemaError

__all__ = ["NAT_DAY", "to_days", "days_to_ns", "step_days"]

#: The int64 day that stands for a missing date (NaT).
NAT_DAY = np.iinfo(np.int64).min


def to_days(values, column: str, table: str) -> np.ndarray:
    """Dates as int64 days since 1970-01-01 (NaT -> ``NAT_DAY``).

    Datetime values are taken as they are (time zones dropped); text must be ISO
    ``YYYY-MM-DD``: anything else is refused with a message naming the column,
    because guessing would swap days and months.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s, format="%Y-%m-%d")
        except (ValueError, TypeError) as exc:
            raise SchemaError(
                f"{table}: column {column!r} is not a date column and is not ISO "
                f"YYYY-MM-DD text ({exc}). Fix: read the file with riskscore.read_events "
                "(which parses and validates dates), or convert with pandas.to_datetime."
            ) from None
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype(np.int64)


def days_to_ns(days: np.ndarray) -> np.ndarray:
    """int64 days back to ``datetime64[ns]``."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[ns]")


def step_days(freq) -> int:
    """A grid step (``14``, ``"14D"``, a Timedelta) as a whole number of days (at least 1)."""
    if isinstance(freq, (int, np.integer)):
        step = int(freq)
    else:
        try:
            step = int(pd.Timedelta(freq).days)
        except ValueError:
            raise ValueError(f"freq={freq!r} is not a number of days like '14D'.") from None
    if step < 1:
        raise ValueError(f"freq must be at least one day, got {freq!r}.")
    return step
