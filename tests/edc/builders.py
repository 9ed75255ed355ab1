"""Builders for clinical EDC tests: a screened, enrolled, started participant, via services."""

from __future__ import annotations

import datetime as dt
import itertools

from mmtrial.edc.models import Membership, Participant, User
from mmtrial.edc.services.participants import (
    participant_enroll,
    participant_register,
    screening_record,
)
from tests.edc.factories import make_site

_numbers = itertools.count(1)


def make_user(*, role: str, site, username: str | None = None) -> User:
    """A user with a role and no usable password (hashing one takes a tenth of a second)."""
    user = User.objects.create_user(
        username=username or f"clin{next(_numbers)}", password=None, full_name="Test User"
    )
    Membership.objects.create(user=user, site=site, role=role)
    return user


CONSENT = dt.date(2027, 1, 4)
SCREENED = dt.date(2027, 1, 5)
ENROLLED = dt.date(2027, 1, 8)

ELIGIBLE_VALUES = {
    "confirmed_mm_diagnosis": True,
    "prior_lines": 2,
    "relapsed_or_refractory": True,
    "serum_m_protein_g_dl": 2.4,
    "ecog": 1,
    "anc_per_mm3": 1500,
    "platelets_per_mm3": 150000,
    "total_bilirubin_mg_dl": 0.8,
    "total_bilirubin_uln_mg_dl": 1.2,
    "alt_u_l": 30,
    "alt_uln_u_l": 40,
    "ast_u_l": 30,
    "ast_uln_u_l": 40,
    "creatinine_mg_dl": 1.0,
    "weight_kg": 60,
    "lenalidomide_refractory": False,
    "pi_refractory": False,
    "peripheral_neuropathy_grade": 0,
    "peripheral_neuropathy_grade_1_with_pain": False,
}
ELIGIBLE_ANSWERS = {"EXC-RECENT-TREATMENT": False, "EXC-OTHER": False}


class Study:
    """One site with a coordinator, an investigator and an all-sites data manager."""

    def __init__(self, code: str | None = None) -> None:
        self.site = make_site(code)
        self.coordinator = make_user(role="coordinator", site=self.site)
        self.investigator = make_user(role="investigator", site=self.site)
        self.data_manager = make_user(role="data_manager", site=None)

    def register(self, number: str = "SCR-001", **fields) -> Participant:
        defaults = dict(sex="female", year_of_birth=1955, consent_date=CONSENT)
        defaults.update(fields)
        return participant_register(
            user=self.coordinator, site_id=self.site.pk, screening_number=number, **defaults
        )

    def enrolled(self, number: str = "SCR-001", values=None, **fields) -> Participant:
        participant = self.register(number, **fields)
        screening_record(
            user=self.investigator,  # values and the investigator's answers
            participant_id=participant.pk,
            screened_on=SCREENED,
            values={**ELIGIBLE_VALUES, **(values or {})},
            answers=ELIGIBLE_ANSWERS,
        )
        participant.refresh_from_db()
        return participant_enroll(
            user=self.coordinator,
            participant_id=participant.pk,
            enrolled_on=ENROLLED,
            expected_version=participant.version,
        )


C1D1 = dt.date(2027, 1, 11)


def day1_labs(
    study: Study, participant, on: dt.date, *, creatinine="1.0", anc="1500", platelets="150000"
) -> None:
    from mmtrial.edc.services.labs import lab_result_record

    for analyte, value, unit in (
        ("creatinine", creatinine, "mg/dL"),
        ("anc", anc, "/mm3"),
        ("platelets", platelets, "/mm3"),
    ):
        lab_result_record(
            user=study.coordinator,
            participant_id=participant.pk,
            analyte=analyte,
            value=value,
            unit=unit,
            collected_on=on,
        )


def started(study: Study, number: str = "SCR-001", *, creatinine="1.0", **fields):
    """An enrolled participant whose cycle 1 started on C1D1; returns (participant, cycle)."""
    from mmtrial.edc.services.treatment import cycle_start

    participant = study.enrolled(number, **fields)
    day1_labs(study, participant, C1D1, creatinine=creatinine)
    cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=C1D1)
    participant.refresh_from_db()
    return participant, cycle
