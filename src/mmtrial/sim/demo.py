"""The demo study that `mmtrial demo` (and `make demo`) opens: seeded once, through the services.

`seed_demo_study()` creates 16 sites (fictional Japanese hospitals, Asia/Tokyo), one user per
role (coordinator and investigator at site JP-01; monitor, data manager, statistician and
sponsor administrator across all sites) plus a coordinator at every other site, and enters the
34 participants of `mmtrial.sim.cohort` day by day through the EDC services, each step as the
person who would enter it (`audit_actor(user, via="demo")`). Central laboratory results go
through the lab import as the data manager, so responses are derived by the IMWG engine; the
investigator records their own response beside each (one disagreement opens a query); a monitor
raises and closes queries; the investigator signs one participant and the data manager locks
another. The passwords are printed with the users.

Current: the study's dates are relative to the day it is seeded (`plans.data_cutoff_for`): the
same cohort, shifted so that its data stop on the latest Monday on or before that day, so a
newcomer sees a study in progress today. Every audit event keeps the real time it was written
(21 CFR 11.10(e)) and says which study date it stands for (`stands_for` in its context, shown
beside the time in the audit views).

Idempotent: when the demo sites exist the study is left as it is (no row and no audit event is
written) and only the users table is printed again. Deterministic: the same seed and seeding
day give the same participants, doses and responses.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO
from zoneinfo import ZoneInfo

from mmtrial.sim.archetypes import SITES
from mmtrial.sim.cohort import build_cohort
from mmtrial.sim.plans import data_cutoff_for

__all__ = ["DEFAULT_SEED", "DemoSummary", "DemoUser", "demo_users", "seed_demo_study"]

DEFAULT_SEED = 20270104
_WORDS = (
    "sakura", "momiji", "hoshi", "kumo", "tsuki", "kaze", "yama", "umi", "mori", "hana",
    "sora", "yuki", "kawa", "nami", "tori", "ishi",
)  # fmt: skip


@dataclass(frozen=True)
class DemoUser:
    key: str
    role: str
    username: str
    full_name: str
    sites: tuple[str, ...]  # site codes; empty: every site
    password: str

    @property
    def where(self) -> str:
        if not self.sites:
            return "all sites"
        return self.sites[0] if len(self.sites) == 1 else f"{self.sites[0]} to {self.sites[-1]}"


@dataclass
class DemoSummary:
    seeded: bool  # False: the demo study was already there and nothing was written
    sites: int
    participants: int
    users: list[DemoUser]
    seconds: float
    audit_events: int
    statuses: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    data_cutoff: dt.date | None = None  # the last day with data (None: not seeded now)


def _password(rng: random.Random) -> str:
    return f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}-{rng.randrange(1000, 10000)}"


def demo_users(*, seed: int = DEFAULT_SEED) -> list[DemoUser]:
    """The demo's people and their passwords (deterministic in `seed`).

    One per role, plus the clinical research coordinator from a site management organisation
    (SMO, common at Japanese sites) who enters the data of sites JP-02 to JP-16.
    """
    rng = random.Random(f"demo-users-{seed}")
    first = (SITES[0].code,)
    others = tuple(site.code for site in SITES[1:])
    people = (
        ("coordinator", "hanako.yamada", "Hanako Yamada", first),
        ("investigator", "kenji.sato", "Kenji Sato", first),
        ("monitor", "aiko.suzuki", "Aiko Suzuki", ()),
        ("data_manager", "yuto.takahashi", "Yuto Takahashi", ()),
        ("statistician", "mei.ito", "Mei Ito", ()),
        ("sponsor_admin", "ren.watanabe", "Ren Watanabe", ()),
        ("coordinator", "misaki.kobayashi", "Misaki Kobayashi（SMO）", others),
    )
    return [
        DemoUser(_key(role, sites), role, username, name, sites, _password(rng))
        for role, username, name, sites in people
    ]


def _key(role: str, sites: tuple[str, ...]) -> str:
    """How the demo runner finds the person: `coordinator.JP-01`, `coordinator.others`, ..."""
    if not sites:
        return role
    return f"{role}.{sites[0]}" if len(sites) == 1 else f"{role}.others"


def seeding_day() -> dt.date:
    """Today at the demo's sites (Asia/Tokyo)."""
    from django.utils import timezone

    return timezone.now().astimezone(ZoneInfo(SITES[0].timezone)).date()


def seed_demo_study(
    *,
    seed: int = DEFAULT_SEED,
    stdout: TextIO | None = None,
    participants: int | None = None,
    today: dt.date | None = None,
) -> DemoSummary:
    """Seed the demo study unless it is there already; print the users table; return a summary.

    `participants` keeps only the first N participants of the cohort (in consent order), for
    quick tests; the demo itself uses all 34. `today` is the seeding day (default: today at
    the sites); the data stop at `plans.data_cutoff_for(today)`.
    """
    from django.db import transaction
    from rich.console import Console

    from mmtrial.edc.models import AuditEvent, Participant, Site

    console = Console(file=stdout or sys.stdout, highlight=False)
    started = time.perf_counter()
    users = demo_users(seed=seed)
    demo_codes = [site.code for site in SITES]
    if Site.objects.filter(code__in=demo_codes).exists():
        summary = _summary(seeded=False, users=users, started=started)
        console.print("The demo study is already in the database: nothing was changed.")
        _print_users(console, users)
        return summary
    cutoff = data_cutoff_for(today or seeding_day())
    plans = build_cohort(seed=seed, data_cutoff=cutoff)
    if participants is not None:
        plans = plans[:participants]
    console.print(
        f"Seeding the demo study: {len(SITES)} sites, {len(plans)} participants, "
        f"data up to {cutoff.isoformat()} (seed {seed})."
    )
    with transaction.atomic():
        from mmtrial.sim.demo_setup import create_sites_and_users, run_cohort

        sites, staff = create_sites_and_users(users=users, console=console)
        problems = run_cohort(plans=plans, sites=sites, staff=staff, users=users, console=console)
    summary = _summary(seeded=True, users=users, started=started, problems=problems)
    summary.data_cutoff = cutoff
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(summary.statuses.items()))
    console.print(
        f"Demo study ready in {summary.seconds:.1f} s: "
        f"{Participant.objects.filter(site__code__in=demo_codes).count()} participants ({statuses}), "
        f"{AuditEvent.objects.count()} audit events."
    )
    for problem in problems:
        console.print(f"[yellow]note:[/yellow] {problem}")
    _print_users(console, users)
    return summary


def _summary(*, seeded: bool, users, started: float, problems=()) -> DemoSummary:
    from django.db.models import Count

    from mmtrial.edc.models import AuditEvent, Participant, Site

    codes = [site.code for site in SITES]
    participants = Participant.objects.filter(site__code__in=codes)
    statuses = dict(participants.values_list("status").annotate(n=Count("id")))
    return DemoSummary(
        seeded=seeded,
        sites=Site.objects.filter(code__in=codes).count(),
        participants=participants.count(),
        users=users,
        seconds=time.perf_counter() - started,
        audit_events=AuditEvent.objects.count(),
        statuses=statuses,
        problems=list(problems),
    )


def _print_users(console, users: list[DemoUser]) -> None:
    from rich.table import Table

    table = Table(title="Demo users (log in at the URL printed below)", title_justify="left")
    for column in ("Role", "User name", "Password", "Sites"):
        table.add_column(column, no_wrap=True)
    for user in users:
        table.add_row(user.role, user.username, user.password, user.where)
    console.print(table)
