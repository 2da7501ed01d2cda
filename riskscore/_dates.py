"""Dates as the engine holds them: int64 days since 1970-01-01, and grid steps in days.

Shared by the feature encoder, the audit engine and the Dask path (public names in a
private module: no module reaches into another's privates).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscore.errors import ParameterError, SchemaError

__all__ = ["DEFAULT_GRID", "NAT_DAY", "to_days", "days_to_ns", "step_days"]

#: The one default step of every as-of grid (audit trajectories, training sets,
#: ``as_of_grid``): every 14 days from a case's first event. Audit crossings are exact
#: to the day whatever the grid; a coarser grid (``"90D"``) makes smaller training sets.
DEFAULT_GRID = "14D"

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
    # days since the epoch; NaT becomes the smallest int64 (a view: no second copy)
    return s.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").view(np.int64)


def days_to_ns(days: np.ndarray) -> np.ndarray:
    """int64 days back to ``datetime64[ns]``."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[ns]")


def step_days(grid) -> int:
    """A grid step (``14``, ``"14D"``, a Timedelta) as a whole number of days (at least 1)."""
    if isinstance(grid, (int, np.integer)) and not isinstance(grid, bool):
        step = int(grid)
    else:
        try:
            step = int(pd.Timedelta(grid).days)
        except (ValueError, TypeError):
            raise ParameterError(
                f"grid={grid!r} is not a number of days; give a step like '14D', '90D' or 30."
            ) from None
    if step < 1:
        raise ParameterError(f"grid must be at least one day, got {grid!r}.")
    return step
