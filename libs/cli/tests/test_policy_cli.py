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


def test_explain_shows_feeds_and_the_fields_their_events_carry() -> None:
    def explain(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["policy", "explain", *args])
        return result.exit_code, result.output

    tax = ("--agency", "tax-authority", "--purpose", "tax-registration")
    code, out = explain(*tax, "--feed", "citizen")
    assert code == 0 and "ALLOW: feed of 'citizen'" in out
    assert "agencies.tax-authority.purposes.tax-registration.feeds" in out
    assert "events carry these fields of ndx.population.v1.Citizen: citizen_id," in out
    code, out = explain(*tax, "--feed", "citizen", "--field", "religion")
    assert code == 0 and "field religion: denied" in out
    code, out = explain(*tax, "--method", GET)
    assert "feeds of this purpose: citizen" in out
    code, out = explain("--agency", "bank-ekyc", "--purpose", "ekyc", "--feed", "citizen")
    assert code == 1 and "DENY: purpose 'ekyc' grants no feed of 'citizen'" in out
    code, out = explain(*tax, "--feed", "citizens")
    assert code == 2 and "unknown aggregate 'citizens'" in out
    code, out = explain(*tax)
    assert code == 2 and "--method METHOD or --feed AGGREGATE" in out
