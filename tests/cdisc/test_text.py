"""Japanese text on its way to an XPT file: English kept, coded English used, the rest listed."""

from mmtrial.cdisc.findings import Findings
from mmtrial.cdisc.text import english_text


def _english(value, coded=None):
    findings = Findings()
    text = english_text(
        value, findings=findings, dataset="AE", variable="AETERM", usubjid="S-1",
        coded=coded, fix="adverse event form: enter the CTCAE term",
    )  # fmt: skip
    return text, [(f.rule, f.dataset, f.variable, f.usubjid, f.fix) for f in findings.items]


def test_english_text_is_kept_as_it_is():
    assert _english("Fatigue") == ("Fatigue", [])
    assert _english("  ") == (None, [])


def test_full_width_latin_letters_and_digits_fold_to_ascii_without_a_finding():
    assert _english("Ｇｒａｄｅ　２") == ("Grade 2", [])


def test_a_japanese_verbatim_is_replaced_by_its_coded_english_term_and_noted():
    text, found = _english("発熱", coded="Fever")
    assert text == "Fever"
    assert found == [
        ("MMT-TXT-002", "AE", "AETERM", "S-1", "adverse event form: enter the CTCAE term")
    ]


def test_a_japanese_verbatim_without_a_coded_term_is_left_out_and_listed_with_where_to_fix():
    text, found = _english("発熱")
    assert text is None
    assert found == [
        ("MMT-TXT-001", "AE", "AETERM", "S-1", "adverse event form: enter the CTCAE term")
    ]
