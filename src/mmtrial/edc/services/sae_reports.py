"""SAE reports to the sponsor (initial and follow-up) and the overdue-report query.

Each report is a record of its own, written through the unit of work (audited in the same
transaction). The reporting clock is `clinical.sae_clock`; `sae_overdue_queries` opens one
system query (origin "sae_overdue") on each serious adverse event whose initial report is past
its deadline, once: a query already opened for it, in any state, is not opened again.
"""

from __future__ import annotations

import datetime as dt

from mmtrial.clinical.sae_clock import sae_clock
from mmtrial.edc.models import AdverseEvent, Query, SaeReport, SaeReportKind
from mmtrial.edc.models.trust import QueryOrigin
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._records import record_create
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, NotFound

__all__ = [
    "SAE_OVERDUE_QUERY",
    "sae_overdue_queries",
    "sae_report_record",
]

SAE_NOT_FOUND = "Adverse event {pk} was not found among the records you may see."
SAE_NOT_SERIOUS = "Adverse event {pk} is not serious: only a serious adverse event is reported."
SAE_NO_AWARENESS = (
    "Adverse event {pk} has no date and time of the site's awareness: record it on the adverse "
    "event first."
)
SAE_INITIAL_EXISTS = "Adverse event {pk} already has its initial report; send a follow-up."
SAE_FOLLOW_UP_FIRST = "Adverse event {pk} has no initial report yet: send the initial report first."
SAE_SENT_BEFORE_AWARE = "sent at: {sent} is before the site became aware of the event ({aware})"
SAE_SENT_NAIVE = "sent at: the date and time needs its time zone"
SAE_SUMMARY_REQUIRED = "summary: say what the report contains"
SAE_KIND_UNKNOWN = "kind: {kind!r} must be initial or follow_up"
SAE_OVERDUE_QUERY = (
    "The initial report of serious adverse event {term} (aware {aware}) has not reached the "
    "sponsor: {reason}. Send it now and record it."
)


@acting
@writes
def sae_report_record(
    *,
    user,
    ae_id: int,
    kind: str,
    sent_at: dt.datetime,
    summary: str,
) -> SaeReport:
    """Record that the site sent an initial or follow-up report of a serious adverse event."""
    ae = AdverseEvent.objects.filter(pk=ae_id, is_deleted=False).first()
    if ae is None:
        raise NotFound.coded(SAE_NOT_FOUND, {"id": ae_id}, pk=ae_id)
    try:
        participant = participant_for(
            user=user, participant_id=ae.participant_id, action=Action.ENTER_DATA
        )
    except NotFound:
        raise NotFound.coded(SAE_NOT_FOUND, {"id": ae_id}, pk=ae_id) from None
    if kind not in SaeReportKind.values:
        raise InputError.coded(SAE_KIND_UNKNOWN, {"field": "kind"}, kind=kind)
    if not ae.serious:
        raise InputError.coded(SAE_NOT_SERIOUS, {"field": "adverse_event"}, pk=ae_id)
    if ae.aware_at is None:
        raise InputError.coded(SAE_NO_AWARENESS, {"field": "aware_at"}, pk=ae_id)
    if sent_at.tzinfo is None or sent_at.utcoffset() is None:
        raise InputError(SAE_SENT_NAIVE, {"field": "sent_at"})
    if sent_at < ae.aware_at:
        raise InputError.coded(
            SAE_SENT_BEFORE_AWARE,
            {"field": "sent_at"},
            sent=sent_at.isoformat(),
            aware=ae.aware_at.isoformat(),
        )
    if not (summary or "").strip():
        raise InputError(SAE_SUMMARY_REQUIRED, {"field": "summary"})
    has_initial = SaeReport.objects.filter(
        adverse_event=ae, kind=SaeReportKind.INITIAL, is_deleted=False
    ).exists()
    if kind == SaeReportKind.INITIAL and has_initial:
        raise InputError.coded(SAE_INITIAL_EXISTS, {"field": "kind"}, pk=ae_id)
    if kind == SaeReportKind.FOLLOW_UP and not has_initial:
        raise InputError.coded(SAE_FOLLOW_UP_FIRST, {"field": "kind"}, pk=ae_id)
    return record_create(
        SaeReport(
            participant=participant,
            adverse_event=ae,
            kind=kind,
            sent_at=sent_at,
            sent_by=user,
            summary=summary.strip(),
        )
    )


def _initially_reported():
    return SaeReport.objects.filter(kind=SaeReportKind.INITIAL, is_deleted=False).values(
        "adverse_event_id"
    )


@writes
def sae_overdue_queries(*, now: dt.datetime) -> list[Query]:
    """Open the overdue-report query on each serious AE past its deadline, once (module doc).

    Returns the queries opened now. A system step (no user): the CLI and the scheduler call it.
    """
    from mmtrial.edc.services.queries import query_open

    open_aes = (
        AdverseEvent.objects.filter(serious=True, is_deleted=False, aware_at__isnull=False)
        .exclude(pk__in=_initially_reported())
        .select_related("participant__site")
        .order_by("aware_at", "pk")
    )
    already = set(
        Query.objects.filter(model="adverseevent", origin=QueryOrigin.SAE_OVERDUE).values_list(
            "object_pk", flat=True
        )
    )
    opened = []
    for ae in open_aes:
        if str(ae.pk) in already or ae.participant.locked:
            continue
        site_tz = ae.participant.site.timezone
        clock = sae_clock(
            aware_at=ae.aware_at, now=now, protocol=protocol_of(ae.participant), site_tz=site_tz
        )
        if clock.state != "overdue":
            continue
        opened.append(
            query_open(
                user=None,
                participant=ae.participant,
                model="adverseevent",
                object_pk=ae.pk,
                field="aware_at",
                text=SAE_OVERDUE_QUERY.format(
                    term=ae.ctcae_term or ae.term,
                    aware=clock.aware_at.strftime("%Y-%m-%d %H:%M %Z"),
                    reason=clock.reason,
                ),
                origin=QueryOrigin.SAE_OVERDUE,
            )
        )
    return opened
