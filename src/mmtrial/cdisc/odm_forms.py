"""The study's forms as ODM metadata and casebook sections: which study event each record type
belongs to, its form and item group, and the label of every field in English and Japanese.

One catalogue serves the ODM export (`cdisc.odm`) and the casebooks (`cdisc.casebook`), so the
inspector's PDF and the electronic copy name the same forms and fields. Items are the record
types' fields (their database names, `IT.LABRESULT.COLLECTED_ON`); a field added to a model
appears in both without a change here (its label then falls back to the field's own name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Fields that are bookkeeping, not data: the record's id is the item group's repeat key, the
#: version and timestamps are the audit trail's, and a deletion is the ODM Remove transaction;
#: the lab import a result came from is in its audit record's context (file, SHA-256).
BOOKKEEPING = frozenset(
    {"id", "version", "created_at", "updated_at", "is_deleted", "lab_import_id"}
)


@dataclass(frozen=True)
class StudyEvent:
    oid: str
    name_en: str
    name_ja: str
    repeating: bool
    type: str  # ODM EventType: Scheduled, Unscheduled, Common


@dataclass(frozen=True)
class FormSpec:
    model: str
    name_en: str
    name_ja: str

    @property
    def form_oid(self) -> str:
        return f"FORM.{self.model.upper()}"

    @property
    def item_group_oid(self) -> str:
        return f"IG.{self.model.upper()}"

    def name(self, lang: str) -> str:
        return self.name_ja if lang == "ja" else self.name_en


SCREENING = StudyEvent(
    "SE.SCREENING", "Screening and enrolment", "スクリーニング・登録", False, "Scheduled"
)
CYCLE = StudyEvent("SE.CYCLE", "Treatment cycle", "治療サイクル", True, "Scheduled")
END_OF_TREATMENT = StudyEvent("SE.EOT", "End of treatment", "投与終了", False, "Scheduled")
FOLLOW_UP = StudyEvent("SE.FOLLOWUP", "Follow-up", "追跡調査", False, "Scheduled")
COMMON = StudyEvent(
    "SE.COMMON", "Assessments across the study", "試験期間を通じた評価", False, "Common"
)
STUDY_EVENTS = (SCREENING, CYCLE, END_OF_TREATMENT, FOLLOW_UP, COMMON)

FORMS: dict[str, FormSpec] = {
    spec.model: spec
    for spec in (
        FormSpec("participant", "Participant", "被験者登録"),
        FormSpec("screening", "Screening and eligibility", "スクリーニング・適格性"),
        FormSpec("cycle", "Treatment cycle and dose decision", "治療サイクルと用量判定"),
        FormSpec("doseadministration", "Dose administration", "投与記録"),
        FormSpec("visit", "Visit", "来院"),
        FormSpec("labresult", "Laboratory result", "臨床検査結果"),
        FormSpec("diseaseassessment", "Disease assessment", "病勢評価"),
        FormSpec("responseassessment", "Response assessment (IMWG)", "効果判定（IMWG）"),
        FormSpec("responsesummary", "Best overall response (IMWG)", "最良総合効果（IMWG）"),
        FormSpec("adverseevent", "Adverse event", "有害事象"),
        FormSpec("endoftreatment", "End of treatment", "投与終了"),
        FormSpec("followupcontact", "Follow-up contact", "追跡調査"),
        FormSpec("death", "Death", "死亡"),
        FormSpec("drugaccountability", "Drug accountability", "治験薬管理"),
        FormSpec("saereport", "SAE report to the sponsor", "重篤な有害事象の報告"),
    )
}

#: The forms of each study event, in the order a casebook shows them.
EVENT_FORMS: dict[str, tuple[str, ...]] = {
    SCREENING.oid: ("participant", "screening"),
    CYCLE.oid: ("cycle", "visit", "doseadministration", "drugaccountability"),
    END_OF_TREATMENT.oid: ("endoftreatment", "visit"),
    FOLLOW_UP.oid: ("followupcontact", "visit", "death"),
    COMMON.oid: (
        "labresult",
        "diseaseassessment",
        "responseassessment",
        "responsesummary",
        "adverseevent",
        "saereport",
    ),
}

_VISIT_EVENTS = {
    "treatment": CYCLE.oid,
    "end_of_treatment": END_OF_TREATMENT.oid,
    "follow_up": FOLLOW_UP.oid,
}


def placement(
    model: str, row: dict[str, Any], *, cycle_numbers: dict[int, int]
) -> tuple[str, str | None]:
    """(study event OID, study event repeat key) of a record; the cycle number keys a cycle."""
    if model in ("participant", "screening"):
        return SCREENING.oid, None
    if model == "cycle":
        return CYCLE.oid, str(row["number"])
    if model == "doseadministration":
        return CYCLE.oid, str(cycle_numbers.get(row["cycle_id"], 0))
    if model == "visit":
        event = _VISIT_EVENTS.get(row.get("kind"), COMMON.oid)
        if event == CYCLE.oid:
            return event, str(row.get("cycle_number") or 0)
        return event, None
    if model == "drugaccountability":
        return CYCLE.oid, str(row.get("cycle_number") or 0)
    if model == "endoftreatment":
        return END_OF_TREATMENT.oid, None
    if model in ("followupcontact", "death"):
        return FOLLOW_UP.oid, None
    return COMMON.oid, None


#: Field labels in Japanese (English labels are the fields' own names, capitalised).
LABELS_JA: dict[str, str] = {
    "participant_id": "被験者（内部ID）",
    "site_id": "施設（内部ID）",
    "screening_number": "スクリーニング番号",
    "subject_id": "被験者識別コード",
    "sex": "性別",
    "year_of_birth": "生年",
    "protocol_version": "治験実施計画書の版",
    "status": "状態",
    "consent_date": "同意取得日",
    "enrolled_on": "登録日",
    "c1d1_date": "初回投与日（C1D1）",
    "locked": "ロック",
    "screened_on": "スクリーニング日",
    "values": "スクリーニング値",
    "answers": "治験責任医師の回答",
    "result": "適格性判定",
    "eligible": "適格",
    "number": "サイクル番号",
    "start_date": "開始日",
    "planned_doses_mg": "計画投与量（mg）",
    "decision": "用量判定",
    "alternation_state": "交互減量の状態",
    "engine_version": "判定エンジンの版",
    "cycle_id": "サイクル（内部ID）",
    "drug": "薬剤",
    "day": "日",
    "date": "日付",
    "planned_dose_mg": "計画投与量（mg）",
    "taken_dose_mg": "実投与量（mg）",
    "reason": "理由",
    "code": "来院コード",
    "kind": "種類",
    "cycle_number": "サイクル番号",
    "planned_date": "予定日",
    "window_start": "許容範囲の開始日",
    "window_end": "許容範囲の終了日",
    "actual_date": "実施日",
    "weight_kg": "体重（kg）",
    "notes": "備考",
    "visit_id": "来院（内部ID）",
    "analyte": "検査項目",
    "value": "値",
    "value_text": "定性結果",
    "unit": "単位",
    "reported_value": "報告値",
    "reported_unit": "報告単位",
    "collected_on": "採取日",
    "source": "検査機関",
    "accession": "検体番号",
    "assessed_on": "評価日",
    "serum_ife": "血清免疫固定法",
    "urine_ife": "尿免疫固定法",
    "bone_marrow_plasma_cells_pct": "骨髄形質細胞（%）",
    "bone_marrow_clonal_cells": "骨髄クローナル細胞",
    "plasmacytoma_spd_cm2": "形質細胞腫のSPD（cm2）",
    "new_lesion": "新病変",
    "assessment_date": "評価日",
    "derived_response": "判定された効果（IMWG）",
    "derived_confirmed": "確定",
    "reasons": "判定理由",
    "findings": "判定所見（コードと値）",
    "investigator_response": "治験責任医師の効果判定",
    "followed": "測定対象パラメータ",
    "best_overall_response": "最良総合効果",
    "best_overall_response_date": "最良総合効果の日付",
    "response_date": "奏効日",
    "progression_date": "増悪日",
    "term": "有害事象名（報告）",
    "ctcae_term": "CTCAE用語",
    "grade": "グレード",
    "end_date": "終了日",
    "serious": "重篤",
    "nonhematologic": "非血液毒性",
    "with_pain": "疼痛あり",
    "attribution": "因果関係",
    "action_taken": "処置",
    "led_to_discontinuation": "投与中止に至った",
    "meddra_code": "MedDRAコード（LLT）",
    "sae_death": "重篤性：死亡",
    "sae_life_threatening": "重篤性：生命を脅かす",
    "sae_hospitalization": "重篤性：入院または入院期間の延長",
    "sae_disability": "重篤性：永続的または顕著な障害・機能不全",
    "sae_congenital_anomaly": "重篤性：先天異常",
    "sae_other_important": "重篤性：その他の医学的に重要な状態",
    "outcome": "転帰",
    "actions": "治験薬ごとの処置",
    "dose_links": "処置に関連する投与記録",
    "aware_at": "施設の認知日時",
    "last_dose_date": "最終投与日",
    "details": "詳細",
    "contact_date": "連絡日",
    "alive": "生存",
    "new_anticancer_therapy": "新たな抗がん治療",
    "new_therapy_start_date": "新たな治療の開始日",
    "death_date": "死亡日",
    "cause": "死因",
    "reported_by_id": "報告者（内部ID）",
}

#: Field labels in English where the field's own name says less than it should.
LABELS_EN: dict[str, str] = {
    "subject_id": "Subject id",
    "participant_id": "Participant (internal id)",
    "site_id": "Site (internal id)",
    "cycle_id": "Cycle (internal id)",
    "visit_id": "Visit (internal id)",
    "reported_by_id": "Reported by (internal user id)",
    "c1d1_date": "First dose (C1D1)",
    "values": "Screening values",
    "answers": "Investigator's answers",
    "result": "Eligibility result",
    "derived_response": "Derived response (IMWG)",
    "derived_confirmed": "Derived response confirmed",
    "findings": "Findings (codes and values)",
    "followed": "Parameters followed",
}


def field_label(attname: str, lang: str) -> str:
    if lang == "ja" and attname in LABELS_JA:
        return LABELS_JA[attname]
    if attname in LABELS_EN:
        return LABELS_EN[attname]
    words = attname.replace("_", " ")
    return words[:1].upper() + words[1:]


def item_oid(model: str, attname: str) -> str:
    return f"IT.{model.upper()}.{attname.upper()}"


def data_fields(model_class) -> list[Any]:
    """The model's concrete fields that are data (not bookkeeping), in model order."""
    return [f for f in model_class._meta.concrete_fields if f.attname not in BOOKKEEPING]
