"""FHIR R4 bundles for the lab import tests, built from rows like the CSV import's.

The LOINC codes and UCUM units are written out here from the LOINC and UCUM tables (not read
from the product's mapping file), so a wrong entry in that file fails the tests.
"""

from __future__ import annotations

import json

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SNOMED = "http://snomed.info/sct"
# analyte -> (LOINC code, LOINC long common name)
LOINC_OF = {
    "serum_m_protein": ("33358-3", "Protein.monoclonal [Mass/volume] in Serum or Plasma by Electrophoresis"),
    "urine_m_protein": ("42482-0", "Protein.monoclonal [Mass/time] in 24 hour Urine by Electrophoresis"),
    "kappa_flc": ("36916-5", "Kappa light chains.free [Mass/volume] in Serum"),
    "lambda_flc": ("33944-0", "Lambda light chains.free [Mass/volume] in Serum or Plasma"),
    "serum_ife": ("25700-6", "Immunofixation for Serum or Plasma"),
    "urine_ife": ("13440-3", "Immunofixation for Urine"),
}  # fmt: skip
# the CSV unit -> its UCUM code
UCUM_OF = {
    "g/dL": "g/dL",
    "g/L": "g/L",
    "mg/dL": "mg/dL",
    "mg/L": "mg/L",
    "mg/24h": "mg/(24.h)",
    "g/24h": "g/(24.h)",
}
SNOMED_OF = {"positive": "10828004", "negative": "260385009"}


def observation(subject, accession, collected_on, analyte, value, unit, *, style="logical"):
    """One Observation for one CSV row. `style`: `logical` names the participant and the
    specimen by identifier and dates the result by effectiveDateTime (with a time and zone);
    `contained` holds the Specimen (accession, collection date) inside the Observation."""
    code, name = LOINC_OF[analyte]
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": code, "display": name}]},
        "subject": {"identifier": {"system": "urn:mmtrial:subject-id", "value": subject}},
    }
    if style == "contained":
        resource["contained"] = [
            {
                "resourceType": "Specimen",
                "id": "s1",
                "accessionIdentifier": {"value": accession},
                "collection": {"collectedDateTime": collected_on},
            }
        ]
        resource["specimen"] = {"reference": "#s1"}
    else:
        resource["specimen"] = {"identifier": {"value": accession}}
        resource["effectiveDateTime"] = f"{collected_on}T08:30:00+09:00"
    if analyte.endswith("_ife"):
        resource["valueCodeableConcept"] = {
            "coding": [{"system": SNOMED, "code": SNOMED_OF[value.lower()]}],
            "text": value,
        }
    else:
        resource["valueQuantity"] = {
            "value": f"__NUMBER__{value}__NUMBER_END__",  # the literal: `bundle_bytes`
            "unit": unit,
            "system": UCUM,
            "code": UCUM_OF[unit],
        }
    return resource


def bundle(resources, *, bundle_id="central-2027-02") -> dict:
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:entry-{i}", "resource": r} for i, r in enumerate(resources)
        ],
    }


def bundle_bytes(document: dict) -> bytes:
    """JSON with each value written exactly as the CSV wrote it (`1.150` stays `1.150`)."""
    text = json.dumps(document, indent=1)
    return text.replace('"__NUMBER__', "").replace('__NUMBER_END__"', "").encode()


def from_csv_rows(rows, **kwargs) -> bytes:
    """rows: (subject, accession, collected_on, analyte, value, unit) tuples."""
    resources = []
    for i, row in enumerate(rows):
        style = "contained" if i % 2 else "logical"
        resources.append(observation(*row, style=style))
    return bundle_bytes(bundle(resources, **kwargs))
