"""Serverless egress network policies and the workspace network option (databricks-api.md §5, §6.5;
seed 000 describes the same objects from the Terraform side).

Routes (account host):
* ``/api/2.0/accounts/{account_id}/network-policies`` POST create, GET list (paged);
  ``/{network_policy_id}`` GET, PUT (full replacement), DELETE.
* ``/api/2.0/accounts/{account_id}/workspaces/{workspace_id}/network`` GET, PUT.

Rules: ``network_policy_id`` ``^[a-zA-Z0-9_.-]{1,32}$``, client-chosen, duplicate -> 409;
``egress.network_access.restriction_mode`` required (``FULL_ACCESS``|``RESTRICTED_ACCESS``); destination
enums validated; at most 2000 destinations per policy (internet allowed + blocked, storage, one per
Databricks workspace id) -> 400 ``INVALID_PARAMETER_VALUE``. ``default-policy`` always exists, can be
updated, cannot be deleted. Deleting a policy still bound to a workspace is refused with 400
``INVALID_STATE`` (choice; the real behaviour is not documented). Every workspace has exactly one
binding (initially ``default-policy``); PUT rebinds, the policy must exist (400 otherwise).
``ingress`` / ``ingress_dry_run`` (context-based ingress, Beta): ``restriction_mode`` required and
checked per section, rules only where the mode allows them, IPv4-only ``ip_ranges``; the server fills
``private_access`` and ``cross_workspace_access`` when left unset (``_validate_ingress``), and the rules
are enforced on the workspace API (ingress.py).
"""
import ipaddress
import re

from . import errors, fixtures, paging, workspaces
from .context import Ctx
from .model import NetworkPolicy

ID_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,32}$")
MAX_DESTINATIONS = 2000
RESTRICTION_MODES = ("FULL_ACCESS", "RESTRICTED_ACCESS")
STORAGE_TYPES = ("AWS_S3", "AZURE_STORAGE", "GOOGLE_CLOUD_STORAGE")
ENFORCEMENT_MODES = ("ENFORCED", "DRY_RUN")
DRY_RUN_PRODUCTS = ("DBSQL", "ML_SERVING")
DNS_RE = re.compile(r"^(\*\.)?(?:(?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)*(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
INGRESS_MODES = {
    "public_access": ("FULL_ACCESS", "RESTRICTED_ACCESS"),
    "private_access": ("ALLOW_ALL_REGISTERED_ENDPOINTS", "RESTRICTED_ACCESS"),
    "cross_workspace_access": ("FULL_ACCESS", "LEGACY_MODE", "RESTRICTED_ACCESS"),
}


# What the server fills in when an ingress section leaves them unset (see _validate_ingress).
SERVER_PRIVATE_ACCESS_MODE = "ALLOW_ALL_REGISTERED_ENDPOINTS"
SERVER_CROSS_WORKSPACE_MODE = "LEGACY_MODE"


def render(p: NetworkPolicy) -> dict:
    return {"network_policy_id": p.id, "account_id": p.account_id, **p.body}


def _obj(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise errors.invalid_parameter(f"Field '{where}' must be an object.")
    return value


def _list(value, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        raise errors.invalid_parameter(f"Field '{where}' must be a list of objects.")
    return value


def _validate_internet(items: list, where: str) -> list:
    out = []
    for d in items:
        dest = d.get("destination")
        if not isinstance(dest, str) or not dest or len(dest) > 253 or not DNS_RE.match(dest):
            raise errors.invalid_parameter(f"Invalid {where} destination '{dest}': must be a DNS name.")
        kind = d.get("internet_destination_type", "DNS_NAME")
        if kind != "DNS_NAME":
            raise errors.invalid_parameter(
                f"Invalid internet_destination_type '{kind}' for '{dest}': only DNS_NAME is supported.")
        out.append({"destination": dest, "internet_destination_type": kind})
    return out


def _validate_storage(items: list) -> list:
    out = []
    for d in items:
        kind = d.get("storage_destination_type")
        if kind not in STORAGE_TYPES:
            raise errors.invalid_parameter(
                f"Invalid storage_destination_type '{kind}': must be one of {', '.join(STORAGE_TYPES)}.")
        if kind == "AWS_S3":
            if not isinstance(d.get("bucket_name"), str) or not d["bucket_name"]:
                raise errors.invalid_parameter("allowed_storage_destinations: bucket_name is required for AWS_S3.")
            if not isinstance(d.get("region"), str) or not d["region"]:
                raise errors.invalid_parameter("allowed_storage_destinations: region is required for AWS_S3.")
        out.append(dict(d))
    return out


def _validate_databricks(items: list) -> tuple[list, int]:
    count = 0
    for d in items:
        ids = d.get("workspace_ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise errors.invalid_parameter("allowed_databricks_destinations: workspace_ids must be integers.")
        count += max(1, len(ids))
    return [dict(d) for d in items], count


def _validate_ip_ranges(rule: dict, where: str) -> None:
    origin = rule.get("origin") or {}
    for kind in ("included_ip_ranges", "excluded_ip_ranges"):
        ranges = (origin.get(kind) or {}).get("ip_ranges", []) if isinstance(origin.get(kind), dict) else None
        if ranges is None and kind in origin:
            raise errors.invalid_parameter(f"{where}.origin.{kind} must be an object {{ip_ranges: [...]}}.")
        for r in ranges or []:
            try:
                ipaddress.IPv4Network(r, strict=False)
            except (ValueError, TypeError):
                raise errors.invalid_parameter(
                    f"Invalid IP range '{r}' in {where}.origin.{kind}: must be an IPv4 address or CIDR.") from None


def _validate_ingress(ingress: dict, key: str) -> dict:
    """Check an ``ingress`` / ``ingress_dry_run`` section and fill what the server fills in.

    Server-filled (field-update-2026-12.md §0 item 4, §2.3; SRA PRs #243 / #249): a section left
    unset comes back as ``private_access = {restriction_mode: ALLOW_ALL_REGISTERED_ENDPOINTS}`` and
    ``cross_workspace_access = {restriction_mode: LEGACY_MODE}`` (the value for cross-workspace access
    is UNCONFIRMED; LEGACY_MODE = "not governed by this policy"). A client that diffs the whole body
    after a write sees drift: it must diff only the fields it owns.
    """
    out = dict(ingress)
    for section, modes in INGRESS_MODES.items():
        sec = _obj(ingress.get(section), f"{key}.{section}")
        if section not in ingress:
            continue
        mode = sec.get("restriction_mode")
        if mode is None:
            raise errors.invalid_parameter(f"Field '{key}.{section}.restriction_mode' is required.")
        if mode not in modes:
            raise errors.invalid_parameter(f"Invalid {key}.{section}.restriction_mode '{mode}': must be one of "
                                           f"{', '.join(modes)}.")
        for rules_key in ("allow_rules", "deny_rules"):
            rules = _list(sec.get(rules_key), f"{key}.{section}.{rules_key}")
            if rules and section != "public_access" and mode != "RESTRICTED_ACCESS":
                raise errors.invalid_parameter(
                    f"{key}.{section}.{rules_key} can only be set when restriction_mode is RESTRICTED_ACCESS.")
            for n, rule in enumerate(rules):
                _validate_ip_ranges(rule, f"{key}.{section}.{rules_key}[{n}]")
    out.setdefault("private_access", {"restriction_mode": SERVER_PRIVATE_ACCESS_MODE})
    out.setdefault("cross_workspace_access", {"restriction_mode": SERVER_CROSS_WORKSPACE_MODE})
    return out


def validate(body: dict) -> dict:
    """Return the normalised policy body (without ids) or raise 400."""
    egress = _obj(body.get("egress"), "egress")
    access = _obj(egress.get("network_access"), "egress.network_access")
    mode = access.get("restriction_mode")
    if mode is None:
        raise errors.invalid_parameter("Field 'egress.network_access.restriction_mode' is required.")
    if mode not in RESTRICTION_MODES:
        raise errors.invalid_parameter(
            f"Invalid restriction_mode '{mode}': must be one of {', '.join(RESTRICTION_MODES)}.")
    na = {"restriction_mode": mode}
    allowed = _validate_internet(_list(access.get("allowed_internet_destinations"),
                                       "allowed_internet_destinations"), "allowed_internet_destinations")
    blocked = _validate_internet(_list(access.get("blocked_internet_destinations"),
                                       "blocked_internet_destinations"), "blocked_internet_destinations")
    storage = _validate_storage(_list(access.get("allowed_storage_destinations"), "allowed_storage_destinations"))
    databricks, db_count = _validate_databricks(_list(access.get("allowed_databricks_destinations"),
                                                      "allowed_databricks_destinations"))
    total = len(allowed) + len(blocked) + len(storage) + db_count
    if total > MAX_DESTINATIONS:
        raise errors.invalid_parameter(
            f"A network policy can have at most {MAX_DESTINATIONS} destinations, got {total}.")
    for key, value in (("allowed_internet_destinations", allowed), ("blocked_internet_destinations", blocked),
                       ("allowed_storage_destinations", storage), ("allowed_databricks_destinations", databricks)):
        if value:
            na[key] = value
    enforcement = _obj(access.get("policy_enforcement"), "policy_enforcement")
    if enforcement:
        em = enforcement.get("enforcement_mode", "ENFORCED")
        if em not in ENFORCEMENT_MODES:
            raise errors.invalid_parameter(
                f"Invalid enforcement_mode '{em}': must be one of {', '.join(ENFORCEMENT_MODES)}.")
        products = enforcement.get("dry_run_mode_product_filter", [])
        if not isinstance(products, list) or any(p not in DRY_RUN_PRODUCTS for p in products):
            raise errors.invalid_parameter(
                f"Invalid dry_run_mode_product_filter {products}: values must be in {', '.join(DRY_RUN_PRODUCTS)}.")
        na["policy_enforcement"] = {"enforcement_mode": em, **(
            {"dry_run_mode_product_filter": products} if products else {})}
    out = {"egress": {"network_access": na}}
    for key in ("ingress", "ingress_dry_run"):
        if body.get(key) is not None:
            out[key] = _validate_ingress(_obj(body.get(key), key), key)
    return out


def lookup(model, account_id: str, policy_id: str) -> NetworkPolicy:
    p = model.policies.get(policy_id)
    if p is None or p.account_id != account_id:
        raise errors.not_found(f"Network policy {policy_id} does not exist.")
    return p


def create(ctx: Ctx, account_id: str):
    body = ctx.body("network_policy")
    pid = body.get("network_policy_id")
    if not isinstance(pid, str) or not pid:
        raise errors.invalid_parameter("Field 'network_policy_id' is required.")
    if not ID_RE.match(pid):
        raise errors.invalid_parameter(
            f"Invalid network_policy_id '{pid}': must match ^[a-zA-Z0-9_.-]{{1,32}}$.")
    if pid in ctx.model.policies:
        raise errors.already_exists(f"Network policy {pid} already exists.")
    policy = NetworkPolicy(id=pid, account_id=account_id, body=validate(body), seq=ctx.model.next_seq())
    ctx.model.policies[pid] = policy
    return render(policy)


def get(ctx: Ctx, account_id: str, policy_id: str):
    return render(lookup(ctx.model, account_id, policy_id))


def list_(ctx: Ctx, account_id: str):
    mine = [p for p in ctx.model.policies.values() if p.account_id == account_id]
    return paging.page(f"policies/{account_id}", mine, render, ctx.args.get("page_token"),
                       paging.parse_page_size(ctx.args.get("page_size")))


def update(ctx: Ctx, account_id: str, policy_id: str):
    policy = lookup(ctx.model, account_id, policy_id)
    body = ctx.body("network_policy")
    if body.get("network_policy_id") not in (None, "", policy_id):
        raise errors.invalid_parameter(
            f"network_policy_id in the body ({body['network_policy_id']}) does not match the path ({policy_id}).")
    policy.body = validate(body)
    return render(policy)


def delete(ctx: Ctx, account_id: str, policy_id: str):
    policy = lookup(ctx.model, account_id, policy_id)
    if policy_id == fixtures.DEFAULT_NETWORK_POLICY_ID:
        raise errors.invalid_parameter("Cannot delete 'default-policy': the default network policy is reserved.")
    bound = sorted(w.workspace_id for w in ctx.model.workspaces.values() if w.network_policy_id == policy_id)
    if bound:
        raise errors.invalid_state(
            f"Network policy {policy_id} is attached to workspaces {bound}; bind them to another policy first.")
    del ctx.model.policies[policy.id]
    return {}


# --- workspace network option (§5.2) ---------------------------------------------------------------------

def get_option(ctx: Ctx, account_id: str, workspace_id: str):
    ws = workspaces.lookup(ctx.model, account_id, workspace_id)
    return {"workspace_id": ws.workspace_id, "network_policy_id": ws.network_policy_id}


def put_option(ctx: Ctx, account_id: str, workspace_id: str):
    ws = workspaces.lookup(ctx.model, account_id, workspace_id)
    body = ctx.body("workspace_network_option")
    if body.get("workspace_id") not in (None, 0, ws.workspace_id):
        raise errors.invalid_parameter(
            f"workspace_id in the body ({body['workspace_id']}) does not match the path ({ws.workspace_id}).")
    pid = body.get("network_policy_id")
    if not isinstance(pid, str) or not pid:
        raise errors.invalid_parameter("Field 'network_policy_id' is required.")
    p = ctx.model.policies.get(pid)
    if p is None or p.account_id != account_id:
        raise errors.invalid_parameter(f"Network policy {pid} does not exist.")
    ws.network_policy_id = pid
    return {"workspace_id": ws.workspace_id, "network_policy_id": pid}
