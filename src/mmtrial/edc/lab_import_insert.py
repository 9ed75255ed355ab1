"""Inserting the new results of a central laboratory import, as tuples.

Building one `LabResult` per row and letting `bulk_create` prepare every field of every row
costs more than the rest of the import's inserts (docs/benchmarks.md). Here the values that
differ per row are prepared by their model fields, the others (source, version, timestamps,
flags) once per batch from a template instance, exactly as `bulk_create` would prepare them;
the rows go in with one executemany per batch. Their ids are read back by accession + analyte,
which the central-laboratory unique constraint makes unambiguous.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from mmtrial.edc.lab_import_check import CheckedRow
from mmtrial.edc.models import LabResult
from mmtrial.edc.models.assessments import LabSource

__all__ = ["ROW_FIELDS", "insert_results"]

# The fields taken from each checked row, in the order of the tuples built below.
ROW_FIELDS = (
    "participant_id",
    "analyte",
    "value",
    "value_text",
    "unit",
    "reported_value",
    "reported_unit",
    "collected_on",
    "accession",
)
_LOOKUP_CHUNK = 900  # below SQLite's smallest limit on query parameters (999)


def insert_results(rows: Sequence[CheckedRow]) -> list[int]:
    """Insert `rows` as central-laboratory results in the caller's transaction; their ids in order."""
    if not rows:
        return []
    meta = LabResult._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    per_row = {f.attname for f in fields} & set(ROW_FIELDS)
    if per_row != set(ROW_FIELDS):  # a renamed field must not be written silently wrong
        raise RuntimeError(f"LabResult lost fields {sorted(set(ROW_FIELDS) - per_row)}")
    template = LabResult(source=LabSource.CENTRAL)
    constant = [f for f in fields if f.attname not in per_row]
    constants = tuple(
        f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in constant
    )
    value_db = meta.get_field("value").get_db_prep_save
    date_db = meta.get_field("collected_on").get_db_prep_save
    quote = connection.ops.quote_name
    columns = [meta.get_field(name).column for name in ROW_FIELDS] + [f.column for f in constant]
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    params = [
        (
            r.participant.pk,
            r.analyte,
            value_db(r.value, connection),
            r.value_text,
            r.unit,
            r.reported_value,
            r.reported_unit,
            date_db(r.collected_on, connection),
            r.accession,
            *constants,
        )
        for r in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    ids: dict[tuple[str, str], int] = {}
    accessions = sorted({r.accession for r in rows})
    for start in range(0, len(accessions), _LOOKUP_CHUNK):
        ids.update(
            ((accession, analyte), pk)
            for accession, analyte, pk in LabResult.objects.filter(
                source=LabSource.CENTRAL, accession__in=accessions[start : start + _LOOKUP_CHUNK]
            ).values_list("accession", "analyte", "id")
        )
    return [ids[(r.accession, r.analyte)] for r in rows]
