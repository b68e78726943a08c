"""Target groups, listeners and target health (local-emulators.md gaps 4 and 9).

moto 5.2.5 vs AWS, and what this module makes of it:
- CreateTargetGroup with a name in use fails; AWS returns the existing group when protocol, port,
  VPC, target type and the health check settings given match (`DuplicateTargetGroupName` otherwise).
- CreateListener on a port already in use creates a second listener (moto compares the port with
  listener ARNs); AWS returns the existing listener when protocol and default actions match and
  fails with `DuplicateListener` otherwise.
- Every registered target is `healthy` at once. AWS: `unused` (Target.NotInUse) while no load
  balancer forwards to the group, `initial` (Elb.RegistrationInProgress) for about
  HealthCheckIntervalSeconds x HealthyThresholdCount after registration or after a listener starts
  using the group (scaled by the time scale), then `healthy` when the IP target answers -- here: when
  it is the private IP of a network interface in the group's VPC -- else `unhealthy`
  (Target.FailedHealthChecks).
"""
from __future__ import annotations

import functools
from typing import Any

from moto.elbv2.exceptions import DuplicateListenerError, DuplicateTargetGroupName
from moto.elbv2.models import ELBv2Backend, FakeHealthStatus, FakeTargetGroup

from .. import clock

HEALTH_SETTINGS = {
    "healthcheck_protocol": "health_check_protocol",
    "healthcheck_port": "health_check_port",
    "healthcheck_path": "health_check_path",
    "healthcheck_interval_seconds": "health_check_interval_seconds",
    "healthcheck_timeout_seconds": "health_check_timeout_seconds",
    "healthy_threshold_count": "healthy_threshold_count",
    "unhealthy_threshold_count": "unhealthy_threshold_count",
}


def _same(value: Any, other: Any) -> bool:
    return str(value).upper() == str(other).upper()


def _matches(tg: Any, kwargs: dict) -> bool:
    wanted = {"protocol": kwargs.get("protocol"), "port": kwargs.get("port"),
              "vpc_id": kwargs.get("vpc_id"), "target_type": kwargs.get("target_type") or "instance"}
    for attr, value in wanted.items():
        if value is not None and not _same(getattr(tg, attr), value):
            return False
    for arg, attr in HEALTH_SETTINGS.items():
        if kwargs.get(arg) is not None and not _same(getattr(tg, attr), kwargs[arg]):
            return False
    return True


def _patch_create_target_group() -> None:
    original = ELBv2Backend.create_target_group

    @functools.wraps(original)
    def create_target_group(self: Any, name: str, **kwargs: Any) -> Any:
        for tg in self.target_groups.values():
            if tg.name == name:
                if _matches(tg, kwargs):
                    return tg
                raise DuplicateTargetGroupName()
        return original(self, name, **kwargs)

    ELBv2Backend.create_target_group = create_target_group


def _patch_create_listener() -> None:
    original = ELBv2Backend.create_listener

    @functools.wraps(original)
    def create_listener(self: Any, load_balancer_arn: str, protocol: str, port: Any,
                        ssl_policy: str, certificate: Any, actions: list, **kwargs: Any) -> Any:
        balancer = self.load_balancers.get(load_balancer_arn)
        if balancer is not None:
            for listener in balancer.listeners.values():
                if str(listener.port) == str(port):
                    if _same(listener.protocol, protocol) and _same_actions(listener, actions):
                        return listener
                    raise DuplicateListenerError()
        listener = original(self, load_balancer_arn, protocol, port, ssl_policy, certificate,
                            actions, **kwargs)
        now = clock.now()
        for tg in self.target_groups.values():
            if load_balancer_arn in tg.load_balancer_arns:
                tg.__dict__.setdefault("_plink_in_use_since", now)
        return listener

    ELBv2Backend.create_listener = create_listener


def _same_actions(listener: Any, actions: list) -> bool:
    def key(action: Any) -> tuple:
        data = action.data if hasattr(action, "data") else action
        return (str(data.get("Type", "")).lower(), data.get("TargetGroupArn"))

    return sorted(map(key, listener.default_actions)) == sorted(map(key, actions))


def _patch_register() -> None:
    original = FakeTargetGroup.register

    @functools.wraps(original)
    def register(self: Any, targets: list) -> None:
        original(self, targets)
        registered = self.__dict__.setdefault("_plink_registered_at", {})
        for target in targets:
            registered[target["Id"]] = clock.now()

    FakeTargetGroup.register = register


def _health_delay(tg: Any) -> float:
    return clock.scaled(float(tg.health_check_interval_seconds) * float(tg.healthy_threshold_count))


def _ip_in_vpc(ec2_backend: Any, vpc_id: str, ip: str) -> bool:
    return any(eni.private_ip_address == ip and eni.subnet is not None and eni.subnet.vpc_id == vpc_id
               for eni in ec2_backend.enis.values())


def _patch_health() -> None:
    original = FakeTargetGroup.health_for

    @functools.wraps(original)
    def health_for(self: Any, target: dict, ec2_backend: Any) -> Any:
        status = original(self, target, ec2_backend)
        if status.status != "healthy":
            return status

        def answer(state: str, reason: str | None = None, description: str | None = None) -> Any:
            return FakeHealthStatus(status.instance_id, status.port, status.health_check_port,
                                    state, reason, description)

        if not self.load_balancer_arns:
            self.__dict__.pop("_plink_in_use_since", None)
            return answer("unused", "Target.NotInUse",
                          "Target group is not configured to receive traffic from the load balancer")
        in_use_since = self.__dict__.setdefault("_plink_in_use_since", clock.now())
        registered = self.__dict__.get("_plink_registered_at", {}).get(target["Id"], 0.0)
        if clock.now() < max(in_use_since, registered) + _health_delay(self):
            return answer("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
        if self.target_type == "ip" and not _ip_in_vpc(ec2_backend, self.vpc_id, target["Id"]):
            return answer("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
        return status

    FakeTargetGroup.health_for = health_for


def install() -> None:
    _patch_create_target_group()
    _patch_create_listener()
    _patch_register()
    _patch_health()
