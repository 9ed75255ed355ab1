"""The demo's protocol deviations (issue 15 item 2): on the data cut-off the monitor re-runs
every deviation rule over the study (as `mmtrial safety recheck` does), so the deviations the
seeded data hold are found by rule, among them the visit planned out of its window
(`demo_runner.LATE_DAYS`); the monitor resolves that one with the site's explanation (the
same story as the demo's query on it) and enters one deviation by hand."""

from __future__ import annotations

from mmtrial.sim.plans import ParticipantPlan, Phase

__all__ = ["deviation_steps"]

LATE_VISIT_RESOLUTION = (
    "台風の警報が出ていたため、許容範囲を過ぎてからの来院となりました。原資料で確認済み。"
)
MANUAL_CATEGORY = "Informed consent"
MANUAL_TEXT = (
    "The patient information sheet given at screening was the previous version; the current "
    "version was explained and signed at the next visit."
)


def deviation_steps(runner, plans: list[ParticipantPlan]) -> None:
    """Queue the monitor's re-check, the resolution and the manual entry on the cut-off."""

    def recheck(day, monitor):
        from mmtrial.edc.models import Deviation, Participant
        from mmtrial.edc.services.deviations import (
            deviation_enter,
            deviation_resolve,
            deviations_recheck_study,
        )

        deviations_recheck_study(today=day)
        late = next((p for p in plans if "out_of_window" in p.roles), None)
        if late is not None:
            found = Deviation.objects.filter(
                participant_id=runner.participant_ids[late.index],
                rule="visit_out_of_window",
                status="open",
            ).first()
            if found is not None:
                deviation_resolve(
                    user=monitor,
                    deviation_id=found.pk,
                    resolution=LATE_VISIT_RESOLUTION,
                    expected_version=found.version,
                )
        ids = [
            runner.participant_ids[p.index]
            for p in plans
            if p.index in runner.participant_ids and "out_of_window" not in p.roles
        ]
        enrolled = (
            Participant.objects.filter(pk__in=ids, locked=False)
            .exclude(subject_id=None)
            .order_by("pk")
            .first()
        )
        if enrolled is not None:
            deviation_enter(
                user=monitor,
                participant_id=enrolled.pk,
                category=MANUAL_CATEGORY,
                description=MANUAL_TEXT,
                important=False,
                occurred_on=enrolled.consent_date,
            )

    runner.push(runner.cutoff, Phase.TRUST, 10_003, "deviations", recheck, "monitor")
