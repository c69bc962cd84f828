"""A service run as a child process with JSON logs: what it logs says where it listens.

A service started on port 0 logs the port it bound; reading it back avoids picking a free port
first and racing another process for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

from ndx_runtime.settings import variables


def settings_env(settings: BaseSettings, base: Mapping[str, str]) -> dict[str, str]:
    """`base` plus the variables that give a child process `settings` (each field's preferred
    variable: prefixed, or cluster-wide like KAFKA_*)."""
    env = dict(base)
    for name, value in settings.model_dump(mode="json", exclude={"otlp_endpoint"}).items():
        if value is None:
            continue
        key = variables(type(settings), name)[0]
        env[key] = value if isinstance(value, str) else json.dumps(value)
    return env


class ChildExited(RuntimeError):
    """The child ended before logging what was awaited."""


class ServiceProcess:
    """A child process whose stdout and stderr go to `log_file`."""

    def __init__(self, proc: asyncio.subprocess.Process, log_file: Path) -> None:
        self.proc = proc
        self.log_file = log_file

    @classmethod
    async def start(
        cls, args: Sequence[str], env: Mapping[str, str], log_file: Path
    ) -> ServiceProcess:
        with log_file.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                *args, env=dict(env), stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        return cls(proc, log_file)

    def entries(self) -> list[dict[str, Any]]:
        """The JSON log lines written so far."""
        found = []
        for line in self.log_file.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    found.append(entry)
        return found

    async def logged(self, event: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        """The first log entry of `event` (with `fields`), waiting for it."""
        async with asyncio.timeout(timeout):
            while True:
                for entry in self.entries():
                    if entry.get("event") == event and all(
                        entry.get(k) == v for k, v in fields.items()
                    ):
                        return entry
                if self.proc.returncode is not None:
                    raise ChildExited(
                        f"exited with {self.proc.returncode} before logging {event!r}:\n"
                        + self.log_file.read_text(errors="replace")[-4000:]
                    )
                await asyncio.sleep(0.1)

    async def terminate(self, timeout: float = 60.0) -> int:
        """Sends SIGTERM and returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return await self.wait(timeout)

    async def wait(self, timeout: float = 60.0) -> int:
        async with asyncio.timeout(timeout):
            return await self.proc.wait()

    def kill(self) -> None:
        """Kills the child if it still runs (a test's clean-up)."""
        if self.proc.returncode is None:
            self.proc.kill()
