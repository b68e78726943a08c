"""Wire-level checks of the Databricks emulator with plain HTTP (what a non-Python client such as
plink sees): OAuth errors, discovery documents, error shape, paging tokens, body forms, statuses.
"""
from pathlib import Path

import requests

from conftest_databricks import wait_for

WS1 = 1111111111111111
WS2 = 2222222222222222
SVC = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"


def assert_error(r, status: int, code: str):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error_code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert body["details"][0]["@type"] == "type.googleapis.com/google.rpc.RequestInfo"
    assert body["details"][0]["request_id"]
    return body


# --- OAuth and discovery ------------------------------------------------------------------------------

def test_token_endpoint_errors(dbx):
    url = f"{dbx.host}/oidc/accounts/{dbx.account_id}/v1/token"
    ok = requests.post(url, data={"grant_type": "client_credentials", "scope": "all-apis"},
                       auth=(dbx.client_id, dbx.client_secret), timeout=10)
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    body = ok.json()
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int) and body["expires_in"] >= 1

    r = requests.post(url, data={"grant_type": "password"}, auth=(dbx.client_id, dbx.client_secret), timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = requests.post(url, data={}, auth=(dbx.client_id, dbx.client_secret), timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = requests.post(url, data={"grant_type": "client_credentials"}, timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = requests.post(url, data={"grant_type": "client_credentials"}, auth=("nobody", "x"), timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client" and r.json()["error_description"]
    other = f"{dbx.host}/oidc/accounts/00000000-0000-0000-0000-000000000001/v1/token"
    r = requests.post(other, data={"grant_type": "client_credentials"}, auth=(dbx.client_id, dbx.client_secret),
                      timeout=10)
    assert r.status_code == 401


def test_discovery_documents(dbx):
    meta = requests.get(dbx.host + "/.well-known/databricks-config", timeout=10).json()
    assert meta["host_type"] == "ACCOUNT_HOST" and meta["cloud"] == "AWS"
    assert meta["oidc_endpoint"] == f"{dbx.host}/oidc/accounts/{{account_id}}"
    oidc = requests.get(f"{dbx.host}/oidc/accounts/{dbx.account_id}/.well-known/oauth-authorization-server",
                        timeout=10).json()
    assert oidc["token_endpoint"] == f"{dbx.host}/oidc/accounts/{dbx.account_id}/v1/token"

    ws_host = dbx.workspaces[WS1]["host"]
    meta = requests.get(ws_host + "/.well-known/databricks-config", timeout=10).json()
    assert meta["host_type"] == "WORKSPACE_HOST" and meta["workspace_id"] == str(WS1)
    assert meta["account_id"] == dbx.account_id
    oidc = requests.get(ws_host + "/oidc/.well-known/oauth-authorization-server", timeout=10).json()
    assert oidc["token_endpoint"] == f"{ws_host}/oidc/v1/token"


def test_fixtures_route(db):
    fx = requests.get(db.host + "/_plink/fixtures", timeout=10).json()
    assert fx["account_id"] == "7f3c1a52-9d4e-4b8a-a6f1-2c5e8d9b0a11" and fx["client_id"] == "plink-demo-sp"
    assert fx["host"] == db.host
    regions = {w["workspace_id"]: w["aws_region"] for w in fx["workspaces"]}
    assert regions == {WS1: "us-east-1", WS2: "us-east-1", 3333333333333333: "us-west-2"}
    for w in fx["workspaces"]:
        assert w["host"].startswith("http://127.0.0.1:")
        assert requests.get(w["host"] + "/.well-known/databricks-config", timeout=10).status_code == 200


# --- auth on APIs -----------------------------------------------------------------------------------------------

def test_api_auth_errors(dbx):
    path = dbx.host + dbx.acc("/network-connectivity-configs")
    assert_error(requests.get(path, timeout=10), 401, "UNAUTHENTICATED")
    assert_error(requests.get(path, headers={"Authorization": "Bearer junk"}, timeout=10), 401, "UNAUTHENTICATED")
    assert_error(requests.get(path, headers={"Authorization": "Basic eDp5"}, timeout=10), 401, "UNAUTHENTICATED")

    acct = dbx.token()["access_token"]
    r = dbx.call("GET", "/api/2.0/accounts/00000000-0000-0000-0000-000000000001/network-connectivity-configs",
                 token=acct)
    assert_error(r, 403, "PERMISSION_DENIED")
    narrow = dbx.token(scope="sql")["access_token"]
    assert_error(dbx.call("GET", dbx.acc("/workspaces"), token=narrow), 403, "PERMISSION_DENIED")

    ws1_host, ws2_host = dbx.workspaces[WS1]["host"], dbx.workspaces[WS2]["host"]
    ws_token = dbx.token(host=ws1_host, workspace=True)["access_token"]
    assert dbx.call("GET", "/api/2.0/ip-access-lists", token=ws_token, host=ws1_host).status_code == 200
    assert_error(dbx.call("GET", "/api/2.0/ip-access-lists", token=ws_token, host=ws2_host), 401, "UNAUTHENTICATED")
    assert_error(dbx.call("GET", dbx.acc("/workspaces"), token=ws_token), 401, "UNAUTHENTICATED")
    # an account token is accepted by the account's workspaces
    assert dbx.call("GET", "/api/2.0/ip-access-lists", token=acct, host=ws2_host).status_code == 200


def test_unknown_routes(dbx):
    assert_error(dbx.call("GET", "/api/2.0/nothing-here"), 404, "ENDPOINT_NOT_FOUND")
    assert_error(dbx.call("PUT", dbx.acc("/network-connectivity-configs")), 404, "ENDPOINT_NOT_FOUND")
    # account APIs are not served on workspace hosts, workspace APIs not on the account host
    assert_error(dbx.call("GET", dbx.acc("/workspaces"), host=dbx.workspaces[WS1]["host"]), 404,
                 "ENDPOINT_NOT_FOUND")
    assert_error(dbx.call("GET", "/api/2.0/ip-access-lists"), 404, "ENDPOINT_NOT_FOUND")


# --- bodies and paging ------------------------------------------------------------------------------------------

def test_body_forms_and_malformed_json(dbx):
    r = dbx.call("POST", dbx.acc("/network-connectivity-configs"),
                 json={"network_connectivity_config": {"name": "wrapped", "region": "us-east-1"}})
    assert r.status_code == 200 and r.json()["name"] == "wrapped"
    r = dbx.call("POST", dbx.acc("/network-connectivity-configs"), data="{not json",
                 headers={"Content-Type": "application/json"})
    assert_error(r, 400, "BAD_REQUEST")
    nid = dbx.call("GET", dbx.acc("/network-connectivity-configs")).json()["items"][0][
        "network_connectivity_config_id"]
    # NCC update is an Azure-only API (databricks-api.md §2.6)
    assert_error(dbx.call("PATCH", dbx.acc(f"/network-connectivity-configs/{nid}?update_mask=name"),
                          json={"name": "renamed"}), 400, "INVALID_PARAMETER_VALUE")


def test_paging_tokens(dbx):
    empty = dbx.call("GET", dbx.acc("/network-connectivity-configs"))
    assert empty.status_code == 200 and empty.json() == {}
    for i in range(3):
        dbx.call("POST", dbx.acc("/network-connectivity-configs"), json={"name": f"page-{i}", "region": "us-east-1"})
    p1 = dbx.call("GET", dbx.acc("/network-connectivity-configs")).json()
    assert [n["name"] for n in p1["items"]] == ["page-0", "page-1"]
    # an object created between pages shows up once, nothing is skipped or repeated
    dbx.call("POST", dbx.acc("/network-connectivity-configs"), json={"name": "page-3", "region": "us-east-1"})
    p2 = dbx.call("GET", dbx.acc("/network-connectivity-configs"), params={"page_token": p1["next_page_token"]}).json()
    assert [n["name"] for n in p2["items"]] == ["page-2", "page-3"] and "next_page_token" not in p2
    assert_error(dbx.call("GET", dbx.acc("/network-connectivity-configs"), params={"page_token": "garbage!"}),
                 400, "INVALID_PARAMETER_VALUE")

    nid = p1["items"][0]["network_connectivity_config_id"]
    rules_path = dbx.acc(f"/network-connectivity-configs/{nid}/private-endpoint-rules")
    for i in range(5):
        dbx.call("POST", rules_path, json={"endpoint_service": SVC, "domain_names": [f"h{i}.example.com"]})
    big = dbx.call("GET", rules_path, params={"page_size": 4}).json()
    assert len(big["items"]) == 4 and big["next_page_token"]
    # a token of one list is not accepted by another
    assert_error(dbx.call("GET", dbx.acc("/network-connectivity-configs"),
                          params={"page_token": big["next_page_token"]}), 400, "INVALID_PARAMETER_VALUE")
    r = requests.post(dbx.host + "/_plink/databricks/config", json={"page_size": 10}, timeout=10)
    assert r.status_code == 200 and r.json() == {"page_size": 10}
    assert len(dbx.call("GET", rules_path).json()["items"]) == 5


# --- rules ----------------------------------------------------------------------------------------------------

def test_rule_wire_details(dbx):
    nid = dbx.call("POST", dbx.acc("/network-connectivity-configs"),
                   json={"name": "wire-rules", "region": "us-east-1"}).json()["network_connectivity_config_id"]
    path = dbx.acc(f"/network-connectivity-configs/{nid}/private-endpoint-rules")
    created = dbx.call("POST", path, json={"endpoint_service": SVC, "domain_names": ["db.example.com"],
                                           "enabled": True}).json()
    assert created["connection_state"] == "CREATING"
    assert "vpc_endpoint_id" not in created and "enabled" not in created  # enabled ignored, S3 only
    assert created["creation_time"] == created["updated_time"]
    rid = created["rule_id"]
    r = dbx.call("PATCH", f"{path}/{rid}", json={"domain_names": ["x.example.com"]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")
    assert r.json()["message"] == "Update mask must be specified"
    r = dbx.call("PATCH", f"{path}/{rid}?update_mask=enabled", json={"enabled": True})
    assert "No updates were attempted" in assert_error(r, 400, "INVALID_PARAMETER_VALUE")["message"]
    # field-mask semantics: masked but absent list -> empty -> invalid for a customer rule
    assert_error(dbx.call("PATCH", f"{path}/{rid}?update_mask=domain_names", json={}), 400,
                 "INVALID_PARAMETER_VALUE")
    deleted = dbx.call("DELETE", f"{path}/{rid}").json()
    assert deleted["deactivated"] is True and deleted["deactivated_at"] >= created["creation_time"]
    again = dbx.call("DELETE", f"{path}/{rid}").json()
    assert again["deactivated_at"] == deleted["deactivated_at"]  # idempotent
    ncc = dbx.call("GET", dbx.acc(f"/network-connectivity-configs/{nid}")).json()
    mirrored = ncc["egress_config"]["target_rules"]["aws_private_endpoint_rules"]
    assert mirrored[0]["rule_id"] == rid and mirrored[0]["deactivated"] is True


def test_aws_principal_per_partition(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    from plink_stack.databricks import principals

    assert principals.principal_arn_for("eu-west-1") == \
        "arn:aws:iam::565502421330:role/private-connectivity-role-eu-west-1"
    assert principals.principal_arn_for("us-gov-west-1") == \
        "arn:aws-us-gov:iam::347038500609:role/private-connectivity-role-us-gov-west-1"
    monkeypatch.setenv("PLINK_STACK_DB_GOVCLOUD", "dod")
    assert principals.principal_arn_for("us-gov-west-1") == \
        "arn:aws-us-gov:iam::347034940029:role/private-connectivity-role-us-gov-west-1"


# --- workspaces and workspace-conf ------------------------------------------------------------------------------

def test_workspace_wire_details(dbx):
    listed = dbx.call("GET", dbx.acc("/workspaces")).json()
    assert isinstance(listed, list) and len(listed) == 3
    ws = dbx.call("GET", dbx.acc(f"/workspaces/{WS1}")).json()
    assert_error(dbx.call("GET", dbx.acc("/workspaces/abc")), 400, "INVALID_PARAMETER_VALUE")
    nid = dbx.call("POST", dbx.acc("/network-connectivity-configs"),
                   json={"name": "wire-ws", "region": "us-east-1"}).json()["network_connectivity_config_id"]
    # a client sending the whole object back (output-only fields included) plus the change
    body = {**ws, "network_connectivity_config_id": nid}
    r = dbx.call("PATCH", dbx.acc(f"/workspaces/{WS1}"), json=body)
    assert r.status_code == 200 and r.json()["network_connectivity_config_id"] == nid
    assert r.json()["workspace_id"] == WS1
    wait_for(lambda: dbx.call("GET", dbx.acc(f"/workspaces/{WS1}")).json()["workspace_status"] == "RUNNING",
             what="workspace RUNNING")
    # same NCC again: a no-op stays RUNNING
    r = dbx.call("PATCH", dbx.acc(f"/workspaces/{WS1}?update_mask=network_connectivity_config_id"),
                 json={"network_connectivity_config_id": nid})
    assert r.json()["workspace_status"] == "RUNNING"
    assert_error(dbx.call("PATCH", dbx.acc(f"/workspaces/{WS1}?update_mask=pricing_tier_x"), json={}), 400,
                 "INVALID_PARAMETER_VALUE")
    assert_error(dbx.call("PATCH", dbx.acc(f"/workspaces/{WS1}?update_mask=*"), json={}), 400,
                 "INVALID_PARAMETER_VALUE")  # '*' with no NCC in the body would clear it
    assert_error(dbx.call("PATCH", dbx.acc("/workspaces/4444444444444444"), json={}), 404,
                 "RESOURCE_DOES_NOT_EXIST")


def test_workspace_conf_wire(dbx):
    host = dbx.workspaces[WS2]["host"]
    tok = dbx.token(host=host, workspace=True)["access_token"]
    r = dbx.call("PATCH", "/api/2.0/workspace-conf", token=tok, host=host, json={"enableIpAccessLists": "true"})
    assert r.status_code == 204 and r.content == b""
    r = dbx.call("PATCH", "/api/2.0/workspace-conf", token=tok, host=host, json={"enableIpAccessLists": "yes"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE")
    r = dbx.call("GET", "/api/2.0/workspace-conf", token=tok, host=host, params={"keys": "a,b"})
    assert assert_error(r, 400, "INVALID_PARAMETER_VALUE")["message"] == 'Invalid keys: ["a","b"]'
    r = dbx.call("GET", "/api/2.0/workspace-conf", token=tok, host=host, params={"keys": "enableIpAccessLists"})
    assert r.json() == {"enableIpAccessLists": "true"}
