"""The report as a statistician reads it (issue 13, item 10): dose intensity over completed
cycles, names as the protocol file and CTCAE write them, "not reached" medians, swimmer bars to
the data cut-off, and a data cut-off that is never after the day the report is made.

Expected values are hand computations on the small frames written here.
"""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
from django.db import transaction
from django.test import override_settings
from freezegun import freeze_time

from mmtrial.analysis import report_tables
from mmtrial.analysis.adam_io import AdamDatasets
from mmtrial.analysis.exposure import dose_intensity, exposure_summary
from mmtrial.analysis.i18n import ae_term, drug_name
from mmtrial.analysis.report_swimmer import derive_swimmer_to_data_cut
from mmtrial.protocol import load_protocol

# A: still on treatment; cycle 2 is in progress (its day-1 dose held so far).
# B: treatment ended in cycle 2, which is complete.
ADEX = pd.DataFrame(
    [
        {"USUBJID": "A", "EXTRT": "ixazomib", "CYCLE": 1, "EXDOSE": 12, "EXPLDOS": 12},
        {"USUBJID": "A", "EXTRT": "ixazomib", "CYCLE": 2, "EXDOSE": 0, "EXPLDOS": 4},
        {"USUBJID": "B", "EXTRT": "ixazomib", "CYCLE": 1, "EXDOSE": 12, "EXPLDOS": 12},
        {"USUBJID": "B", "EXTRT": "ixazomib", "CYCLE": 2, "EXDOSE": 2, "EXPLDOS": 4},
    ]
)
ADSL = pd.DataFrame(
    [
        {"USUBJID": "A", "EOTSTT": "ONGOING", "TRTSDT": "2027-01-01", "DCUTDT": "2027-03-01"},
        {"USUBJID": "B", "EOTSTT": "DISCONTINUED", "TRTSDT": "2027-01-01", "DCUTDT": "2027-03-01"},
    ]
)


def test_dose_intensity_leaves_out_the_cycle_in_progress():
    rdi = dose_intensity(ADEX, adsl=ADSL).set_index("USUBJID")["relative_dose_intensity_pct"]
    assert rdi["A"] == pytest.approx(100.0)  # cycle 1 only: 12 / 12
    assert rdi["B"] == pytest.approx(87.5)  # both cycles: (12 + 2) / (12 + 4)


def test_without_adsl_every_cycle_counts_as_before():
    rdi = dose_intensity(ADEX).set_index("USUBJID")["relative_dose_intensity_pct"]
    assert rdi["A"] == pytest.approx(75.0)  # 12 / 16


def test_exposure_summary_minimum_is_no_longer_zero_from_a_cycle_just_started():
    row = exposure_summary(ADEX, adsl=ADSL).iloc[0]
    assert (row.rdi_min_pct, row.rdi_max_pct) == pytest.approx((87.5, 100.0))
    assert row.rdi_subjects == 2
    assert row.cycles_median == 1.5  # cycles received still count every cycle with a dose


def test_drug_names_come_from_the_protocol_file_in_either_case_and_language():
    drugs = load_protocol().drugs
    assert drug_name("ixazomib", "en") == drugs["ixazomib"].name == "Ixazomib"
    assert drug_name("IXAZOMIB", "ja") == drugs["ixazomib"].name_ja == "イキサゾミブ"
    assert drug_name("Lenalidomide", "ja") == "レナリドミド"
    assert drug_name("placebo", "ja") == "placebo"  # not in the protocol: as given


def test_exposure_table_names_drugs_as_the_protocol_does(published_frames):
    data = AdamDatasets(
        adsl=published_frames["adsl"],
        adrs=published_frames["adrs"],
        adtte=published_frames["adtte"],
        optional={"adex": published_frames["adex"]},
        files={},
    )
    (_title, header, rows) = report_tables.exposure_blocks(data, "ja")[0]
    assert [row[0] for row in rows] == ["デキサメタゾン", "イキサゾミブ", "レナリドミド"]
    assert "N（相対用量強度）" in header
    (_title, _header, rows) = report_tables.exposure_blocks(data, "en")[0]
    assert [row[0] for row in rows] == ["Dexamethasone", "Ixazomib", "Lenalidomide"]


def test_ae_terms_in_japanese_follow_the_jcog_translation_of_ctcae():
    assert ae_term("Platelet count decreased", "ja") == "血小板数減少"
    assert ae_term("Peripheral sensory neuropathy", "ja") == "末梢性感覚ニューロパチー"
    assert ae_term("Platelet count decreased", "en") == "Platelet count decreased"
    assert ae_term("Something unlisted", "ja") == "Something unlisted"


def test_a_median_not_reached_is_written_out_and_an_unreached_limit_is_ne():
    summary = {
        "time_to_event": {
            "OS": {"n": 34, "events": 5, "median_months": None, "ci95_months": [30.1, None]}
        }
    }
    _title, _header, rows = report_tables.tte_block(summary, "en")
    assert rows[0][3:] == ["not reached", "30.1 - NE"]
    _title, _header, rows = report_tables.tte_block(summary, "ja")
    assert rows[0][3] == "未到達"


def test_ongoing_swimmer_bars_end_at_the_data_cut_off():
    swimmer = pd.DataFrame(
        [
            {"USUBJID": "A", "duration_days": 31.0, "ongoing": True, "BOR": "PR"},
            {"USUBJID": "B", "duration_days": 45.0, "ongoing": False, "BOR": "SD"},
        ]
    )
    out = derive_swimmer_to_data_cut(swimmer, adsl=ADSL).set_index("USUBJID")
    assert out.loc["A", "duration_days"] == 60  # 2027-01-01 .. 2027-03-01: 31 + 28 + 1 days
    assert out.loc["B", "duration_days"] == 45  # treatment ended: its own duration


FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    from mmtrial.sim.demo import seed_demo_study

    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHER),
        transaction.atomic(),
    ):
        seed_demo_study(participants=4, stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_the_default_data_cut_is_never_after_the_day_the_report_is_made(demo):
    from mmtrial.commands.analysis import _adam_from_database
    from mmtrial.edc.models import LabResult

    latest_lab = max(LabResult.objects.values_list("collected_on", flat=True))
    today = latest_lab - dt.timedelta(days=10)  # data recorded after "today"
    with freeze_time(today.isoformat()):
        adsl = _adam_from_database().adsl
    assert {pd.Timestamp(d).date() for d in adsl["DCUTDT"]} == {today}
    # with today after every recorded date the cut is the latest recorded date, as before
    later = _adam_from_database().adsl
    assert max(pd.Timestamp(d).date() for d in later["DCUTDT"]) >= latest_lab
