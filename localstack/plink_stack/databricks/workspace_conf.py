"""Workspace configuration key/value API on the workspace host (databricks-api.md §6.2).

* ``GET /api/2.0/workspace-conf?keys=k1,k2`` -> ``{"k1": "v1", ...}`` (string values; a known key that
  was never set returns its default, ``null`` if it has none).
* ``PATCH /api/2.0/workspace-conf`` with ``{"k": "v"}`` (string values) -> 204 No Content (choice: the
  Go SDK expects no body; the real status is UNCONFIRMED).
* Unknown keys on either -> 400 ``INVALID_PARAMETER_VALUE`` with message ``Invalid keys: ["a","b"]``
  (the prefix Terraform parses, §6.2). Boolean keys only take ``"true"``/``"false"``.
* Setting ``enableIpAccessLists`` to ``"true"`` is refused with 400 ``INVALID_STATE`` if the current
  lists would block the caller (same rule and same source address as ``ip_access_lists``: header
  ``X-Plink-Source-Ip``, else the TCP peer).
* While the feature is on, this API is itself judged by the IP access lists (``ip_access_lists.enforce``),
  so a blocked source cannot switch it off again.
"""
import json

from . import errors, ip_access_lists
from .context import Ctx

# key -> (default, kind)
KNOWN_KEYS = {
    "enableIpAccessLists": ("false", "bool"),
    "enableTokensConfig": ("true", "bool"),
    "maxTokenLifetimeDays": (None, "int"),
    "enableResultsDownloading": ("true", "bool"),
    "enableNotebookTableClipboard": ("true", "bool"),
    "enableExportNotebook": ("true", "bool"),
    "enableWebTerminal": ("false", "bool"),
    "enableDbfsFileBrowser": ("false", "bool"),
    "enableVerboseAuditLogs": ("false", "bool"),
    "enableDeprecatedGlobalInitScripts": ("false", "bool"),
    "enforceUserIsolation": ("false", "bool"),
    "storeInteractiveNotebookResultsInCustomerAccount": ("false", "bool"),
}


def _invalid_keys(keys) -> None:
    bad = [k for k in keys if k not in KNOWN_KEYS]
    if bad:
        raise errors.invalid_parameter(f"Invalid keys: {json.dumps(bad, separators=(',', ':'))}")


def get(ctx: Ctx):
    raw = ctx.args.get("keys")
    if not raw:
        raise errors.invalid_parameter("Query parameter 'keys' is required.")
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    _invalid_keys(keys)
    conf = ctx.model.workspace_conf.setdefault(ctx.workspace.workspace_id, {})
    return {k: conf.get(k, KNOWN_KEYS[k][0]) for k in keys}


def patch(ctx: Ctx):
    body = ctx.body()
    _invalid_keys(list(body))
    for k, v in body.items():
        kind = KNOWN_KEYS[k][1]
        if not isinstance(v, str):
            raise errors.invalid_parameter(f"Value of '{k}' must be a string.")
        if kind == "bool" and v not in ("true", "false"):
            raise errors.invalid_parameter(f"Invalid value '{v}' for '{k}': must be \"true\" or \"false\".")
        if kind == "int" and v != "" and not v.isdigit():
            raise errors.invalid_parameter(f"Invalid value '{v}' for '{k}': must be a non-negative integer.")
    wid = ctx.workspace.workspace_id
    if body.get("enableIpAccessLists") == "true":
        lists = ctx.model.ip_lists.get(("workspace", wid), {})
        ip_access_lists.check_self_block(ctx, lists.values(), True)
    ctx.model.workspace_conf.setdefault(wid, {}).update(body)
    return 204, None
