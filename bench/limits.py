"""AWS's published request limits, as a fault plan of the stack (localstack/CONTRACT.md, `bucket`):
every scenario runs against a stack that throttles like AWS, so "no throttling error" means plink
kept within the limits, not that the stack had none.

The buckets are EC2's, per account and region (field-update-2026-12.md §5.4, from
docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html): burst, then refill per second of
real-world time (the stack refills on its scaled clock). Each rule is one bucket shared by the
actions it lists, as AWS shares one bucket per family. ELBv2's mutating limits are not published
in a form captured there, so ELBv2 is throttled on its Describe bucket only.
"""
from __future__ import annotations

# (actions, burst, refill per second)
EC2_BUCKETS = (
    (["CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints"], 4, 0.3),
    (["AcceptVpcEndpointConnections", "RejectVpcEndpointConnections"], 10, 1),
    (["CreateVpcEndpointServiceConfiguration", "ModifyVpcEndpointServiceConfiguration",
      "DeleteVpcEndpointServiceConfigurations"], 10, 1),
    (["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"], 50, 5),
    (["CreateTags", "DeleteTags"], 100, 10),
    # The default mutating bucket: the other mutating actions either tool calls.
    (["CreateSecurityGroup", "DeleteSecurityGroup", "ModifyVpcEndpointServicePermissions"], 50, 5),
    # Non-mutating, filtered (plink and the script always filter or name ids).
    (["DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroups", "DescribeVpcEndpoints",
      "DescribeNetworkInterfaces", "DescribeVpcEndpointServiceConfigurations",
      "DescribeVpcEndpointServicePermissions", "DescribeVpcEndpointConnections"], 100, 20),
)
ELBV2_DESCRIBE = (["DescribeLoadBalancers", "DescribeLoadBalancerAttributes", "DescribeTargetGroups",
                   "DescribeTargetHealth", "DescribeListeners", "DescribeTags"], 40, 10)


def plan() -> dict:
    """The fault plan: one throttling rule per bucket (EC2 answers `RequestLimitExceeded`, ELBv2
    `Throttling`)."""
    rules = [{"kind": "aws_throttle", "match": {"service": "ec2", "action": actions},
              "bucket": {"burst": burst, "refill": refill}}
             for actions, burst, refill in EC2_BUCKETS]
    actions, burst, refill = ELBV2_DESCRIBE
    rules.append({"kind": "aws_throttle", "match": {"service": "elbv2", "action": actions},
                  "bucket": {"burst": burst, "refill": refill}})
    return {"seed": 0, "rules": rules}
