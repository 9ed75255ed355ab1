"""Records of the study database. Models hold fields and constraints; services write them.

Every clinical record carries `version` (optimistic concurrency) and is changed only through
`mmtrial.edc.services`, which writes the audit event in the same transaction.
"""

from mmtrial.edc.models.accountability import DrugAccountability
from mmtrial.edc.models.assessments import (
    AdverseEvent,
    Death,
    DiseaseAssessment,
    EndOfTreatment,
    FollowUpContact,
    LabResult,
    ResponseAssessment,
    ResponseSummary,
)
from mmtrial.edc.models.audit import AuditChainHead, AuditEvent
from mmtrial.edc.models.deviations import Deviation
from mmtrial.edc.models.imports import LabImport, LabImportStatus
from mmtrial.edc.models.people import Membership, Participant, Screening, Site, User
from mmtrial.edc.models.randomization import Allocation, RandomizationKey, Unblinding
from mmtrial.edc.models.safety import SaeReport, SaeReportKind
from mmtrial.edc.models.security import (
    ApiToken,
    CommandLineToken,
    PasswordHistory,
    SecurityPolicy,
)
from mmtrial.edc.models.treatment import Cycle, DoseAdministration, RenalDoseDecision, Visit
from mmtrial.edc.models.trust import Query, QueryMessage, Signature

__all__ = [
    "AdverseEvent",
    "Allocation",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "CommandLineToken",
    "Cycle",
    "Death",
    "Deviation",
    "DiseaseAssessment",
    "DoseAdministration",
    "DrugAccountability",
    "EndOfTreatment",
    "FollowUpContact",
    "LabImport",
    "LabImportStatus",
    "LabResult",
    "Membership",
    "Participant",
    "PasswordHistory",
    "Query",
    "QueryMessage",
    "RandomizationKey",
    "RenalDoseDecision",
    "ResponseAssessment",
    "ResponseSummary",
    "SaeReport",
    "SaeReportKind",
    "Screening",
    "SecurityPolicy",
    "Signature",
    "Site",
    "Unblinding",
    "User",
    "Visit",
]
