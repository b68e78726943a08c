"""Network policies end to end with the official client (databricks-sdk 0.162.0): server-filled fields,
simulated serverless egress judged against the bound policy and logged in
``system.access.outbound_network``, the dry-run -> denials -> allowlist -> enforced loop (seed 000),
and context-based ingress enforced on the emulator's own workspace API (seed 002).
"""
import pytest
import requests
from databricks.sdk.errors import InvalidParameterValue, PermissionDenied
from databricks.sdk.service import settings as st
from databricks.sdk.service import sql

WS_USE1 = 1111111111111111
WS_USE1_B = 2222222222222222
NA = st.EgressNetworkPolicyNetworkAccessPolicy
MODE = st.EgressNetworkPolicyNetworkAccessPolicyRestrictionMode
DNS_NAME = st.EgressNetworkPolicyNetworkAccessPolicyInternetDestinationInternetDestinationType.DNS_NAME
ENF = st.EgressNetworkPolicyNetworkAccessPolicyPolicyEnforcementEnforcementMode


def traffic(db, workspace_id, *destinations, count=1, compute="serverless-notebook", **extra):
    dests = [d if isinstance(d, dict) else ({"type": "STORAGE", "name": d} if d.startswith("s3://")
                                            else {"type": "DNS", "name": d}) for d in destinations]
    r = requests.post(db.host + "/_plink/traffic", json={"workspace_id": workspace_id, "destinations": dests,
                                                         "count": count, "compute": compute, **extra}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["attempts"]


def inbound(db, workspace_id, **body):
    r = requests.post(db.host + "/_plink/traffic", json={"direction": "inbound", "workspace_id": workspace_id,
                                                         **body}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["attempts"]


def outcome(attempts):
    return [(a["destination"], a["allowed"], a["access_type"]) for a in attempts]


def query(db, workspace_id, statement, **params):
    w = db.workspace_client(workspace_id)
    wid = next(x["warehouse_id"] for x in db.fixtures["workspaces"] if x["workspace_id"] == workspace_id)
    res = w.statement_execution.execute_statement(
        statement, wid, wait_timeout="30s",
        parameters=[sql.StatementParameterListItem(name=k, value=str(v)) for k, v in params.items()])
    assert res.status.state == sql.StatementState.SUCCEEDED, res.status
    return res.result.data_array or []


DENIALS = """
SELECT destination_type, destination, COUNT(*) AS attempts, MIN(event_time) AS first_seen, MAX(event_time) AS last_seen
FROM system.access.outbound_network
WHERE workspace_id = :ws AND access_type = :access_type
GROUP BY ALL ORDER BY destination
"""


# --- server-filled fields -------------------------------------------------------------------------------------

def test_server_fills_ingress_sections_so_whole_body_diffs_drift(dbx):
    a = dbx.account_client()
    desired = st.AccountNetworkPolicy(
        network_policy_id="plink-ingress",
        egress=st.NetworkPolicyEgress(network_access=NA(restriction_mode=MODE.FULL_ACCESS)),
        ingress=st.CustomerFacingIngressNetworkPolicy(public_access=st.CustomerFacingIngressNetworkPolicyPublicAccess(
            restriction_mode=st.CustomerFacingIngressNetworkPolicyPublicAccessRestrictionMode.FULL_ACCESS)))
    created = a.network_policies.create_network_policy_rpc(desired)
    got = a.network_policies.get_network_policy_rpc("plink-ingress")
    for p in (created, got):
        assert p.ingress.private_access.restriction_mode == \
            st.CustomerFacingIngressNetworkPolicyPrivateAccessRestrictionMode.ALLOW_ALL_REGISTERED_ENDPOINTS
        assert p.ingress.cross_workspace_access.restriction_mode == \
            st.CustomerFacingIngressNetworkPolicyCrossWorkspaceAccessRestrictionMode.LEGACY_MODE
        assert p.account_id == dbx.account_id
    # the trap: a whole-body diff sees drift although nothing the client owns changed
    assert got.as_dict() != desired.as_dict()
    assert got.ingress.public_access.as_dict() == desired.ingress.public_access.as_dict()
    assert got.egress.as_dict() == desired.egress.as_dict()
    # explicit values are kept; a PUT (full replace) without ingress drops it
    explicit = {"network_policy_id": "explicit", "egress": {"network_access": {"restriction_mode": "FULL_ACCESS"}},
                "ingress_dry_run": {"private_access": {"restriction_mode": "RESTRICTED_ACCESS"},
                                    "cross_workspace_access": {"restriction_mode": "FULL_ACCESS"}}}
    r = dbx.call("POST", dbx.acc("/network-policies"), json=explicit)
    assert r.status_code == 200 and r.json()["ingress_dry_run"] == explicit["ingress_dry_run"]
    assert "ingress" not in r.json()  # egress-only bodies get no ingress section
    replaced = a.network_policies.update_network_policy_rpc("plink-ingress", st.AccountNetworkPolicy(
        network_policy_id="plink-ingress", egress=desired.egress))
    assert replaced.ingress is None


def test_ingress_validation(dbx):
    def create(ingress):
        return dbx.call("POST", dbx.acc("/network-policies"), json={
            "network_policy_id": "bad", "egress": {"network_access": {"restriction_mode": "FULL_ACCESS"}},
            "ingress": ingress})

    for ingress, needle in (
            ({"public_access": {}}, "restriction_mode' is required"),
            ({"public_access": {"restriction_mode": "RESTRICTED_ACCESS", "allow_rules": [
                {"origin": {"included_ip_ranges": {"ip_ranges": ["2001:db8::/32"]}}}]}}, "IPv4"),
            ({"private_access": {"restriction_mode": "ALLOW_ALL_REGISTERED_ENDPOINTS", "allow_rules": [
                {"origin": {"all_registered_endpoints": True}}]}}, "RESTRICTED_ACCESS"),
            ({"cross_workspace_access": {"restriction_mode": "OPEN"}}, "OPEN")):
        r = create(ingress)
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", r.text
        assert needle in r.json()["message"]


# --- egress: the dry-run -> denials -> allowlist -> enforced loop ------------------------------------------------

def test_dry_run_denials_allowlist_enforce_loop(dbx):
    a = dbx.account_client()
    np_api, wn = a.network_policies, a.workspace_network_configuration
    np_api.create_network_policy_rpc(st.AccountNetworkPolicy(
        network_policy_id="plink-egress", egress=st.NetworkPolicyEgress(network_access=NA(
            restriction_mode=MODE.RESTRICTED_ACCESS,
            allowed_internet_destinations=[
                st.EgressNetworkPolicyNetworkAccessPolicyInternetDestination(destination=d, internet_destination_type=DNS_NAME)
                for d in ("pypi.org", "files.pythonhosted.org")],
            policy_enforcement=st.EgressNetworkPolicyNetworkAccessPolicyPolicyEnforcement(enforcement_mode=ENF.DRY_RUN)))))
    wn.update_workspace_network_option_rpc(WS_USE1, st.WorkspaceNetworkOption(
        network_policy_id="plink-egress", workspace_id=WS_USE1))

    # 1. dry run: everything gets through, what would be blocked is logged as DRY_RUN_DENIAL
    attempts = traffic(dbx, WS_USE1, "qiita.com", count=4) + traffic(
        dbx, WS_USE1, "pypi.org", "s3://plink-demo-data/landing", count=2)
    assert all(x["allowed"] for x in attempts)
    assert sorted({outcome([x])[0] for x in attempts}) == [
        ("pypi.org", True, None), ("qiita.com", True, "DRY_RUN_DENIAL"),
        ("s3://plink-demo-data/landing", True, "DRY_RUN_DENIAL")]
    assert traffic(dbx, WS_USE1_B, "qiita.com")[0]["access_type"] is None  # other workspace: default-policy

    # 2. the denials, from the system table
    rows = query(dbx, WS_USE1, DENIALS, ws=WS_USE1, access_type="DRY_RUN_DENIAL")
    assert [r[:3] for r in rows] == [["DNS", "qiita.com", "4"], ["STORAGE", "s3://plink-demo-data/landing", "2"]]
    assert query(dbx, WS_USE1, DENIALS, ws=WS_USE1, access_type="DROP") == []

    # 3. allow them (read, merge, full-replace PUT), then enforce
    current = np_api.get_network_policy_rpc("plink-egress")
    access = current.egress.network_access
    access.allowed_internet_destinations.append(st.EgressNetworkPolicyNetworkAccessPolicyInternetDestination(
        destination="qiita.com", internet_destination_type=DNS_NAME))
    access.allowed_storage_destinations = [st.EgressNetworkPolicyNetworkAccessPolicyStorageDestination(
        bucket_name="plink-demo-data", region="us-east-1",
        storage_destination_type=st.EgressNetworkPolicyNetworkAccessPolicyStorageDestinationStorageDestinationType.AWS_S3)]
    access.policy_enforcement = st.EgressNetworkPolicyNetworkAccessPolicyPolicyEnforcement(enforcement_mode=ENF.ENFORCED)
    np_api.update_network_policy_rpc("plink-egress", current)

    # 4. enforced: the allowed traffic flows, a new domain is dropped
    attempts = traffic(dbx, WS_USE1, "qiita.com", "pypi.org", "s3://plink-demo-data/landing", "kaggle.com")
    assert outcome(attempts) == [("qiita.com", True, None), ("pypi.org", True, None),
                                 ("s3://plink-demo-data/landing", True, None), ("kaggle.com", False, "DROP")]
    rows = query(dbx, WS_USE1, DENIALS, ws=WS_USE1, access_type="DROP")
    assert [r[:3] for r in rows] == [["DNS", "kaggle.com", "1"]]
    assert len(query(dbx, WS_USE1, DENIALS, ws=WS_USE1, access_type="DRY_RUN_DENIAL")) == 2  # history kept


def test_egress_judgement_rules(dbx):
    def policy(pid, access):
        r = dbx.call("POST", dbx.acc("/network-policies"), json={"network_policy_id": pid,
                                                                 "egress": {"network_access": access}})
        assert r.status_code == 200, r.text
        r = dbx.call("PUT", dbx.acc(f"/workspaces/{WS_USE1}/network"), json={"network_policy_id": pid})
        assert r.status_code == 200, r.text

    # default-policy (FULL_ACCESS): nothing blocked, nothing logged
    assert outcome(traffic(dbx, WS_USE1, "anything.example.com", {"type": "IP", "name": "192.0.2.1"})) == [
        ("anything.example.com", True, None), ("192.0.2.1", True, None)]

    # FULL_ACCESS with a block list
    policy("full-blocked", {"restriction_mode": "FULL_ACCESS", "blocked_internet_destinations": [
        {"destination": "*.evil.example", "internet_destination_type": "DNS_NAME"}]})
    assert outcome(traffic(dbx, WS_USE1, "x.evil.example", "evil.example", "ok.example.com")) == [
        ("x.evil.example", False, "DROP"), ("evil.example", True, None), ("ok.example.com", True, None)]

    # RESTRICTED: wildcard (sub-domains only), blocked beats allowed, IP never, Databricks destinations
    policy("restricted", {
        "restriction_mode": "RESTRICTED_ACCESS",
        "allowed_internet_destinations": [{"destination": "*.example.com"}, {"destination": "pypi.org"}],
        "blocked_internet_destinations": [{"destination": "bad.example.com"}],
        "allowed_databricks_destinations": [{"workspace_ids": [WS_USE1_B]}],
        "policy_enforcement": {"enforcement_mode": "DRY_RUN", "dry_run_mode_product_filter": ["DBSQL"]}})
    got = traffic(dbx, WS_USE1, "api.example.com", "example.com", "bad.example.com", "PyPI.org",
                  {"type": "IP", "name": "192.0.2.1"}, {"type": "DATABRICKS", "workspace_id": WS_USE1_B},
                  {"type": "DATABRICKS", "workspace_id": 3333333333333333})
    assert outcome(got) == [
        ("api.example.com", True, None), ("example.com", False, "DROP"), ("bad.example.com", False, "DROP"),
        ("PyPI.org", True, None), ("192.0.2.1", False, "DROP"),
        ("dbc-plink-demo-analytics.cloud.databricks.com", True, None),
        ("dbc-plink-demo-usw2.cloud.databricks.com", False, "DROP")]
    assert got[4]["destination_type"] == "IP" and got[6]["destination_type"] == "DNS"
    # product filter: DBSQL is in dry run, General Compute enforced
    assert outcome(traffic(dbx, WS_USE1, "example.com", compute="sql")) == [("example.com", True, "DRY_RUN_DENIAL")]
    rows = query(dbx, WS_USE1, "SELECT network_source_type, access_type, count(*) FROM system.access.outbound_network "
                               "WHERE destination = 'example.com' GROUP BY ALL ORDER BY 1")
    assert rows == [["DBSQL", "DRY_RUN_DENIAL", "1"], ["General Compute", "DROP", "1"]]

    r = requests.post(dbx.host + "/_plink/traffic", json={"workspace_id": 42, "destinations": [{"name": "x.com"}]},
                      timeout=10)
    assert r.status_code == 404
    r = requests.post(dbx.host + "/_plink/traffic", json={"workspace_id": WS_USE1, "destinations": [
        {"type": "STORAGE", "name": "bucket"}]}, timeout=10)
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


# --- ingress -------------------------------------------------------------------------------------------------

def allow_only(cidrs, label="office", **extra_rule):
    return {"public_access": {"restriction_mode": "RESTRICTED_ACCESS", "allow_rules": [{
        "label": label, "origin": {"included_ip_ranges": {"ip_ranges": list(cidrs)}},
        "destination": {"workspace_api": {}}, **extra_rule}]}}


def bind_ingress(dbx, pid, workspace_id=WS_USE1, **sections):
    body = {"network_policy_id": pid, "egress": {"network_access": {"restriction_mode": "FULL_ACCESS"}}, **sections}
    r = dbx.call("POST", dbx.acc("/network-policies"), json=body)
    assert r.status_code == 200, r.text
    r = dbx.call("PUT", dbx.acc(f"/workspaces/{workspace_id}/network"), json={"network_policy_id": pid})
    assert r.status_code == 200, r.text


def test_ingress_policy_that_locks_the_caller_out_is_a_real_failure(dbx):
    w = dbx.workspace_client(WS_USE1)
    assert list(w.warehouses.list())  # works before
    bind_ingress(dbx, "office-only", ingress=allow_only(["10.0.0.0/8"]))

    with pytest.raises(PermissionDenied, match="127.0.0.1"):  # the SDK comes from 127.0.0.1
        list(w.warehouses.list())
    with pytest.raises(PermissionDenied):
        w.ip_access_lists.list()
    host = dbx.workspaces[WS_USE1]["host"]
    token = dbx.token(host=host, workspace=True)["access_token"]  # token endpoint is not judged
    r = dbx.call("GET", "/api/2.0/sql/warehouses", token=token, host=host, headers={"X-Plink-Source-Ip": "10.1.2.3"})
    assert r.status_code == 200, r.text
    r = dbx.call("GET", "/api/2.0/sql/warehouses", token=token, host=host,
                 headers={"X-Plink-Source-Ip": "203.0.113.7"})
    assert r.status_code == 403 and r.json()["error_code"] == "PERMISSION_DENIED"
    # the unified-host path is judged the same way
    r = dbx.call("GET", "/api/2.0/sql/warehouses", headers={"X-Databricks-Workspace-Id": str(WS_USE1)})
    assert r.status_code == 403
    assert list(dbx.workspace_client(WS_USE1_B).warehouses.list())  # other workspaces unaffected

    # the denials are in system.access.inbound_network (queried from the other workspace, same region)
    rows = query(dbx, WS_USE1_B, "SELECT network_source.ip_address, request_type, access_type, rule_label, "
                                 "identity.principal_type, count(*) FROM system.access.inbound_network "
                                 "WHERE workspace_id = :ws GROUP BY ALL ORDER BY 1", ws=WS_USE1)
    assert rows == [["127.0.0.1", "WORKSPACE_API", "DENIED", None, "PRINCIPAL_TYPE_SERVICE_PRINCIPAL", "3"],
                    ["203.0.113.7", "WORKSPACE_API", "DENIED", None, "PRINCIPAL_TYPE_SERVICE_PRINCIPAL", "1"]]

    # the account API is not governed: the binding can be undone and the workspace answers again
    dbx.account_client().workspace_network_configuration.update_workspace_network_option_rpc(
        WS_USE1, st.WorkspaceNetworkOption(network_policy_id="default-policy"))
    assert list(w.warehouses.list())


def test_ingress_dry_run_deny_rules_identity_and_read_scope(dbx):
    # dry run: nothing blocked, denials logged
    bind_ingress(dbx, "dry", ingress_dry_run=allow_only(["10.0.0.0/8"]))
    w = dbx.workspace_client(WS_USE1)
    assert list(w.warehouses.list())
    rows = query(dbx, WS_USE1, "SELECT access_type, network_source.ip_address FROM system.access.inbound_network")
    assert ["DRY_RUN_DENIAL", "127.0.0.1"] in rows

    # a deny rule for all service principals beats FULL_ACCESS, and names its label
    bind_ingress(dbx, "no-sps", workspace_id=WS_USE1_B, ingress={"public_access": {
        "restriction_mode": "FULL_ACCESS", "deny_rules": [{
            "label": "no-automation", "authentication": {"identity_type": "IDENTITY_TYPE_ALL_SERVICE_PRINCIPALS"}}]}})
    with pytest.raises(PermissionDenied, match="no-automation"):
        list(dbx.workspace_client(WS_USE1_B).warehouses.list())
    assert outcome_in(inbound(dbx, WS_USE1_B, source_ip="198.51.100.1", identity="user")) == [(True, None, None)]
    assert outcome_in(inbound(dbx, WS_USE1_B, source_ip="198.51.100.1")) == [(False, "DENIED", "no-automation")]

    # read-only API access for the service principal from anywhere, writes only from the office
    read_only = {"public_access": {"restriction_mode": "RESTRICTED_ACCESS", "allow_rules": [
        {"label": "read-anywhere", "origin": {"all_ip_ranges": True},
         "destination": {"workspace_api": {"scope_qualifier": "API_SCOPE_QUALIFIER_READ"}},
         "authentication": {"identity_type": "IDENTITY_TYPE_SELECTED_IDENTITIES",
                            "identities": [{"principal_id": 4242424242424242,
                                            "principal_type": "PRINCIPAL_TYPE_SERVICE_PRINCIPAL"}]}},
        {"label": "office-all", "origin": {"included_ip_ranges": {"ip_ranges": ["10.0.0.0/8"]}}}]}}
    bind_ingress(dbx, "read-only", ingress=read_only)
    assert list(w.warehouses.list())
    with pytest.raises(PermissionDenied):
        w.ip_access_lists.create("x", st.ListType.ALLOW, ip_addresses=["10.0.0.1"])
    assert outcome_in(inbound(dbx, WS_USE1, source_ip="10.9.9.9", method="POST")) == [(True, None, None)]
    assert outcome_in(inbound(dbx, WS_USE1, source_ip="192.0.2.9", request_type="WORKSPACE_UI", count=2)) == [
        (False, "DENIED", None)] * 2


def outcome_in(attempts):
    return [(a["allowed"], a["access_type"], a["rule_label"]) for a in attempts]


def test_ingress_ip_ranges_must_be_ipv4_sdk(dbx):
    a = dbx.account_client()
    with pytest.raises(InvalidParameterValue, match="IPv4"):
        a.network_policies.create_network_policy_rpc(st.AccountNetworkPolicy(
            network_policy_id="v6", egress=st.NetworkPolicyEgress(network_access=NA(restriction_mode=MODE.FULL_ACCESS)),
            ingress=st.CustomerFacingIngressNetworkPolicy(public_access=st.CustomerFacingIngressNetworkPolicyPublicAccess(
                restriction_mode=st.CustomerFacingIngressNetworkPolicyPublicAccessRestrictionMode.RESTRICTED_ACCESS,
                allow_rules=[st.CustomerFacingIngressNetworkPolicyPublicIngressRule(
                    label="v6", origin=st.CustomerFacingIngressNetworkPolicyPublicRequestOrigin(
                        included_ip_ranges=st.CustomerFacingIngressNetworkPolicyIpRanges(ip_ranges=["::1/128"])))]))))
