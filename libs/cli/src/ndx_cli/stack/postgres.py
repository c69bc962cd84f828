"""A throwaway PostgreSQL server for tests and local runs, from the Debian package's binaries."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import time
from pathlib import Path

from .procs import StackError, port_open


def _binaries() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3])
    )
    if candidates:
        return Path(candidates[-1]).parent
    raise StackError(
        "PostgreSQL not found: install the Debian package 'postgresql' "
        "(apt-get install postgresql), or set NDX_TEST_POSTGRES_URL"
    )


class PostgresStack:
    """A cluster under `<root>/postgres`, listening on 127.0.0.1:`port`, trust auth."""

    def __init__(self, root: Path, port: int = 55432) -> None:
        self.dir = Path(root).resolve() / "postgres"
        self.data = self.dir / "data"
        self.port = port
        self._server_url = os.environ.get("NDX_TEST_POSTGRES_URL")

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        # PostgreSQL refuses to run as root: drop to the 'postgres' system user.
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, capture_output=True, text=True, cwd="/")

    def start(self) -> None:
        if self._server_url:
            return
        bin_dir = _binaries()
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            r = self._run(
                [
                    str(bin_dir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ]
            )
            if r.returncode != 0:
                raise StackError(f"initdb failed:\n{r.stdout}{r.stderr}")
        if port_open("127.0.0.1", self.port):
            return
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c max_connections=200"
        )
        r = self._run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "server.log"),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        if r.returncode != 0:
            raise StackError(f"PostgreSQL did not start:\n{r.stdout}{r.stderr}")
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline:
                raise StackError("PostgreSQL did not open its port")
            time.sleep(0.2)

    @property
    def server_url(self) -> str:
        return self._server_url or f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}"

    def create_database(self, name: str) -> str:
        """Creates a database (if missing) and returns its SQLAlchemy URL."""
        import asyncio

        import asyncpg

        base = self.server_url.replace("postgresql+asyncpg://", "postgresql://")

        async def create() -> None:
            conn = await asyncpg.connect(f"{base.rstrip('/')}/postgres")
            try:
                exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
                if not exists:
                    await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())
        return f"{self.server_url.rstrip('/')}/{name}"

    def stop(self) -> None:
        if self._server_url or not (self.data / "PG_VERSION").exists():
            return
        self._run([str(_binaries() / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"])
