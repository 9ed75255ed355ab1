"""The study's clinical data as a CDISC ODM 1.3.2 document with its audit trail and signatures.

The file is Transactional, Granularity All, Archival: it holds every transaction of every
participant's data, so replaying them in document order gives the database as it is now, and
every earlier state on the way (21 CFR 11.10(b), (e)).

- `Study`: the protocol file's identity and design, and the EDC's forms (`odm_metadata`).
- `AdminData`: users, sites (locations) and one SignatureDef per signature meaning.
- `ClinicalData`: for each participant, one `SubjectData` per audit event, in the order of the
  hash-chained audit trail. Its `AuditRecord` says who (UserRef), where (the participant's site),
  when (UTC) and why (ReasonForChange); `SourceID` names the audit event and its chain hash.
  - create / update / soft delete of a record: an `ItemGroupData` (repeat key = the record's id)
    with TransactionType Insert / Update / Remove inside its study event and form, holding the
    fields the event changed (`IsNull="Yes"` for an emptied one). Lock and unlock are Updates
    of the `locked` item.
  - a signature: the `Signature` element (signer, site, meaning, time) with an `Annotation`
    giving the SHA-256 of the signed content; a signature invalidated by a later change, query
    messages and other workflow events are `Annotation` comments naming the record concerned.
  The first SubjectData of a participant, and the first StudyEventData and FormData of each
  event and form, are Inserts; the repeats that carry later transactions are Context.

Streaming: the header, metadata and admin data are small; each participant's transactions are
built, written and dropped in turn (`edc.selectors.records_export` reads them in chunks), so
memory does not grow with the study. The file is written beside its target and renamed into
place once complete. `validate_odm` checks it against the ODM 1.3.2 schema shipped with odmlib,
reading the file incrementally.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mmtrial
from mmtrial.cdisc import odm_forms
from mmtrial.cdisc.odm_metadata import (
    ODM_NS,
    E,
    admin_data_element,
    location_oid,
    metadata_version_oid,
    signature_def_oid,
    study_element,
    study_oid,
    user_oid,
)
from mmtrial.protocol import Protocol

DATA_ACTIONS = {"create": "Insert", "update": "Update", "lock": "Update", "unlock": "Update"}
DELETE_ACTION = "delete"
SIGN_ACTION = "sign"


@dataclass
class OdmSummary:
    """What was written: counts, and the file's SHA-256 (for the export's own record)."""

    path: Path
    participants: int = 0
    transactions: int = 0
    signatures: int = 0
    annotations: int = 0
    sha256: str = ""
    problems: list[str] = field(default_factory=list)


def odm_value(value: Any) -> str | None:
    """An audit value as ODM text: None is null; JSON fields as compact JSON with sorted keys."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


class _Subject:
    """Builds one participant's SubjectData transactions from its records and audit events."""

    def __init__(self, records, *, models: dict[str, Any], summary: OdmSummary) -> None:
        self.p = records
        self.summary = summary
        self.site = location_oid(records.participant.site.code)
        self.items = {
            model: {f.attname for f in odm_forms.data_fields(models[model])}
            for model in odm_forms.FORMS
        }
        cycles = {row["id"]: row["number"] for row in records.records.get("cycle", [])}
        self.places: dict[tuple[str, str], tuple[str, str | None]] = {}
        for model, rows in records.records.items():
            if model not in odm_forms.FORMS:
                continue
            for row in rows:
                self.places[(model, str(row["id"]))] = odm_forms.placement(
                    model, row, cycle_numbers=cycles
                )
        self.inserted: set[tuple] = set()
        self.seq = 0

    def _kind(self, key: tuple) -> str:
        if key in self.inserted:
            return "Context"
        self.inserted.add(key)
        return "Insert"

    def _subject_data(self, event) -> ET.Element:
        subject = E(
            "SubjectData",
            {"SubjectKey": self.p.subject_key, "TransactionType": self._kind(("subject",))},
        )
        reason = (event.reason or "").strip()
        source = (
            f"mmtrial audit event {event.id} ({event.action} {event.model} {event.object_pk}"
            f" by {event.actor_username}, via {event.context.get('via', '')}); "
            f"chain hash {event.hash}"
        )
        stands_for = (event.context or {}).get("stands_for")
        if stands_for:  # a demo event: written now, standing for this study date
            source += f"; demo event standing for study date {stands_for}"
        subject.append(
            E(
                "AuditRecord",
                None,
                E("UserRef", {"UserOID": user_oid(event.actor_id)}),
                E("LocationRef", {"LocationOID": self.site}),
                E("DateTimeStamp", None, text=_utc(event.occurred_at)),
                *([E("ReasonForChange", None, text=reason)] if reason else []),
                E("SourceID", None, text=source),
            )
        )
        return subject

    def _annotation(self, text: str, by: str) -> ET.Element:
        self.seq += 1
        self.summary.annotations += 1
        return E(
            "Annotation",
            {"SeqNum": self.seq, "TransactionType": "Insert"},
            E("Comment", {"SponsorOrSite": by}, text=text),
        )

    def _item_group(self, subject: ET.Element, model: str, pk: str, kind: str) -> ET.Element:
        event_oid, repeat = self.places[(model, pk)]
        spec = odm_forms.FORMS[model]
        event = E(
            "StudyEventData",
            {
                "StudyEventOID": event_oid,
                "StudyEventRepeatKey": repeat,
                "TransactionType": self._kind(("event", event_oid, repeat)),
            },
        )
        form = E(
            "FormData",
            {
                "FormOID": spec.form_oid,
                "TransactionType": self._kind(("form", event_oid, repeat, spec.form_oid)),
            },
        )
        group = E(
            "ItemGroupData",
            {
                "ItemGroupOID": spec.item_group_oid,
                "ItemGroupRepeatKey": pk,
                "TransactionType": kind,
            },
        )
        subject.append(site_ref(self.site))
        subject.append(event)
        event.append(form)
        form.append(group)
        return group

    def transactions(self) -> Iterable[ET.Element]:
        signatures = {str(s.pk): s for s in self.p.signatures}
        for event in self.p.events:
            subject = self._subject_data(event)
            placed = (event.model, str(event.object_pk)) in self.places
            if placed and (event.action in DATA_ACTIONS or event.action == DELETE_ACTION):
                self._data(subject, event)
            elif event.model == "signature" and event.action == SIGN_ACTION:
                self._signature(subject, event, signatures.get(str(event.object_pk)))
            else:
                self._workflow(subject, event)
            yield subject

    def _data(self, subject: ET.Element, event) -> None:
        kind = "Remove" if event.action == DELETE_ACTION else DATA_ACTIONS[event.action]
        group = self._item_group(subject, event.model, str(event.object_pk), kind)
        if kind != "Remove":
            known = self.items[event.model]
            for name, change in event.changes.items():
                if name not in known:
                    continue
                value = odm_value(change.get("new") if isinstance(change, dict) else change)
                attrs = {"ItemOID": odm_forms.item_oid(event.model, name), "TransactionType": kind}
                if value is None:
                    attrs["IsNull"] = "Yes"
                else:
                    attrs["Value"] = value
                group.append(E("ItemData", attrs))
        self.summary.transactions += 1

    def _signature(self, subject: ET.Element, event, signature) -> None:
        meaning = (event.changes.get("meaning") or {}).get("new") or (
            signature.meaning if signature else ""
        )
        signed_at = signature.signed_at if signature is not None else event.occurred_at
        subject.append(
            E(
                "Signature",
                None,
                E("UserRef", {"UserOID": user_oid(event.actor_id)}),
                E("LocationRef", {"LocationOID": self.site}),
                E("SignatureRef", {"SignatureOID": signature_def_oid(meaning)}),
                E("DateTimeStamp", None, text=_utc(signed_at)),
            )
        )
        sha = (event.changes.get("content_sha256") or {}).get("new", "")
        name = event.context.get("printed_name") or event.actor_username
        subject.append(site_ref(self.site))
        subject.append(
            self._annotation(
                f"Electronic signature {event.object_pk} by {name}, meaning {meaning}, over all "
                f"of the participant's data as it stood at {_utc(signed_at)}: SHA-256 of the "
                f"signed content {sha}; confirmation text version "
                f"{event.context.get('confirmation_text_version', '')}.",
                "Site",
            )
        )
        self.summary.signatures += 1

    def _workflow(self, subject: ET.Element, event) -> None:
        changes = ", ".join(
            f"{name}: {odm_value(c.get('old')) if isinstance(c, dict) else ''} -> "
            f"{odm_value(c.get('new')) if isinstance(c, dict) else odm_value(c)}"
            for name, c in event.changes.items()
        )
        target = ""
        context = event.context or {}
        if event.model == "query" and context.get("target_model"):
            target = (
                f" on {context['target_model']} {context.get('target_pk', '')}"
                f"{' field ' + context['target_field'] if context.get('target_field') else ''}"
            )
        text = f"{event.action} {event.model} {event.object_pk}{target}" + (
            f" ({changes})" if changes else ""
        )
        by = "Site" if event.action in ("query_answer", "sign") else "Sponsor"
        subject.append(site_ref(self.site))
        subject.append(self._annotation(text, by))


def site_ref(site: str) -> ET.Element:
    return E("SiteRef", {"LocationOID": site})


def write_odm(
    path: str | os.PathLike[str],
    *,
    protocol: Protocol,
    participants: Iterable[Any],
    models: dict[str, Any],
    users: Iterable[Any],
    sites: Iterable[Any],
    meanings: Iterable[str],
    legal_reason: str,
    now: dt.datetime,
    advance: Callable[[], None] = lambda: None,
) -> OdmSummary:
    """Write the ODM file to `path` (complete or not at all); returns what was written.

    `participants` yields `records_export.ParticipantRecords`, one at a time.
    """
    target = Path(path)
    summary = OdmSummary(path=target)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    digest = hashlib.sha256()

    def write(text: str) -> None:
        data = text.encode("utf-8")
        digest.update(data)
        out.write(data)

    try:
        with os.fdopen(handle, "wb") as out:
            stamp = _utc(now)
            root = E(
                "ODM",
                {
                    "xmlns": ODM_NS,
                    "ODMVersion": "1.3.2",
                    "FileType": "Transactional",
                    "Granularity": "All",
                    "Archival": "Yes",
                    "FileOID": f"ODM.{protocol.identification.study_id}.{now.strftime('%Y%m%dT%H%M%S')}",
                    "CreationDateTime": stamp,
                    "AsOfDateTime": stamp,
                    "Originator": "mmtrial",
                    "SourceSystem": "mmtrial",
                    "SourceSystemVersion": mmtrial.__version__,
                    "Description": (
                        f"{protocol.identification.study_id}: every participant's data with its "
                        "audit trail and electronic signatures"
                    ),
                },
            )
            head = ET.tostring(root, encoding="unicode", short_empty_elements=False)
            write('<?xml version="1.0" encoding="UTF-8"?>\n')
            write(head.removesuffix("</ODM>") + "\n")
            for element in (
                study_element(protocol, models),
                admin_data_element(
                    protocol, users=users, sites=sites, meanings=meanings, legal_reason=legal_reason
                ),
            ):
                write(_text(element) + "\n")
            write(
                f'<ClinicalData StudyOID="{study_oid(protocol)}" '
                f'MetaDataVersionOID="{metadata_version_oid(protocol)}">\n'
            )
            for records in participants:
                builder = _Subject(records, models=models, summary=summary)
                for subject in builder.transactions():
                    write(_text(subject) + "\n")
                summary.participants += 1
                advance()
            write("</ClinicalData>\n</ODM>\n")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_name, 0o666 & ~umask)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    summary.sha256 = digest.hexdigest()
    return summary


def _text(element: ET.Element) -> str:
    text = ET.tostring(element, encoding="unicode")
    # elements are serialised alone: the default namespace is declared once, on ODM
    return text


def validate_odm(path: str | os.PathLike[str], *, limit: int = 20) -> list[str]:
    """Problems found by the ODM 1.3.2 schema (odmlib's copy), at most `limit`; [] = valid.

    The file is read lazily (xmlschema's lazy resource), so validating a large export does not
    load it whole.
    """
    import xmlschema
    from odmlib.odm_parser import ODMSchemaValidator

    schema = ODMSchemaValidator(standard="odm", version="1.3.2").xsd
    resource = xmlschema.XMLResource(str(path), lazy=True)
    problems = []
    for error in schema.iter_errors(resource):
        problems.append(f"{error.path}: {error.reason}")
        if len(problems) >= limit:
            break
    return problems
