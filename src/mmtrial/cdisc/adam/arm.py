"""Analysis Results Metadata (ARM 1.0) of the ADaM define.xml: the primary endpoint (rate of
VGPR or better with its exact CI), ORR and PFS, each with the datasets, selection, variables,
method and the code that computes it. The endpoints' wording comes from the protocol file."""

from __future__ import annotations

from typing import Any

import odmlib.arm_1_0.model as DEF

from mmtrial.analysis.codelists import (
    DAYS_PER_MONTH,
    ORR_CATEGORIES,
    PARAMCD_BEST_RESPONSE,
    RATE_METHOD,
    RESPONSE_CATEGORIES,
    TTE_METHOD,
    VGPR_OR_BETTER_CATEGORIES,
)

__all__ = ["ANALYSIS_RESULTS", "analysis_results"]

#: endpoint id of the protocol file -> (kind, the ADaM selection)
ANALYSIS_RESULTS = {
    "vgpr_or_better": ("rate", VGPR_OR_BETTER_CATEGORIES),
    "orr": ("rate", ORR_CATEGORIES),
    "pfs": ("tte", "PFS"),
}
PROGRAM = "mmtrial analyze --adam DIR --json"
_PURPOSE = {"primary": "PRIMARY OUTCOME MEASURE", "secondary": "SECONDARY OUTCOME MEASURE"}


def _description(text: str) -> DEF.Description:
    return DEF.Description(TranslatedText=[DEF.TranslatedText(_content=text, lang="en")])


def _dataset(name: str, where: str | None, variables: list[str]) -> DEF.AnalysisDataset:
    dataset = DEF.AnalysisDataset(ItemGroupOID=f"IG.{name}")
    if where:
        dataset.WhereClauseRef = DEF.WhereClauseRef(WhereClauseOID=where)
    dataset.AnalysisVariable = [DEF.AnalysisVariable(ItemOID=f"IT.{name}.{v}") for v in variables]
    return dataset


def _result(builder: Any, endpoint, kind: str, selection) -> DEF.AnalysisResult:
    population = next(
        (p for p in builder.ctx.protocol.populations if p.id == endpoint.population), None
    )
    if kind == "rate":
        categories = [c for c in RESPONSE_CATEGORIES if c in selection]
        where_rs = builder.where_clause("ADRS", ("PARAMCD",), (PARAMCD_BEST_RESPONSE,))
        where_sl = builder.where_clause("ADSL", ("EFFFL",), ("Y",))
        datasets = [
            _dataset("ADSL", where_sl, ["EFFFL"]),
            _dataset("ADRS", where_rs, ["AVALC"]),
        ]
        parameter = "IT.ADRS.PARAMCD"
        how = (
            f"Responders: AVALC in {', '.join(categories)} (PARAMCD = {PARAMCD_BEST_RESPONSE}); "
            f"denominator: ADSL EFFFL = Y; a response-evaluable subject without a CBOR record "
            f"counts as NE. Rate with the exact two-sided 95% CI ({RATE_METHOD})."
        )
        code = f"{PROGRAM}  # key {endpoint.id}: mmtrial.analysis.efficacy.response_rates"
    else:
        where_tte = builder.where_clause("ADTTE", ("PARAMCD",), (selection,))
        datasets = [_dataset("ADTTE", where_tte, ["AVAL", "CNSR"])]
        parameter = "IT.ADTTE.PARAMCD"
        how = (
            f"PARAMCD = {selection}; AVAL in days (months = days / {DAYS_PER_MONTH}), CNSR 0 = event. "
            f"{TTE_METHOD}; median and its 95% CI."
        )
        code = f"{PROGRAM}  # time_to_event.{selection}: mmtrial.analysis.time_to_event.km_by_parameter"
    result = DEF.AnalysisResult(
        OID=f"AR.{endpoint.id.upper()}",
        ParameterOID=parameter,
        AnalysisReason="SPECIFIED IN PROTOCOL",
        AnalysisPurpose=_PURPOSE[endpoint.kind],
    )
    result.Description = _description(f"{endpoint.name}: {endpoint.definition}")
    result.AnalysisDatasets = DEF.AnalysisDatasets(AnalysisDataset=datasets)
    population_text = (
        f" Population: {population.name} ({population.definition})." if population else ""
    )
    result.Documentation = DEF.Documentation(
        Description=_description(
            f"{how}{population_text} Method: {endpoint.method}. Source: {endpoint.source}."
        )
    )
    result.ProgrammingCode = DEF.ProgrammingCode(
        Context="Python 3.12 (mmtrial)", Code=DEF.Code(_content=code)
    )
    return result


def analysis_results(builder: Any) -> DEF.AnalysisResultDisplays | None:
    """The ARM displays of the endpoints in ANALYSIS_RESULTS that the protocol file defines."""
    endpoints = {e.id: e for e in builder.ctx.protocol.endpoints}
    displays = []
    for endpoint_id, (kind, selection) in ANALYSIS_RESULTS.items():
        endpoint = endpoints.get(endpoint_id)
        if endpoint is None or (kind == "rate" and "ADRS" not in builder.facts):
            continue
        if kind == "tte" and "ADTTE" not in builder.facts:
            continue
        display = DEF.ResultDisplay(OID=f"RD.{endpoint_id.upper()}", Name=endpoint.name)
        display.Description = _description(f"{endpoint.name} ({endpoint.kind} endpoint)")
        display.AnalysisResult = [_result(builder, endpoint, kind, selection)]
        displays.append(display)
    return DEF.AnalysisResultDisplays(ResultDisplay=displays) if displays else None
