"""SQL warehouses and the SQL Statement Execution API of the workspace host, with the official client
(databricks-sdk 0.162.0 ``w.warehouses`` / ``w.statement_execution``) and raw HTTP.

Statements really run (SQLite) over ``system.access.outbound_network`` / ``inbound_network``; the
rows come from simulated serverless traffic (``POST /_plink/traffic``) judged against the bound
network policy. See plink_stack/databricks/system_tables.py for the SQL subset.
"""
import datetime as dt

import pytest
import requests
from databricks.sdk.errors import BadRequest, NotFound, NotImplemented as SdkNotImplemented
from databricks.sdk.service import sql

WS_USE1 = 1111111111111111
WS_USE1_B = 2222222222222222
WS_USW2 = 3333333333333333
STATE = sql.StatementState

RESTRICTED_ENFORCED = {"egress": {"network_access": {
    "restriction_mode": "RESTRICTED_ACCESS",
    "allowed_internet_destinations": [{"destination": "pypi.org", "internet_destination_type": "DNS_NAME"}],
    "policy_enforcement": {"enforcement_mode": "ENFORCED"}}}}

BLOCKED_LAST_N_DAYS = """
SELECT workspace_id, destination_type, destination,
       COUNT(*) AS attempts, MIN(event_time) AS first_seen, MAX(event_time) AS last_seen
FROM system.access.outbound_network
WHERE access_type = 'DROP'
  AND event_time >= current_timestamp() - INTERVAL :days DAYS
GROUP BY ALL
ORDER BY attempts DESC, destination
"""


def traffic(db, workspace_id, *destinations, count=1, compute="serverless-notebook", **extra):
    dests = [d if isinstance(d, dict) else ({"type": "STORAGE", "name": d} if d.startswith("s3://")
                                            else {"type": "DNS", "name": d}) for d in destinations]
    r = requests.post(db.host + "/_plink/traffic", json={"workspace_id": workspace_id, "destinations": dests,
                                                         "count": count, "compute": compute, **extra}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def bind(db, workspace_id, policy_id, body):
    r = db.call("POST", db.acc("/network-policies"), json={"network_policy_id": policy_id, **body})
    assert r.status_code == 200, r.text
    r = db.call("PUT", db.acc(f"/workspaces/{workspace_id}/network"), json={"network_policy_id": policy_id})
    assert r.status_code == 200, r.text


def warehouse_id(db, workspace_id):
    return db.fixtures["workspaces"][[w["workspace_id"] for w in db.fixtures["workspaces"]].index(workspace_id)][
        "warehouse_id"]


def test_warehouses_list_and_get(dbx):
    w = dbx.workspace_client(WS_USE1)
    whs = list(w.warehouses.list())
    assert len(whs) == 1
    wh = whs[0]
    assert wh.name == "plink-demo-warehouse" and wh.state == sql.State.RUNNING
    assert wh.id == warehouse_id(dbx, WS_USE1) and wh.enable_serverless_compute
    assert wh.odbc_params.path == f"/sql/1.0/warehouses/{wh.id}"
    assert w.warehouses.get(wh.id).name == "plink-demo-warehouse"
    with pytest.raises(NotFound):
        w.warehouses.get("0000000000000000")
    other = list(dbx.workspace_client(WS_USE1_B).warehouses.list())[0]
    assert other.id != wh.id  # one warehouse per workspace, fixed ids


def test_group_by_over_simulated_traffic_with_parameters(dbx):
    bind(dbx, WS_USE1, "plink-enforced", RESTRICTED_ENFORCED)
    traffic(dbx, WS_USE1, "qiita.com", count=4)
    traffic(dbx, WS_USE1, "kaggle.com", "pypi.org", "s3://plink-demo-data/raw/x.csv", count=2)
    old = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)).isoformat()
    traffic(dbx, WS_USE1, "ancient.example.com", event_time=old)

    w = dbx.workspace_client(WS_USE1)
    res = w.statement_execution.execute_statement(
        BLOCKED_LAST_N_DAYS, warehouse_id(dbx, WS_USE1), wait_timeout="30s",
        disposition=sql.Disposition.INLINE, format=sql.Format.JSON_ARRAY,
        parameters=[sql.StatementParameterListItem(name="days", value="7", type="INT")])
    assert res.status.state == STATE.SUCCEEDED, res.status
    cols = res.manifest.schema.columns
    assert [c.name for c in cols] == ["workspace_id", "destination_type", "destination", "attempts",
                                      "first_seen", "last_seen"]
    assert [c.type_name for c in cols] == [sql.ColumnInfoTypeName.STRING] * 3 + [
        sql.ColumnInfoTypeName.LONG, sql.ColumnInfoTypeName.TIMESTAMP, sql.ColumnInfoTypeName.TIMESTAMP]
    assert [c.position for c in cols] == list(range(6))
    rows = res.result.data_array
    assert [r[:4] for r in rows] == [
        [str(WS_USE1), "DNS", "qiita.com", "4"],
        [str(WS_USE1), "DNS", "kaggle.com", "2"],
        [str(WS_USE1), "STORAGE", "s3://plink-demo-data/raw/x.csv", "2"],
    ]  # pypi.org is allowed: not logged; ancient.example.com is older than 7 days
    assert all(isinstance(v, str) for r in rows for v in r)
    assert rows[0][4] <= rows[0][5] and rows[0][4].endswith("Z")
    assert res.manifest.total_row_count == 3 and res.result.row_count == 3

    # the same question over 60 days sees the old event; a STRING parameter for the workspace
    res = w.statement_execution.execute_statement(
        "SELECT destination, count(*) AS n FROM system.access.outbound_network "
        "WHERE workspace_id = :ws AND event_time > date_sub(current_date(), :days) GROUP BY destination "
        "ORDER BY destination", warehouse_id(dbx, WS_USE1), wait_timeout="30s",
        parameters=[sql.StatementParameterListItem(name="ws", value=str(WS_USE1)),
                    sql.StatementParameterListItem(name="days", value="60", type="INT")])
    assert res.result.data_array == [["ancient.example.com", "1"], ["kaggle.com", "2"], ["qiita.com", "4"],
                                     ["s3://plink-demo-data/raw/x.csv", "2"]]

    # the seed's query (GROUP BY ALL) and struct fields
    res = w.statement_execution.execute_statement(
        "SELECT destination_type, destination, COUNT(*) AS destination_count FROM system.access.outbound_network "
        "GROUP BY ALL;", warehouse_id(dbx, WS_USE1))
    assert sorted(map(tuple, res.result.data_array))[0] == ("DNS", "ancient.example.com", "1")
    res = w.statement_execution.execute_statement(
        "SELECT DISTINCT dns_event.domain_name, dns_event.rcode, storage_event.hostname, storage_event.rejection_reason "
        "FROM system.access.outbound_network WHERE destination_type = 'STORAGE'", warehouse_id(dbx, WS_USE1))
    assert res.result.data_array == [[None, None, "s3://plink-demo-data", "storage-bucket-path-denied"]]
    assert [c.name for c in res.manifest.schema.columns] == ["domain_name", "rcode", "hostname",
                                                             "rejection_reason"]


def test_system_tables_are_regional_and_structs_render_as_json(dbx):
    bind(dbx, WS_USE1, "use1", RESTRICTED_ENFORCED)
    r = dbx.call("PUT", dbx.acc(f"/workspaces/{WS_USW2}/network"), json={"network_policy_id": "use1"})
    assert r.status_code == 200
    traffic(dbx, WS_USE1, "east.example.com")
    traffic(dbx, WS_USW2, "west.example.com")
    q = "SELECT workspace_id, destination, dns_event, storage_event FROM system.access.outbound_network"
    east = dbx.workspace_client(WS_USE1_B).statement_execution.execute_statement(q, warehouse_id(dbx, WS_USE1_B))
    assert east.result.data_array == [[str(WS_USE1), "east.example.com",
                                       '{"domain_name":"east.example.com","rcode":3}', None]]
    assert east.manifest.schema.columns[2].type_name == sql.ColumnInfoTypeName.STRUCT
    west = dbx.workspace_client(WS_USW2).statement_execution.execute_statement(q, warehouse_id(dbx, WS_USW2))
    assert [r[1] for r in west.result.data_array] == ["west.example.com"]


def test_failed_statements_unknown_warehouse_and_request_errors(dbx):
    w = dbx.workspace_client(WS_USE1)
    wid = warehouse_id(dbx, WS_USE1)
    res = w.statement_execution.execute_statement("SELECT destination FORM system.access.outbound_network", wid)
    assert res.status.state == STATE.FAILED
    assert res.status.error.error_code == sql.ServiceErrorCode.BAD_REQUEST
    assert res.status.error.message.startswith("[PARSE_SYNTAX_ERROR]") and "SQLSTATE: 42601" in res.status.error.message
    assert res.status.sql_state == "42601" and res.result is None and res.manifest is None
    assert w.statement_execution.get_statement(res.statement_id).status.state == STATE.FAILED

    for stmt, error_class in (
            ("SELECT * FROM system.access.audit", "[TABLE_OR_VIEW_NOT_FOUND]"),
            ("SELECT * FROM outbound_network", "[TABLE_OR_VIEW_NOT_FOUND]"),  # no default catalog/schema
            ("SELECT nope FROM system.access.outbound_network", "[UNRESOLVED_COLUMN"),
            ("SELECT * FROM system.access.outbound_network WHERE workspace_id = :ws", "[UNBOUND_SQL_PARAMETER]"),
            ("SELECT frobnicate(destination) FROM system.access.outbound_network", "[UNRESOLVED_ROUTINE]"),
            ("DELETE FROM system.access.outbound_network", "[UNSUPPORTED_FEATURE")):
        res = w.statement_execution.execute_statement(stmt, wid)
        assert res.status.state == STATE.FAILED and res.status.error.message.startswith(error_class), (stmt, res)

    with pytest.raises(NotFound):
        w.statement_execution.execute_statement("SELECT 1", "ffffffffffffffff")
    with pytest.raises(NotFound):  # another workspace's warehouse
        w.statement_execution.execute_statement("SELECT 1", warehouse_id(dbx, WS_USE1_B))
    with pytest.raises(BadRequest, match="wait_timeout"):
        w.statement_execution.execute_statement("SELECT 1", wid, wait_timeout="3s")
    with pytest.raises(BadRequest, match="EXTERNAL_LINKS"):
        w.statement_execution.execute_statement("SELECT 1", wid, format=sql.Format.CSV)
    with pytest.raises(SdkNotImplemented):
        w.statement_execution.execute_statement("SELECT 1", wid, disposition=sql.Disposition.EXTERNAL_LINKS)
    with pytest.raises(BadRequest, match="cannot be cast"):
        w.statement_execution.execute_statement(
            "SELECT :n", wid, parameters=[sql.StatementParameterListItem(name="n", value="x", type="INT")])
    with pytest.raises(NotFound):
        w.statement_execution.get_statement("01ef0000-0000-0000-0000-000000000000")


def test_async_mode_row_limit_and_raw_wire_shape(dbx):
    bind(dbx, WS_USE1, "plink-enforced", RESTRICTED_ENFORCED)
    traffic(dbx, WS_USE1, "a.example.com", "b.example.com", "c.example.com")
    w = dbx.workspace_client(WS_USE1)
    wid = warehouse_id(dbx, WS_USE1)
    pending = w.statement_execution.execute_statement(
        "SELECT destination FROM system.access.outbound_network ORDER BY destination", wid, wait_timeout="0s")
    assert pending.status.state == STATE.PENDING and pending.result is None
    done = w.statement_execution.get_statement(pending.statement_id)
    assert done.status.state == STATE.SUCCEEDED
    assert done.result.data_array == [["a.example.com"], ["b.example.com"], ["c.example.com"]]
    assert w.statement_execution.get_statement_result_chunk_n(pending.statement_id, 0).row_count == 3
    w.statement_execution.cancel_execution(pending.statement_id)  # finished already: no-op

    # catalog / schema make the short names resolve
    short = w.statement_execution.execute_statement(
        "SELECT count(*) FROM outbound_network", wid, catalog="system", schema="access")
    assert short.result.data_array == [["3"]]
    short = w.statement_execution.execute_statement("SELECT count(*) FROM access.inbound_network", wid,
                                                    catalog="system")
    assert short.result.data_array == [["0"]]

    limited = w.statement_execution.execute_statement(
        "SELECT destination FROM system.access.outbound_network ORDER BY destination", wid, row_limit=2)
    assert limited.manifest.truncated and limited.result.data_array == [["a.example.com"], ["b.example.com"]]

    host = dbx.workspaces[WS_USE1]["host"]
    token = dbx.token(host=host, workspace=True)["access_token"]
    r = dbx.call("POST", "/api/2.0/sql/statements", token=token, host=host, json={
        "statement": "SELECT count(*), max(event_time) AS last, NULL AS nothing FROM system.access.outbound_network "
                     "WHERE destination ILIKE :p",
        "warehouse_id": wid, "wait_timeout": "30s", "disposition": "INLINE", "format": "JSON_ARRAY",
        "parameters": [{"name": "p", "value": "A.EXAMPLE.%"}]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"statement_id", "status", "manifest", "result"}
    assert body["status"] == {"state": "SUCCEEDED"}
    assert body["manifest"]["format"] == "JSON_ARRAY" and body["manifest"]["total_chunk_count"] == 1
    assert [c["name"] for c in body["manifest"]["schema"]["columns"]] == ["count(1)", "last", "nothing"]
    assert body["manifest"]["schema"]["columns"][0] == {"name": "count(1)", "type_text": "BIGINT",
                                                         "type_name": "LONG", "position": 0}
    assert body["result"]["data_array"][0][0] == "1" and body["result"]["data_array"][0][2] is None

    # workspace API through the account host (unified host style) works too
    r = dbx.call("GET", f"/api/2.0/sql/statements/{body['statement_id']}",
                 headers={"X-Databricks-Workspace-Id": str(WS_USE1)})
    assert r.status_code == 200 and r.json()["statement_id"] == body["statement_id"]
    # statements belong to their workspace
    host_b = dbx.workspaces[WS_USE1_B]["host"]
    r = dbx.call("GET", f"/api/2.0/sql/statements/{body['statement_id']}", host=host_b,
                 token=dbx.token(host=host_b, workspace=True)["access_token"])
    assert r.status_code == 404 and r.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
