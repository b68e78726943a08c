"""The scenarios of `make bench` (BENCHMARKS.md, "Method"), each on a freshly reset stack except the
converged `up`, which follows the fresh one on the same working directory and state.

Every measured command runs as a whole process with the stack's exports in its environment
(plink also with `PLINK_WAIT_SCALE` = 1 / time scale, so its polling runs on the stack's clock).
Its output goes to `logs/<scenario>.log` and the call logs it caused to `calls/<scenario>.json`
under the output directory (target/bench/).
"""
from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import calls, process
from .stack import REPO, Stack

WORKFLOW = REPO / "workflows" / "s3-privatelink.toml"
SEQUENTIAL = REPO / "bench" / "sequential.py"
FLEET = 10  # deployments sharing one NCC in scenario (d); also their --parallel


@dataclass
class Bench:
    stack: Stack
    plink: Path
    out: Path
    timeout_s: float  # for any one measured command

    @property
    def wait_scale(self) -> int:
        return round(1 / self.stack.time_scale)

    def measure(self, name: str, argv: list[str], cwd: Path) -> dict:
        """Runs `argv` in `cwd` (it must succeed) and what it cost: wall time, peak memory, requests."""
        self.stack.clear_calls()
        env = self.stack.client_env() | {"PLINK_WAIT_SCALE": str(self.wait_scale)}
        run = process.run(argv, cwd=cwd, env=env, log=self.out / "logs" / f"{name}.log",
                          timeout=self.timeout_s).check()
        log = self.stack.calls()
        (self.out / "calls").mkdir(parents=True, exist_ok=True)
        (self.out / "calls" / f"{name}.json").write_text(json.dumps(log, indent=1))
        return {"command": " ".join(_shown(a) for a in argv), "wall_s": run.wall_s,
                "peak_rss_kib": run.peak_rss_kib, **calls.summary(log, run.output()),
                "by_action": calls.by_action(log)}

    def fresh_and_converged(self) -> tuple[dict, dict]:
        """(a) `plink up` from nothing, then (c) the same `up` again, on the same state."""
        self.stack.reset()
        work = _empty_dir(self.out / "work" / "fresh")
        fresh = self.measure("fresh", [str(self.plink), "up", str(WORKFLOW)], work)
        converged = self.measure("converged", [str(self.plink), "up", str(WORKFLOW)], work)
        return fresh, converged

    def sequential(self) -> dict:
        """(b) the seed's procedure as a plain script; it must reach ESTABLISHED and the binding."""
        self.stack.reset()
        work = _empty_dir(self.out / "work" / "sequential")
        measured = self.measure("sequential", [sys.executable, str(SEQUENTIAL),
                                               "--scale", repr(self.stack.time_scale)], work)
        output = (self.out / "logs" / "sequential.log").read_text()
        result = json.loads(next(line for line in reversed(output.splitlines()) if line.startswith("{")))
        if result["connection_state"] != "ESTABLISHED" or result["workspace_ncc"] != result["ncc_id"]:
            raise RuntimeError(f"the sequential script ended without the rule ESTABLISHED and bound: {result}")
        return measured | {"result": result}

    def fleet(self, count: int) -> dict:
        """(d) `count` deployments of the example workflow sharing its NCC, `up --parallel 10`."""
        self.stack.reset()
        work = _empty_dir(self.out / "work" / f"fleet-{count}")
        files = fleet_files(work / "workflows", count)
        return self.measure(f"fleet-{count}", [str(self.plink), "up", str(files), "--parallel", str(FLEET)],
                            work)

    def startup(self) -> dict:
        """Start-up of plink alone: `--version`, and `validate` of the example (no cloud touched)."""
        env = self.stack.client_env()
        return {
            "version": process.startup([str(self.plink), "--version"], cwd=REPO, env=env,
                                       log=self.out / "logs" / "startup-version.log"),
            "validate": process.startup([str(self.plink), "validate", str(WORKFLOW)], cwd=REPO, env=env,
                                        log=self.out / "logs" / "startup-validate.log"),
        }


def fleet_files(directory: Path, count: int) -> Path:
    """`count` copies of the example workflow named bench-01, bench-02, ...: the same NCC, VPC and
    workspace; the NLB, target group and security group names derive from the deployment name,
    so they differ too. The endpoint policy file comes along (its path is relative)."""
    text = WORKFLOW.read_text()
    directory.mkdir(parents=True)
    shutil.copy(WORKFLOW.parent / "s3-endpoint-policy.json", directory)
    for i in range(1, count + 1):
        copy, found = re.subn(r'(?m)^name = "demo-s3"$', f'name = "bench-{i:02d}"', text)
        if found != 1:
            raise RuntimeError(f'{WORKFLOW} no longer has one line `name = "demo-s3"` to rename')
        (directory / f"bench-{i:02d}.toml").write_text(copy)
    return directory


def _empty_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def _shown(arg: str) -> str:
    """An argument as the report shows it: repository paths relative, the interpreter by name."""
    if arg == sys.executable:
        return "python"
    return arg.replace(f"{REPO}/", "")
