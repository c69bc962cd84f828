"""A real single-node Apache Kafka (KRaft) from its Maven Central artifacts."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from .procs import StackError, is_alive, port_open, read_pid, stop_pid, tail

DEPLOY = Path(__file__).resolve().parents[5] / "deploy" / "local" / "kafka"


class KafkaStack:
    """The broker's files live under `<root>/kafka`: libs, config, data and logs."""

    def __init__(self, root: Path, *, port: int = 9092, controller_port: int = 9093) -> None:
        self.dir = Path(root).resolve() / ("kafka" if port == 9092 else f"kafka-{port}")
        self.port = port
        self.controller_port = controller_port
        self.libs = Path(root).resolve() / "kafka-libs"
        self.pid_file = self.dir / "broker.pid"
        self.log_file = self.dir / "broker.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def provision(self) -> None:
        """Fetches the broker's jars (once per pom version) and formats storage (once)."""
        java, mvn = shutil.which("java"), shutil.which("mvn")
        if not java or not mvn:
            missing = " and ".join(n for n, p in (("Java 17+", java), ("Maven", mvn)) if not p)
            raise StackError(
                f"{missing} not found. Install them (Debian: apt-get install "
                "openjdk-17-jdk-headless maven) so that NDX can run Kafka locally, or set "
                "KAFKA_BOOTSTRAP_SERVERS=host:port to use an existing Kafka cluster."
            )
        pom = DEPLOY / "pom.xml"
        stamp = self.libs / ".pom-sha256"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        if not (stamp.exists() and stamp.read_text() == digest):
            shutil.rmtree(self.libs, ignore_errors=True)
            self.libs.mkdir(parents=True)
            result = subprocess.run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "-f",
                    str(pom),
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={self.libs}",
                    "-DincludeScope=runtime",
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise StackError(
                    f"fetching Kafka from Maven Central failed:\n{result.stdout[-3000:]}"
                    f"{result.stderr[-2000:]}"
                )
            stamp.write_text(digest)
        self.dir.mkdir(parents=True, exist_ok=True)
        config = (DEPLOY / "server.properties").read_text()
        config = config.format(
            data_dir=self.dir, port=self.port, controller_port=self.controller_port
        )
        (self.dir / "server.properties").write_text(config)
        if not (self.dir / "logs" / "meta.properties").exists():
            cluster_id = _cluster_id()
            result = subprocess.run(
                [
                    *self._java(),
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    "--ignore-formatted",
                    # The = form: a generated id may begin with "-".
                    f"--cluster-id={cluster_id}",
                    "-c",
                    str(self.dir / "server.properties"),
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise StackError(
                    f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}"
                )

    def _java(self) -> list[str]:
        return [
            "java",
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.dir / 'server-logs'}",
            f"-Dlog4j2.configurationFile={DEPLOY / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
        ]

    def is_running(self) -> bool:
        pid = read_pid(self.pid_file)
        return bool(pid and is_alive(pid))

    def start(self, timeout: float = 90.0) -> None:
        """Starts the broker unless it runs already, and waits until it answers."""
        if self.is_running() and self._answers():
            return
        if port_open("127.0.0.1", self.port):
            if self._answers():
                return  # a broker started elsewhere (another checkout) serves this port
            raise StackError(
                f"port {self.port} is taken by a process that is not a Kafka broker; stop it, "
                "or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster"
            )
        self.provision()
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                [*self._java(), "kafka.Kafka", str(self.dir / "server.properties")],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise StackError(f"Kafka exited with {proc.returncode}:\n{tail(self.log_file)}")
            if port_open("127.0.0.1", self.port) and self._answers():
                return
            time.sleep(0.5)
        raise StackError(f"Kafka did not answer within {timeout:.0f} s:\n{tail(self.log_file)}")

    def _answers(self) -> bool:
        async def describe() -> bool:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
            try:
                await admin.start()
                await admin.describe_cluster()
                return True
            except Exception:
                return False
            finally:
                await admin.close()

        return asyncio.run(describe())

    def stop(self, timeout: float = 30.0) -> None:
        """Stops the broker cleanly (SIGTERM); data stays."""
        pid = read_pid(self.pid_file)
        if pid:
            stop_pid(pid, timeout)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as a crash would (for fault tests)."""
        pid = read_pid(self.pid_file)
        if pid:
            stop_pid(pid, timeout=0)


def _cluster_id() -> str:
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def ensure_kafka(root: Path) -> str:
    """The bootstrap servers: KAFKA_BOOTSTRAP_SERVERS if set, else the local broker (started)."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return configured
    stack = KafkaStack(root)
    stack.start()
    return stack.bootstrap
