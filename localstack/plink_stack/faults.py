"""Fault and latency injection, and the call log, for both emulators (WSGI middleware).

Neither moto nor LocalStack Community injects faults (local-emulators.md, "Fault and latency
injection"); this middleware sits in front of each emulator, so every client (boto3, aws-sdk-rust,
databricks-sdk, plink) meets the same failures. A plan (CONTRACT.md "Fault plan") is a seed and a
list of rules; for each API request the rules are tried in order and the first that fires applies:

| kind | effect |
|---|---|
| `http_429` | 429 + `Retry-After`. AWS: `Throttling` error in the service's wire format; Databricks: `{"error_code": "REQUEST_LIMIT_EXCEEDED", ...}` |
| `http_503` | 503. AWS: `ServiceUnavailable`; Databricks: `{"error_code": "TEMPORARILY_UNAVAILABLE", ...}` |
| `aws_throttle` | AWS: 400 (or `status`) with `code` (default `RequestLimitExceeded` for EC2, `Throttling` for the query services: ELBv2, STS, RDS); S3: 503 `SlowDown`; Databricks: as `http_429` |
| `slow` | sleep `delay_ms`, then serve |
| `commit_then_timeout` | serve the request (its state change is committed), hold the answer `delay_ms`, then drop the connection (`mode: "drop"`, default) or answer 504 (`mode: "504"`; AWS: `GatewayTimeout` error shape; Databricks: `TEMPORARILY_UNAVAILABLE` "... is taking too long to process your request ...") |

Rule fields: `kind`, `rate` (0..1, default 1), `match` (`action`, `method`, `path_regex`, `service`,
`dry_run` (true/false: only EC2 requests with / without `DryRun=true`); all given must match;
`action` may be a list), `max_count` (cap on firings), `retry_after` (seconds;
429 answers default to 1, others send none unless given), `delay_ms` (default 1000), `code`, `status`, `mode`, `message`,
`bucket` (`{"burst": n, "refill": per real-world second}`: the rule fires only when its token
bucket is empty, each request it matches taking a token, like AWS's request throttling; the refill
runs on the stack's scaled time, so `refill / time scale` tokens a wall-clock second). Draws come from one
`random.Random(seed)` per plan, one draw per eligible rule and request, so a plan replays identically
for the same request sequence. Counters per rule: `matched` (eligible requests) and `fired`.

The call log records every API request (not control routes): time, service, action, method, path,
status, `mutating` (AWS: Create*/Delete*/Modify*/Register*/Deregister*/Accept*/Reject*/Set*/Add*/
Remove*/Authorize*/Revoke*/Reboot*/Failover*/Start*/Stop* actions; S3: Put*/Delete*/Create* operations (and the other object writes:
CopyObject, UploadPart, CompleteMultipartUpload, ...), the operation named from method + path + query
by `aws/s3.py`; Databricks: every non-GET call except the OAuth token endpoint; never an EC2 request
with `DryRun=true`, flagged `dry_run`, nor a denied one) and the fault applied, if any. S3 errors use
S3's XML shape (`<Error><Code>..`), no body on HEAD.

After the plan, the AWS emulator's denials (`/_plink/deny`, `aws/permissions.py`) are checked: a
request that needs a denied action is answered 403 as AWS answers it, without reaching moto, and
logged with `fault: "deny"`. Faults come first (our choice: a throttled or unavailable request never
reaches authorization); dry runs meet them like any request, as they count against AWS's request
rate limits.
"""
from __future__ import annotations

import collections
import io
import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from . import clock
from .aws import errors as aws_errors
from .aws import permissions as aws_permissions
from .aws import s3 as aws_s3

KINDS = ("http_429", "http_503", "aws_throttle", "slow", "commit_then_timeout")
ERROR_KINDS = ("http_429", "http_503", "aws_throttle")
MATCH_KEYS = ("action", "method", "path_regex", "service", "dry_run")
RULE_KEYS = ("kind", "rate", "match", "max_count", "retry_after", "delay_ms", "code", "status",
             "mode", "message", "bucket")
MUTATING_PREFIXES = ("Create", "Delete", "Modify", "Register", "Deregister", "Accept", "Reject", "Set",
                     "Add", "Remove", "Authorize", "Revoke", "Reboot", "Failover", "Start", "Stop")
CALL_LOG_SIZE = 10000
SIGNING_TO_SERVICE = {"elasticloadbalancing": "elbv2"}


class PlanError(ValueError):
    """The fault plan is malformed."""


@dataclass
class RequestInfo:
    service: str
    action: str
    method: str
    path: str
    mutating: bool
    t: float = field(default_factory=time.time)
    signing_service: str = ""
    json_protocol: bool = False
    dry_run: bool = False  # EC2 `DryRun=true`: answered without running (aws/dry_run.py)
    params: dict = field(default_factory=dict)  # Query protocol parameters (first value of each)


@dataclass
class Rule:
    kind: str
    rate: float = 1.0
    match: dict = field(default_factory=dict)
    max_count: int | None = None
    retry_after: float | None = None  # seconds; 429 answers default to 1
    delay_ms: int = 1000
    code: str | None = None
    status: int | None = None
    mode: str = "drop"
    message: str | None = None
    bucket: dict | None = None  # {"burst": n, "refill": tokens per real-world second}
    matched: int = 0
    fired: int = 0
    _tokens: float = 0.0
    _refilled: float = 0.0

    @staticmethod
    def parse(spec: Any, index: int) -> "Rule":
        where = f"rules[{index}]"
        if not isinstance(spec, dict):
            raise PlanError(f"{where}: a rule is an object")
        unknown = set(spec) - set(RULE_KEYS)
        if unknown:
            raise PlanError(f"{where}: unknown field(s) {sorted(unknown)}; known: {list(RULE_KEYS)}")
        if spec.get("kind") not in KINDS:
            raise PlanError(f"{where}.kind must be one of {list(KINDS)}")
        rule = Rule(kind=spec["kind"])
        try:
            rule.rate = float(spec.get("rate", 1.0))
            rule.retry_after = None if spec.get("retry_after") is None else float(spec["retry_after"])
            rule.delay_ms = int(spec.get("delay_ms", 1000))
            rule.max_count = None if spec.get("max_count") is None else int(spec["max_count"])
            rule.status = None if spec.get("status") is None else int(spec["status"])
        except (TypeError, ValueError) as exc:
            raise PlanError(f"{where}: {exc}") from exc
        if not 0.0 <= rule.rate <= 1.0:
            raise PlanError(f"{where}.rate must be within 0..1")
        if rule.delay_ms < 0 or (rule.retry_after or 0) < 0 or (rule.max_count or 0) < 0:
            raise PlanError(f"{where}: delay_ms, retry_after and max_count must be >= 0")
        rule.code, rule.message = spec.get("code"), spec.get("message")
        rule.mode = spec.get("mode", "drop")
        if rule.mode not in ("drop", "504"):
            raise PlanError(f"{where}.mode must be 'drop' or '504'")
        match = spec.get("match") or {}
        if not isinstance(match, dict) or set(match) - set(MATCH_KEYS):
            raise PlanError(f"{where}.match takes only {list(MATCH_KEYS)}")
        if "path_regex" in match:
            try:
                re.compile(match["path_regex"])
            except re.error as exc:
                raise PlanError(f"{where}.match.path_regex: {exc}") from exc
        rule.match = dict(match)
        bucket = spec.get("bucket")
        if bucket is not None:
            try:
                burst, refill = float(bucket["burst"]), float(bucket["refill"])
            except (TypeError, KeyError, ValueError) as exc:
                raise PlanError(f"{where}.bucket takes 'burst' and 'refill' numbers: {exc}") from exc
            if burst < 1 or refill <= 0:
                raise PlanError(f"{where}.bucket: burst must be >= 1 and refill > 0")
            rule.bucket = {"burst": burst, "refill": refill}
            rule._tokens, rule._refilled = burst, time.time()
        return rule

    def has_token(self) -> bool:
        """A bucket rule: takes a token if there is one (the request passes)."""
        now = time.time()
        rate = self.bucket["refill"] / clock.time_scale()
        self._tokens = min(self.bucket["burst"], self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False

    def applies_to(self, info: RequestInfo) -> bool:
        m = self.match
        if "action" in m:
            wanted = m["action"] if isinstance(m["action"], list) else [m["action"]]
            if info.action not in wanted:
                return False
        if "method" in m and str(m["method"]).upper() != info.method:
            return False
        if "service" in m and m["service"] not in (info.service, info.signing_service):
            return False
        if "path_regex" in m and not re.search(m["path_regex"], info.path):
            return False
        # A test that holds the real call must not spend its rule on plink's preflight dry run
        # of the same action.
        if "dry_run" in m and bool(m["dry_run"]) != info.dry_run:
            return False
        return True

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in RULE_KEYS if getattr(self, k) not in (None, {})}
        out.update(matched=self.matched, fired=self.fired)
        return out


class FaultPlan:
    def __init__(self, spec: Any = None):
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            raise PlanError("a fault plan is an object {\"seed\": int, \"rules\": [...]}")
        unknown = set(spec) - {"seed", "rules"}
        if unknown:
            raise PlanError(f"unknown field(s) {sorted(unknown)}; a plan has 'seed' and 'rules'")
        try:
            self.seed = int(spec.get("seed", 0))
        except (TypeError, ValueError) as exc:
            raise PlanError(f"seed: {exc}") from exc
        rules = spec.get("rules", [])
        if not isinstance(rules, list):
            raise PlanError("rules must be a list")
        self.rules = [Rule.parse(r, i) for i, r in enumerate(rules)]
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def choose(self, info: RequestInfo) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if not rule.applies_to(info):
                    continue
                if rule.max_count is not None and rule.fired >= rule.max_count:
                    continue
                rule.matched += 1
                if rule.bucket is not None and rule.has_token():
                    continue
                if self._rng.random() < rule.rate:
                    rule.fired += 1
                    return rule
            return None

    def to_dict(self) -> dict:
        with self._lock:
            return {"seed": self.seed, "rules": [r.to_dict() for r in self.rules]}


class CallLog:
    def __init__(self, size: int = CALL_LOG_SIZE):
        self._calls: collections.deque = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, info: RequestInfo, status: int | None, fault: str | None) -> None:
        entry = {"t": round(info.t, 6), "service": info.service, "action": info.action,
                 "method": info.method, "path": info.path, "status": status,
                 "mutating": info.mutating, "fault": fault, "dry_run": info.dry_run}
        with self._lock:
            self._calls.append(entry)

    def list(self) -> list[dict]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()


# --- what a request is ---------------------------------------------------------------------------

_CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/")


def describe_aws(environ: dict) -> RequestInfo:
    """Service and action of an AWS request (SigV4 scope; Query `Action` or `X-Amz-Target`; for S3,
    REST-XML without an action parameter, the operation named by method + path + query)."""
    m = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    signing = m.group(1) if m else ""
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    if signing == "s3":
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        action = aws_s3.action_of(method, path, environ.get("QUERY_STRING", ""), headers)
        return RequestInfo(service="s3", action=action, method=method, path=path,
                           mutating=aws_s3.is_mutating(action), signing_service="s3")
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    action = target.rsplit(".", 1)[-1] if target else ""
    params: dict = {}
    if not action:
        body = _peek_body(environ)
        query = parse_qs(environ.get("QUERY_STRING", ""))
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        params = {k: v[0] for k, v in {**query, **form}.items()}
        action = params.get("Action", "")
    service = SIGNING_TO_SERVICE.get(signing, signing or "aws")
    # An EC2 dry run changes nothing whatever its answer (412, 403 or a validation error).
    dry_run = service == "ec2" and params.get("DryRun", "").lower() == "true"
    return RequestInfo(service=service, action=action, method=method, path=path,
                       mutating=action.startswith(MUTATING_PREFIXES) and not dry_run,
                       signing_service=signing, json_protocol=bool(target), dry_run=dry_run,
                       params=params)


def describe_databricks(environ: dict) -> RequestInfo:
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    token_call = path.startswith("/oidc/") and path.endswith("/token")
    return RequestInfo(service="databricks", action=f"{method} {path}", method=method, path=path,
                       mutating=method not in ("GET", "HEAD", "OPTIONS") and not token_call)


def _peek_body(environ: dict) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return body


# --- how a fault answers ---------------------------------------------------------------------------

def _retry_after(rule: Rule, default: float | None) -> list[tuple[str, str]]:
    value = rule.retry_after if rule.retry_after is not None else default
    return [] if value is None else [("Retry-After", _seconds(value))]


def _aws_error(rule: Rule, info: RequestInfo) -> tuple[str, list, bytes]:
    service = info.signing_service or "ec2"
    head = info.method == "HEAD"  # S3 answers HEAD errors without a body

    def render(status: int, code: str, message: str, extra: list | None = None) -> tuple[str, list, bytes]:
        return aws_errors.render(service, info.json_protocol, status, code, message, extra, head=head)

    if rule.kind == "commit_then_timeout":  # mode "504": the answer that replaces the real one
        return render(504, rule.code or "GatewayTimeout", rule.message or "The server did not answer in time.")
    if rule.kind == "http_429":
        return render(rule.status or 429, rule.code or "Throttling", rule.message or "Rate exceeded",
                      _retry_after(rule, 1))
    if rule.kind == "http_503":
        return render(rule.status or 503, rule.code or "ServiceUnavailable",
                      rule.message or "Service is unavailable. Please try again later.",
                      _retry_after(rule, None))
    if service == "s3":  # S3 throttles with 503 SlowDown
        return render(rule.status or 503, rule.code or "SlowDown",
                      rule.message or "Please reduce your request rate.", _retry_after(rule, None))
    code = rule.code or ("RequestLimitExceeded" if service == "ec2" else "Throttling")
    message = rule.message or ("Request limit exceeded." if code == "RequestLimitExceeded" else "Rate exceeded")
    return render(rule.status or 400, code, message, _retry_after(rule, None))


def _databricks_error(rule: Rule, info: RequestInfo) -> tuple[str, list, bytes]:
    if rule.kind == "commit_then_timeout":  # mode "504"; the SDKs treat this message as retryable
        status, code, retry = 504, rule.code or "TEMPORARILY_UNAVAILABLE", []
        message = rule.message or (f"The service at {info.path} is taking too long to process your "
                                   "request. Please try again later or try a faster operation.")
    elif rule.kind == "http_503":
        status, code = rule.status or 503, rule.code or "TEMPORARILY_UNAVAILABLE"
        message = rule.message or "The service is temporarily unavailable. Please try again later."
        retry = _retry_after(rule, None)
    else:
        status, code = rule.status or 429, rule.code or "REQUEST_LIMIT_EXCEEDED"
        message = rule.message or "Too many requests. Please wait a moment and try again."
        retry = _retry_after(rule, 1)
    body = json.dumps({"error_code": code, "message": message}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))] + retry
    return f"{status} {_phrase(status)}", headers, body


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _phrase(status: int) -> str:
    from http import HTTPStatus
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _drop_connection(environ: dict) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Emulator:
    """Fault plan + call log of one emulator, and the middleware that applies them."""

    def __init__(self, name: str, describe: Callable[[dict], RequestInfo],
                 render_error: Callable[[Rule, RequestInfo], tuple[str, list, bytes]],
                 denials: aws_permissions.Denials | None = None):
        self.name = name
        self.describe = describe
        self.render_error = render_error
        self.plan = FaultPlan()
        self.calls = CallLog()
        self.denials = denials  # AWS only: actions denied to the caller (`/_plink/deny`)

    def set_plan(self, spec: Any) -> None:
        self.plan = FaultPlan(spec)

    def clear_plan(self) -> None:
        self.plan = FaultPlan()

    def middleware(self, inner: Callable) -> Callable:
        def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
            info = self.describe(environ)
            rule = self.plan.choose(info)
            fault = rule.kind if rule is not None else None
            if rule is not None and rule.kind in ERROR_KINDS:
                status, headers, body = self.render_error(rule, info)
                self.calls.add(info, int(status.split()[0]), fault)
                start_response(status, headers)
                return [body]
            if rule is not None and rule.kind == "slow":
                time.sleep(rule.delay_ms / 1000.0)
            refusal = self.denials.refusal(environ, info) if self.denials is not None else None
            if refusal is not None:  # answered in front of the emulator: nothing changes
                status, headers, body = refusal
                info.mutating, fault = False, "deny"
            else:
                status, headers, body = _serve(inner, environ)
            if self.name == "databricks" and environ.get("plink.action"):
                info.action = environ["plink.action"]
            self.calls.add(info, int(status.split()[0]), fault)
            if rule is not None and rule.kind == "commit_then_timeout":
                time.sleep(rule.delay_ms / 1000.0)
                if rule.mode == "504":
                    status, headers, body = self.render_error(rule, info)
                    start_response(status, headers)
                    return [body]
                _drop_connection(environ)
            start_response(status, headers)
            return [body]

        return app


def _serve(inner: Callable, environ: dict) -> tuple[str, list, bytes]:
    """Run the inner app to completion (its state change happens here) and buffer the answer."""
    answer: dict[str, Any] = {"written": []}

    def start_response(status: str, headers: list, exc_info: Any = None) -> Callable:
        answer["status"], answer["headers"] = status, headers
        return answer["written"].append

    result = inner(environ, start_response)
    try:
        body = b"".join(answer["written"]) + b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return answer["status"], answer["headers"], body


def aws_emulator() -> Emulator:
    return Emulator("aws", describe_aws, _aws_error, aws_permissions.Denials())


def databricks_emulator() -> Emulator:
    return Emulator("databricks", describe_databricks, _databricks_error)
