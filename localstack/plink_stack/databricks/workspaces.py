"""Account provisioning API, workspaces part: list / get / update (NCC binding).

Reference: databricks-api.md §4 (paths, Workspace fields, update semantics, waiter), §8.1 (50
workspaces per NCC), §10.5 (emulator model).

* ``GET /api/2.0/accounts/{account_id}/workspaces`` -> bare JSON array (§4.2).
* ``GET .../workspaces/{workspace_id}`` -> Workspace; 404 ``RESOURCE_DOES_NOT_EXIST`` if unknown.
* ``PATCH .../workspaces/{workspace_id}[?update_mask=...]`` (§4.1): with a mask, exactly the masked
  fields are applied (a masked field missing from the body means "clear it"); ``*`` masks every
  updatable field; without a mask (legacy form) every non-empty updatable field of the body is applied.
  Updatable here: ``network_connectivity_config_id`` and ``custom_tags``; output-only fields are
  ignored; other updatable-in-reality fields (credentials, storage, network, keys, private access
  settings) are refused with 400 unless unchanged (not modelled).
  NCC rules: it must exist in the account (else 400 ``INVALID_PARAMETER_VALUE``: a bad reference in a
  body, not a missing workspace), be in the workspace's region (400), have fewer than 50 workspaces
  (400 ``QUOTA_EXCEEDED``); once attached it can be switched but never removed (400).
  The response is the full Workspace incl. ``workspace_id``. A change puts the workspace in
  ``PROVISIONING`` for the scaled ``workspace_update`` delay, then ``RUNNING`` (what
  ``wait_get_workspace_running`` polls for); a no-op update leaves it ``RUNNING``. Valid updates never
  yield FAILED/BANNED.
"""
from .. import clock, settings
from . import errors, nccs
from .context import Ctx
from .model import Workspace

MAX_WORKSPACES_PER_NCC = 50
UPDATABLE = ("network_connectivity_config_id", "custom_tags")
OUTPUT_ONLY = ("workspace_id", "account_id", "workspace_status", "workspace_status_message", "creation_time",
               "aws_region", "cloud", "deployment_name", "pricing_tier", "compute_mode",
               "storage_mode", "expected_workspace_status", "location", "azure_workspace_info")
NOT_MODELLED = ("workspace_name", "credentials_id", "storage_configuration_id", "network_id", "private_access_settings_id",
                "managed_services_customer_managed_key_id", "storage_customer_managed_key_id",
                "gcp_managed_network_config", "gke_config", "cloud_resource_container", "network")


def render(ws: Workspace) -> dict:
    out = {
        "workspace_id": ws.workspace_id,
        "workspace_name": ws.workspace_name,
        "deployment_name": ws.deployment_name,
        "account_id": ws.account_id,
        "aws_region": ws.aws_region,
        "cloud": "aws",
        "compute_mode": "HYBRID",
        "pricing_tier": "ENTERPRISE",
        "storage_mode": "CUSTOMER_HOSTED",
        "creation_time": ws.creation_time,
        "credentials_id": ws.credentials_id,
        "storage_configuration_id": ws.storage_configuration_id,
        "workspace_status": ws.workspace_status,
        "workspace_status_message": ws.workspace_status_message,
    }
    if ws.network_connectivity_config_id:
        out["network_connectivity_config_id"] = ws.network_connectivity_config_id
    if ws.custom_tags:
        out["custom_tags"] = dict(ws.custom_tags)
    return out


def parse_workspace_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise errors.invalid_parameter(f"Invalid workspace id '{raw}': must be an integer.") from None
    if value <= 0:
        raise errors.invalid_parameter(f"Invalid workspace id '{raw}'.")
    return value


def lookup(model, account_id: str, workspace_id) -> Workspace:
    wid = parse_workspace_id(str(workspace_id))
    ws = model.workspaces.get(wid)
    if ws is None or ws.account_id != account_id:
        raise errors.not_found(f"Workspace {wid} does not exist.")
    return ws


def list_(ctx: Ctx, account_id: str):
    return [render(w) for w in ctx.model.workspaces.values() if w.account_id == account_id]


def get(ctx: Ctx, account_id: str, workspace_id: str):
    return render(lookup(ctx.model, account_id, workspace_id))


def update(ctx: Ctx, account_id: str, workspace_id: str):
    ws = lookup(ctx.model, account_id, workspace_id)
    body = ctx.body("customer_facing_workspace")
    raw_mask = ctx.args.get("update_mask")
    if raw_mask is not None and raw_mask.strip():
        fields = [f.strip() for f in raw_mask.split(",") if f.strip()]
        if fields == ["*"]:
            fields = list(UPDATABLE)
        changes = {f: body.get(f) for f in fields}
    else:  # legacy form: apply the non-empty fields of the body
        changes = {k: v for k, v in body.items() if v not in (None, "", {}, [])}
    for f in list(changes):
        if f in OUTPUT_ONLY and f not in UPDATABLE:
            del changes[f]  # output-only fields sent back by clients are ignored
        elif f in NOT_MODELLED:
            current = render(ws).get(f)
            if changes[f] in (None, current):
                del changes[f]
            else:
                raise errors.invalid_parameter(f"Updating field '{f}' is not supported by this emulator.")
        elif f not in UPDATABLE:
            raise errors.invalid_parameter(f"Invalid update_mask: unknown field '{f}'.")
    changed = False
    if "network_connectivity_config_id" in changes:
        changed |= _bind_ncc(ctx, ws, changes["network_connectivity_config_id"])
    if "custom_tags" in changes:
        tags = changes["custom_tags"] or {}
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise errors.invalid_parameter("Field 'custom_tags' must be a map of strings.")
        changed |= tags != ws.custom_tags
        ws.custom_tags = dict(tags)
    if changed and settings.delays().workspace_update > 0:
        ws.workspace_status = "PROVISIONING"
        ws.workspace_status_message = "Workspace is being updated."
        ws.provisioning_since = clock.now()
    return render(ws)


def add_extra(model, body) -> list[dict]:
    """``POST /_plink/workspaces`` (control route, Databricks port): workspaces beyond the seed, to
    reach limits the three seeded ones cannot over HTTP (50 workspaces per NCC, §8.1). Body
    ``{"workspaces": [{"workspace_id": int, "aws_region": str, "network_connectivity_config_id": str?}]}``.
    Each is a RUNNING workspace of the seeded account, reached through the account host (no listener
    of its own), bound to the NCC when one is given, as ``PATCH`` would bind it: the NCC exists, is in
    its region and has room. All or nothing; ``ValueError`` (400) names the first bad entry. Gone on
    reset. Returns the workspaces added, rendered."""
    entries = body.get("workspaces") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError('expected {"workspaces": [{"workspace_id": ..., "aws_region": ...}, ...]}')
    ids, room = set(), {}
    for i, e in enumerate(entries):
        wid, region, ncc_id = (e.get("workspace_id"), e.get("aws_region"),
                               e.get("network_connectivity_config_id")) if isinstance(e, dict) else (None,) * 3
        if not isinstance(wid, int) or wid <= 0 or wid in model.workspaces or wid in ids:
            raise ValueError(f"workspaces[{i}].workspace_id: expected a new positive integer, found {wid!r}")
        if not isinstance(region, str) or not region:
            raise ValueError(f"workspaces[{i}].aws_region: expected a region, found {region!r}")
        if ncc_id is not None:
            ncc = model.nccs.get(ncc_id)
            if ncc is None or ncc.region != region:
                raise ValueError(f"workspaces[{i}].network_connectivity_config_id: no NCC {ncc_id!r} in {region}")
            room.setdefault(ncc_id, MAX_WORKSPACES_PER_NCC - len(model.workspaces_bound_to(ncc_id)))
            room[ncc_id] -= 1
            if room[ncc_id] < 0:
                raise ValueError(f"workspaces[{i}]: NCC {ncc_id} would hold more than {MAX_WORKSPACES_PER_NCC} "
                                 "workspaces")
        ids.add(wid)
    out = []
    for e in entries:
        wid = e["workspace_id"]
        ws = model.add_workspace(wid, f"extra-{wid}", f"dbc-extra-{wid}", e["aws_region"])
        ws.network_connectivity_config_id = e.get("network_connectivity_config_id")
        out.append(render(ws))
    return out


def _bind_ncc(ctx: Ctx, ws: Workspace, ncc_id) -> bool:
    """Validate and apply an NCC binding change; returns True if the binding changed."""
    if ncc_id is not None and not isinstance(ncc_id, str):
        raise errors.invalid_parameter("Field 'network_connectivity_config_id' must be a string.")
    if not ncc_id:
        if ws.network_connectivity_config_id:
            raise errors.invalid_parameter(
                f"Network connectivity config cannot be removed from workspace {ws.workspace_id}: once "
                "attached it can only be switched to another network connectivity config in the same region.")
        return False
    ncc = ctx.model.nccs.get(ncc_id)
    if ncc is None or ncc.account_id != ws.account_id:
        raise errors.invalid_parameter(f"Network connectivity config {ncc_id} does not exist.")
    if ncc.region != ws.aws_region:
        raise errors.invalid_parameter(
            f"Network connectivity config {ncc_id} is in region {ncc.region}, but workspace "
            f"{ws.workspace_id} is in region {ws.aws_region}. They must be in the same region.")
    if ws.network_connectivity_config_id == ncc_id:
        return False
    if len(ctx.model.workspaces_bound_to(ncc_id)) >= MAX_WORKSPACES_PER_NCC:
        raise errors.quota_exceeded(
            f"Network connectivity config {ncc_id} is already attached to {MAX_WORKSPACES_PER_NCC} "
            "workspaces (limit).")
    previous = ctx.model.nccs.get(ws.network_connectivity_config_id or "")
    if previous is not None:
        nccs.mark_dependency_gone(previous, "workspaces")
    ws.network_connectivity_config_id = ncc_id
    return True
