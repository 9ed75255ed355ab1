"""AE tables (worst grade per subject) and exposure summaries on small hand-made frames."""

from __future__ import annotations

import pandas as pd
import pytest

from mmtrial.analysis.exposure import cycles_received, dose_intensity, exposure_summary
from mmtrial.analysis.safety import ae_by_grade_and_term, ae_overview
from mmtrial.errors import InputError

ADAE = pd.DataFrame(
    [
        # A: nausea twice (grades 1 and 3: counted once, at grade 3), rash grade 2
        ("A", "Nausea", 1, "N", "DOSE NOT CHANGED", "Y"),
        ("A", "Nausea", 3, "Y", "DRUG WITHDRAWN", "Y"),
        ("A", "Rash", 2, "N", "DOSE NOT CHANGED", "Y"),
        ("B", "Nausea", 2, "N", "DOSE NOT CHANGED", "Y"),
        ("B", "Pneumonia", 5, "Y", "DRUG WITHDRAWN", "Y"),
        # not treatment-emergent: ignored
        ("C", "Rash", 4, "Y", "DOSE NOT CHANGED", "N"),
    ],
    columns=["USUBJID", "AEDECOD", "AETOXGR", "AESER", "AEACN", "TRTEMFL"],
)


def test_subject_counted_once_per_term_at_worst_grade():
    table = ae_by_grade_and_term(ADAE, n_safety=4).set_index("AEDECOD")
    assert table.loc["Nausea", ["any_n", "grade_1", "grade_2", "grade_3"]].tolist() == [2, 0, 1, 1]
    assert table.loc["Nausea", "any_percent"] == 50.0
    assert table.loc["Nausea", "grade_3_plus_n"] == 1
    assert table.loc["Rash", "any_n"] == 1  # C's rash is not treatment-emergent
    assert table.index[0] == "Nausea"  # most frequent first


def test_overview_counts_subjects():
    overview = ae_overview(ADAE, n_safety=4).set_index("category")["n"].to_dict()
    assert overview == {
        "any": 2,
        "grade_3_or_higher": 2,
        "grade_5": 1,
        "serious": 2,
        "led_to_discontinuation": 2,
    }


def test_missing_grade_column_is_named():
    with pytest.raises(InputError, match="AETOXGR"):
        ae_overview(ADAE.drop(columns="AETOXGR"), n_safety=4)


ADEX = pd.DataFrame(
    [
        ("A", "IXAZOMIB", 1, 4.0, 4.0, "N", "N"),
        ("A", "IXAZOMIB", 2, 3.0, 4.0, "Y", "N"),
        ("A", "IXAZOMIB", 3, 0.0, 4.0, "N", "Y"),
        ("B", "IXAZOMIB", 1, 4.0, 4.0, "N", "N"),
    ],
    columns=["USUBJID", "EXTRT", "CYCLE", "EXDOSE", "EXPLDOS", "DOSREDFL", "HELDFL"],
)


def test_exposure_cycles_intensity_reductions_and_holds():
    assert cycles_received(ADEX).to_dict() == {"A": 2, "B": 1}
    rdi = dose_intensity(ADEX).set_index("USUBJID")["relative_dose_intensity_pct"]
    assert rdi["A"] == pytest.approx(7 / 12 * 100)
    assert rdi["B"] == 100.0
    row = exposure_summary(ADEX).iloc[0]
    assert (row.EXTRT, row.subjects, row.subjects_with_reduction, row.subjects_with_hold) == (
        "IXAZOMIB",
        2,
        1,
        1,
    )
    assert (row.cycles_min, row.cycles_max) == (1, 2)
