"""Words shown for stored codes (statuses, roles, kinds), in the user's language.

The EDC stores short English codes; the screen shows these translated labels. A code without a
label is shown as stored.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

LABELS: dict[str, dict[str, object]] = {
    "participant_status": {
        "screening": _("Screening in progress"),
        "screen_failed": _("Screen failure"),
        "enrolled": _("Enrolled, not yet dosed"),
        "on_treatment": _("On treatment"),
        "off_treatment": _("Off treatment, followed for progression"),
        "follow_up": _("Survival follow-up after progression"),
        "died": _("Died"),
        "withdrawn": _("Withdrawn"),
    },
    "role": {
        "coordinator": _("Study coordinator"),
        "investigator": _("Investigator"),
        "monitor": _("Monitor"),
        "data_manager": _("Data manager"),
        "statistician": _("Statistician"),
        "sponsor_admin": _("Sponsor administrator"),
    },
    "visit_status": {
        "due": _("Due"),
        "done": _("Done"),
        "out_of_window": _("Done out of window"),
        "missed": _("Missed"),
        "overdue": _("Overdue"),
    },
    "visit_state": {
        "planned": _("Planned"),
        "due_soon": _("Due soon"),
        "due": _("Due"),
        "overdue": _("Overdue"),
        "done": _("Done"),
        "out_of_window": _("Done out of window"),
        "missed": _("Missed"),
    },
    "visit_kind": {
        "treatment": _("Treatment visit"),
        "end_of_treatment": _("End-of-treatment visit"),
        "follow_up": _("Follow-up contact"),
    },
    "dose_status": {
        "planned": _("Planned"),
        "taken": _("Taken as planned"),
        "reduced": _("Taken at a reduced dose"),
        "held": _("Held"),
        "missed": _("Missed"),
    },
    "query_status": {
        "open": _("Open"),
        "answered": _("Answered"),
        "closed": _("Closed"),
    },
    "query_origin": {
        "manual": _("Raised by a person"),
        "edit_check": _("Edit check"),
        "response_disagreement": _("Derived and investigator response differ"),
        "sae_overdue": _("SAE report overdue"),
    },
    "query_message_kind": {
        "open": _("Opened"),
        "answer": _("Answer"),
        "reopen": _("Re-opened"),
        "close": _("Closed"),
    },
    "signature_status": {
        "valid": _("Valid"),
        "invalidated": _("Invalidated by a later change"),
    },
    "lab_source": {
        "central": _("Central laboratory"),
        "local": _("Local laboratory"),
    },
    "response": {
        "sCR": _("Stringent complete response (sCR)"),
        "CR": _("Complete response (CR)"),
        "VGPR": _("Very good partial response (VGPR)"),
        "PR": _("Partial response (PR)"),
        "MR": _("Minimal response (MR)"),
        "SD": _("Stable disease (SD)"),
        "PD": _("Progressive disease (PD)"),
        "NE": _("Not evaluable (NE)"),
    },
    "audit_action": {
        "create": _("Created"),
        "update": _("Changed"),
        "delete": _("Deleted"),
        "signature_invalidated": _("Signature invalidated"),
        "sign": _("Signed"),
        "lock": _("Locked"),
        "unlock": _("Unlocked"),
        "login": _("Logged in"),
        "logout": _("Logged out"),
        "login_failed": _("Login failed"),
        "query_open": _("Query opened"),
        "query_answer": _("Query answered"),
        "query_reopen": _("Query re-opened"),
        "query_close": _("Query closed"),
    },
    "drug": {
        "ixazomib": _("Ixazomib"),
        "lenalidomide": _("Lenalidomide"),
        "dexamethasone": _("Dexamethasone"),
    },
    "dose_decision": {
        "start": _("start the cycle"),
        "delay": _("delay the cycle"),
        "discontinue_drug": _("start the cycle without a discontinued drug"),
        "discontinue_treatment": _("discontinue treatment"),
        "investigator_decision_required": _("wait for the investigator's decision"),
    },
    "cycle_status": {
        "started": _("Started"),
        "delayed": _("Delayed"),
        "completed": _("Completed"),
        "not_started": _("Not started"),
        "awaiting_investigator": _("Needs investigator decision"),
    },
    "record": {
        "participant": _("Participant"),
        "screening": _("Screening"),
        "cycle": _("Cycle"),
        "doseadministration": _("Dose"),
        "visit": _("Visit"),
        "labresult": _("Lab result"),
        "diseaseassessment": _("Disease assessment"),
        "responseassessment": _("Response assessment"),
        "responsesummary": _("Best response"),
        "adverseevent": _("Adverse event"),
        "endoftreatment": _("End of treatment"),
        "followupcontact": _("Follow-up contact"),
        "death": _("Death"),
        "query": _("Query"),
        "signature": _("Signature"),
        "drugaccountability": _("Drug accountability"),
    },
    "api_token_scope": {
        "read": _("Read only"),
        "read_write": _("Read and write"),
    },
    # The protocol file's units that are words (counts and ages); symbols are shown as written.
    "unit": {
        "years": _("years"),
        "lines": _("lines"),
    },
    "criterion": {
        "met": _("Met"),
        "not_met": _("Not met"),
        "missing": _("Missing"),
    },
    "eot_reason": {
        "progressive_disease": _("Progressive disease"),
        "adverse_event": _("Adverse event"),
        "withdrawal": _("Withdrawal of consent"),
        "investigator_decision": _("Investigator's decision"),
        "death": _("Death"),
        "other": _("Other"),
    },
    "ae_action": {
        "none": _("None"),
        "dose_held": _("Dose held"),
        "dose_reduced": _("Dose reduced"),
        "drug_discontinued": _("Drug discontinued"),
        "treatment_discontinued": _("Treatment discontinued"),
        "other": _("Other"),
    },
    "ife": {"positive": _("Positive"), "negative": _("Negative")},
    "clonal_cells": {"present": _("Present"), "absent": _("Absent")},
    "signature_meaning": {
        "approval": _("Approval: I have reviewed these data and approve them"),
        "review": _("Review: I have reviewed these data"),
        "responsibility": _("Responsibility: I am responsible for these data"),
        # as stored by edc.services.signatures (SIGNATURE_MEANINGS), worded as the form offers them
        "Approval": _("Approval: I approve these data"),
        "Review": _("Review: I have reviewed these data"),
        "Authorship": _("Authorship: I entered these data"),
        "Responsibility": _("Responsibility: I am responsible for these data"),
    },
}


def label(code, kind: str) -> str:
    """The translated word for `code` of `kind`; the code itself when it has none.

    A drug is named as the deployment's protocol file names it (`drugs.<key>.name` / `name_ja`),
    so a blinded study's "Ixazomib or placebo" reads the same on every page."""
    if code is None or code == "":
        return ""
    if kind == "drug":
        named = _protocol_drug_name(str(code))
        if named is not None:
            return named
    value = LABELS.get(kind, {}).get(str(code))
    return str(value) if value is not None else str(code)


def _protocol_drug_name(key: str) -> str | None:
    from django.utils.translation import get_language

    from mmtrial.protocol import load_protocol

    drug = load_protocol().drugs.get(key)
    if drug is None:
        return None
    return drug.name_ja if (get_language() or "").startswith("ja") else drug.name


def choices(kind: str) -> list[tuple[str, str]]:
    return [(code, text) for code, text in LABELS[kind].items()]
