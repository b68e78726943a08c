"""Session stack for the localstack/ tests: one private stack started with `localstack/up` in a temp
run directory (so it never touches a developer's running stack), a small time scale, and `down` at
the end with a check that no process is left behind.

Fixtures: `stack` (the env dict of the exports), `aws` (clients + helpers, state reset per test).
The Databricks side's fixtures come from `conftest_databricks.py` (CONTRACT.md).
"""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

LOCALSTACK = Path(__file__).resolve().parents[1]
TEST_TIME_SCALE = "0.002"
CUSTOMER = "123456789012"
DATABRICKS = "565502421330"
STRANGER = "111122223333"


def clean_env(**extra: str) -> dict:
    """The environment minus anything that would point `up` or a client somewhere else."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "PLINK_STACK_", "DATABRICKS_"))}
    env.update(extra)
    return env


def up(run_dir: Path, **extra: str) -> dict:
    out = subprocess.run([str(LOCALSTACK / "up")], env=clean_env(PLINK_STACK_DIR=str(run_dir), **extra),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"up failed:\n{out.stderr}"
    values = {}
    for line in out.stdout.splitlines():
        words = shlex.split(line)
        assert words[0] == "export" and len(words) == 2, f"not an export line: {line!r}"
        name, _, value = words[1].partition("=")
        values[name] = value
    return values


def down(run_dir: Path) -> subprocess.CompletedProcess:
    out = subprocess.run([str(LOCALSTACK / "down")], env=clean_env(PLINK_STACK_DIR=str(run_dir)),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"down failed:\n{out.stderr}"
    return out


def processes_of(run_dir: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-f", f"plink_stack serve --run-dir {run_dir}"],
                         capture_output=True, text=True)
    return out.stdout.split()


def http(method: str, url: str, body: object = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def wait_for(fn, timeout: float = 15.0, interval: float = 0.02, what: str = "condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("plink-stack")
    env = up(run_dir, PLINK_STACK_TIME_SCALE=TEST_TIME_SCALE)
    pid = int((run_dir / "plink_stack.pid").read_text())
    yield env
    down(run_dir)
    assert not Path(f"/proc/{pid}/cmdline").exists() or not Path(f"/proc/{pid}/cmdline").read_bytes(), \
        f"stack process {pid} still running"
    assert processes_of(run_dir) == []


class Aws:
    """boto3 clients for the session stack, by account; the customer is 123456789012."""

    def __init__(self, env: dict):
        self.env = env
        self.url = env["AWS_ENDPOINT_URL"]

    def client(self, service: str, account: str = CUSTOMER, region: str = "us-east-1", **kw):
        import boto3
        from botocore.config import Config

        creds = kw.pop("credentials", None) or {"aws_access_key_id": account,
                                                 "aws_secret_access_key": "test"}
        config = kw.pop("config", None) or Config(retries={"total_max_attempts": 4, "mode": "standard"})
        return boto3.client(service, endpoint_url=self.url, region_name=region, config=config,
                            **creds, **kw)

    def assume(self, role_arn: str, region: str = "us-east-1") -> dict:
        """Credentials of an STS-assumed role (what Databricks' control plane would use)."""
        creds = self.client("sts", region=region).assume_role(
            RoleArn=role_arn, RoleSessionName="plink-test")["Credentials"]
        return {"aws_access_key_id": creds["AccessKeyId"],
                "aws_secret_access_key": creds["SecretAccessKey"],
                "aws_session_token": creds["SessionToken"]}

    def control(self, method: str, route: str, body: object = None) -> tuple[int, object]:
        return http(method, f"{self.url}/_plink/{route}", body)

    def fixtures(self) -> dict:
        return self.control("GET", "fixtures")[1]


@pytest.fixture
def aws(stack) -> Aws:
    """The AWS emulator, freshly reset (fixtures re-seeded, no faults, default delays)."""
    handle = Aws(stack)
    status, _ = handle.control("POST", "reset")
    assert status == 200
    return handle


try:  # the Databricks side's fixtures (db, dbx)
    from conftest_databricks import *  # noqa: F401,F403,E402
except ImportError:  # pragma: no cover - Databricks half not present
    pass
