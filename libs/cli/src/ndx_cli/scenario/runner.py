"""Sends a scenario's planned events with bounded concurrency, one entity's calls in order.

An event waits for the events planned before it that write one of its entities, so each
entity sees the same sequence of requests on every run while unrelated events overlap. The
expected version of a call is the version of its entity's last answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Iterable
from typing import Any

import grpc
from grpc_status import rpc_status

from .steps import Call, Step
from .summary import Refusal, ScenarioSummary
from .targets import Targets

TIMEOUT = 30.0
Key = tuple[str, str]
# Told of each call when it has its answer: the call, and whether it succeeded.
Progress = Callable[[Call, bool], None]


def _details(error: grpc.aio.AioRpcError) -> str:
    """The status message and the fields a BadRequest names, when it carries one."""
    message = error.details() or ""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return message
    from google.rpc import error_details_pb2

    fields = []
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [f"{v.field}: {v.description}" for v in bad.field_violations]
    return f"{message} ({'; '.join(fields)})" if fields else message


class Runner:
    def __init__(
        self,
        targets: Targets,
        versions: dict[Key, int],
        summary: ScenarioSummary,
        concurrency: int = 8,
        progress: Progress | None = None,
    ) -> None:
        self._stubs: dict[str, Any] = {}
        self._metadata: dict[str, tuple[tuple[str, str], ...]] = {}
        for registry in ("population", "land", "business"):
            door = getattr(targets, registry)
            if door is not None:
                self._stubs[registry] = door.stub(registry)
                self._metadata[registry] = door.metadata
        self.versions = versions
        self.summary = summary
        self.concurrency = concurrency
        self.progress = progress
        self._sent: dict[int, bytes] = {}
        self._running: set[asyncio.Task[None]] = set()
        self._failed: BaseException | None = None

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None and self._failed is None:
            self._failed = task.exception()

    async def run(self, steps: Iterable[Step]) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        last: dict[Key, asyncio.Task[None]] = {}
        running = self._running
        started = time.perf_counter()
        planned = 0
        for step in steps:
            # A slot is taken before the event starts, so an event waits only for events that
            # already hold one: the earliest event never waits and the run always advances.
            await slots.acquire()
            self.summary.events[step.kind] += 1
            keys = {call.key for call in step.calls}
            before = [last[k] for k in keys if k in last and not last[k].done()]
            task = asyncio.create_task(self._event(step, planned, before, slots))
            planned += len(step.calls)
            running.add(task)
            task.add_done_callback(self._done)
            for k in keys:
                last[k] = task
        await asyncio.gather(*list(running))
        if self._failed is not None:  # not a refusal: a fault of the scenario itself
            raise self._failed
        self.summary.seconds = time.perf_counter() - started
        digest = hashlib.sha256()
        for index in sorted(self._sent):
            digest.update(self._sent[index])
        self.summary.digest = digest.hexdigest()

    async def _event(
        self,
        step: Step,
        first: int,
        before: list[asyncio.Task[None]],
        slots: asyncio.Semaphore,
    ) -> None:
        try:
            await asyncio.gather(*before)
            for offset, call in enumerate(step.calls):
                if not await self._call(call, first + offset):
                    self.summary.skipped += len(step.calls) - offset - 1
                    break
        finally:
            slots.release()

    async def _call(self, call: Call, index: int) -> bool:
        if call.versioned:
            call.request.expected_version = self.versions.get(call.key, 0)  # type: ignore[attr-defined]
        wire = call.request.SerializeToString(deterministic=True)
        self._sent[index] = f"{call.registry}/{call.method}\n".encode() + wire
        self.summary.calls[call.method] += 1
        method = getattr(self._stubs[call.registry], call.method)
        try:
            answer = await method(
                call.request, metadata=self._metadata[call.registry], timeout=TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            self.summary.refusals.append(
                Refusal(call.method, call.subject, error.code().name, _details(error))
            )
            if self.progress is not None:
                self.progress(call, False)
            return False
        self.versions[call.key] = answer.version
        self.summary.succeeded += 1
        self.summary.touched.setdefault(call.registry, set()).add(call.subject)
        if self.progress is not None:
            self.progress(call, True)
        return True
