"""Sites, users and the cut-off day's trust steps of the demo study (all through services).

Sites and accounts are created as the operator at the server's shell (`SYSTEM_OPERATOR`, as
`mmtrial site add` and `mmtrial user add` do); everything else as the person who would do it.
"""

from __future__ import annotations

from mmtrial.sim.archetypes import SITES
from mmtrial.sim.demo_kri import add_kri_outlier
from mmtrial.sim.plans import DATA_CUTOFF, ParticipantPlan, Phase

__all__ = ["create_sites_and_users", "run_cohort"]


def create_sites_and_users(*, users, console) -> tuple[dict, dict]:
    """The 16 demo sites and the demo accounts; returns (sites by code, users by key).

    The accounts are created by the operator with a first password; each person then sets the
    printed one as their own (`user_password_change`), so that logging in does not ask for a
    new password first.
    """
    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.services._acting import SYSTEM_OPERATOR
    from mmtrial.edc.services.sites import site_add
    from mmtrial.edc.services.users import role_grant, user_create, user_password_change

    sites, staff = {}, {}
    with console.status("Creating the sites and the demo users..."), audit_actor(None, via="demo"):
        for spec in SITES:
            sites[spec.code] = site_add(
                actor=SYSTEM_OPERATOR,
                code=spec.code,
                name=spec.name,
                name_ja=spec.name_ja,
                timezone=spec.timezone,
            )
        for user in users:
            first = sites[user.sites[0]] if user.sites else None
            staff[user.key] = user_create(
                actor=SYSTEM_OPERATOR,
                username=user.username,
                full_name=user.full_name,
                password=_first_password(user),
                role=user.role,
                site=first,
            )
            for code in user.sites[1:]:
                role_grant(
                    actor=SYSTEM_OPERATOR, user=staff[user.key], role=user.role, site=sites[code]
                )
    for user in users:
        account = staff[user.key]
        with audit_actor(account, via="demo"):
            staff[user.key] = user_password_change(
                user=account, old_password=_first_password(user), new_password=user.password
            )
    return sites, staff


def _first_password(user) -> str:
    return f"operator-{user.password}"


def _plan_with(plans: list[ParticipantPlan], role: str) -> ParticipantPlan | None:
    return next((p for p in plans if role in p.roles), None)


CORRECTED_ANC_PER_MM3 = 100  # the digit typed wrong in the demo's correction


def _trust_steps(runner, plans: list[ParticipantPlan], users) -> None:
    """Queries, the investigator's identity check and signature, and a lock, on the cut-off."""
    from mmtrial.edc.models import EndOfTreatment, Participant, Query, Visit
    from mmtrial.edc.services.locking import participant_lock
    from mmtrial.edc.services.queries import query_answer, query_close, query_open
    from mmtrial.edc.services.signatures import participant_sign
    from mmtrial.edc.services.users import user_verify_identity

    passwords = {user.key: user.password for user in users}

    def participant(plan):
        return Participant.objects.select_related("site").get(pk=runner.participant_ids[plan.index])

    late = _plan_with(plans, "out_of_window")
    if late is not None:

        def late_visit_query(day, monitor):
            p = participant(late)
            visit = Visit.objects.filter(participant=p, status="out_of_window").first()
            if visit is None:
                return
            query = query_open(
                user=monitor,
                participant=p,
                model="visit",
                object_pk=visit.pk,
                field="actual_date",
                text=f"来院{visit.code}の実施日が{visit.actual_date}となっており、許容範囲"
                f"（{visit.window_start}～{visit.window_end}）外です。実施日をご確認ください。",
            )
            coordinator = runner.staff[runner.coordinator_key(late)]
            query = query_answer(
                user=coordinator,
                query=query,
                text="確認しました。台風の警報が出ていたため、許容範囲を過ぎてからの来院となりました。",
            )
            query_close(user=monitor, query=query, text="原資料と照合し、実施日を確認しました。")

        runner.push(runner.cutoff, Phase.TRUST, late.index, "query", late_visit_query, "monitor")

    asked = _plan_with(plans, "query")
    if asked is not None:

        def open_query(day, monitor):
            p = participant(asked)
            eot = EndOfTreatment.objects.filter(participant=p).first()
            if eot is None:
                return
            query_open(
                user=monitor,
                participant=p,
                model="endoftreatment",
                object_pk=eot.pk,
                field="last_dose_date",
                text="最終投与日を患者さんの服薬日誌と照合のうえ、ご確認ください。",
            )

        runner.push(runner.cutoff, Phase.TRUST, asked.index, "query", open_query, "monitor")

    signed = _plan_with(plans, "signed")
    investigator_key = f"investigator.{SITES[0].code}"
    if signed is not None:

        def verify(day, admin):
            user_verify_identity(
                actor=admin,
                user=runner.staff[investigator_key],
                evidence="施設開始時訪問にて写真付き身分証明書を確認済み。",
            )

        def sign(day, investigator):
            p = participant(signed)
            if Query.objects.filter(participant=p).exclude(status="closed").exists():
                runner.problems.append(f"{p.subject_id} has open queries: not signed")
                return
            investigator.refresh_from_db()
            participant_sign(
                user=investigator,
                participant=p,
                password=passwords[investigator_key],
                meaning="Approval",
                confirm=True,
                session_state={},
                username=investigator.username,
            )

        runner.push(runner.cutoff, Phase.TRUST, 10_000, "identity", verify, "sponsor_admin")
        runner.push(runner.cutoff, Phase.TRUST, 10_001, "signature", sign, investigator_key)

    # A correction with its reason for change, as a site writes it: a local ANC typed wrong at
    # the last cycle start, corrected against the laboratory report (an ongoing JP-01
    # participant without cytopenia, so no dose rule reads the difference).
    fixed = next(
        (
            p
            for p in plans
            if p.site.code == SITES[0].code
            and p.archetype.stage == "ongoing"
            and not p.archetype.events
            and not {"signed", "locked"} & set(p.roles)
        ),
        None,
    )
    if fixed is not None:

        def correct(day, coordinator):
            from mmtrial.edc.models import LabResult
            from mmtrial.edc.services.labs import lab_result_update

            lab = (
                LabResult.objects.filter(
                    participant_id=runner.participant_ids[fixed.index],
                    analyte="anc",
                    source="local",
                    is_deleted=False,
                )
                .order_by("-collected_on", "-id")
                .first()
            )
            if lab is None:
                return
            lab_result_update(
                user=coordinator,
                lab_result_id=lab.pk,
                expected_version=lab.version,
                value=str(int(lab.value) + CORRECTED_ANC_PER_MM3),
                unit=lab.reported_unit,
                reason="転記ミスのため修正（検査報告書の値と照合済み）",
                today=day,
            )

        coordinator_key = runner.coordinator_key(fixed)
        runner.push(runner.cutoff, Phase.TRUST, fixed.index, "correction", correct, coordinator_key)

    locked = _plan_with(plans, "locked")
    if locked is not None:

        def lock(day, data_manager):
            participant_lock(
                user=data_manager,
                participant=participant(locked),
                reason="死亡後のデータレビューが完了したため固定します。",
            )

        runner.push(runner.cutoff, Phase.TRUST, 10_002, "lock", lock, "data_manager")


def run_cohort(*, plans, sites, staff, users, console) -> list[str]:
    """Enter every participant's plan; returns what did not go as planned (for the console)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from mmtrial.sim.demo_dev import deviation_steps
    from mmtrial.sim.demo_runner import DemoRunner
    from mmtrial.sim.demo_sae import seed_demo_sae

    cutoff = plans[0].data_cutoff if plans else DATA_CUTOFF
    runner = DemoRunner(plans=plans, staff=staff, sites=sites, cutoff=cutoff)
    runner.schedule()
    _trust_steps(runner, plans, users)
    deviation_steps(runner, plans)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    months: set[tuple[int, int]] = set()
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("Entering the study data", total=runner.pending())

        def advance(label: str, day) -> None:
            progress.update(
                task,
                advance=1,
                total=progress.tasks[0].completed + 1 + runner.pending(),
                description=f"{day.isoformat()} {label:<22}",
            )
            # Without a terminal the bar is not drawn: a line per quarter shows progress.
            quarter = (day.year, (day.month - 1) // 3)
            if not console.is_terminal and quarter not in months:
                months.add(quarter)
                console.print(f"  entering the study data of {day:%Y-%m} ...")

        runner.on_step = advance
        runner.run()
    add_kri_outlier(runner)
    runner.problems += seed_demo_sae(cutoff=cutoff)
    return runner.problems
