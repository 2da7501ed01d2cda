"""Asthma inhaler prescriptions (by BNF code) to reliever / preventer events.

One event (agency ``gp``) per prescription item: ``reliever_prescription`` or
``preventer_prescription``, dated by the issue date. Each item counts, so the national
asthma-death review's marker (more than 12 reliever prescriptions a year) can be read.

BNF codes (NHS Business Services Authority BNF code structure, as used by
OpenPrescribing and the OpenCodelists "SABA inhaler medications" list): characters
1-2 chapter, 3-4 section, 5-6 paragraph, 7 sub-paragraph, 8-9 chemical substance, then
product and presentation. Matching is by prefix (longest wins), after removing spaces
and dots and upper-casing:

- relievers (short-acting beta2 agonists, chemical level): salbutamol ``0301011R0``,
  terbutaline ``0301011V0``. Long-acting beta2 agonists in the same paragraph
  (salmeterol, formoterol) are not relievers and are not matched;
- preventers: inhaled corticosteroids, section ``0302000`` -- beclometasone
  ``0302000C0``, budesonide ``0302000K0``, fluticasone ``0302000N0``, ciclesonide,
  mometasone -- which includes corticosteroid combination inhalers (BNF codes them under
  their corticosteroid, e.g. beclometasone with formoterol under ``0302000C0``).

Leukotriene receptor antagonists (montelukast) and compound bronchodilators are not
mapped by default. A code of BNF form (7 digits then up to 8 letters or digits) that
matches no prefix is ``code_not_mapped``; any other code ``unknown_code``. Pass
``codes=`` (prefix -> event) for your own list.

Source fields: case identifier; issue date ``issue_date`` / ``IssueDate`` /
``prescribed_date`` / ``date``; BNF code ``bnf_code`` / ``BNFCode`` / ``BNF_CODE``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskscore.errors import SchemaError
from riskscore.sources._spec import (
    AdapterResult,
    Classified,
    Column,
    Extract,
    SourceSpec,
    case_column,
    code_checks,
    code_map,
    read_source,
    row_date,
)

__all__ = ["read_prescriptions", "ASTHMA_BNF"]

#: BNF code prefix -> event (see the module docstring).
ASTHMA_BNF: Mapping[str, str] = {
    "0301011R0": "reliever_prescription",
    "0301011V0": "reliever_prescription",
    "0302000": "preventer_prescription",
}
_EVENTS = ("reliever_prescription", "preventer_prescription")
_BNF_RE = r"^[0-9]{7}[0-9A-Z]{0,8}$"


def _items(x: Extract, *, codes: Mapping[str, str] | None) -> Classified:
    """Each item's event by the longest BNF prefix it starts with."""
    mapping = {
        str(k).replace(" ", "").replace(".", "").upper(): v
        for k, v in (ASTHMA_BNF if codes is None else codes).items()
    }
    bad_events = sorted({v for v in mapping.values() if v not in _EVENTS})
    if bad_events:
        raise SchemaError(
            f"{x.spec.source}: codes maps to {bad_events}; only reliever_prescription and "
            "preventer_prescription are allowed."
        )
    code = x.text("code").str.upper().str.replace(r"[\s.]", "", regex=True)
    code = code.mask(code == "")
    event = pd.Series(np.nan, index=code.index, dtype=object)
    matched_len = pd.Series(0, index=code.index)
    # longest prefix wins: a loop over the (few) prefixes, not over rows
    for prefix, ev in sorted(mapping.items(), key=lambda kv: len(kv[0])):
        hit = code.str.startswith(prefix).fillna(False).astype(bool) & (len(prefix) >= matched_len)
        event = event.mask(hit, ev)
        matched_len = matched_len.mask(hit, len(prefix))
    valid = code.str.fullmatch(_BNF_RE).fillna(False).astype(bool)
    return Classified(
        "item",
        event,
        checks=[(code.isna(), "no_value"), *code_checks(event.notna(), ~valid)],
        code=code,
    )


#: Prescribing extract: one row per prescription item.
SPEC = SourceSpec(
    "prescriptions",
    ("gp",),
    columns=(
        case_column("case_id patid TOKEN_PERSON_ID pseudo_id"),
        row_date("issue date", "issue_date IssueDate prescribed_date prescription_date date"),
        Column("code", "bnf_code BNFCode BNF_CODE bnf", "BNF code", "code_column", required=True),
    ),
    classify=_items,
)


def read_prescriptions(
    extract: pd.DataFrame,
    *,
    codes: Mapping[str, str] | None = None,
    case_id_column: str | None = None,
    date_column: str | None = None,
    code_column: str | None = None,
    start: object = None,
    end: object = None,
    format: str | None = None,
    dayfirst: bool | None = None,
) -> AdapterResult:
    """Reliever and preventer inhaler prescriptions from a prescribing extract.

    Parameters
    ----------
    extract : pandas.DataFrame
        One row per prescription item: case identifier, issue date, BNF code. Read the
        BNF code column as text (codes start with 0).
    codes : mapping of str to str, optional
        BNF code prefix -> ``reliever_prescription`` or ``preventer_prescription``;
        default :data:`ASTHMA_BNF`. An empty mapping or a blank code is refused.
    case_id_column, date_column, code_column : str, optional
        Column names when they differ from the known variants.
    start, end : date-like, optional
        Keep items issued in ``[start, end]``; these also set the coverage period.
    format : str, optional
        ``strptime`` format of text dates; ISO dates still read (not with ``dayfirst``).
    dayfirst : bool, optional
        True reads text dates as ``DD/MM/YYYY``, False as ``MM/DD/YYYY``; ISO dates
        still read. Without ``format`` or ``dayfirst`` only ISO dates read: others are
        counted ``invalid_date``, never guessed (the rule of :func:`riskscore.read_events`).

    Returns
    -------
    AdapterResult
        Events (agency ``gp``), the report (field ``item``) and coverage.

    Examples
    --------
    >>> import pandas as pd
    >>> rx = pd.DataFrame({"case_id": ["c1", "c1", "c1"],
    ...                    "issue_date": ["2101-01-05", "2101-01-05", "2101-02-01"],
    ...                    "bnf_code": ["0301011R0AAAPAP", "0302000C0BQAAAA", "0407010H0AAAMAM"]})
    >>> res = read_prescriptions(rx)
    >>> res.events["event"].tolist()
    ['preventer_prescription', 'reliever_prescription']
    >>> res.report[["reason", "rows"]].values.tolist()
    [['code_not_mapped', 1], ['mapped', 2]]
    """
    codes = code_map(
        codes, "codes", "read_prescriptions", "{'0301011R0': 'reliever_prescription'}", "."
    )
    return read_source(SPEC, **locals())
