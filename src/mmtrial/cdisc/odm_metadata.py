"""The Study (metadata) and AdminData elements of the ODM 1.3.2 export.

The study's identity and design come from the protocol file (`Protocol`): study and protocol
names, the metadata version (the protocol version and its effective date), the study events
with the regimen, visit plan and assessment schedule as their descriptions, and the drugs as a
codelist. Forms, item groups and items come from the EDC's record types (`cdisc.odm_forms`);
codelists from their fields' choices.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from mmtrial.cdisc import odm_forms
from mmtrial.protocol import Protocol

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SYSTEM_USER_OID = "USR.SYSTEM"

#: Django field types -> ODM 1.3.2 DataType.
_DATA_TYPES = {
    "CharField": "text",
    "TextField": "text",
    "DecimalField": "float",
    "FloatField": "float",
    "DateField": "date",
    "DateTimeField": "datetime",
    "BooleanField": "boolean",
    "PositiveIntegerField": "integer",
    "PositiveSmallIntegerField": "integer",
    "IntegerField": "integer",
    "SmallIntegerField": "integer",
    "BigIntegerField": "integer",
    "ForeignKey": "integer",
    "OneToOneField": "integer",
    "JSONField": "text",
}


def E(tag: str, attrib: dict[str, Any] | None = None, *children: ET.Element, text=None):
    """An ODM element: attributes with None values are left out."""
    element = ET.Element(tag, {k: str(v) for k, v in (attrib or {}).items() if v is not None})
    element.extend(children)
    if text is not None:
        element.text = str(text)
    return element


def translated(tag: str, texts: dict[str, str]) -> ET.Element:
    """Description / Question / Decode with one TranslatedText per language."""
    return E(
        tag,
        None,
        *[E("TranslatedText", {XML_LANG: lang}, text=value) for lang, value in texts.items()],
    )


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _days(days: list[int]) -> str:
    return ", ".join(str(d) for d in days)


def study_oid(protocol: Protocol) -> str:
    return f"ST.{protocol.identification.study_id}"


def metadata_version_oid(protocol: Protocol) -> str:
    ident = protocol.identification
    return f"MDV.{ident.study_id}.{ident.version}"


def data_type(field) -> str:
    return _DATA_TYPES.get(field.get_internal_type(), "text")


def _event_descriptions(protocol: Protocol) -> dict[str, str]:
    regimen = "; ".join(
        f"{protocol.drugs[key].name} {_num(entry.dose)} {entry.unit} {entry.route}, "
        f"days {_days(entry.days)}"
        for key, entry in protocol.regimen.items()
    )
    visits = "; ".join(
        f"cycles {plan.cycles.first}-{plan.cycles.last or 'on'}: days {_days(plan.days)}"
        for plan in protocol.visits.treatment
    )
    eot = protocol.visits.end_of_treatment
    ra, fu = protocol.response_assessment, protocol.follow_up
    return {
        odm_forms.SCREENING.oid: (
            f"Consent, screening against {len(protocol.eligibility)} eligibility criteria "
            "and enrolment."
        ),
        odm_forms.CYCLE.oid: (
            f"A {protocol.cycle_length_days}-day cycle (repeat key = cycle number): {regimen}. "
            f"Treatment visits: {visits}."
        ),
        odm_forms.END_OF_TREATMENT.oid: (
            f"End-of-treatment visit {eot.days_after_end_of_treatment} "
            f"(-{eot.before_days}/+{eot.after_days}) days after the last dose."
        ),
        odm_forms.FOLLOW_UP.oid: (
            f"Contact every {fu.interval_days} days after {fu.starts_after} until {fu.until}."
        ),
        odm_forms.COMMON.oid: (
            f"Laboratory results, disease and response assessments ({ra.criteria}, every "
            f"{ra.interval_days} days until {ra.until}) and adverse events (CTCAE v5.0)."
        ),
    }


def study_element(protocol: Protocol, models: dict[str, Any]) -> ET.Element:
    """The Study element: global variables, and one metadata version from the protocol file.

    `models`: EDC model name -> model class (the record types of `odm_forms.FORMS`).
    """
    ident = protocol.identification
    mdv = E(
        "MetaDataVersion",
        {
            "OID": metadata_version_oid(protocol),
            "Name": f"{ident.short_title}, protocol version {ident.version}",
            "Description": (
                f"Protocol {ident.study_id} version {ident.version} effective "
                f"{ident.effective_date.isoformat()}: phase {ident.phase}, {ident.design}; "
                f"{ident.population}. Sponsor: {ident.sponsor}."
            ),
        },
    )
    descriptions = _event_descriptions(protocol)
    mdv.append(
        E(
            "Protocol",
            None,
            translated("Description", {"en": ident.title}),
            *[
                E("StudyEventRef", {"StudyEventOID": ev.oid, "OrderNumber": i, "Mandatory": "No"})
                for i, ev in enumerate(odm_forms.STUDY_EVENTS, start=1)
            ],
        )
    )
    for event in odm_forms.STUDY_EVENTS:
        mdv.append(
            E(
                "StudyEventDef",
                {
                    "OID": event.oid,
                    "Name": event.name_en,
                    "Repeating": "Yes" if event.repeating else "No",
                    "Type": event.type,
                },
                translated("Description", {"en": descriptions[event.oid], "ja": event.name_ja}),
                *[
                    E(
                        "FormRef",
                        {
                            "FormOID": odm_forms.FORMS[m].form_oid,
                            "OrderNumber": i,
                            "Mandatory": "No",
                        },
                    )
                    for i, m in enumerate(odm_forms.EVENT_FORMS[event.oid], start=1)
                ],
            )
        )
    for spec in odm_forms.FORMS.values():
        mdv.append(
            E(
                "FormDef",
                {"OID": spec.form_oid, "Name": spec.name_en, "Repeating": "No"},
                translated("Description", {"en": spec.name_en, "ja": spec.name_ja}),
                E("ItemGroupRef", {"ItemGroupOID": spec.item_group_oid, "Mandatory": "No"}),
            )
        )
    for model, spec in odm_forms.FORMS.items():
        mdv.append(
            E(
                "ItemGroupDef",
                {"OID": spec.item_group_oid, "Name": spec.name_en, "Repeating": "Yes"},
                translated(
                    "Description",
                    {
                        "en": f"{spec.name_en}: one item group per record "
                        "(ItemGroupRepeatKey = the record's id)",
                        "ja": spec.name_ja,
                    },
                ),
                *[
                    E(
                        "ItemRef",
                        {
                            "ItemOID": odm_forms.item_oid(model, f.attname),
                            "Mandatory": "No",
                            "OrderNumber": i,
                        },
                    )
                    for i, f in enumerate(odm_forms.data_fields(models[model]), start=1)
                ],
            )
        )
    codelists: list[ET.Element] = []
    for model in odm_forms.FORMS:
        for field in odm_forms.data_fields(models[model]):
            mdv.append(_item_def(model, field, protocol, codelists))
    for element in codelists:
        mdv.append(element)
    return E(
        "Study",
        {"OID": study_oid(protocol)},
        E(
            "GlobalVariables",
            None,
            E("StudyName", None, text=ident.study_id),
            E("StudyDescription", None, text=ident.title),
            E("ProtocolName", None, text=f"{ident.study_id} ({ident.short_title})"),
        ),
        mdv,
    )


def _item_def(model: str, field, protocol: Protocol, codelists: list[ET.Element]) -> ET.Element:
    oid = odm_forms.item_oid(model, field.attname)
    kind = data_type(field)
    attrs: dict[str, Any] = {"OID": oid, "Name": f"{model}.{field.attname}", "DataType": kind}
    if kind == "text" and getattr(field, "max_length", None):
        attrs["Length"] = field.max_length
    if field.get_internal_type() == "DecimalField":
        attrs["Length"] = field.max_digits
        attrs["SignificantDigits"] = field.decimal_places
    if field.get_internal_type() == "JSONField":
        attrs["Comment"] = "JSON text (keys sorted), as the EDC stores it"
    if field.is_relation:
        attrs["Comment"] = (
            f"internal id of the {field.related_model._meta.model_name} record"
            f" (the ItemGroupRepeatKey of its item group where it has one)"
        )
    children = [
        translated(
            "Question",
            {
                "en": odm_forms.field_label(field.attname, "en"),
                "ja": odm_forms.field_label(field.attname, "ja"),
            },
        )
    ]
    items = _choices(field, protocol, model)
    if items:
        cl_oid = f"CL.{model.upper()}.{field.attname.upper()}"
        children.append(E("CodeListRef", {"CodeListOID": cl_oid}))
        codelists.append(
            E(
                "CodeList",
                {"OID": cl_oid, "Name": f"{model}.{field.attname}", "DataType": "text"},
                *[
                    E(
                        "CodeListItem",
                        {"CodedValue": value, "OrderNumber": i},
                        translated("Decode", labels),
                    )
                    for i, (value, labels) in enumerate(items, start=1)
                ],
            )
        )
    return E("ItemDef", attrs, *children)


def _choices(field, protocol: Protocol, model: str) -> list[tuple[str, dict[str, str]]]:
    if model == "doseadministration" and field.attname == "drug":
        return [(key, {"en": d.name, "ja": d.name_ja}) for key, d in protocol.drugs.items()]
    if not field.choices:
        return []
    return [(str(value), {"en": str(label)}) for value, label in field.choices]


def admin_data_element(
    protocol: Protocol,
    *,
    users: Iterable[Any],
    sites: Iterable[Any],
    meanings: Iterable[str],
    legal_reason: str,
) -> ET.Element:
    """Users (the audit trail's and the signatures' people), sites as locations, and one
    SignatureDef per signature meaning."""
    admin = E("AdminData", {"StudyOID": study_oid(protocol)})
    admin.append(
        E(
            "User",
            {"OID": SYSTEM_USER_OID, "UserType": "Other"},
            E("LoginName", None, text="system"),
            E("DisplayName", None, text="mmtrial (no signed-in user: derivations, imports)"),
        )
    )
    for user in users:
        admin.append(
            E(
                "User",
                {"OID": user_oid(user.pk)},
                E("LoginName", None, text=user.username),
                E("DisplayName", None, text=user.printed_name),
                E("FullName", None, text=user.printed_name),
            )
        )
    mdv_ref = {
        "StudyOID": study_oid(protocol),
        "MetaDataVersionOID": metadata_version_oid(protocol),
        "EffectiveDate": protocol.identification.effective_date.isoformat(),
    }
    for site in sites:
        admin.append(
            E(
                "Location",
                {"OID": location_oid(site.code), "Name": site.name, "LocationType": "Site"},
                E("MetaDataVersionRef", mdv_ref),
            )
        )
    for meaning in meanings:
        admin.append(
            E(
                "SignatureDef",
                {"OID": signature_def_oid(meaning), "Methodology": "Electronic"},
                E("Meaning", None, text=meaning),
                E("LegalReason", None, text=legal_reason),
            )
        )
    return admin


def user_oid(pk: int | None) -> str:
    return SYSTEM_USER_OID if pk is None else f"USR.{pk}"


def location_oid(site_code: str) -> str:
    return f"LOC.{site_code}"


def signature_def_oid(meaning: str) -> str:
    return f"SD.{meaning.upper()}"
