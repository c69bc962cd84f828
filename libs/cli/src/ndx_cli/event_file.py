"""Recorded event files: NDJSON, one Kafka record a line, gzip when the name ends in `.gz`.

A line (keys in this order; `decoded` only where the value's type is known):

    {"topic": "ndx.population.citizen.v1", "partition": 3, "partitions": 6, "offset": 1042,
     "timestamp": 1763862000123, "key": "001190012345",
     "headers": [["ce_type", "ndx.population.v1.CitizenChanged"], ...],
     "value": "CgwwMDEx...", "decoded": {"op": "OP_UPDATE", ...}}

- `partitions` is the source topic's partition count, so a replay can create a missing topic
  alike and keep every record in its partition.
- `timestamp` is the record's Kafka timestamp in milliseconds since the epoch.
- `key` and header values are bytes: a JSON string when they are valid UTF-8 (entity ids,
  CloudEvents attributes), `{"base64": "..."}` when they are not, `null` when absent. Headers
  are a list of pairs, in order, repeats kept.
- `value` is always base64 (standard alphabet, padded); `null` is a tombstone.
- `decoded` is the value as proto3 JSON (field names as in the .proto) for reading and `jq`;
  a replay ignores it (it does not even parse it) and produces `value`, so a round trip is
  byte-exact.
"""

from __future__ import annotations

import binascii
import functools
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any

import orjson

from ndx_runtime.envelope import Headers

# Level 6 (gzip's own default) compresses these lines about 7:1 at half the speed of level 1.
GZIP_LEVEL = 6
# Kafka's rule for topic names.
_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


@dataclass(slots=True)
class RecordedEvent:
    """One Kafka record as a file holds it."""

    topic: str
    partition: int
    partitions: int  # of the source topic
    offset: int
    timestamp: int  # milliseconds since the epoch
    key: bytes | None
    headers: Headers
    value: bytes | None  # None: tombstone

    def size(self) -> int:
        """Bytes of key, value and headers: what a broker stores, give or take framing."""
        payload = len(self.key or b"") + len(self.value or b"")
        try:  # names and values in one pass at C speed; names are ASCII in practice
            return payload + sum(map(len, chain.from_iterable(self.headers)))
        except TypeError:  # a null header value
            return payload + sum(len(k) + len(v or b"") for k, v in self.headers)


class EventFileError(ValueError):
    """A line of an event file that cannot be replayed: where it is and what is wrong."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}")
        self.path, self.line, self.problem = path, line, problem


@functools.lru_cache(maxsize=1024)
def valid_topic_name(name: str) -> bool:
    return bool(_TOPIC_NAME.fullmatch(name)) and name not in (".", "..")


def gzipped(path: Path) -> bool:
    return path.name.endswith(".gz")


def open_write(path: Path, *, compress: bool) -> io.BufferedIOBase:
    if compress:
        return gzip.open(path, "wb", compresslevel=GZIP_LEVEL)
    return path.open("wb")


def open_read(path: Path) -> io.BufferedIOBase:
    if gzipped(path):
        return gzip.open(path, "rb")
    return path.open("rb")


def _bytes_out(data: bytes | None) -> str | dict[str, str] | None:
    if data is None:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return {"base64": binascii.b2a_base64(data, newline=False).decode()}


def to_line(event: RecordedEvent, decoded: dict[str, Any] | None = None) -> bytes:
    """The event as one NDJSON line, newline included."""
    out: dict[str, Any] = {
        "topic": event.topic,
        "partition": event.partition,
        "partitions": event.partitions,
        "offset": event.offset,
        "timestamp": event.timestamp,
        "key": _bytes_out(event.key),
        "headers": [[k, _bytes_out(v)] for k, v in event.headers],
        "value": (
            None
            if event.value is None
            else binascii.b2a_base64(event.value, newline=False).decode()
        ),
    }
    if decoded is not None:
        out["decoded"] = decoded
    return orjson.dumps(out, option=orjson.OPT_APPEND_NEWLINE)


_REQUIRED = {"topic", "partition", "partitions", "offset", "timestamp", "key", "headers", "value"}


class _Bad(Exception):
    """What is wrong with a field; the reader adds the file and line."""


def _int(obj: dict[str, Any], name: str, minimum: int) -> int:
    value = obj.get(name)
    if type(value) is not int or value < minimum:
        raise _Bad(f'"{name}" must be an integer >= {minimum}, not {value!r}')
    return value


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise _Bad(f"{what} must be a base64 string, not {text!r}")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error as e:
        raise _Bad(f"{what} is not valid base64 ({e})") from None


def _bytes_in(data: Any, what: str) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, dict) and data.keys() == {"base64"}:
        return _b64(data["base64"], what)
    raise _Bad(f'{what} must be a string, {{"base64": "..."}} or null, not {data!r}')


def _headers(headers: Any) -> Headers:
    if type(headers) is list:
        # Most lines hold only text headers: one comprehension instead of a call per header.
        pairs = [
            (p[0], p[1].encode())
            for p in headers
            if type(p) is list and len(p) == 2 and type(p[0]) is str and type(p[1]) is str
        ]
        if len(pairs) == len(headers):
            return pairs
    if not isinstance(headers, list):
        raise _Bad(f'"headers" must be a list of [name, value] pairs, not {headers!r}')
    checked: Headers = []
    for i, pair in enumerate(headers):
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
            raise _Bad(f'"headers"[{i}] must be a [name, value] pair, not {pair!r}')
        checked.append((pair[0], _bytes_in(pair[1], f'"headers"[{i}] value')))  # type: ignore[arg-type]
    return checked


def _load(line: bytes) -> Any:
    # `decoded` comes last and is about half the line; replay never reads it, so a whole line
    # (ending in "}\n") is parsed without it. A JSON string cannot hold the bytes `,"decoded":`
    # (its quotes are escaped), so the first such bytes are the top-level key. Any other
    # layout, or a line missing a field once cut, is parsed whole.
    cut = line.find(b',"decoded":')
    if cut > 0 and line.endswith(b"}\n"):
        try:
            obj = orjson.loads(line[:cut] + b"}")
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and obj.keys() >= _REQUIRED:
            return obj
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as e:
        raise _Bad(f"not JSON ({e})") from None


def from_line(line: bytes) -> RecordedEvent:
    """Parses one line; raises _Bad naming the field and what would be accepted."""
    obj = _load(line)
    if not isinstance(obj, dict):
        raise _Bad(f"expected a JSON object, got {type(obj).__name__}")
    topic = obj.get("topic")
    if not isinstance(topic, str) or not valid_topic_name(topic):
        raise _Bad(f'"topic" must be a Kafka topic name, not {topic!r}')
    partition = _int(obj, "partition", 0)
    partitions = _int(obj, "partitions", 1)
    if partition >= partitions:
        raise _Bad(f'"partition" {partition} is not below "partitions" {partitions}')
    pairs = _headers(obj.get("headers"))
    if "value" not in obj:
        raise _Bad('"value" is missing (base64, or null for a tombstone)')
    value = obj["value"]
    return RecordedEvent(
        topic=topic,
        partition=partition,
        partitions=partitions,
        offset=_int(obj, "offset", 0),
        timestamp=_int(obj, "timestamp", -1),
        key=_bytes_in(obj.get("key"), '"key"'),
        headers=pairs,
        value=None if value is None else _b64(value, '"value"'),
    )


def read_events(path: Path) -> Iterator[tuple[int, RecordedEvent]]:
    """(line number, event) for every non-blank line; EventFileError at the first bad one."""
    number = 0
    try:
        with open_read(path) as f:
            for number, line in enumerate(f, 1):
                if line.isspace():
                    continue
                try:
                    yield number, from_line(line)
                except _Bad as e:
                    raise EventFileError(path, number, str(e)) from None
    except FileNotFoundError:
        raise
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        # A truncated or corrupt gzip stream fails after the last line that could be read.
        raise EventFileError(path, number + 1, f"cannot read the file ({e})") from None
