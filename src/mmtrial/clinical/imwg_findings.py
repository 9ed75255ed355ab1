"""The IMWG engine's findings as codes with named parameters (units in the names, rule 6).

A finding is the tuple `(code, values...)` the engine records (imwg_engine.py); here each
value gets the name a reader of the API or an export sees, so nothing has to know the tuple's
positions. The words for the same findings are in imwg_reasons.py.
"""

from __future__ import annotations

from typing import Any

from mmtrial.clinical.imwg_engine import CATEGORY_NAMES

# The names of each finding's values, in the engine's order. `category` is the category whose
# threshold the sentence quotes; `measured_on` the date a carried value was measured (None:
# measured on the assessment's date); `absolute_threshold` names the criteria threshold that
# applied (imwg_criteria.yaml).
FINDING_PARAMETERS: dict[str, tuple[str, ...]] = {
    "pd_serum": ("value_g_dl", "nadir_g_dl", "absolute_threshold"),
    "pd_urine": ("value_mg_24h", "nadir_mg_24h"),
    "pd_dflc": ("value_mg_l", "nadir_mg_l", "involved_chain"),
    "pd_bone_marrow": ("value_pct", "nadir_pct", "measured_on"),
    "pd_plasmacytoma": ("value_cm2", "nadir_cm2", "measured_on"),
    "pd_new_lesion": (),
    "ife_negative": (),
    "cr_bone_marrow": ("value_pct", "measured_on"),
    "cr_plasmacytoma": ("value_cm2", "baseline_cm2", "measured_on"),
    "flc_ratio": ("kappa_mg_l", "lambda_mg_l", "ratio_normal"),
    "clonal": ("result", "measured_on"),
    "vgpr_no_marrow": (),
    "vgpr_marrow_not_cr": ("value_pct", "measured_on"),
    "ne_nothing_followed": (),
    "ne_missing": ("parameter",),
    "urine_any": ("value_mg_24h", "below_vgpr_limit"),
    "serum": ("value_g_dl", "baseline_g_dl", "category", "immunofixation_only"),
    "urine": ("value_mg_24h", "baseline_mg_24h", "category"),
    "dflc": ("value_mg_l", "baseline_mg_l", "category", "involved_chain"),
    "bone_marrow": ("value_pct", "baseline_pct", "category", "measured_on"),
    "plasmacytoma": ("value_cm2", "baseline_cm2", "category", "measured_on"),
}


def finding_parameters(finding: tuple | list) -> tuple[str, dict[str, Any]]:
    """`(code, {name: value})` of one finding; the quoted category rank as its code (`PR`)."""
    code, *values = finding
    names = FINDING_PARAMETERS[code]
    parameters = dict(zip(names, values, strict=True))
    if "category" in parameters:
        parameters["category"] = CATEGORY_NAMES[parameters["category"]]
    return code, parameters


def confirmation_parameters(
    confirmed: bool, confirmation: tuple | list | None
) -> tuple[str, dict[str, Any]] | None:
    """`("confirmation", {...})`: how it was decided and the next evaluable assessment."""
    if confirmation is None:
        return None
    kind, following = confirmation
    day, category = following if following is not None else (None, None)
    return "confirmation", {
        "kind": kind,
        "confirmed": confirmed,
        "next_assessment_date": day,
        "next_category": category,
    }
