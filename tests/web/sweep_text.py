"""What a person reads on a page, and which of it reads as English (the Japanese sweep).

`visible_lines` keeps the text of the page (block elements end a line, inline ones do not),
plus the attribute values that are shown (title, placeholder, aria-label, alt, a button's
value); scripts, styles and other attribute values are dropped.

An element marked `translate="no"` (stored data shown as stored, such as the audit trail's
old and new values) is data, not interface text, and is left out with its content; so is a
"Source" disclosure (`<details class="source">`): rule ids and citations, which issue 12 moves
there for those who want them, in the protocol's own words.

`english_lines` flags a line with two or more ASCII words of three letters or more, not on the
allow-list, that follow each other with only spaces, digits, short words and Latin punctuation
between them ("Save the doses", "Overdue by 3 days"), and a line with one such word of four
letters or more that is not a code in capitals ("none", "78 years", "監査履歴: participant 1").
Japanese text, units, codes, ids, citation keys and names break or do not count.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

SHOWN_ATTRIBUTES = frozenset({"title", "placeholder", "aria-label", "alt"})
HIDDEN_ELEMENTS = frozenset({"script", "style", "template", "noscript", "metadata"})
# Void elements have no end tag: they never hide or keep text.
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track"}
)
# Elements whose text is part of the surrounding sentence: they do not end a line.
INLINE_ELEMENTS = frozenset(
    {"a", "abbr", "b", "bdi", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark", "q",
     "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr"}
)  # fmt: skip

# The issue's allow-list (issue 12 item 2): codes, the units' letters, the protocol's and the
# product's own identifiers, and the drugs' brand names. Words are compared case-sensitively
# here (codes are written one way); people's names from the demo are added by the caller.
ALLOWED_WORDS = frozenset(
    {
        # codes and standards
        "IMWG", "CTCAE", "MedDRA", "LLT", "ISS", "R-ISS", "ECOG", "CrCl", "ANC", "FLC", "dFLC",
        "IFE", "SDTM", "ADaM", "ODM", "XPT", "CSV", "PDF", "JSON", "API", "URL", "VGPR", "sCR",
        "CRAB", "USPI", "ULN", "ALT", "AST", "WBC", "SAE", "SMO", "CRC", "CRF", "eCRF", "KRI",
        "GCP", "ICH", "CFR", "SOC", "HLT", "MMRM", "CDISC", "USDM", "HTTP", "IRd", "IRD",
        # the drugs (the labels' names) and the protocol's identifiers
        "NINLARO", "REVLIMID", "TOURMALINE", "IRd-J", "mmtrial", "UTC", "JST",
        "Cockcroft-Gault", "Anisimov", "Fedorov",
        # the units' letters
        "min", "mol", "mmol", "umol",
    }
)  # fmt: skip
UNITS = re.compile(r"(?:mg/dL|g/dL|mL/min|mg/L|/mm3|mg/24h|mg/m2|U/L|mg|kg|cm|mL|h)\b")
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?\b")
# A reference key in brackets ([TM1], [NIN], [IMWG], [ours]): the protocol file's citations.
CITATION_KEY = re.compile(r"\[[A-Za-z][A-Za-z0-9]*\](?: (?:section|table) [\d.]+)?")
TIME_ZONE = re.compile(r"\b(?:Asia|Europe|America|Africa|Australia|Pacific)/[A-Z][A-Za-z_]+\b")
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# Characters that may stand between two words of one English phrase; anything else (Japanese
# text, Japanese punctuation) separates the phrases.
_PHRASE = re.compile(r"[A-Za-z0-9 \t,.;:'\"()\[\]/!?&%+=<>~*#@_\-–—…’‘“”]+")
# A word; letters joined by "_" or "-" (INC-AGE, sae_overdue, M-protein) are one word.
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[_-][A-Za-z0-9]+)*")
MIN_LETTERS = 3
MIN_LETTERS_ALONE = 4


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._hidden_depth = 0
        self._open: list[tuple[str, bool]] = []  # open elements: tag, hides its content

    def _end_line(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.lines.append(text)
        self._current = []

    def handle_starttag(self, tag, attrs) -> None:
        values = dict(attrs)
        hides = (
            tag in HIDDEN_ELEMENTS
            or values.get("translate") == "no"
            or (tag == "details" and "source" in (values.get("class") or "").split())
        )
        if tag not in VOID_ELEMENTS:
            self._open.append((tag, hides))
            self._hidden_depth += hides
        if tag not in INLINE_ELEMENTS:
            self._end_line()
        if self._hidden_depth:
            return
        shown = [v for k, v in attrs if k in SHOWN_ATTRIBUTES and v]
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            shown.append(values.get("value") or "")
        for value in shown:
            text = " ".join(value.split())
            if text:
                self.lines.append(text)

    def handle_startendtag(self, tag, attrs) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag) -> None:
        if tag in VOID_ELEMENTS:
            return
        # an end tag closes its element and any left open inside it (<li>, <td> without ends)
        if any(open_tag == tag for open_tag, _ in self._open):
            while self._open:
                open_tag, hides = self._open.pop()
                self._hidden_depth -= hides
                if open_tag == tag:
                    break
        if tag not in INLINE_ELEMENTS:
            self._end_line()

    def handle_data(self, data) -> None:
        if not self._hidden_depth:
            self._current.append(data)

    def close(self) -> None:
        super().close()
        self._end_line()


def visible_lines(html: str) -> list[str]:
    """The lines a person reads on the page, in page order."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser.lines


def _counts(word: str, allowed: frozenset[str]) -> bool:
    bare = word.strip("'’")
    return (
        len(bare) >= MIN_LETTERS
        and bare not in ALLOWED_WORDS
        and bare.lower() not in allowed
        and not any(c.isdigit() for c in bare)  # a code or an id: C1D8, JP-01-004, kri0001
    )


def reads_as_english(line: str, *, allowed: frozenset[str] = frozenset()) -> bool:
    """True when the line holds two or more English words of one phrase (see the module).

    `allowed`: lower-case words that never count (the demo's people, user names, sites).
    """
    text = line
    for pattern in (EMAIL, TIME_ZONE, ISO_DATE, UNITS, CITATION_KEY):
        text = pattern.sub(" ", text)
    for phrase in _PHRASE.findall(text):
        words = [w for w in _WORD.findall(phrase) if _counts(w, allowed)]
        if len(words) >= 2:
            return True
        if any(len(w) >= MIN_LETTERS_ALONE and not w.isupper() for w in words):
            return True
    return False


def english_lines(html: str, *, allowed: frozenset[str] = frozenset()) -> list[str]:
    """The page's lines that read as English, each once, in page order."""
    seen: dict[str, None] = {}
    for line in visible_lines(html):
        if reads_as_english(line, allowed=allowed):
            seen.setdefault(line, None)
    return list(seen)
