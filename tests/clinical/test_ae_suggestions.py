"""Lab-based AE suggestions and grade choices, against the CTCAE v5.0 text.

Grade choices (ctcae_v5_terms.json, read by eye against CTCAE v5.0): Platelet count decreased
1-4 ("<25,000/mm3" is grade 4, no grade 5); Anemia 1-5 (5 "Death"); Nausea 1-3 (grade 3
"Inadequate oral caloric or fluid intake; tube feeding, TPN, or hospitalization indicated").
Limits of normal from irdj.yaml safety.lab_reference_limits: platelets LLN 158,000/mm3, ANC LLN
1800/mm3, hemoglobin LLN 11.6 g/dL, creatinine ULN 1.07 mg/dL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mmtrial.clinical.ae_suggestions import LabValue, ae_suggestions
from mmtrial.clinical.toxicity_terms import grade_choices
from mmtrial.protocol import load_protocol

PROTOCOL = load_protocol()
DAY = dt.date(2026, 12, 1)


def test_platelet_count_decreased_has_grades_1_to_4_and_no_5():
    choices = grade_choices("platelet_count_decreased")
    assert [g for g, _ in choices] == [1, 2, 3, 4]
    assert choices[3][1] == "<25,000/mm3; <25.0 x 10e9 /L"


def test_anemia_has_grade_5_death_and_nausea_stops_at_3():
    assert [g for g, _ in grade_choices("anemia")] == [1, 2, 3, 4, 5]
    assert dict(grade_choices("anemia"))[5] == "Death"
    nausea = dict(grade_choices("nausea"))
    assert sorted(nausea) == [1, 2, 3]
    assert nausea[3].startswith("Inadequate oral caloric or fluid intake")


def test_unknown_term_has_no_grade_choices():
    assert grade_choices("not_a_term") == []


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "expected"),
    [
        # Platelet count decreased: <LLN-75,000 G1; <75,000-50,000 G2; <50,000-25,000 G3; <25,000 G4
        ("platelets", 158000, "/mm3", None),
        ("platelets", 157999, "/mm3", 1),
        ("platelets", 75000, "/mm3", 1),
        ("platelets", 74999, "/mm3", 2),
        ("platelets", 50000, "/mm3", 2),
        ("platelets", 49999, "/mm3", 3),
        ("platelets", 25000, "/mm3", 3),
        ("platelets", 24999, "/mm3", 4),
        # Neutrophil count decreased: <1500-1000 G2; <1000-500 G3; <500 G4
        ("anc", 1800, "/mm3", None),
        ("anc", 1500, "/mm3", 1),
        ("anc", 1499, "/mm3", 2),
        ("anc", 999, "/mm3", 3),
        ("anc", 499, "/mm3", 4),
        # Anemia: Hgb <LLN-10.0 G1; <10.0-8.0 G2; <8.0 G3
        ("hemoglobin", Decimal("11.6"), "g/dL", None),
        ("hemoglobin", Decimal("10.0"), "g/dL", 1),
        ("hemoglobin", Decimal("9.9"), "g/dL", 2),
        ("hemoglobin", Decimal("8.0"), "g/dL", 2),
        ("hemoglobin", Decimal("7.9"), "g/dL", 3),
        # Creatinine increased: >ULN-1.5 x ULN G1; >1.5-3.0 x ULN G2; >3.0-6.0 G3; >6.0 G4
        ("creatinine", Decimal("1.07"), "mg/dL", None),
        ("creatinine", Decimal("1.08"), "mg/dL", 1),
        ("creatinine", Decimal("1.605"), "mg/dL", 1),  # = 1.5 x 1.07
        ("creatinine", Decimal("1.61"), "mg/dL", 2),
        ("creatinine", Decimal("3.22"), "mg/dL", 3),  # > 3.0 x 1.07 = 3.21
        ("creatinine", Decimal("6.43"), "mg/dL", 4),  # > 6.0 x 1.07 = 6.42
    ],
)
def test_suggested_grade_at_each_ctcae_boundary(analyte, value, unit, expected):
    found = ae_suggestions(values=[LabValue(analyte, value, unit, DAY)], protocol=PROTOCOL)
    if expected is None:
        assert found == []
    else:
        assert [s.grade for s in found] == [expected]


def test_worst_grade_per_term_with_its_first_date_and_meddra_code():
    values = [
        LabValue("platelets", 60000, "/mm3", dt.date(2026, 12, 1)),  # G2
        LabValue("platelets", 20000, "/mm3", dt.date(2026, 12, 8)),  # G4
        LabValue("platelets", 22000, "/mm3", dt.date(2026, 12, 15)),  # G4 again, later
        LabValue("anc", 1200, "/mm3", dt.date(2026, 12, 8)),  # G2
        LabValue("serum_m_protein", 2, "g/dL", dt.date(2026, 12, 8)),  # not a CTCAE lab term
    ]
    found = ae_suggestions(values=values, protocol=PROTOCOL)
    assert [(s.term, s.grade, s.first_seen) for s in found] == [
        ("Platelet count decreased", 4, dt.date(2026, 12, 8)),
        ("Neutrophil count decreased", 2, dt.date(2026, 12, 8)),
    ]
    assert found[0].meddra_code == "10035528"
    assert "20000 /mm3" in found[0].reason


def test_value_in_a_unit_without_limits_still_grades_on_absolute_thresholds():
    # 20 x10^9/L = 20,000/mm3: grade 4 needs no LLN.
    found = ae_suggestions(values=[LabValue("platelets", 20, "x10^9/L", DAY)], protocol=PROTOCOL)
    assert [s.grade for s in found] == [4]
