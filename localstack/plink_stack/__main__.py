"""Launcher of the local cloud stack: `python -m plink_stack serve|wait --run-dir DIR`.

`serve` runs both emulators in this one process on 127.0.0.1 -- AWS (patched moto) on
`$PLINK_STACK_AWS_PORT` and the Databricks account API on `$PLINK_STACK_DB_PORT` (free ports when
unset or 0), plus one port per seeded Databricks workspace -- each behind the control routes and the
fault middleware (control.py, faults.py). Once listening it writes `DIR/state.json`
(pid, ports, workspace hosts) and stops cleanly on SIGTERM/SIGINT.

`wait` (used by `localstack/up`) waits until that process answers `GET /_plink/health` on both ports,
then prints the shell `export` lines that point standard clients at the stack.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterable

STATE_FILE = "state.json"
LOG_FILE = "plink_stack.log"
REGION = "us-east-1"
CUSTOMER_ACCOUNT = "123456789012"

log = logging.getLogger("plink_stack")


# --- serve ---------------------------------------------------------------------------------------

def _port(name: str) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else 0


def _missing_databricks(environ: dict, start_response: Callable) -> Iterable[bytes]:
    body = b'{"error_code": "NOT_IMPLEMENTED", "message": "the Databricks emulator is not installed"}'
    start_response("501 Not Implemented", [("Content-Type", "application/json"),
                                           ("Content-Length", str(len(body)))])
    return [body]


def _databricks() -> Any | None:
    try:
        from .databricks import app as databricks_app
    except ImportError as exc:
        log.warning("Databricks emulator unavailable (%s); its port answers 501", exc)
        return None
    return databricks_app


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)


def serve(run_dir: Path) -> int:
    try:
        os.setsid()  # detach from the caller's terminal / process group
    except OSError:
        pass
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(
        logging.INFO if os.environ.get("PLINK_STACK_LOG_REQUESTS") else logging.WARNING)
    started = time.time()

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from . import control
    from .aws import app as aws_app
    from .aws import fixtures as aws_fixtures

    aws_inner = aws_app.make_app()
    databricks = _databricks()
    db_inner = databricks.make_app() if databricks else _missing_databricks
    stack = control.Stack(aws_app.reset, aws_fixtures.seeded, getattr(databricks, "reset", None))

    aws_server = make_server("127.0.0.1", _port("PLINK_STACK_AWS_PORT"), stack.wsgi(stack.aws, aws_inner),
                             threaded=True, request_handler=MotoRequestHandler)
    db_server = make_server("127.0.0.1", _port("PLINK_STACK_DB_PORT"),
                            stack.wsgi(stack.databricks, db_inner), threaded=True)
    os.environ["PLINK_STACK_AWS_PORT"] = str(aws_server.server_port)
    os.environ["PLINK_STACK_DB_PORT"] = str(db_server.server_port)
    servers = [aws_server, db_server]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                                name=f"plink-{n}", daemon=True)
               for s, n in zip(servers, ("aws", "databricks"))]
    for t in threads:
        t.start()
    workspace_hosts: dict = {}
    if databricks is not None and hasattr(databricks, "serve_workspace_hosts"):
        workspace_hosts = databricks.serve_workspace_hosts(
            wrap=lambda app: stack.wsgi(stack.databricks, app))

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    state = {"pid": os.getpid(), "aws_port": aws_server.server_port, "db_port": db_server.server_port,
             "workspace_hosts": {str(k): v for k, v in workspace_hosts.items()},
             "run_dir": str(run_dir), "log": str(run_dir / LOG_FILE), "started_at": started}
    _write_json(run_dir / STATE_FILE, state)
    log.info("serving AWS on 127.0.0.1:%s and Databricks on 127.0.0.1:%s (time scale %s, ready in %.2fs)",
             aws_server.server_port, db_server.server_port, os.environ.get("PLINK_STACK_TIME_SCALE", "1"),
             time.time() - started)
    stop.wait()
    log.info("stopping")
    stoppers = [threading.Thread(target=server.shutdown) for server in servers]
    if databricks is not None and hasattr(databricks, "stop"):
        stoppers.append(threading.Thread(target=databricks.stop))
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join(timeout=10)
    for server in servers:
        server.server_close()
    state_file = run_dir / STATE_FILE
    try:
        if json.loads(state_file.read_text()).get("pid") == os.getpid():
            state_file.unlink()
    except (OSError, ValueError):
        pass
    return 0


# --- wait + exports ------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _get_json(url: str, timeout: float = 2.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def _healthy(port: int) -> bool:
    try:
        return bool(_get_json(f"http://127.0.0.1:{port}/_plink/health", timeout=1.0).get("ok"))
    except (OSError, ValueError):
        return False


def _log_tail(run_dir: Path, lines: int = 40) -> str:
    try:
        return "\n".join((run_dir / LOG_FILE).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _databricks_values(db_port: int) -> dict:
    try:
        return _get_json(f"http://127.0.0.1:{db_port}/_plink/fixtures")
    except (OSError, ValueError):
        pass
    try:
        from .databricks import fixtures as fx
        return {"account_id": fx.ACCOUNT_ID, "client_id": fx.CLIENT_ID, "client_secret": fx.CLIENT_SECRET}
    except ImportError:
        return {}


def exports(run_dir: Path, state: dict) -> list[str]:
    aws, db = state["aws_port"], state["db_port"]
    dbx = _databricks_values(db)
    values = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws}",
        "AWS_ACCESS_KEY_ID": CUSTOMER_ACCOUNT,
        "AWS_SECRET_ACCESS_KEY": "plink-local-stack",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "DATABRICKS_HOST": dbx.get("host") or f"http://127.0.0.1:{db}",
        "DATABRICKS_ACCOUNT_ID": dbx.get("account_id", ""),
        "DATABRICKS_CLIENT_ID": dbx.get("client_id", ""),
        "DATABRICKS_CLIENT_SECRET": dbx.get("client_secret", ""),
        "PLINK_STACK_AWS_PORT": str(aws),
        "PLINK_STACK_DB_PORT": str(db),
        "PLINK_STACK_DIR": str(run_dir),
    }
    return [f"export {k}={shlex.quote(v)}" for k, v in values.items()]


def wait(run_dir: Path, timeout: float, pid: int | None) -> int:
    deadline = time.time() + timeout
    state_file = run_dir / STATE_FILE
    while True:
        if pid is not None and not _alive(pid):
            return _fail(run_dir, f"the stack process {pid} exited during startup")
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            state = None
        if state and (pid is None or state.get("pid") == pid) \
                and _healthy(state["aws_port"]) and _healthy(state["db_port"]):
            print("\n".join(exports(run_dir, state)))
            return 0
        if time.time() > deadline:
            return _fail(run_dir, f"the stack did not answer /_plink/health within {timeout:.0f}s")
        time.sleep(0.05)


def _fail(run_dir: Path, why: str) -> int:
    print(f"plink-stack: {why}; log tail ({run_dir / LOG_FILE}):\n{_log_tail(run_dir)}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m plink_stack", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    for name in ("serve", "wait"):
        p = sub.add_parser(name)
        p.add_argument("--run-dir", default=os.environ.get("PLINK_STACK_DIR") or ".run")
        if name == "wait":
            p.add_argument("--timeout", type=float, default=60.0)
            p.add_argument("--pid", type=int)
    args = parser.parse_args(argv)
    command = args.command or "serve"
    run_dir = Path(getattr(args, "run_dir", None) or ".run").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    if command == "wait":
        return wait(run_dir, args.timeout, args.pid)
    return serve(run_dir)


if __name__ == "__main__":
    sys.exit(main())
