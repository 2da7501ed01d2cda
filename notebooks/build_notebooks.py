"""Build the riskscore notebooks from cell lists and store them executed.

The notebooks in this folder are generated: edit the cells here, then run

    python notebooks/build_notebooks.py            # build and execute all four
    python notebooks/build_notebooks.py 01 02      # only those whose names start so
    python notebooks/build_notebooks.py --no-execute

Each notebook is executed with nbclient (kernel ``python3``) in a temporary working
directory, so nothing is written into the repository except the ``.ipynb`` files
(their code cells are formatted with ``ruff format`` first, so ``ruff`` is needed);
the notebooks themselves write their files into a ``tempfile`` directory.
Every notebook works on synthetic or fictional data only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
PYPROJECT = HERE.parent / "pyproject.toml"
KERNEL = "python3"
TIMEOUT = 300

NOTICE = (
    "> **Retrospective audit and research only.** This notebook works on {data}. "
    "It is not a decision about any child, family or person, and nothing in it may be "
    "used to make one (UK GDPR article 22; any use on real records needs a data "
    "protection impact assessment)."
)


def setup(*, numpy: bool = True, plots: bool = True) -> str:
    """The first code cell: imports, display options and a temporary working folder."""
    np_line = "import numpy as np\n" if numpy else ""
    plots_line = "from riskscore import plots  # noqa: E402\n" if plots else ""
    return f"""
%matplotlib inline
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
{np_line}import pandas as pd

# tqdm's notebook progress bars need ipywidgets; without it tqdm says so on import
warnings.filterwarnings("ignore", message="IProgress not found")
import riskscore as rs  # noqa: E402
{plots_line}
pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)
pd.set_option("display.max_colwidth", 90)
plt.rcParams["figure.dpi"] = 80
# every file this notebook writes goes to a temporary folder, never into the repository
workdir = Path(tempfile.mkdtemp(prefix="riskscore-notebook-"))
print("riskscore", rs.__version__, "| files written to a temporary folder")
"""


def md(*parts: str) -> nbformat.NotebookNode:
    """A markdown cell; each part is dedented on its own, parts are joined by a blank line."""
    return nbformat.v4.new_markdown_cell("\n\n".join(textwrap.dedent(p).strip() for p in parts))


def code(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip())


# --------------------------------------------------------------------------- 00


def nb00() -> list:
    return [
        md(
            "# 00 From source extracts to a validated event table to an audit\n\n"
            + NOTICE.format(
                data="**synthetic** source extracts generated inside the notebook "
                "(invented people on an invented 2101-2104 calendar; no real records)"
            ),
            """

            Analysts in a secure research environment do not start from riskscore's event
            table: they start from extracts of national and local systems (hospital
            admitted care, emergency care, the school census, the children in need
            census, prescribing, and local police, drug service and housing systems). This
            notebook walks that path:

            1. make synthetic extracts, each in its source's own column layout;
            2. read each with one call to a `riskscore.sources` adapter and look at what
               was mapped and what was left out, and why;
            3. add local systems with a mapping table written as a CSV file, no code;
            4. combine, validate, and check that the events read back are the ones written;
            5. record which periods each extract covers, so that missing coverage reads
               as *missing*, not as zero;
            6. audit the cohort (disclosure-controlled tables) and one case (individual-level).
            """,
        ),
        code(setup()),
        md(
            """
            ## 1. A synthetic cohort stands in for the linked records

            `make_cohort` generates invented children with events across eight agencies
            and a known outcome model. We write its events out in each source's layout,
            as a data-linkage team might hand them over, then read them back. Case ids are
            pseudonyms (`C0000001` ...); the extracts carry no names, dates of birth or
            other identifiers.
            """
        ),
        code(
            r"""
            events, cases = rs.make_cohort(1500, random_state=11)
            original = events.assign(
                case_id=events["case_id"].astype(str),
                agency=events["agency"].astype(str),
                event=events["event"].astype(str),
            )
            print(f"{original['case_id'].nunique()} synthetic cases, {len(original):,} events")
            original.groupby("agency").size().rename("events").to_frame().T
            """
        ),
        md(
            """
            ## 2. National extracts, each in its own layout

            Which events each source holds (everything else comes from local systems in
            step 3):

            | source | layout | events |
            |---|---|---|
            | hospital admitted patient care | HES-style, one row per consultant episode, ICD-10 diagnoses | `asthma_admission` |
            | emergency care | ECDS-style, SNOMED CT diagnoses and discharge destination | `asthma_ed_visit` |
            | attendance returns | sessions possible and missed per period | `attendance` |
            | children in need census | one row per episode: dates of referral, section 47, conference, plans; assessment factors | social-care responses, `parent_substance_use`, `domestic_abuse_incident` |
            | prescribing | BNF codes | `reliever_prescription`, `preventer_prescription` |

            The builders below are vectorised pandas code; each adds a few rows a real
            extract would hold and the adapter must *not* map (other diagnoses,
            admitted attendances, unknown codes), so that we can see them reported.
            (The children in need census report counts per field, so its blank date
            fields show up as `no_value`: an episode row has only some dates filled.)
            """
        ),
        code(
            r"""
            def pick(agency, *names):
                m = original["agency"].eq(agency) & original["event"].isin(names)
                return original.loc[m].reset_index(drop=True)


            iso = lambda s: s.dt.strftime("%Y-%m-%d")  # noqa: E731

            # Hospital admitted patient care: one row per episode; a spell of two episodes
            # repeats the admission date, and the asthma code may sit in any position.
            adm = pick("hospital", "asthma_admission")
            apc = pd.DataFrame(
                {
                    "TOKEN_PERSON_ID": adm["case_id"],
                    "ADMIDATE": iso(adm["date"]),
                    "PROCODE3": "RX1",
                    "EPIORDER": 1,
                    "DIAG_4_01": np.where(adm.index % 3 == 0, "R06.2", "J45.9"),
                    "DIAG_4_02": np.where(adm.index % 3 == 0, "J45.0", ""),
                }
            )
            second_episode = apc.iloc[::4].assign(EPIORDER=2)
            other = pd.DataFrame(
                {"TOKEN_PERSON_ID": ["C0000003", "C0000007"], "ADMIDATE": ["2102-03-04", "2102-05-06"],
                 "PROCODE3": "RX1", "EPIORDER": 1, "DIAG_4_01": ["S52.5", "K35.8"], "DIAG_4_02": ""}
            )
            apc = pd.concat([apc, second_episode, other], ignore_index=True)

            # Emergency care (ECDS): asthma attendances discharged home; one attendance
            # admitted to a ward (the admitted-care extract holds that one) and one
            # diagnosis written as text instead of a SNOMED CT concept.
            ed = pick("hospital", "asthma_ed_visit")
            ecds = pd.DataFrame(
                {
                    "TOKEN_PERSON_ID": ed["case_id"],
                    "ARRIVAL_DATE": iso(ed["date"]),
                    "EC_DIAGNOSIS_01": np.where(ed.index % 2 == 0, "195967001", "304527002"),
                    "EC_DISCHARGE_DESTINATION_SNOMED_CT": "306689006",
                }
            )
            ecds = pd.concat(
                [ecds, pd.DataFrame({"TOKEN_PERSON_ID": ["C0000005", "C0000009"],
                                     "ARRIVAL_DATE": ["2102-02-02", "2102-02-03"],
                                     "EC_DIAGNOSIS_01": ["195967001", "asthma"],
                                     "EC_DISCHARGE_DESTINATION_SNOMED_CT": ["306706006", "306689006"]})],
                ignore_index=True,
            )

            # Attendance returns: sessions possible and missed per period, with the
            # period end date (80 sessions is about two months of school days).
            att = pick("school", "attendance")
            possible = 80
            census = pd.DataFrame(
                {
                    "PupilMatchingRefAnonymous": att["case_id"],
                    "PeriodEnd": iso(att["date"]),
                    "SessionsPossible": possible,
                    "OverallAbsence": np.rint((1 - att["value"]) * possible).astype(int),
                }
            )

            # Children in need census: one row per recorded date (an episode row with the
            # one field filled), plus assessment rows whose factors name parental drug
            # misuse (2B) or domestic abuse (3B), authorised when the record says.
            fields = {
                "social_care_referral": "ReferralStartDate",
                "strategy_meeting": "StrategyDiscussionDate",
                "cp_conference": "DateOfInitialCPC",
                "cin_plan_start": "CINPlanStartDate",
                "cin_plan_end": "CINPlanEndDate",
                "cp_plan_start": "CPPstartDate",
                "cp_plan_end": "CPPendDate",
            }
            resp = pick("social_care", *fields)
            cin = pd.DataFrame({"LAchildID": resp["case_id"]})
            for ev_name, col in fields.items():
                cin[col] = iso(resp["date"]).where(resp["event"].eq(ev_name), "")
            fac = pick("social_care", "parent_substance_use", "domestic_abuse_incident")
            cin_factors = pd.DataFrame(
                {
                    "LAchildID": fac["case_id"],
                    "AssessmentActualStartDate": iso(fac["date"]),
                    "AssessmentAuthorisationDate": iso(fac["recorded_date"].fillna(fac["date"])),
                    "AssessmentFactors": np.where(
                        fac["event"].eq("parent_substance_use"), "2B", "3B, 4B"
                    ),
                }
            )
            cin = pd.concat([cin, cin_factors], ignore_index=True).fillna("")

            # Prescribing: salbutamol / terbutaline relievers, inhaled corticosteroid
            # preventers, and a few items that are neither (salmeterol, an antibiotic).
            rx_ev = pick("gp", "reliever_prescription", "preventer_prescription")
            rel = np.array(["0301011R0AAAPAP", "0301011V0BBADAA"])
            pre = np.array(["0302000C0BQAAAA", "0302000K0AAAFAF", "0302000N0BBAEAE"])
            rx = pd.DataFrame(
                {
                    "patid": rx_ev["case_id"],
                    "IssueDate": iso(rx_ev["date"]),
                    "BNFCode": np.where(
                        rx_ev["event"].eq("reliever_prescription"),
                        rel[rx_ev.index % 2],
                        pre[rx_ev.index % 3],
                    ),
                }
            )
            rx = pd.concat(
                [rx, pd.DataFrame({"patid": ["C0000002", "C0000002"],
                                   "IssueDate": ["2102-01-01", "2102-01-08"],
                                   "BNFCode": ["0301011U0AAABAB", "0501013B0AAABAB"]})],
                ignore_index=True,
            )
            {name: len(t) for name, t in
             {"hospital APC": apc, "ECDS": ecds, "attendance": census, "CIN census": cin,
              "prescribing": rx}.items()}
            """
        ),
        md(
            """
            What the extracts look like (a few rows each; synthetic pseudonyms and
            invented dates):
            """
        ),
        code(
            r"""
            display(apc.head(4), ecds.head(3), census.head(3), cin.iloc[[0, 1, -1]], rx.head(3))
            """
        ),
        md(
            """
            ### Read each extract with one call

            Every adapter returns `(events, report, coverage)`. We also tell each adapter
            the period its extract was drawn for (`start`, `end`); without that the
            coverage is inferred from the dates it reads. The report has one row per
            (field, reason, code) and its `rows` add up to the rows read (per field), so
            nothing is dropped without being counted. Reasons such as `duplicate` (the
            second episode of one spell), `code_not_mapped` (a valid code that is not
            asthma), `admitted` (the emergency attendance that became an admission) and
            `unknown_code` (not a code of that scheme at all) are the rows to check with
            the data provider.
            """
        ),
        code(
            r"""
            # the period each extract was drawn for, as the data provider states it
            period = {"start": "2101-01-01", "end": "2103-12-31"}
            national = {
                "hospital_apc": rs.sources.read_hospital_apc(apc, **period),
                "emergency_care": rs.sources.read_emergency_care(ecds, **period),
                "attendance": rs.sources.read_school_census(
                    census, period_end_column="PeriodEnd", **period),
                "cin_census": rs.sources.read_cin_census(cin, **period),
                "prescriptions": rs.sources.read_prescriptions(rx, **period),
            }
            for name, res in national.items():
                left_out = res.report.loc[res.report["reason"] != "mapped"]
                sums = left_out.groupby("reason")["rows"].sum()
                print(f"{name:15s} {len(res.events):6,d} events; left out: "
                      + (", ".join(f"{k} {v}" for k, v in sums.items()) or "nothing"))
            """
        ),
        md(
            """
            The full report of one adapter, the emergency care extract: the two extra rows
            are accounted for (one `admitted`, one `unknown_code` naming the text it
            found).
            """
        ),
        code(
            r"""
            national["emergency_care"].report
            """
        ),
        md(
            """
            ## 3. Local systems through a mapping table

            Police, drug service, housing and the local parts of school, GP, hospital and
            social-care records have no national layout. An analyst writes a small table
            (`source_column`, `source_value`, `event`, `agency`) as CSV, without code,
            and `apply_mapping` applies it. Here each local system has a `record_type`
            column of local codes. Values a system records that need no event are mapped
            to `ignore` (counted as `code_not_mapped`); a value the table does not list is
            reported as `unknown_code`, never guessed.
            """
        ),
        code(
            r"""
            local_codes = {
                "parent_substance_use": "SUBSTANCE_CONCERN",
                "parent_substance_treatment": "TREATMENT_CONTACT",
                "paternal_involvement_lost": "FATHER_CONTACT_ENDED",
                "paternal_involvement_restored": "FATHER_CONTACT_RESUMED",
                "child_voice_concern": "CHILD_VOICE",
                "economic_hardship": "HARDSHIP",
                "housing_poor": "DISREPAIR",
                "school_concern": "WELFARE_CONCERN",
                "attainment_decline": "ATTAINMENT_DROP",
                "school_referral": "REFERRAL_SCHOOL",
                "social_care_referral": "REFERRAL_CSC",
                "early_help_start": "EARLY_HELP",
                "missed_appointment": "WAS_NOT_BROUGHT",
                "asthma_plan_review": "ASTHMA_PLAN",
                "police_incident_home": "INCIDENT_HOME",
                "domestic_abuse_incident": "DOMESTIC",
                "sibling_removed": "SIBLING_REMOVED",
                "competing_care_demand": "COMPETING_CARE",
            }
            by_national = (
                original["event"].isin(["asthma_admission", "asthma_ed_visit"])
                | original["event"].eq("attendance")
                | (original["agency"].eq("social_care") & original["event"].isin(
                    [*fields, "parent_substance_use", "domestic_abuse_incident"]))
                | original["event"].isin(["reliever_prescription", "preventer_prescription"])
            )
            rest = original.loc[~by_national]
            local = {}
            for agency, rows in rest.groupby("agency", sort=True):
                table = pd.DataFrame(
                    {"source_column": "record_type",
                     "source_value": [local_codes[e] for e in sorted(rows["event"].unique())],
                     "event": sorted(rows["event"].unique()),
                     "agency": agency}
                )
                extract = pd.DataFrame(
                    {"child_ref": rows["case_id"], "record_date": iso(rows["date"]),
                     "entered": iso(rows["recorded_date"]).fillna(""),
                     "record_type": rows["event"].map(local_codes)}
                )
                if agency == "police":
                    table.loc[len(table)] = ["record_type", "NOISE_COMPLAINT", "ignore", "police"]
                    extract = pd.concat(
                        [extract, pd.DataFrame({"child_ref": ["C0000004", "C0000006"],
                                                "record_date": ["2102-07-01", "2102-07-02"],
                                                "entered": "",
                                                "record_type": ["NOISE_COMPLAINT", "BURGLARY_NEARBY"]})],
                        ignore_index=True,
                    )
                path = workdir / f"mapping_{agency}.csv"
                table.to_csv(path, index=False)
                local[agency] = (extract, path)

            print("mapping files written:", ", ".join(p.name for _, p in local.values()))
            rs.sources.read_mapping(local["police"][1])
            """
        ),
        code(
            r"""
            local_results = {
                f"local_{agency}": rs.sources.apply_mapping(
                    extract, path, case_id_column="child_ref", date_column="record_date",
                    recorded_date_column="entered", source=f"local_{agency}", **period,
                )
                for agency, (extract, path) in local.items()
            }
            local_results["local_police"].report
            """
        ),
        md(
            """
            ## 4. Combine, validate, and check the round trip

            `validate_events` checks the combined table against the data contract and
            returns a report of every problem (the strict path raises). Then, because
            this is synthetic data, we can check that reading the extracts back gave the
            events we wrote: the same (case, date, agency, event) rows, and attendance
            values equal up to the rounding to whole sessions (at most half a session in
            80).
            """
        ),
        code(
            r"""
            results = {**national, **local_results}
            read_back = pd.concat([r.events for r in results.values()], ignore_index=True)
            check = rs.validate_events(read_back)
            print(check)
            print("events pass validation:", check.ok)
            """
        ),
        code(
            r"""
            key = ["case_id", "date", "agency", "event"]


            def keys(df):
                return df[key].astype(str).drop_duplicates().sort_values(key).reset_index(drop=True)


            same = keys(read_back).equals(keys(original))
            print(f"read back {len(read_back):,} events; same events as written: {same}")

            a = read_back.loc[read_back["event"].astype(str).eq("attendance")].sort_values(["case_id", "date"])
            b = original.loc[original["event"].eq("attendance")].sort_values(["case_id", "date"])
            worst = np.abs(a["value"].to_numpy() - b["value"].to_numpy()).max()
            print(f"largest attendance difference {worst:.4f} (half a session in {possible}: {0.5 / possible:.4f})")
            """
        ),
        md(
            """
            ## 5. Coverage: missing is not zero

            Each adapter also says which period its extract covers for each agency.
            Outside that period an agency's silence means *we do not know*. Suppose the
            police extract we were given starts only in 2102: we restrict it, combine the
            coverage tables, and list the gaps.
            """
        ),
        code(
            r"""
            police_extract, police_map = local["police"]
            police_2102 = rs.sources.apply_mapping(
                police_extract, police_map, case_id_column="child_ref", date_column="record_date",
                recorded_date_column="entered", source="local_police",
                start="2102-01-01", end="2103-12-31",
            )
            results_cov = {**results, "local_police": police_2102}
            coverage = rs.coverage_table(*results_cov.values())
            display(coverage)
            rs.coverage_gaps(coverage, "2101-01-01", "2103-12-31")
            """
        ),
        md(
            """
            With the coverage table, `encode_features` sets a feature to missing (NaN)
            where none of the agencies that hold it had data on the as-of date; without
            it the same feature would read as 0 ("no police incidents"), which is not
            what the records say. The police-held features of one case on two dates:
            """
        ),
        code(
            r"""
            events_cov = pd.concat([r.events for r in results_cov.values()], ignore_index=True)
            asof = pd.DataFrame({"case_id": ["C0000010", "C0000010"],
                                 "as_of": pd.to_datetime(["2101-09-01", "2102-09-01"])})
            police_held = ["police_incidents_home_12m"]
            without = rs.encode_features(events_cov, asof)[["as_of", *police_held]]
            with_cov = rs.encode_features(events_cov, asof, coverage=coverage)[["as_of", *police_held]]
            pd.concat({"without coverage": without.set_index("as_of"),
                       "with coverage": with_cov.set_index("as_of")}, axis=1)
            """
        ),
        md(
            """
            ## 6. Audit the cohort

            The validated events go straight into an audit. `audit_cohort` returns tidy
            tables that have passed statistical disclosure control: counts under 10 are
            suppressed (shown as `<NA>`), further cells are suppressed where a total
            would give a suppressed one away, and every count is rounded to the nearest 5.
            With 1,500 synthetic cases many cells are small: about 30 children have an
            outcome, so the lead-time table, which spreads them over bins, is mostly
            suppressed. False alarms (crossings with no outcome within a year) are
            reported beside lead times, because lead time alone flatters.
            The manifest lists what was suppressed, for the environment's output checkers.

            *Synthetic outcome rates (about 2% of cases) are far above real ones, so any
            precision-like figure here flatters.*
            """
        ),
        code(
            r"""
            cohort = rs.audit_cohort(check.valid, cases, rs.default_scorecard())
            display(cohort["summary"], cohort["false_alarms"], cohort["lead_times"])
            rs.disclosure_manifest(cohort["lead_times"])
            """
        ),
        code(
            r"""
            display(cohort["by_deprivation"])
            fig, axes = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
            plots.plot_lead_times(cohort, ax=axes[0])
            plots.plot_by_deprivation(cohort, ax=axes[1]);
            """
        ),
        md(
            """
            ## 7. Audit one case (individual-level)

            A case audit is individual-level: **it must stay inside the secure
            environment** and is never released. Among the first 15 synthetic children
            with an outcome we pick the one with the longest lead time.
            """
        ),
        code(
            r"""
            with_outcome = cases.loc[cases["outcome"].notna(), "case_id"].astype(str).tolist()
            card = rs.default_scorecard()
            audits = [rs.audit_case(check.valid, c, card, cases) for c in with_outcome[:15]]
            best = max(audits, key=lambda a: a.lead_times["lead_time_days"].max()
                       if len(a.lead_times) else -1)
            print(best.summary())
            fig, axes = plt.subplots(2, 1, figsize=(11, 7), layout="constrained", sharex=True)
            plots.plot_case_timeline(best, ax=axes[0])
            plots.plot_case_scores(best, ax=axes[1]);
            """
        ),
        md(
            """
            ## What to take away

            * One adapter call per source gave contract events, a report that accounts for
              every input row, and a coverage table.
            * Local systems needed only a mapping table in a CSV file.
            * The combined table validated cleanly, and on synthetic data it is exactly
              the table we wrote (attendance up to whole-session rounding).
            * Periods an extract does not cover make features missing, not zero.
            * Cohort tables leave the environment only after disclosure control; case
              audits stay inside it.
            """
        ),
    ]


# --------------------------------------------------------------------------- 01


def nb01() -> list:
    return [
        md(
            "# 01 Audit a case: the fictional Child A, step by step\n\n"
            + NOTICE.format(
                data='**fictional** data: "Child A" is a fictional composite on an invented '
                "calendar (2101-2104), inspired by themes that published serious case reviews "
                "share; it is not a reconstruction of, and not about, any real child or family"
            ),
            """

            A case audit asks of one past case, with evidence: *when did the warning signs
            become visible, to whom, and did anyone act?* It is individual-level output:
            **everything in this notebook about the case would have to stay inside the
            secure environment** if the case were real.

            Steps: load the case; read the scorecard; audit; look at the timeline and the
            scores; find the join-up gap (days on which only the joined-up record reached
            a band); see what contributed at each crossing and who held it; find the
            missed opportunities; compare with a logistic model; write the HTML report.
            """,
        ),
        code(setup(numpy=False)),
        md(
            """
            ## 1. The case

            `vignette()` returns the events and a one-row cases table. The cases table
            flags the case as fictional and carries the note.
            """
        ),
        code(
            r"""
            events, cases = rs.vignette()
            print(cases.attrs["note"])
            cases
            """
        ),
        code(
            r"""
            print(f"{len(events)} events from {events['date'].min():%Y-%m-%d} to {events['date'].max():%Y-%m-%d}")
            pd.crosstab(events["event"].astype(str), events["agency"].astype(str))
            """
        ),
        md(
            """
            ## 2. The model: the default rule scorecard

            The shipped scorecard encodes the review's themes as rules with expert-set
            points (not fitted). Each rule cites the finding it encodes and names the
            agencies that held the information. The audit bands are `review` (4 points)
            and `multi_agency_discussion` (10 points): the questions a retrospective audit
            asks, not instructions for live cases.
            """
        ),
        code(
            r"""
            card = rs.default_scorecard()
            print(card.bands)
            card.summary
            """
        ),
        md(
            """
            ## 3. Audit

            `audit_case` computes the score on a 14-day grid *and* on every date a
            feature can change, for the joined record and for each agency's own view (what
            that agency could have known alone). Features on a date see only events on or
            before it (and recorded by then), so the audit is honest about what was
            knowable when.
            """
        ),
        code(
            r"""
            audit = rs.audit_case(events, "CHILD-A", card, cases)
            print(audit.summary())
            """
        ),
        md(
            """
            ## 4. The timeline: who saw what

            One lane per agency with the events it recorded. Responses (referrals,
            meetings, plan starts) are black stars, so what agencies *did* stands apart
            from what they saw. The vertical lines are the (fictional) child protection
            plan and the outcome.
            """
        ),
        code(
            r"""
            fig, ax = plt.subplots(figsize=(12, 5), layout="constrained")
            plots.plot_case_timeline(audit, ax=ax);
            """
        ),
        md(
            """
            ## 5. Scores over time, joined and per agency

            The thick line is the joined score; the thinner lines are each agency's own
            score. Shaded days are the **join-up gap**: the joined score was in a band
            that no single agency's view reached. Triangles mark band crossings; a red
            cross marks a missed opportunity.
            """
        ),
        code(
            r"""
            fig, ax = plt.subplots(figsize=(12, 5), layout="constrained")
            plots.plot_case_scores(audit, ax=ax);
            """
        ),
        md(
            """
            ## 6. The join-up gap, in numbers

            For each view: the first date it reached each band, and the highest band it
            ever reached. Then the gap, and how long before the fictional child protection
            plan the joined-up record reached `multi_agency_discussion`.
            """
        ),
        code(
            r"""
            plan = audit.events.loc[audit.events["event"].astype(str).eq("cp_plan_start"), "date"].min()
            rows = []
            for view in [None, *rs.AGENCIES]:
                col = "band" if view is None else f"band_{view}"
                rows.append({
                    "view": "joined" if view is None else view,
                    "first review": audit.first_crossing("review", view),
                    "first multi_agency_discussion": audit.first_crossing("multi_agency_discussion", view),
                    "highest band": audit.trajectory[col].max(),
                })
            display(pd.DataFrame(rows))
            mad = audit.first_crossing("multi_agency_discussion")
            print(f"Join-up gap: {audit.join_up_gap_days} days on which only the joined record reached its band")
            print(f"Joined view reached multi_agency_discussion on {mad:%Y-%m-%d}, "
                  f"{(plan - mad).days} days before the child protection plan ({plan:%Y-%m-%d})")
            print(f"Days at multi_agency_discussion, joined: {audit.days_in_band()}; "
                  f"best single agency: {max(audit.days_in_band(view=a) for a in rs.AGENCIES)}")
            """
        ),
        md(
            """
            ## 7. Crossings, and what contributed

            Each crossing is exact to the day. For each, the rules that contributed and
            the agencies whose own records held that information on that day
            ("only when joined" means no single agency held it alone).
            """
        ),
        code(
            r"""
            display(audit.crossings)
            audit.contributions.merge(
                audit.crossings[["date", "band"]], left_on="crossing", right_index=True
            )[["date", "band", "contributor", "contribution", "held_by"]]
            """
        ),
        md(
            """
            ## 8. Missed opportunities

            A crossing is a missed opportunity when no response (referral, early help,
            strategy meeting, conference, plan start) followed from the crossing day
            through 28 days after, and no plan was already active.
            """
        ),
        code(
            r"""
            audit.missed_opportunities[["date", "band", "score", "contributors", "followed_by"]]
            """
        ),
        md(
            """
            ## 9. Lead time

            Lead time is the outcome date minus the first crossing of each band. On its
            own it flatters: a score that is always high has long lead times. Cohort
            audits therefore report false alarms beside it (see notebook 00 and 03).
            """
        ),
        code(
            r"""
            audit.lead_times
            """
        ),
        md(
            """
            ## 10. The same audit with a logistic model

            Audits take either model kind. The shipped `synthetic-logistic-v1` was fitted
            on a synthetic cohort (demonstration only); its score is log-odds and its bands
            are probabilities. A different model can tell a different story: compare the
            first crossings.
            """
        ),
        code(
            r"""
            logistic = rs.load_model("synthetic-logistic-v1")
            audit_lr = rs.audit_case(events, "CHILD-A", logistic, cases)
            print(audit_lr.summary())
            fig, ax = plt.subplots(figsize=(12, 4.5), layout="constrained")
            plots.plot_case_scores(audit_lr, ax=ax);
            """
        ),
        md(
            """
            ## 11. The HTML report

            `rs.report` writes one self-contained HTML file with the figures embedded.
            The page says at the top that it is a retrospective audit and not a decision
            about any person, and that it is individual-level and must stay in the secure
            environment. Here it goes to a temporary folder.
            """
        ),
        code(
            r"""
            path = rs.report(audit, workdir / "child_a.html")
            page = path.read_text(encoding="utf-8")
            print(f"wrote {path.name}: {len(page) // 1024} KiB, {page.count('<img')} embedded figures")
            print("says it is not a decision:", "not a decision about any child or family" in page)
            print("says it stays in the secure environment:", "secure environment" in page)
            """
        ),
        md(
            """
            ## What the audit shows

            Each agency held part of the picture and no single agency's view reached
            `multi_agency_discussion`; the joined record reached it long before the
            fictional child protection plan, and the first crossing into `review` was not
            followed by any response within 28 days. This is what a retrospective audit
            is for: learning, with evidence, about how information was joined up. It is
            not a judgement about any person, and Child A is fictional.
            """
        ),
    ]


# --------------------------------------------------------------------------- 02


def nb02() -> list:
    return [
        md(
            "# 02 Train and validate a model\n\n"
            + NOTICE.format(
                data="a **synthetic** cohort (invented children, invented 2101-2104 calendar)"
            ),
            """

            From an anonymised cohort to a validated logistic model: honest labels,
            validation grouped by child and in time, intervals that resample children,
            calibration, decision curves, a comparison with the default scorecard and an
            integer-points version, metrics by deprivation quintile, and a model file
            with a model card.

            **Synthetic outcome rates are far above real ones.** About 2% of these
            synthetic children have an outcome; the serious outcomes that reviews look at
            are far rarer in real populations. Precision (PPV, AUPRC) rises with the
            outcome rate, so the precision figures here flatter any real use.
            """,
        ),
        code(setup(plots=False)),
        md(
            """
            ## 1. Cohort and training set

            Each child is sampled every 90 days from the first event; the label is
            "outcome within 365 days after T". Rows whose horizon runs past the end of
            follow-up are excluded and counted, not silently dropped. The exclusion table
            holds exact counts, so it passes disclosure control before it is shown.
            """
        ),
        code(
            r"""
            events, cases = rs.make_cohort(3000, random_state=2102)
            ts = rs.make_training_set(events, cases, grid="90D", horizon=365)
            print(f"{len(ts.y):,} rows from {len(np.unique(ts.groups)):,} synthetic children; "
                  f"{ts.y.mean():.2%} of rows have the outcome within the horizon")
            rs.disclose(ts.excluded, count_columns=["n_rows", "n_cases"])
            """
        ),
        md(
            """
            ## 2. Fit a logistic model and read its odds ratios

            A ridge-penalised `LogisticRiskModel` on the whole catalogue (missing values
            get an indicator). Odds-ratio intervals come from refits on bootstrap samples
            of whole children, because the rows of one child are not independent.
            """
        ),
        code(
            r"""
            model = rs.LogisticRiskModel(penalty="l2", C=1.0).fit(ts.X, ts.y, groups=ts.groups)
            ors = model.odds_ratios(ts.X, ts.y, ci="bootstrap", n_boot=50, groups=ts.groups,
                                    random_state=0, progress=False)
            ors.round(2)
            """
        ),
        md(
            """
            ## 3. Validation grouped by child

            Five-fold cross-validation in which no child is ever on both sides of a
            split; the model is refitted on each training fold and judged on the
            out-of-fold predictions. Intervals are percentile intervals from resampling
            children in those predictions (50 replicates here to keep the notebook fast;
            use 200 or more for publication).
            """
        ),
        code(
            r"""
            result = rs.evaluate(model, ts, cv=5, n_boot=50, alert_rates=(0.05, 0.01, 0.1),
                         subgroups=cases, random_state=0)
            m = result.metrics.set_index("metric")
            print(f"AUROC {m.loc['auroc', 'estimate']:.3f} (95% CI {m.loc['auroc', 'lower']:.3f} "
                  f"to {m.loc['auroc', 'upper']:.3f})")
            print(f"AUPRC {m.loc['auprc', 'estimate']:.3f} (95% CI {m.loc['auprc', 'lower']:.3f} "
                  f"to {m.loc['auprc', 'upper']:.3f}) -- flattered by the synthetic outcome rate")
            result.metrics.round(4)
            """
        ),
        md(
            """
            On synthetic data we know the truth: the generator's own log-odds give the
            best discrimination any model could reach on these rows, a ceiling for the
            fitted model's AUROC.
            """
        ),
        code(
            r"""
            from sklearn.metrics import roc_auc_score

            from riskscore.synthetic import true_linear_predictor

            print(f"AUROC of the generator's true risk on the same rows: "
                  f"{roc_auc_score(ts.y, true_linear_predictor(ts.X)):.3f}")
            """
        ),
        md(
            """
            ## 4. Calibration, decision curve, ROC

            Calibration plots observed against predicted risk by decile (bins with
            small counts are suppressed and not drawn). The decision curve shows net
            benefit against alerting everyone or no one across threshold probabilities;
            only thresholds where the model beats both are worth discussing.
            """
        ),
        code(
            r"""
            fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
            result.plot_calibration(ax=axes[0])
            result.plot_decision_curve(ax=axes[1])
            result.plot_roc(ax=axes[2]);
            """
        ),
        md(
            """
            Sensitivity and PPV at fixed alert rates (the share of rows flagged, highest
            predicted risk first) and at the model's band thresholds. PPV depends on the
            outcome rate: with a real, much lower rate it would be much lower.
            """
        ),
        code(
            r"""
            result.alerts
            """
        ),
        md(
            """
            ## 5. Temporal validation

            Train on the past, test on the future: training rows need `as_of + horizon`
            before the cut, test rows start after it, and no child is on both sides.
            """
        ),
        code(
            r"""
            temporal = rs.evaluate(model, ts, cv="temporal", n_boot=50, random_state=0)
            print(temporal.design["validation"])
            print(temporal)
            """
        ),
        md(
            """
            ## 6. Compare: default scorecard, logistic model, integer points

            The same splits and the same bootstrap replicates for all three. The
            scorecard keeps its expert-set points; only its points-to-risk mapping is
            fitted on each training fold.
            """
        ),
        code(
            r"""
            table, fig = rs.compare_models(
                {
                    "default scorecard": rs.default_scorecard(),
                    "logistic": rs.LogisticRiskModel(penalty="l2"),
                    "integer points": rs.IntegerPointsModel(rs.LogisticRiskModel(penalty="l2")),
                },
                ts, cv=5, n_boot=50, random_state=0,
            )
            display(fig)
            table[table["metric"].isin(["auroc", "auprc", "calibration_slope"])].round(3)
            """
        ),
        md(
            """
            The integer-points version of the fitted model, as a scorecard a person can
            read. Its points-to-risk table (`points_table_`) holds exact counts and stays
            inside the secure environment; the version that may leave (and that goes into
            a model card) passes disclosure control: totals with fewer than 10 rows or
            events are suppressed (`<NA>`), the rest rounded to 5.
            """
        ),
        code(
            r"""
            points = model.to_scorecard(ts.X, ts.y, max_points=20, name="synthetic-points")
            print(points)
            rs.disclose(points.points_table_[["points", "n", "events", "observed_risk", "predicted_risk"]],
                        count_columns=["n", "events"], rate_columns={"observed_risk": ["n", "events"]},
                        by="points")
            """
        ),
        md(
            """
            ## 7. By deprivation quintile

            Indicators of poverty (hardship, police contact, missed appointments) can
            make a score track deprivation. The subgroup audit (at the first alert rate,
            5% of rows) reports each metric by
            deprivation quintile (1 = most deprived) with ratios to the reference group,
            after disclosure control: a row resting on fewer than 10 children or events
            is suppressed (`<NA>`).
            """
        ),
        code(
            r"""
            dep = result.subgroups[result.subgroups["attribute"] == "imd_quintile"]
            wide = dep.pivot_table(index="group", columns="metric", values="estimate", aggfunc="first")
            display(wide[["selection_rate", "tpr", "ppv", "observed_rate", "mean_predicted", "oe_ratio"]].round(3))
            print("suppressed cells:", int(dep["estimate"].isna().sum()), "of", len(dep))
            dep[dep["metric"].isin(["selection_rate", "tpr"])][
                ["group", "metric", "estimate", "lower", "upper", "ratio", "n_cases"]].round(3)
            """
        ),
        md(
            """
            ## 8. Train, validate and write the model file in one call

            `train_model` fits on the whole set, validates the same procedure by
            cross-validation and fills a model card (data, outcome and horizon,
            validation design, metrics with intervals, calibration, subgroups including
            deprivation, intended use and limitations). The file is readable JSON and
            goes to a temporary folder here.
            """
        ),
        code(
            r"""
            final, final_eval = rs.train_model(events, cases, penalty="l2", cv=5, n_boot=50,
                                               name="notebook-demo", random_state=0)
            path = rs.save_model(final, workdir / "notebook-demo.json", model_card=final.model_card_)
            reloaded = rs.load_model(path)
            print(path.name, "| model card sections:", ", ".join(final.model_card_))
            print("intended use:", final.model_card_["intended_use"][:200])
            """
        ),
    ]


# --------------------------------------------------------------------------- 03


def nb03() -> list:
    return [
        md(
            "# 03 Fairness and calibration\n\n"
            + NOTICE.format(
                data="a **synthetic** cohort (invented children, invented 2101-2104 calendar; "
                "the ethnic groups are synthetic labels `group_1` .. `group_5`)"
            ),
            """

            A model that discriminates well can still be miscalibrated, and a model that
            is calibrated overall can still be miscalibrated, or alert at very different
            rates, for some groups. This notebook checks calibration (overall and by
            group), the effect of class weighting and recalibration, and subgroup metrics
            by sex, ethnic group and deprivation quintile, with intervals that resample
            children and with disclosure control applied.

            **Synthetic outcome rates are far above real ones**, so precision (PPV)
            here flatters; real PPV would be much lower.
            """,
        ),
        code(setup()),
        code(
            r"""
            events, cases = rs.make_cohort(3000, random_state=2103)
            ts = rs.make_training_set(events, cases)
            print(f"{len(ts.y):,} rows, {len(np.unique(ts.groups)):,} synthetic children, "
                  f"outcome within a year in {ts.y.mean():.2%} of rows")
            cases[["sex", "ethnic_group", "imd_quintile"]].astype(str).describe()
            """
        ),
        md(
            """
            ## 1. Calibration: class weighting must be followed by recalibration

            Weighting the rare class makes a model over-predict. `LogisticRiskModel`
            recalibrates the intercept after class weighting by default so that its
            probabilities stay honest. Three fits, the same splits:

            * plain (no weighting),
            * `class_weight="balanced"` with recalibration (the default),
            * `class_weight="balanced"` with `recalibrate=False` (deliberately wrong).

            Calibration intercept ("in the large") should be near 0 and slope near 1.
            """
        ),
        code(
            r"""
            variants = {
                "plain": rs.LogisticRiskModel(penalty="l2"),
                "balanced + recalibrated": rs.LogisticRiskModel(penalty="l2", class_weight="balanced"),
                "balanced, not recalibrated": rs.LogisticRiskModel(
                    penalty="l2", class_weight="balanced", recalibrate=False),
            }
            table, _ = rs.compare_models(variants, ts, cv=5, n_boot=50, random_state=0)
            results = table.attrs["results"]
            table[table["metric"].isin(["auroc", "calibration_intercept", "calibration_slope",
                                        "mean_predicted", "observed_rate"])].round(3)
            """
        ),
        code(
            r"""
            fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), layout="constrained")
            for ax, (name, res) in zip(axes, results.items(), strict=True):
                res.plot_calibration(ax=ax)
                ax.set_title(name + "\n" + ax.get_title(), fontsize=9)
            """
        ),
        md(
            """
            The calibration table behind each plot passes disclosure control: decile
            counts are rounded to 5 and small cells suppressed.
            """
        ),
        code(
            r"""
            results["plain"].calibration
            """
        ),
        md(
            """
            ## 2. Subgroup metrics

            `evaluate(..., subgroups=cases)` runs the subgroup audit (built on
            fairlearn's `MetricFrame`) on the out-of-fold predictions at the first alert
            rate (5% of rows here): alert rate, true and
            false positive rates, PPV, AUROC, observed and mean predicted risk and the
            observed/expected ratio, each with a case-bootstrap interval and a ratio to
            the reference group (the largest, by default). Rows resting on fewer than 10
            children or events are suppressed.
            """
        ),
        code(
            r"""
            res = rs.evaluate(rs.LogisticRiskModel(penalty="l2"), ts, cv=5, n_boot=50,
                              alert_rates=(0.05,), subgroups=cases, random_state=0)
            sub = res.subgroups
            print(f"alert threshold: probability >= {sub.attrs['threshold']:.3f} (5% of rows alerted)")
            print("suppressed rows:", int(sub["estimate"].isna().sum()), "of", len(sub))
            sub[sub["metric"].isin(["selection_rate", "tpr", "ppv", "oe_ratio"])][
                ["attribute", "group", "metric", "estimate", "lower", "upper", "ratio",
                 "ratio_lower", "ratio_upper", "reference", "n_cases"]
            ].round(3)
            """
        ),
        code(
            r"""
            from riskscore.fairness import plot_subgroups

            fig, ax = plt.subplots(figsize=(8, 7), layout="constrained")
            plot_subgroups(sub, ax=ax, metrics=("selection_rate", "tpr", "oe_ratio"));
            """
        ),
        md(
            """
            ## 3. By deprivation quintile

            The question the design insists on: does the score track deprivation? Alert
            rate, sensitivity, PPV and calibration (observed/expected) by deprivation
            quintile (1 = most deprived), with intervals. A higher alert rate in quintile
            1 can reflect a genuinely higher outcome rate there; the observed/expected
            ratio shows whether the *probabilities* are right in each quintile.
            """
        ),
        code(
            r"""
            dep = sub[sub["attribute"] == "imd_quintile"]
            wide = dep.pivot_table(index="group", columns="metric", values="estimate", aggfunc="first")
            cols = ["selection_rate", "tpr", "ppv", "observed_rate", "mean_predicted", "oe_ratio"]
            wide[cols].round(3)
            """
        ),
        md(
            """
            The default scorecard has one rule that is a poverty indicator
            (`hardship_12m`). Dropping it and comparing the alert rate by quintile, at
            the same overall alert rate (the 5% of rows with the most points), shows how
            much of the gradient across quintiles that rule drives. At a fixed share of
            rows alerted only the ranking of the scores matters, so the points (scaled to
            0-1) go straight into `subgroup_metrics`; no points-to-risk mapping is needed.
            """
        ),
        code(
            r"""
            card = rs.default_scorecard()
            no_hardship = rs.RuleScorecard(
                [r for r in card.rules if r.feature != "hardship_12m"],
                bands=card.bands,
                name="without hardship rule",
            )
            quintile = cases.set_index(cases["case_id"].astype(str))["imd_quintile"]
            row_quintile = quintile.reindex(pd.Index(ts.groups).astype(str)).reset_index(drop=True)
            rates = {}
            for name, model in {"default scorecard": card, "without hardship rule": no_hardship}.items():
                points = model.risk_score(ts.X).to_numpy()
                t = rs.subgroup_metrics(ts.y, points / points.max(), row_quintile.rename("imd_quintile"),
                                        alert_rate=0.05, case_ids=ts.groups, n_boot=50, random_state=0)
                t = t[t["metric"].eq("selection_rate")].set_index("group")
                rates[name] = t["estimate"]
                rates[f"{name}: ratio to quintile {t['reference'].iloc[0]}"] = t["ratio"]
            pd.DataFrame(rates).round(3)
            """
        ),
        md(
            """
            ## 4. The cohort audit by deprivation

            The retrospective audit itself (default scorecard) by deprivation quintile:
            share of children reaching `multi_agency_discussion`, share with a join-up
            gap, and median lead time, all after disclosure control (suppressed cells are
            drawn as labelled gaps).
            """
        ),
        code(
            r"""
            cohort = rs.audit_cohort(events, cases, card)
            display(cohort["by_deprivation"])
            fig, ax = plt.subplots(figsize=(9, 4), layout="constrained")
            plots.plot_by_deprivation(cohort, ax=ax);
            """
        ),
        md(
            """
            ## Take-aways

            * Class weighting without recalibration inflates every probability; the
              default recalibration restores calibration-in-the-large.
            * Report calibration and alert rates by group, not just overall, and always
              by deprivation quintile.
            * Intervals resample children; small groups are suppressed before anything
              leaves the secure environment.
            * Synthetic outcome rates flatter precision: none of these PPVs describes a
              real population.
            """
        ),
    ]


NOTEBOOKS = {
    "00_from_source_extracts.ipynb": nb00,
    "01_audit_a_case.ipynb": nb01,
    "02_train_and_validate.ipynb": nb02,
    "03_fairness_and_calibration.ipynb": nb03,
}


def ruff_format(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with its code cells formatted by ``ruff format`` (project settings)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "notebook.ipynb"
        nbformat.write(nb, path)
        subprocess.run(
            [sys.executable, "-m", "ruff", "format", "--quiet", "--config", str(PYPROJECT), path],
            check=True,
        )
        return nbformat.read(path, as_version=4)


def build(name: str) -> nbformat.NotebookNode:
    """The unexecuted notebook ``name`` (a key of :data:`NOTEBOOKS`), code cells formatted."""
    nb = nbformat.v4.new_notebook()
    nb.cells = NOTEBOOKS[name]()
    # stable cell ids keep regenerated notebooks diff-friendly
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    nb.metadata["kernelspec"] = {
        "name": KERNEL,
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return ruff_format(nb)


def execute(nb: nbformat.NotebookNode, cwd: str | Path) -> nbformat.NotebookNode:
    """Execute ``nb`` in place with nbclient, in working directory ``cwd``."""
    client = NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=TIMEOUT,
        resources={"metadata": {"path": str(cwd)}},
        record_timing=False,
    )
    client.execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="build only notebooks whose names start so")
    parser.add_argument("--no-execute", action="store_true", help="store without outputs")
    args = parser.parse_args(argv)
    names = [n for n in NOTEBOOKS if not args.only or any(n.startswith(p) for p in args.only)]
    for name in names:
        nb = build(name)
        if not args.no_execute:
            with tempfile.TemporaryDirectory() as tmp:
                execute(nb, tmp)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print(f"wrote {name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
