"""`python kill_after_commit.py DB PID TARGET DELAY`: SIGKILLs process PID as soon as (or DELAY
seconds after) a commit to the SQLite database DB takes the events its inbox records as
applied past TARGET; prints how many that commit made.

A consumer commits a batch's offsets to Kafka a few milliseconds after the batch's database
transaction; to kill it inside that window the watcher polls every millisecond, in a process
of its own (the standard library only, started in milliseconds) so that no other work in the
test's process delays it.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import time

# A mirror's inbox: each citizen's last applied version; its events start at version 2.
APPLIED = "SELECT coalesce(sum(version - 1), 0) FROM inbox"


def kill_after_commit(path: str, pid: int, target: int, delay: float, timeout: float) -> int:
    """Returns the events applied by the commit that triggered the kill."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            # Changes whenever another connection has committed.
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != seen:
                seen = version
                done = int(conn.execute(APPLIED).fetchone()[0])
                if done > target:
                    time.sleep(delay)
                    os.kill(pid, signal.SIGKILL)
                    return done
            time.sleep(0.001)
        raise TimeoutError(f"no commit took {path} past {target} applied events")
    finally:
        conn.close()


if __name__ == "__main__":
    db, pid, target, delay = sys.argv[1:5]
    print(kill_after_commit(db, int(pid), int(target), float(delay), timeout=600))
