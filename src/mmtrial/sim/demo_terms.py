"""What the demo's Japanese investigators write as an adverse event's verbatim term.

The demo records each event with its CTCAE v5.0 term (the coded term the dose rules, the SAE
report and SDTM AEDECOD use) and, as the verbatim, the words a Japanese site writes on the
form (issue 12 item 6: the demo's staff write their free text in Japanese). The SDTM export
puts the coded English term in AETERM for a Japanese verbatim (mmtrial.cdisc.text).
"""

from __future__ import annotations

__all__ = ["verbatim_ja"]

VERBATIM_JA = {
    "Fatigue": "倦怠感",
    "Diarrhea": "下痢",
    "Constipation": "便秘",
    "Nausea": "悪心",
    "Insomnia": "不眠",
    "Edema limbs": "下肢浮腫",
    "Upper respiratory infection": "上気道感染",
    "Back pain": "腰痛",
    "Peripheral sensory neuropathy": "末梢性感覚ニューロパチー（手足のしびれ）",
    "Platelet count decreased": "血小板数減少",
    "Neutrophil count decreased": "好中球数減少",
    "White blood cell decreased": "白血球数減少",
    "Lymphocyte count decreased": "リンパ球数減少",
    "Anemia": "貧血",
    "Hyperglycemia": "高血糖",
    "Pneumonia": "肺炎",
    "Lung infection": "肺炎",
    "Febrile neutropenia": "発熱性好中球減少症",
    "Creatinine increased": "クレアチニン増加",
    "Blood bilirubin increased": "血中ビリルビン増加",
    "Alanine aminotransferase increased": "ALT増加",
    "Aspartate aminotransferase increased": "AST増加",
}


def verbatim_ja(ctcae_term: str, *, admitted: bool = False) -> str:
    """The verbatim a Japanese site writes for the event coded `ctcae_term` (the CTCAE term
    itself when the demo has no Japanese words for it); `admitted`: the event led to a hospital
    admission, which the site writes beside it."""
    words = VERBATIM_JA.get(ctcae_term, ctcae_term)
    return f"{words}のため入院" if admitted else words
