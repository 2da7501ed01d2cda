"""How many workers a call uses: ``n_jobs`` as riskscore reads it everywhere.

``None`` or ``-1`` means every core this process may run on (its CPU affinity, which
containers and batch schedulers set), a positive integer that many workers. Shared by
the encoder (threads over blocks of cases) and the cohort audit (processes over
chunks of cases).
"""

from __future__ import annotations

import os

import numpy as np

from riskscore.errors import ParameterError

__all__ = ["available_cores", "resolve_n_jobs"]


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_n_jobs(n_jobs) -> int:
    """``n_jobs`` as a number of workers (None or -1: every available core)."""
    if n_jobs is None or (
        isinstance(n_jobs, (int, np.integer)) and not isinstance(n_jobs, bool) and n_jobs == -1
    ):
        return available_cores()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ParameterError(
            "n_jobs must be a positive number of workers, or None or -1 for every core; "
            f"got {n_jobs!r}."
        )
    return int(n_jobs)
