"""A private local cloud stack for the benchmark (localstack/): started in its own run directory so
it never shares state with a developer's stack, driven through its control routes (reset, config,
call logs; localstack/CONTRACT.md), stopped at the end."""
from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from . import limits, time_model

REPO = Path(__file__).resolve().parents[1]

# The Databricks side applies its transitions on a tick (localstack/README.md, "Time"): 2 ms instead
# of 100 so that the stack's own lag stays out of what is measured, as in tests/e2e/waits.rs.
# plink's priors for the rule (90 s) and the workspace (60 s) equal the time model's delays, so a
# look at the prior that came before the state showed cost a second look 10 % of the wait later
# (0.3 s of wall time and one request each): at 20 ms about half the time. Those two time-driven
# transitions are now applied when a request comes (`Ticker.catch_up`); the tick still paces what
# waits on the AWS side (the rule's ESTABLISHED after the connection is available).
DATABRICKS_TICK_S = "0.002"


def clean_env() -> dict[str, str]:
    """The caller's environment minus anything that would point a client at another cloud or stack."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_", "DATABRICKS_", "PLINK_"))}


class Stack:
    def __init__(self, run_dir: Path, time_scale: float):
        self.run_dir = run_dir
        self.time_scale = time_scale
        self.exports: dict[str, str] = {}

    def __enter__(self) -> "Stack":
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = clean_env() | {"PLINK_STACK_DIR": str(self.run_dir),
                             "PLINK_STACK_TIME_SCALE": repr(self.time_scale),
                             "PLINK_STACK_TICK": DATABRICKS_TICK_S,
                             "PLINK_STACK_DELAYS": time_model.stack_delays()}
        out = subprocess.run([str(REPO / "localstack" / "up")], env=env, capture_output=True,
                             text=True, timeout=600)
        if out.returncode != 0:
            raise RuntimeError(f"localstack/up failed:\n{out.stderr}")
        for line in out.stdout.splitlines():
            name, _, value = shlex.split(line)[1].partition("=")  # `export NAME=value`
            self.exports[name] = value
        return self

    def __exit__(self, *_exc) -> None:
        out = subprocess.run([str(REPO / "localstack" / "down")],
                             env=clean_env() | {"PLINK_STACK_DIR": str(self.run_dir)},
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            print(f"bench: localstack/down failed, the stack may still run:\n{out.stderr}", file=sys.stderr)

    def client_env(self) -> dict[str, str]:
        """What a client of the stack runs with: the clean environment plus `up`'s exports."""
        return clean_env() | self.exports

    def _control(self, port: str, method: str, route: str, body: object = None) -> object:
        base = self.exports["AWS_ENDPOINT_URL" if port == "aws" else "DATABRICKS_HOST"].rstrip("/")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{base}/_plink/{route}", method=method, data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def reset(self) -> dict:
        """Wipes both emulators and re-seeds the fixtures, then sets AWS's request limits again
        (`limits.py`; a reset clears fault plans). A reset also restores the delays and the time
        scale the stack was started with (the time model, `time_model.py`), which the benchmark
        never changes: checked here."""
        self._control("aws", "POST", "reset")
        self._control("aws", "POST", "faults", limits.plan())
        config = self.config()
        if config["time_scale"] != self.time_scale:
            raise RuntimeError(f"after a reset the stack runs at time scale {config['time_scale']}, "
                               f"not {self.time_scale}")
        wrong = {k: v for k, v in time_model.DELAYS.items() if config["delays"].get(k) != v}
        if wrong:
            raise RuntimeError(f"after a reset the stack's delays differ from the time model: "
                               f"{ {k: config['delays'].get(k) for k in wrong} }, not {wrong}")
        return config

    def config(self) -> dict:
        """`{"time_scale": .., "delays": {name: real-world seconds}}`, shared by both emulators."""
        return self._control("aws", "GET", "config")

    def clear_calls(self) -> None:
        for port in ("aws", "databricks"):
            self._control(port, "DELETE", "calls")

    def calls(self) -> dict[str, list[dict]]:
        """Each port's call log: `[{"t", "service", "action", "method", "path", "status",
        "mutating", "fault"}]`."""
        return {port: self._control(port, "GET", "calls") for port in ("aws", "databricks")}

    def round_trip(self, samples: int = 20) -> float:
        """Median seconds of a cheap request (DescribeVpcs with boto3), after one warm-up call."""
        import boto3

        ec2 = boto3.client("ec2", region_name=self.exports["AWS_REGION"],
                           endpoint_url=self.exports["AWS_ENDPOINT_URL"],
                           aws_access_key_id=self.exports["AWS_ACCESS_KEY_ID"],
                           aws_secret_access_key=self.exports["AWS_SECRET_ACCESS_KEY"])
        ec2.describe_vpcs()
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            ec2.describe_vpcs()
            times.append(time.perf_counter() - start)
        return statistics.median(times)
