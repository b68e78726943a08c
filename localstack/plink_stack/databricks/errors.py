"""Databricks REST error shape and the status/error_code pairs this emulator uses.

Reference: databricks-api.md §7.1 (body shape), §7.2 (status <-> error_code <-> SDK exception class),
§11 (which pairs are UNCONFIRMED; the choices are listed in README.md).

Every error body is::

    {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "...",
     "details": [{"@type": "type.googleapis.com/google.rpc.RequestInfo",
                  "request_id": "<uuid>", "serving_data": ""}]}

Quotas deliberately use 400 ``QUOTA_EXCEEDED`` rather than 429 ``RESOURCE_EXHAUSTED``: the official
SDKs retry 429 and ``RESOURCE_EXHAUSTED`` for up to 5 minutes (§7.3/§7.4), which would turn a hard
limit into a long hang. Throttling (429) only comes from the launcher's fault plan.
"""
import json
import uuid


class ApiError(Exception):
    """An API failure rendered in the Databricks error shape."""

    def __init__(self, status: int, error_code: str, message: str, headers: dict | None = None):
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.headers = headers or {}

    def body(self, request_id: str) -> dict:
        return {
            "error_code": self.error_code,
            "message": self.message,
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.RequestInfo",
                    "request_id": request_id,
                    "serving_data": "",
                }
            ],
        }


def new_request_id() -> str:
    return str(uuid.uuid4())


# --- constructors, one per (status, error_code) pair used -------------------------------------------

def invalid_parameter(message: str) -> ApiError:
    """400 INVALID_PARAMETER_VALUE (SDK: InvalidParameterValue < BadRequest)."""
    return ApiError(400, "INVALID_PARAMETER_VALUE", message)


def bad_request(message: str) -> ApiError:
    """400 BAD_REQUEST: malformed request (e.g. body is not JSON)."""
    return ApiError(400, "BAD_REQUEST", message)


def invalid_state(message: str) -> ApiError:
    """400 INVALID_STATE (SDK: InvalidState < BadRequest): valid request, wrong resource state."""
    return ApiError(400, "INVALID_STATE", message)


def quota_exceeded(message: str) -> ApiError:
    """400 QUOTA_EXCEEDED (SDK: BadRequest). See module docstring for why not 429."""
    return ApiError(400, "QUOTA_EXCEEDED", message)


def not_found(message: str) -> ApiError:
    """404 RESOURCE_DOES_NOT_EXIST (SDK: ResourceDoesNotExist < NotFound; IsMissing() true)."""
    return ApiError(404, "RESOURCE_DOES_NOT_EXIST", message)


def endpoint_not_found(method: str, path: str) -> ApiError:
    """404 ENDPOINT_NOT_FOUND for unknown routes (SDK: NotFound)."""
    return ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")


def already_exists(message: str) -> ApiError:
    """409 RESOURCE_ALREADY_EXISTS (SDK: ResourceAlreadyExists < ResourceConflict)."""
    return ApiError(409, "RESOURCE_ALREADY_EXISTS", message)


def unauthenticated(message: str) -> ApiError:
    """401 UNAUTHENTICATED (SDK: Unauthenticated)."""
    return ApiError(401, "UNAUTHENTICATED", message)


def permission_denied(message: str) -> ApiError:
    """403 PERMISSION_DENIED (SDK: PermissionDenied)."""
    return ApiError(403, "PERMISSION_DENIED", message)


class OAuthError(Exception):
    """RFC 6749 §5.2 token endpoint error: ``{"error": ..., "error_description": ...}`` (§1.2)."""

    def __init__(self, status: int, error: str, description: str):
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> bytes:
        return json.dumps({"error": self.error, "error_description": self.description}).encode()
