"""Dose-modification reasons on Japanese pages, written from the reason's values and the
protocol file's Japanese rule texts (issue 12 item 2), never from the engine's English.
Expected sentences written by hand from [NIN] table 2 (irdj.yaml dose_modification.rules) and
the dose ladders (lenalidomide 25 -> 20 mg, ixazomib 4 -> 3 mg)."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from mmtrial.clinical.dosing import decide_next_cycle
from mmtrial.web.decision_text import reason_text
from tests.clinical._dosing_helpers import PROTOCOL, facts, platelet_drop
from tests.clinical.test_dosing_modification import tox

pytestmark = pytest.mark.usefixtures("_japanese_catalogue")


@pytest.fixture
def _japanese_catalogue():
    with translation.override("ja"):
        yield


def _texts(decision):
    dumped = decision.model_dump(mode="json")
    return [reason_text(r, dumped, PROTOCOL) for r in dumped["reasons"]], [
        r["text"] for r in dumped["reasons"]
    ]


def _english_words(text: str) -> list[str]:
    # drug-free, unit-free English left over: two ASCII words of 3+ letters in a row
    return re.findall(r"[A-Za-z]{3,}[ ,;:]+[A-Za-z]{3,}", text)


def test_a_platelet_drop_reduces_lenalidomide_in_japanese():
    decision = decide_next_cycle(facts(toxicities=[platelet_drop(25000)]), protocol=PROTOCOL)
    ja, en = _texts(decision)
    [line] = [t for t in ja if "30,000" in t]
    assert line.startswith("血小板数 30,000/mm3未満")
    assert "25000 /mm3" in line and "1回目" in line
    assert "レナリドミド" in line and "25 mg → 20 mg" in line
    assert not _english_words(line), line
    [english] = [t for t in en if "30,000" in t]
    assert "one level down, 25 mg -> 20 mg" in english  # the record of the engine stays


def test_neuropathy_grade_2_with_pain_reduces_ixazomib_in_japanese():
    event = tox("peripheral_neuropathy", 2, with_pain=True, current_grade=1)
    decision = decide_next_cycle(facts(toxicities=[event]), protocol=PROTOCOL)
    ja, _en = _texts(decision)
    [line] = [t for t in ja if "末梢神経障害" in t]
    assert line.startswith("疼痛を伴うグレード2、またはグレード3の末梢神経障害")
    assert "グレード2" in line and "イキサゾミブ" in line and "4 mg → 3 mg" in line
    assert not _english_words(line), line


def test_a_reduction_at_the_lowest_level_says_the_drug_is_discontinued():
    lowest = {"ixazomib": 2.3, "lenalidomide": 25, "dexamethasone": 40}
    event = tox("peripheral_neuropathy", 3, current_grade=1)
    decision = decide_next_cycle(facts(doses=lowest, toxicities=[event]), protocol=PROTOCOL)
    ja, _en = _texts(decision)
    [line] = [t for t in ja if "末梢神経障害" in t]
    assert "最低用量レベル（2.3 mg）" in line and "投与中止" in line
    assert not _english_words(line), line


def test_the_english_page_keeps_the_engines_words():
    decision = decide_next_cycle(facts(toxicities=[platelet_drop(25000)]), protocol=PROTOCOL)
    dumped = decision.model_dump(mode="json")
    with translation.override("en"):
        assert [reason_text(r, dumped, PROTOCOL) for r in dumped["reasons"]] == [
            r["text"] for r in dumped["reasons"]
        ]
