"""The ndx command against the exchange behind its gateway: agencies' calls through it
(redacted fields named, denied read masks, verify-only answers), a citizen's data trail and
the audit chain of the running gateway."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ndx_cli.exchange import Exchange, Sizes, start_exchange

SIZES = Sizes(citizens=300, enterprises=40, parcels=60)
GET = "population/GetCitizen"


@pytest.fixture(scope="module")
async def exchange(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, pki: Path
) -> AsyncIterator[Exchange]:
    data = tmp_path_factory.mktemp("exchange")
    running = await start_exchange(
        data, kafka_bootstrap, pki, f"test.{uuid.uuid4().hex[:10]}", sizes=SIZES, gateway=True
    )
    try:
        yield running
    finally:
        await running.stop()


async def ndx(exchange: Exchange, *args: str) -> tuple[int, str, str]:
    """Runs the ndx command in its own process, pointed at the in-process gateway."""
    assert exchange.gateway is not None
    env = {
        **os.environ,
        "NDX_HOME": str(exchange.pki.parent),
        "NDX_GATEWAY_ADDRESS": f"127.0.0.1:{exchange.gateway.port}",
        "NDX_POPULATION_ADDRESS": f"127.0.0.1:{exchange.population.host.port}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ndx_cli.main",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def living_citizen(exchange: Exchange, n: int = 0) -> dict[str, str]:
    rows = await exchange.population.db.read(
        lambda c: [
            dict(r._mapping)
            for r in c.execute(
                text(
                    "select citizen_id, full_name from citizens "
                    "where date_of_death is null and ethnicity != '' "
                    f"order by citizen_id limit 1 offset {n}"
                )
            )
        ]
    )
    return {k: str(v) for k, v in rows[0].items()}


async def trail(exchange: Exchange, citizen_id: str, officer: str) -> list[dict[str, object]]:
    """The citizen's trail as JSON lines, once the index holds the access by `officer`."""
    for _ in range(100):
        code, out, err = await ndx(exchange, "audit", "trail", citizen_id, "--json")
        assert code == 0, err
        accesses = [json.loads(line) for line in out.splitlines()]
        if any(a["officer"] == officer for a in accesses):
            return accesses
        await asyncio.sleep(0.2)
    raise AssertionError(f"no access by {officer} in the trail of {citizen_id}")


async def test_a_lookup_through_the_gateway_names_what_was_withheld(exchange: Exchange) -> None:
    citizen = await living_citizen(exchange)
    officer = f"tax-{uuid.uuid4().hex[:6]}"
    code, out, err = await ndx(
        exchange,
        "call",
        GET,
        json.dumps({"citizen_id": citizen["citizen_id"]}),
        "--as", "tax-authority", "--purpose", "tax-registration", "--officer", officer,
    )  # fmt: skip
    assert code == 0, err
    got = json.loads(out)
    assert got["full_name"] == citizen["full_name"]
    assert "ethnicity" not in got
    [redacted] = [line for line in err.splitlines() if line.startswith("x-ndx-redacted")]
    assert "ndx.population.v1.Citizen.ethnicity" in redacted

    accesses = await trail(exchange, citizen["citizen_id"], officer)
    [mine] = [a for a in accesses if a["officer"] == officer]
    assert mine["agency"] == "tax-authority"
    assert mine["agency_name"] == "General Department of Taxation"
    assert mine["purpose"] == "tax-registration"
    assert mine["method"] == "ndx.population.v1.PopulationService/GetCitizen"
    assert "ndx.population.v1.Citizen.full_name" in mine["fields"]
    assert "ndx.population.v1.Citizen.ethnicity" not in mine["fields"]
    assert (mine["decision"], mine["status"]) == ("DECISION_ALLOW", "OK")

    code, table, err = await ndx(exchange, "audit", "trail", citizen["citizen_id"])
    assert code == 0, err
    [row] = [line for line in table.splitlines() if officer in line]
    for shown in ("tax-authority", "tax-registration", "GetCitizen", "citizen_id", "ALLOW"):
        assert shown in row, (shown, table)
    assert "General Department of Taxation" in table
    assert "full_name" in table and "ethnicity" not in table


async def test_the_trail_follows_pages_and_lists_denials(exchange: Exchange) -> None:
    citizen = await living_citizen(exchange, 1)
    cid = citizen["citizen_id"]
    officer = f"bank-{uuid.uuid4().hex[:6]}"
    for claim in (citizen["full_name"], "Lê Văn Sai"):
        code, out, err = await ndx(
            exchange,
            "call",
            "population/VerifyCitizen",
            json.dumps(
                {"citizen_id": cid, "claims": {"full_name": claim}, "claim_mask": "fullName"}
            ),
            "--as", "bank-ekyc", "--purpose", "ekyc", "--officer", officer,
        )  # fmt: skip
        assert code == 0, err
        verdict = json.loads(out)
        expected = "MATCH" if claim == citizen["full_name"] else "MISMATCH"
        assert verdict["overall"] == f"VERIFY_RESULT_{expected}", verdict
        assert citizen["full_name"] not in out
    code, out, err = await ndx(
        exchange,
        "call",
        GET,
        json.dumps({"citizen_id": cid, "read_mask": "fullName,religion"}),
        "--as", "tax-authority", "--purpose", "tax-registration", "--officer", officer,
    )  # fmt: skip
    assert code == 1 and out == ""
    error = json.loads(err)
    assert error["code"] == "PERMISSION_DENIED"
    assert "ndx.population.v1.Citizen.religion" in error["message"]

    await trail(exchange, cid, officer)
    code, out, err = await ndx(exchange, "audit", "trail", cid, "--json", "--page-size", "1")
    assert code == 0, err
    mine = [json.loads(line) for line in out.splitlines()]
    mine = [a for a in mine if a["officer"] == officer]
    assert [(a["method"].rpartition("/")[2], a["decision"]) for a in mine] == [
        ("GetCitizen", "DECISION_DENY"),
        ("VerifyCitizen", "DECISION_ALLOW"),
        ("VerifyCitizen", "DECISION_ALLOW"),
    ]
    assert mine[0]["fields"] == ["ndx.population.v1.Citizen.religion"]
    assert mine[0]["status"] == "PERMISSION_DENIED"


async def test_calls_through_the_gateway_name_agency_and_purpose(exchange: Exchange) -> None:
    citizen = await living_citizen(exchange)
    request = json.dumps({"citizen_id": citizen["citizen_id"]})
    code, _, err = await ndx(exchange, "call", GET, request, "--purpose", "tax-registration")
    assert code == 2 and "--as tax-authority" in err
    code, _, err = await ndx(exchange, "call", GET, request, "--as", "tax-authority")
    assert code == 2 and "--purpose" in err
    code, _, err = await ndx(exchange, "call", GET, request, "--via", "land")
    assert code == 2 and "land serves ndx.land.v1.LandService" in err
    # Operators still reach a registry directly.
    code, out, err = await ndx(
        exchange, "call", GET, request, "--via", "population", "--as", "ndx-admin"
    )
    assert code == 0, err
    assert json.loads(out)["full_name"] == citizen["full_name"]


async def test_the_running_gateways_chain_verifies(exchange: Exchange) -> None:
    assert exchange.gateway is not None
    citizen = await living_citizen(exchange, 2)
    officer = f"tax-{uuid.uuid4().hex[:6]}"
    code, _, err = await ndx(
        exchange,
        "call",
        GET,
        json.dumps({"citizen_id": citizen["citizen_id"]}),
        "--as", "tax-authority", "--purpose", "tax-registration", "--officer", officer,
    )  # fmt: skip
    assert code == 0, err
    await trail(exchange, citizen["citizen_id"], officer)
    url = exchange.gateway.settings.database_url
    code, out, err = await ndx(exchange, "audit", "verify", "--database-url", url)
    assert code == 0, out + err
    assert "intact" in out and "in 1 chain " in out


async def rename(exchange: Exchange, citizen_id: str, full_name: str) -> None:
    """A rename written straight to the population registry (the feed does not mind who)."""
    from google.protobuf.field_mask_pb2 import FieldMask

    from ndx.population.v1 import citizen_pb2
    from ndx.population.v1 import population_service_pb2 as ppb

    stub = exchange.population_stub()
    current = await stub.GetCitizen(ppb.GetCitizenRequest(citizen_id=citizen_id))
    await stub.UpdateCitizen(
        ppb.UpdateCitizenRequest(
            citizen=citizen_pb2.Citizen(citizen_id=citizen_id, full_name=full_name),
            update_mask=FieldMask(paths=["full_name"]),
            expected_version=current.version,
        )
    )


async def start_feed(
    exchange: Exchange, *args: str, events: int = 1
) -> tuple[asyncio.subprocess.Process, str]:
    """Starts `ndx feed ... --max EVENTS --json` and waits until the feed is open; returns
    the process and its start cursor."""
    assert exchange.gateway is not None
    env = {
        **os.environ,
        "NDX_HOME": str(exchange.pki.parent),
        "NDX_GATEWAY_ADDRESS": f"127.0.0.1:{exchange.gateway.port}",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ndx_cli.main", "feed", *args, "--max", str(events), "--json",
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
    assert "start cursor:" in line, line + (await proc.stderr.read()).decode()
    return proc, line.rsplit(" ", 1)[1].strip()


async def test_ndx_feed_follows_changes_cut_to_the_grant_and_resumes(exchange: Exchange) -> None:
    citizen = await living_citizen(exchange, 3)
    cid = citizen["citizen_id"]
    tax = ("citizen", "--as", "tax-authority", "--purpose", "tax-registration")
    proc, start = await start_feed(exchange, *tax)
    await rename(exchange, cid, "Phạm Thị Mới")
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    [event] = [json.loads(line) for line in out.decode().splitlines()]
    assert (event["subject"], event["op"]) == (cid, "CHANGE_OP_UPDATE")
    assert event["after"]["full_name"] == "Phạm Thị Mới"
    assert event["before"]["full_name"] == citizen["full_name"]
    assert event["changed_fields"] == ["full_name"]
    assert "ethnicity" not in event["after"]
    assert "ndx.population.v1.Citizen.ethnicity" in event["fields_redacted"]

    # From the event's cursor: the next change, not the same one again.
    proc, _ = await start_feed(exchange, *tax, "--from", event["cursor"])
    await rename(exchange, cid, "Phạm Thị Sau")
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    assert json.loads(out)["after"]["full_name"] == "Phạm Thị Sau"
    # From the start cursor: both, in order.
    proc, _ = await start_feed(exchange, *tax, "--from", start, events=2)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err
    names = [json.loads(line)["after"]["full_name"] for line in out.decode().splitlines()]
    assert names == ["Phạm Thị Mới", "Phạm Thị Sau"]


async def test_ndx_feed_names_a_denied_feed(exchange: Exchange) -> None:
    code, out, err = await ndx(
        exchange, "feed", "citizen", "--as", "bank-ekyc", "--purpose", "ekyc"
    )
    assert code == 1 and out == ""
    error = json.loads(err)
    assert error["code"] == "PERMISSION_DENIED"
    assert error["details"][0]["reason"] == "FEED_NOT_GRANTED"
