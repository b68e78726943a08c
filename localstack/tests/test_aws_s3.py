"""S3 on the AWS port (moto's S3 backend, path-style, plink_stack/aws/s3.py), seen through boto3 as
aws-sdk-rust with `force_path_style(true)` would use it: fixtures, bucket policies, errors, the call
log and the fault plan; plus the bucket-policy check of `bridge.s3_buckets_allow` in-process."""
from __future__ import annotations

import json
import sys

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from conftest import CUSTOMER, LOCALSTACK, STRANGER

sys.path.insert(0, str(LOCALSTACK))

PATH_STYLE = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 4, "mode": "standard"})
NO_RETRY = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1})
DENY_INSECURE = {
    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::plink-demo-logs", "arn:aws:s3:::plink-demo-logs/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
VPCE = "vpce-0123456789abcdef0"


def s3(aws, account: str = CUSTOMER, region: str = "us-east-1", config: Config = PATH_STYLE):
    return aws.client("s3", account=account, region=region, config=config)


def allow_statement(bucket: str, vpce: str, sid: str = "AllowDatabricksVpce", op: str = "StringEquals") -> dict:
    return {"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {op: {"aws:SourceVpce": vpce}}}


def calls(aws, **match) -> list[dict]:
    return [c for c in aws.control("GET", "calls")[1] if all(c[k] == v for k, v in match.items())]


def plan(aws, *rules, seed: int = 7) -> dict:
    status, body = aws.control("POST", "faults", {"seed": seed, "rules": list(rules)})
    assert status == 200, body
    return body


# --- fixtures and operations ---------------------------------------------------------------------------

def test_seeded_buckets(aws):
    c = s3(aws)
    names = [b["Name"] for b in c.list_buckets()["Buckets"]]
    assert sorted(names) == ["plink-demo-data", "plink-demo-logs", "plink-demo-west"]
    assert c.get_bucket_location(Bucket="plink-demo-data")["LocationConstraint"] is None  # us-east-1
    assert c.get_bucket_location(Bucket="plink-demo-west")["LocationConstraint"] == "us-west-2"
    head = c.head_bucket(Bucket="plink-demo-west")["ResponseMetadata"]["HTTPHeaders"]
    assert head["x-amz-bucket-region"] == "us-west-2"
    assert json.loads(c.get_bucket_policy(Bucket="plink-demo-logs")["Policy"]) == {
        "Version": "2012-10-17", "Statement": [DENY_INSECURE]}
    with pytest.raises(ClientError) as exc:
        c.get_bucket_policy(Bucket="plink-demo-data")
    err = exc.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("NoSuchBucketPolicy", 404)

    listed = {b["name"]: b for b in aws.fixtures()["s3_buckets"]}
    assert {n: b["region"] for n, b in listed.items()} == {
        "plink-demo-data": "us-east-1", "plink-demo-logs": "us-east-1", "plink-demo-west": "us-west-2"}
    assert listed["plink-demo-logs"]["policy"]["Statement"] == [DENY_INSECURE]
    assert listed["plink-demo-data"]["policy"] is None


def test_policy_round_trip_keeps_the_other_teams_statement(aws):
    c = s3(aws)
    current = json.loads(c.get_bucket_policy(Bucket="plink-demo-logs")["Policy"])
    merged = {**current, "Statement": current["Statement"] + [allow_statement("plink-demo-logs", VPCE)]}
    c.put_bucket_policy(Bucket="plink-demo-logs", Policy=json.dumps(merged))
    got = json.loads(c.get_bucket_policy(Bucket="plink-demo-logs")["Policy"])
    assert [s["Sid"] for s in got["Statement"]] == ["DenyInsecureTransport", "AllowDatabricksVpce"]
    assert got["Statement"][0] == DENY_INSECURE
    c.delete_bucket_policy(Bucket="plink-demo-logs")
    with pytest.raises(ClientError) as exc:
        c.get_bucket_policy(Bucket="plink-demo-logs")
    assert exc.value.response["Error"]["Code"] == "NoSuchBucketPolicy"
    # a reset brings the fixture back
    assert aws.control("POST", "reset")[0] == 200
    assert json.loads(c.get_bucket_policy(Bucket="plink-demo-logs")["Policy"])["Statement"] == [DENY_INSECURE]


def test_unknown_bucket_errors(aws):
    c = s3(aws, config=NO_RETRY)
    for op, kw in (("get_bucket_policy", {}), ("get_bucket_location", {}),
                   ("put_bucket_policy", {"Policy": json.dumps({"Version": "2012-10-17", "Statement": [
                       allow_statement("plink-nope-bucket", VPCE)]})}),
                   ("delete_bucket_policy", {})):
        with pytest.raises(ClientError) as exc:
            getattr(c, op)(Bucket="plink-nope-bucket", **kw)
        err = exc.value.response
        assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("NoSuchBucket", 404), op
    with pytest.raises(ClientError) as exc:
        c.head_bucket(Bucket="plink-nope-bucket")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


@pytest.mark.parametrize("policy, message", [
    ("not json", "Policies must be valid JSON and the first byte must be '{'"),
    ({"Version": "2012-10-17", "Statement": []}, "Missing required field Statement"),
    ({"Statement": [{**allow_statement("plink-demo-data", VPCE), "Effect": "Maybe"}]}, "Invalid effect: Maybe"),
    ({"Statement": [{k: v for k, v in allow_statement("plink-demo-data", VPCE).items() if k != "Principal"}]},
     "Missing required field Principal"),
    ({"Statement": [{**allow_statement("plink-demo-data", VPCE), "Action": "ec2:*"}]}, "Policy has invalid action"),
    ({"Statement": [allow_statement("plink-demo-logs", VPCE)]}, "Policy has invalid resource"),
])
def test_malformed_policies_are_refused(aws, policy, message):
    c = s3(aws, config=NO_RETRY)
    with pytest.raises(ClientError) as exc:
        c.put_bucket_policy(Bucket="plink-demo-data", Policy=policy if isinstance(policy, str) else json.dumps(policy))
    err = exc.value.response
    assert (err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]) == \
        ("MalformedPolicy", message, 400)
    with pytest.raises(ClientError, match="NoSuchBucketPolicy"):
        c.get_bucket_policy(Bucket="plink-demo-data")


def test_accounts_and_the_global_namespace(aws):
    c = s3(aws)
    c.create_bucket(Bucket="plink-test-created")
    west = s3(aws, region="us-west-2")
    west.create_bucket(Bucket="plink-test-west-2", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert c.get_bucket_location(Bucket="plink-test-west-2")["LocationConstraint"] == "us-west-2"
    stranger = s3(aws, account=STRANGER, config=NO_RETRY)
    assert stranger.list_buckets()["Buckets"] == []  # ListBuckets is per account
    with pytest.raises(ClientError) as exc:  # bucket names are global
        stranger.create_bucket(Bucket="plink-demo-data")
    assert exc.value.response["Error"]["Code"] == "BucketAlreadyExists"


def test_object_writes_are_not_denied_by_a_conditional_statement(aws):
    """moto would apply the DenyInsecureTransport statement without its Condition; the stack skips
    conditional statements on the data path."""
    c = s3(aws)
    c.put_object(Bucket="plink-demo-logs", Key="a/b.txt", Body=b"hello")
    assert c.get_object(Bucket="plink-demo-logs", Key="a/b.txt")["Body"].read() == b"hello"
    c.put_bucket_policy(Bucket="plink-demo-data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::plink-demo-data/*"}]}))
    c.put_object(Bucket="plink-demo-data", Key="k", Body=b"x")
    with pytest.raises(ClientError):  # an unconditional Deny still applies
        s3(aws, config=NO_RETRY).get_object(Bucket="plink-demo-data", Key="k")


# --- call log and faults --------------------------------------------------------------------------------

def test_call_log_names_s3_operations(aws):
    c = s3(aws)
    aws.control("DELETE", "calls")
    c.list_buckets()
    c.create_bucket(Bucket="plink-test-log")
    c.head_bucket(Bucket="plink-test-log")
    c.get_bucket_location(Bucket="plink-test-log")
    c.put_bucket_policy(Bucket="plink-test-log", Policy=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow_statement("plink-test-log", VPCE)]}))
    c.get_bucket_policy(Bucket="plink-test-log")
    c.delete_bucket_policy(Bucket="plink-test-log")
    with pytest.raises(ClientError):
        c.get_bucket_policy(Bucket="plink-test-log")
    c.put_object(Bucket="plink-test-log", Key="k", Body=b"v")
    c.list_objects_v2(Bucket="plink-test-log")
    log = [(e["service"], e["action"], e["method"], e["status"], e["mutating"]) for e in aws.control("GET", "calls")[1]]
    assert log == [
        ("s3", "ListBuckets", "GET", 200, False),
        ("s3", "CreateBucket", "PUT", 200, True),
        ("s3", "HeadBucket", "HEAD", 200, False),
        ("s3", "GetBucketLocation", "GET", 200, False),
        ("s3", "PutBucketPolicy", "PUT", 204, True),
        ("s3", "GetBucketPolicy", "GET", 200, False),
        ("s3", "DeleteBucketPolicy", "DELETE", 204, True),
        ("s3", "GetBucketPolicy", "GET", 404, False),
        ("s3", "PutObject", "PUT", 200, True),
        ("s3", "ListObjectsV2", "GET", 200, False),
    ]
    assert calls(aws, action="CreateBucket")[0]["path"] == "/plink-test-log"


def test_throttling_on_put_bucket_policy_is_retryable(aws):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [allow_statement("plink-demo-data", VPCE)]})
    plan(aws, {"kind": "aws_throttle", "match": {"service": "s3", "action": "PutBucketPolicy"}, "max_count": 1})
    out = s3(aws).put_bucket_policy(Bucket="plink-demo-data", Policy=policy)
    assert out["ResponseMetadata"]["RetryAttempts"] == 1
    seen = calls(aws, action="PutBucketPolicy")
    assert [(c["status"], c["fault"], c["mutating"]) for c in seen] == [(503, "aws_throttle", True), (204, None, True)]

    plan(aws, {"kind": "aws_throttle", "match": {"action": "PutBucketPolicy"}})
    with pytest.raises(ClientError) as exc:
        s3(aws, config=NO_RETRY).put_bucket_policy(Bucket="plink-demo-data", Policy=policy)
    err = exc.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("SlowDown", 503)
    assert err["Error"]["Message"] == "Please reduce your request rate."
    assert err["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    # botocore's standard retry mode classifies it as throttling
    from botocore.retries.standard import RetryContext, ThrottledRetryableChecker
    ctx = RetryContext(attempt_number=1, parsed_response=err, http_response=None, caught_exception=None)
    assert ThrottledRetryableChecker().is_retryable(ctx)


def test_429_503_head_and_commit_then_timeout(aws):
    plan(aws, {"kind": "http_429", "retry_after": 2, "match": {"action": "GetBucketPolicy"}},
         {"kind": "http_503", "match": {"action": "HeadBucket"}},
         {"kind": "commit_then_timeout", "delay_ms": 50, "match": {"action": "PutBucketPolicy"}, "max_count": 1})
    c = s3(aws, config=NO_RETRY)
    with pytest.raises(ClientError) as exc:
        c.get_bucket_policy(Bucket="plink-demo-logs")
    err = exc.value.response
    assert (err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]) == ("Throttling", 429)
    assert err["ResponseMetadata"]["HTTPHeaders"]["retry-after"] == "2"
    with pytest.raises(ClientError) as exc:
        c.head_bucket(Bucket="plink-demo-logs")  # HEAD: status only, no body
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    policy = json.dumps({"Version": "2012-10-17", "Statement": [allow_statement("plink-demo-data", VPCE)]})
    with pytest.raises(ConnectionClosedError):
        c.put_bucket_policy(Bucket="plink-demo-data", Policy=policy)
    aws.control("DELETE", "faults")
    assert json.loads(c.get_bucket_policy(Bucket="plink-demo-data")["Policy"]) == json.loads(policy)  # committed


# --- the bucket-policy check the Databricks side uses ---------------------------------------------------

@pytest.mark.parametrize("condition, allowed", [
    ({"StringEquals": {"aws:SourceVpce": VPCE}}, True),
    ({"StringEquals": {"aws:sourcevpce": [VPCE, "vpce-other"]}}, True),
    ({"StringEqualsIgnoreCase": {"AWS:SourceVpce": VPCE.upper()}}, True),
    ({"StringLike": {"aws:SourceVpce": "vpce-0123*"}}, True),
    ({"ForAnyValue:StringEquals": {"aws:SourceVpce": [VPCE]}}, True),
    ({"StringEquals": {"aws:SourceVpce": VPCE.upper()}}, False),
    ({"StringEquals": {"aws:SourceVpce": "vpce-other"}}, False),
    ({"StringNotEquals": {"aws:SourceVpce": VPCE}}, False),
    ({"StringEquals": {"aws:SourceVpc": VPCE}}, False),
    ({"StringLike": {"aws:SourceVpce": "vpce-9*"}}, False),
    (None, False),
])
def test_source_vpce_condition_forms(condition, allowed):
    from plink_stack.aws import s3 as aws_s3

    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    if condition is not None:
        statement["Condition"] = condition
    assert aws_s3.source_vpce_allowed(json.dumps({"Statement": [statement]}), VPCE) is allowed
    assert aws_s3.source_vpce_allowed(json.dumps({"Statement": {**statement, "Effect": "Deny"}}), VPCE) is False


def test_s3_buckets_allow_in_process():
    from moto.s3.models import s3_backends

    from plink_stack.aws import app as aws_app
    from plink_stack.aws import bridge, install

    install()
    aws_app.reset()
    backend = s3_backends[CUSTOMER]["aws"]

    def put(bucket, *statements):
        backend.put_bucket_policy(bucket, json.dumps({"Version": "2012-10-17", "Statement": list(statements)}).encode())

    both = ["plink-demo-data", "plink-demo-logs"]
    reason = bridge.s3_buckets_allow("us-east-1", both, VPCE)
    assert reason.startswith("bucket plink-demo-data: ") and "bucket plink-demo-logs: no statement allows " \
        f"aws:SourceVpce {VPCE}" in reason
    put("plink-demo-logs", DENY_INSECURE, allow_statement("plink-demo-logs", VPCE))
    assert bridge.s3_buckets_allow("us-east-1", ["plink-demo-logs"], VPCE) is None
    assert bridge.s3_buckets_allow("us-east-1", both, VPCE) == \
        f"bucket plink-demo-data: has no bucket policy allowing aws:SourceVpce {VPCE}"
    put("plink-demo-data", allow_statement("plink-demo-data", "vpce-other"))
    assert bridge.s3_buckets_allow("us-east-1", both, VPCE) == \
        f"bucket plink-demo-data: no statement allows aws:SourceVpce {VPCE}"
    put("plink-demo-data", allow_statement("plink-demo-data", VPCE, op="StringLike"))
    assert bridge.s3_buckets_allow("us-east-1", both, VPCE) is None
    put("plink-demo-west", allow_statement("plink-demo-west", VPCE))
    assert bridge.s3_buckets_allow("us-east-1", ["plink-demo-west"], VPCE) == \
        "bucket plink-demo-west: is in us-west-2, not us-east-1"
    assert bridge.s3_buckets_allow("us-east-1", ["plink-nope-bucket"], VPCE) == \
        "bucket plink-nope-bucket: does not exist"
    aws_app.reset()


def test_versioning_is_answered_with_s3s_root_element_and_conditional_writes_hold(aws):
    client = s3(aws)
    client.create_bucket(Bucket="plink-versioning")
    raw = []
    client.meta.events.register("after-call.s3.GetBucketVersioning",
                                lambda http_response, **_: raw.append(http_response.content))
    assert "Status" not in client.get_bucket_versioning(Bucket="plink-versioning")
    assert b"<VersioningConfiguration" in raw[0], raw  # the root aws-sdk-rust checks
    client.put_bucket_versioning(Bucket="plink-versioning",
                                 VersioningConfiguration={"Status": "Enabled"})
    assert client.get_bucket_versioning(Bucket="plink-versioning")["Status"] == "Enabled"
    # The state's writes (issue #14): If-None-Match: * creates once, If-Match replaces the read.
    first = client.put_object(Bucket="plink-versioning", Key="s", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        client.put_object(Bucket="plink-versioning", Key="s", Body=b"2", IfNoneMatch="*")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    client.put_object(Bucket="plink-versioning", Key="s", Body=b"2", IfMatch=first["ETag"])
    with pytest.raises(ClientError):
        client.put_object(Bucket="plink-versioning", Key="s", Body=b"3", IfMatch=first["ETag"])
