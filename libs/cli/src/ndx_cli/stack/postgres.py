"""A local PostgreSQL server for tests and local runs, from the distribution's binaries."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from .procs import StackError, file_lock, is_alive, port_open, run_sync, tail

ENV_URL = "NDX_TEST_POSTGRES_URL"
DEFAULT_PORT = 55432
SYSTEM_USER = "postgres"
# A unix socket path must fit in sockaddr_un.sun_path (108 bytes with the final NUL).
MAX_SOCKET_PATH = 107


def find_binaries() -> Path:
    """The folder holding initdb and pg_ctl: on PATH, else the newest /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and (Path(on_path).parent / "initdb").exists():
        return Path(on_path).parent
    versions = sorted(
        (Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    for bin_dir in reversed(versions):
        if (bin_dir / "initdb").exists():
            return bin_dir
    raise StackError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install the Debian package "
        f"'postgresql' (apt-get install postgresql), or set {ENV_URL} to use a running server"
    )


class PostgresStack:
    """A cluster under `<root>/postgres`, listening on 127.0.0.1:`port` with trust auth."""

    def __init__(self, root: Path, port: int = DEFAULT_PORT, *, url: str | None = None) -> None:
        self.dir = Path(root).resolve() / "postgres"
        self.data = self.dir / "data"
        self.port = port
        self.log_file = self.dir / "server.log"
        # An external server (argument, else NDX_TEST_POSTGRES_URL): nothing is started then.
        self.external = url if url is not None else os.environ.get(ENV_URL) or None

    @property
    def server_url(self) -> str:
        """The SQLAlchemy URL of the server, without a database name."""
        return self.external or f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}"

    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        """Runs a PostgreSQL program, as the 'postgres' system user when we are root."""
        if self._as_root():
            # PostgreSQL refuses to run as root.
            if shutil.which("runuser"):
                args = ["runuser", "-u", SYSTEM_USER, "--", *args]
            else:
                args = ["su", "-s", "/bin/sh", SYSTEM_USER, "-c", shlex.join(args)]
        return subprocess.run(args, capture_output=True, text=True, cwd="/")

    def pid(self) -> int | None:
        """The postmaster's pid if this cluster's server is running."""
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
            pid = int(first.strip())
        except (FileNotFoundError, PermissionError, ValueError):
            return None
        return pid if is_alive(pid) else None

    def is_running(self) -> bool:
        """Whether this cluster's server is running (always True for an external server)."""
        return bool(self.external) or self.pid() is not None

    def start(self, timeout: float = 60.0) -> None:
        """Creates the cluster once, starts the server unless it runs, waits until it is ready."""
        if self.external:
            return
        bin_dir = find_binaries()
        self.dir.mkdir(parents=True, exist_ok=True)
        with file_lock(self.dir.parent / ".postgres.lock"):
            if self._as_root():
                self._prepare_for_system_user()
            if not (self.data / "PG_VERSION").exists():
                self._initdb(bin_dir)
            if self.pid() is not None:
                self._wait_ready(timeout)
                return
            if port_open("127.0.0.1", self.port):
                raise StackError(
                    f"port {self.port} is taken by another server; stop it, choose another port, "
                    f"or set {ENV_URL} to use that server"
                )
            socket_dir = str(self.dir)
            if len(f"{socket_dir}/.s.PGSQL.{self.port}.lock") > MAX_SOCKET_PATH:
                socket_dir = ""  # too deep for a unix socket: TCP only
            options = [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={shlex.quote(socket_dir)}",
                # A throwaway local server: durability traded for speed.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
            result = self._run(
                [
                    str(bin_dir / "pg_ctl"),
                    "start",
                    "--pgdata",
                    str(self.data),
                    "--log",
                    str(self.log_file),
                    "--options",
                    " ".join(options),
                    "--wait",
                    "--timeout",
                    str(int(timeout)),
                ]
            )
            if result.returncode != 0:
                raise StackError(
                    f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n"
                    f"--- {self.log_file}\n{tail(self.log_file, 20)}"
                )
            self._wait_ready(timeout)

    def _prepare_for_system_user(self) -> None:
        """As root: the 'postgres' user must exist, own the folder and reach it."""
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/bin/false", SYSTEM_USER],
                check=True,
                capture_output=True,
            )
        shutil.chown(self.dir, SYSTEM_USER, SYSTEM_USER)
        if self._run(["test", "-w", str(self.dir)]).returncode != 0:
            raise StackError(
                f"PostgreSQL runs as the '{SYSTEM_USER}' user (it refuses root), which cannot "
                f"reach {self.dir}; let others traverse its parent folders (chmod o+x) or "
                "keep the state folder elsewhere"
            )

    def _initdb(self, bin_dir: Path) -> None:
        result = self._run(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(self.data),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-instructions",
            ]
        )
        if result.returncode != 0:
            raise StackError(f"initdb failed:\n{result.stdout}{result.stderr}")

    def _wait_ready(self, timeout: float) -> None:
        import asyncpg

        deadline = time.monotonic() + timeout
        while True:
            try:
                run_sync(lambda: _fetch_one(self.server_url, "postgres", "SELECT 1"))
                return
            # Not listening yet, or "the database system is starting up".
            except (OSError, asyncpg.CannotConnectNowError) as e:
                error: Exception = e
            if time.monotonic() > deadline:
                raise StackError(
                    f"PostgreSQL did not accept connections within {timeout:.0f} s: {error}\n"
                    f"--- {self.log_file}\n{tail(self.log_file, 20)}"
                )
            time.sleep(0.2)

    def create_database(self, name: str) -> str:
        """Creates database `name` unless it exists; returns its SQLAlchemy URL."""
        return create_database(self.server_url, name)

    def stop(self, timeout: float = 60.0) -> None:
        """Stops the server (fast shutdown: open sessions are ended); data stays."""
        self._stop("fast", timeout)

    def kill(self, timeout: float = 60.0) -> None:
        """Stops the server as a crash would (for fault tests): every server process quits at
        once, without a checkpoint; the next start recovers from the write-ahead log."""
        self._stop("immediate", timeout)

    def _stop(self, mode: str, timeout: float) -> None:
        if self.external or self.pid() is None:
            return
        result = self._run(
            [
                str(find_binaries() / "pg_ctl"),
                "stop",
                "--pgdata",
                str(self.data),
                "--mode",
                mode,
                "--wait",
                "--timeout",
                str(int(timeout)),
            ]
        )
        if result.returncode != 0:
            raise StackError(f"PostgreSQL did not stop:\n{result.stdout}{result.stderr}")


def _dsn(server_url: str, database: str) -> str:
    """A libpq-style DSN (for asyncpg) of `database` on the server of an SQLAlchemy URL."""
    url = make_url(server_url).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


async def _fetch_one(server_url: str, database: str, query: str, *args: object) -> object:
    import asyncpg

    conn = await asyncpg.connect(_dsn(server_url, database), timeout=10)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def create_database(server_url: str, name: str) -> str:
    """Creates database `name` on a server unless it exists; returns its SQLAlchemy URL."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,62}", name):
        raise ValueError(f"not a plain database name: {name!r}")

    async def create() -> None:
        import asyncpg

        conn = await asyncpg.connect(_dsn(server_url, "postgres"), timeout=10)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                # Another process may create it in between (either error, depending on timing).
                with contextlib.suppress(
                    asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError
                ):
                    await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    run_sync(create)
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


def ensure_postgres(root: Path, port: int = DEFAULT_PORT) -> str:
    """The server URL: NDX_TEST_POSTGRES_URL if set, else the local server (started)."""
    configured = os.environ.get(ENV_URL)
    if configured:
        return configured
    stack = PostgresStack(root, port)
    stack.start()
    return stack.server_url
