"""Where a function writes one file: the rule every writer follows."""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from riskscore.errors import ParameterError

__all__ = ["output_file", "refuse_nul", "writing"]


def output_file(path: str | os.PathLike, who: str, error: type = ParameterError) -> Path:
    """``path`` as a Path, its missing parent folders made; a folder is refused.

    ``error`` is the exception class to raise (a model file's writer raises its own).
    """
    refuse_nul(path, who, error)
    p = Path(path)
    with writing(p, who, error):
        is_dir = p.is_dir()  # an over-long name raises here
    if is_dir:
        raise error(f"{who}: '{p}' is a folder; give a file name.")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a folder should be, or no permission
        raise error(
            f"{who}: cannot make the folder for '{p}' ({exc.strerror or exc}). Fix: {_fix(exc)}"
        ) from None
    return p


def _fix(exc: OSError) -> str:
    if exc.errno == errno.ENAMETOOLONG:
        return (
            "choose a shorter path: a file or folder name may have at most "
            f"{_name_max()} bytes here."
        )
    if exc.errno == errno.ENOSPC:
        return "free some space on the disk, or choose a path on another disk."
    return "choose a path in a folder you can write to."


def _name_max() -> int:
    try:
        return os.pathconf(".", "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        return 255


@contextlib.contextmanager
def writing(path: str | os.PathLike, who: str, error: type = ParameterError) -> Iterator[None]:
    """Turn an ``OSError`` raised writing ``path`` (no permission, a read-only disk, a
    name too long, a full disk) into ``error`` naming ``who``, the path and the fix."""
    try:
        yield
    except OSError as exc:
        shown = exc.filename if exc.filename is not None else os.fsdecode(path)
        raise error(
            f"{who}: cannot write '{os.fsdecode(shown)}' ({exc.strerror or exc}). Fix: {_fix(exc)}"
        ) from None


def refuse_nul(path: str | os.PathLike, who: str, error: type = ParameterError) -> None:
    """Refuse a path holding a NUL character (no file system accepts one).

    The operating system call would raise a bare ``ValueError: embedded null byte``.
    """
    if "\x00" in os.fsdecode(path):
        raise error(
            f"{who}: the path {os.fsdecode(path)!r} holds a NUL character (\\x00), which no "
            "file name can; check how it was built."
        )
