"""Control routes (`/_plink/*`, CONTRACT.md) and the wiring of both emulators behind them.

Each port serves: control routes first (never faulted, never logged), then the emulator behind its
fault middleware (`faults.Emulator`). Routes, the same on both ports, each acting on that port's
emulator unless noted:

| route | what |
|---|---|
| `GET /_plink/health` | `{"ok": true, "emulator": "aws"/"databricks"}` |
| `POST /_plink/reset` | wipe *both* emulators (moto, Databricks model), fault plans, call logs, denials, delays and time scale; seed the fixtures again |
| `GET/POST/DELETE /_plink/faults` | read (with counters) / set / clear the fault plan |
| `GET/DELETE /_plink/calls` | the call log (a JSON array; `?since=<epoch s>` filters) / clear it |
| `GET/POST /_plink/config` | `{"time_scale": .., "delays": {..}}`, shared by both emulators |
| `GET /_plink/fixtures` | AWS port: the seeded VPC/subnets and S3 buckets; Databricks port: answered by the Databricks app |
| `GET/POST/DELETE /_plink/deny` | AWS port only: read / replace / clear the actions denied to callers (`aws/permissions.py`) |

Other `/_plink/...` paths (e.g. `/_plink/databricks/config`) and moto's own `/moto-api/...` go to the
emulator app itself, also unfaulted and unlogged.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from . import clock, faults, settings

log = logging.getLogger("plink_stack.control")

OWN_ROUTES = ("/_plink/health", "/_plink/reset", "/_plink/faults", "/_plink/calls", "/_plink/config")
AWS_ROUTES = ("/_plink/fixtures", "/_plink/deny")  # the Databricks port passes these to its app


def initial_time_scale() -> float:
    return float(os.environ.get("PLINK_STACK_TIME_SCALE", "1") or 1)


def config() -> dict:
    return {"time_scale": clock.time_scale(), "delays": settings.delays().__dict__}


def apply_config(body: dict) -> dict:
    if not isinstance(body, dict):
        raise ValueError("config is an object {\"time_scale\": float, \"delays\": {name: seconds}}")
    if body.get("time_scale") is not None:
        clock.set_time_scale(float(body["time_scale"]))
    settings.update(body.get("delays") or {})
    return config()


class Stack:
    """Both emulators with their fault plans and call logs, and the reset of everything."""

    def __init__(self, aws_reset: Callable[[], Any], aws_fixtures: Callable[[], dict],
                 databricks_reset: Callable[[], Any] | None):
        self.aws = faults.aws_emulator()
        self.databricks = faults.databricks_emulator()
        self._aws_reset = aws_reset
        self._aws_fixtures = aws_fixtures
        self._databricks_reset = databricks_reset

    def reset(self) -> None:
        settings.reset()
        clock.set_time_scale(initial_time_scale())
        for emulator in (self.aws, self.databricks):
            emulator.clear_plan()
            emulator.calls.clear()
            if emulator.denials is not None:
                emulator.denials.clear()
        self._aws_reset()
        if self._databricks_reset is not None:
            self._databricks_reset()

    def wsgi(self, emulator: faults.Emulator, inner: Callable) -> Callable:
        """The WSGI app of one port: control routes, else `inner` behind the fault middleware."""
        faulted = emulator.middleware(inner)

        def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
            path = environ.get("PATH_INFO", "")
            if path.rstrip("/") in OWN_ROUTES or (path.startswith(AWS_ROUTES) and emulator is self.aws):
                return self._control(emulator, environ, start_response)
            if path.startswith(("/_plink/", "/moto-api")):
                return inner(environ, start_response)
            return faulted(environ, start_response)

        return app

    def _control(self, emulator: faults.Emulator, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            status, body = self._route(emulator, path, method, environ)
        except (ValueError, TypeError) as exc:  # PlanError is a ValueError
            status, body = 400, {"error": str(exc)}
        except Exception as exc:  # pragma: no cover - a bug; answer JSON anyway
            log.exception("control route %s %s failed", method, path)
            status, body = 500, {"error": f"{type(exc).__name__}: {exc}"}
        data = json.dumps(body).encode()
        start_response(f"{status} {'OK' if status == 200 else 'Error'}",
                       [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def _route(self, emulator: faults.Emulator, path: str, method: str, environ: dict) -> tuple[int, Any]:
        if path == "/_plink/health" and method == "GET":
            return 200, {"ok": True, "emulator": emulator.name}
        if path == "/_plink/reset" and method == "POST":
            self.reset()
            return 200, {"ok": True}
        if path == "/_plink/faults":
            if method == "GET":
                return 200, emulator.plan.to_dict()
            if method == "POST":
                emulator.set_plan(_json_body(environ))
                return 200, emulator.plan.to_dict()
            if method == "DELETE":
                emulator.clear_plan()
                return 200, {"ok": True}
        if path == "/_plink/calls":
            if method == "GET":
                since = float(parse_qs(environ.get("QUERY_STRING", "")).get("since", ["0"])[0])
                return 200, [c for c in emulator.calls.list() if c["t"] >= since]
            if method == "DELETE":
                emulator.calls.clear()
                return 200, {"ok": True}
        if path == "/_plink/config":
            if method == "GET":
                return 200, config()
            if method == "POST":
                return 200, apply_config(_json_body(environ))
        if path == "/_plink/fixtures" and method == "GET":
            return 200, self._aws_fixtures()
        if path == "/_plink/deny":
            if method == "GET":
                return 200, emulator.denials.to_dict()
            if method == "POST":
                return 200, emulator.denials.set(_json_body(environ))
            if method == "DELETE":
                emulator.denials.clear()
                return 200, {"ok": True}
        return 405, {"error": f"{method} not allowed on {path}"}


def _json_body(environ: dict) -> Any:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not JSON: {exc}") from exc
