"""CTCAE v5.0 lab grades: every grade boundary of every term, from the NCI CTCAE v5.0 text
(November 2017). Ranges: "<1500 - 1000/mm3" is grade 2 for 1000 <= value < 1500; ">1.5 - 3.0 x
ULN" is grade 2 for 1.5 x ULN < value <= 3.0 x ULN."""

from __future__ import annotations

import pytest

from mmtrial.clinical.ctcae import (
    LAB_TERMS,
    CtcaeInputError,
    grade_hyperglycemia,
    grade_lab,
)
from mmtrial.protocol import load_protocol

PROTOCOL = load_protocol()

# (term, unit, lln, uln, baseline, value, expected grade)
BOUNDARIES = [
    # Neutrophil count decreased, LLN 2000/mm3: <LLN-1500 G1, <1500-1000 G2, <1000-500 G3, <500 G4.
    *[
        ("neutrophil_count_decreased", "/mm3", 2000, None, None, v, g)
        for v, g in [
            (2000, 0),
            (1999, 1),
            (1500, 1),
            (1499, 2),
            (1000, 2),
            (999, 3),
            (500, 3),
            (499, 4),
            (0, 4),
        ]
    ],
    ("neutrophil_count_decreased", "10^9/L", 2.0, None, None, 1.5, 1),
    ("neutrophil_count_decreased", "10^9/L", 2.0, None, None, 1.49, 2),
    ("neutrophil_count_decreased", "10^9/L", 2.0, None, None, 0.5, 3),
    ("neutrophil_count_decreased", "10^9/L", 2.0, None, None, 0.49, 4),
    # Platelet count decreased, LLN 150,000: <75,000 G2, <50,000 G3, <25,000 G4.
    *[
        ("platelet_count_decreased", "/mm3", 150000, None, None, v, g)
        for v, g in [
            (150000, 0),
            (149999, 1),
            (75000, 1),
            (74999, 2),
            (50000, 2),
            (49999, 3),
            (25000, 3),
            (24999, 4),
        ]
    ],
    ("platelet_count_decreased", "10^9/L", 150, None, None, 24.9, 4),
    ("platelet_count_decreased", "10^9/L", 150, None, None, 75, 1),
    # White blood cell decreased, LLN 4000: <3000 G2, <2000 G3, <1000 G4.
    *[
        ("white_blood_cell_decreased", "/mm3", 4000, None, None, v, g)
        for v, g in [
            (4000, 0),
            (3999, 1),
            (3000, 1),
            (2999, 2),
            (2000, 2),
            (1999, 3),
            (1000, 3),
            (999, 4),
        ]
    ],
    # Anemia, LLN 12.0 g/dL: <10.0 G2, <8.0 G3 (grade 4 is clinical).
    *[
        ("anemia", "g/dL", 12.0, None, None, v, g)
        for v, g in [(12.0, 0), (11.9, 1), (10.0, 1), (9.9, 2), (8.0, 2), (7.9, 3), (4.0, 3)]
    ],
    ("anemia", "g/L", 120, None, None, 100, 1),
    ("anemia", "g/L", 120, None, None, 99, 2),
    ("anemia", "g/L", 120, None, None, 79, 3),
    # Creatinine increased, ULN 1.0 mg/dL: >ULN G1, >1.5 x ULN G2, >3.0 x ULN G3, >6.0 x ULN G4.
    *[
        ("creatinine_increased", "mg/dL", None, 1.0, None, v, g)
        for v, g in [
            (1.0, 0),
            (1.01, 1),
            (1.5, 1),
            (1.51, 2),
            (3.0, 2),
            (3.01, 3),
            (6.0, 3),
            (6.01, 4),
        ]
    ],
    # ... or >1.5 x baseline G2, >3.0 x baseline G3 (baseline 0.8: 1.2 and 2.4).
    ("creatinine_increased", "mg/dL", None, 1.0, 0.8, 0.9, 0),
    ("creatinine_increased", "mg/dL", None, 1.0, 0.8, 1.2, 1),
    ("creatinine_increased", "mg/dL", None, 1.0, 0.8, 1.21, 2),
    ("creatinine_increased", "mg/dL", None, 1.0, 0.8, 2.4, 2),
    ("creatinine_increased", "mg/dL", None, 1.0, 0.8, 2.41, 3),
    ("creatinine_increased", "umol/L", None, 90, None, 541, 4),
    # ALT increased, baseline normal, ULN 40: >ULN G1, >3 G2, >5 G3, >20 x ULN G4.
    *[
        ("alanine_aminotransferase_increased", "U/L", None, 40, None, v, g)
        for v, g in [(40, 0), (41, 1), (120, 1), (121, 2), (200, 2), (201, 3), (800, 3), (801, 4)]
    ],
    # ALT, baseline abnormal (60 > ULN 40): 1.5 x baseline G1, >3 G2, >5 G3, >20 x baseline G4.
    *[
        ("alanine_aminotransferase_increased", "U/L", None, 40, 60, v, g)
        for v, g in [(89, 0), (90, 1), (180, 1), (181, 2), (300, 2), (301, 3), (1200, 3), (1201, 4)]
    ],
    # ALT with a normal baseline given (30 <= ULN): graded against the ULN.
    ("alanine_aminotransferase_increased", "U/L", None, 40, 30, 41, 1),
    # AST increased, baseline normal, ULN 35.
    *[
        ("aspartate_aminotransferase_increased", "U/L", None, 35, None, v, g)
        for v, g in [(35, 0), (36, 1), (105, 1), (106, 2), (175, 2), (176, 3), (700, 3), (701, 4)]
    ],
    # AST, baseline abnormal (50 > ULN 35).
    *[
        ("aspartate_aminotransferase_increased", "IU/L", None, 35, 50, v, g)
        for v, g in [(74, 0), (75, 1), (150, 1), (151, 2), (250, 2), (251, 3), (1000, 3), (1001, 4)]
    ],
    # Blood bilirubin increased, baseline normal, ULN 1.2: >ULN G1, >1.5 G2, >3 G3, >10 x ULN G4.
    *[
        ("blood_bilirubin_increased", "mg/dL", None, 1.2, None, v, g)
        for v, g in [
            (1.2, 0),
            (1.21, 1),
            (1.8, 1),
            (1.81, 2),
            (3.6, 2),
            (3.61, 3),
            (12, 3),
            (12.01, 4),
        ]
    ],
    # Bilirubin, baseline abnormal (2.0 > ULN 1.2): >1.0 x baseline G1, >1.5 G2, >3 G3, >10 G4.
    *[
        ("blood_bilirubin_increased", "mg/dL", None, 1.2, 2.0, v, g)
        for v, g in [
            (2.0, 0),
            (2.01, 1),
            (3.0, 1),
            (3.01, 2),
            (6.0, 2),
            (6.01, 3),
            (20, 3),
            (20.01, 4),
        ]
    ],
]


@pytest.mark.parametrize(
    ("term", "unit", "lln", "uln", "baseline", "value", "expected"), BOUNDARIES
)
def test_each_grade_boundary(term, unit, lln, uln, baseline, value, expected):
    result = grade_lab(
        protocol=PROTOCOL, term=term, value=value, unit=unit, lln=lln, uln=uln, baseline=baseline
    )
    assert result.grade == expected, result.reason


def test_every_lab_term_has_boundary_tests():
    assert {row[0] for row in BOUNDARIES} == set(LAB_TERMS)


def test_the_reason_names_term_value_threshold_and_source():
    result = grade_lab(
        protocol=PROTOCOL, term="neutrophil_count_decreased", value=800, unit="/mm3", lln=1800
    )
    assert result.grade == 3
    assert result.threshold == 1000 and result.reference == "absolute"
    assert "Neutrophil count decreased grade 3" in result.reason
    assert "800 /mm3 is below 1000 /mm3" in result.reason
    assert "CTCAE v5.0" in result.source
    alt = grade_lab(
        protocol=PROTOCOL, term="alanine_aminotransferase_increased", value=130, unit="U/L", uln=40
    )
    assert alt.grade == 2 and "3 x ULN = 120 U/L" in alt.reason
    normal = grade_lab(
        protocol=PROTOCOL, term="platelet_count_decreased", value=200000, unit="/mm3", lln=150000
    )
    assert normal.grade == 0 and "not graded" in normal.reason


def test_count_in_10_9_per_litre_is_converted_at_the_boundary():
    result = grade_lab(
        protocol=PROTOCOL, term="platelet_count_decreased", value=29.9, unit="10^9/L", lln=150
    )
    assert result.grade == 3
    assert "29900 /mm3" in result.reason


def test_a_low_count_is_graded_without_the_lln_but_a_near_normal_one_needs_it():
    assert (
        grade_lab(
            protocol=PROTOCOL, term="neutrophil_count_decreased", value=800, unit="/mm3"
        ).grade
        == 3
    )
    with pytest.raises(CtcaeInputError, match="lln"):
        grade_lab(protocol=PROTOCOL, term="neutrophil_count_decreased", value=1600, unit="/mm3")


def test_increased_terms_need_the_uln():
    with pytest.raises(CtcaeInputError, match="uln"):
        grade_lab(protocol=PROTOCOL, term="creatinine_increased", value=2.0, unit="mg/dL")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"term": "sodium_decreased", "value": 1, "unit": "mmol/L"}, "term"),
        ({"term": "anemia", "value": 9, "unit": "mmol/L", "lln": 12}, "unit"),
        ({"term": "anemia", "value": -1, "unit": "g/dL", "lln": 12}, "value"),
        ({"term": "anemia", "value": "9", "unit": "g/dL", "lln": 12}, "value"),
        ({"term": "anemia", "value": 9, "unit": "g/dL", "lln": 0}, "lln"),
        ({"term": "creatinine_increased", "value": 1, "unit": "mg/dL", "uln": True}, "uln"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(CtcaeInputError) as caught:
        grade_lab(protocol=PROTOCOL, **kwargs)
    assert str(caught.value).startswith(f"{field}:")


def test_hyperglycemia_is_not_graded_from_a_glucose_value():
    with pytest.raises(CtcaeInputError, match="intervention"):
        grade_lab(protocol=PROTOCOL, term="hyperglycemia", value=250, unit="mg/dL", uln=110)


@pytest.mark.parametrize(
    ("intervention", "grade"),
    [
        ("none", 1),
        ("management_change", 2),
        ("insulin_or_hospitalization", 3),
        ("life_threatening", 4),
    ],
)
def test_hyperglycemia_is_graded_by_intervention(intervention, grade):
    result = grade_hyperglycemia(above_baseline=True, intervention=intervention)
    assert result.grade == grade
    assert "intervention" in result.reason
    assert grade_hyperglycemia(above_baseline=False, intervention=intervention).grade == 0


def test_hyperglycemia_unknown_intervention_is_rejected():
    with pytest.raises(CtcaeInputError, match="intervention"):
        grade_hyperglycemia(above_baseline=True, intervention="diet")


@pytest.mark.parametrize(
    ("term", "value", "unit"),
    [
        # 600 x 10^9/L is 600,000/mm3: a unit mistake (600/mm3 meant), above the hard limit.
        ("neutrophil_count_decreased", 600, "10^9/L"),
        ("platelet_count_decreased", 99999999, "/mm3"),
        ("anemia", 500, "g/dL"),
    ],
)
def test_a_count_outside_the_protocols_hard_limits_is_refused_not_graded(term, value, unit):
    with pytest.raises(CtcaeInputError, match=r"^value: .* is impossible"):
        grade_lab(protocol=PROTOCOL, term=term, value=value, unit=unit, lln=1)
