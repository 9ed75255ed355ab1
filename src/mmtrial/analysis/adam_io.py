"""Read and check the ADaM datasets of a directory (CSV or SAS XPT v5), per contracts/analyze.md.

Every problem raises `InputError` with one line that names the dataset and the variable, e.g.
"adsl.csv: SAFFL must be Y or N, found 'X' (USUBJID 01-002)".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mmtrial.analysis.codelists import (
    FLAG_VALUES,
    PARAMCD_BEST_RESPONSE,
    RESPONSE_CATEGORIES,
    TTE_PARAMCDS,
)
from mmtrial.errors import InputError

#: Required datasets and their required variables (contracts/analyze.md).
REQUIRED_VARIABLES: dict[str, tuple[str, ...]] = {
    "adsl": ("USUBJID", "SAFFL", "EFFFL"),
    "adrs": ("USUBJID", "PARAMCD", "AVALC"),
    "adtte": ("USUBJID", "PARAMCD", "AVAL", "CNSR"),
}

#: Optional datasets read when present (report plots and safety tables); see docs/analysis.md.
OPTIONAL_VARIABLES: dict[str, tuple[str, ...]] = {
    "adlb": ("USUBJID", "PARAMCD", "ADY", "AVAL"),
    "adae": ("USUBJID", "AEDECOD", "AETOXGR"),
    "adex": ("USUBJID", "EXTRT", "CYCLE"),
}

MESSAGE_MISSING_DATASET = (
    "ADaM dataset {name} not found in {directory} (expected {name}.csv or {name}.xpt)"
)
MESSAGE_MISSING_VARIABLE = "{file}: required variable {variable} is missing"

EXTENSIONS = (".csv", ".xpt")


@dataclass(frozen=True)
class AdamDatasets:
    """The checked ADaM frames of one study. `files` maps dataset name to the file read."""

    adsl: pd.DataFrame
    adrs: pd.DataFrame
    adtte: pd.DataFrame
    optional: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> pd.DataFrame | None:
        return self.optional.get(name)


def find_dataset(directory: Path, name: str) -> Path | None:
    """`name.csv` if it exists, else `name.xpt`, else None (lower-case file names)."""
    for ext in EXTENSIONS:
        candidate = directory / f"{name}{ext}"
        if candidate.is_file():
            return candidate
    return None


def read_dataset(path: Path) -> pd.DataFrame:
    """One dataset as a frame: variable names upper case, character values stripped.

    CSV values are read as text (empty cells are missing) so that codelist checks see exactly
    what was written; numeric variables are converted by the checks that need them.
    """
    try:
        if path.suffix.lower() == ".xpt":
            import pyreadstat

            frame, _meta = pyreadstat.read_xport(str(path))
        else:
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
            )
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{path.name}: cannot be read ({' '.join(str(exc).split())})") from exc
    except Exception as exc:  # pyreadstat raises its own error types for damaged files
        raise InputError(f"{path.name}: cannot be read as SAS XPT ({type(exc).__name__})") from exc
    frame.columns = [str(col).strip().upper() for col in frame.columns]
    for col in frame.columns:
        if frame[col].dtype == object:
            stripped = frame[col].astype("string").str.strip()
            frame[col] = stripped.astype(object).where(stripped.notna() & (stripped != ""), None)
    return frame


def require_variables(frame: pd.DataFrame, *, file: str, variables: Iterable[str]) -> None:
    """Fail naming the first required variable the dataset lacks."""
    for variable in variables:
        if variable not in frame.columns:
            raise InputError.coded(
                MESSAGE_MISSING_VARIABLE,
                {"dataset": file, "variable": variable},
                file=file,
                variable=variable,
            )


def _subject(frame: pd.DataFrame, index: object) -> str:
    value = frame.at[index, "USUBJID"] if "USUBJID" in frame.columns else None
    return f" (USUBJID {value})" if value is not None and not pd.isna(value) else ""


def _bad_value(file: str, variable: str, rule: str, value: object, where: str) -> InputError:
    shown = (
        "missing"
        if value is None or (not isinstance(value, str) and pd.isna(value))
        else f"{value!r}"
    )
    return InputError(
        f"{file}: {variable} {rule}, found {shown}{where}",
        {
            "dataset": file,
            "variable": variable,
            "value": None if shown == "missing" else str(value),
        },
    )


def check_codelist(
    frame: pd.DataFrame, *, file: str, variable: str, allowed: Iterable[str], rule: str
) -> None:
    """Every value of `variable` is one of `allowed` (missing values are not allowed)."""
    allowed_set = set(allowed)
    bad = ~frame[variable].isin(allowed_set)
    if bad.any():
        index = frame.index[bad][0]
        raise _bad_value(file, variable, rule, frame.at[index, variable], _subject(frame, index))


def numeric_column(
    frame: pd.DataFrame, *, file: str, variable: str, integer: bool = False
) -> pd.Series:
    """`variable` as numbers, >= 0 (and whole numbers when `integer`); fail on the first bad one."""
    raw = frame[variable]
    values = pd.to_numeric(raw, errors="coerce")
    kind = "a whole number >= 0" if integer else "a number >= 0"
    invalid = values.isna() | (values < 0) | values.isin([float("inf")])
    if integer:
        invalid |= values.notna() & (values % 1 != 0)
    if invalid.any():
        index = frame.index[invalid][0]
        raise _bad_value(file, variable, f"must be {kind}", raw.at[index], _subject(frame, index))
    return values.astype(float)


def _check_unique(frame: pd.DataFrame, *, file: str, keys: list[str]) -> None:
    duplicated = frame.duplicated(subset=keys, keep="first")
    if duplicated.any():
        index = frame.index[duplicated][0]
        where = ", ".join(f"{key} {frame.at[index, key]}" for key in keys)
        raise InputError(
            f"{file}: more than one record for {where}", {"dataset": file, "variable": keys[-1]}
        )


def check_adsl(frame: pd.DataFrame, *, file: str = "adsl") -> pd.DataFrame:
    require_variables(frame, file=file, variables=REQUIRED_VARIABLES["adsl"])
    if frame["USUBJID"].isna().any():
        raise _bad_value(file, "USUBJID", "must not be empty", None, "")
    _check_unique(frame, file=file, keys=["USUBJID"])
    for flag in ("SAFFL", "EFFFL"):
        check_codelist(frame, file=file, variable=flag, allowed=FLAG_VALUES, rule="must be Y or N")
    return frame


def check_adrs(frame: pd.DataFrame, *, file: str = "adrs") -> pd.DataFrame:
    require_variables(frame, file=file, variables=REQUIRED_VARIABLES["adrs"])
    best = frame[frame["PARAMCD"] == PARAMCD_BEST_RESPONSE]
    check_codelist(
        best,
        file=file,
        variable="AVALC",
        allowed=RESPONSE_CATEGORIES,
        rule=f"(PARAMCD {PARAMCD_BEST_RESPONSE}) must be one of {', '.join(RESPONSE_CATEGORIES)}",
    )
    _check_unique(best, file=file, keys=["USUBJID", "PARAMCD"])
    return frame


def check_adtte(frame: pd.DataFrame, *, file: str = "adtte") -> pd.DataFrame:
    require_variables(frame, file=file, variables=REQUIRED_VARIABLES["adtte"])
    check_codelist(
        frame,
        file=file,
        variable="PARAMCD",
        allowed=TTE_PARAMCDS,
        rule=f"must be one of {', '.join(TTE_PARAMCDS)}",
    )
    checked = frame.copy()
    checked["AVAL"] = numeric_column(frame, file=file, variable="AVAL")
    checked["CNSR"] = numeric_column(frame, file=file, variable="CNSR", integer=True).astype(int)
    _check_unique(checked, file=file, keys=["USUBJID", "PARAMCD"])
    return checked


def check_optional(frame: pd.DataFrame, *, name: str, file: str) -> pd.DataFrame:
    require_variables(frame, file=file, variables=OPTIONAL_VARIABLES[name])
    return frame


def read_adam_dir(directory: str | Path) -> AdamDatasets:
    """Read and check ADSL, ADRS and ADTTE (required) and ADLB, ADAE, ADEX (optional).

    Rule: for each dataset `name.csv` is read when it exists, else `name.xpt`. Checks follow
    contracts/analyze.md: required variables present; SAFFL/EFFFL in Y/N; the CBOR AVALC one of
    the eight response categories; ADTTE PARAMCD one of PFS, OS, TTP, DOR, TTR; AVAL a number
    >= 0; CNSR a whole number >= 0; one record per key.
    """
    folder = Path(directory)
    if not folder.is_dir():
        problem = "is not a directory" if folder.exists() else "does not exist"
        raise InputError(f"ADaM directory {folder} {problem}", {"directory": str(folder)})
    frames: dict[str, pd.DataFrame] = {}
    files: dict[str, str] = {}
    for name, check in (("adsl", check_adsl), ("adrs", check_adrs), ("adtte", check_adtte)):
        path = find_dataset(folder, name)
        if path is None:
            raise InputError.coded(
                MESSAGE_MISSING_DATASET, {"dataset": name}, name=name, directory=folder
            )
        frames[name] = check(read_dataset(path), file=path.name)
        files[name] = str(path)
    optional: dict[str, pd.DataFrame] = {}
    for name in OPTIONAL_VARIABLES:
        path = find_dataset(folder, name)
        if path is not None:
            optional[name] = check_optional(read_dataset(path), name=name, file=path.name)
            files[name] = str(path)
    return AdamDatasets(
        adsl=frames["adsl"],
        adrs=frames["adrs"],
        adtte=frames["adtte"],
        optional=optional,
        files=files,
    )
