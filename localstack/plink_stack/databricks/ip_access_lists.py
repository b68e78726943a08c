"""IP access lists: workspace level (workspace host, ``/api/2.0/ip-access-lists``) and account level
(account host, ``/api/2.0/accounts/{account_id}/ip-access-lists``). databricks-api.md §6.1, §6.3;
seed 003 describes the workspace feature from the user side.

* Create -> ``{"ip_access_list": IpAccessListInfo}``; get -> same; list ->
  ``{"ip_access_lists": [...]}`` (no paging); PUT replace (``label``, ``list_type``, ``enabled``
  required) and PATCH update (any subset) return ``{"ip_access_list": ...}``; DELETE -> ``{}``.
* ``list_type`` ``ALLOW``|``BLOCK`` (case-sensitive); ``ip_addresses`` IPv4 addresses or IPv4 CIDRs
  (host bits allowed, IPv6 refused) -> 400 ``INVALID_PARAMETER_VALUE`` otherwise.
* At most 1000 values across all lists of the scope (one CIDR = one value) -> 400 ``QUOTA_EXCEEDED``.
* Workspace level, once ``enableIpAccessLists`` is ``"true"``: a change after which the caller's own IP
  (127.0.0.1 here) would be blocked is refused with 400 ``INVALID_STATE`` (block lists first; if any
  enabled allow list exists the IP must be in one). Requests themselves are not filtered.
"""
import ipaddress

from . import errors, fixtures
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


def _blocks(entries, ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    active = [e for e in entries if e.enabled]

    def contains(e):
        return any(addr in ipaddress.ip_network(v, strict=False) for v in e.ip_addresses)

    if any(e.list_type == "BLOCK" and contains(e) for e in active):
        return True
    allows = [e for e in active if e.list_type == "ALLOW"]
    return bool(allows) and not any(contains(e) for e in allows)


def check_self_block(ctx: Ctx, entries, enabled: bool) -> None:
    """Refuse a workspace configuration that would lock the caller out (§6.1)."""
    ip = ctx.request.remote_addr or "127.0.0.1"
    try:
        ipaddress.IPv4Address(ip)
    except ValueError:
        return
    if enabled and _blocks(entries, ip):
        raise errors.invalid_state(
            f"Your current IP {ip} will not be allowed to access the workspace under current configuration.")


def _after_change(ctx: Ctx, scope: tuple, lists: dict) -> None:
    if scope[0] == "workspace":
        enabled = ctx.model.workspace_conf.get(scope[1], {}).get("enableIpAccessLists") == "true"
        check_self_block(ctx, lists.values(), enabled)


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
