"""Printing gRPC errors with their google.rpc.Status details."""

from __future__ import annotations

import json
import sys

import grpc
from google.protobuf import json_format
from google.rpc import error_details_pb2  # noqa: F401  (registers the detail types)
from grpc_status import rpc_status


def print_rpc_error(error: grpc.aio.AioRpcError) -> None:
    """Writes the status code name, message and details to stderr as JSON."""
    out: dict[str, object] = {"code": error.code().name, "message": error.details()}
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is not None:
        out["details"] = [
            json_format.MessageToDict(d, preserving_proto_field_name=True) for d in status.details
        ]
    print(json.dumps(out, ensure_ascii=False, indent=2), file=sys.stderr)
