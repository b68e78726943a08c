"""EC2 instances in the demo subnets, seen through boto3 as plink's `nlb-service` kind uses them
(`targets = { instances = [...] }`): DescribeInstances gives each instance's VPC, state and primary
private IPv4 address; an unknown id is `InvalidInstanceID.NotFound`; a terminated instance keeps
being described for a while, as on AWS. moto's own EC2 answers these; this file pins what plink
relies on."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

IMAGE = "ami-12345678"  # moto accepts any image id; plink never looks at it


def launch(aws, subnet: str, ip: str) -> dict:
    ec2 = aws.client("ec2")
    return ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=subnet,
                             PrivateIpAddress=ip)["Instances"][0]


def test_an_instance_reports_its_vpc_state_and_private_ip(aws):
    fx = aws.fixtures()["regions"]["us-east-1"]
    subnet = fx["subnets"]["private-a"]["id"]
    i = launch(aws, subnet, "10.20.1.71")
    got = aws.client("ec2").describe_instances(InstanceIds=[i["InstanceId"]])
    d = got["Reservations"][0]["Instances"][0]
    assert d["VpcId"] == fx["vpc_id"]
    assert d["SubnetId"] == subnet
    assert d["PrivateIpAddress"] == "10.20.1.71"
    assert d["State"]["Name"] in ("pending", "running")


def test_several_ids_in_one_call_and_terminated_ones_still_described(aws):
    fx = aws.fixtures()["regions"]["us-east-1"]
    a = launch(aws, fx["subnets"]["private-a"]["id"], "10.20.1.72")["InstanceId"]
    b = launch(aws, fx["subnets"]["private-b"]["id"], "10.20.2.72")["InstanceId"]
    ec2 = aws.client("ec2")
    ec2.terminate_instances(InstanceIds=[b])
    got = ec2.describe_instances(InstanceIds=[a, b])
    states = {i["InstanceId"]: i["State"]["Name"]
              for r in got["Reservations"] for i in r["Instances"]}
    assert states[a] in ("pending", "running")
    assert states[b] in ("shutting-down", "terminated")


def test_an_unknown_id_is_not_found(aws):
    with pytest.raises(ClientError) as e:
        aws.client("ec2").describe_instances(InstanceIds=["i-0123456789abcdef0"])
    assert e.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    assert "i-0123456789abcdef0" in e.value.response["Error"]["Message"]
