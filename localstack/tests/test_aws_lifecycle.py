"""`localstack/up` and `localstack/down`: exports, reuse, clean stop, run directories, fixed ports.
Each test runs its own stack in its own run directory (independent of the session stack)."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from conftest import LOCALSTACK, clean_env, down, http, processes_of, up

EXPORTED = {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION",
            "DATABRICKS_HOST", "DATABRICKS_ACCOUNT_ID", "DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET",
            "PLINK_STACK_AWS_PORT", "PLINK_STACK_DB_PORT", "PLINK_STACK_DIR"}


def pid_of(run_dir: Path) -> int:
    return int((run_dir / "plink_stack.pid").read_text())


def gone(pid: int) -> bool:
    try:
        return not Path(f"/proc/{pid}/cmdline").read_bytes()  # a zombie has an empty cmdline
    except OSError:
        return True


def test_up_twice_reuses_and_down_leaves_nothing(tmp_path):
    start = time.monotonic()
    env = up(tmp_path)
    started_in = time.monotonic() - start
    assert EXPORTED <= set(env)
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["PLINK_STACK_DIR"] == str(tmp_path.resolve())
    assert env["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{env['PLINK_STACK_AWS_PORT']}"
    assert env["DATABRICKS_ACCOUNT_ID"] and env["DATABRICKS_CLIENT_ID"] and env["DATABRICKS_CLIENT_SECRET"]
    assert started_in < 60
    pid = pid_of(tmp_path)
    assert http("GET", env["AWS_ENDPOINT_URL"] + "/_plink/health")[1]["ok"] is True
    assert http("GET", env["DATABRICKS_HOST"] + "/_plink/health")[1]["ok"] is True
    log = (tmp_path / "plink_stack.log").read_text()
    assert "serving AWS" in log

    again = up(tmp_path)
    assert again == env
    assert pid_of(tmp_path) == pid
    assert processes_of(tmp_path) == [str(pid)]

    out = down(tmp_path)
    assert "stopped" in out.stderr
    assert gone(pid)
    assert processes_of(tmp_path) == []
    assert not (tmp_path / "plink_stack.pid").exists()
    assert not (tmp_path / "state.json").exists()
    assert "not running" in down(tmp_path).stderr  # idempotent


def test_eval_points_clients_at_the_stack(tmp_path):
    script = f'eval "$({LOCALSTACK}/up)" && python3 -c "import os; print(os.environ[\'AWS_ENDPOINT_URL\'])"'
    out = subprocess.run(["bash", "-c", script], env=clean_env(PLINK_STACK_DIR=str(tmp_path)),
                         capture_output=True, text=True, timeout=300)
    try:
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().startswith("http://127.0.0.1:")
        assert "log:" in out.stderr
    finally:
        down(tmp_path)
    assert processes_of(tmp_path) == []


def test_fixed_ports_and_stale_pid_file(tmp_path):
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    (tmp_path / "plink_stack.pid").write_text(str(os.getpid()))  # not a stack: must be ignored
    env = up(tmp_path, PLINK_STACK_AWS_PORT=str(ports[0]), PLINK_STACK_DB_PORT=str(ports[1]))
    try:
        assert (env["PLINK_STACK_AWS_PORT"], env["PLINK_STACK_DB_PORT"]) == (str(ports[0]), str(ports[1]))
        assert pid_of(tmp_path) != os.getpid()
    finally:
        down(tmp_path)
    assert processes_of(tmp_path) == []


def test_startup_failure_reports_and_cleans_up(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = subprocess.run([str(LOCALSTACK / "up")], capture_output=True, text=True, timeout=300,
                             env=clean_env(PLINK_STACK_DIR=str(tmp_path), PLINK_STACK_AWS_PORT=str(port)))
    assert out.returncode == 1
    assert out.stdout == ""
    assert "Address already in use" in out.stderr
    assert not (tmp_path / "plink_stack.pid").exists()
    assert processes_of(tmp_path) == []
