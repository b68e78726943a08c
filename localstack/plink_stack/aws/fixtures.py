"""Seeded AWS state: the customer's VPC that the plink demo and tests start from.

Account 123456789012 (moto's default, the "customer"), in us-east-1 and us-west-2:
- VPC `10.20.0.0/16` (us-west-2: `10.30.0.0/16`), DNS support and hostnames on, tag Name=plink-demo-vpc;
- private subnets `.1.0/24` in zone a and `.2.0/24` in zone b, tags Name=plink-demo-private-a|b and
  plink-demo=private;
- a third subnet `.3.0/24` in zone a, tags Name=plink-demo-single-az and plink-demo=single-az, for
  bad-input tests (two subnets in one Availability Zone).
"""
from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends

CUSTOMER_ACCOUNT = "123456789012"
LAYOUT = {"us-east-1": "10.20", "us-west-2": "10.30"}
SUBNETS = (  # key, third octet, zone suffix, tags
    ("private-a", 1, "a", {"Name": "plink-demo-private-a", "plink-demo": "private"}),
    ("private-b", 2, "b", {"Name": "plink-demo-private-b", "plink-demo": "private"}),
    ("single-az", 3, "a", {"Name": "plink-demo-single-az", "plink-demo": "single-az"}),
)

_seeded: dict[str, Any] = {}


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
    return seeded()


def seeded() -> dict[str, Any]:
    return {"account_id": CUSTOMER_ACCOUNT, "regions": dict(_seeded)}
