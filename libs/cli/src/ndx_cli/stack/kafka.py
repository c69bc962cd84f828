"""A real single-node Apache Kafka (KRaft) run from its Maven Central artifacts."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from ndx_runtime.tls import Identity

from .certs import DevPki
from .procs import (
    StackError,
    file_lock,
    free_port,
    kill_pid,
    port_open,
    run_sync,
    runs,
    stop_pid,
    tail,
)

DEPLOY = Path(__file__).resolve().parents[5] / "deploy" / "local" / "kafka"
DEFAULT_PORT = 9092
DEFAULT_SSL_PORT = 9094
# The broker's certificate on the SSL listener, issued by the dev CA.
BROKER_IDENTITY = Identity("service", "kafka-broker")
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
NO_TOOLS = (
    "{missing} not found. NDX runs Apache Kafka locally from Maven Central and needs "
    "Java 17+ and Maven for that (Debian: apt-get install openjdk-17-jre-headless maven); "
    "or set KAFKA_BOOTSTRAP_SERVERS=host:port to use an existing Kafka cluster."
)


class KafkaStack:
    """A broker whose config, data and logs live under `<root>/kafka` (`kafka-<port>`).

    It listens for PLAINTEXT on `port` and for SSL with client certificates on `ssl_port`
    (default 9094 beside 9092, else a free port); the certificates are those of the dev PKI in
    `pki` (default `<root>/pki`).
    """

    def __init__(
        self,
        root: Path,
        *,
        port: int = DEFAULT_PORT,
        controller_port: int = 9093,
        ssl_port: int | None = None,
        libs: Path | None = None,
        pki: Path | None = None,
        heap: str = "512m",
    ) -> None:
        root = Path(root).resolve()
        self.port = port
        self.controller_port = controller_port
        if ssl_port is None:
            ssl_port = DEFAULT_SSL_PORT if port == DEFAULT_PORT else free_port()
        self.ssl_port = ssl_port
        self.pki = DevPki(pki.resolve() if pki else root / "pki")
        self.heap = heap
        self.dir = root / ("kafka" if port == DEFAULT_PORT else f"kafka-{port}")
        # The jars are shared by every broker under this root.
        self.libs = libs.resolve() if libs else root / "kafka" / "libs"
        self.config = self.dir / "server.properties"
        self.pid_file = self.dir / "broker.pid"
        self.log_file = self.dir / "broker.log"
        self.server_log = self.dir / "server-logs" / "server.log"

    @property
    def bootstrap(self) -> str:
        """The bootstrap servers string of this broker."""
        return f"127.0.0.1:{self.port}"

    @property
    def ssl_bootstrap(self) -> str:
        """The bootstrap servers string of this broker's SSL listener."""
        return f"127.0.0.1:{self.ssl_port}"

    def provision(self) -> None:
        """Fetches the jars (again if the pom changed), writes the config, formats storage once."""
        java, mvn = _tools()
        with file_lock(self.libs.parent / ".kafka-libs.lock"):
            self._fetch_libs(mvn)
        self.dir.mkdir(parents=True, exist_ok=True)
        template = (DEPLOY / "server.properties").read_text()
        config = template.format(
            data_dir=self.dir,
            port=self.port,
            controller_port=self.controller_port,
            ssl_port=self.ssl_port,
            **self._ssl_material(),
        )
        # The file holds the broker's private key.
        fd = os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(config)
        if (self.dir / "logs" / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # --standalone: this node alone forms the controller quorum (KIP-853, Kafka 3.9+).
        # The = form of --cluster-id, as a generated id may begin with "-".
        args = ["format", "--standalone", "--ignore-formatted", f"--cluster-id={cluster_id}"]
        result = subprocess.run(
            [*self._java(java, "256m"), STORAGE_TOOL, *args, "--config", str(self.config)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    def _ssl_material(self) -> dict[str, str]:
        """The broker's certificate, key and trusted CA as properties values (PEM, one line)."""
        self.pki.ensure([BROKER_IDENTITY])
        files = {
            "ssl_certificate_chain": self.pki.cert_file(BROKER_IDENTITY),
            "ssl_key": self.pki.key_file(BROKER_IDENTITY),
            "ssl_ca_certificates": self.pki.ca_file,
        }
        # A properties value is one line; \n in it stands for a line break.
        return {name: path.read_text().strip().replace("\n", "\\n") for name, path in files.items()}

    def _fetch_libs(self, mvn: str) -> None:
        pom = DEPLOY / "pom.xml"
        stamp = self.libs / ".pom-sha256"
        digest = hashlib.sha256(pom.read_bytes()).hexdigest()
        if stamp.exists() and stamp.read_text() == digest:
            return
        fresh = self.libs.with_name(self.libs.name + ".new")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-Dstyle.color=never",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={fresh}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            shutil.rmtree(fresh, ignore_errors=True)
            raise StackError(
                "fetching Kafka from Maven Central failed (mvn dependency:copy-dependencies):\n"
                f"{result.stdout[-3000:]}{result.stderr[-2000:]}"
            )
        (fresh / ".pom-sha256").write_text(digest)
        shutil.rmtree(self.libs, ignore_errors=True)
        fresh.rename(self.libs)

    def _java(self, java: str, heap: str) -> list[str]:
        return [
            java,
            f"-Xmx{heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.server_log.parent}",
            f"-Dlog4j2.configurationFile={DEPLOY / 'log4j2.properties'}",
            "-cp",
            f"{self.libs}/*",
        ]

    def pid(self) -> int | None:
        """The broker's pid if the broker started here is running."""
        return runs(self.pid_file, MAIN_CLASS)

    def is_running(self) -> bool:
        """Whether the broker started here is running (it may still be starting up)."""
        return self.pid() is not None

    def start(self, timeout: float = 60.0) -> None:
        """Starts the broker unless it runs already, and waits until it answers."""
        with file_lock(self.dir / ".start.lock"):
            self._start(timeout)

    def _start(self, timeout: float) -> None:
        if self.is_running():
            self._wait_ready(timeout)
            return
        if port_open("127.0.0.1", self.port):
            if self._answers():
                return  # a broker started elsewhere (another checkout) serves this port
            raise StackError(
                f"port {self.port} is taken by a process that is not a Kafka broker; stop it, "
                "or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster"
            )
        self.provision()
        java, _ = _tools()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                [*self._java(java, self.heap), MAIN_CLASS, str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                start_new_session=True,
            )
        self.pid_file.write_text(str(proc.pid))
        self._wait_ready(timeout, proc)

    def _wait_ready(self, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise StackError(f"Kafka exited with {proc.returncode}:\n{self._logs()}")
            if proc is None and not self.is_running():
                raise StackError(f"Kafka stopped while starting:\n{self._logs()}")
            if port_open("127.0.0.1", self.port) and self._answers():
                return
            time.sleep(0.3)
        raise StackError(f"Kafka did not answer within {timeout:.0f} s:\n{self._logs()}")

    def _logs(self) -> str:
        return (
            f"--- {self.log_file}\n{tail(self.log_file, 20)}\n"
            f"--- {self.server_log}\n{tail(self.server_log, 20)}"
        )

    def _answers(self) -> bool:
        """Whether a broker on the port answers a metadata request listing itself."""

        async def describe() -> bool:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
            try:
                await admin.start()
                cluster = await admin.describe_cluster()
                return bool(cluster.get("brokers"))
            except Exception:
                return False
            finally:
                with contextlib.suppress(Exception):
                    await admin.close()

        with _quiet("aiokafka"):
            return run_sync(describe)

    def stop(self, timeout: float = 30.0) -> None:
        """Stops the broker cleanly (SIGTERM, SIGKILL after `timeout` s); data stays."""
        pid = self.pid()
        if pid is not None:
            stop_pid(pid, timeout)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as a crash would (for fault tests); data stays as the crash left it."""
        pid = self.pid()
        if pid is not None:
            kill_pid(pid)
        self.pid_file.unlink(missing_ok=True)


def _tools() -> tuple[str, str]:
    """The java (17+) and mvn executables, or a StackError saying what to install."""
    java_home = os.environ.get("JAVA_HOME")
    java = shutil.which("java", path=f"{java_home}/bin") if java_home else None
    java = java or shutil.which("java")
    mvn = shutil.which("mvn")
    missing = [name for name, found in (("Java 17+", java), ("Maven", mvn)) if not found]
    if missing or java is None or mvn is None:
        raise StackError(NO_TOOLS.format(missing=" and ".join(missing)))
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(?:1\.)?(\d+)', version)
    if not match or int(match.group(1)) < 17:
        found = match.group(1) if match else "unknown"
        raise StackError(NO_TOOLS.format(missing=f"Java 17+ (found Java {found} at {java})"))
    return java, mvn


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Silences a library's connection-error logging while the broker is probed."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)


def ensure_kafka(root: Path) -> str:
    """The bootstrap servers: KAFKA_BOOTSTRAP_SERVERS if set, else the local broker (started)."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        return configured
    stack = KafkaStack(root)
    stack.start()
    return stack.bootstrap
