"""Entering a cohort plan into the EDC, day by day, through the services only.

Every planned event becomes a step on the study calendar; steps run in date order (and, within
a day, in a fixed phase order: the central laboratory file first, then registration, local
laboratory values, adverse events, cycle starts, visits, doses, the investigator's review,
end of treatment and follow-up, and on the cut-off day queries, the signature and the lock).
Each step runs inside `audit_actor(user, via="demo")`, as the person who would enter it at
that site, and `audit_stands_for(day)`: its audit events keep the real time and name the study
date they stand for. Steps that depend on what the EDC decided (a cycle's visits and doses, the derived
responses) are queued when their cause has run. Reads use the ORM; writes only services.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from mmtrial.edc.audit import DEMO_VIA, audit_actor, audit_stands_for
from mmtrial.edc.models import DoseAdministration, Participant, Visit
from mmtrial.edc.models.treatment import CycleStatus, DoseStatus, VisitStatus
from mmtrial.sim.demo_acct import schedule_accountability
from mmtrial.sim.demo_central_lab import CentralLabSteps
from mmtrial.sim.demo_terms import verbatim_ja
from mmtrial.sim.plans import DATA_CUTOFF, CyclePlan, ParticipantPlan, Phase

__all__ = ["DemoRunner"]

# The site whose participants get every dose of their current cycle recorded (see below).
DOSES_SITE = "JP-01"
LATE_DAYS = 2  # the planned out-of-window visit comes this long after its window closes


def _day(visit: tuple) -> int:
    return visit[1] or 0


@dataclass
class DemoRunner(CentralLabSteps):
    plans: list[ParticipantPlan]
    staff: dict[str, object]  # coordinator.JP-01, coordinator.others, monitor, ... (demo.py)
    sites: dict[str, object]  # site code -> Site
    on_step: Callable[[str, dt.date], None] | None = None
    cutoff: dt.date = DATA_CUTOFF  # the last day with data (the plans' data_cutoff)
    participant_ids: dict[int, int] = field(default_factory=dict)
    subject_ids: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    _queue: list = field(default_factory=list)
    _seq: int = 0

    # -- the calendar -------------------------------------------------------------------------
    def push(self, day: dt.date, phase: int, plan_index: int, label: str, step, user_key: str):
        if day > self.cutoff:
            return
        self._seq += 1
        heapq.heappush(self._queue, (day, phase, plan_index, self._seq, label, step, user_key))

    def pending(self) -> int:
        return len(self._queue)

    def run(self) -> None:
        while self._queue:
            day, _phase, _index, _seq, label, step, user_key = heapq.heappop(self._queue)
            user = self.staff[user_key]
            with audit_actor(user, via=DEMO_VIA), audit_stands_for(day):
                step(day, user)
            if self.on_step is not None:
                self.on_step(label, day)

    def coordinator_key(self, plan: ParticipantPlan) -> str:
        key = f"coordinator.{plan.site.code}"
        return key if key in self.staff else "coordinator.others"

    def investigator_key(self, plan: ParticipantPlan) -> str:
        key = f"investigator.{plan.site.code}"
        return key if key in self.staff else self.coordinator_key(plan)

    # -- planning every participant's first steps ---------------------------------------------
    def schedule(self) -> None:
        for plan in self.plans:
            coordinator = self.coordinator_key(plan)
            i = plan.index
            self.push(
                plan.consent, Phase.REGISTER, i, "register", self._register(plan), coordinator
            )
            if plan.screened is not None:
                self.push(
                    plan.screened, Phase.REGISTER, i, "screen", self._screen(plan), coordinator
                )
            if plan.enrolled is not None:
                self.push(
                    plan.enrolled, Phase.REGISTER, i, "enroll", self._enroll(plan), coordinator
                )
            for cycle in plan.cycles:
                if cycle.delayed_from is not None:
                    self._cycle_steps(plan, cycle, cycle.delayed_from, delayed=True)
                self._cycle_steps(plan, cycle, cycle.start, delayed=False)
            for ae in plan.adverse_events:
                if ae.lab is not None:
                    analyte, value = ae.lab
                    self.push(
                        ae.start, Phase.LABS, i, "lab", self._lab(plan, analyte, value), coordinator
                    )
                day = ae.end if ae.end is not None and ae.end <= self.cutoff else ae.start
                self.push(
                    day, Phase.ADVERSE_EVENT, i, "adverse event", self._ae(plan, ae), coordinator
                )
            if plan.end_of_treatment is not None:
                eot = plan.end_of_treatment
                self.push(
                    eot.recorded_on,
                    Phase.OUTCOME,
                    i,
                    "end of treatment",
                    self._eot(plan),
                    coordinator,
                )
            for day in plan.contacts:
                self.push(
                    day, Phase.OUTCOME, i, "follow-up contact", self._contact(plan), coordinator
                )
            if plan.death is not None:
                self.push(plan.death, Phase.OUTCOME, i, "death", self._death(plan), coordinator)
        self._schedule_imports()

    def _cycle_steps(self, plan: ParticipantPlan, cycle: CyclePlan, day: dt.date, *, delayed: bool):
        coordinator = self.coordinator_key(plan)
        platelets = cycle.delay_platelets_per_mm3 if delayed else cycle.platelets_per_mm3
        for analyte, value, unit in (
            ("creatinine", f"{cycle.creatinine_mg_dl:.2f}", "mg/dL"),
            ("anc", str(cycle.anc_per_mm3), "/mm3"),
            ("platelets", str(platelets), "/mm3"),
        ):
            self.push(
                day,
                Phase.LABS,
                plan.index,
                "lab",
                self._lab(plan, analyte, value, unit),
                coordinator,
            )
        self.push(
            day, Phase.CYCLE, plan.index, "cycle start", self._cycle(plan, cycle), coordinator
        )

    # -- steps ---------------------------------------------------------------------------------
    def _register(self, plan: ParticipantPlan):
        def step(day, user):
            from mmtrial.edc.services.participants import participant_register

            participant = participant_register(
                user=user,
                site_id=self.sites[plan.site.code].pk,
                screening_number=plan.screening_number,
                sex=plan.sex,
                year_of_birth=plan.year_of_birth,
                race=plan.race,
                ethnicity=plan.ethnicity,
                consent_date=plan.consent,
                today=day,
            )
            self.participant_ids[plan.index] = participant.pk

        return step

    def _screen(self, plan: ParticipantPlan):
        def step(day, user):
            from mmtrial.edc.services.participants import screening_record

            screening_record(
                user=user,
                participant_id=self.participant_ids[plan.index],
                screened_on=day,
                values=plan.screening_values,
                answers={"EXC-RECENT-TREATMENT": False, "EXC-OTHER": False},
            )

        return step

    def _enroll(self, plan: ParticipantPlan):
        def step(day, user):
            from mmtrial.edc.services.participants import participant_enroll

            pid = self.participant_ids[plan.index]
            version = Participant.objects.values_list("version", flat=True).get(pk=pid)
            participant = participant_enroll(
                user=user, participant_id=pid, enrolled_on=day, expected_version=version
            )
            self.subject_ids[plan.index] = participant.subject_id

        return step

    def _lab(self, plan: ParticipantPlan, analyte: str, value, unit: str = "/mm3"):
        def step(day, user):
            from mmtrial.edc.services.labs import lab_result_record

            lab_result_record(
                user=user,
                participant_id=self.participant_ids[plan.index],
                analyte=analyte,
                value=str(value),
                unit=unit,
                collected_on=day,
                today=day,
            )

        return step

    def _ae(self, plan: ParticipantPlan, ae):
        def step(day, user):
            from mmtrial.edc.services.adverse_events import ae_record

            ae_record(
                user=user,
                participant_id=self.participant_ids[plan.index],
                term=verbatim_ja(ae.term),
                ctcae_term=ae.term,
                grade=ae.grade,
                start_date=ae.start,
                end_date=ae.end if ae.end is not None and ae.end <= day else None,
                serious=ae.serious,
                attribution=ae.attribution,
                action_taken=ae.action_taken,
                nonhematologic=ae.nonhematologic,
                led_to_discontinuation=ae.action_taken == "treatment_discontinued",
            )

        return step

    def _cycle(self, plan: ParticipantPlan, cycle_plan: CyclePlan):
        def step(day, user):
            from mmtrial.edc.services.treatment import cycle_start

            pid = self.participant_ids[plan.index]
            cycle = cycle_start(user=user, participant_id=pid, start_date=day)
            if cycle.status != CycleStatus.STARTED:
                if cycle_plan.delayed_from != day:
                    self.problems.append(
                        f"{self.subject_ids[plan.index]} cycle {cycle.number} on {day}: "
                        f"{cycle.status} ({cycle.decision.get('decision')})"
                    )
                return
            self._after_cycle_start(plan, cycle_plan, cycle)

        return step

    def _after_cycle_start(self, plan: ParticipantPlan, cycle_plan: CyclePlan, cycle) -> None:
        coordinator = self.coordinator_key(plan)
        visits = Visit.objects.filter(
            participant_id=cycle.participant_id,
            cycle_number=cycle.number,
            status=VisitStatus.DUE,
            is_deleted=False,
        ).values_list("code", "day", "planned_date", "window_end")
        for number, (code, _visit_day, planned, window_end) in enumerate(sorted(visits, key=_day)):
            actual = planned
            if "out_of_window" in plan.roles and cycle.number == 1 and number == 1:
                actual = window_end + dt.timedelta(days=LATE_DAYS)  # seen late: out of window
            weight = cycle_plan.weight_kg if number == 0 else None
            self.push(
                actual,
                Phase.VISIT,
                plan.index,
                "visit",
                self._visit_code(plan, code, weight),
                coordinator,
            )
        # Dose records cost a service call each: the demo records them where they tell a story
        # (holds, a stop) and for the last cycle of the demo site's own participants.
        last = cycle_plan.number == plan.cycles[-1].number and plan.site.code == DOSES_SITE
        if cycle_plan.holds or cycle_plan.stop_day is not None or last:
            end = cycle.start_date + dt.timedelta(days=plan.calendar.cycle_days - 1)
            self.push(
                min(end, self.cutoff),
                Phase.DOSES,
                plan.index,
                "doses",
                self._doses(plan, cycle_plan, cycle.pk),
                coordinator,
            )
            schedule_accountability(
                self, plan, cycle_plan, cycle, day=min(end, self.cutoff), user_key=coordinator
            )

    def _visit_code(self, plan: ParticipantPlan, code: str, weight_kg: float | None = None):
        def step(day, user):
            from mmtrial.edc.services.visits import visit_record

            visit = (
                Visit.objects.filter(
                    participant_id=self.participant_ids[plan.index],
                    code=code,
                    status=VisitStatus.DUE,
                    is_deleted=False,
                )
                .values_list("pk", "version")
                .first()
            )
            if visit is None:
                return  # re-planned away (e.g. treatment ended first)
            visit_record(
                user=user,
                visit_id=visit[0],
                actual_date=day,
                expected_version=visit[1],
                weight_kg=weight_kg,
                today=day,
            )

        return step

    def _doses(self, plan: ParticipantPlan, cycle_plan: CyclePlan, cycle_pk: int):
        def step(day, user):
            from mmtrial.edc.services.doses import DoseEntry, cycle_doses_record

            doses = DoseAdministration.objects.filter(
                cycle_id=cycle_pk, status=DoseStatus.PLANNED, date__lte=day, is_deleted=False
            ).order_by("date", "drug")
            entries = []
            for dose in doses:
                reason = cycle_plan.holds.get((dose.drug, dose.day), "")
                if cycle_plan.stop_day is not None and dose.day >= cycle_plan.stop_day:
                    reason = "グレード3の肺炎のため治験治療を中止"
                entries.append(
                    DoseEntry(
                        dose_id=dose.pk,
                        status=DoseStatus.HELD if reason else DoseStatus.TAKEN,
                        expected_version=dose.version,
                        reason=reason,
                    )
                )
            # the diary of the cycle so far, saved at once as the site does in the dose form
            cycle_doses_record(
                user=user,
                participant_id=self.participant_ids[plan.index],
                cycle_number=cycle_plan.number,
                entries=entries,
            )

        return step

    def _eot(self, plan: ParticipantPlan):
        user_key = self.coordinator_key

        def step(day, user):
            from mmtrial.edc.services.follow_up import end_of_treatment_record

            eot = plan.end_of_treatment
            end_of_treatment_record(
                user=user,
                participant_id=self.participant_ids[plan.index],
                last_dose_date=eot.last_dose,
                reason=eot.reason,
                details=eot.details,
            )
            visit = Visit.objects.filter(
                participant_id=self.participant_ids[plan.index], code="EOT", is_deleted=False
            ).first()
            if visit is not None:  # the end-of-treatment visit the schedule planned
                step_ = self._visit_code(plan, "EOT")
                self.push(
                    visit.planned_date, Phase.VISIT, plan.index, "visit", step_, user_key(plan)
                )

        return step

    def _contact(self, plan: ParticipantPlan):
        def step(day, user):
            from mmtrial.edc.services.follow_up import follow_up_contact_record

            pid = self.participant_ids[plan.index]
            follow_up_contact_record(
                user=user,
                participant_id=pid,
                contact_date=day,
                alive=True,
                notes="電話にて連絡。生存を確認、新たな抗がん治療なし。",
            )
            visit = (
                Visit.objects.filter(
                    participant_id=pid, kind="follow_up", planned_date=day, status=VisitStatus.DUE
                )
                .values_list("code", flat=True)
                .first()
            )
            if visit is not None:
                self._visit_code(plan, visit)(day, user)

        return step

    def _death(self, plan: ParticipantPlan):
        def step(day, user):
            from mmtrial.edc.services.follow_up import death_record

            death_record(
                user=user,
                participant_id=self.participant_ids[plan.index],
                death_date=day,
                cause="progressive_disease",
                details="生存追跡期間中に骨髄腫の進行により死亡。",
            )

        return step
