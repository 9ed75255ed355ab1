"""Every page of the web interface. Anonymous visitors reach only the login page and the
language switch (mmtrial.web.middleware.PUBLIC_URL_NAMES)."""

from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.views import serve as staticfiles_serve
from django.urls import path
from django.views.decorators.http import require_safe
from django.views.i18n import set_language

from mmtrial.api.app import api
from mmtrial.web.views import (
    accountability,
    api_tokens,
    audit,
    auth,
    blinding,
    dashboard,
    deviations,
    entry,
    kri,
    participants,
    queries,
    safety_sae,
    screening,
    sign_lock,
    treatment,
    worklist,
)

P = "participants/<int:pk>/"

urlpatterns = [
    path("", dashboard.dashboard, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("password/", auth.password_change, name="password_change"),
    path("participants/", participants.participant_list_view, name="participant_list"),
    path("participants/new/", screening.participant_new, name="screening_new"),
    path(P, participants.participant_detail, name="participant_detail"),
    path(P + "screening/", screening.screening, name="screening"),
    path(P + "enroll/", screening.enroll, name="enroll"),
    path(P + "entry/", participants.entry_menu, name="entry_menu"),
    path(P + "unblind/", blinding.emergency_unblind_view, name="emergency_unblind"),
    path(P + "labs/new/", entry.lab_new, name="lab_new"),
    path(P + "labs/<int:lab_pk>/", entry.lab_edit, name="lab_edit"),
    path(P + "disease/new/", entry.disease_new, name="disease_new"),
    path(P + "disease/<int:assessment_pk>/", entry.disease_edit, name="disease_edit"),
    path(P + "response/", entry.investigator_response, name="investigator_response"),
    path(P + "cycles/new/", treatment.cycle_new, name="cycle_new"),
    path(P + "cycles/renal-decision/", treatment.renal_decision, name="renal_decision"),
    path(P + "cycles/<int:number>/doses/", treatment.doses_edit, name="doses_edit"),
    path(
        P + "cycles/<int:number>/accountability/",
        accountability.accountability_edit,
        name="accountability_edit",
    ),
    path(P + "visits/<int:visit_pk>/", treatment.visit_edit, name="visit_edit"),
    path(P + "visits/<int:visit_pk>/lock/", sign_lock.visit_lock_view, name="visit_lock"),
    path(P + "adverse-events/new/", entry.ae_new, name="ae_new"),
    path(P + "adverse-events/<int:ae_pk>/", entry.ae_edit, name="ae_edit"),
    path(P + "end-of-treatment/", entry.end_of_treatment, name="end_of_treatment"),
    path(P + "follow-up/new/", entry.follow_up_new, name="follow_up_new"),
    path(P + "death/", entry.death, name="death"),
    path(P + "queries/new/", queries.raise_query, name="query_raise"),
    path(P + "audit/", audit.participant_audit, name="participant_audit"),
    path(P + "sign-lock/", sign_lock.sign_lock, name="sign_lock"),
    path(P + "sign/", sign_lock.sign, name="sign"),
    path(P + "lock/", sign_lock.lock, name="lock"),
    path("worklist/", worklist.worklist_page, name="worklist"),
    path("worklist.pdf", worklist.worklist_pdf_view, name="worklist_pdf"),
    path("queries/", queries.inbox, name="query_inbox"),
    path("queries/<int:pk>/", queries.detail, name="query_detail"),
    path("audit/<str:model>/<str:object_pk>/", audit.record_audit, name="record_audit"),
    path("tokens/", api_tokens.token_page, name="api_tokens"),
    path("deviations/", deviations.deviation_list_view, name="deviation_list"),
    path(P + "deviations/new/", deviations.deviation_new, name="deviation_new"),
    path(
        "deviations/<int:dev_pk>/resolve/",
        deviations.deviation_resolve_view,
        name="deviation_resolve",
    ),
    path("tokens/<int:token_id>/revoke/", api_tokens.token_revoke, name="api_token_revoke"),
    path("central-monitoring/", kri.kri_page, name="central_monitoring"),
    path("safety/sae/", safety_sae.sae_clocks, name="sae_clocks"),
    path("safety/ae-grades/", safety_sae.ae_grade_options, name="ae_grade_options"),
    path(
        P + "adverse-events/<int:ae_pk>/sae-report/",
        safety_sae.sae_report_new,
        name="sae_report_new",
    ),
    # The REST API authenticates with its own tokens (mmtrial.api.auth), not the session.
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    # The stylesheet, htmx and the admin's files, found in the apps' static folders, are served
    # by mmtrial itself also without DEBUG (gunicorn has no static handler): a site's single
    # machine needs no web server in front. The middleware lets anonymous visitors have them.
    path(
        settings.STATIC_URL.lstrip("/") + "<path:path>",
        require_safe(staticfiles_serve),
        {"insecure": True},
        name="static",
    ),
]
