"""The policy in force, and reloading it when its file changes (a ConfigMap update, an
operator's edit). A policy that does not compile is refused and the old one stays."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import structlog
from google.protobuf.descriptor_pool import DescriptorPool

from .policy import Policy, PolicyError, load_policy

log = structlog.get_logger(__name__)


class PolicySource:
    def __init__(self, path: Path, pool: DescriptorPool) -> None:
        self.path = path
        self.pool = pool
        self._digest = self._read_digest()
        self.current: Policy = load_policy(path, pool)  # a bad policy at start-up is fatal
        self.last_error: str | None = None

    def _read_digest(self) -> bytes | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).digest()
        except OSError:
            return None

    def reload_if_changed(self) -> bool:
        """Loads the file again if its content changed; True when a new policy took effect."""
        digest = self._read_digest()
        if digest is None or digest == self._digest:
            return False
        self._digest = digest
        try:
            policy = load_policy(self.path, self.pool)
        except PolicyError as e:
            self.last_error = str(e)
            log.error(
                "policy refused; the previous one stays in force",
                file=str(self.path),
                version=self.current.version,
                problems=e.problems,
            )
            return False
        previous, self.current, self.last_error = self.current.version, policy, None
        log.info("policy reloaded", file=str(self.path), version=policy.version, previous=previous)
        return True

    async def watch(self, every: float) -> None:
        """Checks the file every `every` seconds until cancelled."""
        while True:
            await asyncio.sleep(every)
            await asyncio.to_thread(self.reload_if_changed)
