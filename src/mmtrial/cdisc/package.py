"""One package on disk: its XPT files, define.xml and conformance report, written together.

`Package` opens a writer per dataset, stages every file in a hidden folder inside `--out` and
moves them into place only when everything was written, so a failed export never leaves a
half-written package (nor mixes a new define.xml with old datasets). The files a previous export
of the same kind left in the folder are replaced.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mmtrial.cdisc.findings import Findings
from mmtrial.cdisc.spec import PackageSpec
from mmtrial.cdisc.xpt import DatasetFacts, XptDatasetWriter
from mmtrial.errors import InputError

__all__ = ["DEFINE_FILE", "REPORT_JSON", "REPORT_MD", "Package", "PackageResult", "Progress"]

DEFINE_FILE = "define.xml"
REPORT_MD = "conformance-report.md"
REPORT_JSON = "conformance-report.json"

#: progress(step, done, total): called by the exporters as they go (the CLI draws bars)
Progress = Callable[[str, int, int], None]


def no_progress(step: str, done: int, total: int) -> None:
    """The default progress callback: nothing shown."""


@dataclass
class PackageResult:
    directory: Path
    datasets: dict[str, DatasetFacts]
    findings: Findings
    files: list[Path]

    @property
    def errors(self) -> int:
        return self.findings.total(severity="error")


def prepare_directory(out: Path) -> Path:
    """`out` as a directory to write to (created if needed); InputError with one line if not."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: is a file, not a directory", {"path": str(out)})
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".mmtrial-write-test-"):
            pass
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write there ({exc.strerror or exc})") from exc
    return out


class Package:
    """The writers of one package; `finish()` moves the staged files into `out`."""

    def __init__(self, out: Path, *, spec: PackageSpec, findings: Findings) -> None:
        self.out = prepare_directory(out)
        self.spec = spec
        self.findings = findings
        self._stage = Path(tempfile.mkdtemp(prefix=".mmtrial-export-", dir=self.out))
        self._writers: dict[str, XptDatasetWriter] = {}
        self.facts: dict[str, DatasetFacts] = {}

    @property
    def stage(self) -> Path:
        return self._stage

    def writer(self, name: str) -> XptDatasetWriter:
        if name not in self._writers:
            spec = self.spec.dataset(name)
            coded = frozenset(v.name for v in spec.variables if v.codelist)
            self._writers[name] = XptDatasetWriter(
                spec, directory=self._stage, findings=self.findings, coded=coded
            )
        return self._writers[name]

    def close_datasets(self) -> dict[str, DatasetFacts]:
        """Write every dataset file; datasets without records are not written (SDTMIG 3.4)."""
        for name, writer in self._writers.items():
            facts = writer.close()
            if facts.records:
                self.facts[name] = facts
        self._writers.clear()
        return self.facts

    def finish(self, *, managed: tuple[str, ...] = ()) -> list[Path]:
        """Move the staged files into `out`, replacing the previous package's files."""
        for old in self.out.iterdir():
            if old.is_file() and (old.suffix == ".xpt" or old.name in managed):
                old.unlink()
        moved = []
        for staged in sorted(self._stage.iterdir()):
            target = self.out / staged.name
            shutil.move(str(staged), target)
            moved.append(target)
        shutil.rmtree(self._stage, ignore_errors=True)
        return moved

    def abort(self) -> None:
        for writer in self._writers.values():
            writer.discard()
        shutil.rmtree(self._stage, ignore_errors=True)
