"""pseudonymise(..., extra_columns="drop") drops what the guard would refuse (synthetic data)."""

from __future__ import annotations

import pytest

import riskscore as rs
from riskscore.errors import SchemaError
from riskscore.privacy import pseudonymise

KEY = b"0123456789abcdef-not-a-real-key"


def test_drop_removes_an_identifying_looking_extra_column_instead_of_refusing_it():
    # the identifying-data guard ran before the drop and refused `notes`, although
    # dropping it removes the data the guard is there to keep out
    events, cases = rs.make_cohort(5, random_state=0)
    events = events.assign(notes="seen at home")
    cases = cases.assign(nhs_number="9434765919")
    out_events, out_cases = pseudonymise(events, cases, key=KEY, extra_columns="drop")
    assert "notes" not in out_events.columns and "nhs_number" not in out_cases.columns
    record = out_events.attrs["riskscore_pseudonymised"]["dropped_columns"]
    assert record == ["notes"]
    assert "nhs_number" in out_cases.attrs["riskscore_pseudonymised"]["dropped_columns"]
    assert not out_events.astype(str).isin(["seen at home"]).any().any()


def test_refuse_still_refuses_an_identifying_looking_extra_column():
    events, _ = rs.make_cohort(5, random_state=0)
    with pytest.raises(SchemaError, match="notes"):
        pseudonymise(events.assign(notes="seen at home"), key=KEY)
