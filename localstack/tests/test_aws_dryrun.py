"""EC2 `DryRun` and denied actions (plink_stack/aws/dry_run.py, plink_stack/aws/permissions.py,
`/_plink/deny`), seen through boto3 as plink's preflight uses them: for every EC2 action plink makes,
a dry run of an allowed action answers 412 `DryRunOperation` and changes nothing, a dry run of a
denied action answers 403 `UnauthorizedOperation`, a denied real call answers 403 and changes
nothing; ELBv2, S3, STS and RDS denials answer `AccessDenied` in their own wire shapes; the call log
counts none of them as mutating."""
from __future__ import annotations

import json
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from conftest import CUSTOMER, STRANGER, http, wait_for
from test_aws_faults import NO_RETRY, calls
from test_aws_privatelink import DBX_ROLE, REGION, build_service, code, consumer_endpoint
from test_aws_s3 import NO_RETRY as S3_NO_RETRY
from test_aws_s3 import s3

HTTPS = [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}]
ROOT = f"arn:aws:iam::{CUSTOMER}:root"
DEPLOYER = f"arn:aws:iam::{CUSTOMER}:role/plink-deployer"


def tagged(resource_type: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "plink:managed-by", "Value": "plink"}]}]


def deny(aws, *actions: str, principals: list[str] | None = None) -> dict:
    body: dict = {"actions": list(actions)}
    if principals is not None:
        body["principals"] = principals
    status, answer = aws.control("POST", "deny", body)
    assert status == 200, answer
    return answer


def error(exc: pytest.ExceptionInfo) -> tuple[int, str, str]:
    response = exc.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return status, response["Error"]["Code"], response["Error"].get("Message", "")


def world(aws) -> dict:
    """What plink's EC2 calls act on: an Available endpoint service (NLB, security group with an
    HTTPS rule) with Databricks' endpoint pendingAcceptance, an S3 interface endpoint in one subnet,
    a spare security group and an instance."""
    ec2 = aws.client("ec2")
    w = build_service(aws)
    ec2.authorize_security_group_ingress(GroupId=w["sg"], IpPermissions=HTTPS)
    ec2.create_tags(Resources=[w["sg"]], Tags=[{"Key": "plink", "Value": "nlb"}])
    _, w["consumer_vpce"] = consumer_endpoint(aws, w["name"], credentials=aws.assume(DBX_ROLE))
    w["s3_vpce"] = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface", VpcId=w["vpc"], ServiceName=f"com.amazonaws.{REGION}.s3",
        SubnetIds=w["subnets"][:1])["VpcEndpoint"]["VpcEndpointId"]
    wait_for(lambda: snapshot(aws)["endpoints"][w["s3_vpce"]][0] == "available", what="S3 endpoint available")
    w["spare_sg"] = ec2.create_security_group(GroupName="spare", Description="d", VpcId=w["vpc"])["GroupId"]
    w["instance"] = ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1,
                                      SubnetId=w["subnets"][0])["Instances"][0]["InstanceId"]
    return w


def snapshot(aws) -> dict:
    """Everything plink's EC2 calls could change, as describe calls show it."""
    ec2 = aws.client("ec2")
    services = ec2.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]
    return {
        "groups": {g["GroupId"]: (g["GroupName"], json.dumps(g["IpPermissions"], sort_keys=True))
                   for g in ec2.describe_security_groups()["SecurityGroups"]},
        "endpoints": {e["VpcEndpointId"]: (e["State"], sorted(e.get("SubnetIds", [])))
                      for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]},
        "services": {s["ServiceId"]: (s["ServiceState"], s["AcceptanceRequired"], sorted(
            p["Principal"] for p in ec2.describe_vpc_endpoint_service_permissions(
                ServiceId=s["ServiceId"])["AllowedPrincipals"])) for s in services},
        "connections": {c["VpcEndpointId"]: c["VpcEndpointState"]
                        for c in ec2.describe_vpc_endpoint_connections()["VpcEndpointConnections"]},
        "tags": sorted((t["ResourceId"], t["Key"], t["Value"]) for t in ec2.describe_tags()["Tags"]),
        "instances": {i["InstanceId"]: i["State"]["Name"] for r in ec2.describe_instances()["Reservations"]
                      for i in r["Instances"]},
    }


# Every EC2 action plink makes (src/aws/*.rs, src/aws/iam.rs) and the other changes the brief names,
# each called on the world with `**kw` (DryRun=True or nothing).
ACTIONS: dict[str, Callable[..., Any]] = {
    "CreateSecurityGroup": lambda ec2, w, **kw: ec2.create_security_group(
        GroupName="plink-new", Description="d", VpcId=w["vpc"], TagSpecifications=tagged("security-group"), **kw),
    "AuthorizeSecurityGroupIngress": lambda ec2, w, **kw: ec2.authorize_security_group_ingress(
        GroupId=w["spare_sg"], IpPermissions=HTTPS, **kw),
    "RevokeSecurityGroupIngress": lambda ec2, w, **kw: ec2.revoke_security_group_ingress(
        GroupId=w["sg"], IpPermissions=HTTPS, **kw),
    "DeleteSecurityGroup": lambda ec2, w, **kw: ec2.delete_security_group(GroupId=w["spare_sg"], **kw),
    "CreateVpcEndpoint": lambda ec2, w, **kw: ec2.create_vpc_endpoint(
        VpcEndpointType="Interface", VpcId=w["vpc"], ServiceName=w["name"], SubnetIds=w["subnets"],
        SecurityGroupIds=[w["sg"]], ClientToken="plink-dry", TagSpecifications=tagged("vpc-endpoint"), **kw),
    "ModifyVpcEndpoint": lambda ec2, w, **kw: ec2.modify_vpc_endpoint(
        VpcEndpointId=w["s3_vpce"], AddSubnetIds=w["subnets"][1:], **kw),
    "DeleteVpcEndpoints": lambda ec2, w, **kw: ec2.delete_vpc_endpoints(VpcEndpointIds=[w["s3_vpce"]], **kw),
    "CreateVpcEndpointServiceConfiguration": lambda ec2, w, **kw: ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[w["lb"]], AcceptanceRequired=True,
        TagSpecifications=tagged("vpc-endpoint-service"), **kw),
    "ModifyVpcEndpointServicePermissions": lambda ec2, w, **kw: ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=w["id"], AddAllowedPrincipals=[f"arn:aws:iam::{STRANGER}:root"], **kw),
    "ModifyVpcEndpointServiceConfiguration": lambda ec2, w, **kw: ec2.modify_vpc_endpoint_service_configuration(
        ServiceId=w["id"], AcceptanceRequired=False, **kw),
    "AcceptVpcEndpointConnections": lambda ec2, w, **kw: ec2.accept_vpc_endpoint_connections(
        ServiceId=w["id"], VpcEndpointIds=[w["consumer_vpce"]], **kw),
    "RejectVpcEndpointConnections": lambda ec2, w, **kw: ec2.reject_vpc_endpoint_connections(
        ServiceId=w["id"], VpcEndpointIds=[w["consumer_vpce"]], **kw),
    "DeleteVpcEndpointServiceConfigurations": lambda ec2, w, **kw: ec2.delete_vpc_endpoint_service_configurations(
        ServiceIds=[w["id"]], **kw),
    "CreateTags": lambda ec2, w, **kw: ec2.create_tags(
        Resources=[w["spare_sg"]], Tags=[{"Key": "new", "Value": "tag"}], **kw),
    "DeleteTags": lambda ec2, w, **kw: ec2.delete_tags(Resources=[w["sg"]], Tags=[{"Key": "plink"}], **kw),
    "RunInstances": lambda ec2, w, **kw: ec2.run_instances(
        ImageId="ami-12345678", MinCount=1, MaxCount=1, SubnetId=w["subnets"][0], **kw),
    "TerminateInstances": lambda ec2, w, **kw: ec2.terminate_instances(InstanceIds=[w["instance"]], **kw),
}
READS: dict[str, Callable[..., Any]] = {  # the describe calls of a preflight
    "DescribeVpcs": lambda ec2, w, **kw: ec2.describe_vpcs(**kw),
    "DescribeSubnets": lambda ec2, w, **kw: ec2.describe_subnets(**kw),
    "DescribeSecurityGroups": lambda ec2, w, **kw: ec2.describe_security_groups(**kw),
    "DescribeVpcEndpoints": lambda ec2, w, **kw: ec2.describe_vpc_endpoints(**kw),
    "DescribeVpcEndpointServiceConfigurations":
        lambda ec2, w, **kw: ec2.describe_vpc_endpoint_service_configurations(**kw),
    "DescribeVpcEndpointServicePermissions":
        lambda ec2, w, **kw: ec2.describe_vpc_endpoint_service_permissions(ServiceId=w["id"], **kw),
    "DescribeVpcEndpointConnections": lambda ec2, w, **kw: ec2.describe_vpc_endpoint_connections(**kw),
    "DescribeNetworkInterfaces": lambda ec2, w, **kw: ec2.describe_network_interfaces(**kw),
    "DescribeInstances": lambda ec2, w, **kw: ec2.describe_instances(**kw),
}


def answers(aws, ec2, w: dict, actions: dict, **kw) -> dict[str, tuple[int, str, str]]:
    """(status, error code, message) of each action called once on the world by this client; the
    state (seen by the account root) unchanged after each."""
    before = snapshot(aws)
    got = {}
    for name, call in actions.items():
        with pytest.raises(ClientError) as exc:
            call(ec2, w, **kw)
        got[name] = error(exc)
        assert snapshot(aws) == before, f"{name} changed the state"
    return got


def test_a_dry_run_of_an_allowed_action_answers_dry_run_operation_and_changes_nothing(aws):
    w = world(aws)
    aws.control("DELETE", "calls")
    got = answers(aws, aws.client("ec2", config=NO_RETRY), w, {**ACTIONS, **READS}, DryRun=True)
    wrong = {k: v for k, v in got.items() if v[:2] != (412, "DryRunOperation")}
    assert wrong == {}
    assert {m for _, _, m in got.values()} == {"Request would have succeeded, but DryRun flag is set."}
    # the preflight made no mutating call: every entry is a dry run that answered 412
    logged = [c for c in calls(aws) if c["service"] == "ec2" and c["dry_run"]]
    assert sorted(c["action"] for c in logged) == sorted({**ACTIONS, **READS})
    assert all(c["status"] == 412 and c["mutating"] is False and c["fault"] is None for c in logged)
    assert [c for c in calls(aws) if c["mutating"]] == []


def test_a_dry_run_of_a_denied_action_answers_unauthorized_operation(aws):
    """plink's deployer role is denied everything; the account root, which looks, is not."""
    w = world(aws)
    deny(aws, *(f"ec2:{a}" for a in {**ACTIONS, **READS}), principals=[DEPLOYER])
    deployer = aws.client("ec2", config=NO_RETRY, credentials=aws.assume(DEPLOYER))
    aws.control("DELETE", "calls")
    got = answers(aws, deployer, w, {**ACTIONS, **READS}, DryRun=True)
    session = f"arn:aws:sts::{CUSTOMER}:assumed-role/plink-deployer/plink-test"
    for name, (status, err, message) in got.items():
        assert (status, err) == (403, "UnauthorizedOperation"), name
        assert message.startswith("You are not authorized to perform this operation. "
                                  f"User: {session} is not authorized to perform: ec2:{name} because no "
                                  f"identity-based policy allows the ec2:{name} action. "
                                  "Encoded authorization failure message: "), message
    logged = [c for c in calls(aws) if c["service"] == "ec2" and c["dry_run"]]
    assert len(logged) == len(got)
    assert all((c["status"], c["fault"], c["mutating"], c["dry_run"]) == (403, "deny", False, True)
               for c in logged)


def test_a_denied_real_call_answers_403_and_changes_nothing(aws):
    w = world(aws)
    deny(aws, *(f"ec2:{a}" for a in ACTIONS))
    aws.control("DELETE", "calls")
    got = answers(aws, aws.client("ec2", config=NO_RETRY), w, ACTIONS)
    assert {k: v[:2] for k, v in got.items() if v[:2] != (403, "UnauthorizedOperation")} == {}
    logged = [c for c in calls(aws) if c["fault"] == "deny"]
    assert sorted(c["action"] for c in logged) == sorted(ACTIONS)
    assert all((c["status"], c["mutating"], c["dry_run"]) == (403, False, False) for c in logged)
    # allowed again once the denials are cleared: the real calls run
    assert aws.control("DELETE", "deny") == (200, {"ok": True})
    ec2 = aws.client("ec2")
    ACTIONS["CreateSecurityGroup"](ec2, w)
    assert "plink-new" in [name for name, _ in snapshot(aws)["groups"].values()]
    assert [c["mutating"] for c in calls(aws, action="CreateSecurityGroup")][-1] is True


def test_a_dry_run_checks_what_the_request_names(aws):
    """The real call's own refusals of unknown resources come before 412 (dry_run.py)."""
    w = world(aws)
    ec2 = aws.client("ec2", config=NO_RETRY)
    unknown = {
        "DeleteSecurityGroup": (lambda: ec2.delete_security_group(GroupId="sg-0123456789abcdef0", DryRun=True),
                                "InvalidGroup.NotFound"),
        "AuthorizeSecurityGroupIngress": (lambda: ec2.authorize_security_group_ingress(
            GroupId="sg-0123456789abcdef0", IpPermissions=HTTPS, DryRun=True), "InvalidGroup.NotFound"),
        "CreateSecurityGroup": (lambda: ec2.create_security_group(
            GroupName="x", Description="d", VpcId="vpc-0123456789abcdef0", DryRun=True), "InvalidVpcID.NotFound"),
        "CreateVpcEndpoint": (lambda: ec2.create_vpc_endpoint(
            VpcEndpointType="Interface", VpcId=w["vpc"], SubnetIds=w["subnets"][:1], DryRun=True,
            ServiceName=f"com.amazonaws.vpce.{REGION}.vpce-svc-0123456789abcdef0"), "InvalidServiceName"),
        "ModifyVpcEndpoint": (lambda: ec2.modify_vpc_endpoint(VpcEndpointId="vpce-0123456789abcdef0", DryRun=True),
                              "InvalidVpcEndpointId.NotFound"),
        "CreateVpcEndpointServiceConfiguration": (
            lambda: ec2.create_vpc_endpoint_service_configuration(DryRun=True), "InvalidParameter"),
        "ModifyVpcEndpointServicePermissions": (lambda: ec2.modify_vpc_endpoint_service_permissions(
            ServiceId="vpce-svc-0123456789abcdef0", AddAllowedPrincipals=["*"], DryRun=True),
            "InvalidVpcEndpointServiceId.NotFound"),
        "AcceptVpcEndpointConnections": (lambda: ec2.accept_vpc_endpoint_connections(
            ServiceId="vpce-svc-0123456789abcdef0", VpcEndpointIds=[w["consumer_vpce"]], DryRun=True),
            "InvalidVpcEndpointServiceId.NotFound"),
        "CreateTags": (lambda: ec2.create_tags(Resources=["sg-0123456789abcdef0"], Tags=[{"Key": "k", "Value": "v"}],
                                               DryRun=True), "InvalidGroup.NotFound"),
        "TerminateInstances": (lambda: ec2.terminate_instances(InstanceIds=["i-0123456789abcdef0"], DryRun=True),
                               "InvalidInstanceID.NotFound"),
    }
    before = snapshot(aws)
    got = {}
    for name, (call, _) in unknown.items():
        with pytest.raises(ClientError) as exc:
            call()
        got[name] = code(exc)
    assert got == {name: want for name, (_, want) in unknown.items()}
    assert snapshot(aws) == before
    # what only the execution finds is no dry-run error: a duplicate name, a pending connection
    with pytest.raises(ClientError) as exc:
        ec2.create_security_group(GroupName="spare", Description="d", VpcId=w["vpc"], DryRun=True)
    assert code(exc) == "DryRunOperation"
    # a denial is decided first, whatever the request names
    deny(aws, "ec2:DeleteSecurityGroup")
    with pytest.raises(ClientError) as exc:
        ec2.delete_security_group(GroupId="sg-0123456789abcdef0", DryRun=True)
    assert code(exc) == "UnauthorizedOperation"


def test_a_dry_run_does_not_use_up_its_client_token(aws):
    w = world(aws)
    ec2 = aws.client("ec2", config=NO_RETRY)
    with pytest.raises(ClientError) as exc:
        ACTIONS["CreateVpcEndpoint"](ec2, w, DryRun=True)
    assert code(exc) == "DryRunOperation"
    # same token, other parameters: no IdempotentParameterMismatch, the dry run left no trace
    vpce = ec2.create_vpc_endpoint(VpcEndpointType="Interface", VpcId=w["vpc"], ServiceName=w["name"],
                                   SubnetIds=w["subnets"][:1], ClientToken="plink-dry")["VpcEndpoint"]
    assert vpce["VpcEndpointId"] in snapshot(aws)["endpoints"]


def test_tagging_on_create_needs_the_tagging_action(aws):
    """AWS authorizes the tags of a create as `ec2:CreateTags` / `elasticloadbalancing:AddTags`."""
    fx = aws.fixtures()["regions"][REGION]
    ec2, elb = aws.client("ec2", config=NO_RETRY), aws.client("elbv2", config=NO_RETRY)
    deny(aws, "ec2:CreateTags", "elasticloadbalancing:AddTags")
    for kw in ({"DryRun": True}, {}):
        with pytest.raises(ClientError) as exc:
            ec2.create_security_group(GroupName="tagged", Description="d", VpcId=fx["vpc_id"],
                                      TagSpecifications=tagged("security-group"), **kw)
        status, err, message = error(exc)
        assert (status, err) == (403, "UnauthorizedOperation") and "perform: ec2:CreateTags because" in message
    ec2.create_security_group(GroupName="untagged", Description="d", VpcId=fx["vpc_id"])
    subnets = [fx["subnets"]["private-a"]["id"], fx["subnets"]["private-b"]["id"]]
    with pytest.raises(ClientError) as exc:
        elb.create_load_balancer(Name="tagged", Type="network", Scheme="internal", Subnets=subnets,
                                 Tags=[{"Key": "plink:managed-by", "Value": "plink"}])
    assert error(exc)[:2] == (403, "AccessDenied")
    assert "perform: elasticloadbalancing:AddTags because" in error(exc)[2]
    elb.create_load_balancer(Name="untagged", Type="network", Scheme="internal", Subnets=subnets)
    assert [lb["LoadBalancerName"] for lb in elb.describe_load_balancers()["LoadBalancers"]] == ["untagged"]


def test_a_denied_elbv2_action_answers_access_denied_and_creates_nothing(aws):
    fx = aws.fixtures()["regions"][REGION]
    elb = aws.client("elbv2", config=NO_RETRY)
    deny(aws, "elasticloadbalancing:CreateLoadBalancer")
    with pytest.raises(ClientError) as exc:
        elb.create_load_balancer(Name="plink-nlb", Type="network", Scheme="internal",
                                 Subnets=[fx["subnets"]["private-a"]["id"], fx["subnets"]["private-b"]["id"]])
    assert error(exc) == (403, "AccessDenied", (
        f"User: {ROOT} is not authorized to perform: elasticloadbalancing:CreateLoadBalancer because no "
        "identity-based policy allows the elasticloadbalancing:CreateLoadBalancer action"))
    assert exc.value.response["Error"]["Type"] == "Sender"
    assert elb.describe_load_balancers()["LoadBalancers"] == []  # reads stay allowed
    entry = calls(aws, action="CreateLoadBalancer")[0]
    assert (entry["service"], entry["status"], entry["fault"], entry["mutating"]) == ("elbv2", 403, "deny", False)


def test_a_denied_s3_action_answers_access_denied_in_s3s_shape(aws):
    bucket = s3(aws, config=S3_NO_RETRY)
    deny(aws, "s3:PutBucketPolicy", "s3:ListBucket")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::plink-demo-data/*"}]})
    with pytest.raises(ClientError) as exc:
        bucket.put_bucket_policy(Bucket="plink-demo-data", Policy=policy)
    assert error(exc) == (403, "AccessDenied", (
        f"User: {ROOT} is not authorized to perform: s3:PutBucketPolicy on resource: "
        "\"arn:aws:s3:::plink-demo-data\" because no identity-based policy allows the s3:PutBucketPolicy action"))
    assert exc.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"]
    with pytest.raises(ClientError) as exc:  # nothing was stored
        bucket.get_bucket_policy(Bucket="plink-demo-data")
    assert code(exc) == "NoSuchBucketPolicy"
    with pytest.raises(ClientError) as exc:  # HeadBucket needs s3:ListBucket; a HEAD answer has no body
        bucket.head_bucket(Bucket="plink-demo-data")
    assert error(exc)[:2] == (403, "403")
    assert bucket.get_bucket_location(Bucket="plink-demo-data")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [(c["action"], c["status"], c["fault"], c["mutating"]) for c in calls(aws, service="s3")][:2] == [
        ("PutBucketPolicy", 403, "deny", False), ("GetBucketPolicy", 404, None, False)]


def test_sts_and_rds_denials_and_get_caller_identity(aws):
    deny(aws, "sts:*", "rds:Describe*")
    with pytest.raises(ClientError) as exc:
        aws.client("rds", config=NO_RETRY).describe_db_instances()
    assert error(exc)[:2] == (403, "AccessDenied") and "perform: rds:DescribeDBInstances because" in error(exc)[2]
    sts = aws.client("sts", config=NO_RETRY)
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=DBX_ROLE, RoleSessionName="plink-test")
    assert error(exc)[:2] == (403, "AccessDenied")
    # "No permissions are required to perform this operation" (STS): never denied, not even by sts:*
    assert sts.get_caller_identity()["Account"] == CUSTOMER
    status, body = aws.control("POST", "deny", {"actions": ["sts:GetCallerIdentity"]})
    assert status == 400 and "cannot be denied" in body["error"]


def test_denials_for_some_principals_wildcards_and_case(aws):
    deny(aws, "EC2:describe*", principals=[DEPLOYER])
    aws.client("ec2").describe_vpcs()  # the account root is not the role
    with pytest.raises(ClientError) as exc:
        aws.client("ec2", config=NO_RETRY, credentials=aws.assume(DEPLOYER)).describe_vpcs()
    assert code(exc) == "UnauthorizedOperation"
    deny(aws, "ec2:Create?ecurityGroup", principals=[ROOT])  # `root`: every principal of the account
    got = []
    for client in (aws.client("ec2", config=NO_RETRY),
                   aws.client("ec2", config=NO_RETRY, credentials=aws.assume(DEPLOYER)),
                   aws.client("ec2", config=NO_RETRY, account=STRANGER)):
        with pytest.raises(ClientError) as exc:
            client.create_security_group(GroupName="x", Description="d", DryRun=True)
        got.append(code(exc))
    assert got == ["UnauthorizedOperation", "UnauthorizedOperation", "DryRunOperation"]


def test_the_deny_route(aws):
    assert aws.control("GET", "deny") == (200, {"actions": [], "principals": ["*"]})
    assert deny(aws, "ec2:CreateVpcEndpoint") == {"actions": ["ec2:CreateVpcEndpoint"], "principals": ["*"]}
    assert aws.control("GET", "deny")[1]["actions"] == ["ec2:CreateVpcEndpoint"]
    for bad in ({"actions": ["elbv2:CreateLoadBalancer"]}, {"actions": ["CreateVpcEndpoint"]},
                {"actions": "ec2:CreateVpcEndpoint"}, {"actions": ["ec2:X"], "principals": ["bob"]},
                {"actions": [], "effect": "Deny"}, ["ec2:CreateVpcEndpoint"]):
        status, body = aws.control("POST", "deny", bad)
        assert status == 400 and body["error"], bad
    assert aws.control("GET", "deny")[1]["actions"] == ["ec2:CreateVpcEndpoint"]  # a refused body changes nothing
    assert aws.control("DELETE", "deny") == (200, {"ok": True})
    assert aws.control("GET", "deny")[1]["actions"] == []
    deny(aws, "ec2:*")
    assert aws.control("POST", "reset")[0] == 200
    assert aws.control("GET", "deny")[1] == {"actions": [], "principals": ["*"]}
    aws.client("ec2").describe_vpcs()
    status, _ = http("GET", f"{aws.env['DATABRICKS_HOST']}/_plink/deny")
    assert status != 200  # the AWS port's route only
