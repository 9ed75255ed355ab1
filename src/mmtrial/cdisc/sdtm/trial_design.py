"""Trial design datasets TS, TA, TE, TV, TI, generated from the protocol file.

Nothing here is typed twice: every value is read from `protocols/*.yaml` (through the pydantic
`Protocol`), or from the package's data where the parameter is a fact of the data (ACTSUB, the
data cut, the study start, the countries of the sites).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mmtrial.cdisc.sdtm.ie_mh import criterion_codes
from mmtrial.cdisc.sdtm.subjects import StudyContext
from mmtrial.cdisc.sdtm.timing import EPOCH_FOLLOW_UP, EPOCH_SCREENING, EPOCH_TREATMENT
from mmtrial.cdisc.sdtm.visits import planned_visits

__all__ = ["build_ta", "build_te", "build_ti", "build_ts", "build_tv"]

CDISC_CT = "CDISC CT"
ISO_3166 = "ISO 3166"
ISO_8601 = "ISO 8601"
SDTMIG_VERSION = "3.4"
AGE_VARIABLE = "age_years"
_PHASES = {
    "1": "PHASE I TRIAL",
    "2": "PHASE II TRIAL",
    "3": "PHASE III TRIAL",
    "4": "PHASE IV TRIAL",
}
ELEMENT_SCREENING, ELEMENT_CYCLE, ELEMENT_FOLLOW_UP = "SCRN", "CYCLE", "FU"


def _age_limits(ctx: StudyContext) -> tuple[str | None, str | None]:
    """AGEMIN / AGEMAX as ISO 8601 durations from the eligibility checks on age_years."""
    low = high = None
    for criterion in ctx.protocol.eligibility:
        checks = [criterion.check] if criterion.check else (criterion.all_of or [])
        for check in checks:
            if check.variable != AGE_VARIABLE:
                continue
            years = int(check.threshold)
            if check.operator in (">=", ">"):
                low = f"P{years + (check.operator == '>')}Y"
            elif check.operator in ("<=", "<"):
                high = f"P{years - (check.operator == '<')}Y"
    return low, high


def build_ts(
    ctx: StudyContext, *, countries: list[str], study_start: dt.date | None
) -> list[dict[str, Any]]:
    """TS rows (MT.TS): identification, design, regimen, eligibility, endpoints, data cut."""
    ct, ident = ctx.ct, ctx.protocol.identification
    sdtm_date = ct.package_date("sdtm")
    design = ident.design.lower()
    rows: list[dict[str, Any]] = []

    def add(
        parmcd, value=None, *, code=None, ref=None, version=None, null_flavor=None, codelist=None
    ):
        if codelist is not None and value is not None:
            term = ct.codelist(codelist).term(value)
            code, ref, version = term.ncit, CDISC_CT, sdtm_date
        seq = 1 + sum(1 for r in rows if r["TSPARMCD"] == parmcd)
        term = ct.codelist("TSPARMCD").term(parmcd)
        rows.append({
            "STUDYID": ctx.studyid, "DOMAIN": "TS", "TSSEQ": seq, "TSPARMCD": term.value,
            "TSPARM": ct.value("TSPARM", term.decode), **_tsval(value), "TSVALNF": null_flavor,
            "TSVALCD": code, "TSVCDREF": ref, "TSVCDVER": version,
        })  # fmt: skip

    add("TITLE", " ".join(ident.title.split()))
    add("SPONSOR", ident.sponsor)
    add("TPHASE", _PHASES.get(ident.phase), codelist="TPHASE")
    add("STYPE", "INTERVENTIONAL", codelist="STYPE")
    add("INTTYPE", "DRUG", codelist="INTTYPE")
    protocol = ctx.protocol
    if protocol.randomized:
        add("INTMODEL", "PARALLEL", codelist="INTMODEL")
        add("NARMS", str(len(ctx.arms)))
        placebo = any(not product.active for product in protocol.products.values())
        add("TCNTRL", "PLACEBO" if placebo else "NONE", codelist="TCNTRL")
        add("RANDOM", "Y", codelist="NY")
    elif "single-arm" in design:
        add("INTMODEL", "SINGLE GROUP", codelist="INTMODEL")
        add("NARMS", "1")
        add("TCNTRL", "NONE", codelist="TCNTRL")
        add("RANDOM", "N", codelist="NY")
    if protocol.double_blind:
        add("TBLIND", "DOUBLE BLIND", codelist="TBLIND")
    elif "open-label" in design:
        add("TBLIND", "OPEN LABEL", codelist="TBLIND")
    add("TINDTP", "TREATMENT", codelist="TINDTP")
    add("TTYPE", "EFFICACY", codelist="TTYPE")
    if any(e.id == "safety" or e.name.lower() == "safety" for e in ctx.protocol.endpoints):
        add("TTYPE", "SAFETY", codelist="TTYPE")
    add("HLTSUBJI", "N", codelist="NY")
    add("ADDON", "N", codelist="NY")
    add("ADAPT", "N", codelist="NY")
    add("SEXPOP", "BOTH", codelist="SEXPOP")
    low, high = _age_limits(ctx)
    add("AGEMIN", low, ref=ISO_8601 if low else None, null_flavor=None if low else "UNK")
    add("AGEMAX", high, ref=ISO_8601 if high else None, null_flavor=None if high else "PINF")
    blinded = set(protocol.blinding.blinded_drugs) if protocol.blinding else set()
    for drug in protocol.regimen:
        if drug not in blinded:
            add("TRT", ctx.drug_name(drug))
            continue
        # the investigational products a blinded drug can hold (a placebo is not one)
        products = {p for arm in protocol.arms for d, p in arm.fills.items() if d == drug}
        for product in sorted(products):
            if protocol.products[product].active:
                add("TRT", protocol.products[product].name.upper())
    for route in dict.fromkeys(entry.route.upper() for entry in ctx.protocol.regimen.values()):
        add("ROUTE", route, codelist="ROUTE")
    for entry in ctx.protocol.regimen.values():
        add("DOSE", format(entry.dose.normalize(), "f"))
    add("DOSU", "mg", codelist="UNIT")
    for endpoint in ctx.protocol.endpoints:
        parm = "OUTMSPRI" if endpoint.kind == "primary" else "OUTMSSEC"
        add(parm, endpoint.name)
        if endpoint.kind == "primary":
            add("OBJPRIM", f"To estimate the {endpoint.name.lower()}: {endpoint.definition}"[:200])
    for country in countries:
        add("FCNTRY", country, ref=ISO_3166)
    add("SSTDTC", study_start.isoformat() if study_start else None, ref=ISO_8601,
        null_flavor=None if study_start else "UNK")  # fmt: skip
    add("ACTSUB", str(ctx.subjects))
    add("DCUTDTC", ctx.cut.isoformat(), ref=ISO_8601)
    add("DCUTDESC", str(ctx.extras.get("cut_description", "DATA CUT-OFF")))
    add("SDTIGVER", SDTMIG_VERSION)
    return rows


TSVAL_BYTES = 200  # SAS V5 character length


def _tsval(value: str | None) -> dict[str, str | None]:
    """TSVAL, and TSVAL1 for the rest of a value longer than 200 characters, split between
    words (SDTMIG 3.4 TS assumption 8: TSVAL1-TSVALn hold the continuation)."""
    if value is None or len(value.encode()) <= TSVAL_BYTES:
        return {"TSVAL": value, "TSVAL1": None}
    cut = value.rfind(" ", 0, TSVAL_BYTES)
    cut = cut if cut > 0 else TSVAL_BYTES
    return {"TSVAL": value[:cut], "TSVAL1": value[cut:].strip()[:TSVAL_BYTES]}


def _cycle_element(ctx: StudyContext, armcd: str) -> str:
    """The cycle element of an arm: ETCD CYCLE for a single arm, C<ARMCD> for each arm of a
    randomized study (its blinded drug holds that arm's product)."""
    return ELEMENT_CYCLE if not ctx.protocol.arms else f"C{armcd}"[:8]


def _regimen_text(ctx: StudyContext, fills: dict[str, str]) -> str:
    """The regimen in words, a blinded drug named by the product it holds in the arm."""
    protocol = ctx.protocol

    def name(drug: str) -> str:
        product = fills.get(drug)
        return protocol.products[product].name if product else protocol.drugs[drug].name

    return "; ".join(
        f"{name(d)} {format(e.dose.normalize(), 'f')} {e.unit} days {e.days[0]}-{e.days[-1]}"
        if len(e.days) > 4 else
        f"{name(d)} {format(e.dose.normalize(), 'f')} {e.unit} days "
        + ", ".join(str(x) for x in e.days)
        for d, e in protocol.regimen.items()
    )  # fmt: skip


def _arm_fills(ctx: StudyContext) -> dict[str, dict[str, str]]:
    if not ctx.protocol.arms:
        return {ctx.armcd: {}}
    return {a.id: dict(a.fills) for a in ctx.protocol.arms}


def _elements(ctx: StudyContext) -> list[dict[str, Any]]:
    length = ctx.protocol.cycle_length_days
    names = dict(ctx.arms)
    cycles = [
        {"ETCD": _cycle_element(ctx, armcd),
         "ELEMENT": f"{names[armcd]} cycle ({length} days): {_regimen_text(ctx, fills)}"[:200],
         "TESTRL": "Day 1 of the cycle (first dose of the cycle)",
         "TEENRL": f"{length} days after the start of the cycle", "TEDUR": f"P{length}D",
         "EPOCH": EPOCH_TREATMENT}
        for armcd, fills in _arm_fills(ctx).items()
    ]  # fmt: skip
    return [
        {"ETCD": ELEMENT_SCREENING, "ELEMENT": "Screening", "TESTRL": "Informed consent",
         "TEENRL": "First dose of study treatment (C1D1)", "TEDUR": None, "EPOCH": EPOCH_SCREENING},
        *cycles,
        {"ETCD": ELEMENT_FOLLOW_UP, "ELEMENT": "Follow-up", "TESTRL": "End of study treatment",
         "TEENRL": f"Death or end of study ({ctx.protocol.study_closure.months_after_last_enrollment} "
                   "months after the last enrollment)", "TEDUR": None, "EPOCH": EPOCH_FOLLOW_UP},
    ]  # fmt: skip


def build_te(ctx: StudyContext) -> list[dict[str, Any]]:
    return [
        {"STUDYID": ctx.studyid, "DOMAIN": "TE", **{k: v for k, v in e.items() if k != "EPOCH"}}
        for e in _elements(ctx)
    ]


def build_ta(ctx: StudyContext) -> list[dict[str, Any]]:
    """One path of elements per arm; a randomized study branches at randomization (TABRANCH on
    the screening element)."""
    elements = {e["ETCD"]: e for e in _elements(ctx)}
    randomized = ctx.protocol.randomized
    rows = []
    for armcd, arm in ctx.arms:
        cycle = _cycle_element(ctx, armcd)
        for order, etcd in enumerate((ELEMENT_SCREENING, cycle, ELEMENT_FOLLOW_UP), start=1):
            element = elements[etcd]
            branch = f"Randomized to {arm}" if randomized and etcd == ELEMENT_SCREENING else None
            rows.append({
                "STUDYID": ctx.studyid, "DOMAIN": "TA", "ARMCD": armcd, "ARM": arm,
                "TAETORD": order, "ETCD": etcd, "ELEMENT": element["ELEMENT"],
                "TABRANCH": branch,
                "TATRANS": "Repeat the cycle until progressive disease or unacceptable toxicity"
                if etcd == cycle else None,
                "EPOCH": ctx.ct.value("EPOCH", element["EPOCH"]),
            })  # fmt: skip
    return rows


def build_tv(ctx: StudyContext) -> list[dict[str, Any]]:
    visits = planned_visits(ctx.protocol, cycles=ctx.max_cycle, follow_ups=ctx.max_follow_up)
    # SDTMIG 3.4 section 7.3.1: ARMCD is null when the visits do not depend on the arm
    armcd = None if ctx.protocol.arms else ctx.armcd
    return [
        {"STUDYID": ctx.studyid, "DOMAIN": "TV", "VISITNUM": v.number, "VISIT": v.name,
         "VISITDY": v.study_day, "ARMCD": armcd, "TVSTRL": v.start_rule, "TVENRL": v.end_rule}
        for v in visits
    ]  # fmt: skip


def build_ti(ctx: StudyContext) -> list[dict[str, Any]]:
    codes = criterion_codes(ctx.protocol)
    return [
        {"STUDYID": ctx.studyid, "DOMAIN": "TI", "IETESTCD": codes[c.id], "IETEST": " ".join(c.text.split()),
         "IECAT": ctx.ct.value("IECAT", c.kind.upper()), "TIVERS": ctx.protocol.identification.version}
        for c in ctx.protocol.eligibility
    ]  # fmt: skip
