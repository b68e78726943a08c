"""OAuth M2M (client credentials) token endpoints, OIDC discovery and bearer-token checks.

Reference: databricks-api.md §1.2 (token endpoint, Basic client auth, response fields, error shape),
§1.3 (``/.well-known/databricks-config`` host metadata the SDKs probe), §10.1-2 (emulator model).

* Account tokens: ``POST /oidc/accounts/{account_id}/v1/token`` on the account host.
* Workspace tokens: ``POST /oidc/v1/token`` on a workspace host.
* Tokens are self-contained HS256 JWTs signed with a per-process key, so they survive
  ``/_plink/reset`` (cached SDK clients keep working) but not a restart. ``expires_in`` is the scaled
  ``token_ttl`` delay (at least 1 s); an expired token is refused with 401 on every API.
* Audience: an account token is valid on the account API of its account and (UNCONFIRMED, §1.2 notes
  it is possible per databricks-sdk-go PR #943) on the workspace APIs of that account's workspaces; a
  workspace token is valid only on its own workspace.
"""
import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import secrets
from dataclasses import dataclass

from .. import clock, settings
from . import errors, fixtures

_SIGNING_KEY = os.urandom(32)

SERVICE_PRINCIPALS = {
    fixtures.CLIENT_ID: {"secret": fixtures.CLIENT_SECRET, "account_id": fixtures.ACCOUNT_ID},
}
DEFAULT_SCOPE = "all-apis"


@dataclass
class Principal:
    client_id: str
    account_id: str
    audience: str  # "account" or "workspace:<id>"
    scopes: tuple


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def token_lifetime_seconds() -> int:
    """Scaled ``token_ttl`` rounded up, at least 1 s."""
    return max(1, math.ceil(clock.scaled(settings.delays().token_ttl)))


def mint(client_id: str, account_id: str, audience: str, scope: str) -> tuple[str, int]:
    ttl = token_lifetime_seconds()
    now = clock.now()
    header = {"alg": "HS256", "typ": "JWT", "kid": "plink-local"}
    claims = {
        "sub": client_id,
        "client_id": client_id,
        "acct": account_id,
        "aud": audience,
        "scope": scope,
        "iat": int(now),
        "exp": now + ttl,
        "jti": secrets.token_hex(8),
    }
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    sig = hmac.new(_SIGNING_KEY, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(sig), ttl


def verify(token: str) -> Principal:
    """Decode and check a bearer token; raises 401 ApiError when invalid or expired."""
    try:
        head, body, sig = token.split(".")
        expected = hmac.new(_SIGNING_KEY, f"{head}.{body}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(sig)):
            raise ValueError("bad signature")
        claims = json.loads(_unb64(body))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise errors.unauthenticated("Invalid access token.") from None
    if clock.now() >= float(claims["exp"]):
        raise errors.unauthenticated("Token is expired.")
    return Principal(
        client_id=claims["client_id"],
        account_id=claims["acct"],
        audience=claims["aud"],
        scopes=tuple(claims["scope"].split()),
    )


def bearer(request) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise errors.unauthenticated("Credential was not sent or was of an unsupported type for this API.")
    return verify(value.strip())


def require_account(request, account_id: str) -> Principal:
    """Auth for ``/api/2.0/accounts/{account_id}/...`` (§10.2): 401 without a valid account token,
    403 when the path names another account or the token lacks the ``all-apis`` scope."""
    p = bearer(request)
    if p.audience != "account":
        raise errors.unauthenticated("Invalid access token. Workspace-level tokens cannot call account APIs.")
    if p.account_id != account_id:
        raise errors.permission_denied(
            f"Principal {p.client_id} is not authorized to access account {account_id}."
        )
    _require_scope(p)
    return p


def require_workspace(request, workspace) -> Principal:
    """Auth for workspace-host APIs: a token of this workspace, or an account token of its account."""
    p = bearer(request)
    if p.audience == "account":
        if p.account_id != workspace.account_id:
            raise errors.permission_denied(
                f"Principal {p.client_id} is not authorized to access workspace {workspace.workspace_id}."
            )
    elif p.audience != f"workspace:{workspace.workspace_id}":
        raise errors.unauthenticated("Invalid access token.")
    _require_scope(p)
    return p


def _require_scope(p: Principal) -> None:
    if DEFAULT_SCOPE not in p.scopes:
        raise errors.permission_denied(f"Token does not have the required scope '{DEFAULT_SCOPE}'.")


# --- token endpoint -----------------------------------------------------------------------------------

def _client_credentials(request) -> tuple[str | None, str | None]:
    """client_secret_basic (what the SDKs send, §1.2), or client_secret_post as a fallback."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise errors.OAuthError(401, "invalid_client", "Malformed Basic authorization header.") from None
        cid, sep, secret = decoded.partition(":")
        if not sep:
            raise errors.OAuthError(401, "invalid_client", "Malformed Basic authorization header.")
        return cid, secret
    return request.form.get("client_id"), request.form.get("client_secret")


def issue_token(request, account_id: str, audience: str) -> dict:
    """Handle a client-credentials token request; returns the RFC 6749 token response."""
    client_id, secret = _client_credentials(request)
    if not client_id:
        raise errors.OAuthError(401, "invalid_client", "Client authentication failed: no client credentials.")
    sp = SERVICE_PRINCIPALS.get(client_id)
    if sp is None or not hmac.compare_digest(sp["secret"], secret or "") or sp["account_id"] != account_id:
        raise errors.OAuthError(401, "invalid_client", "Client authentication failed.")
    grant_type = request.form.get("grant_type")
    if not grant_type:
        raise errors.OAuthError(400, "invalid_request", "Missing required parameter: grant_type.")
    if grant_type != "client_credentials":
        raise errors.OAuthError(400, "unsupported_grant_type", f"Unsupported grant_type: {grant_type}.")
    scope = " ".join(request.form.get("scope", "").split()) or DEFAULT_SCOPE
    token, ttl = mint(client_id, account_id, audience, scope)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope}


# --- discovery documents --------------------------------------------------------------------------------

def account_host_metadata(base_url: str) -> dict:
    """``GET /.well-known/databricks-config`` on the account host (§1.3). ``oidc_endpoint`` keeps the
    ``{account_id}`` placeholder as the real service does; the SDK substitutes its configured id."""
    return {
        "oidc_endpoint": f"{base_url}/oidc/accounts/{{account_id}}",
        "account_id": fixtures.ACCOUNT_ID,
        "cloud": "AWS",
        "host_type": "ACCOUNT_HOST",
    }


def workspace_host_metadata(base_url: str, workspace) -> dict:
    return {
        "oidc_endpoint": f"{base_url}/oidc",
        "account_id": workspace.account_id,
        "workspace_id": str(workspace.workspace_id),
        "cloud": "AWS",
        "host_type": "WORKSPACE_HOST",
    }


def authorization_server(issuer: str) -> dict:
    """RFC 8414 document at ``<issuer>/.well-known/oauth-authorization-server``."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/v1/authorize",
        "token_endpoint": f"{issuer}/v1/token",
        "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": ["code"],
        "scopes_supported": [DEFAULT_SCOPE, "offline_access"],
        "code_challenge_methods_supported": ["S256"],
    }
