"""`ndx policy check` and `ndx policy explain`."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from ndx_gateway.policy import DEFAULT_POLICY

from ndx_cli.main import cli

GET = "ndx.population.v1.PopulationService/GetCitizen"


def test_check_accepts_the_default_and_names_a_bad_path(tmp_path: Path) -> None:
    ok = CliRunner().invoke(cli, ["policy", "check", str(DEFAULT_POLICY)])
    assert ok.exit_code == 0 and "is valid" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        DEFAULT_POLICY.read_text(encoding="utf-8").replace(
            "ndx.population.v1.Citizen.blood_type", "ndx.population.v1.Citizen.bloodtype"
        ),
        encoding="utf-8",
    )
    refused = CliRunner().invoke(cli, ["policy", "check", str(bad)])
    assert refused.exit_code == 1
    assert "agencies.health-records.purposes.e-health-book.read[4]" in refused.output
    assert "no field 'bloodtype'" in refused.output


def test_explain_gives_the_decision_and_its_rule() -> None:
    def explain(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["policy", "explain", *args])
        return result.exit_code, result.output

    code, out = explain("--agency", "bank-ekyc", "--purpose", "ekyc", "--method", GET)
    assert code == 1
    assert "DENY: purpose 'ekyc' does not grant" in out
    assert "agencies.bank-ekyc.purposes.ekyc" in out
    code, out = explain(
        "--agency", "health-records", "--purpose", "e-health-book", "--method", GET,
        "--field", "blood_type",
    )  # fmt: skip
    assert code == 0 and "field blood_type: readable" in out
