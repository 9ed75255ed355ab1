"""The demo's central laboratory: weekly result files through the lab import, then review.

Samples collected during a week are sent in one CSV file the next Monday (one last file on the
cut-off day) and imported with `edc.lab_import` as the data manager, as a real file on disk,
so the IMWG responses are derived by the EDC. After each file the investigator (at the other
sites, the coordinator transcribing the investigator's worksheet) records their own response
beside every newly derived one; one planned disagreement opens a query automatically.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

from mmtrial.edc.models import ResponseAssessment
from mmtrial.sim.plans import ParticipantPlan, Phase, SamplePlan

__all__ = ["CentralLabSteps"]

# The investigator's category in the planned disagreement, given the derived one.
_RESPONSE_NEIGHBOUR = {"PR": "VGPR", "VGPR": "PR", "MR": "PR", "SD": "MR", "CR": "VGPR"}
DISAGREEMENT_AT_ASSESSMENT = 2


class CentralLabSteps:
    """Mixed into DemoRunner: needs push, plans, cutoff, participant_ids, subject_ids and the
    keys."""

    def _schedule_imports(self) -> None:
        """Weekly files (Mondays) of the samples collected the week before; one at the cut-off."""
        files: dict[dt.date, list[tuple[ParticipantPlan, SamplePlan]]] = {}
        for plan in self.plans:
            for sample in plan.samples:
                day = sample.collected_on
                monday = day + dt.timedelta(days=7 - day.weekday())
                files.setdefault(min(monday, self.cutoff), []).append((plan, sample))
        for day, rows in sorted(files.items()):
            self.push(
                day, Phase.IMPORT, -1, "central lab import", self._import(rows), "data_manager"
            )

    def _import(self, rows: list[tuple[ParticipantPlan, SamplePlan]]):
        def step(day, user):
            from mmtrial.edc.lab_import import COLUMNS, lab_import_file

            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(COLUMNS)
            for plan, sample in rows:
                subject = self.subject_ids[plan.index]
                accession = f"CL{sample.collected_on:%y%m%d}{subject.replace('-', '')}"
                for analyte, (value, unit) in sample.values.items():
                    writer.writerow([subject, accession, sample.collected_on, analyte, value, unit])
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"central-lab-{day:%Y%m%d}.csv"
                path.write_text(buffer.getvalue(), encoding="utf-8")
                lab_import_file(user=user, path=path, today=day)
            for plan, sample in rows:
                if sample.bone_marrow_plasma_cells_pct is not None:
                    self.push(
                        day,
                        Phase.DOSES,
                        plan.index,
                        "bone marrow",
                        self._marrow(plan, sample),
                        self.coordinator_key(plan),
                    )
            for plan in {id(p): p for p, _ in rows}.values():
                if plan.c1d1 is not None:
                    self.push(
                        day,
                        Phase.REVIEW,
                        plan.index,
                        "investigator response",
                        self._review(plan),
                        self.investigator_key(plan),
                    )

        return step

    def _marrow(self, plan: ParticipantPlan, sample: SamplePlan):
        def step(day, user):
            from mmtrial.edc.services.disease import disease_assessment_record

            disease_assessment_record(
                user=user,
                participant_id=self.participant_ids[plan.index],
                assessed_on=sample.collected_on,
                bone_marrow_plasma_cells_pct=sample.bone_marrow_plasma_cells_pct,
                bone_marrow_clonal_cells="present",
            )

        return step

    def _review(self, plan: ParticipantPlan):
        """The investigator's own IMWG category for each newly derived assessment."""

        def step(day, user):
            from mmtrial.edc.services.responses import investigator_response_record

            pid = self.participant_ids[plan.index]
            rows = ResponseAssessment.objects.filter(participant_id=pid, is_deleted=False)
            ordered = list(rows.order_by("assessment_date"))
            for number, row in enumerate(ordered, start=1):
                if row.investigator_response or row.derived_response == "NE":
                    continue
                response = row.derived_response
                if "disagreement" in plan.roles and number == DISAGREEMENT_AT_ASSESSMENT:
                    response = _RESPONSE_NEIGHBOUR.get(response, "PR")
                investigator_response_record(
                    user=user,
                    participant_id=pid,
                    assessment_date=row.assessment_date,
                    response=response,
                    expected_version=row.version,
                )

        return step
