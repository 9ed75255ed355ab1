"""SUPPQUAL records: a value with no standard variable, tied to its parent record."""

from __future__ import annotations

from typing import Any

from mmtrial.cdisc.sdtm.subjects import StudyContext
from mmtrial.cdisc.spec import package_spec

__all__ = ["qualifier_labels", "supp_row"]


def qualifier_labels(ctx: StudyContext, rdomain: str) -> dict[str, str]:
    """QNAM -> QLABEL of a parent domain (per-drug qualifiers expanded from the protocol)."""
    labels = {}
    for q in package_spec("sdtm").supp(rdomain).qualifiers:
        if q.per_drug:
            for drug in ctx.drugs:
                labels[q.qnam.format(drug=drug[:3].upper())] = q.label.format(
                    name=ctx.protocol.drugs[drug].name
                )
        else:
            labels[q.qnam] = q.label
    return labels


def supp_row(
    ctx: StudyContext,
    rdomain: str,
    usubjid: str,
    idvar: str,
    idvarval: Any,
    qnam: str,
    qval: str,
    *,
    origin: str,
    evaluator: str | None = None,
) -> dict[str, Any]:
    labels = ctx.extras.get(("supp", rdomain))
    if labels is None:
        labels = ctx.extras[("supp", rdomain)] = qualifier_labels(ctx, rdomain)
    return {
        "STUDYID": ctx.studyid,
        "RDOMAIN": rdomain,
        "USUBJID": usubjid,
        "IDVAR": idvar,
        "IDVARVAL": str(idvarval),
        "QNAM": qnam,
        "QLABEL": labels[qnam],
        "QVAL": qval,
        "QORIG": origin,
        "QEVAL": evaluator,
    }
