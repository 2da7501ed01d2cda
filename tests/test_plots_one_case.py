"""Figures of a one-child cohort (synthetic): drawn without matplotlib's layout warning."""

from __future__ import annotations

import warnings

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import riskscore as rs
from riskscore import plots


@pytest.fixture(scope="module")
def one_child():
    events, cases = rs.make_cohort(1, random_state=0)
    return rs.audit_cohort(events, cases, rs.default_scorecard())


@pytest.mark.parametrize(
    "name, draw",
    [
        ("by_deprivation", plots.plot_by_deprivation),
        ("agency_share", plots.plot_agency_share),
        ("lead_times", plots.plot_lead_times),
        ("false_alarms", plots.plot_false_alarms),
    ],
)
def test_a_one_child_cohort_figure_keeps_its_labels_inside_the_axes(one_child, name, draw):
    # with every bar suppressed the "suppressed" labels sat at +/-0.2 on an x axis
    # autoscaled to +/-0.055 around the one category: constrained layout collapsed the
    # axes and warned "constrained_layout not applied" (a riskscore warning in the CLI)
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    draw(one_child.tables[name], ax=fig.add_subplot())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FigureCanvasAgg(fig).draw()


def test_a_one_child_cohort_report_draws_without_warnings(one_child, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rs.write_report(one_child, tmp_path / "one.html")
