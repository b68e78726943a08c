"""Real, stable paging for list endpoints (databricks-api.md §2.4, §3.5, §5.1).

Responses are ``{"items": [...], "next_page_token": "..."}``; the token is omitted on the last page
(SDKs stop when it is absent or empty) and ``items`` is omitted when the page is empty. Items are ordered by creation sequence and the token encodes
the last sequence number returned plus the collection it belongs to, so creating or deleting objects
between pages neither repeats nor skips survivors, and a token cannot be replayed on another list.

Page size: ``page_size`` query parameter where the API has one (rules, §3.5), else the default
(``PLINK_STACK_DB_PAGE_SIZE``, 2 unless set; changeable at run time via
``POST /_plink/databricks/config {"page_size": N}``). Deliberately small so clients must follow
``next_page_token``.
"""
import base64
import binascii
import os
import threading

from . import errors

MAX_PAGE_SIZE = 100

_lock = threading.Lock()
_default_page_size = int(os.environ.get("PLINK_STACK_DB_PAGE_SIZE", "2") or 2)


def default_page_size() -> int:
    with _lock:
        return _default_page_size


def set_default_page_size(size: int) -> None:
    global _default_page_size
    if not isinstance(size, int) or size < 1 or size > MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be an integer in 1..{MAX_PAGE_SIZE}")
    with _lock:
        _default_page_size = size


def reset_default_page_size() -> None:
    global _default_page_size
    with _lock:
        _default_page_size = int(os.environ.get("PLINK_STACK_DB_PAGE_SIZE", "2") or 2)


def _encode(scope: str, seq: int) -> str:
    return base64.urlsafe_b64encode(f"{scope}|{seq}".encode()).decode().rstrip("=")


def _decode(scope: str, token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        tok_scope, seq = raw.rsplit("|", 1)
        if tok_scope != scope:
            raise ValueError("token of another list")
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.invalid_parameter(f"Invalid page_token: '{token}'") from None


def parse_page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return default_page_size()
    try:
        size = int(raw)
    except ValueError:
        raise errors.invalid_parameter(f"Invalid page_size: '{raw}'") from None
    if size < 0:
        raise errors.invalid_parameter("page_size must be non-negative")
    if size == 0:  # proto convention: 0 = server default
        return default_page_size()
    return min(size, MAX_PAGE_SIZE)


def page(scope: str, objs, render, page_token: str | None, page_size: int) -> dict:
    """One page of ``objs`` (objects with a ``seq`` attribute) as ``{"items", "next_page_token"}``."""
    after = _decode(scope, page_token) if page_token else 0
    ordered = sorted((o for o in objs if o.seq > after), key=lambda o: o.seq)
    chunk = ordered[:page_size]
    out = {}
    if chunk:  # proto3 JSON: an empty repeated field is omitted, so an empty list is just {}
        out["items"] = [render(o) for o in chunk]
    if len(ordered) > page_size:
        out["next_page_token"] = _encode(scope, chunk[-1].seq)
    return out
