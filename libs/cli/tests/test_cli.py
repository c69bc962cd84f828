"""The ndx command against a running registry: responses as proto3 JSON, errors with details."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ndx_population.bootstrap import start
from ndx_population.config import PopulationSettings
from ndx_runtime.service import RunningService


@pytest.fixture
async def registry(
    tmp_path: Path, kafka_bootstrap: str, pki: Path, unique: str
) -> AsyncIterator[RunningService]:
    settings = PopulationSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'p.db'}",
        kafka_bootstrap_servers=kafka_bootstrap,
        grpc_port=0,
        tls_cert_file=pki / "population.crt",
        tls_key_file=pki / "population.key",
        tls_ca_file=pki / "ca.crt",
        allowed_identities=frozenset({"operator/ndx-admin"}),
        citizen_topic=f"test.{unique}.citizen",
    )
    service = await start(settings)
    yield service
    await service.stop()


async def ndx(service: RunningService, pki: Path, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "NDX_HOME": str(pki.parent),
        "NDX_POPULATION_ADDRESS": f"127.0.0.1:{service.host.port}",
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


CITIZEN = {
    "citizen": {
        "citizen_id": "001190012345",
        "full_name": "Nguyễn Thị Lan",
        "date_of_birth": {"year": 1990, "month": 5, "day": 2},
        "gender": "GENDER_FEMALE",
        "permanent_address": {"ward_code": "00004", "street": "Số 12 phố Đội Cấn"},
    }
}


async def test_call_prints_the_response_as_proto3_json(registry: RunningService, pki: Path) -> None:
    code, out, _ = await ndx(
        registry,
        pki,
        "call",
        "population/RegisterCitizen",
        json.dumps(CITIZEN),
        "--via",
        "population",
        "--as",
        "ndx-admin",
    )
    assert code == 0
    created = json.loads(out)
    assert created["permanent_address"]["ward_name"] == "Phường Ba Đình"
    assert created["version"] == "1"
    code, out, _ = await ndx(
        registry,
        pki,
        "call",
        "ndx.population.v1.PopulationService/GetCitizen",
        '{"citizen_id": "001190012345", "read_mask": "fullName"}',
        "--via",
        "population",
    )
    assert code == 0
    assert json.loads(out) == {"full_name": "Nguyễn Thị Lan"}


async def test_call_errors_print_status_and_details_and_exit_non_zero(
    registry: RunningService, pki: Path
) -> None:
    code, out, err = await ndx(
        registry,
        pki,
        "call",
        "population/GetCitizen",
        '{"citizen_id": "12"}',
        "--via",
        "population",
    )
    assert code == 1
    assert out == ""
    error = json.loads(err)
    assert error["code"] == "INVALID_ARGUMENT"
    violations = [d for d in error["details"] if "field_violations" in d]
    assert violations[0]["field_violations"][0]["field"] == "citizen_id"


async def test_identity_not_on_the_allow_list_is_refused(
    registry: RunningService, pki: Path
) -> None:
    code, _, err = await ndx(
        registry,
        pki,
        "call",
        "population/GetCitizen",
        '{"citizen_id": "001190012345"}',
        "--via",
        "population",
        "--as",
        "gateway",
    )
    assert code == 1
    assert json.loads(err)["code"] == "PERMISSION_DENIED"


async def test_unknown_method_is_a_usage_error(registry: RunningService, pki: Path) -> None:
    code, _, err = await ndx(registry, pki, "call", "population/Nope", "{}", "--via", "population")
    assert code == 2
    assert "GetCitizen" in err
