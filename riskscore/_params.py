"""Declared parameter constraints, checked where a call enters the library.

In the spirit of scikit-learn's ``validate_params`` (with its ``Interval`` and
``StrOptions``), but small and our own: scikit-learn's version is private API. A
public function declares, per parameter, the kinds and ranges it accepts::

    @validate_params({"horizon": [Interval(Integral, 1, None)], "progress": ["boolean", None]})
    def audit_cohort(events, cases, model, *, horizon=365, progress=None): ...

At call time every argument the caller passed is checked against its list (one
constraint satisfied is enough); defaults are the library's own and are not checked.
A check looks at the argument alone (a type test, a comparison, a membership test in
a short list), never into data, so it costs microseconds. A refusal is one line of
:class:`~riskscore.errors.ParameterError` (a ``ValueError`` and a ``TypeError``): the
function, the parameter, what is allowed and what was given (only its type for a
parameter named like a secret: ``key``, ``salt``, ``password``, ``token``...).

Constraints (a list per parameter):

* a class: ``isinstance`` (``str``, ``Mapping``, ``pd.DataFrame``...);
* ``None``: the value ``None``;
* :class:`Interval`: a finite number of a kind (``Integral``, ``Real``) in a range;
  ``bool`` is never a number here;
* :class:`StrOptions`, :class:`Options`: one of a few values;
* :class:`SubsetOf`: a list, tuple or set of values from a few (never a bare string);
* the names ``"boolean"``, ``"random_state"``, ``"grid"`` (a step of whole days,
  ``"14D"`` or ``14``), ``"date"`` (ISO ``YYYY-MM-DD`` text, a ``date`` or a
  ``Timestamp``), ``"path"`` (``str`` or ``os.PathLike``), ``"callable"``,
  ``"agency"`` (one agency code), ``"agencies"`` (a list of them), ``"band"`` (an
  audit band), ``"n_jobs"`` (joblib's: ``None``, ``>= 1`` or ``<= -1``) and
  ``"disclosure"`` (``True``, ``False``, a ``DisclosureSettings`` or a dict of its
  fields).

The usual ranges have names too: :data:`POSITIVE_INT`, :data:`COUNT`,
:data:`WINDOW_DAYS`, :data:`UNIT_OPEN`, :data:`UNIT_CLOSED`, :data:`POSITIVE_REAL`,
:data:`NON_NEGATIVE_REAL`.

:func:`validate_params` decorates a function, a method, or a class (its ``__init__``:
for splitters and settings objects, not scikit-learn estimators, whose ``__init__``
only stores its parameters). :func:`validate_attributes` decorates an estimator's
``fit`` and checks the parameters ``__init__`` stored, as scikit-learn does in ``fit``.

Errors name the function the user called. When one public function calls another
(``train_model`` calls ``make_training_set`` and ``evaluate``), it does so inside
``with called_as("train_model"):``; the inner function asks :func:`caller` for the
name to put in its messages. The outermost name wins, so ``build_synthetic_model``
is named through ``train_model`` and ``evaluate`` alike. Private helpers are handed
that name as an argument (a ``who`` string), not left to look it up: the folds may
run in other processes. A :func:`validate_params` refusal keeps naming the decorated
function or class: an outer function checks, under its own name, every option it
passes on, so an inner refusal is of a parameter the user did not name
(``CaseKFold``'s ``n_splits``, made from ``cv``), which the outer name would not
describe.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
import inspect
import math
import os
import re
import reprlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

from riskscore._dates import DATE_RANGE, FIRST_DAY, LAST_DAY, guessed_text, step_days
from riskscore.errors import ParameterError
from riskscore.vocabulary import AGENCIES, BANDS

__all__ = [
    "CONSTRAINTS_ATTR",
    "Constraint",
    "Interval",
    "Options",
    "StrOptions",
    "SubsetOf",
    "make_constraint",
    "POSITIVE_INT",
    "COUNT",
    "WINDOW_DAYS",
    "UNIT_OPEN",
    "UNIT_CLOSED",
    "POSITIVE_REAL",
    "NON_NEGATIVE_REAL",
    "validate_params",
    "validate_attributes",
    "called_as",
    "caller",
    "called_within",
]

# The public function the user called, set by riskscore's own callers around an
# inner public call (None: the call came from outside riskscore). A ContextVar, not
# a global, so that threads and asyncio tasks each see their own.
_CALLER: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "riskscore_caller", default=None
)


@contextlib.contextmanager
def called_as(name: str) -> Iterator[None]:
    """Within this block, errors of riskscore's public functions name ``name``.

    For a public function that calls another: ``train_model`` evaluates its model
    inside ``with called_as("train_model"):`` so that an error of that evaluation
    names ``train_model``, the function the user called, not ``evaluate``. A name
    already set is kept (the outermost call wins); the previous state is restored
    on leaving the block, whether by return or by an exception.

    Parameters
    ----------
    name : str
        The function the user called, as its messages name it.

    Examples
    --------
    >>> caller("evaluate")
    'evaluate'
    >>> with called_as("build_synthetic_model"):
    ...     with called_as("train_model"):
    ...         caller("evaluate")
    'build_synthetic_model'
    >>> caller("evaluate")
    'evaluate'
    """
    token = _CALLER.set(_CALLER.get() or name)
    try:
        yield
    finally:
        _CALLER.reset(token)


def caller(default: str) -> str:
    """The function the user called: the outermost :func:`called_as` name, else ``default``.

    A public function starts ``who = caller("its own name")`` and puts ``who`` in
    its messages.

    Parameters
    ----------
    default : str
        The name to use when no riskscore function called this one (usually the
        function's own name).

    Returns
    -------
    str

    Examples
    --------
    >>> caller("make_training_set")
    'make_training_set'
    >>> with called_as("train_model"):
    ...     caller("make_training_set")
    'train_model'
    """
    return _CALLER.get() or default


def called_within() -> bool:
    """True inside a :func:`called_as` block: another riskscore function is the one called.

    For what a call does once under the name of the function called, such as the
    warning of few bootstrap replicates: the outer function has done it already.

    Examples
    --------
    >>> called_within()
    False
    >>> with called_as("train_model"):
    ...     called_within()
    True
    """
    return _CALLER.get() is not None


#: Attribute holding a decorated callable's constraints (``{parameter: (Constraint, ...)}``);
#: the public-API test uses it to find functions that skip validation.
CONSTRAINTS_ATTR = "__riskscore_constraints__"

_REPR = reprlib.Repr()
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = _REPR.maxdict = 6
_MAX_GIVEN = 80
# parameters whose values are never echoed in a message
_SECRET = re.compile(
    r"^(key|salt|secret|password|passphrase|token|hmac_key|api_key|private_key"
    r"|pseudonymi[sz]ation_key)$",
    re.IGNORECASE,
)


class Constraint(ABC):
    """One kind of value a parameter accepts; ``str()`` says which, for messages."""

    @abstractmethod
    def is_satisfied_by(self, value: Any) -> bool:
        """True if ``value`` is of this kind."""

    @abstractmethod
    def __str__(self) -> str:
        """What the constraint accepts, as words ("an int >= 1")."""

    def why_not(self, value: Any) -> str | None:
        """Why a value of the right kind is refused, when words of its own say more
        than ``str()`` (a grid step too long: the longest there is); else None."""
        return None


class _InstanceOf(Constraint):
    def __init__(self, kind: type):
        self.kind = kind

    def is_satisfied_by(self, value):
        return isinstance(value, self.kind)

    def __str__(self):
        if self.kind is Mapping or self.kind is dict:
            return "a dict"
        if self.kind is bytes:
            return "bytes"
        name = getattr(self.kind, "__name__", str(self.kind))
        return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


class _NoneConstraint(Constraint):
    def is_satisfied_by(self, value):
        return value is None

    def __str__(self):
        return "None"


class _Boolean(Constraint):
    def is_satisfied_by(self, value):
        return isinstance(value, (bool, np.bool_))

    def __str__(self):
        return "a bool"


class Interval(Constraint):
    """A finite number of one kind in a range.

    Parameters
    ----------
    kind : numbers.Integral or numbers.Real
        ``Integral`` accepts Python and numpy integers; ``Real`` accepts integers and
        floats. ``bool`` is refused by both, NaN and infinities by ``Real``.
    left, right : number or None
        Bounds (``None``: unbounded on that side).
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds belong to the range.

    Examples
    --------
    >>> from numbers import Integral, Real
    >>> Interval(Integral, 1, None).is_satisfied_by(0), str(Interval(Integral, 1, None))
    (False, 'an int >= 1')
    >>> str(Interval(Real, 0, 1, closed="neither"))
    'a number in (0, 1)'
    """

    def __init__(self, kind: type, left: float | None, right: float | None, *, closed="both"):
        if kind not in (Integral, Real):
            raise ParameterError(f"Interval: kind must be Integral or Real, got {kind!r}.")
        if closed not in ("both", "left", "right", "neither"):
            raise ParameterError(f"Interval: closed={closed!r} is not a closure.")
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def is_satisfied_by(self, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.kind):
            return False
        if self.kind is Real and not math.isfinite(value):
            return False
        if self.left is not None:
            if value < self.left or (value == self.left and self.closed in ("right", "neither")):
                return False
        if self.right is not None:
            if value > self.right or (value == self.right and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self):
        what = "an int" if self.kind is Integral else "a number"
        lo_in = self.closed in ("both", "left")
        hi_in = self.closed in ("both", "right")
        if self.left is None and self.right is None:
            return f"{what}" if self.kind is Integral else "a finite number"
        if self.right is None:
            return f"{what} {'>=' if lo_in else '>'} {self.left}"
        if self.left is None:
            return f"{what} {'<=' if hi_in else '<'} {self.right}"
        return f"{what} in {'[' if lo_in else '('}{self.left}, {self.right}{']' if hi_in else ')'}"


class Options(Constraint):
    """One of a few values (compared by type and equality, so ``True`` is not ``1``).

    Examples
    --------
    >>> Options(True, False, "intercept").is_satisfied_by(1)
    False
    """

    def __init__(self, *values: Any):
        self.values = tuple(values)

    def is_satisfied_by(self, value):
        return any(type(value) is type(v) and value == v for v in self.values)

    def __str__(self):
        return "one of " + ", ".join(repr(v) for v in self.values)


class StrOptions(Options):
    """One of a few strings.

    Examples
    --------
    >>> c = StrOptions("wald", "bootstrap")
    >>> c.is_satisfied_by("wald"), c.is_satisfied_by("Wald"), str(c)
    (True, False, "one of 'wald', 'bootstrap'")
    """

    def __init__(self, *values: str):
        if len(values) == 1 and not isinstance(values[0], str):
            values = tuple(values[0])  # StrOptions(AGENCIES)
        super().__init__(*values)
        self._set = frozenset(self.values)

    def is_satisfied_by(self, value):
        return isinstance(value, str) and value in self._set


class SubsetOf(Constraint):
    """A list, tuple, set or array of values, each one of a few (never a bare string).

    Examples
    --------
    >>> c = SubsetOf(["school", "gp"])
    >>> c.is_satisfied_by(("gp",)), c.is_satisfied_by("gp"), c.is_satisfied_by(["police"])
    (True, False, False)
    """

    def __init__(self, values: Iterable[Any]):
        self.values = tuple(values)
        self._set = frozenset(self.values)

    def is_satisfied_by(self, value):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(
            value, (list, tuple, set, frozenset, np.ndarray, pd.Index, pd.Series)
        ):
            return False
        try:
            return all(isinstance(v, str) and v in self._set for v in value)
        except TypeError:  # pragma: no cover - unhashable items
            return False

    def __str__(self):
        return "a list of values from " + ", ".join(repr(v) for v in self.values)


class _RandomState(Constraint):
    _KINDS = (np.random.Generator, np.random.RandomState, np.random.SeedSequence)

    def is_satisfied_by(self, value):
        return (
            value is None
            or Interval(Integral, 0, None).is_satisfied_by(value)
            or isinstance(value, (*self._KINDS, np.random.BitGenerator))
        )

    def __str__(self):
        return "None, an int >= 0 or a numpy Generator"


class _Grid(Constraint):
    @staticmethod
    def _of_a_kind(value) -> bool:
        return isinstance(
            value, (Integral, str, datetime.timedelta, np.timedelta64)
        ) and not isinstance(value, (bool, np.bool_, float, np.floating))

    def is_satisfied_by(self, value):
        return self._of_a_kind(value) and self.why_not(value) is None

    def why_not(self, value):
        # the step parser's own reason: not whole days, under a day, or longer than
        # the days riskscore holds (it names the longest step)
        if not self._of_a_kind(value):
            return None
        try:
            step_days(value)
        except ParameterError as exc:
            return str(exc)
        return None

    def __str__(self):
        return "a step of whole days such as '14D', '90D' or 30"


def _stamp(value) -> pd.Timestamp | None:
    """A date option as a Timestamp, or None when it is not one (or is text a reader
    would have to guess: "03/02/2102" would be read month-first)."""
    if not isinstance(value, (str, datetime.date, np.datetime64)):
        return None  # a number would be read as nanoseconds since 1970
    if guessed_text(value):
        return None  # text is ISO or refused, as the readers refuse non-ISO text
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        return None
    return None if pd.isna(stamp) else stamp


def _in_range(stamp: pd.Timestamp) -> bool:
    """Whether the day of ``stamp`` (its local day; the time ignored) is in DATE_RANGE."""
    day = (datetime.date(stamp.year, stamp.month, stamp.day) - datetime.date(1970, 1, 1)).days
    return FIRST_DAY <= day <= LAST_DAY


def _held(stamp: pd.Timestamp) -> bool:
    try:
        stamp.as_unit("ns")
    except (ValueError, OverflowError):
        return False
    return True


class _Date(Constraint):
    # Every date riskscore reads is datetime64[ns]: a moment it cannot hold would wrap
    # round when compared with them. The day is judged first (pandas holds 1677-09-21
    # from 00:12:43 on, but not that day itself), then the moment.
    def is_satisfied_by(self, value):
        stamp = _stamp(value)
        return stamp is not None and _in_range(stamp) and _held(stamp)

    def why_not(self, value):
        stamp = _stamp(value)
        if stamp is None or not _in_range(stamp) or _held(stamp):
            return None
        return (
            f"Its day is in range but its time is past the last moment pandas holds "
            f"({pd.Timestamp.max.floor('s')}); give the day alone, "
            f"'{stamp.strftime('%Y-%m-%d')}'."
        )

    def __str__(self):
        return (
            "a date such as '2101-01-01' (ISO YYYY-MM-DD text, a date or a Timestamp) "
            f"from {DATE_RANGE}"
        )


class _Path(Constraint):
    def is_satisfied_by(self, value):
        # a NUL character would reach the operating system as "embedded null byte"
        return isinstance(value, (str, os.PathLike)) and "\x00" not in os.fsdecode(value)

    def __str__(self):
        return "a path (str or os.PathLike, without a NUL character)"


class _Callable(Constraint):
    def is_satisfied_by(self, value):
        return callable(value)

    def __str__(self):
        return "a callable"


class _NJobs(Constraint):
    def is_satisfied_by(self, value):
        return (
            value is None
            or Interval(Integral, 1, None).is_satisfied_by(value)
            or Interval(Integral, None, -1).is_satisfied_by(value)
        )

    def __str__(self):
        return "None or an int other than 0 (-1: every core)"


class _Disclosure(Constraint):
    # DisclosureSettings lives in a higher layer; it is known by its fields
    _FIELDS = ("min_count", "round_to", "suppress_zero")

    def is_satisfied_by(self, value):
        return (
            isinstance(value, (bool, np.bool_, Mapping))
            or type(value).__name__ == "DisclosureSettings"
            and all(hasattr(value, f) for f in self._FIELDS)
        )

    def __str__(self):
        return "True, False, a DisclosureSettings or a dict of min_count, round_to, suppress_zero"


#: An int of at least 1 (sizes, counts of folds, horizons in days).
POSITIVE_INT = Interval(Integral, 1, None)
#: An int of at least 0 (bootstrap replicates, days that may be zero).
COUNT = Interval(Integral, 0, None)
#: Days in a recent window: under a year, as the feature catalogue requires.
WINDOW_DAYS = Interval(Integral, 1, 364)
#: A proportion strictly between 0 and 1 (levels, rates).
UNIT_OPEN = Interval(Real, 0, 1, closed="neither")
#: A probability, 0 and 1 included (thresholds).
UNIT_CLOSED = Interval(Real, 0, 1)
#: A finite number above 0 (penalty strengths).
POSITIVE_REAL = Interval(Real, 0, None, closed="neither")
#: A finite number of at least 0 (tolerances).
NON_NEGATIVE_REAL = Interval(Real, 0, None)

_NAMED: dict[str, Constraint] = {
    "boolean": _Boolean(),
    "random_state": _RandomState(),
    "grid": _Grid(),
    "date": _Date(),
    "path": _Path(),
    "callable": _Callable(),
    "agency": StrOptions(AGENCIES),
    "agencies": SubsetOf(AGENCIES),
    "band": StrOptions(BANDS),
    "n_jobs": _NJobs(),
    "disclosure": _Disclosure(),
}


def make_constraint(spec: Any) -> Constraint:
    """The :class:`Constraint` a declaration stands for (a class, ``None``, a name...).

    Examples
    --------
    >>> str(make_constraint(str)), str(make_constraint(None)), str(make_constraint("boolean"))
    ('a str', 'None', 'a bool')
    """
    if isinstance(spec, Constraint):
        return spec
    if spec is None:
        return _NoneConstraint()
    if isinstance(spec, type):
        return _InstanceOf(spec)
    if isinstance(spec, str) and spec in _NAMED:
        return _NAMED[spec]
    raise ParameterError(f"unknown parameter constraint {spec!r}; use one of {list(_NAMED)}.")


def _allowed(constraints: tuple[Constraint, ...]) -> str:
    words = [str(c) for c in constraints]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _given(value: Any) -> str:
    text = " ".join(_REPR.repr(value).split())
    return text if len(text) <= _MAX_GIVEN else text[: _MAX_GIVEN - 3] + "..."


def _refuse(where: str, name: str, constraints: tuple[Constraint, ...], value: Any):
    # a key or salt passed in the wrong place must not end up in a log
    kind = type(value).__name__
    given = (
        f"a value of type {kind} (not shown)"
        if _SECRET.search(name)
        else f"{_given(value)} ({kind})"
    )
    message = f"{where}: {name} must be {_allowed(constraints)}; got {given}."
    if not _SECRET.search(name):
        reasons = dict.fromkeys(r for c in constraints if (r := c.why_not(value)))
        message = " ".join([message, *reasons])
    return ParameterError(message)


def _compile(constraints: Mapping[str, list], params: Mapping[str, inspect.Parameter], where):
    """{name: (position or None, constraints)}; refuses a name the function lacks."""
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    positional = [
        n for n, p in params.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    out = {}
    for name, specs in constraints.items():
        if name not in params and not takes_kwargs:
            raise ParameterError(f"validate_params: {where} has no parameter {name!r}.")
        if name in params and params[name].kind in (params[name].VAR_POSITIONAL,):
            raise ParameterError(f"validate_params: {where}: *{name} cannot be constrained.")
        pos = positional.index(name) if name in positional else None
        out[name] = (pos, tuple(make_constraint(s) for s in specs))
    return out


def _misfit(signature: inspect.Signature, where: str, args, kwargs) -> ParameterError | None:
    """The error for a call that does not fit ``signature`` (None when it fits)."""
    try:
        signature.bind(*args, **kwargs)
    except TypeError as exc:
        names = [n for n in signature.parameters if n != "self"]
        return ParameterError(
            f"{where}: {exc}. {where} takes the parameters {', '.join(names)}; see "
            f"help({where}) for what each means."
        )
    return None


def _checked(func: Callable, constraints: Mapping[str, list], where: str) -> Callable:
    signature = inspect.signature(func)
    compiled = _compile(constraints, signature.parameters, where)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for name, (pos, allowed) in compiled.items():
            if name in kwargs:
                value = kwargs[name]
            elif pos is not None and pos < len(args):
                value = args[pos]
            else:
                continue  # the default: the library's own choice
            if not any(c.is_satisfied_by(value) for c in allowed):
                raise _refuse(where, name, allowed, value)
        try:
            return func(*args, **kwargs)
        except TypeError as exc:
            # only when the call itself does not fit (an unknown keyword, a missing
            # argument): Python's TypeError then names no parameter the function has.
            # Checked only after a failure, so a call that fits costs nothing more.
            if (
                isinstance(exc, ParameterError)
                or (bad := _misfit(signature, where, args, kwargs)) is None
            ):
                raise
            raise bad from None

    setattr(wrapper, CONSTRAINTS_ATTR, {n: c for n, (_, c) in compiled.items()})
    return wrapper


def validate_params(constraints: Mapping[str, list]) -> Callable:
    """Decorator: check the named arguments of each call against declared constraints.

    Parameters
    ----------
    constraints : dict
        ``{parameter: [constraint, ...]}``; a value passes if any constraint accepts
        it. Names may be of ``**kwargs`` entries when the function takes them.

    Returns
    -------
    callable
        A decorator for a function, a method or a class (whose ``__init__`` is
        checked). The decorated object keeps its name, docstring and signature.

    Raises
    ------
    ParameterError
        At call time, for an argument no constraint accepts: one line naming the
        function, the parameter, what it must be and what was given.

    Examples
    --------
    >>> from numbers import Integral
    >>> @validate_params({"n": [Interval(Integral, 1, None)], "kind": [StrOptions("a", "b")]})
    ... def f(n, kind="a"):
    ...     return n
    >>> f(3)
    3
    >>> f(0)
    Traceback (most recent call last):
    ...
    riskscore.errors.ParameterError: f: n must be an int >= 1; got 0 (int).
    """

    def decorate(obj):
        if inspect.isclass(obj):
            if "__init__" not in vars(obj):
                # above @dataclass, not below it: the dataclass writes __init__
                raise ParameterError(f"validate_params: {obj.__name__} defines no __init__.")
            obj.__init__ = _checked(obj.__init__, constraints, obj.__name__)
            setattr(obj, CONSTRAINTS_ATTR, getattr(obj.__init__, CONSTRAINTS_ATTR))
            return obj
        return _checked(obj, constraints, obj.__qualname__.split("<locals>.")[-1])

    return decorate


def validate_attributes(constraints: Mapping[str, list]) -> Callable:
    """Decorator for an estimator's ``fit``: check the parameters ``__init__`` stored.

    scikit-learn's contract keeps ``__init__`` to storing its arguments (so ``clone``
    and ``set_params`` work); the check happens when ``fit`` is called.

    Examples
    --------
    >>> from numbers import Integral
    >>> class Model:
    ...     def __init__(self, max_points=20):
    ...         self.max_points = max_points
    ...     @validate_attributes({"max_points": [Interval(Integral, 1, None)]})
    ...     def fit(self, X):
    ...         return self
    >>> Model(-1).fit(None)
    Traceback (most recent call last):
    ...
    riskscore.errors.ParameterError: Model: max_points must be an int >= 1; got -1 (int).
    """
    compiled = {
        name: tuple(make_constraint(s) for s in specs) for name, specs in constraints.items()
    }

    def decorate(fit):
        @functools.wraps(fit)
        def wrapper(self, *args, **kwargs):
            for name, allowed in compiled.items():
                value = getattr(self, name)
                if not any(c.is_satisfied_by(value) for c in allowed):
                    raise _refuse(type(self).__name__, name, allowed, value)
            return fit(self, *args, **kwargs)

        setattr(wrapper, CONSTRAINTS_ATTR, dict(compiled))
        return wrapper

    return decorate
