"""Authentication to the EHR: none (embedded server), a static bearer token, or SMART.

SMART Backend Services (client_credentials grant with a private_key_jwt client assertion): the
client signs a short-lived JWT with its private key (RS384 or ES384), posts it to the token endpoint
(discovered from `[base]/.well-known/smart-configuration` when not given) and uses the access token
as a bearer token until shortly before it expires.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Protocol

import httpx
import jwt

from .errors import EhrAuthError, EhrTimeout, EhrUnavailable


def _timeout(client: httpx.AsyncClient) -> float:
    return client.timeout.read or 0.0


class EhrAuth(Protocol):
    """Supplies request headers for the EHR; `invalidate` is called after a 401."""

    async def headers(self, client: httpx.AsyncClient, base_url: str) -> dict[str, str]:
        """Headers to add to every request (e.g. Authorization)."""
        ...

    def invalidate(self) -> None:
        """Forget any cached credential (the EHR refused it)."""
        ...


class StaticTokenAuth:
    """A fixed bearer token (e.g. issued out of band)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def headers(self, client: httpx.AsyncClient, base_url: str) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        """Nothing to refresh."""


class SmartBackendAuth:
    """SMART Backend Services: client_credentials with a signed JWT (private_key_jwt).

    `private_key_pem` is the PEM text of the client's RSA or EC private key; its public key must be
    registered at the EHR under `client_id` (with `kid` if the EHR's JWKS has several keys).
    """

    ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    def __init__(
        self,
        *,
        client_id: str,
        private_key_pem: str,
        token_url: str | None = None,
        scope: str = "system/*.read system/*.write",
        alg: str = "RS384",
        kid: str | None = None,
        leeway_s: float = 60.0,
    ) -> None:
        if alg not in ("RS384", "ES384", "RS256", "ES256"):
            raise ValueError(f"Unsupported SMART signing algorithm {alg!r}; use RS384 or ES384")
        self.client_id = client_id
        self._key = private_key_pem
        self.token_url = token_url
        self.scope = scope
        self.alg = alg
        self.kid = kid
        self._leeway = leeway_s
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    @classmethod
    def from_key_file(cls, path: str | Path, **kwargs: object) -> SmartBackendAuth:
        """Build from a PEM key file (other arguments as for the constructor)."""
        return cls(private_key_pem=Path(path).read_text(), **kwargs)  # type: ignore[arg-type]

    def client_assertion(self, audience: str) -> str:
        """A signed JWT for the token endpoint (valid for 5 minutes, unique jti)."""
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "exp": now + 300,
            "iat": now,
            "jti": uuid.uuid4().hex,
        }
        headers = {"typ": "JWT", **({"kid": self.kid} if self.kid else {})}
        return jwt.encode(claims, self._key, algorithm=self.alg, headers=headers)

    async def _discover(self, client: httpx.AsyncClient, base_url: str) -> str:
        url = f"{base_url.rstrip('/')}/.well-known/smart-configuration"
        try:
            r = await client.get(url)
        except httpx.TimeoutException as e:
            raise EhrTimeout("smart-configuration", "discover", _timeout(client)) from e
        except httpx.TransportError as e:
            raise EhrUnavailable("smart-configuration", "discover", str(e)) from e
        if r.status_code != 200:
            raise EhrAuthError(
                "smart-configuration", "discover", f"HTTP {r.status_code} from {url}"
            )
        try:
            endpoint = r.json()["token_endpoint"]
        except (ValueError, KeyError, TypeError) as e:
            raise EhrAuthError("smart-configuration", "discover", f"no token_endpoint ({e})") from e
        if not isinstance(endpoint, str):
            raise EhrAuthError("smart-configuration", "discover", "token_endpoint is not a string")
        return endpoint

    async def _fetch(self, client: httpx.AsyncClient, base_url: str) -> None:
        if not self.token_url:
            self.token_url = await self._discover(client, base_url)
        form = {
            "grant_type": "client_credentials",
            "scope": self.scope,
            "client_assertion_type": self.ASSERTION_TYPE,
            "client_assertion": self.client_assertion(self.token_url),
        }
        try:
            r = await client.post(self.token_url, data=form, headers={"Accept": "application/json"})
        except httpx.TimeoutException as e:
            raise EhrTimeout("token", "authenticate", _timeout(client)) from e
        except httpx.TransportError as e:
            raise EhrUnavailable("token", "authenticate", str(e)) from e
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            desc = (
                body.get("error_description") or body.get("error") if isinstance(body, dict) else ""
            )
            raise EhrAuthError(
                "token", "authenticate", f"HTTP {r.status_code}: {desc or r.text[:200]}"
            )
        self._token = str(body["access_token"])
        self._expires_at = time.monotonic() + float(body.get("expires_in", 300)) - self._leeway

    async def headers(self, client: httpx.AsyncClient, base_url: str) -> dict[str, str]:
        """A valid bearer token, fetched or refreshed when needed."""
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                await self._fetch(client, base_url)
            return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        """Drop the cached access token."""
        self._token = None
