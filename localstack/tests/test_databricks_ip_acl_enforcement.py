"""Workspace IP access lists enforced on the emulator's own workspace API (issue #12 item 6;
databricks-api.md §6.1, field-update-2026-12.md §2.4).

With ``enableIpAccessLists = "true"`` every authenticated workspace-API request (workspace host, or account
host + ``X-Databricks-Workspace-Id``) is judged against the workspace's enabled lists: block lists first,
then, if an enabled allow list exists, the source must be in one. Source = header ``X-Plink-Source-Ip``,
else the TCP peer (127.0.0.1 for the SDK). Blocked -> 403 ``PERMISSION_DENIED``. Not judged: discovery,
OIDC, account APIs, control routes. Evaluated before context-based ingress; a block by either blocks.
"""
import pytest
import requests
from databricks.sdk.errors import PermissionDenied
from databricks.sdk.service import settings as st
from databricks.sdk.service import sql

WS = 1111111111111111
WS_B = 2222222222222222          # same region as WS (us-east-1): reads WS's system-table rows
SRC = "X-Plink-Source-Ip"
OFFICE = "10.1.1.1"              # inside the 10.0.0.0/8 allow list used below
OUTSIDE = "203.0.113.7"
WAREHOUSES = "/api/2.0/sql/warehouses"
LISTS = "/api/2.0/ip-access-lists"
CONF = "/api/2.0/workspace-conf"


class Ws:
    """Raw HTTP on one workspace host, with a workspace token and a chosen source address."""

    def __init__(self, dbx, workspace_id=WS):
        self.dbx = dbx
        self.workspace_id = workspace_id
        self.host = dbx.workspaces[workspace_id]["host"]
        self.token = dbx.token(host=self.host, workspace=True)["access_token"]

    def call(self, method, path, src=None, token=None, **kw):
        headers = {**({SRC: src} if src else {}), **kw.pop("headers", {})}
        return self.dbx.call(method, path, token=token or self.token, host=self.host, headers=headers, **kw)

    def status(self, src=None, **kw) -> int:
        return self.call("GET", WAREHOUSES, src=src, **kw).status_code

    def create_list(self, label, list_type, ips, src=OFFICE) -> str:
        r = self.call("POST", LISTS, src=src, json={"label": label, "list_type": list_type, "ip_addresses": ips})
        assert r.status_code == 200, r.text
        return r.json()["ip_access_list"]["list_id"]

    def feature(self, on: bool, src=OFFICE):
        return self.call("PATCH", CONF, src=src, json={"enableIpAccessLists": "true" if on else "false"})

    def enable(self, src=OFFICE) -> None:
        r = self.feature(True, src=src)
        assert r.status_code == 204, r.text


def assert_blocked(r, ip, workspace_id=WS):
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["error_code"] == "PERMISSION_DENIED"
    assert body["message"] == f"Source IP address: {ip} is blocked by Databricks IP ACL for workspace: {workspace_id}"
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.RequestInfo"
    assert body["details"][0]["request_id"] == r.headers["x-request-id"]
    return body


def inbound_rows(dbx, workspace_id=WS):
    w = dbx.workspace_client(WS_B)
    wid = next(x["warehouse_id"] for x in dbx.fixtures["workspaces"] if x["workspace_id"] == WS_B)
    res = w.statement_execution.execute_statement(
        "SELECT network_source.ip_address, access_type FROM system.access.inbound_network "
        "WHERE workspace_id = :ws ORDER BY 1", wid, wait_timeout="30s",
        parameters=[sql.StatementParameterListItem(name="ws", value=str(workspace_id))])
    assert res.status.state == sql.StatementState.SUCCEEDED, res.status
    return res.result.data_array or []


# --- feature switch ---------------------------------------------------------------------------------------------

def test_feature_off_nothing_is_enforced(dbx):
    ws = Ws(dbx)
    ws.create_list("office", "ALLOW", ["10.0.0.0/8"])
    ws.create_list("block-loopback", "BLOCK", ["127.0.0.0/8", "203.0.113.0/24"])
    assert ws.status(OUTSIDE) == 200
    assert ws.status() == 200  # TCP peer 127.0.0.1, in a block list, but the feature is off
    assert list(dbx.workspace_client(WS).warehouses.list())
    # on -> enforced; off again -> nothing enforced
    ws.enable()
    assert_blocked(ws.call("GET", WAREHOUSES, src=OUTSIDE), OUTSIDE)
    assert_blocked(ws.call("GET", WAREHOUSES), "127.0.0.1")
    assert ws.status("10.2.3.4") == 200
    assert ws.feature(False).status_code == 204
    assert ws.status(OUTSIDE) == 200 and ws.status() == 200


# --- allow / block semantics ------------------------------------------------------------------------------------

def test_allow_list_inside_allowed_outside_403_and_the_acl_apis_are_judged_too(dbx):
    ws = Ws(dbx)
    ws.create_list("office", "ALLOW", ["10.0.0.0/8"])
    ws.enable()
    assert ws.status(OFFICE) == 200
    body = assert_blocked(ws.call("GET", WAREHOUSES, src=OUTSIDE), OUTSIDE)
    assert set(body) == {"error_code", "message", "details"}

    # the SDK comes from 127.0.0.1: a real lock-out, surfaced as PermissionDenied
    w = dbx.workspace_client(WS)
    with pytest.raises(PermissionDenied, match=r"^Source IP address: 127\.0\.0\.1 is blocked by Databricks IP ACL "
                                               r"for workspace: 1111111111111111\b"):
        list(w.warehouses.list())

    # the IP access list and workspace-conf APIs are workspace APIs: judged, so a locked-out source
    # cannot undo its own lock-out
    assert_blocked(ws.call("GET", LISTS, src=OUTSIDE), OUTSIDE)
    assert_blocked(ws.call("POST", LISTS, src=OUTSIDE, json={"label": "me", "list_type": "ALLOW",
                                                             "ip_addresses": [OUTSIDE]}), OUTSIDE)
    assert_blocked(ws.feature(False, src=OUTSIDE), OUTSIDE)
    assert_blocked(ws.call("GET", CONF, src=OUTSIDE, params={"keys": "enableIpAccessLists"}), OUTSIDE)
    with pytest.raises(PermissionDenied):
        w.workspace_conf.set_status({"enableIpAccessLists": "false"})
    assert [l["label"] for l in ws.call("GET", LISTS, src=OFFICE).json()["ip_access_lists"]] == ["office"]

    # discovery and the token endpoint are not judged: a blocked client gets a token, then the 403
    r = requests.get(ws.host + "/.well-known/databricks-config", headers={SRC: OUTSIDE}, timeout=10)
    assert r.status_code == 200
    r = requests.get(ws.host + "/oidc/.well-known/oauth-authorization-server", headers={SRC: OUTSIDE}, timeout=10)
    assert r.status_code == 200
    r = requests.post(ws.host + "/oidc/v1/token", headers={SRC: OUTSIDE}, timeout=10,
                      data={"grant_type": "client_credentials", "scope": "all-apis"},
                      auth=(dbx.client_id, dbx.client_secret))
    assert r.status_code == 200
    assert_blocked(ws.call("GET", WAREHOUSES, src=OUTSIDE, token=r.json()["access_token"]), OUTSIDE)

    # other workspaces are unaffected; IP ACL denials are not in inbound_network
    assert Ws(dbx, WS_B).status(OUTSIDE) == 200
    assert inbound_rows(dbx) == []

    # undo from an allowed address
    assert ws.feature(False, src=OFFICE).status_code == 204
    assert ws.status(OUTSIDE) == 200 and list(w.warehouses.list())


def test_block_list_beats_allow_list_and_block_only(dbx):
    ws = Ws(dbx)
    office = ws.create_list("office", "ALLOW", ["10.0.0.0/8"])
    ws.create_list("lab", "BLOCK", ["10.9.0.0/16"])
    ws.enable()
    assert ws.status("10.8.255.255") == 200
    assert_blocked(ws.call("GET", WAREHOUSES, src="10.9.0.1"), "10.9.0.1")
    assert_blocked(ws.call("GET", WAREHOUSES, src=OUTSIDE), OUTSIDE)
    # block lists only: everything not blocked is allowed
    assert ws.call("DELETE", f"{LISTS}/{office}", src=OFFICE).status_code == 200
    assert ws.status(OUTSIDE) == 200 and ws.status() == 200
    assert_blocked(ws.call("GET", WAREHOUSES, src="10.9.200.3"), "10.9.200.3")


def test_disabled_lists_are_ignored(dbx):
    ws = Ws(dbx)
    office = ws.create_list("office", "ALLOW", ["10.0.0.0/8"])
    block = ws.create_list("bad-net", "BLOCK", ["203.0.113.0/24"])
    for list_id in (office, block):
        r = ws.call("PATCH", f"{LISTS}/{list_id}", src=OFFICE, json={"enabled": False})
        assert r.status_code == 200 and r.json()["ip_access_list"]["enabled"] is False
    ws.enable(src=OUTSIDE)  # nothing enabled: nobody is locked out
    assert ws.status(OUTSIDE) == 200 and ws.status("198.51.100.1") == 200 and ws.status() == 200

    # re-enabling the allow list from outside it would lock the caller out -> 400; from inside it works
    r = ws.call("PATCH", f"{LISTS}/{office}", src=OUTSIDE, json={"enabled": True})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_STATE", r.text
    r = ws.call("PATCH", f"{LISTS}/{office}", src=OFFICE, json={"enabled": True})
    assert r.status_code == 200, r.text
    assert_blocked(ws.call("GET", WAREHOUSES, src="198.51.100.1"), "198.51.100.1")
    assert ws.status(OFFICE) == 200
    # an allow list that is in the 'disabled' state again lets everyone back in
    r = ws.call("PUT", f"{LISTS}/{office}", src=OFFICE,
                json={"label": "office", "list_type": "ALLOW", "enabled": False, "ip_addresses": ["10.0.0.0/8"]})
    assert r.status_code == 200, r.text
    assert ws.status("198.51.100.1") == 200


def test_cidr_edges(dbx):
    ws = Ws(dbx)
    ws.create_list("net", "ALLOW", ["192.0.2.0/24", "198.51.100.7", "10.0.0.0/8"])
    ws.create_list("host-bits", "ALLOW", ["172.16.5.77/30"])  # host bits allowed: 172.16.5.76-79
    ws.enable()
    for inside in ("192.0.2.0", "192.0.2.255", "198.51.100.7", "172.16.5.76", "172.16.5.79"):
        assert ws.status(inside) == 200, inside
    for outside in ("192.0.3.0", "192.0.1.255", "198.51.100.8", "198.51.100.6", "172.16.5.80", "172.16.5.75"):
        assert_blocked(ws.call("GET", WAREHOUSES, src=outside), outside)
    # an address that does not parse, or IPv6, is in no list
    assert_blocked(ws.call("GET", WAREHOUSES, src="not-an-ip"), "not-an-ip")
    assert_blocked(ws.call("GET", WAREHOUSES, src="2001:db8::1"), "2001:db8::1")


# --- what is not judged -----------------------------------------------------------------------------------------

def test_account_api_and_control_routes_work_for_a_blocked_source(dbx):
    ws = Ws(dbx)
    ws.create_list("office", "ALLOW", ["10.0.0.0/8"])
    ws.enable()
    acct = dbx.token()["access_token"]
    # the account host, from the blocked source
    assert dbx.call("GET", dbx.acc("/workspaces"), token=acct, headers={SRC: OUTSIDE}).status_code == 200
    assert dbx.call("GET", dbx.acc("/ip-access-lists"), token=acct, headers={SRC: OUTSIDE}).status_code == 200
    r = dbx.call("GET", dbx.acc(f"/workspaces/{WS}/network"), token=acct, headers={SRC: OUTSIDE})
    assert r.status_code == 200, r.text
    assert requests.get(dbx.host + "/_plink/fixtures", headers={SRC: OUTSIDE}, timeout=10).status_code == 200
    r = requests.post(dbx.host + "/_plink/traffic", headers={SRC: OUTSIDE}, timeout=10,
                      json={"workspace_id": WS, "destinations": [{"type": "DNS", "name": "pypi.org"}]})
    assert r.status_code == 200, r.text
    # the SDK's AccountClient (127.0.0.1, blocked on the workspace) is unaffected
    a = dbx.account_client()
    assert {w.workspace_id for w in a.workspaces.list()} >= {WS}
    with pytest.raises(PermissionDenied):
        list(dbx.workspace_client(WS).warehouses.list())
    # an unauthenticated request is answered 401 before any IP judgement
    r = requests.get(ws.host + WAREHOUSES, headers={SRC: OUTSIDE}, timeout=10)
    assert r.status_code == 401


# --- the caller lock-out check uses the same source address -------------------------------------------------------

def test_caller_lockout_check_uses_the_source_header(dbx):
    ws = Ws(dbx)
    ws.create_list("office", "ALLOW", ["10.0.0.0/8"])
    # enabling the feature: judged for the header address, else the peer
    r = ws.feature(True, src=OUTSIDE)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_STATE", r.text
    assert r.json()["message"] == (f"Your current IP {OUTSIDE} will not be allowed to access the workspace "
                                   "under current configuration.")
    r = ws.feature(True, src=None)  # no header: the TCP peer 127.0.0.1
    assert r.status_code == 400 and "127.0.0.1" in r.json()["message"], r.text
    ws.enable(src=OFFICE)

    # a list change that would block the caller's (header) address is refused ...
    r = ws.call("POST", LISTS, src=OFFICE, json={"label": "me", "list_type": "BLOCK", "ip_addresses": ["10.1.0.0/16"]})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_STATE", r.text
    assert OFFICE in r.json()["message"]
    # ... but allowed from another inside address, after which the first one is really blocked
    lab = ws.create_list("me", "BLOCK", ["10.1.0.0/16"], src="10.2.2.2")
    assert_blocked(ws.call("GET", WAREHOUSES, src=OFFICE), OFFICE)
    assert ws.status("10.2.2.2") == 200
    # replacing the allow list by one that no longer holds the caller is refused too
    office = ws.call("GET", LISTS, src="10.2.2.2").json()["ip_access_lists"][0]["list_id"]
    r = ws.call("PUT", f"{LISTS}/{office}", src="10.2.2.2",
                json={"label": "office", "list_type": "ALLOW", "enabled": True, "ip_addresses": ["192.0.2.0/24"]})
    assert r.status_code == 400 and "10.2.2.2" in r.json()["message"], r.text
    assert ws.call("DELETE", f"{LISTS}/{lab}", src="10.2.2.2").status_code == 200
    assert ws.status(OFFICE) == 200


# --- both kinds of token, both addressings ------------------------------------------------------------------------

def test_workspace_token_and_account_token_are_both_judged(dbx):
    ws = Ws(dbx)
    ws.create_list("office", "ALLOW", ["10.0.0.0/8"])
    ws.enable()
    acct = dbx.token()["access_token"]
    unified = {"X-Databricks-Workspace-Id": str(WS)}
    # workspace token on the workspace host; account token on the workspace host; account token on the
    # account host with X-Databricks-Workspace-Id
    cases = [(ws.host, ws.token, {}), (ws.host, acct, {}), (dbx.host, acct, unified)]
    for host, token, extra in cases:
        r = dbx.call("GET", WAREHOUSES, token=token, host=host, headers={SRC: OUTSIDE, **extra})
        assert_blocked(r, OUTSIDE)
        r = dbx.call("GET", WAREHOUSES, token=token, host=host, headers={SRC: OFFICE, **extra})
        assert r.status_code == 200, r.text
    # the SDK both ways (127.0.0.1)
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.config import Config

    via_account_host = WorkspaceClient(config=Config(
        host=dbx.host, account_id=dbx.account_id, workspace_id=str(WS), client_id=dbx.client_id,
        client_secret=dbx.client_secret, retry_timeout_seconds=20))
    for w in (dbx.workspace_client(WS), via_account_host):
        with pytest.raises(PermissionDenied, match="blocked by Databricks IP ACL for workspace: 1111111111111111"):
            w.ip_access_lists.list()


# --- together with context-based ingress --------------------------------------------------------------------------

def test_ip_acl_first_then_ingress_a_block_by_either_blocks(dbx):
    # ingress: API only from 10.0.0.0/8
    body = {"network_policy_id": "office-only", "egress": {"network_access": {"restriction_mode": "FULL_ACCESS"}},
            "ingress": {"public_access": {"restriction_mode": "RESTRICTED_ACCESS", "allow_rules": [{
                "label": "office", "origin": {"included_ip_ranges": {"ip_ranges": ["10.0.0.0/8"]}},
                "destination": {"workspace_api": {}}}]}}}
    assert dbx.call("POST", dbx.acc("/network-policies"), json=body).status_code == 200
    ws = Ws(dbx)
    ws.create_list("office-and-partner", "ALLOW", ["10.1.0.0/16", "192.0.2.0/24"])
    ws.enable()
    r = dbx.call("PUT", dbx.acc(f"/workspaces/{WS}/network"), json={"network_policy_id": "office-only"})
    assert r.status_code == 200, r.text

    assert ws.status(OFFICE) == 200                                   # allowed by both
    r = ws.call("GET", WAREHOUSES, src="192.0.2.5")                  # IP ACL yes, ingress no
    assert r.status_code == 403 and "context-based ingress" in r.json()["message"], r.text
    r = ws.call("GET", WAREHOUSES, src="10.2.2.2")                   # ingress yes, IP ACL no
    assert_blocked(r, "10.2.2.2")
    assert_blocked(ws.call("GET", WAREHOUSES, src=OUTSIDE), OUTSIDE)  # both no: IP ACL answers first
    # only the ingress denial reached ingress and was logged
    assert inbound_rows(dbx) == [["192.0.2.5", "DENIED"]]
