"""Running a command as a whole process: wall time from start to reaping, exit code, peak resident
memory, and its output kept in a file."""
from __future__ import annotations

import statistics
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PEAK_POLL_S = 0.01


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


class PeakRss(threading.Thread):
    """The peak resident memory of a running process: its VmHWM (/proc/<pid>/status), read every
    10 ms until it exits. Not the ru_maxrss of wait4: Linux carries the parent's peak into the
    child at exec, so a child of this Python harness would never read below the harness's size."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.peak_kib = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                hwm = next((line for line in self.status.read_text().splitlines()
                            if line.startswith("VmHWM:")), None)
            except OSError:  # reaped
                return
            if hwm:  # a zombie has no memory lines
                self.peak_kib = max(self.peak_kib, int(hwm.split()[1]))
            if self.stopped.wait(PEAK_POLL_S):
                return


def run(argv: list[str], *, cwd: Path, env: dict[str, str], log: Path, timeout: float) -> Run:
    """Runs `argv` to its end (killed after `timeout` s), stdout and stderr both into `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        child = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT)
        peak = PeakRss(child.pid)
        peak.start()
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        try:
            child.wait()
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        peak.stopped.set()
        peak.join()
    return Run(argv, child.returncode, wall, peak.peak_kib, log)


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
