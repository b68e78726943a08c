"""Simulated serverless traffic, judged against the workspace's bound network policy and logged the way
``system.access.outbound_network`` / ``inbound_network`` log it (field-update-2026-12.md §2.2, §2.3;
seed 000 for the dry-run -> denials -> allowlist -> enforce loop).

Control route (Databricks port; never faulted, never in the call log)::

    POST /_plink/traffic
    {"workspace_id": 1111111111111111,
     "destinations": [{"type": "DNS", "name": "api.example.com"},
                      {"type": "STORAGE", "name": "s3://bucket/some/path"},
                      {"type": "IP", "name": "192.0.2.10"},
                      {"type": "DATABRICKS", "workspace_id": 2222222222222222}],
     "compute": "serverless-notebook",     # or a network_source_type value, see COMPUTE
     "count": 3,                           # attempts per destination (default 1)
     "event_time": "2026-12-01T10:00:00Z"} # optional, default now (to simulate older events)
    -> {"workspace_id", "network_policy_id", "network_source_type",
        "attempts": [{"destination_type", "destination", "allowed", "access_type", "event_id", "reason"}]}

    POST /_plink/traffic {"direction": "inbound", "workspace_id": ..., "source_ip": "203.0.113.7",
                          "request_type": "WORKSPACE_API"|"WORKSPACE_UI", "method": "GET",
                          "identity": "service_principal"|"user", "count": 1}
    -> {"workspace_id", "network_policy_id", "attempts": [{"allowed", "access_type", "rule_label", "event_id"}]}

Egress judgement (one attempt):
* FULL_ACCESS: allowed, unless the destination is in ``blocked_internet_destinations``.
* RESTRICTED_ACCESS: DNS allowed iff it matches ``allowed_internet_destinations`` (exact,
  case-insensitive, or ``*.example.com`` for any sub-domain — not the apex) and is not blocked;
  STORAGE ``s3://bucket[/path]`` allowed iff ``bucket`` is an ``AWS_S3`` entry of
  ``allowed_storage_destinations``; IP never (the allowlist has DNS names only); DATABRICKS (another
  workspace, logged as DNS ``<deployment>.cloud.databricks.com``) allowed iff it is the workspace itself
  or listed in ``allowed_databricks_destinations``.
* A denied attempt is logged with ``access_type = DROP`` when enforced (and the attempt fails), or
  ``DRY_RUN_DENIAL`` when the policy is in DRY_RUN for this product (and the attempt succeeds):
  ``policy_enforcement.enforcement_mode = DRY_RUN`` with an empty ``dry_run_mode_product_filter``
  means every product; a non-empty filter means dry run for DBSQL (``network_source_type`` DBSQL) /
  ML_SERVING (MLServing) only, enforced for the rest. Allowed attempts are not logged (the table logs
  denials; "extended network traffic logs" are not emulated).
"""
import datetime as dt
import uuid

from . import errors, fixtures, ingress
from .system_tables import iso, parse_ts

COMPUTE = {
    "serverless-notebook": "General Compute", "notebook": "General Compute", "job": "General Compute",
    "serverless-job": "General Compute", "general": "General Compute", "general compute": "General Compute",
    "sql": "DBSQL", "dbsql": "DBSQL", "serverless-sql": "DBSQL", "warehouse": "DBSQL",
    "model-serving": "MLServing", "mlserving": "MLServing", "ml-serving": "MLServing",
    "ml-build": "ML Build", "ml build": "ML Build", "apps": "Apps", "app": "Apps",
}
PRODUCT_OF_SOURCE = {"DBSQL": "DBSQL", "MLServing": "ML_SERVING"}
DNS_RCODE_DENIED = 3  # NXDOMAIN, the docs' example value


def dns_match(name: str, pattern: str) -> bool:
    """``name`` is ``pattern`` (case-insensitive), or under it for ``*.suffix`` (not the apex). Also how
    verify.py matches a private endpoint rule's domain names."""
    name, pattern = name.lower().rstrip("."), pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        return name.endswith(pattern[1:]) and name != pattern[2:]
    return name == pattern


def _dry_run_for(na: dict, source_type: str) -> bool:
    enf = na.get("policy_enforcement") or {}
    if enf.get("enforcement_mode", "ENFORCED") != "DRY_RUN":
        return False
    products = enf.get("dry_run_mode_product_filter") or []
    return not products or PRODUCT_OF_SOURCE.get(source_type) in products


def judge_egress(na: dict, ws, dest: dict) -> tuple[bool, str]:
    """(allowed by the policy, reason) for one destination."""
    kind = dest["type"]
    mode = na.get("restriction_mode", "FULL_ACCESS")
    if kind == "DNS":
        name = dest["name"]
        for b in na.get("blocked_internet_destinations", []):
            if dns_match(name, b["destination"]):
                return False, f"{name} matches blocked destination {b['destination']}"
        if mode == "FULL_ACCESS":
            return True, "FULL_ACCESS"
        for a in na.get("allowed_internet_destinations", []):
            if dns_match(name, a["destination"]):
                return True, f"{name} matches allowed destination {a['destination']}"
        return False, f"{name} is not in allowed_internet_destinations"
    if mode == "FULL_ACCESS":
        return True, "FULL_ACCESS"
    if kind == "STORAGE":
        bucket = dest["bucket"]
        for s in na.get("allowed_storage_destinations", []):
            if s.get("storage_destination_type") == "AWS_S3" and s.get("bucket_name") == bucket:
                return True, f"bucket {bucket} is in allowed_storage_destinations"
        return False, f"bucket {bucket} is not in allowed_storage_destinations"
    if kind == "DATABRICKS":
        target = dest["workspace_id"]
        if target == ws.workspace_id:
            return True, "the workspace itself"
        for d in na.get("allowed_databricks_destinations", []):
            if target in d.get("workspace_ids", []):
                return True, f"workspace {target} is in allowed_databricks_destinations"
        return False, f"workspace {target} is not in allowed_databricks_destinations"
    return False, f"IP destinations are not allowed in RESTRICTED_ACCESS ({dest['name']})"


def parse_destination(d) -> dict:
    if not isinstance(d, dict):
        raise errors.invalid_parameter("Each destination is an object {type, name}.")
    kind = str(d.get("type", "DNS")).upper()
    if kind == "DATABRICKS":
        wid = d.get("workspace_id")
        if not isinstance(wid, int) or isinstance(wid, bool):
            raise errors.invalid_parameter("A DATABRICKS destination needs an integer workspace_id.")
        deployment = next((w["deployment_name"] for w in fixtures.WORKSPACES if w["workspace_id"] == wid),
                          f"dbc-{wid}")
        return {"type": kind, "workspace_id": wid, "name": f"{deployment}.cloud.databricks.com"}
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise errors.invalid_parameter("Each destination needs a 'name'.")
    if kind == "STORAGE":
        if not name.startswith("s3://") or len(name) <= 5:
            raise errors.invalid_parameter(f"A STORAGE destination is s3://bucket[/path], got '{name}'.")
        bucket, _, path = name[5:].partition("/")
        return {"type": kind, "name": name, "bucket": bucket, "path": "/" + path}
    if kind not in ("DNS", "IP"):
        raise errors.invalid_parameter(f"Unknown destination type '{kind}' (DNS, STORAGE, IP, DATABRICKS).")
    return {"type": kind, "name": name}


def _source_type(compute) -> str:
    if compute is None:
        return "General Compute"
    if compute in PRODUCT_OF_SOURCE or compute in ("General Compute", "ML Build", "Apps"):
        return compute
    st = COMPUTE.get(str(compute).lower())
    if st is None:
        raise errors.invalid_parameter(
            f"Unknown compute '{compute}': one of {sorted(set(COMPUTE))} or a network_source_type "
            "(DBSQL, General Compute, MLServing, ML Build, Apps).")
    return st


def _count(body) -> int:
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 1000:
        raise errors.invalid_parameter("count must be an integer between 1 and 1000.")
    return count


def _event_time(body) -> str:
    if body.get("event_time") is None:
        return iso(dt.datetime.now(dt.timezone.utc))
    ts = parse_ts(body["event_time"])
    if ts is None:
        raise errors.invalid_parameter(f"event_time must be an ISO-8601 timestamp, got {body['event_time']!r}.")
    return iso(ts)


def simulate(model, body: dict) -> dict:
    """Run the ``POST /_plink/traffic`` request (caller holds the model lock)."""
    if not isinstance(body, dict):
        raise errors.bad_request("Request body must be a JSON object.")
    wid = body.get("workspace_id")
    ws = model.workspaces.get(int(wid)) if isinstance(wid, (int, str)) and str(wid).isdigit() else None
    if ws is None:
        raise errors.not_found(f"Workspace {wid} does not exist.")
    direction = body.get("direction", "outbound")
    if direction == "inbound":
        return ingress.simulate(model, ws, body, _count(body), _event_time(body))
    if direction != "outbound":
        raise errors.invalid_parameter("direction must be 'outbound' or 'inbound'.")
    dests = body.get("destinations")
    if not isinstance(dests, list) or not dests:
        raise errors.invalid_parameter("Field 'destinations' must be a non-empty list.")
    parsed = [parse_destination(d) for d in dests]
    source_type = _source_type(body.get("compute"))
    count = _count(body)
    event_time = _event_time(body)
    attempts = [egress(model, ws, dest, source_type, event_time) for dest in parsed for _ in range(count)]
    return {"workspace_id": ws.workspace_id, "network_policy_id": ws.network_policy_id,
            "network_source_type": source_type, "attempts": attempts}


def egress(model, ws, dest: dict, source_type: str, event_time: str) -> dict:
    """One egress attempt of workspace ``ws`` to a parsed destination (``parse_destination``), judged
    against its bound policy; a denial is logged in ``outbound_network`` (caller holds the model lock).
    Shared by ``POST /_plink/traffic`` and the one-time runs of jobs.py (verify.py)."""
    na = model.policies[ws.network_policy_id].body["egress"]["network_access"]
    ok, reason = judge_egress(na, ws, dest)
    if ok:
        return {"destination_type": dest["type"], "destination": dest["name"], "allowed": True,
                "access_type": None, "event_id": None, "reason": reason}
    dry_run = _dry_run_for(na, source_type)
    access_type = "DRY_RUN_DENIAL" if dry_run else "DROP"
    event_id = str(uuid.uuid4())
    logged_type = "DNS" if dest["type"] == "DATABRICKS" else dest["type"]
    row = {"account_id": ws.account_id, "workspace_id": str(ws.workspace_id), "event_id": event_id,
           "destination_type": logged_type, "destination": dest["name"], "dns_event": None,
           "storage_event": None, "event_time": event_time, "access_type": access_type,
           "network_source_type": source_type}
    if logged_type == "DNS":
        row["dns_event"] = {"domain_name": dest["name"], "rcode": DNS_RCODE_DENIED}
    elif logged_type == "STORAGE":
        row["storage_event"] = {"hostname": f"s3://{dest['bucket']}", "path": dest["path"],
                                "rejection_reason": "storage-bucket-path-denied"}
    model.system_tables.insert("outbound_network", row, ws.aws_region)
    return {"destination_type": logged_type, "destination": dest["name"], "allowed": dry_run,
            "access_type": access_type, "event_id": event_id, "reason": reason}

