"""What the soak watches while it runs: the memory of every process of the system, the lag of
its consumer groups, and the services' own counters (their Prometheus endpoints)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from ndx_cli.consumer_groups import group_status


def rss_kb(pid: int) -> tuple[int, int] | None:
    """Resident memory of a process and its descendants, kB: all of it (VmRSS) and the part
    that is no file's (RssAnon: the heaps, where a leak shows; the rest is code and mapped
    files, such as a database read through mmap). None once the process is gone."""
    rss = anon = 0
    found = False
    for each in (pid, *descendants(pid)):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1])
                found = True
            elif line.startswith("RssAnon:"):
                anon += int(line.split()[1])
    return (rss, anon) if found else None


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux: /proc/<pid>/task/<tid>/children)."""
    out: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            out.extend(children)
            pending.extend(children)
    return out


def listener_pid(port: int) -> int | None:
    """The process listening on local TCP `port` (a broker this run did not start), found
    through the socket's inode; None where /proc does not tell."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                inodes.add(fields[9])
    if not inodes:
        return None
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    return int(proc.name)
        except OSError:
            continue
    return None


def jvm_heap_mb(pid: int) -> float | None:
    """The heap a JVM has committed (MB), as `jcmd <pid> GC.heap_info` tells; None without a
    JDK's jcmd. A JVM grows its heap from -Xms towards -Xmx as it needs it, and its resident
    memory with it: this says how much of a broker's growth that is."""
    jcmd = shutil.which("jcmd")
    if jcmd is None:
        return None
    try:
        info = subprocess.run(
            [jcmd, str(pid), "GC.heap_info"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = re.search(r"heap\s+total (\d+)K", info)
    return round(int(found.group(1)) / 1024, 1) if found else None


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One scrape of http://127.0.0.1:<port>/metrics: value by (sample name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def metric(samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
           **labels: str) -> float:  # fmt: skip
    """The sum of the samples named `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


@dataclass(frozen=True)
class Group:
    """A consumer group the soak watches, on the topic it reads."""

    name: str  # how the report calls it
    group: str
    topic: str


@dataclass
class Sample:
    at: float  # seconds since the load started
    label: str  # "warm-up", "start", "load", "end", "drained"
    rss_mb: dict[str, float]
    anon_mb: dict[str, float]
    lag: dict[str, int]
    heap_mb: dict[str, float] = field(default_factory=dict)  # committed heap of the JVMs

    def as_dict(self) -> dict[str, Any]:
        out = {
            "t": round(self.at, 1),
            "label": self.label,
            "rss_mb": self.rss_mb,
            "anon_mb": self.anon_mb,
        }
        if self.heap_mb:
            out["heap_mb"] = self.heap_mb
        return {**out, "lag": self.lag}


@dataclass
class Watch:
    """Samples the processes' memory and the groups' lag."""

    bootstrap: str
    processes: dict[str, int]  # name -> pid
    groups: Sequence[Group]
    jvms: Sequence[str] = ()  # the processes whose committed heap is sampled too
    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)

    def memory_mb(self) -> tuple[dict[str, float], dict[str, float]]:
        """RSS and its anonymous part, MB, by process."""
        rss, anon = {}, {}
        for name, pid in self.processes.items():
            kb = rss_kb(pid)
            if kb is None:
                raise RuntimeError(f"{name} (pid {pid}) is gone")
            rss[name], anon[name] = round(kb[0] / 1024, 1), round(kb[1] / 1024, 1)
        return rss, anon

    async def lag(self) -> dict[str, int]:
        out = {}
        for g in self.groups:
            rows = await group_status(self.bootstrap, g.group, [g.topic])
            out[g.name] = sum(r.lag for r in rows if r.topic == g.topic)
        return out

    async def sample(self, label: str) -> Sample:
        at = time.monotonic() - self.started
        taken = Sample(at, label, *self.memory_mb(), await self.lag())
        for name in self.jvms:
            heap = await asyncio.to_thread(jvm_heap_mb, self.processes[name])
            if heap is not None:
                taken.heap_mb[name] = heap
        self.samples.append(taken)
        return taken

    async def every(self, seconds: float, label: str, stop: asyncio.Event) -> None:
        """Samples every `seconds` until `stop` is set."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), seconds)
            except TimeoutError:
                await self.sample(label)

    def one(self, label: str) -> Sample:
        return next(s for s in reversed(self.samples) if s.label == label)

    def memory(self) -> dict[str, dict[str, float]]:
        """Per process: RSS at the start (after warm-up) and at the end of the load, the most
        seen, the growth between start and end, absolute and as a share, and its trend (least
        squares over the samples); the same of its anonymous part; for a JVM, its committed
        heap at start and end."""
        start, end = self.one("start"), self.one("end")
        steady = [s for s in self.samples if start.at <= s.at <= end.at]
        out = {}
        for name in self.processes:
            first, last = start.rss_mb[name], end.rss_mb[name]
            out[name] = {
                "start_mb": first,
                "end_mb": last,
                "max_mb": max(s.rss_mb[name] for s in steady),
                "growth_mb": round(last - first, 1),
                "growth_pct": round(100 * (last - first) / first, 1) if first else 0.0,
                "trend_mb_per_min": slope(
                    [(s.at / 60, s.rss_mb[name]) for s in steady if s.label != "drained"]
                ),
                "anon_start_mb": start.anon_mb[name],
                "anon_end_mb": end.anon_mb[name],
                "anon_trend_mb_per_min": slope(
                    [(s.at / 60, s.anon_mb[name]) for s in steady if s.label != "drained"]
                ),
            }
            if name in start.heap_mb and name in end.heap_mb:
                out[name]["heap_start_mb"] = start.heap_mb[name]
                out[name]["heap_end_mb"] = end.heap_mb[name]
        return out

    def lags(self) -> dict[str, dict[str, int]]:
        """Per group: the most lag seen during the load, and the lag once drained."""
        drained = self.one("drained")
        return {
            g.name: {
                "max": max(s.lag[g.name] for s in self.samples),
                "end": drained.lag[g.name],
            }
            for g in self.groups
        }


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 for fewer than three points)."""
    if len(points) < 3:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    var = sum((x - mx) ** 2 for x, _ in points)
    if not var:
        return 0.0
    return round(sum((x - mx) * (y - my) for x, y in points) / var, 2)
