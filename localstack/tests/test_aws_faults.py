"""Fault plan, call log and control routes (faults.py, control.py), seen through real clients."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from conftest import TEST_TIME_SCALE, http

NO_RETRY = Config(retries={"total_max_attempts": 1})


def demo_vpc(aws) -> str:
    return aws.fixtures()["regions"]["us-east-1"]["vpc_id"]


def plan(aws, *rules, seed: int = 7) -> dict:
    status, body = aws.control("POST", "faults", {"seed": seed, "rules": list(rules)})
    assert status == 200, body
    return body


def calls(aws, **match) -> list[dict]:
    return [c for c in aws.control("GET", "calls")[1] if all(c[k] == v for k, v in match.items())]


def test_429_with_retry_after_is_retried_by_botocore_and_counted(aws):
    plan(aws, {"kind": "http_429", "retry_after": 0, "match": {"action": "DescribeVpcs"}, "max_count": 2})
    out = aws.client("ec2").describe_vpcs()
    assert out["ResponseMetadata"]["RetryAttempts"] == 2
    rule = aws.control("GET", "faults")[1]["rules"][0]
    assert (rule["fired"], rule["max_count"]) == (2, 2)
    seen = calls(aws, action="DescribeVpcs")
    assert [(c["status"], c["fault"]) for c in seen] == [(429, "http_429"), (429, "http_429"), (200, None)]
    assert all(c["service"] == "ec2" and c["mutating"] is False for c in seen)

    plan(aws, {"kind": "http_429", "retry_after": 3, "match": {"action": "DescribeVpcs"}})
    with pytest.raises(ClientError) as exc:
        aws.client("ec2", config=NO_RETRY).describe_vpcs()
    err = exc.value.response
    assert err["Error"]["Code"] == "Throttling"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert err["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "3"


def test_a_bucket_rule_throttles_only_once_its_tokens_are_spent_and_refills_on_scaled_time(aws):
    # burst 2, refill 0.004 real-world tokens/s: at the tests' time scale one token comes back
    # every 250 × TEST_TIME_SCALE wall-clock seconds (0.5 s).
    plan(aws, {"kind": "aws_throttle", "match": {"action": "DescribeVpcs"},
               "bucket": {"burst": 2, "refill": 0.004}})
    ec2 = aws.client("ec2", config=NO_RETRY)
    ec2.describe_vpcs()
    ec2.describe_vpcs()
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpcs()
    assert exc.value.response["Error"]["Code"] == "RequestLimitExceeded"
    time.sleep(250 * float(TEST_TIME_SCALE) * 1.5)
    ec2.describe_vpcs()
    rule = aws.control("GET", "faults")[1]["rules"][0]
    assert (rule["matched"], rule["fired"], rule["bucket"]) == (4, 1, {"burst": 2.0, "refill": 0.004})
    status, body = aws.control("POST", "faults", {"rules": [{"kind": "aws_throttle",
                                                             "bucket": {"burst": 0, "refill": 1}}]})
    assert status == 400 and "burst" in json.dumps(body), body


def test_aws_throttle_and_503_shapes(aws):
    plan(aws, {"kind": "aws_throttle", "match": {"service": "ec2"}},
         {"kind": "aws_throttle", "match": {"service": "elbv2"}},
         {"kind": "http_503", "match": {"service": "sts"}})
    for client, op, want in ((aws.client("ec2", config=NO_RETRY), "describe_vpcs", ("RequestLimitExceeded", 400)),
                             (aws.client("elbv2", config=NO_RETRY), "describe_load_balancers", ("Throttling", 400)),
                             (aws.client("sts", config=NO_RETRY), "get_caller_identity", ("ServiceUnavailable", 503))):
        with pytest.raises(ClientError) as exc:
            getattr(client, op)()
        got = exc.value.response
        assert (got["Error"]["Code"], got["ResponseMetadata"]["HTTPStatusCode"]) == want


def test_commit_then_timeout_commits_the_create(aws):
    ec2 = aws.client("ec2")
    vpc = demo_vpc(aws)
    plan(aws, {"kind": "commit_then_timeout", "delay_ms": 50, "match": {"action": "CreateSecurityGroup"},
               "max_count": 1})
    with pytest.raises(ConnectionClosedError):
        aws.client("ec2", config=NO_RETRY).create_security_group(GroupName="lost", Description="d", VpcId=vpc)
    names = [g["GroupName"] for g in ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]]
    assert "lost" in names
    entry = calls(aws, action="CreateSecurityGroup")[0]
    assert (entry["status"], entry["fault"], entry["mutating"]) == (200, "commit_then_timeout", True)


@pytest.mark.parametrize("mode", ["drop", "504"])
def test_client_token_makes_the_retry_after_a_timeout_safe(aws, mode):
    """botocore retries the lost answer; the ClientToken makes the retry return the same endpoint."""
    ec2 = aws.client("ec2")
    fx = aws.fixtures()["regions"]["us-east-1"]
    plan(aws, {"kind": "commit_then_timeout", "delay_ms": 20, "mode": mode,
               "match": {"action": "CreateVpcEndpoint"}, "max_count": 1})
    out = ec2.create_vpc_endpoint(VpcEndpointType="Interface", VpcId=fx["vpc_id"],
                                  ServiceName="com.amazonaws.us-east-1.s3", ClientToken=f"retry-{mode}",
                                  SubnetIds=[fx["subnets"]["private-a"]["id"]])
    assert out["ResponseMetadata"]["RetryAttempts"] == 1
    assert [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]] == [
        out["VpcEndpoint"]["VpcEndpointId"]]
    assert [c["fault"] for c in calls(aws, action="CreateVpcEndpoint")] == ["commit_then_timeout", None]


def test_slow_and_rate_are_deterministic(aws):
    ec2 = aws.client("ec2")
    plan(aws, {"kind": "slow", "delay_ms": 150, "match": {"action": "DescribeSubnets"}})
    start = time.monotonic()
    ec2.describe_subnets()
    assert time.monotonic() - start >= 0.15

    def pattern(seed: int) -> list:
        plan(aws, {"kind": "http_429", "rate": 0.5, "retry_after": 0, "match": {"action": "DescribeVpcs"}},
             seed=seed)
        aws.control("DELETE", "calls")
        client = aws.client("ec2", config=NO_RETRY)
        for _ in range(12):
            try:
                client.describe_vpcs()
            except ClientError:
                pass
        return [c["fault"] for c in calls(aws, action="DescribeVpcs")]

    first = pattern(3)
    assert first == pattern(3)
    assert 0 < first.count("http_429") < 12


def test_control_routes_are_never_faulted_nor_logged(aws):
    plan(aws, {"kind": "http_503"})
    assert aws.control("GET", "health") == (200, {"ok": True, "emulator": "aws"})
    assert aws.control("GET", "calls")[1] == []
    status, body = aws.control("POST", "faults", {"rules": [{"kind": "nope"}]})
    assert status == 400 and "kind" in body["error"]
    status, body = aws.control("POST", "faults", {"rules": [{"kind": "slow", "rate": 2}]})
    assert status == 400


def test_reset_clears_plan_calls_config_and_state(aws):
    ec2 = aws.client("ec2")
    vpc = demo_vpc(aws)
    ec2.create_security_group(GroupName="temp", Description="d", VpcId=vpc)
    plan(aws, {"kind": "slow", "delay_ms": 1, "match": {"action": "Nothing"}})
    status, cfg = aws.control("POST", "config", {"time_scale": 0.5, "delays": {"endpoint_pending": 1}})
    assert status == 200 and cfg["time_scale"] == 0.5 and cfg["delays"]["endpoint_pending"] == 1
    status, _ = aws.control("POST", "config", {"delays": {"no_such_delay": 1}})
    assert status == 400
    assert aws.control("POST", "reset")[0] == 200
    assert aws.control("GET", "faults")[1]["rules"] == []
    assert aws.control("GET", "calls")[1] == []
    cfg = aws.control("GET", "config")[1]
    assert cfg["time_scale"] == float(TEST_TIME_SCALE)
    assert cfg["delays"]["endpoint_pending"] == 60.0
    new_vpc = demo_vpc(aws)
    names = [g["GroupName"] for g in ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [new_vpc]}])["SecurityGroups"]]
    assert names == ["default"]


def test_databricks_faults_use_the_databricks_shape(aws):
    db = aws.env["DATABRICKS_HOST"]
    status, _ = http("POST", f"{db}/_plink/faults", {"rules": [
        {"kind": "http_429", "retry_after": 2, "match": {"method": "GET", "path_regex": "^/api/"}, "max_count": 1},
        {"kind": "http_503", "match": {"path_regex": "^/api/"}, "max_count": 1}]})
    assert status == 200

    def get(path: str):
        try:
            with urllib.request.urlopen(f"{db}{path}", timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"null")

    path = f"/api/2.0/accounts/{aws.env['DATABRICKS_ACCOUNT_ID']}/network-connectivity-configs"
    status, headers, body = get(path)
    assert status == 429 and headers["Retry-After"] == "2"
    assert body["error_code"] == "REQUEST_LIMIT_EXCEEDED" and body["message"]
    status, _, body = get(path)
    assert status == 503 and body["error_code"] == "TEMPORARILY_UNAVAILABLE"
    status, _, _ = get(path)
    assert status == 401  # no token: the emulator itself answers again
    logged = http("GET", f"{db}/_plink/calls")[1]
    assert [(c["status"], c["fault"], c["service"]) for c in logged] == [
        (429, "http_429", "databricks"), (503, "http_503", "databricks"), (401, None, "databricks")]
    assert http("GET", f"{db}/_plink/faults")[1]["rules"][0]["fired"] == 1
    # the AWS port has its own (empty) plan and log
    assert aws.control("GET", "faults")[1]["rules"] == []
    assert aws.control("GET", "calls")[1] == []


def test_a_rule_can_match_only_real_calls_or_only_dry_runs(aws):
    # plink's preflight dry-runs the calls a test may want to hold: `"dry_run": false` keeps the
    # rule for the real call.
    plan(aws, {"kind": "aws_throttle", "max_count": 1,
               "match": {"action": "CreateSecurityGroup", "dry_run": False}})
    ec2 = aws.client("ec2", config=NO_RETRY)
    vpc = demo_vpc(aws)
    with pytest.raises(ClientError) as exc:
        ec2.create_security_group(GroupName="dry", Description="d", VpcId=vpc, DryRun=True)
    assert exc.value.response["Error"]["Code"] == "DryRunOperation"
    with pytest.raises(ClientError) as exc:
        ec2.create_security_group(GroupName="real", Description="d", VpcId=vpc)
    assert exc.value.response["Error"]["Code"] == "RequestLimitExceeded"
    rule = aws.control("GET", "faults")[1]["rules"][0]
    assert (rule["matched"], rule["fired"]) == (1, 1)
