"""IP access lists: workspace level (workspace host, ``/api/2.0/ip-access-lists``) and account level
(account host, ``/api/2.0/accounts/{account_id}/ip-access-lists``). databricks-api.md §6.1, §6.3;
seed 003 describes the workspace feature from the user side.

* Create -> ``{"ip_access_list": IpAccessListInfo}``; get -> same; list ->
  ``{"ip_access_lists": [...]}`` (no paging); PUT replace (``label``, ``list_type``, ``enabled``
  required) and PATCH update (any subset) return ``{"ip_access_list": ...}``; DELETE -> ``{}``.
* ``list_type`` ``ALLOW``|``BLOCK`` (case-sensitive); ``ip_addresses`` IPv4 addresses or IPv4 CIDRs
  (host bits allowed, IPv6 refused) -> 400 ``INVALID_PARAMETER_VALUE`` otherwise.
* At most 1000 values across all lists of the scope (one CIDR = one value) -> 400 ``QUOTA_EXCEEDED``.
* Workspace level, once ``enableIpAccessLists`` is ``"true"``:
  - every authenticated workspace-API request (the same set ``ingress.py`` judges, and before it) is
    judged against the workspace's **enabled** lists (``enforce``): block lists first (a match blocks),
    then, if at least one enabled allow list exists, the source must be in one. Blocked -> 403
    ``PERMISSION_DENIED`` ``Source IP address: <ip> is blocked by Databricks IP ACL for workspace: <id>``
    (code and wording UNCONFIRMED; the wording is what public reports quote). Nothing is logged to the
    system tables. The IP access list and workspace-conf APIs are judged too (a locked-out caller cannot
    undo the lock-out from that address);
  - a change after which the caller's own source address would be blocked is refused with 400
    ``INVALID_STATE`` (same rule, ``check_self_block``).
  Source address = ``ingress.source_ip`` (header ``X-Plink-Source-Ip``, else the TCP peer). An address
  that does not parse (or IPv6: lists are IPv4-only) is in no list: never blocked by a block list, always
  blocked when an enabled allow list exists.
* Account-level lists are stored and served but not enforced (the account IP ACL enable setting, §6.4,
  is not implemented).
"""
import ipaddress

from . import errors, fixtures
from .ingress import source_ip
from .context import Ctx, get_bool, get_str, get_str_list
from .model import IpAccessList, new_id, now_ms

MAX_VALUES = 1000
LIST_TYPES = ("ALLOW", "BLOCK")


def render(e: IpAccessList) -> dict:
    return {
        "list_id": e.list_id,
        "label": e.label,
        "list_type": e.list_type,
        "ip_addresses": list(e.ip_addresses),
        "address_count": len(e.ip_addresses),
        "enabled": e.enabled,
        "created_at": e.created_at,
        "created_by": e.created_by,
        "updated_at": e.updated_at,
        "updated_by": e.updated_by,
    }


def _scope(ctx: Ctx, account_id: str | None) -> tuple:
    return ("account", account_id) if account_id else ("workspace", ctx.workspace.workspace_id)


def _lists(ctx: Ctx, scope: tuple) -> dict:
    return ctx.model.ip_lists.setdefault(scope, {})


def _validate_ips(values: list) -> list:
    for v in values:
        try:
            net = ipaddress.ip_network(v, strict=False)
        except ValueError:
            raise errors.invalid_parameter(f"Invalid IP address or CIDR '{v}'.") from None
        if net.version != 4:
            raise errors.invalid_parameter(f"Invalid IP address or CIDR '{v}': only IPv4 is supported.")
    return list(values)


def _validate_type(value) -> str:
    if value not in LIST_TYPES:
        raise errors.invalid_parameter(f"Invalid list_type '{value}': must be ALLOW or BLOCK.")
    return value


def _check_quota(lists: dict, replacing: str | None, new_values: list) -> None:
    total = sum(len(e.ip_addresses) for k, e in lists.items() if k != replacing) + len(new_values)
    if total > MAX_VALUES:
        raise errors.quota_exceeded(
            f"Total number of IP addresses and CIDR ranges ({total}) exceeds the limit of {MAX_VALUES}.")


def _parse(ip: str):
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if addr.version == 6 and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _blocks(entries, ip: str) -> bool:
    """True when the **enabled** lists among ``entries`` block ``ip`` (§6.1): a block-list match blocks;
    otherwise, if at least one enabled allow list exists, ``ip`` must be in one. Disabled lists are ignored."""
    addr = _parse(ip)
    active = [e for e in entries if e.enabled]

    def contains(e):
        return addr is not None and any(addr in ipaddress.ip_network(v, strict=False) for v in e.ip_addresses)

    if any(e.list_type == "BLOCK" and contains(e) for e in active):
        return True
    allows = [e for e in active if e.list_type == "ALLOW"]
    return bool(allows) and not any(contains(e) for e in allows)


def feature_enabled(model, workspace_id: int) -> bool:
    return model.workspace_conf.get(workspace_id, {}).get("enableIpAccessLists") == "true"


def enforce(model, ws, request) -> None:
    """Called for every authenticated workspace-API request (model lock held), before ingress: 403 when
    the workspace has ``enableIpAccessLists = "true"`` and its enabled lists block the source address."""
    if not feature_enabled(model, ws.workspace_id):
        return
    ip = source_ip(request)
    if _blocks(model.ip_lists.get(("workspace", ws.workspace_id), {}).values(), ip):
        raise errors.permission_denied(
            f"Source IP address: {ip} is blocked by Databricks IP ACL for workspace: {ws.workspace_id}")


def check_self_block(ctx: Ctx, entries, enabled: bool) -> None:
    """Refuse a workspace configuration that would lock the caller out (§6.1). The caller is the
    request's source address, the same one ``enforce`` judges."""
    ip = source_ip(ctx.request)
    if enabled and _blocks(entries, ip):
        raise errors.invalid_state(
            f"Your current IP {ip} will not be allowed to access the workspace under current configuration.")


def _after_change(ctx: Ctx, scope: tuple, lists: dict) -> None:
    if scope[0] == "workspace":
        check_self_block(ctx, lists.values(), feature_enabled(ctx.model, scope[1]))


def _lookup(lists: dict, list_id: str) -> IpAccessList:
    e = lists.get(list_id)
    if e is None:
        raise errors.not_found(f"IP access list {list_id} does not exist.")
    return e


def create(ctx: Ctx, account_id: str | None = None):
    scope = _scope(ctx, account_id)
    lists = _lists(ctx, scope)
    body = ctx.body()
    label = get_str(body, "label")
    if not label:
        raise errors.invalid_parameter("Field 'label' is required.")
    list_type = _validate_type(body.get("list_type"))
    ips = _validate_ips(get_str_list(body, "ip_addresses") or [])
    _check_quota(lists, None, ips)
    ts = now_ms()
    e = IpAccessList(list_id=new_id(), label=label, list_type=list_type, ip_addresses=ips, enabled=True,
                     created_at=ts, created_by=fixtures.SERVICE_PRINCIPAL_ID, updated_at=ts,
                     updated_by=fixtures.SERVICE_PRINCIPAL_ID, seq=ctx.model.next_seq())
    candidate = dict(lists)
    candidate[e.list_id] = e
    _after_change(ctx, scope, candidate)
    lists[e.list_id] = e
    return {"ip_access_list": render(e)}


def get(ctx: Ctx, list_id: str, account_id: str | None = None):
    return {"ip_access_list": render(_lookup(_lists(ctx, _scope(ctx, account_id)), list_id))}


def list_(ctx: Ctx, account_id: str | None = None):
    lists = _lists(ctx, _scope(ctx, account_id))
    return {"ip_access_lists": [render(e) for e in sorted(lists.values(), key=lambda e: e.seq)]}


def _modify(ctx: Ctx, list_id: str, account_id: str | None, replace: bool):
    scope = _scope(ctx, account_id)
    lists = _lists(ctx, scope)
    e = _lookup(lists, list_id)
    body = ctx.body()
    label, list_type, enabled = get_str(body, "label"), body.get("list_type"), get_bool(body, "enabled")
    ips = get_str_list(body, "ip_addresses")
    if replace:
        missing = [k for k, v in (("label", label), ("list_type", list_type), ("enabled", enabled)) if v is None]
        if missing:
            raise errors.invalid_parameter(f"Missing required field(s): {', '.join(missing)}.")
        if ips is None:
            ips = []
    if label is not None and not label:
        raise errors.invalid_parameter("Field 'label' must not be empty.")
    new = IpAccessList(**{**e.__dict__})
    if label is not None:
        new.label = label
    if list_type is not None:
        new.list_type = _validate_type(list_type)
    if enabled is not None:
        new.enabled = enabled
    if ips is not None:
        new.ip_addresses = _validate_ips(ips)
        _check_quota(lists, list_id, new.ip_addresses)
    new.updated_at = now_ms()
    new.updated_by = fixtures.SERVICE_PRINCIPAL_ID
    candidate = dict(lists)
    candidate[list_id] = new
    _after_change(ctx, scope, candidate)
    lists[list_id] = new
    return {"ip_access_list": render(new)}


def replace(ctx: Ctx, list_id: str, account_id: str | None = None):
    return _modify(ctx, list_id, account_id, replace=True)


def update(ctx: Ctx, list_id: str, account_id: str | None = None):
    return _modify(ctx, list_id, account_id, replace=False)


def delete(ctx: Ctx, list_id: str, account_id: str | None = None):
    scope = _scope(ctx, account_id)
    lists = _lists(ctx, scope)
    _lookup(lists, list_id)
    candidate = {k: v for k, v in lists.items() if k != list_id}
    _after_change(ctx, scope, candidate)
    del lists[list_id]
    return {}
