"""Limits that the seeded account is too small to reach over HTTP (50 workspaces per NCC, §8.1),
checked in-process on the WSGI app with extra workspaces added to a private copy of the model state.
The running stack (a separate process) is not touched.
"""
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from werkzeug.test import Client  # noqa: E402

from plink_stack.databricks import app, fixtures  # noqa: E402
from plink_stack.databricks.model import MODEL  # noqa: E402

ACC = f"/api/2.0/accounts/{fixtures.ACCOUNT_ID}"


@pytest.fixture
def client():
    app.reset()
    c = Client(app._app)  # the ticker thread is not needed here
    tok = c.post(f"/oidc/accounts/{fixtures.ACCOUNT_ID}/v1/token",
                 data={"grant_type": "client_credentials", "scope": "all-apis"},
                 auth=(fixtures.CLIENT_ID, fixtures.CLIENT_SECRET)).json["access_token"]
    yield c, {"Authorization": f"Bearer {tok}"}
    app.reset()


def test_fifty_workspaces_per_ncc(client):
    c, h = client
    template = MODEL.workspaces[1111111111111111]
    for i in range(51):
        wid = 5000000000000000 + i
        MODEL.workspaces[wid] = replace(template, workspace_id=wid, workspace_name=f"extra-{i}")
    nid = c.post(f"{ACC}/network-connectivity-configs", json={"name": "big", "region": "us-east-1"},
                 headers=h).json["network_connectivity_config_id"]
    for i in range(50):
        r = c.patch(f"{ACC}/workspaces/{5000000000000000 + i}?update_mask=network_connectivity_config_id",
                    json={"network_connectivity_config_id": nid}, headers=h)
        assert r.status_code == 200, r.json
    r = c.patch(f"{ACC}/workspaces/{5000000000000050}?update_mask=network_connectivity_config_id",
                json={"network_connectivity_config_id": nid}, headers=h)
    assert r.status_code == 400 and r.json["error_code"] == "QUOTA_EXCEEDED"
    # re-binding a workspace that is already attached is not a new attachment
    r = c.patch(f"{ACC}/workspaces/{5000000000000000}", json={"network_connectivity_config_id": nid}, headers=h)
    assert r.status_code == 200


def test_ncc_delete_takes_deactivated_rules_and_their_endpoints(client):
    c, h = client
    nid = c.post(f"{ACC}/network-connectivity-configs", json={"name": "gone", "region": "us-east-1"},
                 headers=h).json["network_connectivity_config_id"]
    rules = f"{ACC}/network-connectivity-configs/{nid}/private-endpoint-rules"
    rid = c.post(rules, json={"endpoint_service": "com.amazonaws.vpce.us-east-1.vpce-svc-0abc",
                              "domain_names": ["a.example.com"]}, headers=h).json["rule_id"]
    rule = MODEL.rules[rid]
    rule.connection_state, rule.vpc_endpoint_id, rule.endpoint_live = "ESTABLISHED", "vpce-0123456789abcdef0", True
    rule.endpoint_owner = "565502421330"
    assert c.delete(f"{rules}/{rid}", headers=h).json["deactivated"] is True
    assert MODEL.endpoint_deletions == []  # established: the endpoint stays until the purge
    MODEL.nccs[nid].settle_since = None  # skip the eventual-consistency window
    assert c.delete(f"{ACC}/network-connectivity-configs/{nid}", headers=h).status_code == 200
    assert rid not in MODEL.rules
    assert [d.vpc_endpoint_id for d in MODEL.endpoint_deletions] == ["vpce-0123456789abcdef0"]


def test_extra_workspaces_reach_the_ncc_limit_over_http(client):
    """``POST /_plink/workspaces`` (CONTRACT.md): 50 workspaces bound to one NCC, so that a client's
    check of the limit can be tested against the running stack; checked as PATCH checks a binding."""
    c, h = client
    nid = c.post(f"{ACC}/network-connectivity-configs", json={"name": "full", "region": "us-east-1"},
                 headers=h).json["network_connectivity_config_id"]
    extra = [{"workspace_id": 6000000000000000 + i, "aws_region": "us-east-1",
              "network_connectivity_config_id": nid} for i in range(50)]
    r = c.post("/_plink/workspaces", json={"workspaces": extra})
    assert r.status_code == 200 and len(r.json["workspaces"]) == 50, r.json
    listed = c.get(f"{ACC}/workspaces", headers=h).json
    assert sum(w.get("network_connectivity_config_id") == nid for w in listed) == 50
    assert all(w["workspace_status"] == "RUNNING" for w in listed)
    # the NCC is full: a 51st binding is refused, over the API and here (nothing added: all or nothing)
    r = c.patch(f"{ACC}/workspaces/1111111111111111?update_mask=network_connectivity_config_id",
                json={"network_connectivity_config_id": nid}, headers=h)
    assert r.status_code == 400 and r.json["error_code"] == "QUOTA_EXCEEDED"
    more = [{"workspace_id": 6100000000000000, "aws_region": "us-east-1"},
            {"workspace_id": 6100000000000001, "aws_region": "us-east-1", "network_connectivity_config_id": nid}]
    r = c.post("/_plink/workspaces", json={"workspaces": more})
    assert r.status_code == 400 and "workspaces[1]" in r.json["error"]
    for bad in ([{"workspace_id": 1111111111111111, "aws_region": "us-east-1"}],  # taken
                [{"workspace_id": 6200000000000000, "aws_region": "us-west-2",
                  "network_connectivity_config_id": nid}],  # NCC of another region
                []):
        assert c.post("/_plink/workspaces", json={"workspaces": bad}).status_code == 400
    assert len(c.get(f"{ACC}/workspaces", headers=h).json) == len(listed)
    # gone on reset
    app.reset()
    assert len(MODEL.workspaces) == len(fixtures.WORKSPACES)
