"""SQL warehouses and the SQL Statement Execution API on the workspace host (databricks-sdk 0.162
``w.warehouses`` / ``w.statement_execution``; the wire shapes are the SDK's ``EndpointInfo`` and
``StatementResponse``).

Routes (workspace host, or the account host with ``X-Databricks-Workspace-Id``):
* ``GET /api/2.0/sql/warehouses`` -> ``{"warehouses": [EndpointInfo]}``: one seeded serverless
  warehouse per workspace (``fixtures.WAREHOUSES``, name ``plink-demo-warehouse``, state RUNNING);
  ``GET /api/2.0/sql/warehouses/{id}`` -> EndpointInfo.
* ``POST /api/2.0/sql/statements`` ``{statement, warehouse_id, wait_timeout?, on_wait_timeout?,
  parameters?: [{name, value?, type?}], disposition?: INLINE, format?: JSON_ARRAY, row_limit?,
  catalog?, schema?}`` -> ``StatementResponse``. The statement really runs, at once, in SQLite over
  ``system.access.outbound_network`` / ``inbound_network`` (system_tables.py, which documents the SQL
  subset). Success: ``status.state = SUCCEEDED``, ``manifest`` (format, schema.columns[{name,
  type_text, type_name, position}], total_row_count, total_chunk_count 1, chunks, truncated) and
  ``result`` (chunk 0: ``data_array`` of string-or-null cells, row_count, row_offset). A statement
  the warehouse cannot run answers HTTP 200 with ``status.state = FAILED`` and ``status.error =
  {error_code: BAD_REQUEST, message: "[ERROR_CLASS] ... SQLSTATE: xxxxx"}`` (+ ``status.sql_state``).
  ``wait_timeout = "0s"`` answers ``PENDING`` with only the id (the result is ready for the first GET).
* ``GET /api/2.0/sql/statements/{id}``, ``GET .../{id}/result/chunks/0``, ``POST .../{id}/cancel``.

Request errors (non-200): missing statement / warehouse_id, bad ``wait_timeout`` (``0s`` or
``5s``..``50s``), bad ``on_wait_timeout``, a format other than JSON_ARRAY with INLINE, bad
parameters -> 400 ``INVALID_PARAMETER_VALUE``; unknown warehouse (or another workspace's) -> 404
``RESOURCE_DOES_NOT_EXIST`` (UNCONFIRMED); unknown statement id -> 404; ``EXTERNAL_LINKS`` -> 501
``NOT_IMPLEMENTED`` (not emulated).
"""
import re
import uuid

from . import errors, fixtures
from .context import Ctx
from .system_tables import SqlError, iso, parse_ts

WAIT_RE = re.compile(r"^(\d+)s$")
INT_TYPES = {"INT", "INTEGER", "BIGINT", "LONG", "SMALLINT", "SHORT", "TINYINT", "BYTE"}
FLOAT_TYPES = {"DOUBLE", "FLOAT", "DECIMAL", "REAL"}


# --- warehouses ----------------------------------------------------------------------------------------

def _warehouse_of(ctx: Ctx) -> dict:
    return fixtures.WAREHOUSES[ctx.workspace.workspace_id]


def render_warehouse(ctx: Ctx, wh: dict) -> dict:
    host = ctx.base_url.split("://", 1)[-1].split(":")[0]
    path = f"/sql/1.0/warehouses/{wh['id']}"
    return {
        "id": wh["id"],
        "name": wh["name"],
        "cluster_size": "2X-Small",
        "min_num_clusters": 1,
        "max_num_clusters": 1,
        "auto_stop_mins": 10,
        "creator_name": fixtures.CLIENT_ID,
        "state": "RUNNING",
        "num_clusters": 1,
        "num_active_sessions": 0,
        "enable_photon": True,
        "enable_serverless_compute": True,
        "warehouse_type": "PRO",
        "spot_instance_policy": "COST_OPTIMIZED",
        "channel": {"name": "CHANNEL_NAME_CURRENT"},
        "health": {"status": "HEALTHY"},
        "tags": {},
        "jdbc_url": f"jdbc:spark://{host}:443/default;transportMode=http;ssl=1;AuthMech=3;httpPath={path};",
        "odbc_params": {"hostname": host, "path": path, "protocol": "https", "port": 443},
    }


def list_warehouses(ctx: Ctx):
    return {"warehouses": [render_warehouse(ctx, _warehouse_of(ctx))]}


def get_warehouse(ctx: Ctx, warehouse_id: str):
    wh = _warehouse_of(ctx)
    if warehouse_id != wh["id"]:
        raise errors.not_found(f"SQL warehouse {warehouse_id} does not exist.")
    return render_warehouse(ctx, wh)


# --- statements ----------------------------------------------------------------------------------------

def _param_value(p: dict):
    name = p.get("name")
    if not isinstance(name, str) or not name:
        raise errors.invalid_parameter("Every entry of 'parameters' needs a 'name'.")
    value = p.get("value")
    ptype = (p.get("type") or "STRING").upper()
    if value is None:
        return name, None
    if not isinstance(value, str):
        raise errors.invalid_parameter(f"Parameter '{name}': 'value' must be a string.")
    try:
        if ptype in INT_TYPES:
            return name, int(value)
        if ptype in FLOAT_TYPES:
            return name, float(value)
        if ptype == "BOOLEAN":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return name, int(value.lower() == "true")
        if ptype == "DATE":
            ts = parse_ts(value)
            if ts is None:
                raise ValueError(value)
            return name, ts.date().isoformat()
        if ptype in ("TIMESTAMP", "TIMESTAMP_NTZ"):
            ts = parse_ts(value)
            if ts is None:
                raise ValueError(value)
            return name, iso(ts)
        if ptype in ("STRING", "VARCHAR", "CHAR"):
            return name, value
    except ValueError:
        raise errors.invalid_parameter(
            f"Parameter '{name}': the value '{value}' cannot be cast to {ptype}.") from None
    raise errors.invalid_parameter(f"Parameter '{name}': unsupported type '{ptype}'.")


def _failed(statement_id: str, e: SqlError) -> dict:
    return {"statement_id": statement_id,
            "status": {"state": "FAILED", "sql_state": e.sql_state,
                       "error": {"error_code": e.error_code, "message": e.text}}}


def _succeeded(statement_id: str, columns, data, truncated) -> dict:
    n = len(data)
    result = {"chunk_index": 0, "row_offset": 0, "row_count": n}
    if data:
        result["data_array"] = data
    return {
        "statement_id": statement_id,
        "status": {"state": "SUCCEEDED"},
        "manifest": {
            "format": "JSON_ARRAY",
            "schema": {"column_count": len(columns), "columns": columns},
            "total_row_count": n,
            "total_chunk_count": 1,
            "chunks": [{"chunk_index": 0, "row_offset": 0, "row_count": n}],
            "truncated": truncated,
        },
        "result": result,
    }


def execute(ctx: Ctx):
    body = ctx.body()
    statement = body.get("statement")
    if not isinstance(statement, str) or not statement.strip():
        raise errors.invalid_parameter("Field 'statement' is required.")
    warehouse_id = body.get("warehouse_id")
    if not isinstance(warehouse_id, str) or not warehouse_id:
        raise errors.invalid_parameter("Field 'warehouse_id' is required.")
    wait = body.get("wait_timeout", "10s")
    m = WAIT_RE.match(wait) if isinstance(wait, str) else None
    if not m or not (int(m.group(1)) == 0 or 5 <= int(m.group(1)) <= 50):
        raise errors.invalid_parameter(
            f"wait_timeout must be '0s' or between '5s' and '50s', got '{wait}'.")
    if body.get("on_wait_timeout", "CONTINUE") not in ("CONTINUE", "CANCEL"):
        raise errors.invalid_parameter("on_wait_timeout must be CONTINUE or CANCEL.")
    disposition = body.get("disposition", "INLINE")
    fmt = body.get("format", "JSON_ARRAY")
    if disposition not in ("INLINE", "EXTERNAL_LINKS"):
        raise errors.invalid_parameter(f"Invalid disposition '{disposition}'.")
    if fmt not in ("JSON_ARRAY", "ARROW_STREAM", "CSV"):
        raise errors.invalid_parameter(f"Invalid format '{fmt}'.")
    if disposition == "INLINE" and fmt != "JSON_ARRAY":
        raise errors.invalid_parameter(
            f"The format {fmt} is supported only with the EXTERNAL_LINKS disposition.")
    if disposition == "EXTERNAL_LINKS":
        raise errors.ApiError(501, "NOT_IMPLEMENTED",
                              "The local emulator does not serve EXTERNAL_LINKS results; use INLINE.")
    raw_params = body.get("parameters") or []
    if not isinstance(raw_params, list) or not all(isinstance(p, dict) for p in raw_params):
        raise errors.invalid_parameter("Field 'parameters' must be a list of {name, value, type}.")
    params = dict(_param_value(p) for p in raw_params)
    row_limit = body.get("row_limit")
    if row_limit is not None and (not isinstance(row_limit, int) or isinstance(row_limit, bool) or row_limit < 0):
        raise errors.invalid_parameter("row_limit must be a non-negative integer.")
    wh = _warehouse_of(ctx)
    if warehouse_id != wh["id"]:
        raise errors.not_found(f"SQL warehouse {warehouse_id} does not exist.")

    statement_id = str(uuid.uuid4())
    try:
        columns, data, truncated = ctx.model.system_tables.execute(
            statement, params, ctx.workspace.aws_region, body.get("catalog"), body.get("schema"), row_limit)
        response = _succeeded(statement_id, columns, data, truncated)
    except SqlError as e:
        response = _failed(statement_id, e)
    ctx.model.statements[statement_id] = {"workspace_id": ctx.workspace.workspace_id, "response": response}
    if int(m.group(1)) == 0:
        return {"statement_id": statement_id, "status": {"state": "PENDING"}}
    return response


def _lookup(ctx: Ctx, statement_id: str) -> dict:
    st = ctx.model.statements.get(statement_id)
    if st is None or st["workspace_id"] != ctx.workspace.workspace_id:
        raise errors.not_found(f"Statement {statement_id} does not exist.")
    return st


def get(ctx: Ctx, statement_id: str):
    return _lookup(ctx, statement_id)["response"]


def get_chunk(ctx: Ctx, statement_id: str, chunk_index: str):
    response = _lookup(ctx, statement_id)["response"]
    if response["status"]["state"] != "SUCCEEDED":
        raise errors.invalid_state(f"Statement {statement_id} has no result: it is {response['status']['state']}.")
    if chunk_index != "0":
        raise errors.invalid_parameter(f"Chunk index {chunk_index} is out of range (1 chunk).")
    return response["result"]


def cancel(ctx: Ctx, statement_id: str):
    _lookup(ctx, statement_id)  # statements finish at once: cancelling a finished one is a no-op
    return {}
