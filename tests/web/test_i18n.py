"""The Japanese catalogue is complete, compiled from the current .po, and service messages are
shown in the user's language with their values."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.utils import translation

import mmtrial
from mmtrial.web import service_messages

LOCALE = Path(mmtrial.__file__).resolve().parent / "locale"


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgid, msgid_plural, msgstr (or msgstr[n]) and flags."""
    entries, current, key = [], None, None
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if current is not None:
                entries.append(current)
            current, key = None, None
            continue
        if current is None:
            current = {"flags": "", "msgstr": {}}
        if line.startswith("#,"):
            current["flags"] += line
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+"(.*)"$', line)
        if match:
            name, index, text = match.groups()
            key = ("msgstr", int(index or 0)) if name.startswith("msgstr") else name
            _store(current, key, text)
        elif line.startswith('"') and key is not None:
            _store(current, key, line[1:-1])
    return [e for e in entries if "msgid" in e]


def _store(entry: dict, key, text: str) -> None:
    text = text.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
    if isinstance(key, tuple):
        entry["msgstr"][key[1]] = entry["msgstr"].get(key[1], "") + text
    else:
        entry[key] = entry.get(key, "") + text


JA_PO = LOCALE / "ja" / "LC_MESSAGES" / "django.po"
JA_MO = LOCALE / "ja" / "LC_MESSAGES" / "django.mo"


def test_japanese_catalogue_has_no_untranslated_or_fuzzy_message():
    entries = [e for e in parse_po(JA_PO) if e["msgid"]]
    assert len(entries) > 300
    untranslated = [e["msgid"] for e in entries if not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_compiled_japanese_catalogue_matches_the_po_file():
    with JA_MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in parse_po(JA_PO):
        if not entry["msgid"] or "msgid_plural" in entry:
            continue
        assert compiled.gettext(entry["msgid"]) == entry["msgstr"][0], entry["msgid"]


def test_english_catalogue_exists_and_is_compiled():
    assert (LOCALE / "en" / "LC_MESSAGES" / "django.po").exists()
    assert (LOCALE / "en" / "LC_MESSAGES" / "django.mo").exists()


def test_every_listed_service_message_is_still_an_edc_constant():
    from mmtrial.web.errors import message_constants

    stale = [m for m in service_messages.SERVICE_MESSAGES if m not in message_constants()]
    assert stale == [], "reworded in mmtrial.edc: update web/service_messages.py and the .po"


def test_a_conflict_message_is_shown_in_japanese_with_its_values():
    from mmtrial.edc.services._records import RECORD_CHANGED
    from mmtrial.errors import ConflictError
    from mmtrial.web.errors import render_error

    error = ConflictError.coded(RECORD_CHANGED, expected=3, current=4)
    with translation.override("ja"):
        shown = render_error(error)
    assert "開いた版 3" in shown and "現在 4" in shown
    with translation.override("en"):
        assert render_error(error) == RECORD_CHANGED.format(expected=3, current=4)


def test_an_unknown_message_is_shown_as_it_is():
    from mmtrial.web.errors import translate_message

    with translation.override("ja"):
        assert translate_message("something no catalogue knows") == "something no catalogue knows"


@pytest.mark.django_db
def test_a_locked_participant_message_reaches_the_form_in_japanese(client, users, sites):
    from mmtrial.edc.services._records import PARTICIPANT_LOCKED
    from mmtrial.errors import LockedRecordError
    from mmtrial.web.entry_forms import LabPanelForm
    from mmtrial.web.errors import add_service_error

    form = LabPanelForm(data={})
    form.is_valid()
    with translation.override("ja"):
        add_service_error(form, LockedRecordError(PARTICIPANT_LOCKED.format(subject="JP01-001")))
        errors = " ".join(form.non_field_errors())
    assert "JP01-001" in errors and "ロック" in errors


def test_a_message_the_catalogue_does_not_know_gets_a_japanese_lead_in():
    from mmtrial.errors import InputError
    from mmtrial.web.entry_forms import LabPanelForm
    from mmtrial.web.errors import add_service_error

    form = LabPanelForm(data={})
    form.is_valid()
    with translation.override("ja"):
        add_service_error(form, InputError("reason: say why the dose was held"))
        errors = " ".join(form.non_field_errors())
    assert "入力内容を確認してください：reason" in errors
    assert "say why the dose was held" in errors
