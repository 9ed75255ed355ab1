"""Words the EDC passes as message parameters (rendered through the catalogue by
`web.errors.render_error`): the analytes a cycle start needs, as edc/services/treatment.py
names them in MISSING_LAB."""

from django.utils.translation import gettext_noop

WORDS = (gettext_noop("creatinine"), gettext_noop("ANC"), gettext_noop("platelets"))
