"""Every page of the web interface for one demo user: each URL pattern of mmtrial.web.urls with
its parameters taken from the demo's records the user may see (the Japanese sweep).

A pattern is either resolved here (RESOLVERS, by URL name) or left out with its reason
(NOT_PAGES); a new pattern in neither fails the sweep, so no page escapes it. A couple of
records per pattern are enough (the same template), except the participant's page, shown for
one participant of each status and of each demo role (signed, locked, SAE, deviation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.urls import URLPattern, URLResolver, reverse

from mmtrial.web import urls
from mmtrial.web.middleware import PUBLIC_URL_NAMES

__all__ = [
    "ACTIONS",
    "NOT_IN_THE_DEMO",
    "NOT_PAGES",
    "PUBLIC_PAGES",
    "RESOLVERS",
    "pages_for",
    "reverse",
]

PUBLIC_PAGES = PUBLIC_URL_NAMES  # opened also without logging in
# Actions taken by a POST (a GET answers 405 with no text) and the language switch (a redirect).
ACTIONS = frozenset(
    {
        "logout",
        "set_language",
        "sign",
        "lock",
        "visit_lock",
        "api_token_revoke",
        "deviation_resolve",
    }
)
# Pages the demo study has no record for, so every role gets the 403 or 404 page (swept too).
NOT_IN_THE_DEMO = {
    "emergency_unblind": "the demo study is open-label and single-arm: nobody unblinds (403)",
    "renal_decision": "no demo cycle waits for the investigator's renal decision (404, 403)",
}
PER_PATTERN = 2  # records per URL pattern beyond the participant's own page

# Left out of the sweep, with the reason; everything else of mmtrial.web.urls is swept.
NOT_PAGES = {
    "api/v1/": "the REST API answers JSON (and ninja's Swagger UI), not pages of this interface",
    "admin/": "the Django admin, for the operator; Django translates its own pages",
    "static": "the stylesheet, htmx and the admin's files",
}


def pattern_key(pattern) -> str:
    """A URL pattern's name, or its route for a pattern without one (an include)."""
    return getattr(pattern, "name", None) or str(pattern.pattern)


def url_patterns() -> list[URLPattern | URLResolver]:
    return list(urls.urlpatterns)


@dataclass
class Records:
    """The demo's records one user may see, chosen once per user."""

    user: object
    participants: list = field(default_factory=list)

    @classmethod
    def for_user(cls, user) -> Records:
        from mmtrial.edc.models import Participant
        from mmtrial.edc.selectors.sites import site_list

        visible = Participant.objects.filter(site__in=site_list(user=user)).order_by("pk")
        return cls(user=user, participants=list(visible.select_related("site")))

    @property
    def ids(self) -> list[int]:
        return [p.pk for p in self.participants]

    def with_status(self, *statuses: str) -> list:
        return [p for p in self.participants if p.status in statuses]

    def showcase(self) -> list:
        """One participant per status, and one per demo feature the page shows differently."""
        from mmtrial.edc.models import AdverseEvent, Deviation, Query, Signature

        chosen: dict[int, object] = {}
        for status in dict.fromkeys(p.status for p in self.participants):
            first = self.with_status(status)[0]
            chosen.setdefault(first.pk, first)
        featured = [
            Signature.objects.filter(participant_id__in=self.ids),
            Query.objects.filter(participant_id__in=self.ids),
            Deviation.objects.filter(participant_id__in=self.ids),
            AdverseEvent.objects.filter(participant_id__in=self.ids, serious=True),
        ]
        by_pk = {p.pk: p for p in self.participants}
        for rows in featured:
            row = rows.order_by("pk").first()
            if row is not None:
                chosen.setdefault(row.participant_id, by_pk[row.participant_id])
        for p in self.participants:
            if p.locked:
                chosen.setdefault(p.pk, p)
                break
        return list(chosen.values())

    def treated(self) -> list:
        """A participant on treatment and one after it: the entry pages of each."""
        on = self.with_status("on_treatment")[:1]
        after = self.with_status("off_treatment", "follow_up", "died", "withdrawn")[:1]
        return (on + after) or self.participants[:PER_PATTERN]

    def screening(self) -> list:
        return (self.with_status("screening") + self.with_status("screen_failed"))[:PER_PATTERN]


def _distinct(rows, key: Callable, limit: int = PER_PATTERN) -> list:
    """Up to `limit` rows with different keys (a different status, source, origin...)."""
    chosen, keys = [], set()
    for row in rows:
        k = key(row)
        if k in keys:
            continue
        keys.add(k)
        chosen.append(row)
        if len(chosen) == limit:
            break
    return chosen


def _of_participants(model, records: Records, key, **filters) -> list:
    rows = model.objects.filter(participant_id__in=records.ids, **filters).order_by("pk")
    return _distinct(rows.iterator(), key)


def _participant(ps) -> list[dict]:
    return [{"pk": p.pk} for p in ps]


def _labs(r):
    from mmtrial.edc.models import LabResult

    rows = _of_participants(LabResult, r, lambda x: x.source, is_deleted=False)
    return [{"pk": x.participant_id, "lab_pk": x.pk} for x in rows]


def _assessments(r):
    from mmtrial.edc.models import DiseaseAssessment

    rows = _of_participants(DiseaseAssessment, r, lambda x: x.participant_id)
    return [{"pk": x.participant_id, "assessment_pk": x.pk} for x in rows]


def _cycles(r):
    from mmtrial.edc.models import Cycle

    rows = _of_participants(Cycle, r, lambda x: bool(x.decision.get("changes")))
    return [{"pk": x.participant_id, "number": x.number} for x in rows]


def _visits(r):
    from mmtrial.edc.models import Visit

    rows = _of_participants(Visit, r, lambda x: x.status)
    return [{"pk": x.participant_id, "visit_pk": x.pk} for x in rows]


def _aes(r, **filters):
    from mmtrial.edc.models import AdverseEvent

    rows = _of_participants(AdverseEvent, r, lambda x: x.serious, **filters)
    return [{"pk": x.participant_id, "ae_pk": x.pk} for x in rows]


def _queries(r):
    from mmtrial.edc.models import Query

    rows = _of_participants(Query, r, lambda x: (x.origin, x.status))
    return [{"pk": x.pk} for x in rows]


def _audited_records(r):
    from mmtrial.edc.models import AuditEvent, Participant

    subjects = Participant.objects.filter(pk__in=r.ids).values_list("subject_id", flat=True)
    events = AuditEvent.objects.filter(subject__in=list(subjects)).exclude(model="")
    rows = _distinct(events.order_by("id").iterator(), lambda e: e.model, limit=3)
    return [{"model": e.model, "object_pk": e.object_pk} for e in rows]


def _deviations(r):
    from mmtrial.edc.models import Deviation

    rows = _of_participants(Deviation, r, lambda x: x.status)
    return [{"dev_pk": x.pk} for x in rows]


def _tokens(r):
    from mmtrial.edc.models.security import ApiToken

    return [{"token_id": t.pk} for t in ApiToken.objects.filter(user=r.user)[:1]]


NONE: list[dict] = [{}]

# URL name -> the keyword arguments of the pages to show (from the user's records).
RESOLVERS: dict[str, Callable[[Records], list[dict]]] = {
    "home": lambda r: NONE,
    "login": lambda r: NONE,
    "logout": lambda r: NONE,
    "set_language": lambda r: NONE,
    "password_change": lambda r: NONE,
    "participant_list": lambda r: NONE,
    "screening_new": lambda r: NONE,
    "participant_detail": lambda r: _participant(r.showcase()),
    "screening": lambda r: _participant(r.screening()),
    "enroll": lambda r: _participant(r.screening()),
    "entry_menu": lambda r: _participant(r.treated()),
    "emergency_unblind": lambda r: _participant(r.treated()[:1]),
    "lab_new": lambda r: _participant(r.treated()),
    "lab_edit": _labs,
    "disease_new": lambda r: _participant(r.treated()),
    "disease_edit": _assessments,
    "investigator_response": lambda r: _participant(r.treated()),
    "cycle_new": lambda r: _participant(r.treated()),
    "renal_decision": lambda r: _participant(r.treated()),
    "doses_edit": _cycles,
    "accountability_edit": _cycles,
    "visit_edit": _visits,
    "visit_lock": _visits,
    "ae_new": lambda r: _participant(r.treated()),
    "ae_edit": _aes,
    "end_of_treatment": lambda r: _participant(r.treated()),
    "follow_up_new": lambda r: _participant(r.treated()),
    "death": lambda r: _participant(r.treated()),
    "query_raise": lambda r: _participant(r.treated()[:1]),
    "participant_audit": lambda r: _participant(r.treated()[:1]),
    "sign_lock": lambda r: _participant(
        [p for p in r.showcase() if p.locked or p.status == "on_treatment"][:PER_PATTERN]
    ),
    "sign": lambda r: _participant(r.treated()[:1]),
    "lock": lambda r: _participant(r.treated()[:1]),
    "worklist": lambda r: NONE,
    "worklist_pdf": lambda r: NONE,
    "query_inbox": lambda r: NONE,
    "query_detail": _queries,
    "record_audit": _audited_records,
    "api_tokens": lambda r: NONE,
    "deviation_list": lambda r: NONE,
    "deviation_new": lambda r: _participant(r.treated()[:1]),
    "deviation_resolve": _deviations,
    "api_token_revoke": _tokens,
    "central_monitoring": lambda r: NONE,
    "sae_clocks": lambda r: NONE,
    "ae_grade_options": lambda r: NONE,
    "sae_report_new": lambda r: _aes(r, serious=True),
}

# Query strings that show a page another way (filters, views, the htmx fragment's input).
VARIANTS: dict[str, list[str]] = {
    "participant_list": ["?status=on_treatment", "?q=no-such-participant", "?response=PR"],
    "worklist": ["?view=month", "?view=week"],
    "query_inbox": ["?status=closed", "?status=answered"],
    "deviation_list": ["?status=resolved"],
    "ae_grade_options": [
        "?ctcae_term=Platelet+count+decreased",
        "?ctcae_term=Peripheral+sensory+neuropathy",
        "?ctcae_term=no-such-term",
    ],
}


def unresolved_patterns() -> list[str]:
    """URL patterns the sweep would not show: neither resolved nor left out with a reason."""
    return [
        pattern_key(p)
        for p in url_patterns()
        if pattern_key(p) not in RESOLVERS and pattern_key(p) not in NOT_PAGES
    ]


def pages_for(user) -> Iterator[tuple[str, str]]:
    """(URL name, URL) of every page the sweep shows `user`."""
    records = Records.for_user(user)
    for pattern in url_patterns():
        name = pattern_key(pattern)
        if name in NOT_PAGES:
            continue
        for kwargs in RESOLVERS[name](records):
            url = reverse(name, kwargs=kwargs or None)
            yield name, url
            for query in VARIANTS.get(name, []) if not kwargs else []:
                yield name, url + query
