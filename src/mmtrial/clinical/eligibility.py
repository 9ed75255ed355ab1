"""Eligibility: each criterion of the protocol file evaluated to met, not_met or missing.

Rule (protocol.md section 2; criteria, thresholds and sources in the protocol file's
`eligibility` list):
- A criterion with a `check` compares one value with its threshold: `variable operator
  threshold`. A threshold in `x ULN` is multiplied by the upper limit of normal given in the
  variable the check names (`times_uln_variable`), e.g. total bilirubin <= 1.5 x ULN.
- `any_of`: met when one check is met; not_met when every check is not_met; otherwise missing.
  `all_of`: not_met when one check is not_met; met when every check is met; otherwise missing.
- A value absent or null is `missing` (for `x ULN` checks also when the ULN is missing).
- A sub-question (`applies_when`) is asked only when its condition holds: with the condition's
  value given and not holding, the check is `met` whatever its own value (neuropathy grade 0:
  "grade 1 with pain" does not apply).
- A value must be possible: the protocol file's `value_ranges` give each variable's hard limits
  and whether it is an integer scale (ECOG, prior lines, grades); a value outside them (an age
  of 200, ECOG 2.5 or 6) is refused with EligibilityInputError naming the field, never
  evaluated.
- Exclusion criteria are written in the file as what must hold to be eligible (e.g.
  `lenalidomide_refractory == false`), so for every criterion `met` means "does not stand in
  the way of enrolment": an exclusion criterion is `met` when the exclusion does NOT apply.
- Free-text criteria (no check) are decided by the investigator's answer,
  `answers[criterion_id]`: for an inclusion criterion `true` means the participant fulfils it;
  for an exclusion criterion `true` means THE EXCLUSION APPLIES (the participant is excluded,
  status not_met) and `false` that it does not (met). No answer: missing.
- Overall: eligible only when every criterion is met; `not_eligible` when one is not_met;
  otherwise `incomplete`.

Source: protocol.md section 2 ([seed], [pub], [TM1], [IMWG], [ours]); each criterion's own source
is in the result.
"""

from __future__ import annotations

import math
import operator as op
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from mmtrial.clinical.value_ranges import check_value
from mmtrial.errors import InputError
from mmtrial.protocol import Protocol
from mmtrial.protocol.models import EligibilityCheck, EligibilityCriterion

__all__ = [
    "CheckResult",
    "CriterionResult",
    "EligibilityInputError",
    "EligibilityResult",
    "evaluate",
    "known_variables",
]

Status = Literal["met", "not_met", "missing"]
Scalar = bool | int | float | str

_COMPARE = {"<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge, "==": op.eq, "!=": op.ne}
_WORDS = {
    "<": "below",
    "<=": "at most",
    ">": "above",
    ">=": "at least",
    "==": "to be",
    "!=": "not to be",
}
ULN_UNIT = "x ULN"


class EligibilityInputError(InputError):
    """Eligibility input that cannot be evaluated (unknown variable, wrong type); names the field."""


class CheckResult(BaseModel):
    """One comparison: the value given, the threshold, and (for x ULN) the limit it makes."""

    variable: str
    operator: str
    threshold: Scalar
    unit: str | None
    value: Scalar | None
    uln_variable: str | None = None
    uln: int | float | None = None
    limit: int | float | None = None
    status: Status
    reason: str
    # A check asked only under a condition (`applies_when`) that does not hold: met as not
    # applicable, with the condition and the value that decided it.
    not_applicable: bool = False
    condition: dict[str, Any] | None = None


class CriterionResult(BaseModel):
    id: str
    kind: Literal["inclusion", "exclusion"]
    text: str
    status: Status
    decided_by: Literal["check", "any_of", "all_of", "answer"]
    value: Scalar | None
    threshold: Scalar | None
    unit: str | None
    checks: list[CheckResult]
    answer: bool | None
    reason: str
    source: str


class EligibilityResult(BaseModel):
    eligible: bool
    overall: Literal["eligible", "not_eligible", "incomplete"]
    not_met: list[str]
    missing: list[str]
    criteria: list[CriterionResult]
    protocol_version: str


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _plain(value: Any) -> Any:
    return _json_number(value) if isinstance(value, Decimal) else value


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _checks(criterion: EligibilityCriterion) -> list[EligibilityCheck]:
    if criterion.check is not None:
        return [criterion.check]
    return list(criterion.any_of or criterion.all_of or [])


def known_variables(protocol: Protocol) -> dict[str, str]:
    """Every variable the criteria read, with the kind of value it takes (bool, number, text)."""
    kinds: dict[str, str] = {}
    for criterion in protocol.eligibility:
        for check in _checks(criterion):
            threshold = check.threshold
            kind = "bool" if isinstance(threshold, bool) else "number"
            kinds[check.variable] = kind if not isinstance(threshold, str) else "text"
            if check.times_uln_variable:
                kinds[check.times_uln_variable] = "number"
    # values no criterion reads but the protocol collects at screening (stratification factors)
    for name, spec in protocol.screening_fields.items():
        kinds[name] = "bool" if spec.kind == "boolean" else "number"
    # a randomized study's stratification factors are read at screening too (frozen at enrollment)
    for stratum in protocol.randomization.strata if protocol.randomization else []:
        boolean = any(isinstance(level.when.threshold, bool) for level in stratum.levels)
        kinds.setdefault(stratum.variable, "bool" if boolean else "number")
    return kinds


def _validated_values(
    values: dict[str, Any], kinds: dict[str, str], protocol: Protocol
) -> dict[str, Any]:
    if not isinstance(values, dict):
        raise EligibilityInputError("values: expected an object of variable names and values")
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name not in kinds:
            raise EligibilityInputError(
                f"values.{name}: unknown variable (known: {', '.join(sorted(kinds))})"
            )
        if value is None:
            continue
        kind = kinds[name]
        if kind == "bool":
            if not isinstance(value, bool):
                raise EligibilityInputError(f"values.{name}: {value!r} must be true or false")
            clean[name] = value
        elif kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                raise EligibilityInputError(f"values.{name}: {value!r} must be a number")
            if isinstance(value, float) and not math.isfinite(value):
                raise EligibilityInputError(f"values.{name}: {value!r} must be a finite number")
            number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
            if number < 0:
                raise EligibilityInputError(f"values.{name}: {value} cannot be negative")
            if name in protocol.value_ranges.variables:
                try:
                    check_value(name, number, protocol=protocol, field=f"values.{name}")
                except InputError as exc:
                    raise EligibilityInputError(exc.message, exc.extra) from None
            clean[name] = number
        else:
            if not isinstance(value, str):
                raise EligibilityInputError(f"values.{name}: {value!r} must be text")
            clean[name] = value
    return clean


def _validated_answers(answers: dict[str, Any] | None, protocol: Protocol) -> dict[str, bool]:
    if answers is None:
        return {}
    if not isinstance(answers, dict):
        raise EligibilityInputError("answers: expected an object of criterion ids and true/false")
    by_id = {c.id: c for c in protocol.eligibility}
    free = sorted(c.id for c in protocol.eligibility if c.free_text)
    clean: dict[str, bool] = {}
    for key, answer in answers.items():
        criterion = by_id.get(key)
        if criterion is None:
            raise EligibilityInputError(
                f"answers.{key}: unknown criterion (answers are for: {', '.join(free)})"
            )
        if not criterion.free_text:
            raise EligibilityInputError(
                f"answers.{key}: this criterion is decided by its check, give its values instead"
            )
        if answer is None:
            continue
        if not isinstance(answer, bool):
            raise EligibilityInputError(f"answers.{key}: {answer!r} must be true or false")
        clean[key] = answer
    return clean


def _evaluate_check(check: EligibilityCheck, values: dict[str, Any]) -> CheckResult:
    threshold = check.threshold
    shown_threshold = threshold if not isinstance(threshold, Decimal) else _json_number(threshold)
    unit = f" {check.unit}" if check.unit and check.unit != ULN_UNIT else ""
    value = values.get(check.variable)
    result: dict[str, Any] = {
        "variable": check.variable,
        "operator": check.operator,
        "threshold": shown_threshold,
        "unit": check.unit,
        "value": _json_number(value) if isinstance(value, Decimal) else value,
        "uln_variable": check.times_uln_variable,
    }
    condition = check.applies_when
    given = values.get(condition.variable) if condition is not None else None
    if given is not None and not _COMPARE[condition.operator](given, condition.threshold):
        asked = f"{condition.variable} {condition.operator} {_shown(condition.threshold)}"
        return CheckResult(
            **result,
            status="met",
            not_applicable=True,
            condition={
                "variable": condition.variable,
                "operator": condition.operator,
                "threshold": _plain(condition.threshold),
                "value": _plain(given),
            },
            reason=f"{check.variable} does not apply ({condition.variable} = "
            f"{_shown(given)}; asked only when {asked})",
        )
    words = _WORDS[check.operator]
    if value is None:
        return CheckResult(**result, status="missing", reason=f"{check.variable} is not given")
    limit = threshold
    needs = f"{words} {_shown(threshold)}{unit}"
    if check.times_uln_variable:
        uln = values.get(check.times_uln_variable)
        if uln is None:
            return CheckResult(
                **result,
                status="missing",
                reason=f"{check.times_uln_variable} (the upper limit of normal) is not given",
            )
        if uln == 0:
            raise EligibilityInputError(f"values.{check.times_uln_variable}: must be above 0")
        limit = threshold * uln
        result["uln"] = _json_number(uln)
        result["limit"] = _json_number(limit)
        needs = (
            f"{words} {_shown(threshold)} x ULN ({_shown(threshold)} x {_shown(uln)} = "
            f"{_shown(limit)})"
        )
    ok = _COMPARE[check.operator](value, limit)
    status: Status = "met" if ok else "not_met"
    reason = f"{check.variable} = {_shown(value)}{unit}; needs {needs}: {status.replace('_', ' ')}"
    return CheckResult(**result, status=status, reason=reason)


def _combine(kind: str, statuses: list[Status]) -> Status:
    if kind == "any_of":
        if "met" in statuses:
            return "met"
        return "missing" if "missing" in statuses else "not_met"
    if "not_met" in statuses:
        return "not_met"
    return "missing" if "missing" in statuses else "met"


def _free_text(criterion: EligibilityCriterion, answer: bool | None) -> tuple[Status, str]:
    if answer is None:
        return "missing", "needs the investigator's answer (true/false)"
    if criterion.kind == "exclusion":
        if answer:
            return "not_met", "the investigator answered that this exclusion applies"
        return "met", "the investigator answered that this exclusion does not apply"
    if answer:
        return "met", "the investigator answered that the participant fulfils this criterion"
    return "not_met", "the investigator answered that the participant does not fulfil it"


def _evaluate_criterion(
    criterion: EligibilityCriterion, values: dict[str, Any], answers: dict[str, bool]
) -> CriterionResult:
    checks = [_evaluate_check(c, values) for c in _checks(criterion)]
    answer = answers.get(criterion.id)
    if criterion.free_text:
        decided_by = "answer"
        status, reason = _free_text(criterion, answer)
    else:
        decided_by = "check" if criterion.check else ("any_of" if criterion.any_of else "all_of")
        status = _combine(decided_by, [c.status for c in checks])
        joiner = " or " if decided_by == "any_of" else "; "
        reason = joiner.join(c.reason for c in checks)
        if decided_by == "any_of":
            reason = f"one of: {reason}"
        if criterion.kind == "exclusion" and status != "missing":
            applies = "does not apply" if status == "met" else "applies"
            reason = f"exclusion {applies}: {reason}"
    single = checks[0] if decided_by == "check" else None
    return CriterionResult(
        id=criterion.id,
        kind=criterion.kind,
        text=criterion.text,
        status=status,
        decided_by=decided_by,
        value=single.value if single else None,
        threshold=single.threshold if single else None,
        unit=single.unit if single else None,
        checks=checks,
        answer=answer,
        reason=f"{criterion.id} {status.replace('_', ' ')}: {reason}",
        source=criterion.source,
    )


def evaluate(
    *, values: dict[str, Any], answers: dict[str, Any] | None = None, protocol: Protocol
) -> EligibilityResult:
    """Evaluate every eligibility criterion of `protocol` (rules in the module docstring).

    `values` maps the variables the criteria name (`known_variables(protocol)`) to numbers,
    booleans or null; `answers` maps free-text criterion ids to true/false. Raises
    EligibilityInputError naming the field for an unknown variable or criterion or a value of
    the wrong type.
    """
    kinds = known_variables(protocol)
    clean_values = _validated_values(values, kinds, protocol)
    clean_answers = _validated_answers(answers, protocol)
    criteria = [_evaluate_criterion(c, clean_values, clean_answers) for c in protocol.eligibility]
    not_met = [c.id for c in criteria if c.status == "not_met"]
    missing = [c.id for c in criteria if c.status == "missing"]
    overall = "not_eligible" if not_met else ("incomplete" if missing else "eligible")
    return EligibilityResult(
        eligible=overall == "eligible",
        overall=overall,
        not_met=not_met,
        missing=missing,
        criteria=criteria,
        protocol_version=protocol.identification.version,
    )
