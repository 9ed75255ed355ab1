"""Casebooks: one participant's records as a PDF an inspector or the site file can read
(21 CFR 11.10(b); compliance P11-10b, P11-50), in English or Japanese.

Contents, in order: the participant and the export; the electronic signatures (printed name,
date and time in UTC and in the site's time zone, meaning, status, the SHA-256 of the signed
data); the queries with their messages; then every form by study event (screening, each cycle,
end of treatment, follow-up, assessments across the study; `cdisc.odm_forms`), each record with
all its fields as stored and its audit history: who, when (UTC), what changed from what to
what, and the reason. Values changed after first entry are marked, deleted records are kept
and marked. The forms and field names are the ODM export's, so the two copies agree.

Japanese needs the Noto Sans CJK font (as the report: `analysis.report.font_settings`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import tempfile
import unicodedata
import zoneinfo
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from matplotlib import rc_context
from matplotlib.backends.backend_pdf import PdfPages

import mmtrial
from mmtrial.cdisc import odm_forms
from mmtrial.cdisc.casebook_layout import Line, draw, paginate
from mmtrial.cdisc.casebook_text import action, text
from mmtrial.protocol import Protocol

#: Log forms with many records per participant, shown one paragraph per record.
COMPACT_FORMS = frozenset({"doseadministration", "labresult"})

#: Levels of a JSON field shown as nested lines; deeper values are compact JSON text.
JSON_LEVELS = 2


def casebook_file_name(records, *, lang: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", records.subject_key)
    return f"casebook-{safe}-{lang}.pdf"


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


class _Book:
    def __init__(self, records, *, protocol, users, lang, models) -> None:
        self.r, self.protocol, self.users, self.lang, self.models = (
            records,
            protocol,
            users,
            lang,
            models,
        )
        self.lines: list[Line] = []
        self.fields = {m: odm_forms.data_fields(models[m]) for m in odm_forms.FORMS}
        self.history: dict[tuple[str, str], list[Any]] = defaultdict(list)
        self.other: list[Any] = []
        record_keys = {
            (model, str(row["id"])) for model, rows in records.records.items() for row in rows
        }
        for event in records.events:
            key = (event.model, str(event.object_pk))
            if key in record_keys:
                self.history[key].append(event)
            elif event.model not in ("signature", "query"):
                self.other.append(event)
        self.visits = {row["id"]: row["code"] for row in records.records.get("visit", [])}
        self.cycles = {row["id"]: row["number"] for row in records.records.get("cycle", [])}

    # --- values ------------------------------------------------------------------------------

    def t(self, key: str, **values) -> str:
        return text(key, self.lang, **values)

    def user(self, pk: int | None, fallback: str) -> str:
        user = self.users.get(pk)
        return f"{user.printed_name} ({user.username})" if user is not None else fallback

    def decode(self, field, value: Any) -> str | None:
        from django.utils import translation

        if field.attname == "drug":
            drug = self.protocol.drugs.get(value)
            if drug is not None:
                return drug.name_ja if self.lang == "ja" else drug.name
        for code, label in field.choices or ():
            if str(code) == str(value):
                with translation.override(self.lang):
                    return str(translation.gettext(str(label)))
        return None

    def value(self, field, value: Any) -> str:
        if value is None or value == "":
            return self.t("blank")
        if isinstance(value, bool):
            return self.t("yes" if value else "no")
        if field is not None and field.attname == "visit_id":
            return f"{self.visits.get(value, value)} (#{value})"
        if field is not None and field.attname == "cycle_id":
            return f"{self.cycles.get(value, value)} (#{value})"
        if field is not None and field.attname == "reported_by_id":
            return self.user(value, str(value))
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        decoded = self.decode(field, value) if field is not None else None
        return f"{value} ({decoded})" if decoded and decoded != str(value) else str(value)

    def structured(self, value: Any, indent: int, depth: int = 0) -> list[Line]:
        """A JSON field as nested lines (keys as labels), so long decisions stay readable;
        below two levels the rest is shown as compact JSON text."""
        lines: list[Line] = []
        if isinstance(value, dict):
            for key, inner in value.items():
                if isinstance(inner, dict | list) and inner and depth < JSON_LEVELS:
                    lines.append(Line("text", f"{key}:", indent=indent))
                    lines.extend(self.structured(inner, indent + 1, depth + 1))
                else:
                    lines.append(
                        Line("field", self.value(None, inner), label=str(key), indent=indent)
                    )
        elif isinstance(value, list):
            if all(not isinstance(v, dict | list) for v in value):
                lines.append(
                    Line("text", ", ".join(self.value(None, v) for v in value), indent=indent)
                )
            else:
                for i, inner in enumerate(value, start=1):
                    if isinstance(inner, dict | list) and depth < JSON_LEVELS:
                        lines.append(Line("text", f"[{i}]", indent=indent))
                        lines.extend(self.structured(inner, indent + 1, depth + 1))
                    else:
                        lines.append(
                            Line("field", self.value(None, inner), label=f"[{i}]", indent=indent)
                        )
        return lines

    # --- sections ----------------------------------------------------------------------------

    def build(self, now: dt.datetime) -> list[Line]:
        p = self.r.participant
        ident = self.protocol.identification
        self.lines += [
            Line("h1", f"{self.t('title')}: {self.r.subject_key}"),
            Line("text", ident.title),
            Line("field", self.r.subject_key, label=self.t("participant")),
            Line(
                "field",
                f"{p.site.code} {p.site.name_ja if self.lang == 'ja' and p.site.name_ja else p.site.name}",
                label=self.t("site"),
            ),
            Line("field", f"{ident.study_id} {p.protocol_version}", label=self.t("protocol")),
            Line(
                "field", self.value(p._meta.get_field("status"), p.status), label=self.t("status")
            ),
            Line("field", f"{_utc(now)} UTC", label=self.t("exported")),
            Line("text", self.t("statement")),
        ]
        self.signatures()
        self.queries()
        for event in odm_forms.STUDY_EVENTS:
            self.study_event(event)
        if self.other:
            self.lines.append(Line("h2", self.t("other_events")))
            for event in self.other:
                self.event_lines(event, None, indent=1)
        return self.lines

    def signatures(self) -> None:
        self.lines.append(Line("h2", self.t("signatures")))
        if not self.r.signatures:
            self.lines.append(Line("text", self.t("no_signatures")))
        zone = zoneinfo.ZoneInfo(self.r.participant.site.timezone or "UTC")
        for n, s in enumerate(self.r.signatures, start=1):
            local = s.signed_at.astimezone(zone)
            status = (
                self.t("valid")
                if s.status == "valid"
                else self.t(
                    "invalidated",
                    when=f"{_utc(s.invalidated_at)} UTC" if s.invalidated_at else "",
                    reason=s.invalidated_reason,
                )
            )
            self.lines += [
                Line("h3", self.t("signature", n=n)),
                Line("field", f"{s.printed_name} ({s.signer.username})", label=self.t("signer")),
                Line(
                    "field",
                    f"{_utc(s.signed_at)} UTC ({local:%Y-%m-%d %H:%M:%S} {local.tzname()})",
                    label=self.t("signed_at"),
                ),
                Line("field", s.meaning, label=self.t("meaning")),
                Line("field", status, label=self.t("signature_status")),
                Line("field", s.content_sha256, label=self.t("content_sha256")),
                Line("field", s.confirmation_text_version, label=self.t("confirmation")),
            ]

    def queries(self) -> None:
        self.lines.append(Line("h2", self.t("queries")))
        if not self.r.queries:
            self.lines.append(Line("text", self.t("no_queries")))
        for n, q in enumerate(self.r.queries, start=1):
            spec = odm_forms.FORMS.get(q.model)
            target = f"{spec.name(self.lang) if spec else q.model} #{q.object_pk}"
            if q.field:
                target += f" · {odm_forms.field_label(q.field, self.lang)}"
            self.lines.append(
                Line("h3", self.t("query", n=n, target=target, status=q.status, origin=q.origin))
            )
            self.lines.append(Line("text", q.text, indent=1))
            for message in self.r.messages.get(q.pk, []):
                who = self.user(message.author_id, "system")
                self.lines.append(
                    Line(
                        "text",
                        f"{_utc(message.at)}  {who}  {message.kind}: {message.text}",
                        indent=1,
                    )
                )

    def study_event(self, event: odm_forms.StudyEvent) -> None:
        name = event.name_ja if self.lang == "ja" else event.name_en
        groups: dict[str | None, list[tuple[str, dict]]] = defaultdict(list)
        for model in odm_forms.EVENT_FORMS[event.oid]:
            for row in self.r.records.get(model, []):
                where, repeat = odm_forms.placement(model, row, cycle_numbers=self.cycles)
                if where == event.oid:
                    groups[repeat].append((model, row))
        if not groups:
            return
        order = sorted(groups, key=lambda k: int(k) if k and k.isdigit() else -1)
        for repeat in order:
            title = f"{name} {repeat}" if repeat is not None else name
            self.lines.append(Line("h2", title))
            for model in odm_forms.EVENT_FORMS[event.oid]:
                rows = [row for m, row in groups[repeat] if m == model]
                for row in rows:
                    self.record(model, row)

    def record(self, model: str, row: dict) -> None:
        spec = odm_forms.FORMS[model]
        events = self.history.get((model, str(row["id"])), [])
        edited = {
            name for e in events if e.action in ("update", "lock", "unlock") for name in e.changes
        }
        flags = [self.t("deleted")] if row.get("is_deleted") else []
        if any(e.action == "update" for e in events):
            flags.append(self.t("edited"))
        title = self.t("record", form=spec.name(self.lang), pk=row["id"])
        title += f" [{', '.join(flags)}]" if flags else ""
        if model in COMPACT_FORMS:
            self.compact(model, row, title, events, edited)
            return
        self.lines.append(Line("h3", title))
        for field in self.fields[model]:
            value = row.get(field.attname)
            label = odm_forms.field_label(field.attname, self.lang)
            mark = "*" if field.attname in edited else ""
            if isinstance(value, dict | list) and value:
                self.lines.append(Line("field", "", label=label, indent=1, mark=mark))
                self.lines.extend(self.structured(value, 2))
            else:
                self.lines.append(
                    Line("field", self.value(field, value), label=label, indent=1, mark=mark)
                )
        if events:
            self.lines.append(Line("text", self.t("history"), indent=1))
            for event in events:
                self.event_lines(event, model, indent=2)

    def compact(self, model: str, row: dict, title: str, events: list, edited: set) -> None:
        """A log-form record (a dose, a lab result) as one paragraph of label-value pairs: the
        same fields, a page instead of ten for a participant with hundreds of doses."""
        pairs = [
            f"{'*' if f.attname in edited else ''}{odm_forms.field_label(f.attname, self.lang)} "
            f"{self.value(f, row.get(f.attname))}"
            for f in self.fields[model]
            if f.attname != "participant_id"
        ]
        self.lines.append(Line("text", f"{title}: " + " · ".join(pairs), indent=1))
        for event in events:
            self.event_lines(event, model, indent=2)

    def event_lines(self, event, model: str | None, *, indent: int) -> None:
        who = self.user(event.actor_id, event.actor_username)
        what = action(event.action, self.lang)
        if model is None and event.model:
            what += f" {event.model} {event.object_pk}"
        fields = {f.attname: f for f in self.fields.get(model, [])} if model else {}
        if event.action == "create":
            what += f" ({self.t('first_entry')})"
        when = _utc(event.occurred_at)
        stands_for = (event.context or {}).get("stands_for")
        if stands_for:  # a demo event: the real time, then the study date it stands for
            when += f" ({self.t('stands_for', day=stands_for)})"
        self.lines.append(Line("text", f"{when}  {who}  {what}", indent=indent))
        if event.action != "create":
            for name, change in event.changes.items():
                if not isinstance(change, dict):
                    continue
                field = fields.get(name)
                label = odm_forms.field_label(name, self.lang) if model else name
                old, new = (self._audit_value(field, change.get(k)) for k in ("old", "new"))
                self.lines.append(Line("text", f"{label}: {old} → {new}", indent=indent + 1))
        if (event.reason or "").strip():
            self.lines.append(
                Line("text", f"{self.t('reason')}: {event.reason.strip()}", indent=indent + 1)
            )

    def _audit_value(self, field, value: Any) -> str:
        """An audit value (JSON text of the stored value) as the casebook shows values."""
        if field is not None and value is not None and not isinstance(value, dict | list | bool):
            internal = field.get_internal_type()
            if internal == "DateField":
                return str(value)
            if internal == "DecimalField":
                return self.value(field, Decimal(str(value)))
        return self.value(field, value)


def _has_cjk(pages) -> bool:
    return any(
        unicodedata.east_asian_width(ch) in "WF"
        for rows in pages
        for row in rows
        for ch in f"{row.label}{row.text}"
    )


def write_casebook(
    path: str | os.PathLike[str],
    records,
    *,
    protocol: Protocol,
    users: dict[int, Any],
    models: dict[str, Any],
    lang: str,
    now: dt.datetime,
) -> str:
    """Write one participant's casebook (complete or not at all); returns the file's SHA-256."""
    from mmtrial.analysis.report import font_settings

    target = Path(path)
    book = _Book(records, protocol=protocol, users=users, lang=lang, models=models)
    pages = paginate(book.build(now))
    header = text(
        "header",
        lang,
        study=protocol.identification.study_id,
        subject=records.subject_key,
        site=records.participant.site.code,
    )
    footer = text("footer", lang, when=_utc(now), version=mmtrial.__version__)
    handle, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(handle)
    try:
        # Sites write in Japanese (reasons, queries): an English casebook holding such text is
        # drawn with the CJK font too (it has the Latin letters), or those glyphs go missing.
        with rc_context(font_settings("ja" if lang == "ja" or _has_cjk(pages) else lang)):
            metadata = {
                "Title": f"{protocol.identification.study_id} casebook {records.subject_key}",
                "Author": "mmtrial",
                "Creator": f"mmtrial {mmtrial.__version__}",
                "CreationDate": now,
            }
            with PdfPages(temp_name, metadata=metadata) as pdf:
                draw(pdf, pages, header=header, footer=footer, page_word=text("page", lang))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp_name, 0o666 & ~umask)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return hashlib.sha256(target.read_bytes()).hexdigest()
