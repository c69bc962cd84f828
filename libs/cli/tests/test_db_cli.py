"""`ndx db`: upgrade, current, history and downgrade of a service's schema."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from ndx_cli.main import cli


def ndx(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["db", *args], env=env)


def test_upgrade_current_history_downgrade(database_url: str) -> None:
    upgraded = ndx("upgrade", "population", "--url", database_url)
    assert upgraded.exit_code == 0, upgraded.output
    assert "population (" in upgraded.output and "at head 0001" in upgraded.output

    current = ndx("current", "population", "--url", database_url, "--check")
    assert current.exit_code == 0, current.output
    assert "at head 0001" in current.output

    history = ndx("history", "population")
    assert history.exit_code == 0, history.output
    assert history.output.startswith("0001 (head)  Baseline: the population registry's schema")

    down = ndx("downgrade", "population", "--url", database_url, "--to", "base")
    assert down.exit_code == 0, down.output
    assert "not migrated" in down.output
    behind = ndx("current", "population", "--url", database_url, "--check")
    assert behind.exit_code == 1, behind.output
    assert "not migrated (head is 0001)" in behind.output


def test_the_service_setting_and_the_local_stack_are_the_defaults(tmp_path: Path) -> None:
    configured = tmp_path / "configured.db"
    env = {"LAND_DATABASE_URL": f"sqlite+aiosqlite:///{configured}", "NDX_HOME": str(tmp_path)}
    assert ndx("upgrade", "land", env=env).exit_code == 0
    assert configured.exists()

    local = ndx("upgrade", "gateway", env={"NDX_HOME": str(tmp_path)})
    assert local.exit_code == 0, local.output
    assert (tmp_path / "data" / "gateway.db").exists()


def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    missing = ndx("current", "business", "--url", f"sqlite+aiosqlite:///{tmp_path / 'no.db'}")
    assert missing.exit_code == 1
    assert f"no database at {tmp_path / 'no.db'}" in missing.output
    assert not (tmp_path / "no.db").exists()

    url = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    unknown = ndx("upgrade", "business", "--url", url, "--to", "nope")
    assert unknown.exit_code == 1
    assert "Can't locate revision identified by 'nope'" in unknown.output

    service = ndx("upgrade", "tax")
    assert service.exit_code == 2
    assert "'tax' is not one of" in service.output
