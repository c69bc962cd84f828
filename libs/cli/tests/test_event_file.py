"""The event file format, `--from`/`--to` positions and the replay schedule, without a broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from ndx_cli.event_file import EventFileError, RecordedEvent, read_events, to_line
from ndx_cli.pacing import Pacing
from ndx_cli.positions import parse_position, parse_time

EVENT = RecordedEvent(
    topic="ndx.population.citizen.v1",
    partition=2,
    partitions=6,
    offset=41,
    timestamp=1_760_000_000_123,
    key=b"001190012345",
    headers=[("ce_type", b"ndx.population.v1.CitizenChanged"), ("x", b"\xff"), ("x", b"")],
    value=b"\x0a\x0c\x00\xff",
)


def test_a_line_reads_back_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    tombstone = RecordedEvent("t", 0, 1, 0, 5, b"\x80", [], None)
    path.write_bytes(to_line(EVENT, {"citizen_id": "x"}) + b"\n" + to_line(tombstone))
    assert [e for _, e in read_events(path)] == [EVENT, tombstone]
    line = orjson.loads(to_line(EVENT))
    assert line["key"] == "001190012345"
    assert line["headers"][1] == ["x", {"base64": "/w=="}]
    assert "decoded" not in line


def good() -> dict[str, object]:
    return orjson.loads(to_line(EVENT))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"topic": "has space"}, '"topic" must be a Kafka topic name'),
        ({"partition": 6}, '"partition" 6 is not below "partitions" 6'),
        ({"partition": "1"}, '"partition" must be an integer'),
        ({"offset": True}, '"offset" must be an integer'),
        ({"value": "abc"}, '"value" is not valid base64'),
        ({"key": 12}, '"key" must be a string'),
        ({"key": {"base64": "%%"}}, '"key" is not valid base64'),
        ({"headers": {"a": "b"}}, '"headers" must be a list'),
        ({"headers": [["a"]]}, '"headers"[0] must be a [name, value] pair'),
        ({"timestamp": None}, '"timestamp" must be an integer'),
    ],
)
def test_a_bad_field_is_named_with_its_line(
    tmp_path: Path, change: dict[str, object], problem: str
) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_bytes(to_line(EVENT) + orjson.dumps({**good(), **change}) + b"\n")
    with pytest.raises(EventFileError) as caught:
        list(read_events(path))
    assert caught.value.line == 2
    assert problem in caught.value.problem


def test_missing_value_and_broken_json_are_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    without_value = good()
    del without_value["value"]
    path.write_bytes(orjson.dumps(without_value) + b"\n")
    with pytest.raises(EventFileError, match=r":1: \"value\" is missing"):
        list(read_events(path))
    path.write_bytes(b"\n" + to_line(EVENT)[:30] + b"\n")
    with pytest.raises(EventFileError, match=r"bad.ndjson:2: not JSON"):
        list(read_events(path))


def test_positions() -> None:
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    assert parse_position("1000") == 1000
    assert parse_position("2026-01-05T10:00:00+07:00") == datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    assert parse_time("2h", now) == now - timedelta(hours=2)
    assert parse_time("90s", now) == now - timedelta(seconds=90)
    assert parse_time("2026-01-05T10:00:00").tzinfo is not None  # local time
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_position("yesterday")


def test_pacing_schedule() -> None:
    by_speed = Pacing(speed=10, first_timestamp=1_000)
    assert [by_speed.due(i, ts) for i, ts in enumerate([1_000, 3_000, 2_000, 61_000])] == [
        0.0,
        0.2,
        0.1,  # older than the record before it: due already, sent right after it
        6.0,
    ]
    by_rate = Pacing(rate=5000)
    assert [by_rate.due(i, 0) for i in (0, 1, 5000)] == [0.0, 0.0002, 1.0]
    assert not Pacing().paced
    assert Pacing().due(100, 99_999) == 0.0
    with pytest.raises(ValueError, match="not both"):
        Pacing(speed=2, rate=10)
    with pytest.raises(ValueError, match="above 0"):
        Pacing(speed=0)


def test_lines_in_another_key_order_or_quoting_decoded_still_read(tmp_path: Path) -> None:
    # `decoded` is skipped unparsed only when it is the last key; any other layout is read whole.
    first = {"decoded": {"x": 1}, **good()}
    middle = good()
    middle = {**middle, "decoded": {"x": 1}, "value": middle.pop("value")}
    tricky = RecordedEvent("t", 0, 1, 0, 5, b',"decoded":', [("h", b',"decoded":{')], b"v")
    path = tmp_path / "e.ndjson"
    path.write_bytes(
        orjson.dumps(first)
        + b"\n"
        + orjson.dumps(middle)
        + b"\n"
        + to_line(tricky, {"a": ',"decoded":'})
    )
    assert [e for _, e in read_events(path)] == [EVENT, EVENT, tricky]
