"""Central laboratory results as an HL7 FHIR R4 Bundle of Observations.

The bundle is parsed and validated with `fhir.resources` 5.1.1, the newest release whose models
are FHIR R4 (4.0.1) that installs beside pydantic 2: 6.0-6.1 are R4 too but built on pydantic 1
(which django-ninja cannot use), 6.2+ default to R4B and 7+ to R5. Each Observation becomes one
row of the CSV import (`edc.lab_import_check.COLUMNS`), numbered by its entry in the bundle, and
goes through the same check and the same write (`edc.lab_import.lab_import_checked`): all
entries or none, idempotent, audited under the bundle's file name and SHA-256.

The mapping (docs/lab-import.md, "FHIR R4 bundles"):
- `Observation.code`: a LOINC coding named in `fhir_loinc.yaml` -> the analyte;
- `subject`: `subject.identifier.value`, or the identifier of the Patient it references in the
  bundle (or contained) -> the participant's subject id;
- `specimen`: the Specimen it references (in the bundle or contained): its `accessionIdentifier`
  -> the accession, its `collection.collectedDateTime` -> the collection date; a logical
  reference (`specimen.identifier`) gives the accession alone;
- `effectiveDateTime` -> the collection date when the specimen does not give one (the date as
  written, without converting its time zone);
- `valueQuantity` (value, UCUM `code`) -> value and unit; IFE: `valueCodeableConcept` (SNOMED CT,
  HL7 interpretation codes, or text) or `valueString`, positive or negative.
Every problem is reported per entry (`entry N, element: ...`), as the CSV check reports rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from fhir.resources import bundle as fhir_bundle
from fhir.resources.fhirabstractbase import FHIRValidationError

from mmtrial.edc.lab_import import ImportReport, lab_import_checked
from mmtrial.edc.lab_import_check import (
    COLUMNS,
    CheckedFile,
    LabImportError,
    RowProblem,
    check_rows,
)
from mmtrial.edc.lab_import_scratch import Scratch
from mmtrial.errors import InputError

__all__ = [
    "FHIR_VERSION",
    "EntryProblem",
    "LoincAnalyte",
    "bundle_rows",
    "lab_import_fhir",
    "lab_import_fhir_file",
    "loinc_table",
]

FHIR_VERSION = "4.0.1"
MAPPING_FILE = Path(__file__).with_name("fhir_loinc.yaml")
# the element of an Observation that holds each CSV column (problems name the element)
ELEMENT_OF_COLUMN = {
    "subject_id": "subject",
    "accession": "specimen",
    "collected_on": "effectiveDateTime",
    "analyte": "code",
    "value": "value[x]",
    "unit": "valueQuantity.code",
}
SUPPORTING = ("Patient", "Specimen")  # resources an Observation may refer to in the bundle
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")
_OBJECT = re.compile(r" (?:on|in data for|for) <[^>]*>")
_CLASS = re.compile(r"<class '(?:[\w.]*\.)?(\w+)'>")


class EntryProblem(RowProblem):
    """A problem of one bundle entry (`row` = the entry's number, 1 = the first entry; 0 = the
    bundle itself), `column` the FHIR element."""

    def __str__(self) -> str:
        where = "bundle" if self.row == 0 else f"entry {self.row}"
        return (
            f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


@dataclass(frozen=True)
class LoincAnalyte:
    loinc: str
    analyte: str
    long_common_name: str
    units: dict[str, str]  # UCUM code -> the CSV import's unit

    @property
    def qualitative(self) -> bool:
        return not self.units


@dataclass(frozen=True)
class _Mapping:
    loinc_system: str
    ucum_system: str
    analytes: dict[str, LoincAnalyte]
    qualitative: dict[str, dict[str, str]]
    statuses: tuple[str, ...]


@cache
def _mapping() -> _Mapping:
    data = yaml.safe_load(MAPPING_FILE.read_text(encoding="utf-8"))
    analytes = {
        str(code): LoincAnalyte(
            loinc=str(code),
            analyte=entry["analyte"],
            long_common_name=entry["lcn"],
            units=dict(entry.get("units") or {}),
        )
        for code, entry in data["analytes"].items()
    }
    return _Mapping(
        loinc_system=data["loinc_system"],
        ucum_system=data["ucum_system"],
        analytes=analytes,
        qualitative={system: dict(codes) for system, codes in data["qualitative"].items()},
        statuses=tuple(data["statuses"]),
    )


def loinc_table() -> dict[str, LoincAnalyte]:
    """The LOINC codes the import accepts (fhir_loinc.yaml), by code."""
    return dict(_mapping().analytes)


class _Literal(float):
    """A JSON number that remembers how it was written (`1.150` stays `1.150` as the reported
    value); a float to the FHIR models, which type-check decimals as floats."""

    text: str

    def __new__(cls, text: str) -> _Literal:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _number_text(value: Any) -> str:
    return value.text if isinstance(value, _Literal) else str(value)


def lab_import_fhir(*, user, data: bytes, file_name: str, **kwargs: Any) -> ImportReport:
    """Import a FHIR R4 Bundle of Observations given as bytes: the CSV import's check and
    write (`edc.lab_import.lab_import_checked`), all entries or none."""
    return lab_import_checked(
        user=user,
        file_name=file_name,
        check=lambda name, today, scratch: check_bundle(user, data, name, today, scratch),
        **kwargs,
    )


def lab_import_fhir_file(*, user, path: str | Path, **kwargs: Any) -> ImportReport:
    """`lab_import_fhir` of a JSON file on disk (named by its base name in the audit trail)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", {"field": "file"}) from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file", {"field": "file"}) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", {"field": "file"}) from None
    return lab_import_fhir(user=user, data=data, file_name=path.name, **kwargs)


def check_bundle(
    user, data: bytes, file_name: str, today: dt.date, scratch: Scratch
) -> CheckedFile:
    """Check every Observation of the bundle as the CSV check checks rows; nothing written."""
    rows = bundle_rows(data, file_name)
    try:
        found = check_rows(user, rows, file_name, today, scratch)
    except LabImportError as exc:
        raise LabImportError(
            file_name, [_as_entry_problem(p) for p in exc.problems], total=exc.total
        ) from None
    found.sha256 = hashlib.sha256(data).hexdigest()
    return found


def _as_entry_problem(problem: RowProblem) -> EntryProblem:
    column = ELEMENT_OF_COLUMN.get(problem.column, problem.column)
    return EntryProblem(problem.row, column, problem.message)


def bundle_rows(data: bytes, file_name: str) -> list[tuple[int, list[str]]]:
    """The rows (`(entry number, values in COLUMNS order)`) of a bundle's Observations, or
    LabImportError naming every entry that cannot be one."""
    bundle = _bundle(data, file_name)
    entries = bundle.get("entry") or []
    problems: list[EntryProblem] = []
    if not isinstance(entries, list) or not entries:
        raise LabImportError(file_name, [EntryProblem(0, "entry", "the bundle has no entries")])
    shell = {k: v for k, v in bundle.items() if k != "entry"}
    problems += _validation_problems(lambda: fhir_bundle.Bundle(shell), 0, "")
    parsed: list[tuple[int, Any]] = []
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        if not isinstance(resource, dict):
            problems.append(EntryProblem(number, "resource", "the entry has no resource"))
        elif kind not in ("Observation", *SUPPORTING):
            problems.append(
                EntryProblem(
                    number,
                    "resourceType",
                    f"{kind or 'a resource without resourceType'} is not a laboratory result "
                    "(expected Observation, or the Patient or Specimen an Observation refers to)",
                )
            )
        else:
            found = _validation_problems(lambda e=entry: fhir_bundle.BundleEntry(e), number, "")
            if found:
                problems += found
            else:
                parsed.append((number, fhir_bundle.BundleEntry(entry)))
    index = _Index([e for _, e in parsed])
    rows: list[tuple[int, list[str]]] = []
    for number, entry in parsed:
        if entry.resource.resource_type == "Observation":
            row = _row(number, entry.resource, index, problems)
            if row is not None:
                rows.append((number, row))
    if problems:
        problems.sort(key=lambda p: p.row)
        raise LabImportError(file_name, problems)
    if not rows:
        raise LabImportError(file_name, [EntryProblem(0, "entry", "the bundle has no Observation")])
    return rows


def _bundle(data: bytes, file_name: str) -> dict:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabImportError(
            file_name, [EntryProblem(0, "", "not a FHIR JSON bundle (the text is not UTF-8)")]
        ) from None
    if not text.strip():
        raise LabImportError(file_name, [EntryProblem(0, "", "the file is empty")])
    try:
        bundle = json.loads(text, parse_float=_Literal)
    except (ValueError, RecursionError) as exc:
        raise LabImportError(
            file_name, [EntryProblem(0, "", f"not a FHIR JSON bundle (not valid JSON: {exc})")]
        ) from None
    if not isinstance(bundle, dict):
        raise LabImportError(
            file_name, [EntryProblem(0, "", "not a FHIR JSON bundle (expected a JSON object)")]
        )
    kind = bundle.get("resourceType")
    if kind != "Bundle":
        raise LabImportError(
            file_name,
            [
                EntryProblem(
                    0,
                    "resourceType",
                    f"expected a Bundle of Observations, not {kind!r}"
                    if kind
                    else "not a FHIR resource (no resourceType); expected a Bundle",
                )
            ],
        )
    return bundle


def _validation_problems(build: Callable[[], Any], number: int, prefix: str) -> list[EntryProblem]:
    """The FHIR R4 validation errors of one element, one problem each, named by their path."""
    try:
        build()
    except FHIRValidationError as exc:
        return [
            EntryProblem(number, path or ("resource" if number else "Bundle"), message)
            for path, message in _leaves(exc, prefix)
        ]
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
        # fhir.resources 5 raises these for shapes its validation does not expect (a list
        # where an object belongs): the entry is not valid FHIR R4.
        return [EntryProblem(number, "resource", f"not valid FHIR R4 ({_clean(str(exc))})")]
    return []


def _leaves(exc: FHIRValidationError, prefix: str) -> list[tuple[str, str]]:
    path = ".".join(p for p in (prefix, exc.path or "") if p)
    found: list[tuple[str, str]] = []
    for error in exc.errors:
        if isinstance(error, FHIRValidationError):
            found += _leaves(error, path)
        else:
            message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
            found.append((path, f"not valid FHIR R4: {_clean(str(message))}"))
    return found


def _clean(message: str) -> str:
    return _CLASS.sub(r"\1", _OBJECT.sub("", message))


class _Index:
    """The Patients and Specimens of the bundle, by fullUrl and by `Type/id`."""

    def __init__(self, entries: list[Any]) -> None:
        self.by_reference: dict[str, Any] = {}
        for entry in entries:
            resource = entry.resource
            kind = getattr(resource, "resource_type", None)
            if kind not in SUPPORTING:
                continue
            if entry.fullUrl:
                self.by_reference[entry.fullUrl] = resource
            if resource.id:
                self.by_reference[f"{kind}/{resource.id}"] = resource

    def resolve(self, reference: Any, observation: Any, kind: str) -> Any | None:
        target = getattr(reference, "reference", None)
        if not target:
            return None
        if target.startswith("#"):
            for contained in observation.contained or []:
                if contained.resource_type == kind and contained.id == target[1:]:
                    return contained
            return None
        found = self.by_reference.get(target)
        if found is None and "/" in target:  # an absolute URL: match its last Type/id
            found = self.by_reference.get("/".join(target.rstrip("/").split("/")[-2:]))
        return found if getattr(found, "resource_type", None) == kind else None


def _row(number: int, observation: Any, index: _Index, problems: list[EntryProblem]):
    mapping = _mapping()
    mine: list[EntryProblem] = []
    if observation.status not in mapping.statuses:
        mine.append(
            EntryProblem(
                number,
                "status",
                f"status {observation.status!r} is not a reported result (accepted: "
                f"{', '.join(mapping.statuses)})",
            )
        )
    analyte = _analyte(number, observation, mapping, mine)
    subject_id = _subject(number, observation, index, mine)
    accession, collected = _specimen(number, observation, index, mine)
    if not collected:
        collected = _effective(number, observation, mine)
    value, unit = ("", "")
    if analyte is not None:
        value, unit = _value(number, observation, analyte, mapping, mine)
    if mine:
        problems.extend(mine)
        return None
    values = {
        "subject_id": subject_id,
        "accession": accession,
        "collected_on": collected,
        "analyte": analyte.analyte,
        "value": value,
        "unit": unit,
    }
    return [values[column] for column in COLUMNS]


def _analyte(number, observation, mapping: _Mapping, problems) -> LoincAnalyte | None:
    codings = [c for c in (observation.code.coding or []) if c.system == mapping.loinc_system]
    for coding in codings:
        if coding.code in mapping.analytes:
            return mapping.analytes[coding.code]
    accepted = ", ".join(f"{code} ({a.analyte})" for code, a in mapping.analytes.items())
    if not codings:
        problems.append(
            EntryProblem(
                number,
                "code",
                f"no LOINC code (a coding with system {mapping.loinc_system}); accepted: {accepted}",
            )
        )
    else:
        codes = ", ".join(repr(c.code) for c in codings)
        problems.append(
            EntryProblem(
                number, "code", f"unknown LOINC code {codes} (central laboratory codes: {accepted})"
            )
        )
    return None


def _identifier_value(identifiers) -> str:
    for identifier in identifiers or []:
        if identifier.value and identifier.value.strip():
            return identifier.value.strip()
    return ""


def _subject(number, observation, index: _Index, problems) -> str:
    subject = observation.subject
    if subject is None:
        problems.append(
            EntryProblem(
                number,
                "subject",
                "required: the participant (subject.identifier.value = subject id)",
            )
        )
        return ""
    if subject.identifier is not None and (subject.identifier.value or "").strip():
        return subject.identifier.value.strip()
    patient = index.resolve(subject, observation, "Patient")
    if patient is not None:
        found = _identifier_value(patient.identifier)
        if found:
            return found
        problems.append(
            EntryProblem(
                number,
                "subject",
                f"the Patient {subject.reference} has no identifier (the subject id)",
            )
        )
        return ""
    problems.append(
        EntryProblem(
            number,
            "subject",
            "the participant is not named: give subject.identifier.value (the subject id) or "
            "refer to a Patient in the bundle that has it as identifier",
        )
    )
    return ""


def _specimen(number, observation, index: _Index, problems) -> tuple[str, str]:
    """(accession, collection date or '') from the Observation's specimen."""
    reference = observation.specimen
    if reference is not None:
        specimen = index.resolve(reference, observation, "Specimen")
        if specimen is not None:
            accession = (
                (specimen.accessionIdentifier.value or "").strip()
                if specimen.accessionIdentifier is not None
                else ""
            )
            collected = ""
            if specimen.collection is not None and specimen.collection.collectedDateTime:
                collected = _date_text(specimen.collection.collectedDateTime)
            if accession:
                return accession, collected
        elif reference.identifier is not None and (reference.identifier.value or "").strip():
            return reference.identifier.value.strip(), ""
    problems.append(
        EntryProblem(
            number,
            "specimen",
            "required: the sample's accession number (the referenced Specimen's "
            "accessionIdentifier, or specimen.identifier.value)",
        )
    )
    return "", ""


def _date_text(value: Any) -> str:
    """The date part of a FHIR date or dateTime as written (`2027-02-08T09:30:00+09:00` ->
    `2027-02-08`); anything else as written, for the check to refuse."""
    text = getattr(value, "origval", None) or str(value)
    match = _DATE.match(text)
    return match.group(1) if match else text


def _effective(number, observation, problems) -> str:
    if observation.effectiveDateTime is not None:
        return _date_text(observation.effectiveDateTime)
    problems.append(
        EntryProblem(
            number,
            "effectiveDateTime",
            "required: the collection date (effectiveDateTime, or the Specimen's "
            "collection.collectedDateTime)",
        )
    )
    return ""


def _value(number, observation, analyte: LoincAnalyte, mapping: _Mapping, problems):
    quantity = observation.valueQuantity
    if analyte.qualitative:
        if quantity is not None:
            problems.append(
                EntryProblem(
                    number,
                    "valueQuantity",
                    f"{analyte.long_common_name} is positive or negative "
                    "(valueCodeableConcept or valueString), not a quantity",
                )
            )
            return "", ""
        return _qualitative(number, observation, mapping, problems), ""
    if quantity is None:
        reason = observation.dataAbsentReason
        why = f" (dataAbsentReason: {reason.text or _codes(reason)})" if reason is not None else ""
        problems.append(
            EntryProblem(number, "valueQuantity", f"required: the result as a quantity{why}")
        )
        return "", ""
    if quantity.comparator:
        problems.append(
            EntryProblem(
                number,
                "valueQuantity.comparator",
                f"a value {quantity.comparator} {_number_text(quantity.value)} cannot be stored as "
                "a result (send the measured value)",
            )
        )
        return "", ""
    if quantity.system is not None and quantity.system != mapping.ucum_system:
        problems.append(
            EntryProblem(
                number,
                "valueQuantity.system",
                f"units must be UCUM ({mapping.ucum_system}), not {quantity.system}",
            )
        )
        return "", ""
    accepted = ", ".join(analyte.units)
    if not quantity.code:
        problems.append(
            EntryProblem(
                number,
                "valueQuantity.code",
                f"required: the UCUM unit code (accepted for {analyte.analyte}: {accepted})",
            )
        )
        return "", ""
    unit = analyte.units.get(quantity.code)
    if unit is None:
        problems.append(
            EntryProblem(
                number,
                "valueQuantity.code",
                f"unit {quantity.code!r} is not accepted for {analyte.long_common_name} "
                f"(UCUM, accepted: {accepted})",
            )
        )
        return "", ""
    value = "" if quantity.value is None else _number_text(quantity.value)
    return value, unit


def _codes(concept) -> str:
    return ", ".join(f"{c.code}" for c in (concept.coding or []) if c.code) or "given"


def _qualitative(number, observation, mapping: _Mapping, problems) -> str:
    if observation.valueString is not None:
        return observation.valueString.strip()
    concept = observation.valueCodeableConcept
    if concept is not None:
        for coding in concept.coding or []:
            found = mapping.qualitative.get(coding.system or "", {}).get(coding.code or "")
            if found:  # the text as reported when it says the same as the code
                text = (concept.text or "").strip()
                return text if text.lower() == found else found
        if concept.text:
            return concept.text.strip()
        return _codes(concept)  # not positive or negative: the check names it
    problems.append(
        EntryProblem(
            number,
            "value[x]",
            "required: positive or negative (valueCodeableConcept or valueString)",
        )
    )
    return ""
