"""ClientToken idempotency of CreateVpcEndpoint and CreateVpcEndpointServiceConfiguration
(local-emulators.md gap 3).

moto 5.2.5 ignores ClientToken: a retried create makes a second resource. AWS returns the resource
first created with that token when the other parameters are the same, and fails with
`IdempotentParameterMismatch` when they differ. Tokens are remembered per account and region (on the
moto backend, so a moto reset forgets them). A token whose resource has since been deleted creates a
new resource.
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses.vpc_service_configuration import VPCEndpointServiceConfiguration
from moto.ec2.responses.vpcs import VPCs

IGNORED = {"ClientToken", "DryRun", "Action", "Version"}


class IdempotentParameterMismatch(EC2ClientError):
    def __init__(self, token: str):
        super().__init__(
            "IdempotentParameterMismatch",
            f"The client token '{token}' has already been used with different parameters.")


def _fingerprint(response: Any) -> str:
    params = response.params
    params = params.original_dict() if hasattr(params, "original_dict") else dict(params)
    return json.dumps({k: v for k, v in params.items() if k not in IGNORED}, sort_keys=True, default=str)


def _wrap(operation: str, result_key: str, id_of: Callable[[Any], str],
          lookup: Callable[[Any, str], Any], method: Callable) -> Callable:
    @functools.wraps(method)
    def wrapper(self: Any) -> ActionResult:
        token = self._get_param("ClientToken")
        if not token:
            return method(self)
        tokens = self.ec2_backend.__dict__.setdefault("_plink_client_tokens", {})
        fingerprint = _fingerprint(self)
        seen = tokens.get((operation, token))
        if seen is not None:
            existing = lookup(self.ec2_backend, seen[1])
            if existing is not None:
                if seen[0] != fingerprint:
                    raise IdempotentParameterMismatch(token)
                return ActionResult({result_key: existing, "ClientToken": token})
        result = method(self)
        created = result.result[result_key]
        tokens[(operation, token)] = (fingerprint, id_of(created))
        result.result["ClientToken"] = token
        return result

    return wrapper


def _live_endpoint(backend: Any, vpce_id: str) -> Any:
    endpoint = backend.vpc_end_points.get(vpce_id)
    return endpoint if endpoint is not None and endpoint.state not in ("deleting", "deleted") else None


def install() -> None:
    VPCs.create_vpc_endpoint = _wrap(
        "CreateVpcEndpoint", "VpcEndpoint", lambda e: e.id, _live_endpoint, VPCs.create_vpc_endpoint)
    cls = VPCEndpointServiceConfiguration
    cls.create_vpc_endpoint_service_configuration = _wrap(
        "CreateVpcEndpointServiceConfiguration", "ServiceConfiguration", lambda c: c.id,
        lambda backend, sid: backend.configurations.get(sid),
        cls.create_vpc_endpoint_service_configuration)
