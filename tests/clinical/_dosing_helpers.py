"""Small builders for the dosing tests: a participant's facts at a cycle start, protocol variants."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mmtrial.clinical.dosing import CycleFacts, ToxicityEvent
from mmtrial.protocol import load_protocol, parse_protocol
from mmtrial.protocol.loader import PROTOCOLS_DIR

PROTOCOL = load_protocol()
IRDJ_TEXT = (PROTOCOLS_DIR / "irdj.yaml").read_text(encoding="utf-8")

FULL = {d: PROTOCOL.starting_dose(d) for d in PROTOCOL.drugs}
GOOD_LABS = {"anc_per_mm3": 2000, "platelets_per_mm3": 200000}


def D(text: str | int | float) -> Decimal:
    return Decimal(str(text))


def protocol_with(**replacements: str):
    """The bundled protocol with literal text replaced (each replacement must occur)."""
    text = IRDJ_TEXT
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return parse_protocol(text)


def facts(cycle: int = 2, doses: dict | None = None, **kw: Any) -> CycleFacts:
    data: dict[str, Any] = {
        "cycle": cycle,
        "crcl_ml_min": 90,
        **GOOD_LABS,
    }
    if cycle > 1:
        data["current_doses_mg"] = dict(FULL if doses is None else doses)
    data.update(kw)
    return CycleFacts.model_validate(data)


def platelet_drop(value: int = 25000, **kw: Any) -> ToxicityEvent:
    return ToxicityEvent(
        term="platelet count decreased",
        grade=4 if value < 25000 else 3,
        nonhematologic=False,
        lab={"variable": "platelets_per_mm3", "value": value},
        **kw,
    )


def anc_drop(value: int = 400, **kw: Any) -> ToxicityEvent:
    return ToxicityEvent(
        term="neutrophil count decreased",
        grade=4 if value < 500 else 3,  # CTCAE v5.0: grade 4 < 500/mm3, grade 3 < 1000 - 500
        nonhematologic=False,
        lab={"variable": "anc_per_mm3", "value": value},
        **kw,
    )


def tox(term: str, grade: int, **kw: Any) -> ToxicityEvent:
    return ToxicityEvent(term=term, grade=grade, **kw)


def rule_ids(decision) -> list[str]:
    return [r.rule for r in decision.reasons]
