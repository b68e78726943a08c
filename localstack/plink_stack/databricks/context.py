"""Per-request context handed to every handler, and small request-parsing helpers."""
import json
from dataclasses import dataclass

from . import errors
from .model import Model


@dataclass
class Ctx:
    request: object          # werkzeug.wrappers.Request
    model: Model
    base_url: str            # scheme://host:port the client used
    principal: object = None  # auth.Principal once authenticated
    workspace: object = None  # model.Workspace on workspace-host routes

    @property
    def args(self):
        return self.request.args

    def body(self, wrapper: str | None = None) -> dict:
        """The JSON object body. The SDKs send the inner object flat (databricks-api.md, "Important
        wire-format finding"); a ``{wrapper: {...}}`` envelope is accepted defensively too."""
        raw = self.request.get_data(cache=True)
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise errors.bad_request("Request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise errors.bad_request("Request body must be a JSON object.")
        if wrapper and set(data) == {wrapper} and isinstance(data[wrapper], dict):
            data = data[wrapper]
        return data


def get_str(body: dict, key: str) -> str | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise errors.invalid_parameter(f"Field '{key}' must be a string.")
    return v


def get_str_list(body: dict, key: str) -> list | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise errors.invalid_parameter(f"Field '{key}' must be a list of strings.")
    return list(v)


def get_bool(body: dict, key: str) -> bool | None:
    v = body.get(key)
    if v is None:
        return None
    if not isinstance(v, bool):
        raise errors.invalid_parameter(f"Field '{key}' must be a boolean.")
    return v


def parse_update_mask(raw: str | None) -> list[str]:
    """``update_mask``: comma-separated field paths, no spaces (§3.6)."""
    if raw is None:
        return []
    return [f.strip() for f in raw.split(",") if f.strip()]
