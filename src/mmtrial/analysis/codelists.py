"""Controlled terms and fixed conventions of the efficacy analysis (contracts/analyze.md)."""

from __future__ import annotations

from typing import Final

#: The eight categories of a (confirmed best) overall response, best first (IMWG 2016).
RESPONSE_CATEGORIES: Final[tuple[str, ...]] = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")

#: Responder definitions of the SAP (protocol section 11): the categories that count.
ORR_CATEGORIES: Final[frozenset[str]] = frozenset({"sCR", "CR", "VGPR", "PR"})
VGPR_OR_BETTER_CATEGORIES: Final[frozenset[str]] = frozenset({"sCR", "CR", "VGPR"})
CR_OR_BETTER_CATEGORIES: Final[frozenset[str]] = frozenset({"sCR", "CR"})

#: ADRS parameter holding the confirmed best overall response.
PARAMCD_BEST_RESPONSE: Final = "CBOR"
#: ADRS parameter holding the overall response at each assessment (optional, for plots).
PARAMCD_VISIT_RESPONSE: Final = "OVR"

#: ADTTE parameters, in the order the SAP lists them.
TTE_PARAMCDS: Final[tuple[str, ...]] = ("PFS", "OS", "TTP", "DOR", "TTR")

TTE_LABELS_EN: Final[dict[str, str]] = {
    "PFS": "Progression-free survival",
    "OS": "Overall survival",
    "TTP": "Time to progression",
    "DOR": "Duration of response",
    "TTR": "Time to response",
}

#: Days per month: 365.25 / 12, the convention of the ADaM TTE conversions.
DAYS_PER_MONTH: Final = 30.4375

FLAG_VALUES: Final[frozenset[str]] = frozenset({"Y", "N"})

RATE_METHOD: Final = "Clopper-Pearson"
TTE_METHOD: Final = "Kaplan-Meier; CI: Brookmeyer-Crowley with log(-log) transform"
