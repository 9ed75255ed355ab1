"""Schema version 2 (issue 16 item 1): the randomized, double-blind TOURMALINE-MM1 file
validates and shows its arms; version 1 (IRd-J) still loads; a broken arm, an unknown stratum
field or a ratio that does not parse each give one `field.path: problem` line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.protocol import ProtocolError, parse_protocol
from mmtrial.protocol.loader import PROTOCOLS_DIR, load_protocol_file

TMM1 = PROTOCOLS_DIR / "tmm1.yaml"
TEXT = TMM1.read_text(encoding="utf-8")
runner = CliRunner()


def _replace_once(old: str, new: str) -> str:
    assert old in TEXT, f"fixture text not found: {old!r}"
    return TEXT.replace(old, new, 1)


def test_both_bundled_files_validate():
    for name, study in (("irdj.yaml", "IRD-J"), ("tmm1.yaml", "TMM1")):
        result = runner.invoke(app, ["protocol", "validate", str(PROTOCOLS_DIR / name)])
        assert result.exit_code == 0, result.output
        assert f"valid protocol {study}" in result.stdout


def test_tmm1_holds_the_published_design():
    """Moreau et al. NEJM 2016;374:1621: 1:1, stratified by prior therapies (1 vs 2-3), PI
    exposure (naive vs exposed) and ISS (I-II vs III); ixazomib or matching placebo."""
    protocol = load_protocol_file(TMM1)
    assert protocol.randomization.weights() == [1, 1]
    assert [s.variable for s in protocol.randomization.strata] == [
        "prior_lines",
        "pi_exposed",
        "iss_stage",
    ]
    assert [a.fills for a in protocol.arms] == [
        {"study_drug": "ixazomib"},
        {"study_drug": "placebo"},
    ]
    assert protocol.blinding.level == "double_blind"


BROKEN = {
    "arm fills an unknown product": (
        _replace_once("fills: {study_drug: placebo}", "fills: {study_drug: sugar_pill}"),
        "arms[1].fills.study_drug: unknown product 'sugar_pill' (see products)",
    ),
    "arm leaves the blinded drug empty": (
        _replace_once("fills: {study_drug: placebo}", "fills: {}"),
        "arms[1].fills: missing: what 'study_drug' holds in this arm",
    ),
    "two arms with one id": (
        _replace_once("  - id: PRD\n", "  - id: IRD\n"),
        "arms[1].id: 'IRD' is used more than once",
    ),
    "unknown stratum field": (
        _replace_once("      variable: iss_stage\n", "      variable: iss_grade\n"),
        "randomization.strata[2].variable: unknown field 'iss_grade'",
    ),
    "ratio that does not parse": (
        _replace_once('ratio: "1:1"', 'ratio: "one to one"'),
        "randomization.ratio: 'one to one' is not a ratio such as 1:1",
    ),
    "ratio with the wrong number of arms": (
        _replace_once('ratio: "1:1"', 'ratio: "2:1:1"'),
        "randomization.ratio: '2:1:1' needs one positive whole number per arm (2)",
    ),
    "minimisation without its probability": (
        _replace_once("method: stratified_permuted_blocks", "method: minimisation"),
        "randomization.probability_best: minimisation needs the probability of the best arm",
    ),
    "minimisation no better than chance": (
        _replace_once(
            "method: stratified_permuted_blocks", "method: minimisation\n  probability_best: 0.5"
        ),
        "randomization.probability_best: 0.5 is not above 1/2 (chance) and at most 1",
    ),
    "permuted blocks without block sizes": (
        _replace_once("  block_multiples: [1, 2]\n", ""),
        "randomization.block_multiples: permuted blocks need block sizes",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_design_is_one_line_naming_its_field(case, tmp_path):
    text, expected = BROKEN[case]
    with pytest.raises(ProtocolError) as excinfo:
        parse_protocol(text)
    assert [p for p in excinfo.value.problems if expected in p], excinfo.value.problems
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["protocol", "validate", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if expected in line]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_show_prints_the_arms_and_strata_but_not_the_block_sizes():
    result = runner.invoke(app, ["protocol", "show", "--file", str(TMM1)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    for expected in (
        "Placebo + lenalidomide + dexamethasone",
        "double-blind",
        "1:1, permuted blocks of concealed, varied size",
        "1 vs 2 or 3 (from prior_lines)",
        "I or II vs III (from iss_stage)",
        "the participant's investigator, with a reason; told: sponsor",
    ):
        assert expected in out, expected
    as_json = runner.invoke(app, ["protocol", "show", "--file", str(TMM1), "--json"])
    data = json.loads(as_json.stdout)
    assert "block_multiples" not in data["randomization"]
    assert "2 or 4" not in as_json.stdout and "block sizes" not in as_json.stdout.lower()
