"""A simulated randomized, double-blind study (TOURMALINE-MM1's protocol file), through the
services: what `mmtrial demo` seeds when the deployment's protocol randomizes.

Participants are registered, screened (with the stratification factors) and enrolled at the 16
demo sites, each enrollment randomized by the EDC (the lists from a seed derived from the demo's
seed, so the study comes out the same every time); cycle 1 starts with its day-1 labs; the
central laboratory sends serum M-protein every 28 days through the lab import, so responses and
progression are derived by the IMWG engine. Progression-free survival is drawn per arm from
exponential distributions matching the publication: placebo median 14.7 months, hazard ratio
0.74 (Moreau P, et al. N Engl J Med 2016;374:1621-34); the strata's shares follow its table 1
(1 prior line 59%, proteasome-inhibitor exposed 69%, ISS III 12%). Deaths and later cycles are
not simulated: the study shows allocation, blinding and the two-arm analysis.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from mmtrial.sim.archetypes import SITES
from mmtrial.sim.demo import DEFAULT_SEED, DemoSummary, DemoUser, _print_users, demo_users
from mmtrial.sim.plans import data_cutoff_for

__all__ = ["PUBLISHED", "seed_randomized_study"]

DAYS_PER_MONTH = 30.4375
# [pub] medians and hazard ratio; the arms' order is the protocol file's (active first)
PUBLISHED = {"control_median_months": 14.7, "hazard_ratio": 0.74}
SHARES = {"one_prior_line": 0.59, "pi_exposed": 0.69, "iss_iii": 0.12}  # [pub] table 1
# [pub] best response, active vs control: ORR 78% vs 72%, VGPR or better 48% vs 39% (CR needs a
# negative immunofixation, which this serum-only simulation does not draw: CR counts as VGPR)
RESPONSE_SHARES = {"active": (0.48, 0.78), "control": (0.39, 0.72)}  # (VGPR+, PR+)
# serum M-protein at its nadir, as a fraction of baseline: >= 90% down (VGPR), 70% down (PR),
# 20% down (stable disease) [ours]
NADIR_FRACTION = {"vgpr": 0.05, "pr": 0.3, "sd": 0.8}
DECLINE_DAYS = 30  # e-folding time of the fall to the nadir: a VGPR by about the third cycle [ours]
ENROLLMENT_MONTHS = 18
BASELINE_M_PROTEIN = 2.5  # g/dL; a measurable serum M-protein


def _extra_users(seed: int) -> list[DemoUser]:
    rng = random.Random(f"randomized-users-{seed}")
    words = ("ume", "kiku", "fuji", "sakana", "take", "matsu")
    password = lambda: f"{rng.choice(words)}-{rng.choice(words)}-{rng.randrange(1000, 10000)}"  # noqa: E731
    return [
        DemoUser("randomization_admin", "randomization_admin", "kaito.nakamura",
                 "Kaito Nakamura", (), password()),
        DemoUser("unblinded_statistician", "unblinded_statistician", "sakura.kato",
                 "Sakura Kato", (), password()),
    ]  # fmt: skip


def _values(rng: random.Random) -> dict[str, object]:
    return {
        "confirmed_mm_diagnosis": True,
        "prior_lines": 1 if rng.random() < SHARES["one_prior_line"] else rng.choice([2, 2, 3]),
        "pi_exposed": rng.random() < SHARES["pi_exposed"],
        "iss_stage": 3 if rng.random() < SHARES["iss_iii"] else rng.choice([1, 2]),
        "relapsed_or_refractory": True,
        "ecog": rng.choice([0, 1, 1]),
        "anc_per_mm3": rng.randrange(1600, 4200, 100),
        "platelets_per_mm3": rng.randrange(110000, 260000, 1000),
        "total_bilirubin_mg_dl": 0.7,
        "total_bilirubin_uln_mg_dl": 1.2,
        "alt_u_l": 25,
        "alt_uln_u_l": 40,
        "ast_u_l": 24,
        "ast_uln_u_l": 40,
        "creatinine_mg_dl": 0.8,
        "weight_kg": 62,
        "lenalidomide_refractory": False,
        "pi_refractory": False,
        "peripheral_neuropathy_grade": 0,
        "serum_m_protein_g_dl": BASELINE_M_PROTEIN,
        "involved_flc_mg_l_with_abnormal_ratio": 0,
    }


def _depth(rng: random.Random, shares: tuple[float, float]) -> float:
    draw = rng.random()
    vgpr, pr = shares
    return NADIR_FRACTION["vgpr" if draw < vgpr else "pr" if draw < pr else "sd"]


def _m_protein(day: int, pfs_days: float, interval_days: int, nadir_fraction: float) -> float:
    """Serum M-protein (g/dL) on study day `day`: down to a plateau at `nadir_fraction` of
    baseline, then (from the progression day) up by more than 25% and 0.5 g/dL over the nadir."""
    nadir = BASELINE_M_PROTEIN * nadir_fraction
    if day < pfs_days:
        return round(max(nadir, BASELINE_M_PROTEIN * math.exp(-day / DECLINE_DAYS)), 2)
    return round(nadir + 0.8 + 0.2 * (day - pfs_days) / interval_days, 2)


def seed_randomized_study(
    *,
    protocol,
    seed: int = DEFAULT_SEED,
    participants: int = 300,
    stdout: TextIO | None = None,
    today: dt.date | None = None,
) -> DemoSummary:
    """Seed the simulated randomized study unless it is there; print the users; a summary.

    As the open-label demo, its data stop at `plans.data_cutoff_for(today)` (default: today at
    the sites), and its audit events name the study date they stand for."""
    from django.db import transaction
    from rich.console import Console

    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.models import AuditEvent, Participant, Site
    from mmtrial.sim.demo import _summary, seeding_day

    console = Console(file=stdout or sys.stdout, highlight=False)
    started = time.perf_counter()
    users = demo_users(seed=seed) + _extra_users(seed)
    if Site.objects.filter(code__in=[s.code for s in SITES]).exists():
        console.print("The demo study is already in the database: nothing was changed.")
        _print_users(console, users)
        return _summary(seeded=False, users=users, started=started)
    cutoff = data_cutoff_for(today or seeding_day())
    console.print(
        f"Seeding the randomized study {protocol.identification.short_title}: {len(SITES)} "
        f"sites, {participants} participants, data up to {cutoff.isoformat()}."
    )
    with transaction.atomic():
        from mmtrial.edc.services.randomization import randomization_key_create
        from mmtrial.sim.demo_setup import create_sites_and_users

        sites, staff = create_sites_and_users(users=users, console=console)
        admin = staff["randomization_admin"]
        with audit_actor(admin, via="demo"):
            randomization_key_create(user=admin, seed=f"demo-{seed}")
        rows = _enroll_and_start(protocol, sites, staff, seed, participants, console, cutoff)
        _central_lab(
            rows,
            staff["data_manager"],
            console,
            protocol.response_assessment.interval_days,
            cutoff,
        )
    summary = _summary(seeded=True, users=users, started=started)
    summary.data_cutoff = cutoff
    console.print(
        f"Randomized study ready in {summary.seconds:.1f} s: "
        f"{Participant.objects.count()} participants, {AuditEvent.objects.count()} audit events."
    )
    _print_users(console, users)
    return summary


def _enroll_and_start(protocol, sites, staff, seed, n, console, cutoff):
    from mmtrial.edc.audit import DEMO_VIA, audit_actor, audit_stands_for
    from mmtrial.edc.services.labs import lab_result_record
    from mmtrial.edc.services.participants import (
        participant_enroll,
        participant_register,
        screening_record,
    )
    from mmtrial.edc.services.randomization import allocated_arm
    from mmtrial.edc.services.treatment import cycle_start

    rng = random.Random(f"randomized-{seed}")
    first = cutoff - dt.timedelta(days=int(30 * DAYS_PER_MONTH))
    window = int(ENROLLMENT_MONTHS * DAYS_PER_MONTH)
    consents = sorted(first + dt.timedelta(days=rng.randrange(window)) for _ in range(n))
    control_hazard = math.log(2) / (PUBLISHED["control_median_months"] * DAYS_PER_MONTH)
    unblinded = staff["unblinded_statistician"]
    active = protocol.arms[0].id
    rows = []
    with console.status("Enrolling and randomizing..."):
        for i, consent in enumerate(consents):
            spec = SITES[i % len(SITES)]
            coordinator = staff[
                "coordinator.JP-01" if i % len(SITES) == 0 else "coordinator.others"
            ]
            with audit_actor(coordinator, via=DEMO_VIA):
                with audit_stands_for(consent):
                    participant = participant_register(
                        user=coordinator,
                        site_id=sites[spec.code].pk,
                        screening_number=f"S{i + 1:04d}",
                        sex=rng.choice(["female", "male"]),
                        year_of_birth=consent.year - rng.randrange(45, 80),
                        race="asian",  # the simulated sites are the Japanese ones (SITES)
                        ethnicity="not_hispanic_or_latino",
                        consent_date=consent,
                    )
                screened = consent + dt.timedelta(days=1)
                with audit_stands_for(screened):
                    screening_record(
                        user=coordinator,
                        participant_id=participant.pk,
                        screened_on=screened,
                        values=_values(rng),
                        answers={"EXC-RECENT-TREATMENT": False, "EXC-OTHER": False},
                    )
                participant.refresh_from_db()
                enrolled = consent + dt.timedelta(days=4)
                with audit_stands_for(enrolled):
                    participant = participant_enroll(
                        user=coordinator,
                        participant_id=participant.pk,
                        enrolled_on=enrolled,
                        expected_version=participant.version,
                    )
                c1d1 = consent + dt.timedelta(days=7)
                with audit_stands_for(c1d1 - dt.timedelta(days=1)):
                    for analyte, value in (
                        ("creatinine", "0.8"),
                        ("anc", "2500"),
                        ("platelets", "200000"),
                    ):
                        lab_result_record(
                            user=coordinator,
                            participant_id=participant.pk,
                            analyte=analyte,
                            value=value,
                            unit="mg/dL" if analyte == "creatinine" else "/mm3",
                            collected_on=c1d1 - dt.timedelta(days=1),
                        )
                with audit_stands_for(c1d1):
                    cycle_start(user=coordinator, participant_id=participant.pk, start_date=c1d1)
            arm = allocated_arm(user=unblinded, participant=participant)
            hazard = control_hazard * (PUBLISHED["hazard_ratio"] if arm == active else 1.0)
            shares = RESPONSE_SHARES["active" if arm == active else "control"]
            rows.append(
                (participant.subject_id, c1d1, rng.expovariate(hazard), _depth(rng, shares))
            )
    return rows


def _central_lab(rows, data_manager, console, interval_days: int, cutoff: dt.date) -> None:
    """One file of every serum M-protein sample: baseline, then one per response assessment
    interval of the protocol to the cut-off."""
    from mmtrial.edc.audit import DEMO_VIA, audit_actor, audit_stands_for
    from mmtrial.edc.lab_import import COLUMNS, lab_import_file

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for subject, c1d1, pfs_days, nadir_fraction in rows:
        day = -3
        while c1d1 + dt.timedelta(days=day) <= cutoff:
            on = c1d1 + dt.timedelta(days=day)
            accession = f"R{on:%y%m%d}{subject.replace('-', '')}"
            writer.writerow(
                [
                    subject,
                    accession,
                    on,
                    "serum_m_protein",
                    _m_protein(max(day, 0), pfs_days, interval_days, nadir_fraction),
                    "g/dL",
                ]
            )
            if day >= pfs_days + 2 * interval_days:
                break  # progression confirmed: the assessments stop
            day = interval_days if day < 0 else day + interval_days
    with console.status("Central laboratory import..."), tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "central-lab-randomized.csv"
        path.write_text(buffer.getvalue(), encoding="utf-8")
        with audit_actor(data_manager, via=DEMO_VIA), audit_stands_for(cutoff):
            lab_import_file(user=data_manager, path=path, today=cutoff)
