"""Access to the AWS emulator's bridge (CONTRACT.md "Bridge"), imported lazily.

``plink_stack.aws.bridge`` is written by the AWS side; this module only resolves it at call time so
the Databricks emulator can be imported, and unit-tested with a fake (``use(fake)``), without it.
"""
import importlib

_override = None


class BridgeUnavailable(Exception):
    """The AWS bridge module cannot be imported (AWS emulator not part of this process)."""


def use(fake) -> None:
    """Replace the bridge (tests); ``use(None)`` restores the real one."""
    global _override
    _override = fake


def get():
    if _override is not None:
        return _override
    try:
        return importlib.import_module("plink_stack.aws.bridge")
    except ImportError as exc:
        raise BridgeUnavailable(str(exc)) from exc


def is_error(exc: BaseException, name: str) -> bool:
    """True if ``exc`` is the bridge's exception class ``name`` (works for real and fake bridges)."""
    try:
        cls = getattr(get(), name)
    except (BridgeUnavailable, AttributeError):
        return type(exc).__name__ == name
    return isinstance(exc, cls)
