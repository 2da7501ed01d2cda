"""Where input that pandas cannot hold goes: a registry that the scale-out layer fills.

The pandas functions (:func:`riskscore.encode_features`, :func:`riskscore.audit_cohort`,
...) sit *below* the Dask path in :mod:`riskscore.scale`, so they may not import it.
Instead :mod:`riskscore.scale` registers its implementations here when the package is
imported, and a pandas function that is handed a Dask collection looks its twin up by
name. Nothing here imports Dask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from riskscore.errors import DependencyError

__all__ = ["is_dask", "register", "backend"]

_BACKENDS: dict[str, Callable[..., Any]] = {}


def is_dask(*objects: object) -> bool:
    """True if any object is a Dask collection (checked by protocol, without importing Dask)."""
    return any(hasattr(o, "__dask_graph__") for o in objects)


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register ``function`` as the Dask implementation of ``name``."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        _BACKENDS[name] = function
        return function

    return decorate


def backend(name: str) -> Callable[..., Any]:
    """The registered Dask implementation of ``name``.

    Raises
    ------
    DependencyError
        If none is registered (``riskscore.scale`` was not imported, which happens
        only when a lower module is used on its own).
    """
    try:
        return _BACKENDS[name]
    except KeyError:
        raise DependencyError(
            f"no Dask implementation of {name} is registered: import riskscore (which "
            "loads riskscore.scale) and install the extra: pip install 'riskscore[dask]'."
        ) from None
