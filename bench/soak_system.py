"""The system the soak runs against: a broker (its own, unless KAFKA_BOOTSTRAP_SERVERS names
one), then `ndx up` in a home folder of the soak's own, on free ports and on topics and
consumer groups named for this run, so that it clashes with no other `ndx up`; `ndx down` at
the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from soak_watch import Group, listener_pid

from ndx_cli.exchange import change_topics
from ndx_cli.local import SERVICES
from ndx_cli.stack.kafka import KafkaStack
from ndx_cli.stack.procs import StackError, free_port, read_pid, tail

ROOT = Path(__file__).resolve().parent.parent
# The Kafka jars `ndx up` fetched for the checkout, shared with the soak's broker.
KAFKA_LIBS = ROOT / ".ndx" / "kafka" / "libs"
ROUTES = ("gateway", "population", "land", "business")


@dataclass
class System:
    home: Path
    citizens: int
    parcels: int
    enterprises: int
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    ports: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, int] = field(default_factory=dict)
    broker: KafkaStack | None = None
    bootstrap: str = ""

    @property
    def prefix(self) -> str:
        return f"soak.{self.tag}"

    @property
    def topics(self) -> dict[str, str]:
        return change_topics(self.prefix)

    @property
    def gateway(self) -> str:
        return f"127.0.0.1:{self.ports['gateway']}"

    @property
    def pki(self) -> Path:
        return self.home / "pki"

    def groups(self) -> list[Group]:
        """The consumer groups of the system: the mirroring registries, the audit index."""
        citizen = self.topics["citizen"]
        return [
            Group("land", f"{self.prefix}.land", citizen),
            Group("business", f"{self.prefix}.business", citizen),
            Group("gateway audit index", f"{self.prefix}.gateway-tracker", self.audit_topic),
        ]

    @property
    def audit_topic(self) -> str:
        return f"{self.prefix}.gateway.audit.v1"

    def env(self) -> dict[str, str]:
        topics, prefix = self.topics, self.prefix
        env = {
            **os.environ,
            "NDX_HOME": str(self.home),
            **{f"NDX_{r.upper()}_ADDRESS": f"127.0.0.1:{p}" for r, p in self.ports.items()},
            **{f"NDX_{r.upper()}_METRICS_PORT": str(p) for r, p in self.metrics.items()},
            "NDX_OFFICER": "soak",
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "POPULATION_CITIZEN_TOPIC": topics["citizen"],
            "LAND_CITIZEN_TOPIC": topics["citizen"],
            "LAND_PARCEL_TOPIC": topics["parcel"],
            "LAND_CONSUMER_GROUP": f"{prefix}.land",
            "BUSINESS_CITIZEN_TOPIC": topics["citizen"],
            "BUSINESS_ENTERPRISE_TOPIC": topics["enterprise"],
            "BUSINESS_CONSUMER_GROUP": f"{prefix}.business",
            "GATEWAY_AUDIT_TOPIC": self.audit_topic,
            "GATEWAY_TRACKER_CONSUMER_GROUP": f"{prefix}.gateway-tracker",
            "GATEWAY_FEED_TOPICS": json.dumps(topics),
        }
        # The services' own settings come from `ndx up`, not from the caller's environment.
        for name in ("GATEWAY_DATABASE_URL", "GATEWAY_POLICY_FILE"):
            env.pop(name, None)
        return env

    def start(self) -> None:
        """Starts the broker (unless one is named) and `ndx up`; raises with the log's tail."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.ports = {r: free_port() for r in ROUTES}
        self.metrics = {r: free_port() for r in ROUTES}
        self.bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
        if not self.bootstrap:
            self.broker = KafkaStack(
                self.home,
                port=free_port(),
                controller_port=free_port(),
                libs=KAFKA_LIBS,
                heap="512m",
            )
            self.broker.start(timeout=180)
            self.bootstrap = self.broker.bootstrap
        sizes = ["--citizens", str(self.citizens), "--parcels", str(self.parcels)]
        self._ndx("up", *sizes, "--enterprises", str(self.enterprises))

    def stop(self) -> None:
        """`ndx down`, then the broker if it is the soak's own."""
        try:
            if (self.home / "run").exists():
                self._ndx("down")
        finally:
            if self.broker is not None:
                self.broker.stop()

    def _ndx(self, *args: str) -> None:
        log = self.home / f"ndx-{args[0]}.log"
        with log.open("ab") as out:
            done = subprocess.run(
                [sys.executable, "-m", "ndx_cli.main", *args],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=600,
            )
        if done.returncode != 0:
            raise StackError(f"ndx {args[0]} failed ({done.returncode}):\n{tail(log, 30)}")

    def processes(self) -> dict[str, int]:
        """The pid of every process of the system: the services `ndx up` started, and the
        broker (found by its port when it is not the soak's own)."""
        out = {}
        for service in SERVICES:
            pid = read_pid(self.home / "run" / f"{service.name}.pid")
            if pid is None:
                raise StackError(f"{service.name} is not running (no pid file)")
            out[service.name] = pid
        broker = self.broker.pid() if self.broker else None
        if broker is None:
            host, _, port = self.bootstrap.split(",")[0].rpartition(":")
            if host in ("127.0.0.1", "localhost", "::1", "[::1]"):
                broker = listener_pid(int(port))
        if broker is not None:
            out["kafka"] = broker
        return out

    def database_url(self, name: str) -> str:
        return f"sqlite+aiosqlite:///{self.home / 'data' / (name + '.db')}"
