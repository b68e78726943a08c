"""Context-based ingress (Beta; databricks-api.md §6.5, field-update-2026-12.md §2.3, seed 002), enforced
on the emulator's own workspace API.

Every authenticated workspace-API request (workspace host, or account host + ``X-Databricks-Workspace-Id``)
is judged against the ``ingress`` and ``ingress_dry_run`` sections of the network policy bound to that
workspace, after the workspace's IP access lists (``ip_access_lists.enforce``; a request they block never
gets here and is not logged). Discovery documents and the OIDC token endpoint are not judged (so a
client can always get a token and see the 403 on the API itself).

The request's context:
* source address: header ``X-Plink-Source-Ip`` (tests choose it), else the TCP peer (127.0.0.1);
  every source counts as *public* access (no private endpoints / cross-workspace origins here);
* request type: ``WORKSPACE_API`` (header ``X-Plink-Request-Type: WORKSPACE_UI`` to pretend a browser);
* identity: the caller's principal — always the seeded OAuth service principal
  (``fixtures.SERVICE_PRINCIPAL_ID``, ``PRINCIPAL_TYPE_SERVICE_PRINCIPAL``).

``public_access`` rules (``deny_rules`` first, then ``allow_rules``): a rule matches when its origin,
destination and authentication all match (an unset part matches everything):
* origin: ``all_ip_ranges``; ``included_ip_ranges.ip_ranges`` (IPv4 addresses / CIDRs) contain the
  source; ``excluded_ip_ranges.ip_ranges`` do not;
* destination: ``all_destinations``; ``workspace_api`` matches API requests (``scope_qualifier =
  API_SCOPE_QUALIFIER_READ``: GET/HEAD only; ``scopes`` / ``excluded_scopes`` are not evaluated);
  ``workspace_ui`` matches UI requests; other destinations (account, apps, lakebase) never match here;
* authentication: ``IDENTITY_TYPE_ALL_SERVICE_PRINCIPALS`` matches, ``IDENTITY_TYPE_ALL_USERS`` does
  not, ``IDENTITY_TYPE_SELECTED_IDENTITIES`` matches when ``identities`` lists the principal.
A deny match denies; FULL_ACCESS allows everything else; RESTRICTED_ACCESS allows only allow-rule
matches. ``private_access`` / ``cross_workspace_access`` never apply (no such origins here).

Outcome: ``ingress`` denial -> logged in ``system.access.inbound_network`` as ``DENIED`` and the request
fails with 403 ``PERMISSION_DENIED`` (UNCONFIRMED error code and message); ``ingress_dry_run``
denial -> logged as ``DRY_RUN_DENIAL``, the request proceeds ("Dry run will always run even if the
request is allowed by the ingress policy", SDK doc).
"""
import datetime as dt
import ipaddress
import uuid

from . import errors, fixtures
from .system_tables import iso

SOURCE_HEADER = "X-Plink-Source-Ip"
REQUEST_TYPE_HEADER = "X-Plink-Request-Type"
REQUEST_TYPES = ("WORKSPACE_API", "WORKSPACE_UI")


def _in_ranges(ip: str, ranges) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for r in ranges or []:
        try:
            if addr in ipaddress.ip_network(r, strict=False):
                return True
        except ValueError:
            continue
    return False


def _origin_matches(origin, ip) -> bool:
    if not origin or origin.get("all_ip_ranges"):
        return True
    if "included_ip_ranges" in origin:
        return _in_ranges(ip, (origin["included_ip_ranges"] or {}).get("ip_ranges"))
    if "excluded_ip_ranges" in origin:
        return not _in_ranges(ip, (origin["excluded_ip_ranges"] or {}).get("ip_ranges"))
    return False


def _destination_matches(dest, request_type, method) -> bool:
    if not dest or dest.get("all_destinations"):
        return True
    if request_type == "WORKSPACE_API" and "workspace_api" in dest:
        api = dest["workspace_api"] or {}
        if api.get("scope_qualifier") == "API_SCOPE_QUALIFIER_READ":
            return method in ("GET", "HEAD")
        return True
    if request_type == "WORKSPACE_UI" and "workspace_ui" in dest:
        return True
    return False


def _auth_matches(auth, identity) -> bool:
    if not auth:
        return True
    kind = auth.get("identity_type")
    if kind in (None, ""):
        return True
    if kind == "IDENTITY_TYPE_ALL_SERVICE_PRINCIPALS":
        return identity["principal_type"] == "PRINCIPAL_TYPE_SERVICE_PRINCIPAL"
    if kind == "IDENTITY_TYPE_ALL_USERS":
        return identity["principal_type"] == "PRINCIPAL_TYPE_USER"
    if kind == "IDENTITY_TYPE_SELECTED_IDENTITIES":
        return any(i.get("principal_id") == identity["principal_id"]
                   and i.get("principal_type", identity["principal_type"]) == identity["principal_type"]
                   for i in auth.get("identities") or [])
    return False


def _rule_matches(rule, ip, request_type, method, identity) -> bool:
    return (_origin_matches(rule.get("origin"), ip)
            and _destination_matches(rule.get("destination"), request_type, method)
            and _auth_matches(rule.get("authentication"), identity))


def evaluate(section: dict, ip: str, request_type: str, method: str, identity: dict) -> tuple[bool, str | None]:
    """(allowed, label of the deciding rule or None) for one ingress section."""
    pa = (section or {}).get("public_access")
    if not pa:
        return True, None
    for rule in pa.get("deny_rules") or []:
        if _rule_matches(rule, ip, request_type, method, identity):
            return False, rule.get("label")
    if pa.get("restriction_mode", "FULL_ACCESS") == "FULL_ACCESS":
        return True, None
    for rule in pa.get("allow_rules") or []:
        if _rule_matches(rule, ip, request_type, method, identity):
            return True, rule.get("label")
    return False, None


def service_principal_identity() -> dict:
    return {"principal_type": "PRINCIPAL_TYPE_SERVICE_PRINCIPAL", "principal_id": fixtures.SERVICE_PRINCIPAL_ID,
            "application_id": fixtures.CLIENT_ID}


def user_identity() -> dict:
    return {"principal_type": "PRINCIPAL_TYPE_USER", "principal_id": 1000000000000001,
            "application_id": None}


def _log(model, ws, event_time, label, request_type, identity, ip, access_type) -> str:
    event_id = str(uuid.uuid4())
    model.system_tables.insert("inbound_network", {
        "account_id": ws.account_id, "workspace_id": str(ws.workspace_id), "event_id": event_id,
        "event_time": event_time, "rule_label": label, "request_type": request_type,
        "identity": identity, "network_source": {"source_type": "PUBLIC_IP", "ip_address": ip},
        "access_type": access_type}, ws.aws_region)
    return event_id


def judge(model, ws, ip, request_type, method, identity, event_time=None) -> dict:
    """Judge one request, log denials; returns {allowed, access_type, rule_label, event_id, policy_id}."""
    policy = model.policies.get(ws.network_policy_id)
    body = policy.body if policy else {}
    event_time = event_time or iso(dt.datetime.now(dt.timezone.utc))
    out = {"allowed": True, "access_type": None, "rule_label": None, "event_id": None,
           "network_policy_id": ws.network_policy_id}
    if body.get("ingress_dry_run"):
        ok, label = evaluate(body["ingress_dry_run"], ip, request_type, method, identity)
        if not ok:
            out.update(access_type="DRY_RUN_DENIAL", rule_label=label,
                       event_id=_log(model, ws, event_time, label, request_type, identity, ip, "DRY_RUN_DENIAL"))
    if body.get("ingress"):
        ok, label = evaluate(body["ingress"], ip, request_type, method, identity)
        if not ok:
            out.update(allowed=False, access_type="DENIED", rule_label=label,
                       event_id=_log(model, ws, event_time, label, request_type, identity, ip, "DENIED"))
    return out


def source_ip(request) -> str:
    """The request's source address: header ``X-Plink-Source-Ip`` (tests choose it), else the TCP peer.
    Shared by ingress, IP access list enforcement and the IP access list caller lock-out check. The value
    is not validated here: an address that does not parse matches no IP range / list."""
    return (request.headers.get(SOURCE_HEADER) or "").strip() or request.remote_addr or "127.0.0.1"


def enforce(model, ws, request) -> None:
    """Called for every authenticated workspace-API request (model lock held) after the workspace's IP
    access lists (``ip_access_lists.enforce``): 403 when denied."""
    ip = source_ip(request)
    request_type = (request.headers.get(REQUEST_TYPE_HEADER) or "WORKSPACE_API").upper()
    if request_type not in REQUEST_TYPES:
        request_type = "WORKSPACE_API"
    verdict = judge(model, ws, ip, request_type, request.method, service_principal_identity())
    if not verdict["allowed"]:
        why = f"deny rule '{verdict['rule_label']}'" if verdict["rule_label"] else "no allow rule matched"
        raise errors.permission_denied(
            f"Request from source IP {ip} to workspace {ws.workspace_id} is blocked by the context-based "
            f"ingress policy of network policy '{ws.network_policy_id}' ({why}).")


def simulate(model, ws, body: dict, count: int, event_time: str) -> dict:
    """``POST /_plink/traffic {"direction": "inbound", ...}``."""
    ip = body.get("source_ip", "127.0.0.1")
    try:
        ipaddress.ip_address(ip)
    except (ValueError, TypeError):
        raise errors.invalid_parameter(f"source_ip must be an IP address, got {ip!r}.") from None
    request_type = str(body.get("request_type", "WORKSPACE_API")).upper()
    if request_type not in REQUEST_TYPES:
        raise errors.invalid_parameter(f"request_type must be one of {', '.join(REQUEST_TYPES)}.")
    method = str(body.get("method", "GET")).upper()
    who = body.get("identity", "service_principal")
    if who not in ("service_principal", "user"):
        raise errors.invalid_parameter("identity must be 'service_principal' or 'user'.")
    identity = service_principal_identity() if who == "service_principal" else user_identity()
    attempts = [judge(model, ws, ip, request_type, method, identity, event_time) for _ in range(count)]
    return {"workspace_id": ws.workspace_id, "network_policy_id": ws.network_policy_id, "attempts": attempts}
