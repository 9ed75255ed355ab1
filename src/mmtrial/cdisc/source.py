"""What both packages read from the study database, through the EDC's selectors.

`load_source` calls `mmtrial.edc.selectors.analysis_source` (the analysis facts and the IMWG
results at the data cut: the same call `mmtrial analyze` makes) and
`mmtrial.edc.selectors.export.export_participants`; `subject_chunks` then streams each chunk of
subjects with its records (`export_records`), so memory holds one chunk of records at a time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mmtrial.cdisc.ct import terminology
from mmtrial.cdisc.findings import Findings
from mmtrial.cdisc.sdtm.subjects import StudyContext, Subject, subjects_from
from mmtrial.errors import InputError

__all__ = ["CHUNK_SUBJECTS", "ExportSource", "SubjectRecords", "load_source", "subject_chunks"]

CHUNK_SUBJECTS = 250
RECORD_KINDS = (
    "labs",
    "doses",
    "adverse_events",
    "visits",
    "responses",
    "deviations",
    "accountability",
)
NOTHING_TO_EXPORT = "nothing to export: no participant is enrolled{when}"


@dataclass
class ExportSource:
    study: Any  # mmtrial.analysis.derive.StudySource
    ctx: StudyContext
    subjects: list[Subject]
    given_cut: dt.date | None


def load_source(
    *, user=None, data_cut: dt.date | None = None, findings: Findings, unblinded_by=None
) -> ExportSource:
    """The study as it stood at the data cut (or at its latest data when no cut is given).

    A randomized study's arms are read for `unblinded_by` (a user who may see the allocation)
    or once the study is unblinded; otherwise the export is blinded and DM carries no arm."""
    from mmtrial.edc.selectors import analysis_source
    from mmtrial.edc.selectors.export import export_participants
    from mmtrial.protocol.loader import load_protocol

    study = analysis_source(user=user, data_cut_date=data_cut)
    frame = study.participants
    if len(frame) == 0:
        when = f" on or before {data_cut.isoformat()}" if data_cut else ""
        raise InputError.coded(NOTHING_TO_EXPORT, when=when)
    cut = data_cut or frame["data_cut_date"].iloc[0]
    protocol = load_protocol()
    participants = export_participants(user=user, data_cut_date=cut)
    analysis_rows = {str(row["usubjid"]): row for row in frame.to_dict("records")}
    subjects = subjects_from(
        participants,
        analysis_rows=analysis_rows,
        studyid=protocol.identification.study_id,
        cut=cut,
    )
    ctx = StudyContext(protocol=protocol, cut=cut, ct=terminology(), findings=findings)
    if protocol.randomized:
        ctx.subject_arms = _arms(unblinded_by)
    ctx.subjects = sum(1 for s in subjects if not s.screen_failed)
    ctx.extras["cut_description"] = (
        "DATA CUT-OFF DATE GIVEN FOR THE EXPORT" if data_cut else "LATEST DATE OF RECORDED DATA"
    )
    return ExportSource(study=study, ctx=ctx, subjects=subjects, given_cut=data_cut)


def _arms(unblinded_by) -> dict[str, str] | None:
    from mmtrial.edc.selectors.randomization import arms_and_strata
    from mmtrial.edc.services.randomization import may_see_arms

    if not may_see_arms(unblinded_by):
        return None
    arms, _strata = arms_and_strata(user=unblinded_by)
    return arms


@dataclass
class SubjectRecords:
    subject: Subject
    records: dict[str, list[dict[str, Any]]]
    visit_codes: dict[int, str]  # visit pk -> code
    visit_on: dict[dt.date, str]  # date -> code of the visit done that day (first by number)
    investigator: dict[dt.date, str]  # assessment date -> investigator's response


def subject_chunks(
    subjects: list[Subject], *, size: int = CHUNK_SUBJECTS, kinds: tuple[str, ...] = RECORD_KINDS
) -> Iterator[list[SubjectRecords]]:
    """Chunks of subjects with their records (one query per record kind and chunk)."""
    from mmtrial.edc.selectors.export import export_records

    for start in range(0, len(subjects), size):
        chunk = subjects[start : start + size]
        ids = [s.pk for s in chunk]
        grouped: dict[int, dict[str, list[dict[str, Any]]]] = {pk: defaultdict(list) for pk in ids}
        for kind in kinds:
            for row in export_records(kind, participant_ids=ids):
                grouped[row["participant_id"]][kind].append(row)
        out = []
        for s in chunk:
            records = grouped[s.pk]
            visits = records.get("visits", [])
            visit_on: dict[dt.date, str] = {}
            for v in visits:
                visit_on.setdefault(v["actual_date"], v["code"])
            investigator = {
                r["assessment_date"]: r["investigator_response"]
                for r in records.get("responses", [])
                if r["investigator_response"]
            }
            out.append(
                SubjectRecords(
                    subject=s,
                    records=records,
                    visit_codes={v["pk"]: v["code"] for v in visits},
                    visit_on=visit_on,
                    investigator=investigator,
                )
            )
        yield out
