"""Service refusals are a code with typed parameters, rendered in the user's language (issue 12
item 2, design rule 7): the Japanese text comes from the catalogue, the values from the error's
own parameters; nothing is read back out of the English text. Expected words are the
catalogue's Japanese (locale/ja django.po, locale-pending/codes.json) and the protocol file's
value_ranges (hemoglobin hard limits 1 to 25 g/dL, label_ja ヘモグロビン)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from mmtrial.edc.services.labs import lab_result_record, lab_result_update
from mmtrial.edc.services.locking import participant_lock
from mmtrial.errors import ConflictError, InputError, LockedRecordError
from mmtrial.web.entry_forms import LabPanelForm
from mmtrial.web.errors import add_service_error, render_error
from tests.edc.builders import C1D1, Study, started

pytestmark = pytest.mark.django_db


def _lab(study, participant, **changes):
    fields = dict(analyte="hemoglobin", value="11.0", unit="g/dL", collected_on=C1D1)
    fields.update(changes)
    return lab_result_record(user=study.coordinator, participant_id=participant.pk, **fields)


def _japanese(error) -> str:
    with translation.override("ja"):
        return render_error(error)


def test_a_stale_version_is_refused_with_both_versions_in_japanese():
    study = Study("K1")
    participant, _ = started(study)
    lab = _lab(study, participant)
    lab_result_update(
        user=study.coordinator, lab_result_id=lab.pk, expected_version=1, reason="typo",
        value="11.5",
    )  # fmt: skip
    with pytest.raises(ConflictError) as refused:
        lab_result_update(
            user=study.coordinator, lab_result_id=lab.pk, expected_version=1, reason="typo",
            value="11.6",
        )  # fmt: skip
    error = refused.value
    assert error.code == "record_changed"
    assert error.params == {"expected": 1, "current": 2}
    shown = _japanese(error)
    assert "開いた版 1" in shown and "現在 2" in shown
    assert "changed by someone else" in error.message  # the CLI's English, from the same values


def test_a_locked_participant_is_named_in_the_japanese_form_error():
    study = Study("K2")
    participant, _ = started(study)
    participant_lock(user=study.data_manager, participant=participant, reason="analysis")
    with pytest.raises(LockedRecordError) as refused:
        _lab(study, participant)
    error = refused.value
    assert error.code == "participant_locked"
    subject = participant.subject_id
    assert error.params == {"subject": subject}
    form = LabPanelForm(data={})
    form.is_valid()
    with translation.override("ja"):
        add_service_error(form, error)
    shown = " ".join(form.non_field_errors())
    assert f"被験者{subject}はデータマネジメントによりロックされています" in shown


def test_a_hard_range_names_the_analyte_value_limits_and_unit_in_japanese():
    study = Study("K3")
    participant, _ = started(study)
    with pytest.raises(InputError) as refused:
        _lab(study, participant, value="500")
    error = refused.value
    assert error.code == "value_impossible"
    assert error.extra["field"] == "value"
    assert (
        error.message == "Hemoglobin: 500 g/dL is impossible; it must be >= 1 g/dL and <= 25 g/dL."
    )
    assert _japanese(error) == (
        "ヘモグロビン：500 g/dLはあり得ない値です。1 g/dL 以上 25 g/dL 以下の範囲で入力してください。"
    )


def test_a_future_collection_date_is_refused_with_the_date_in_japanese():
    study = Study("K4")
    participant, _ = started(study)
    future = C1D1 + dt.timedelta(days=3)
    with pytest.raises(InputError) as refused:
        _lab(study, participant, collected_on=future, today=C1D1)
    error = refused.value
    assert error.code == "collected_in_future"
    assert error.params == {"date": future}  # a date, not its text
    assert _japanese(error) == f"採取日：{future.isoformat()}は未来の日付です。"


def test_a_unit_the_analyte_does_not_take_is_refused_naming_both_in_japanese():
    study = Study("K5")
    participant, _ = started(study)
    with pytest.raises(InputError) as refused:
        _lab(study, participant, unit="mmol/L")
    error = refused.value
    assert error.code == "lab_unit_refused"
    assert error.extra == {"field": "unit"}
    assert error.message == (
        "Hemoglobin unit: unit 'mmol/L' is not accepted for Hemoglobin (accepted: g/dL, g/L)"
    )
    assert _japanese(error) == (
        "ヘモグロビンの単位：単位 'mmol/L' はヘモグロビンには使えません（使える単位：g/dL, g/L）"
    )
