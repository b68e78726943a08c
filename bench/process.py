"""Running a command as a whole process: wall time from start to reaping, exit code, peak resident
memory (the kernel's own accounting of the reaped child, `wait4`), and its output kept in a file."""
from __future__ import annotations

import os
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    argv: list[str]
    exit_code: int
    wall_s: float
    peak_rss_kib: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def check(self) -> "Run":
        """The run itself, or an error naming the command and the end of its output."""
        if self.exit_code != 0:
            how = (f"was killed by signal {-self.exit_code} (after its timeout?)" if self.exit_code < 0
                   else f"exited {self.exit_code}")
            tail = "\n".join(self.output().splitlines()[-30:])
            raise RuntimeError(f"`{' '.join(self.argv)}` {how} (log: {self.log}):\n{tail}")
        return self


def run(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path, timeout: float) -> Run:
    """Runs `argv` to its end (killed after `timeout` s), stdout and stderr both into `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        try:
            # wait4 rather than Popen.wait: it also returns the child's resource usage.
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keeps Popen from waiting again
    return Run(argv, child.returncode, wall, usage.ru_maxrss, log)  # ru_maxrss is in KiB on Linux


def startup(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path,
            runs: int = 20, warmup: int = 2) -> dict:
    """Wall seconds of `runs` whole runs of a quick command (after `warmup` uncounted ones):
    min, median, max."""
    walls = []
    for i in range(warmup + runs):
        r = run(argv, cwd=cwd, env=env, log=log, timeout=60).check()
        if i >= warmup:
            walls.append(r.wall_s)
    return {"runs": runs, "min_s": min(walls), "median_s": statistics.median(walls), "max_s": max(walls)}
