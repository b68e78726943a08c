"""EC2 `DryRun=true` answered as AWS answers it, for every EC2 action: the request is checked, never
run, and the answer is HTTP 412 `DryRunOperation` "Request would have succeeded, but DryRun flag is
set." (EC2 API reference, common parameter `DryRun`: "Checks whether you have the required
permissions for the action, without actually making the request, and provides an error response. If
you have the required permissions, the error response is DryRunOperation. Otherwise, it is
UnauthorizedOperation."). The `UnauthorizedOperation` half is `permissions.py`, decided in front of
moto, so a denied dry run never gets here.

moto 5.2.5 is partial (measured with boto3 against the stack before this module):

| EC2 action | moto 5.2.5 with `DryRun=true` |
|---|---|
| CreateSecurityGroup, AuthorizeSecurityGroupIngress, RevokeSecurityGroupIngress, DeleteSecurityGroup, CreateTags, DeleteTags, RunInstances, TerminateInstances, DescribeVpcs, DescribeSubnets, DescribeNetworkInterfaces, DescribeInstances, DescribeTags (and others calling its `error_on_dryrun`) | 412 `DryRunOperation`, nothing changed; but most answer 412 without looking at what the request names (a dry run on an unknown group or instance "would have succeeded") |
| CreateVpcEndpoint, CreateVpcEndpointServiceConfiguration, ModifyVpcEndpointServicePermissions, ModifyVpcEndpointServiceConfiguration, DeleteVpcEndpoints, DeleteVpcEndpointServiceConfigurations, ModifyVpcEndpoint | `DryRun` ignored: the call runs and changes state (creates the endpoint or service, changes permissions or acceptance, deletes) |
| AcceptVpcEndpointConnections, RejectVpcEndpointConnections (not in moto; `endpoint_connections.py`) | `DryRun` ignored: the call runs |
| DescribeSecurityGroups, DescribeVpcEndpoints, DescribeVpcEndpointServices, DescribeVpcEndpointServiceConfigurations, DescribeVpcEndpointServicePermissions, DescribeVpcEndpointConnections (the stack's) | `DryRun` ignored: 200 with data |

Here every EC2 request with `DryRun=true` is answered before its handler runs, so nothing can
change. What the real call would refuse first is checked: the resources the request names must
exist (`CHECKS`: the VPC of CreateSecurityGroup, the group of Authorize/Revoke/DeleteSecurityGroup,
the service name, VPC, subnets and groups of CreateVpcEndpoint, the endpoint and added subnets of
ModifyVpcEndpoint, the load balancers of CreateVpcEndpointServiceConfiguration, the ServiceId of the
service's Modify*/Accept/Reject/DescribeVpcEndpointServicePermissions, the ids of CreateTags/DeleteTags
and TerminateInstances), answered with the error the real call gives (`InvalidGroup.NotFound`,
`InvalidVpcEndpointServiceId.NotFound`, ...), because EC2 authorizes a request against the resources
it names (their ARNs and condition keys such as `ec2:Vpc` or `aws:ResourceTag`). What only the
execution finds is not checked (our choice: AWS documents a dry run as a permission check and does
not list which execution errors it also reports): duplicate names, `DependencyViolation`, connection
states, and the per-id `Unsuccessful` entries of DeleteVpcEndpoints and
DeleteVpcEndpointServiceConfigurations (those answer 412 for any id). Other actions answer 412
without checks. A `ClientToken` on a dry run is not remembered (`idempotency.py` never runs).
"""
from __future__ import annotations

from typing import Any, Callable

from moto.core.utils import camelcase_to_underscores
from moto.ec2.exceptions import (DryRunClientError, InvalidSecurityGroupNotFoundError,
                                 NoLoadBalancersProvided)
from moto.ec2.models import validate_resource_ids
from moto.ec2.responses import EC2Response

from . import endpoint_connections, endpoint_lifecycle


def _vpc(r: Any) -> None:
    if r._get_param("VpcId"):
        r.ec2_backend.get_vpc(r._get_param("VpcId"))


def _security_group(r: Any) -> None:
    name_or_id = r._get_param("GroupId") or r._get_param("GroupName")
    if r.ec2_backend.get_security_group_by_name_or_id(name_or_id) is None:
        raise InvalidSecurityGroupNotFoundError(name_or_id)


def _new_endpoint(r: Any) -> None:
    endpoint_lifecycle.check_create(
        r.ec2_backend, r._get_param("VpcId"), r._get_param("ServiceName"), r._get_param("VpcEndpointType"),
        r._get_param("SubnetIds", []), r._get_param("SecurityGroupIds", []))


def _endpoint(r: Any) -> None:
    r.ec2_backend.describe_vpc_endpoints(vpc_end_point_ids=[r._get_param("VpcEndpointId")])
    for subnet_id in r._get_param("AddSubnetIds", []):
        r.ec2_backend.get_subnet(subnet_id)


def _load_balancers(r: Any) -> None:
    arns = r._get_param("NetworkLoadBalancerArns", []) + r._get_param("GatewayLoadBalancerArns", [])
    if not arns:
        raise NoLoadBalancersProvided
    r.ec2_backend.elbv2_backend.describe_load_balancers(arns=arns, names=None)


def _service(r: Any) -> None:
    endpoint_connections.service_of(r)


def _resource_ids(r: Any) -> None:  # DeleteTags checks only the ids' form (moto, like its real call)
    validate_resource_ids(r._get_param("Resources", []))


def _resources(r: Any) -> None:
    _resource_ids(r)
    r.ec2_backend.do_resources_exist(r._get_param("Resources", []))


def _instances(r: Any) -> None:
    r.ec2_backend.get_multi_instances_by_id(r._get_param("InstanceIds", []))


# EC2 action -> what its dry run checks (raising the real call's error); see the module docstring
CHECKS: dict[str, Callable[[Any], None]] = {
    "CreateSecurityGroup": _vpc,
    "AuthorizeSecurityGroupIngress": _security_group,
    "RevokeSecurityGroupIngress": _security_group,
    "DeleteSecurityGroup": _security_group,
    "CreateVpcEndpoint": _new_endpoint,
    "ModifyVpcEndpoint": _endpoint,
    "CreateVpcEndpointServiceConfiguration": _load_balancers,
    "ModifyVpcEndpointServicePermissions": _service,
    "ModifyVpcEndpointServiceConfiguration": _service,
    "DescribeVpcEndpointServicePermissions": _service,
    "AcceptVpcEndpointConnections": _service,
    "RejectVpcEndpointConnections": _service,
    "CreateTags": _resources,
    "DeleteTags": _resource_ids,
    "TerminateInstances": _instances,
}


def _patch_call_action() -> None:
    original = EC2Response.call_action

    def call_action(self: Any) -> Any:
        if self._get_bool_param("DryRun", False):
            check = CHECKS.get(self._get_action())

            def dry_run() -> None:
                if check is not None:
                    check(self)
                raise DryRunClientError()

            # This request's handler (a fresh EC2Response per request) becomes the dry run; moto
            # still dispatches and serializes the errors, 412 included.
            self.__dict__[camelcase_to_underscores(self._get_action())] = dry_run
        return original(self)

    EC2Response.call_action = call_action


def install() -> None:
    _patch_call_action()
