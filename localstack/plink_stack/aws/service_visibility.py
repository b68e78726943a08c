"""DescribeVpcEndpointServices across accounts (local-emulators.md gap 8).

moto 5.2.5 lists the AWS services plus the caller's *own* endpoint services only, and answers
`InvalidServiceName` for a service of another account even when the caller is an allowed principal.
This lists, for the calling principal (`context.caller`), the AWS services, its own services (with
their tags), and every other account's service in the region whose AllowedPrincipals admit it (no
tags: AWS does not show a provider's tags to consumers). Filters, paging and the
`InvalidServiceName` error for an unknown or not-allowed ServiceName keep moto's semantics.
"""
from __future__ import annotations

from operator import itemgetter
from typing import Any

from moto.ec2.exceptions import InvalidNextToken, InvalidServiceName
from moto.ec2.models import vpcs

from . import context, principals


def visible_custom_services(backend: Any) -> list[dict[str, Any]]:
    who = context.caller(backend.account_id)
    out = []
    for account, config in principals.region_services(backend.region_name):
        if account == backend.account_id:
            out.append(config.to_dict())
        elif principals.can_use(config, who):
            detail = config.to_dict()
            detail["Tags"] = []
            out.append(detail)
    return out


def describe_vpc_endpoint_services(self: Any, service_names: list[str], filters: Any,
                                   max_results: int, next_token: str | None,
                                   region: str) -> dict[str, Any]:
    everything = self._collect_default_endpoint_services(self.account_id, region) \
        + visible_custom_services(self)
    known = {s["ServiceName"] for s in everything}
    for name in service_names:
        if name not in known:
            raise InvalidServiceName(name)
    found = sorted(self._filter_endpoint_services(service_names, filters, everything),
                   key=itemgetter("ServiceName"))
    start = 0
    if next_token:
        ids = [s["ServiceId"] for s in found]
        if next_token not in ids:
            raise InvalidNextToken(next_token)
        start = ids.index(next_token)
    limit = max_results if max_results and max_results <= vpcs.MAX_NUMBER_OF_ENDPOINT_SERVICES_RESULTS \
        else vpcs.MAX_NUMBER_OF_ENDPOINT_SERVICES_RESULTS
    page = found[start:start + limit]
    following = found[start + limit]["ServiceId"] if len(found) > start + limit else None
    return {"servicesDetails": page, "serviceNames": [s["ServiceName"] for s in page],
            "nextToken": following}


def install() -> None:
    vpcs.VPCBackend.describe_vpc_endpoint_services = describe_vpc_endpoint_services
