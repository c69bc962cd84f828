"""Background processes of the local stack: pid files, ports, locks, stopping."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class StackError(RuntimeError):
    """Something the local stack needs is missing or failed; the message says what to do."""


def read_pid(pid_file: Path) -> int | None:
    """The pid written in `pid_file`, or None when there is none."""
    try:
        return int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def is_alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); /proc says whether it is really running. The
    # main thread of a killed JVM turns zombie while its other threads (and sockets) still
    # wind down, so a zombie with more than one thread counts as alive.
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return not Path("/proc/self").exists()
    return fields[0] != "Z" or int(fields[17]) > 1


def cmdline(pid: int) -> list[str] | None:
    """The command line of process `pid`, or None when it is gone or not readable."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def runs(pid_file: Path, marker: str) -> int | None:
    """The pid from `pid_file` if that process lives and its command line contains `marker`."""
    pid = read_pid(pid_file)
    if pid is None or not is_alive(pid):
        return None
    args = cmdline(pid)
    # Without /proc (not Linux) a live pid is taken at its word.
    if args is not None and marker not in args:
        return None  # the pid was reused by an unrelated process
    return pid


def stop_pid(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM, then SIGKILL if the process is still there after `timeout` seconds."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    if wait_exit(pid, timeout):
        return
    kill_pid(pid)


def kill_pid(pid: int, timeout: float = 10.0) -> None:
    """SIGKILL, and wait (up to `timeout` s) until the process is gone."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    wait_exit(pid, timeout)


def wait_exit(pid: int, timeout: float) -> bool:
    """Waits until process `pid` is gone; False if it still runs after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)  # reaps it if it is our child
        if not is_alive(pid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return f"(no log at {path})"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path`, so two processes do not provision at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Runs a coroutine to completion from sync code, also when an event loop is running."""

    async def main() -> T:
        return await make()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()
