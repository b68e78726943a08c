"""Native S3 private endpoint rules (field-update-2026-12.md §1.4) with the official clients:
databricks-sdk 0.162.0 on the Databricks emulator, boto3 (path-style S3, EC2) on the AWS emulator.

The rule's Databricks-owned endpoint is real (an interface endpoint to com.amazonaws.<region>.s3 in
account 565502421330), and the rule reaches ESTABLISHED only once every bucket of `resource_names`
has a policy allowing that `aws:SourceVpce` (`plink_stack.aws.bridge.s3_buckets_allow`).
"""
import json
import time

import boto3
import pytest
from botocore.config import Config
from databricks.sdk.errors import InvalidParameterValue, InvalidState
from databricks.sdk.service import settings as st

from conftest_databricks import wait_for

S = st.NccPrivateEndpointRulePrivateLinkConnectionState
S3_SERVICE = "com.amazonaws.us-east-1.s3"
DATABRICKS = "565502421330"
TOO_EARLY = "Field enabled can only be updated when connection_state is ESTABLISHED"
# At the tests' time scale (0.01) endpoint_pending (60 s) + rule_establish (60 s) take 1.2 s: a rule
# still PENDING after this long is held back by its bucket policies, not by a delay.
SETTLE_SECONDS = 2.5


def client(dbx, service: str, account: str = "123456789012", **kw):
    return boto3.client(service, endpoint_url=dbx.aws_endpoint, region_name="us-east-1",
                        aws_access_key_id=account, aws_secret_access_key="test",
                        config=Config(s3={"addressing_style": "path"}), **kw)


def allow(s3, bucket: str, vpce: str) -> None:
    """Merge a statement allowing `aws:SourceVpce = vpce` into the bucket's policy (as plink does)."""
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchBucketPolicy"
        policy = {"Version": "2012-10-17", "Statement": []}
    policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != "AllowDatabricksServerless"] + [{
        "Sid": "AllowDatabricksServerless", "Effect": "Allow", "Principal": "*",
        "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"StringEquals": {"aws:SourceVpce": vpce}}}]
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def new_s3_rule(a, name: str, buckets: list[str]):
    nid = a.network_connectivity.create_network_connectivity_configuration(
        st.CreateNetworkConnectivityConfiguration(name=name, region="us-east-1")).network_connectivity_config_id
    return a.network_connectivity.create_private_endpoint_rule(
        nid, st.CreatePrivateEndpointRule(endpoint_service=S3_SERVICE, resource_names=buckets))


def get_rule(a, rule):
    return a.network_connectivity.get_private_endpoint_rule(rule.network_connectivity_config_id, rule.rule_id)


def wait_state(a, rule, *states, timeout=20.0):
    return wait_for(lambda: (r := get_rule(a, rule)).connection_state in states and r,
                    timeout=timeout, what=f"rule {rule.rule_id} in {states}")


def enable(a, rule, on: bool = True):
    return a.network_connectivity.update_private_endpoint_rule(
        rule.network_connectivity_config_id, rule.rule_id, st.UpdatePrivateEndpointRule(enabled=on),
        update_mask="enabled")


def test_s3_rule_established_only_when_every_bucket_allows_the_endpoint(dbx):
    a = dbx.account_client()
    s3 = client(dbx, "s3")
    rule = new_s3_rule(a, "s3-native", ["plink-demo-data", "plink-demo-logs"])
    assert rule.connection_state == S.CREATING and not rule.vpc_endpoint_id  # empty at create
    assert rule.enabled is False and rule.resource_names == ["plink-demo-data", "plink-demo-logs"]
    with pytest.raises(InvalidState) as exc:
        enable(a, rule)
    assert str(exc.value) == TOO_EARLY and exc.value.error_code == "INVALID_STATE"

    pending = wait_state(a, rule, S.PENDING)
    vpce = pending.vpc_endpoint_id
    assert vpce.startswith("vpce-")
    # Databricks' own interface endpoint to the regional S3 service, in its AWS account
    ep = client(dbx, "ec2", account=DATABRICKS).describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]
    assert (ep["ServiceName"], ep["VpcEndpointType"], ep["OwnerId"]) == (S3_SERVICE, "Interface", DATABRICKS)

    time.sleep(SETTLE_SECONDS)  # endpoint available long ago; no bucket allows it
    assert get_rule(a, rule).connection_state == S.PENDING
    with pytest.raises(InvalidState, match=TOO_EARLY):
        enable(a, rule)

    allow(s3, "plink-demo-data", vpce)  # one of two buckets
    time.sleep(SETTLE_SECONDS)
    assert get_rule(a, rule).connection_state == S.PENDING

    allow(s3, "plink-demo-logs", vpce)  # merged into the other team's policy
    statements = json.loads(s3.get_bucket_policy(Bucket="plink-demo-logs")["Policy"])["Statement"]
    assert [x["Sid"] for x in statements] == ["DenyInsecureTransport", "AllowDatabricksServerless"]
    est = wait_state(a, rule, S.ESTABLISHED)
    assert est.vpc_endpoint_id == vpce and est.enabled is False
    assert enable(a, rule).enabled is True
    assert get_rule(a, rule).enabled is True

    # emulator's choice (unconfirmed): a later policy change does not take the rule back to PENDING
    s3.delete_bucket_policy(Bucket="plink-demo-data")
    time.sleep(SETTLE_SECONDS)
    assert get_rule(a, rule).connection_state == S.ESTABLISHED


def test_s3_rule_updates(dbx):
    a = dbx.account_client()
    s3 = client(dbx, "s3")
    rule = new_s3_rule(a, "s3-updates", ["plink-demo-data"])
    nid = rule.network_connectivity_config_id
    vpce = wait_state(a, rule, S.PENDING).vpc_endpoint_id
    allow(s3, "plink-demo-logs", vpce)
    time.sleep(SETTLE_SECONDS)
    assert get_rule(a, rule).connection_state == S.PENDING  # plink-demo-data has no policy

    # a resource_names update keeps the state; the ticker then judges the new list
    moved = a.network_connectivity.update_private_endpoint_rule(
        nid, rule.rule_id, st.UpdatePrivateEndpointRule(resource_names=["plink-demo-logs"]),
        update_mask="resource_names")
    assert moved.connection_state == S.PENDING and moved.resource_names == ["plink-demo-logs"]
    # several fields, one refused: nothing is applied
    with pytest.raises(InvalidState, match=TOO_EARLY):
        a.network_connectivity.update_private_endpoint_rule(
            nid, rule.rule_id, st.UpdatePrivateEndpointRule(resource_names=["plink-demo-data"], enabled=True),
            update_mask="resource_names,enabled")
    assert get_rule(a, rule).resource_names == ["plink-demo-logs"]
    wait_state(a, rule, S.ESTABLISHED)

    on = enable(a, rule)
    assert on.enabled is True
    both = a.network_connectivity.update_private_endpoint_rule(
        nid, rule.rule_id, st.UpdatePrivateEndpointRule(resource_names=["plink-demo-data", "plink-demo-logs"]),
        update_mask="resource_names,enabled")  # enabled omitted from the body -> false (field mask)
    assert both.resource_names == ["plink-demo-data", "plink-demo-logs"] and both.enabled is False
    assert both.connection_state == S.ESTABLISHED  # kept, although plink-demo-data allows nothing
    with pytest.raises(InvalidParameterValue, match="Updating fields domain_names"):
        a.network_connectivity.update_private_endpoint_rule(
            nid, rule.rule_id, st.UpdatePrivateEndpointRule(domain_names=["a.example.com"]),
            update_mask="domain_names")

    # delete: deactivated; the ESTABLISHED endpoint stays until the purge (as for other rules)
    gone = a.network_connectivity.delete_private_endpoint_rule(nid, rule.rule_id)
    assert gone.deactivated is True
    with pytest.raises(InvalidState):
        enable(a, rule, False)


def test_s3_rule_with_a_bucket_in_another_region_stays_pending_then_expires(dbx):
    a = dbx.account_client()
    dbx.config(rule_expiry=400)  # 4 s at the tests' time scale
    rule = new_s3_rule(a, "s3-west", ["plink-demo-west"])
    vpce = wait_state(a, rule, S.PENDING).vpc_endpoint_id
    west = boto3.client("s3", endpoint_url=dbx.aws_endpoint, region_name="us-west-2",
                        aws_access_key_id="123456789012", aws_secret_access_key="test",
                        config=Config(s3={"addressing_style": "path"}))
    allow(west, "plink-demo-west", vpce)  # allowed, but the bucket is not in the NCC's region
    time.sleep(SETTLE_SECONDS)
    assert get_rule(a, rule).connection_state == S.PENDING
    expired = wait_state(a, rule, S.EXPIRED)
    assert expired.vpc_endpoint_id == vpce
