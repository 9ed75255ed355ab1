"""The REST API, `/api/v1/` (django-ninja): its OpenAPI 3 document and docs page are open (they
hold no study data, and the page loads nothing from outside: Swagger UI is served from
mmtrial's own static files); every other route needs an API token (`api.auth`)."""

from __future__ import annotations

from ninja import NinjaAPI, Swagger

# writes and lab_import_fhir add their routes to reads.router
from mmtrial.api import lab_import_fhir, reads, tokens, writes  # noqa: F401
from mmtrial.api.auth import TokenAuth
from mmtrial.api.problems import CONTENT_TYPE as PROBLEM_CONTENT_TYPE
from mmtrial.api.problems import install_handlers

__all__ = ["api"]

DESCRIPTION = (
    "The study's data for scripts and other systems: reads with incremental sync "
    "(`changed_since` = the audit sequence), writes through the same rules as the web. "
    "Authenticate with `Authorization: Bearer <token>` (create one on the API tokens page or "
    "with `mmtrial token create`). Errors are RFC 9457 problem details with a `code`, its "
    "`parameters` and the `text` in the Accept-Language."
)


class MmtrialApi(NinjaAPI):
    """The document says what the server sends: errors are `application/problem+json`."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for item in document.get("paths", {}).values():
            for operation in item.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content") or {}
                    if int(status) >= 400 and "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return document


api = MmtrialApi(
    title="mmtrial API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=TokenAuth(),
    docs=Swagger(settings={"validatorUrl": None, "persistAuthorization": False}),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_handlers(api)
api.add_router("", reads.router)
api.add_router("", tokens.router)
