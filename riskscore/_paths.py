"""Where a function writes one file: the rule every writer follows."""

from __future__ import annotations

import os
from pathlib import Path

from riskscore.errors import ParameterError

__all__ = ["output_file", "refuse_nul"]


def output_file(path: str | os.PathLike, who: str, error: type = ParameterError) -> Path:
    """``path`` as a Path, its missing parent folders made; a folder is refused.

    ``error`` is the exception class to raise (a model file's writer raises its own).
    """
    refuse_nul(path, who, error)
    p = Path(path)
    if p.is_dir():
        raise error(f"{who}: '{p}' is a folder; give a file name.")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a folder should be, or no permission
        raise error(f"{who}: cannot make the folder for '{p}' ({exc.strerror or exc}).") from None
    return p


def refuse_nul(path: str | os.PathLike, who: str, error: type = ParameterError) -> None:
    """Refuse a path holding a NUL character (no file system accepts one).

    The operating system call would raise a bare ``ValueError: embedded null byte``.
    """
    if "\x00" in os.fsdecode(path):
        raise error(
            f"{who}: the path {os.fsdecode(path)!r} holds a NUL character (\\x00), which no "
            "file name can; check how it was built."
        )
