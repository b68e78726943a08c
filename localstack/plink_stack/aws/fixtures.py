"""Seeded AWS state: the customer's VPC that the plink demo and tests start from.

Account 123456789012 (moto's default, the "customer"), in us-east-1 and us-west-2:
- VPC `10.20.0.0/16` (us-west-2: `10.30.0.0/16`), DNS support and hostnames on, tag Name=plink-demo-vpc;
- private subnets `.1.0/24` in zone a and `.2.0/24` in zone b, tags Name=plink-demo-private-a|b and
  plink-demo=private;
- a third subnet `.3.0/24` in zone a, tags Name=plink-demo-single-az and plink-demo=single-az, for
  bad-input tests (two subnets in one Availability Zone).

S3 buckets of the same account (for native S3 rules, whose bucket policies plink merges):
- `plink-demo-data` in us-east-1, no bucket policy;
- `plink-demo-logs` in us-east-1 with a policy owned by "another team" (one `DenyInsecureTransport`
  statement), which a merge must preserve;
- `plink-demo-west` in us-west-2 (a bucket outside the NCC's region).
"""
from __future__ import annotations

import json
from typing import Any

from moto.ec2.models import ec2_backends
from moto.s3.models import s3_backends

CUSTOMER_ACCOUNT = "123456789012"
LAYOUT = {"us-east-1": "10.20", "us-west-2": "10.30"}
SUBNETS = (  # key, third octet, zone suffix, tags
    ("private-a", 1, "a", {"Name": "plink-demo-private-a", "plink-demo": "private"}),
    ("private-b", 2, "b", {"Name": "plink-demo-private-b", "plink-demo": "private"}),
    ("single-az", 3, "a", {"Name": "plink-demo-single-az", "plink-demo": "single-az"}),
)

LOGS_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:aws:s3:::plink-demo-logs", "arn:aws:s3:::plink-demo-logs/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }],
}
BUCKETS = (  # name, region, policy
    ("plink-demo-data", "us-east-1", None),
    ("plink-demo-logs", "us-east-1", LOGS_POLICY),
    ("plink-demo-west", "us-west-2", None),
)

_seeded: dict[str, Any] = {}
_buckets: list[dict[str, Any]] = []


def seed() -> dict[str, Any]:
    """Create the fixtures (caller holds context.LOCK, on a freshly reset moto); returns their ids."""
    _seeded.clear()
    for region, prefix in LAYOUT.items():
        backend = ec2_backends[CUSTOMER_ACCOUNT][region]
        vpc = backend.create_vpc(f"{prefix}.0.0/16", tags=[{"Key": "Name", "Value": "plink-demo-vpc"}])
        backend.modify_vpc_attribute(vpc.id, "enable_dns_support", True)
        backend.modify_vpc_attribute(vpc.id, "enable_dns_hostnames", True)
        subnets = {}
        for key, octet, zone, tags in SUBNETS:
            subnet = backend.create_subnet(vpc.id, f"{prefix}.{octet}.0/24",
                                           availability_zone=f"{region}{zone}",
                                           tags={"subnet": dict(tags)})
            subnets[key] = {"id": subnet.id, "cidr": subnet.cidr_block,
                            "availability_zone": subnet.availability_zone}
        _seeded[region] = {"account_id": CUSTOMER_ACCOUNT, "vpc_id": vpc.id,
                           "vpc_cidr": f"{prefix}.0.0/16", "subnets": subnets}
    _buckets.clear()
    s3 = s3_backends[CUSTOMER_ACCOUNT]["aws"]
    for name, region, policy in BUCKETS:
        s3.create_bucket(name, region)
        if policy is not None:
            s3.put_bucket_policy(name, json.dumps(policy).encode())
        _buckets.append({"name": name, "region": region, "account_id": CUSTOMER_ACCOUNT, "policy": policy})
    return seeded()


def seeded() -> dict[str, Any]:
    return {"account_id": CUSTOMER_ACCOUNT, "regions": dict(_seeded),
            "s3_buckets": [dict(b) for b in _buckets]}
