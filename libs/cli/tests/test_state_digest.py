"""`ndx state digest`: equal registries print equal digests; a changed one does not."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from ndx_cli.main import cli
from ndx_land.seed import seed_land


def seeded(tmp_path: Path, name: str, parcels: int = 50) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / name}"
    asyncio.run(seed_land(url, parcels, 7, 500))
    return url


def digest(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = CliRunner().invoke(cli, ["state", "digest", *args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_the_same_seed_gives_the_same_digest_and_a_change_another(tmp_path: Path) -> None:
    first = digest("land", "--database-url", seeded(tmp_path, "a.db"))
    # The service's own setting is what the command reads without --database-url.
    second = digest("land", env={"LAND_DATABASE_URL": seeded(tmp_path, "b.db")})
    assert first == second
    assert first["tables"]["parcels"]["rows"] == 50  # type: ignore[index]
    assert "outbox" not in first["tables"]  # type: ignore[operator]

    with sqlite3.connect(tmp_path / "b.db") as db:
        db.execute("update holders set name = name || ' ' where rowid = 1")
    changed = digest("land", "--database-url", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    assert changed["digest"] != first["digest"]
    assert changed["tables"]["parcels"] == first["tables"]["parcels"]  # type: ignore[index]
    assert changed["tables"]["holders"] != first["tables"]["holders"]  # type: ignore[index]


def test_text_output_and_a_missing_database(tmp_path: Path) -> None:
    url = seeded(tmp_path, "a.db", parcels=5)
    result = CliRunner().invoke(cli, ["state", "digest", "land", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("land sha256:")

    missing = CliRunner().invoke(
        cli, ["state", "digest", "land", "--database-url", "sqlite+aiosqlite:///nowhere.db"]
    )
    assert missing.exit_code == 1
    assert "no database at nowhere.db" in missing.output
    assert not Path("nowhere.db").exists()
