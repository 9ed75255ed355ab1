"""Controlled terminology: the one data file (`data/controlled_terminology.yaml`) as lookups.

`terminology()` reads the file once. A `Codelist` answers whether a value is one of its terms
(`term(value)`), and carries what define.xml needs (NCI codes, decodes, the package date).
Nothing else in mmtrial holds a CDISC term: the exporters ask here and fail loudly on a term the
file does not list (a programming error, not bad data).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

__all__ = ["SAFE_LOADER", "Codelist", "Term", "Terminology", "terminology"]

#: libyaml's safe loader when PyYAML was built with it (same documents, a tenth of the time)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DATA_FILE = "controlled_terminology.yaml"
CTCAE_SOC_FILE = "ctcae_soc.yaml"


@dataclass(frozen=True)
class Term:
    value: str
    ncit: str | None
    decode: str
    extended: bool = False
    verified: str | None = None


@dataclass(frozen=True)
class Codelist:
    key: str
    name: str
    ncit: str | None
    package: str
    extensible: bool
    terms: tuple[Term, ...]
    _by_value: dict[str, Term] = field(default_factory=dict, compare=False, repr=False)

    def term(self, value: str) -> Term:
        """The term with this submission value; KeyError names the codelist when it is absent."""
        try:
            return self._by_value[value]
        except KeyError:
            raise KeyError(f"{value!r} is not a term of codelist {self.key}") from None

    def has(self, value: str) -> bool:
        return value in self._by_value

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(t.value for t in self.terms)


@dataclass(frozen=True)
class Terminology:
    packages: dict[str, dict[str, Any]]
    source: str
    codelists: dict[str, Codelist]
    external: dict[str, dict[str, Any]]
    site_time_zone_country: dict[str, str]
    ctcae_soc: dict[str, str]
    ctcae_version: str

    def codelist(self, key: str) -> Codelist:
        try:
            return self.codelists[key]
        except KeyError:
            raise KeyError(f"no codelist {key} in {DATA_FILE}") from None

    def value(self, codelist: str, value: str) -> str:
        """`value`, checked to be a term of `codelist` (KeyError otherwise)."""
        return self.codelist(codelist).term(value).value

    def package_date(self, package: str) -> str:
        return str(self.packages[package]["date"])


def _codelist(key: str, raw: dict[str, Any]) -> Codelist:
    terms = tuple(
        Term(
            value=str(t["value"]),
            ncit=t.get("ncit"),
            decode=str(t.get("decode") or t["value"]),
            extended=bool(t.get("extended", False)),
            verified=t.get("verified"),
        )
        for t in raw.get("terms", [])
    )
    return Codelist(
        key=key,
        name=raw["name"],
        ncit=raw.get("ncit"),
        package=raw["package"],
        extensible=bool(raw["extensible"]),
        terms=terms,
        _by_value={t.value: t for t in terms},
    )


def _read(name: str) -> dict[str, Any]:
    text = resources.files("mmtrial.cdisc").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=SAFE_LOADER)


@functools.cache
def terminology() -> Terminology:
    """The controlled terminology file, read once."""
    raw = _read(DATA_FILE)
    soc = _read(CTCAE_SOC_FILE)
    return Terminology(
        packages=raw["packages"],
        source=" ".join(str(raw["source"]).split()),
        codelists={key: _codelist(key, value) for key, value in raw["codelists"].items()},
        external=raw.get("external", {}),
        site_time_zone_country=dict(raw.get("site_time_zone_country", {})),
        ctcae_soc={str(k).lower(): str(v) for k, v in soc["terms"].items()},
        ctcae_version=str(soc["version"]),
    )
