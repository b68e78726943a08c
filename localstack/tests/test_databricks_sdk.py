"""Conformance of the Databricks emulator with the official client (databricks-sdk 0.162.0).

Everything goes over HTTP to the shared stack; the AWS side of the PrivateLink handshake is driven
with boto3 against the AWS emulator, so the rule states observed here come from the real
cross-account handshake (plink_stack.aws.bridge), not from a script.
"""
import time

import pytest
import requests
from databricks.sdk import AccountClient
from databricks.sdk.errors import (BadRequest, InvalidParameterValue, InvalidState, NotFound, PermissionDenied,
                                   ResourceAlreadyExists, ResourceDoesNotExist, Unauthenticated)
from databricks.sdk.service import provisioning as pv
from databricks.sdk.service import settings as st

from conftest_databricks import wait_for

WS_USE1 = 1111111111111111
WS_USE1_B = 2222222222222222
WS_USW2 = 3333333333333333
PRINCIPAL_USE1 = "arn:aws:iam::565502421330:role/private-connectivity-role-us-east-1"
S = st.NccPrivateEndpointRulePrivateLinkConnectionState


def new_ncc(a: AccountClient, name: str, region: str = "us-east-1"):
    return a.network_connectivity.create_network_connectivity_configuration(
        st.CreateNetworkConnectivityConfiguration(name=name, region=region))


def new_rule(a, ncc_id: str, service: str, domains=("db.internal.example.com",)):
    return a.network_connectivity.create_private_endpoint_rule(
        ncc_id, st.CreatePrivateEndpointRule(endpoint_service=service, domain_names=list(domains)))


def get_rule(a, rule):
    return a.network_connectivity.get_private_endpoint_rule(rule.network_connectivity_config_id, rule.rule_id)


def wait_state(a, rule, *states, timeout=20.0):
    return wait_for(lambda: (r := get_rule(a, rule)).connection_state in states and r,
                    timeout=timeout, what=f"rule {rule.rule_id} in {states}")


# --- NCCs ---------------------------------------------------------------------------------------------

def test_ncc_create_get_list_paging_delete(dbx):
    a = dbx.account_client()
    created = [new_ncc(a, f"plink-ncc-{i}") for i in range(5)]
    first = created[0]
    assert first.region == "us-east-1" and first.account_id == dbx.account_id
    assert first.egress_config.default_rules.aws_stable_ip_rule.cidr_blocks
    got = a.network_connectivity.get_network_connectivity_configuration(first.network_connectivity_config_id)
    assert got.name == "plink-ncc-0" and got.creation_time == first.creation_time

    # the SDK follows next_page_token across 3 pages of 2
    listed = list(a.network_connectivity.list_network_connectivity_configurations())
    assert [n.name for n in listed] == [f"plink-ncc-{i}" for i in range(5)]
    page1 = dbx.call("GET", dbx.acc("/network-connectivity-configs")).json()
    assert len(page1["items"]) == 2 and page1["next_page_token"]

    a.network_connectivity.delete_network_connectivity_configuration(first.network_connectivity_config_id)
    with pytest.raises(ResourceDoesNotExist):
        a.network_connectivity.get_network_connectivity_configuration(first.network_connectivity_config_id)
    assert len(list(a.network_connectivity.list_network_connectivity_configurations())) == 4


def test_ncc_validation_duplicate_and_region_limit(dbx):
    a = dbx.account_client()
    with pytest.raises(InvalidParameterValue, match="Invalid name"):
        new_ncc(a, "no spaces allowed")
    with pytest.raises(InvalidParameterValue, match="Invalid name"):
        new_ncc(a, "ab")
    with pytest.raises(BadRequest, match="region"):
        a.network_connectivity.create_network_connectivity_configuration(
            st.CreateNetworkConnectivityConfiguration(name="no-region", region=""))
    new_ncc(a, "dup-name")
    with pytest.raises(ResourceAlreadyExists):
        new_ncc(a, "dup-name")
    new_ncc(a, "dup-name", region="us-west-2")  # unique per region only

    for i in range(9):
        new_ncc(a, f"fill-{i}")
    with pytest.raises(BadRequest) as exc:
        new_ncc(a, "eleventh")
    assert exc.value.error_code == "QUOTA_EXCEEDED"
    new_ncc(a, "eleventh", region="eu-west-1")  # other regions unaffected


# --- rules: CRUD -------------------------------------------------------------------------------------------

def test_rule_create_get_list_update_delete(dbx):
    a = dbx.account_client()
    ncc = new_ncc(a, "rules-crud")
    nid = ncc.network_connectivity_config_id
    svc = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
    rule = new_rule(a, nid, svc)
    assert rule.connection_state == S.CREATING
    assert not rule.vpc_endpoint_id
    assert rule.deactivated is False and rule.network_connectivity_config_id == nid
    more = [new_rule(a, nid, svc, [f"h{i}.internal.example.com"]) for i in range(2)]

    assert get_rule(a, rule).domain_names == ["db.internal.example.com"]
    listed = list(a.network_connectivity.list_private_endpoint_rules(nid))
    assert [r.rule_id for r in listed] == [rule.rule_id] + [r.rule_id for r in more]
    mirrored = a.network_connectivity.get_network_connectivity_configuration(nid) \
        .egress_config.target_rules.aws_private_endpoint_rules
    assert {r.rule_id for r in mirrored} == {r.rule_id for r in listed}

    # update_mask is required by the server
    with pytest.raises(InvalidParameterValue, match="Update mask must be specified"):
        a.network_connectivity.update_private_endpoint_rule(
            nid, rule.rule_id, st.UpdatePrivateEndpointRule(domain_names=["x.example.com"]), update_mask="")
    updated = a.network_connectivity.update_private_endpoint_rule(
        nid, rule.rule_id, st.UpdatePrivateEndpointRule(domain_names=["a.example.com", "*.b.example.com"]),
        update_mask="domain_names")
    assert updated.domain_names == ["a.example.com", "*.b.example.com"]  # full replacement
    with pytest.raises(InvalidParameterValue, match="Updating fields enabled for AWS private endpoint rule"):
        a.network_connectivity.update_private_endpoint_rule(
            nid, rule.rule_id, st.UpdatePrivateEndpointRule(enabled=True), update_mask="enabled")
    with pytest.raises(InvalidParameterValue, match="at most 10 domain names"):
        a.network_connectivity.update_private_endpoint_rule(
            nid, rule.rule_id, st.UpdatePrivateEndpointRule(domain_names=[f"d{i}.example.com" for i in range(11)]),
            update_mask="domain_names")

    deleted = a.network_connectivity.delete_private_endpoint_rule(nid, rule.rule_id)
    assert deleted.deactivated is True and deleted.deactivated_at
    assert get_rule(a, rule).deactivated is True  # still visible until purged
    with pytest.raises(InvalidState):
        a.network_connectivity.update_private_endpoint_rule(
            nid, rule.rule_id, st.UpdatePrivateEndpointRule(domain_names=["c.example.com"]),
            update_mask="domain_names")
    with pytest.raises(ResourceDoesNotExist):
        a.network_connectivity.get_private_endpoint_rule(nid, "00000000-0000-0000-0000-000000000000")


def test_rule_validation(dbx):
    a = dbx.account_client()
    nid = new_ncc(a, "rules-validation").network_connectivity_config_id
    svc = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
    bad = [
        st.CreatePrivateEndpointRule(domain_names=["a.example.com"]),  # no endpoint_service
        st.CreatePrivateEndpointRule(endpoint_service=svc),  # neither names
        st.CreatePrivateEndpointRule(endpoint_service=svc, domain_names=["a.example.com"], resource_names=["b"]),
        st.CreatePrivateEndpointRule(endpoint_service=svc, domain_names=[f"d{i}.example.com" for i in range(11)]),
        st.CreatePrivateEndpointRule(endpoint_service=svc, domain_names=["not a domain"]),
        st.CreatePrivateEndpointRule(endpoint_service=svc, resource_names=["my-bucket"]),  # S3 only
        st.CreatePrivateEndpointRule(endpoint_service="com.amazonaws.us-east-1.s3", domain_names=["a.example.com"]),
        st.CreatePrivateEndpointRule(endpoint_service="com.amazonaws.us-west-2.s3", resource_names=["my-bucket"]),
        st.CreatePrivateEndpointRule(endpoint_service="vpce-svc-123", domain_names=["a.example.com"]),
    ]
    for body in bad:
        with pytest.raises(InvalidParameterValue):
            a.network_connectivity.create_private_endpoint_rule(nid, body)
    with pytest.raises(ResourceDoesNotExist):
        a.network_connectivity.create_private_endpoint_rule(
            "00000000-0000-0000-0000-000000000000",
            st.CreatePrivateEndpointRule(endpoint_service=svc, domain_names=["a.example.com"]))


def test_rule_quota_30_per_region_counts_deactivated(dbx):
    a = dbx.account_client()
    nccs = [new_ncc(a, f"quota-{i}").network_connectivity_config_id for i in range(2)]
    svc = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"
    rules = [new_rule(a, nccs[i % 2], svc) for i in range(30)]
    a.network_connectivity.delete_private_endpoint_rule(nccs[0], rules[0].rule_id)  # deactivated still counts
    with pytest.raises(BadRequest) as exc:
        new_rule(a, nccs[1], svc)
    assert exc.value.error_code == "QUOTA_EXCEEDED"
    other = new_ncc(a, "quota-west", region="us-west-2").network_connectivity_config_id
    new_rule(a, other, "com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0")


def test_ncc_delete_refused_while_rules_or_workspaces(dbx):
    a = dbx.account_client()
    dbx.config(ncc_delete_settle=300)  # 3 s at the test time scale
    nid = new_ncc(a, "delete-guard").network_connectivity_config_id
    rule = new_rule(a, nid, "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0")
    with pytest.raises(InvalidState, match="private endpoint rules"):
        a.network_connectivity.delete_network_connectivity_configuration(nid)
    a.network_connectivity.delete_private_endpoint_rule(nid, rule.rule_id)
    # eventually consistent: still refused right after the last rule went away
    with pytest.raises(InvalidState, match="private endpoint rules"):
        a.network_connectivity.delete_network_connectivity_configuration(nid)

    a.workspaces.update(WS_USE1, pv.Workspace(network_connectivity_config_id=nid),
                        update_mask="network_connectivity_config_id").result()
    with pytest.raises(InvalidState, match="attached to one or more workspaces"):
        a.network_connectivity.delete_network_connectivity_configuration(nid)
    other = new_ncc(a, "delete-guard-2").network_connectivity_config_id
    a.workspaces.update(WS_USE1, pv.Workspace(network_connectivity_config_id=other),
                        update_mask="network_connectivity_config_id")
    # the binding moved away, but the NCC still looks attached for a while
    with pytest.raises(InvalidState, match="attached to one or more workspaces"):
        a.network_connectivity.delete_network_connectivity_configuration(nid)
    wait_for(lambda: _deleted(a, nid), timeout=10, what="NCC delete accepted after the settle delay")
    with pytest.raises(NotFound):
        a.network_connectivity.get_network_connectivity_configuration(nid)


def _deleted(a, nid) -> bool:
    try:
        a.network_connectivity.delete_network_connectivity_configuration(nid)
        return True
    except InvalidState:
        return False


# --- rules: the cross-account handshake with the AWS emulator ---------------------------------------------------

def test_handshake_pending_accept_established(dbx):
    a = dbx.account_client()
    cust = dbx.customer()
    svc = cust.make_service(allowed_principals=[PRINCIPAL_USE1])
    nid = new_ncc(a, "handshake").network_connectivity_config_id
    rule = new_rule(a, nid, svc["service_name"])
    assert rule.connection_state == S.CREATING and not rule.vpc_endpoint_id

    pending = wait_state(a, rule, S.PENDING)
    vpce = pending.vpc_endpoint_id
    assert vpce and vpce.startswith("vpce-")
    assert pending.updated_time >= rule.updated_time
    # the customer sees Databricks' endpoint waiting for acceptance, owned by Databricks' account
    assert wait_for(lambda: cust.connection_state(svc["service_id"], vpce)) == "pendingAcceptance"
    assert cust.connection_owner(svc["service_id"], vpce) == "565502421330"
    time.sleep(1.0)
    assert get_rule(a, rule).connection_state == S.PENDING  # nothing happens without acceptance

    cust.accept(svc["service_id"], vpce)
    established = wait_state(a, rule, S.ESTABLISHED)
    assert established.vpc_endpoint_id == vpce and established.updated_time >= pending.updated_time
    assert cust.connection_state(svc["service_id"], vpce) == "available"

    # the customer later rejects the established connection -> DISCONNECTED
    cust.reject(svc["service_id"], vpce)
    wait_state(a, rule, S.DISCONNECTED)


def test_handshake_rejected(dbx):
    a = dbx.account_client()
    cust = dbx.customer()
    svc = cust.make_service(allowed_principals=[PRINCIPAL_USE1])
    nid = new_ncc(a, "handshake-reject").network_connectivity_config_id
    rule = new_rule(a, nid, svc["service_name"])
    vpce = wait_state(a, rule, S.PENDING).vpc_endpoint_id
    cust.reject(svc["service_id"], vpce)
    assert wait_state(a, rule, S.REJECTED).vpc_endpoint_id == vpce


def test_create_failed_when_principal_not_allowed(dbx):
    a = dbx.account_client()
    cust = dbx.customer()
    svc = cust.make_service(allowed_principals=["arn:aws:iam::111122223333:root"])
    nid = new_ncc(a, "not-allowed").network_connectivity_config_id
    failed = wait_state(a, new_rule(a, nid, svc["service_name"]), S.CREATE_FAILED)
    assert PRINCIPAL_USE1 in failed.error_message
    assert not failed.vpc_endpoint_id


def test_create_failed_when_service_does_not_exist(dbx):
    a = dbx.account_client()
    dbx.customer()  # skip without the AWS emulator
    nid = new_ncc(a, "no-service").network_connectivity_config_id
    missing = "com.amazonaws.vpce.us-east-1.vpce-svc-0000000000000dead"
    failed = wait_state(a, new_rule(a, nid, missing), S.CREATE_FAILED)
    assert missing in failed.error_message


def test_pending_rule_expires(dbx):
    a = dbx.account_client()
    cust = dbx.customer()
    svc = cust.make_service(allowed_principals=[PRINCIPAL_USE1])
    dbx.config(rule_expiry=150)  # 1.5 s at the test time scale
    nid = new_ncc(a, "expiry").network_connectivity_config_id
    rule = new_rule(a, nid, svc["service_name"])
    wait_state(a, rule, S.PENDING)
    wait_state(a, rule, S.EXPIRED)


def test_delete_pending_rule_removes_endpoint_and_purges(dbx):
    a = dbx.account_client()
    cust = dbx.customer()
    svc = cust.make_service(allowed_principals=["*"])
    dbx.config(rule_purge=150)
    nid = new_ncc(a, "purge").network_connectivity_config_id
    rule = new_rule(a, nid, svc["service_name"])
    vpce = wait_state(a, rule, S.PENDING).vpc_endpoint_id
    a.network_connectivity.delete_private_endpoint_rule(nid, rule.rule_id)
    # Databricks deletes its endpoint through the bridge: the connection goes away on the AWS side
    wait_for(lambda: cust.connection_state(svc["service_id"], vpce) in (None, "deleting", "deleted"),
             what="Databricks endpoint deleted")
    wait_for(lambda: rule.rule_id not in [r.rule_id for r in a.network_connectivity.list_private_endpoint_rules(nid)],
             what="deactivated rule purged")
    with pytest.raises(ResourceDoesNotExist):
        get_rule(a, rule)


# S3 (first-party) rules: test_databricks_s3_rules.py


# --- workspaces ------------------------------------------------------------------------------------------------

def test_workspace_list_get(dbx):
    a = dbx.account_client()
    listed = {w.workspace_id: w for w in a.workspaces.list()}
    assert set(listed) == {WS_USE1, WS_USE1_B, WS_USW2}
    ws = a.workspaces.get(WS_USE1_B)
    assert ws.workspace_name == "plink-demo-analytics" and ws.aws_region == "us-east-1"
    assert ws.workspace_status == pv.WorkspaceStatus.RUNNING and ws.network_connectivity_config_id is None
    with pytest.raises(ResourceDoesNotExist):
        a.workspaces.get(4444444444444444)


def test_workspace_update_binds_ncc_and_waiter_returns_running(dbx):
    a = dbx.account_client()
    n1 = new_ncc(a, "bind-1").network_connectivity_config_id
    n2 = new_ncc(a, "bind-2").network_connectivity_config_id
    dbx.config(workspace_update=100)  # PROVISIONING for 1 s
    waiter = a.workspaces.update(WS_USE1, pv.Workspace(network_connectivity_config_id=n1),
                                 update_mask="network_connectivity_config_id")
    assert waiter.response.workspace_id == WS_USE1
    assert waiter.response.workspace_status == pv.WorkspaceStatus.PROVISIONING
    done = waiter.result()
    assert done.workspace_status == pv.WorkspaceStatus.RUNNING
    assert done.network_connectivity_config_id == n1

    # legacy form without update_mask; switching to another NCC is allowed
    legacy = a.workspaces.update_and_wait(WS_USE1, pv.Workspace(network_connectivity_config_id=n2))
    assert legacy.network_connectivity_config_id == n2
    assert a.workspaces.get(WS_USE1).network_connectivity_config_id == n2

    with pytest.raises(InvalidParameterValue, match="cannot be removed"):
        a.workspaces.update(WS_USE1, pv.Workspace(), update_mask="network_connectivity_config_id")
    with pytest.raises(InvalidParameterValue, match="cannot be removed"):
        a.workspaces.update(WS_USE1, pv.Workspace(network_connectivity_config_id=""),
                            update_mask="network_connectivity_config_id")
    west = new_ncc(a, "bind-west", region="us-west-2").network_connectivity_config_id
    with pytest.raises(InvalidParameterValue, match="same region"):
        a.workspaces.update(WS_USE1, pv.Workspace(network_connectivity_config_id=west),
                            update_mask="network_connectivity_config_id")
    with pytest.raises(InvalidParameterValue, match="does not exist"):
        a.workspaces.update(WS_USE1, pv.Workspace(network_connectivity_config_id="nope"),
                            update_mask="network_connectivity_config_id")
    assert a.workspaces.update_and_wait(
        WS_USW2, pv.Workspace(network_connectivity_config_id=west),
        update_mask="network_connectivity_config_id").network_connectivity_config_id == west


def test_workspace_waiter_raises_on_failed_status_never_for_valid_updates(dbx):
    a = dbx.account_client()
    nid = new_ncc(a, "waiter").network_connectivity_config_id
    seen = []
    a.workspaces.update(WS_USE1_B, pv.Workspace(network_connectivity_config_id=nid),
                        update_mask="network_connectivity_config_id").result(callback=lambda w: seen.append(w))
    assert all(w.workspace_status not in (pv.WorkspaceStatus.FAILED, pv.WorkspaceStatus.BANNED) for w in seen)


# --- errors and auth ------------------------------------------------------------------------------------------

def test_sdk_error_classes(dbx):
    a = dbx.account_client()
    with pytest.raises(NotFound):
        a.network_connectivity.get_network_connectivity_configuration("00000000-0000-0000-0000-000000000000")
    with pytest.raises(BadRequest):
        new_ncc(a, "x")
    token = dbx.token()["access_token"]
    other = AccountClient(host=dbx.host, account_id="00000000-0000-0000-0000-000000000001", token=token)
    with pytest.raises(PermissionDenied):
        list(other.network_connectivity.list_network_connectivity_configurations())
    garbage = AccountClient(host=dbx.host, account_id=dbx.account_id, token="not-a-valid-token")
    with pytest.raises(Unauthenticated):
        list(garbage.network_connectivity.list_network_connectivity_configurations())


def test_bad_client_secret_is_rejected(dbx):
    """The token endpoint answers 401 invalid_client (RFC 6749 shape, §1.2). The Python SDK turns a
    failed token request into ValueError("invalid_client: ...") (oauth.retrieve_token), not into an
    API exception class; Unauthenticated is what API calls with a bad/expired bearer token raise."""
    bad = dbx.account_client(client_secret="wrong-secret")
    with pytest.raises(ValueError, match="invalid_client"):
        list(bad.network_connectivity.list_network_connectivity_configurations())
    r = requests.post(f"{dbx.host}/oidc/accounts/{dbx.account_id}/v1/token",
                      data={"grant_type": "client_credentials", "scope": "all-apis"},
                      auth=(dbx.client_id, "wrong-secret"), timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_token_expiry_and_transparent_refresh(dbx):
    # token_ttl is scaled too: 150 s * 0.01 = 1.5 s
    dbx.config(token_ttl=150)
    tok = dbx.token()
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 2 and tok["scope"] == "all-apis"
    assert dbx.call("GET", dbx.acc("/workspaces"), token=tok["access_token"]).status_code == 200
    a = dbx.account_client()
    assert len(a.workspaces.list()) == 3
    time.sleep(2.2)
    expired = dbx.call("GET", dbx.acc("/workspaces"), token=tok["access_token"])
    assert expired.status_code == 401 and expired.json()["error_code"] == "UNAUTHENTICATED"
    assert len(a.workspaces.list()) == 3  # the SDK fetched a new token by itself


# --- network policies ------------------------------------------------------------------------------------------

def test_network_policies_and_workspace_network_option(dbx):
    a = dbx.account_client()
    np_api = a.network_policies
    default = np_api.get_network_policy_rpc("default-policy")
    assert default.egress.network_access.restriction_mode == st.EgressNetworkPolicyNetworkAccessPolicyRestrictionMode.FULL_ACCESS
    access = st.EgressNetworkPolicyNetworkAccessPolicy(
        restriction_mode=st.EgressNetworkPolicyNetworkAccessPolicyRestrictionMode.RESTRICTED_ACCESS,
        allowed_internet_destinations=[st.EgressNetworkPolicyNetworkAccessPolicyInternetDestination(
            destination="pypi.org",
            internet_destination_type=st.EgressNetworkPolicyNetworkAccessPolicyInternetDestinationInternetDestinationType.DNS_NAME)],
        allowed_storage_destinations=[st.EgressNetworkPolicyNetworkAccessPolicyStorageDestination(
            bucket_name="plink-demo-bucket", region="us-east-1",
            storage_destination_type=st.EgressNetworkPolicyNetworkAccessPolicyStorageDestinationStorageDestinationType.AWS_S3)],
        policy_enforcement=st.EgressNetworkPolicyNetworkAccessPolicyPolicyEnforcement(
            enforcement_mode=st.EgressNetworkPolicyNetworkAccessPolicyPolicyEnforcementEnforcementMode.DRY_RUN))
    created = np_api.create_network_policy_rpc(st.AccountNetworkPolicy(
        network_policy_id="plink-restricted", egress=st.NetworkPolicyEgress(network_access=access)))
    assert created.network_policy_id == "plink-restricted" and created.account_id == dbx.account_id
    assert created.egress.network_access.allowed_internet_destinations[0].destination == "pypi.org"
    with pytest.raises(ResourceAlreadyExists):
        np_api.create_network_policy_rpc(st.AccountNetworkPolicy(
            network_policy_id="plink-restricted", egress=st.NetworkPolicyEgress(network_access=access)))
    for i in range(2):
        np_api.create_network_policy_rpc(st.AccountNetworkPolicy(
            network_policy_id=f"extra-{i}", egress=st.NetworkPolicyEgress(network_access=access)))
    assert {p.network_policy_id for p in np_api.list_network_policies_rpc()} == \
        {"default-policy", "plink-restricted", "extra-0", "extra-1"}  # 2 pages of 2

    full = st.EgressNetworkPolicyNetworkAccessPolicy(
        restriction_mode=st.EgressNetworkPolicyNetworkAccessPolicyRestrictionMode.FULL_ACCESS)
    replaced = np_api.update_network_policy_rpc("plink-restricted", st.AccountNetworkPolicy(
        network_policy_id="plink-restricted", egress=st.NetworkPolicyEgress(network_access=full)))
    assert not replaced.egress.network_access.allowed_internet_destinations  # full replacement
    np_api.update_network_policy_rpc("default-policy", st.AccountNetworkPolicy(
        egress=st.NetworkPolicyEgress(network_access=access)))  # default is updatable

    with pytest.raises(InvalidParameterValue, match="default"):
        np_api.delete_network_policy_rpc("default-policy")
    too_many = {"network_policy_id": "too-many", "egress": {"network_access": {
        "restriction_mode": "RESTRICTED_ACCESS",
        "allowed_internet_destinations": [{"destination": f"h{i}.example.com", "internet_destination_type": "DNS_NAME"}
                                          for i in range(2001)]}}}
    r = dbx.call("POST", dbx.acc("/network-policies"), json=too_many)
    assert r.status_code == 400 and "2000" in r.json()["message"]
    r = dbx.call("POST", dbx.acc("/network-policies"), json={
        "network_policy_id": "bad-mode", "egress": {"network_access": {"restriction_mode": "MONITOR_ONLY"}}})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"

    wn = a.workspace_network_configuration
    assert wn.get_workspace_network_option_rpc(WS_USE1).network_policy_id == "default-policy"
    bound = wn.update_workspace_network_option_rpc(WS_USE1, st.WorkspaceNetworkOption(
        network_policy_id="plink-restricted", workspace_id=WS_USE1))
    assert bound.network_policy_id == "plink-restricted" and bound.workspace_id == WS_USE1
    assert wn.get_workspace_network_option_rpc(WS_USE1).network_policy_id == "plink-restricted"
    with pytest.raises(InvalidState):
        np_api.delete_network_policy_rpc("plink-restricted")
    with pytest.raises(InvalidParameterValue):
        wn.update_workspace_network_option_rpc(WS_USE1, st.WorkspaceNetworkOption(network_policy_id="missing"))
    wn.update_workspace_network_option_rpc(WS_USE1, st.WorkspaceNetworkOption(network_policy_id="default-policy"))
    np_api.delete_network_policy_rpc("plink-restricted")
    with pytest.raises(ResourceDoesNotExist):
        np_api.get_network_policy_rpc("plink-restricted")


# --- workspace host: IP access lists and workspace-conf ------------------------------------------------------------

def test_ip_access_lists_and_workspace_conf(dbx):
    w = dbx.workspace_client(WS_USE1)
    created = w.ip_access_lists.create(label="office", list_type=st.ListType.ALLOW,
                                       ip_addresses=["127.0.0.1", "10.0.0.0/16"]).ip_access_list
    assert created.address_count == 2 and created.enabled is True
    assert w.ip_access_lists.get(created.list_id).ip_access_list.label == "office"
    w.ip_access_lists.update(created.list_id, label="office-2", ip_addresses=["127.0.0.0/8"])
    got = w.ip_access_lists.get(created.list_id).ip_access_list
    assert got.label == "office-2" and got.ip_addresses == ["127.0.0.0/8"] and got.list_type == st.ListType.ALLOW
    w.ip_access_lists.replace(created.list_id, label="office-3", list_type=st.ListType.ALLOW, enabled=True,
                              ip_addresses=["127.0.0.1/32"])
    assert [l.label for l in w.ip_access_lists.list()] == ["office-3"]
    with pytest.raises(InvalidParameterValue):
        w.ip_access_lists.create(label="bad", list_type=st.ListType.BLOCK, ip_addresses=["300.1.1.1"])
    with pytest.raises(InvalidParameterValue):
        w.ip_access_lists.create(label="v6", list_type=st.ListType.BLOCK, ip_addresses=["2001:db8::/32"])

    assert w.workspace_conf.get_status(keys="enableIpAccessLists") == {"enableIpAccessLists": "false"}
    w.workspace_conf.set_status({"enableIpAccessLists": "true"})
    assert w.workspace_conf.get_status(keys="enableIpAccessLists") == {"enableIpAccessLists": "true"}
    with pytest.raises(InvalidParameterValue, match=r'Invalid keys: \["nope","alsoNope"\]'):
        w.workspace_conf.get_status(keys="enableIpAccessLists,nope,alsoNope")
    with pytest.raises(InvalidParameterValue, match=r'Invalid keys: \["nope"\]'):
        w.workspace_conf.set_status({"nope": "true"})
    # with the feature on, a change that would lock the caller (127.0.0.1) out is refused
    with pytest.raises(InvalidState, match="127.0.0.1"):
        w.ip_access_lists.create(label="lockout", list_type=st.ListType.BLOCK, ip_addresses=["127.0.0.0/8"])

    big = [f"10.{i // 250}.{i % 250}.1" for i in range(999)]
    w.ip_access_lists.create(label="big", list_type=st.ListType.BLOCK, ip_addresses=big)  # 1000 values in total
    with pytest.raises(BadRequest) as exc:
        w.ip_access_lists.create(label="one-more", list_type=st.ListType.BLOCK, ip_addresses=["192.168.0.1"])
    assert exc.value.error_code == "QUOTA_EXCEEDED"

    # lists are per workspace
    other = dbx.workspace_client(WS_USE1_B)
    assert list(other.ip_access_lists.list()) == []
    w.ip_access_lists.delete(created.list_id)
    with pytest.raises(ResourceDoesNotExist):
        w.ip_access_lists.get(created.list_id)


def test_workspace_client_with_account_token_unified_host(dbx):
    """Fallback addressing: the account host with X-Databricks-Workspace-Id (account token)."""
    from databricks.sdk import WorkspaceClient

    w = WorkspaceClient(host=dbx.host, account_id=dbx.account_id, workspace_id=str(WS_USW2),
                        client_id=dbx.client_id, client_secret=dbx.client_secret)
    w.ip_access_lists.create(label="via-account-host", list_type=st.ListType.ALLOW, ip_addresses=["127.0.0.1"])
    direct = dbx.workspace_client(WS_USW2)
    assert [l.label for l in direct.ip_access_lists.list()] == ["via-account-host"]


def test_account_ip_access_lists(dbx):
    a = dbx.account_client()
    created = a.ip_access_lists.create(label="corp", list_type=st.ListType.ALLOW,
                                       ip_addresses=["203.0.113.0/24"]).ip_access_list
    assert [l.list_id for l in a.ip_access_lists.list()] == [created.list_id]
    a.ip_access_lists.delete(created.list_id)
    with pytest.raises(ResourceDoesNotExist):
        a.ip_access_lists.get(created.list_id)
