"""What plink's verify task would print, computed from the emulated world instead of running it.

``plink verify`` submits a one-time run (jobs.py) whose ``spark_python_task`` gets one parameter: a
JSON array of destinations. The real task resolves each, connects, does TLS, and for S3 a
ListObjectsV2, and prints one JSON line per destination. The emulator never executes the uploaded
file: when the run's execution time is up, it judges every destination against the workspace's
bound NCC (only ``ESTABLISHED``, non-deactivated rules apply: databricks-api.md §3.2 "rules are
effective only in this state"), the AWS resources behind the rule (``plink_stack.aws.bridge``), and
the bound network policy (traffic.py, which also logs denials in ``system.access.outbound_network``).
The contract (parameter and report) is CONTRACT.md "Verify task"; the rules below are the emulator's.

Destination (after ``parse``): ``s3`` -> host ``<bucket>.<endpoint>`` (``endpoint`` given: an S3
interface endpoint name, seed 001) or ``<bucket>.s3.<region>.amazonaws.com``, port 443, TLS, then
ListObjectsV2; ``tcp`` -> ``host``:``port``, TLS when ``tls`` is true.

Path of one destination (``gather``, no model lock: it calls the AWS bridge):

1. A rule of the bound NCC covers the host -> ``private_endpoint``: addresses are the ENI IPs of
   Databricks' endpoint of that rule (10.250.x.x, account 565502421330). A customer-service rule
   covers the host when one of its ``domain_names`` is the host or ``*.<suffix>`` of it (so plink's
   s3-privatelink default, the S3 endpoint's ``*.vpce-….s3.<region>.vpce.amazonaws.com``, covers
   ``<bucket>.vpce-….s3…``); it carries traffic only while the connection is ``available`` and the
   service's NLB delivers the port to a healthy target (``bridge.service_path``), else ``timeout``.
   A native S3 rule (``com.amazonaws.<region>.s3``) covers ``<bucket>.s3.<region>.amazonaws.com``
   when the bucket is in ``resource_names``, the region is the rule's, and ``enabled`` is true.
2. No rule: an interface endpoint's own DNS name resolves (AWS publishes those names publicly) to its
   ENIs' private IPs, which serverless cannot route to -> ``timeout`` (seed 001, before binding); a
   name that some rule of the account lists (a private name) -> ``dns_failure`` (NXDOMAIN); a private
   IP literal -> ``timeout``; anything else is a public name or address -> ``internet``: a synthetic
   public address (deterministic per name, never contacted), connect, TLS.
3. S3 destinations that connect get ``bridge.s3_list_objects``: 200 + key count, 404
   ``NoSuchBucket``, 301 ``PermanentRedirect`` (bucket in another region).

The network policy (``report``, under the model lock) is judged first, for every destination
(whether private endpoint traffic is exempt is not documented; the emulator judges it like any
other): ``s3`` as STORAGE ``s3://<bucket>/``, ``tcp`` as DNS ``host`` (IP when the host is an IP
literal). An enforced denial (``DROP``) fails the attempt as the task would see it -- DNS ->
``dns_failure``, IP -> ``timeout``, STORAGE -> connected, ListObjectsV2 answers 403 ``AccessDenied``
(``s3_error``); a ``DRY_RUN_DENIAL`` is logged and the attempt goes on.
"""
import hashlib
import ipaddress
import json
import re

from . import bridge, traffic
from .principals import owner_account_for
from .rules import is_bucket_name, is_ip

SOURCE_TYPE = "General Compute"  # network_source_type of jobs on serverless compute (traffic.COMPUTE["job"])
DEFAULT_TIMEOUT_MS = 5000
MAX_DESTINATIONS = 100
REPORT_VERSION = 1
HOST_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9-_]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}"
                     r"[A-Za-z0-9])?$")
S3_HOST_RE = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\.s3[.-](?P<region>[a-z0-9-]+)\.amazonaws\.com$")
# synthetic public addresses (never contacted): S3's published us-east-1 block for S3 names, an
# EC2 block otherwise; deterministic per host so reports are reproducible
S3_PUBLIC = ipaddress.ip_network("52.216.0.0/15")
OTHER_PUBLIC = ipaddress.ip_network("44.192.0.0/11")


class TaskFailure(Exception):
    """The task script itself fails (its parameter is not a destination list): the run is FAILED."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def trace(self) -> str:
        return ("Traceback (most recent call last):\n"
                '  File "verify.py", line 1, in <module>\n'
                f"ValueError: {self.message}")


# --- the parameter -------------------------------------------------------------------------------------

def _port(raw, where: str) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= 65535:
        raise TaskFailure(f"{where}: 'port' must be an integer between 1 and 65535")
    return raw


def _one(i: int, d) -> dict:
    where = f"destination {i}"
    if not isinstance(d, dict):
        raise TaskFailure(f"{where}: not an object")
    kind = d.get("kind")
    name = d.get("name")
    if name is not None and not isinstance(name, str):
        raise TaskFailure(f"{where}: 'name' must be a string")
    timeout_ms = d.get("timeout_ms", DEFAULT_TIMEOUT_MS)
    if not isinstance(timeout_ms, int) or isinstance(timeout_ms, bool) or not 1 <= timeout_ms <= 120000:
        raise TaskFailure(f"{where}: 'timeout_ms' must be an integer between 1 and 120000")
    if kind == "s3":
        bucket, region, endpoint = d.get("bucket"), d.get("region"), d.get("endpoint")
        if not isinstance(bucket, str) or not is_bucket_name(bucket):
            raise TaskFailure(f"{where}: 'bucket' must be an S3 bucket name")
        if not isinstance(region, str) or not re.match(r"^[a-z]{2}(-gov)?-[a-z]+-\d$", region):
            raise TaskFailure(f"{where}: 'region' must be an AWS region")
        if endpoint is not None:
            if not isinstance(endpoint, str):
                raise TaskFailure(f"{where}: 'endpoint' must be a host name")
            endpoint = endpoint.removeprefix("https://").removeprefix("*.").rstrip("/").lower()
            if not HOST_RE.match(endpoint):
                raise TaskFailure(f"{where}: 'endpoint' must be a host name")
        host = f"{bucket}.{endpoint}" if endpoint else f"{bucket}.s3.{region}.amazonaws.com"
        return {"kind": "s3", "name": name or f"s3://{bucket}", "bucket": bucket, "region": region,
                "endpoint": endpoint, "host": host, "port": 443, "tls": True, "sni": host, "timeout_ms": timeout_ms}
    if kind == "tcp":
        host = d.get("host")
        if not isinstance(host, str) or not (is_ip(host) or HOST_RE.match(host)):
            raise TaskFailure(f"{where}: 'host' must be a host name or an IP address")
        tls = d.get("tls", False)
        if not isinstance(tls, bool):
            raise TaskFailure(f"{where}: 'tls' must be a boolean")
        sni = d.get("sni", host)
        if not isinstance(sni, str) or not sni:
            raise TaskFailure(f"{where}: 'sni' must be a host name")
        host = host.lower()
        port = _port(d.get("port"), where)
        return {"kind": "tcp", "name": name or f"{host}:{port}", "host": host, "port": port,
                "tls": tls, "sni": sni, "timeout_ms": timeout_ms}
    raise TaskFailure(f"{where}: 'kind' must be 's3' or 'tcp'")


def parse(parameters) -> list[dict]:
    """The destinations of ``spark_python_task.parameters``: exactly one parameter, a JSON array."""
    if not isinstance(parameters, list) or len(parameters) != 1:
        raise TaskFailure("expected exactly one argument: a JSON array of destinations")
    try:
        raw = json.loads(parameters[0])
    except ValueError as exc:
        raise TaskFailure(f"the argument is not JSON: {exc}") from None
    if not isinstance(raw, list) or not raw:
        raise TaskFailure("the argument must be a non-empty JSON array of destinations")
    if len(raw) > MAX_DESTINATIONS:
        raise TaskFailure(f"at most {MAX_DESTINATIONS} destinations per run")
    return [_one(i, d) for i, d in enumerate(raw)]


# --- the world, as the task would meet it ------------------------------------------------------------------

def snapshot(model, ws) -> dict:
    """Under the model lock: what the workspace's serverless compute has (bound NCC's effective rules)
    and which names the account declared private (any rule's domain names)."""
    effective = []
    for r in model.rules_of(ws.network_connectivity_config_id) if ws.network_connectivity_config_id else []:
        if r.connection_state == "ESTABLISHED" and not r.deactivated and r.vpc_endpoint_id:
            effective.append({"rule_id": r.id, "region": r.region, "service": r.endpoint_service,
                              "first_party_s3": r.first_party_s3, "domain_names": list(r.domain_names or []),
                              "resource_names": list(r.resource_names or []), "enabled": r.enabled,
                              "vpc_endpoint_id": r.vpc_endpoint_id,
                              "owner": r.endpoint_owner or owner_account_for(r.region)})
    private = sorted({n for r in model.rules.values() for n in r.domain_names or []})
    return {"region": ws.aws_region, "rules": effective, "private_names": private}


def _covering_rule(snap: dict, dest: dict) -> dict | None:
    host = dest["host"]
    s3 = S3_HOST_RE.match(host)
    for rule in snap["rules"]:
        if rule["first_party_s3"]:
            if s3 and rule["enabled"] and s3["region"] == rule["region"] and s3["bucket"] in rule["resource_names"]:
                return rule
        elif any(traffic.dns_match(host, n) for n in rule["domain_names"]):
            return rule
    return None


def _public_address(host: str) -> str:
    net = S3_PUBLIC if S3_HOST_RE.match(host) or host.endswith(".amazonaws.com") else OTHER_PUBLIC
    offset = int.from_bytes(hashlib.sha256(host.encode()).digest()[:4], "big") % (net.num_addresses - 2) + 1
    return str(net.network_address + offset)


def _path(snap: dict, dest: dict) -> dict:
    """Bridge calls (no model lock): how the task's packets would travel."""
    host, port = dest["host"], dest["port"]
    rule = _covering_rule(snap, dest)
    if rule is not None:
        b = bridge.get()
        addresses = b.endpoint_addresses(rule["region"], rule["owner"], rule["vpc_endpoint_id"])
        conn = b.connection_state(rule["region"], rule["service"], rule["vpc_endpoint_id"])
        blocked = None
        if conn != "available":
            blocked = f"the rule's VPC endpoint {rule['vpc_endpoint_id']} is {conn or 'gone'}"
        elif not rule["first_party_s3"]:
            blocked = b.service_path(rule["region"], rule["service"], port)
        return {"via": "private_endpoint", "rule_id": rule["rule_id"], "addresses": addresses, "blocked": blocked}
    if is_ip(host):
        if ipaddress.ip_address(host).is_private:
            return {"via": "none", "addresses": [host],
                    "blocked": f"{host} is a private address that serverless compute cannot route to"}
        return {"via": "internet", "addresses": [host], "blocked": None}
    endpoint_ips = bridge.get().resolve_endpoint_name(host)
    if endpoint_ips is not None:
        return {"via": "none", "addresses": endpoint_ips,
                "blocked": f"{host} resolves to the private IPs of an interface endpoint and no ESTABLISHED "
                           "private endpoint rule of the workspace's NCC covers it"}
    if any(traffic.dns_match(host, n) for n in snap["private_names"]):
        return {"via": "none", "addresses": [], "nxdomain": True,
                "blocked": f"{host} is a private name and no ESTABLISHED private endpoint rule of the "
                           "workspace's NCC covers it"}
    return {"via": "internet", "addresses": [_public_address(host)], "blocked": None}


def gather(snap: dict, dests: list[dict]) -> list[dict]:
    """Per destination, its path and (S3) the bucket's answer. Runs without the model lock."""
    facts = []
    for dest in dests:
        fact = _path(snap, dest)
        if dest["kind"] == "s3" and fact["blocked"] is None:
            fact["s3"] = bridge.get().s3_list_objects(dest["bucket"], dest["region"])
        facts.append(fact)
    return facts


# --- the report -------------------------------------------------------------------------------------------

def _egress_destination(dest: dict) -> dict:
    if dest["kind"] == "s3":
        return traffic.parse_destination({"type": "STORAGE", "name": f"s3://{dest['bucket']}/"})
    return traffic.parse_destination({"type": "IP" if is_ip(dest["host"]) else "DNS", "name": dest["host"]})


def _connect_ms(host: str, private: bool) -> int:
    spread = int.from_bytes(hashlib.sha256(host.encode()).digest()[4:6], "big")
    return 1 + spread % 4 if private else 12 + spread % 30


def _line(i: int, dest: dict, fact: dict, attempt: dict) -> dict:
    addresses = fact.get("addresses") or []
    line = {"plink_verify": REPORT_VERSION, "index": i, "name": dest["name"], "kind": dest["kind"],
            "host": dest["host"], "port": dest["port"], "addresses": addresses,
            "private": bool(addresses) and all(ipaddress.ip_address(a).is_private for a in addresses),
            "connect_ms": None, "tls": None, "ok": False, "error": None, "message": None}
    if dest["kind"] == "s3":
        line.update(bucket=dest["bucket"], region=dest["region"], list_objects_v2=None)
    line["emulator"] = {"path": fact["via"], "rule_id": fact.get("rule_id"), "policy": attempt["access_type"],
                        "reason": attempt["reason"] if attempt["access_type"] else fact["blocked"]}
    denied = attempt["access_type"] == "DROP"
    if (denied and attempt["destination_type"] == "DNS") or fact.get("nxdomain"):
        line.update(addresses=[], private=False, error="dns_failure",
                    message=f"could not resolve {dest['host']}: NXDOMAIN")
        return line
    if (denied and attempt["destination_type"] == "IP") or fact["blocked"]:
        line.update(error="timeout", message=f"connect to {dest['host']}:{dest['port']} timed out after "
                                             f"{dest['timeout_ms']} ms")
        return line
    line["connect_ms"] = _connect_ms(dest["host"], line["private"])
    if dest["tls"]:
        line["tls"] = {"ok": True, "sni": dest["sni"], "version": "TLSv1.3"}
    if dest["kind"] == "s3":
        answer = {"status": 403, "code": "AccessDenied"} if denied else fact["s3"]
        listed = {"ok": answer["status"] == 200, "http_status": answer["status"],
                  "error_code": answer.get("code"), "key_count": answer.get("key_count")}
        line["list_objects_v2"] = listed
        if not listed["ok"]:
            line.update(error="s3_error",
                        message=f"ListObjectsV2 on {dest['bucket']} answered {answer['status']} {answer['code']}")
            return line
    line["ok"] = True
    return line


def report(model, ws, dests: list[dict], facts: list[dict], event_time: str) -> list[dict]:
    """Under the model lock: judge each destination against the bound policy (logging denials) and
    build the report lines."""
    lines = []
    for i, (dest, fact) in enumerate(zip(dests, facts)):
        attempt = traffic.egress(model, ws, _egress_destination(dest), SOURCE_TYPE, event_time)
        lines.append(_line(i, dest, fact, attempt))
    return lines


def stdout(lines: list[dict]) -> str:
    """The task's standard output: one JSON object per line."""
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
