"""RDS on the AWS port (moto's RDS backend, plink_stack/aws/rds.py), seen through boto3 as plink's
`nlb-service` kind (aws-sdk-rds) uses it: DB subnet groups in the demo VPC, instance and Aurora
cluster addresses that are IPv4 literals inside the group's subnets, failover through the real API
(RebootDBInstance ForceFailover, FailoverDBCluster) moving the address, errors, the call log and
the fault plan."""
from __future__ import annotations

import ipaddress

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

NO_RETRY = Config(retries={"total_max_attempts": 1})
GROUP = "plink-demo-db"


def rds(aws, region: str = "us-east-1", **kw):
    return aws.client("rds", region=region, **kw)


def demo(aws, region: str = "us-east-1") -> dict:
    return aws.fixtures()["regions"][region]


def subnet_group(aws, region: str = "us-east-1", name: str = GROUP) -> dict:
    fx = demo(aws, region)
    ids = [fx["subnets"]["private-a"]["id"], fx["subnets"]["private-b"]["id"]]
    return rds(aws, region).create_db_subnet_group(
        DBSubnetGroupName=name, DBSubnetGroupDescription="plink demo databases", SubnetIds=ids)["DBSubnetGroup"]


def instance(aws, ident: str, engine: str = "postgres", region: str = "us-east-1", **kw) -> dict:
    return rds(aws, region).create_db_instance(
        DBInstanceIdentifier=ident, DBInstanceClass="db.t3.micro", Engine=engine,
        MasterUsername="plink", MasterUserPassword="plink-secret", DBSubnetGroupName=GROUP, **kw)["DBInstance"]


def aurora(aws, ident: str = "plink-aurora", members: int = 2, engine: str = "aurora-postgresql") -> dict:
    c = rds(aws)
    c.create_db_cluster(DBClusterIdentifier=ident, Engine=engine, MasterUsername="plink",
                        MasterUserPassword="plink-secret", DBSubnetGroupName=GROUP)
    for n in range(1, members + 1):
        c.create_db_instance(DBInstanceIdentifier=f"{ident}-{n}", DBInstanceClass="db.r6g.large",
                             Engine=engine, DBClusterIdentifier=ident)
    return c.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"][0]


def describe(aws, ident: str) -> dict:
    return rds(aws).describe_db_instances(DBInstanceIdentifier=ident)["DBInstances"][0]


def in_subnet(ip: str, fx: dict, key: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(fx["subnets"][key]["cidr"])


def error(exc: pytest.ExceptionInfo) -> tuple[str, int, str]:
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def plan(aws, *rules, seed: int = 7) -> dict:
    status, body = aws.control("POST", "faults", {"seed": seed, "rules": list(rules)})
    assert status == 200, body
    return body


# --- subnet groups ---------------------------------------------------------------------------------

def test_subnet_group_in_the_demo_vpc(aws):
    fx = demo(aws)
    made = subnet_group(aws)
    assert made["VpcId"] == fx["vpc_id"]
    listed = rds(aws).describe_db_subnet_groups(DBSubnetGroupName=GROUP)["DBSubnetGroups"]
    assert [(g["DBSubnetGroupName"], g["VpcId"]) for g in listed] == [(GROUP, fx["vpc_id"])]
    assert sorted(s["SubnetAvailabilityZone"]["Name"] for s in listed[0]["Subnets"]) == ["us-east-1a", "us-east-1b"]

    one_az = [fx["subnets"]["private-a"]["id"], fx["subnets"]["single-az"]["id"]]
    with pytest.raises(ClientError) as exc:
        rds(aws).create_db_subnet_group(DBSubnetGroupName="one-az", DBSubnetGroupDescription="x", SubnetIds=one_az)
    code, status, message = error(exc)
    assert (code, status) == ("DBSubnetGroupDoesNotCoverEnoughAZs", 400)
    assert "Current AZ coverage: us-east-1a" in message
    with pytest.raises(ClientError) as exc:
        rds(aws).describe_db_subnet_groups(DBSubnetGroupName="nope")
    assert error(exc)[:2] == ("DBSubnetGroupNotFoundFault", 404)


# --- instances -------------------------------------------------------------------------------------

@pytest.mark.parametrize("engine, port", [("postgres", 5432), ("mysql", 3306)])
def test_instance_address_is_an_ipv4_in_the_group(aws, engine, port):
    fx = demo(aws)
    subnet_group(aws)
    made = instance(aws, "plink-db", engine=engine)
    got = describe(aws, "plink-db")
    assert got["Endpoint"] == made["Endpoint"]
    address = got["Endpoint"]["Address"]
    assert ipaddress.ip_address(address).version == 4
    assert in_subnet(address, fx, "private-a")  # the group's first subnet by CIDR
    assert got["Endpoint"]["Port"] == port
    assert got["AvailabilityZone"] == "us-east-1a"
    assert got["DBInstanceStatus"] == "available"
    assert got["MultiAZ"] is False and "SecondaryAvailabilityZone" not in got
    assert got["DBSubnetGroup"]["DBSubnetGroupName"] == GROUP
    assert got["DBSubnetGroup"]["VpcId"] == fx["vpc_id"]

    # a requester-managed ENI with that IP in the demo VPC, with the VPC's default security group
    ec2 = aws.client("ec2")
    enis = ec2.describe_network_interfaces(
        Filters=[{"Name": "addresses.private-ip-address", "Values": [address]}])["NetworkInterfaces"]
    assert [(e["VpcId"], e["Description"], e["RequesterManaged"]) for e in enis] == [
        (fx["vpc_id"], "RDSNetworkInterface", True)]
    default_sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [fx["vpc_id"]]},
                                                       {"Name": "group-name", "Values": ["default"]}])
    sg_id = default_sg["SecurityGroups"][0]["GroupId"]
    assert [g["GroupId"] for g in enis[0]["Groups"]] == [sg_id]
    assert [g["VpcSecurityGroupId"] for g in got["VpcSecurityGroups"]] == [sg_id]

    rds(aws).delete_db_instance(DBInstanceIdentifier="plink-db", SkipFinalSnapshot=True)
    assert ec2.describe_network_interfaces(
        Filters=[{"Name": "addresses.private-ip-address", "Values": [address]}])["NetworkInterfaces"] == []


def test_port_az_and_determinism(aws):
    fx = demo(aws)
    subnet_group(aws)
    got = instance(aws, "plink-db", Port=6432, AvailabilityZone="us-east-1b")
    assert got["Endpoint"]["Port"] == 6432 and got["AvailabilityZone"] == "us-east-1b"
    assert in_subnet(got["Endpoint"]["Address"], fx, "private-b")
    first = got["Endpoint"]["Address"]
    other = instance(aws, "plink-db-2")["Endpoint"]["Address"]
    assert other != first

    with pytest.raises(ClientError) as exc:  # a zone without a subnet of the group
        instance(aws, "plink-db-c", AvailabilityZone="us-east-1c")
    assert error(exc)[:2] == ("InvalidParameterCombination", 400)
    assert [i["DBInstanceIdentifier"] for i in rds(aws).describe_db_instances()["DBInstances"]] == [
        "plink-db", "plink-db-2"]

    aws.control("POST", "reset")  # same identifier, same state -> same address
    subnet_group(aws)
    assert instance(aws, "plink-db", Port=6432, AvailabilityZone="us-east-1b")["Endpoint"]["Address"] == first


def test_us_west_2(aws):
    fx = demo(aws, "us-west-2")
    subnet_group(aws, "us-west-2")
    got = instance(aws, "plink-db", region="us-west-2")
    assert got["DBSubnetGroup"]["VpcId"] == fx["vpc_id"]
    assert in_subnet(got["Endpoint"]["Address"], fx, "private-a")


def test_multi_az_reboot_with_force_failover_swaps_the_address(aws):
    fx = demo(aws)
    subnet_group(aws)
    made = instance(aws, "plink-db", MultiAZ=True)
    primary = made["Endpoint"]["Address"]
    assert made["MultiAZ"] is True
    assert (made["AvailabilityZone"], made["SecondaryAvailabilityZone"]) == ("us-east-1a", "us-east-1b")
    assert in_subnet(primary, fx, "private-a")
    enis = aws.client("ec2").describe_network_interfaces(
        Filters=[{"Name": "description", "Values": ["RDSNetworkInterface"]}])["NetworkInterfaces"]
    ips = {e["PrivateIpAddress"] for e in enis}
    assert len(ips) == 2 and primary in ips
    standby = (ips - {primary}).pop()
    assert in_subnet(standby, fx, "private-b")

    rebooted = rds(aws).reboot_db_instance(DBInstanceIdentifier="plink-db", ForceFailover=True)["DBInstance"]
    assert rebooted["Endpoint"]["Address"] == standby
    got = describe(aws, "plink-db")
    assert got["Endpoint"] == {"Address": standby, "Port": 5432}
    assert (got["AvailabilityZone"], got["SecondaryAvailabilityZone"]) == ("us-east-1b", "us-east-1a")

    rds(aws).reboot_db_instance(DBInstanceIdentifier="plink-db", ForceFailover=True)
    assert describe(aws, "plink-db")["Endpoint"]["Address"] == primary
    rds(aws).reboot_db_instance(DBInstanceIdentifier="plink-db")  # a plain reboot moves nothing
    assert describe(aws, "plink-db")["Endpoint"]["Address"] == primary


def test_force_failover_refused_on_a_single_az_instance(aws):
    subnet_group(aws)
    address = instance(aws, "plink-db")["Endpoint"]["Address"]
    with pytest.raises(ClientError) as exc:
        rds(aws).reboot_db_instance(DBInstanceIdentifier="plink-db", ForceFailover=True)
    code, status, message = error(exc)
    assert (code, status) == ("InvalidParameterCombination", 400)
    assert "cannot be rebooted with force failover" in message
    assert describe(aws, "plink-db")["Endpoint"]["Address"] == address

    # ModifyDBInstance MultiAZ=true adds the standby; ForceFailover then works
    rds(aws).modify_db_instance(DBInstanceIdentifier="plink-db", MultiAZ=True, ApplyImmediately=True)
    rds(aws).reboot_db_instance(DBInstanceIdentifier="plink-db", ForceFailover=True)
    assert describe(aws, "plink-db")["Endpoint"]["Address"] != address


def test_instance_without_subnet_group_uses_the_default_vpc(aws):
    got = rds(aws).create_db_instance(DBInstanceIdentifier="plink-db", DBInstanceClass="db.t3.micro",
                                      Engine="mysql", MasterUsername="plink", MasterUserPassword="plink-secret")["DBInstance"]
    default_vpc = aws.client("ec2").describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    assert got["DBSubnetGroup"]["DBSubnetGroupName"] == "default"
    assert got["DBSubnetGroup"]["VpcId"] == default_vpc["VpcId"]
    assert ipaddress.ip_address(got["Endpoint"]["Address"]) in ipaddress.ip_network(default_vpc["CidrBlock"])


# --- Aurora clusters ------------------------------------------------------------------------------

def test_aurora_writer_endpoint_and_failover(aws):
    fx = demo(aws)
    subnet_group(aws)
    cluster = aurora(aws)
    one, two = (describe(aws, f"plink-aurora-{n}") for n in (1, 2))
    assert in_subnet(one["Endpoint"]["Address"], fx, "private-a")
    assert in_subnet(two["Endpoint"]["Address"], fx, "private-b")
    assert one["DBSubnetGroup"]["VpcId"] == fx["vpc_id"]  # members report the cluster's group
    assert cluster["Endpoint"] == one["Endpoint"]["Address"]
    assert cluster["ReaderEndpoint"] == two["Endpoint"]["Address"]
    assert cluster["Port"] == 5432
    assert cluster["DBSubnetGroup"] == GROUP
    assert [(m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in cluster["DBClusterMembers"]] == [
        ("plink-aurora-1", True), ("plink-aurora-2", False)]
    groups = rds(aws).describe_db_subnet_groups(DBSubnetGroupName=cluster["DBSubnetGroup"])["DBSubnetGroups"]
    assert groups[0]["VpcId"] == fx["vpc_id"]  # how plink finds a cluster's VPC

    moved = rds(aws).failover_db_cluster(DBClusterIdentifier="plink-aurora")["DBCluster"]
    assert moved["Endpoint"] == two["Endpoint"]["Address"]
    got = rds(aws).describe_db_clusters(DBClusterIdentifier="plink-aurora")["DBClusters"][0]
    assert got["Endpoint"] == two["Endpoint"]["Address"]
    assert got["ReaderEndpoint"] == one["Endpoint"]["Address"]
    assert [(m["DBInstanceIdentifier"], m["IsClusterWriter"]) for m in got["DBClusterMembers"]] == [
        ("plink-aurora-1", False), ("plink-aurora-2", True)]

    back = rds(aws).failover_db_cluster(DBClusterIdentifier="plink-aurora",
                                        TargetDBInstanceIdentifier="plink-aurora-1")["DBCluster"]
    assert back["Endpoint"] == one["Endpoint"]["Address"]


def test_aurora_mysql_single_member_and_bad_failovers(aws):
    subnet_group(aws)
    cluster = aurora(aws, "plink-mysql", members=1, engine="aurora-mysql")
    writer = describe(aws, "plink-mysql-1")["Endpoint"]
    assert writer["Port"] == 3306 and cluster["Port"] == 3306
    assert cluster["Endpoint"] == cluster["ReaderEndpoint"] == writer["Address"]
    with pytest.raises(ClientError) as exc:
        rds(aws).failover_db_cluster(DBClusterIdentifier="plink-mysql")
    assert error(exc)[:2] == ("InvalidDBClusterStateFault", 400)

    instance(aws, "plink-other")
    rds(aws).create_db_instance(DBInstanceIdentifier="plink-mysql-2", DBInstanceClass="db.r6g.large",
                                Engine="aurora-mysql", DBClusterIdentifier="plink-mysql")
    with pytest.raises(ClientError) as exc:  # not a member of this cluster
        rds(aws).failover_db_cluster(DBClusterIdentifier="plink-mysql", TargetDBInstanceIdentifier="plink-other")
    assert error(exc)[:2] == ("InvalidParameterValue", 400)
    got = rds(aws).describe_db_clusters(DBClusterIdentifier="plink-mysql")["DBClusters"][0]
    assert got["Endpoint"] == writer["Address"]


# --- errors ------------------------------------------------------------------------------------------

def test_not_found_errors(aws):
    c = rds(aws, config=NO_RETRY)
    cases = [
        (lambda: c.describe_db_instances(DBInstanceIdentifier="nope"), "DBInstanceNotFound", 404),
        (lambda: c.describe_db_clusters(DBClusterIdentifier="nope"), "DBClusterNotFoundFault", 404),
        (lambda: c.reboot_db_instance(DBInstanceIdentifier="nope", ForceFailover=True), "DBInstanceNotFound", 404),
        (lambda: c.failover_db_cluster(DBClusterIdentifier="nope"), "DBClusterNotFoundFault", 404),
        (lambda: c.create_db_instance(DBInstanceIdentifier="x", DBInstanceClass="db.t3.micro", Engine="postgres",
                                      MasterUsername="u", MasterUserPassword="password1",
                                      DBSubnetGroupName="nope"), "DBSubnetGroupNotFoundFault", 404),
        (lambda: c.create_db_cluster(DBClusterIdentifier="x", Engine="aurora-postgresql", MasterUsername="u",
                                     MasterUserPassword="password1", DBSubnetGroupName="nope"),
         "DBSubnetGroupNotFoundFault", 404),
    ]
    for call, code, status in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc)[:2] == (code, status)
    # nothing was left half-created
    assert c.describe_db_instances()["DBInstances"] == []
    assert c.describe_db_clusters()["DBClusters"] == []


def test_subnet_group_in_use_cannot_be_deleted(aws):
    subnet_group(aws)
    instance(aws, "plink-db")
    with pytest.raises(ClientError) as exc:
        rds(aws).delete_db_subnet_group(DBSubnetGroupName=GROUP)
    assert error(exc)[:2] == ("InvalidDBSubnetGroupStateFault", 400)
    with pytest.raises(ClientError) as exc:  # the instance's ENI uses the subnet
        aws.client("ec2", config=NO_RETRY).delete_subnet(SubnetId=demo(aws)["subnets"]["private-a"]["id"])
    assert error(exc)[:2] == ("DependencyViolation", 400)
    rds(aws).delete_db_instance(DBInstanceIdentifier="plink-db", SkipFinalSnapshot=True)
    rds(aws).delete_db_subnet_group(DBSubnetGroupName=GROUP)


# --- call log and faults ----------------------------------------------------------------------------

def test_call_log_names_and_mutating_flags(aws):
    subnet_group(aws)
    c = rds(aws)
    aws.control("DELETE", "calls")
    instance(aws, "plink-db", MultiAZ=True)
    c.describe_db_instances(DBInstanceIdentifier="plink-db")
    c.reboot_db_instance(DBInstanceIdentifier="plink-db", ForceFailover=True)
    c.create_db_cluster(DBClusterIdentifier="plink-aurora", Engine="aurora-postgresql", MasterUsername="u",
                        MasterUserPassword="password1", DBSubnetGroupName=GROUP)
    c.describe_db_clusters(DBClusterIdentifier="plink-aurora")
    c.describe_db_subnet_groups(DBSubnetGroupName=GROUP)
    c.stop_db_instance(DBInstanceIdentifier="plink-db")
    c.start_db_instance(DBInstanceIdentifier="plink-db")
    c.modify_db_instance(DBInstanceIdentifier="plink-db", MultiAZ=False, ApplyImmediately=True)
    c.delete_db_instance(DBInstanceIdentifier="plink-db", SkipFinalSnapshot=True)
    log = [(e["service"], e["action"], e["status"], e["mutating"]) for e in aws.control("GET", "calls")[1]]
    assert log == [
        ("rds", "CreateDBInstance", 200, True),
        ("rds", "DescribeDBInstances", 200, False),
        ("rds", "RebootDBInstance", 200, True),
        ("rds", "CreateDBCluster", 200, True),
        ("rds", "DescribeDBClusters", 200, False),
        ("rds", "DescribeDBSubnetGroups", 200, False),
        ("rds", "StopDBInstance", 200, True),
        ("rds", "StartDBInstance", 200, True),
        ("rds", "ModifyDBInstance", 200, True),
        ("rds", "DeleteDBInstance", 200, True),
    ]


def test_failover_db_cluster_is_mutating(aws):
    subnet_group(aws)
    aurora(aws)
    aws.control("DELETE", "calls")
    rds(aws).failover_db_cluster(DBClusterIdentifier="plink-aurora")
    assert [(e["action"], e["mutating"]) for e in aws.control("GET", "calls")[1]] == [("FailoverDBCluster", True)]


def test_throttling_on_describe_db_instances_is_retried(aws):
    subnet_group(aws)
    address = instance(aws, "plink-db")["Endpoint"]["Address"]
    plan(aws, {"kind": "aws_throttle", "match": {"service": "rds", "action": "DescribeDBInstances"}, "max_count": 1})
    out = rds(aws).describe_db_instances(DBInstanceIdentifier="plink-db")
    assert out["ResponseMetadata"]["RetryAttempts"] == 1
    assert out["DBInstances"][0]["Endpoint"]["Address"] == address
    seen = [(e["status"], e["fault"], e["mutating"]) for e in aws.control("GET", "calls")[1]
            if e["action"] == "DescribeDBInstances"]
    assert seen == [(400, "aws_throttle", False), (200, None, False)]

    plan(aws, {"kind": "aws_throttle", "match": {"action": "DescribeDBClusters"}})
    with pytest.raises(ClientError) as exc:
        rds(aws, config=NO_RETRY).describe_db_clusters()
    err = exc.value.response
    assert (err["Error"]["Code"], err["Error"]["Type"], err["ResponseMetadata"]["HTTPStatusCode"]) == (
        "Throttling", "Sender", 400)
    from botocore.retries.standard import RetryContext, ThrottledRetryableChecker
    ctx = RetryContext(attempt_number=1, parsed_response=err, http_response=None, caught_exception=None)
    assert ThrottledRetryableChecker().is_retryable(ctx)

    plan(aws, {"kind": "http_503", "match": {"service": "rds"}, "max_count": 1})
    assert rds(aws).describe_db_subnet_groups()["ResponseMetadata"]["RetryAttempts"] == 1
