"""Console sign-in throttling, decided before a password is hashed.

Checking a password costs an argon2id hash (64 MiB, tens of milliseconds). Without a limit,
anyone could try passwords against a clinician's account as fast as the server hashes, and
forty sign-ins at once would take forty hashes' worth of memory. So:

- wrong passwords are counted per account (a keyed hash of the email, never the email) and
  per client address in a moving window; once either is spent, sign-in is refused with 429
  and Retry-After *before* any hashing, whether the password would have been right or not;
- a right password clears its account's count (a clinician who mistyped twice is not
  punished after signing in), not the client's;
- at most a few hashes run at once; a sign-in that cannot get a turn quickly gets 503.

The windows live where the rest of the shared state does: in Redis when several hub workers
share it (`REDIS_URL`), in memory otherwise. Counting and windows are the `limits` library's
(moving-window strategy), not ours.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

ACCOUNT_LIMIT = "5/15minutes"  # wrong passwords per account
CLIENT_LIMIT = "20/15minutes"  # wrong passwords per client address
HASHES_AT_ONCE = 2
HASH_WAIT_S = 5.0


@dataclass(frozen=True)
class Refused:
    """Sign-in refused before hashing; try again after this many seconds."""

    retry_after_s: int


class LoginThrottle:
    """Counts wrong passwords per account and per client; bounds concurrent hashing."""

    def __init__(
        self,
        *,
        storage_uri: str = "memory://",
        key_prefix: str = "hub:",
        account_limit: str = ACCOUNT_LIMIT,
        client_limit: str = CLIENT_LIMIT,
        hashes_at_once: int = HASHES_AT_ONCE,
    ) -> None:
        options = {} if storage_uri.startswith("memory") else {"key_prefix": f"{key_prefix}login"}
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))
        self._account: RateLimitItem = parse(account_limit)
        self._client: RateLimitItem = parse(client_limit)
        self._hashing = threading.BoundedSemaphore(hashes_at_once)

    def refused(self, *, email: str, client: str) -> Refused | None:
        """Refused when the account's or the client's wrong passwords are spent."""
        waits = [
            self._wait(item, kind, key)
            for item, kind, key in self._keys(email, client)
            if not self._limiter.test(item, kind, key)
        ]
        return Refused(max(waits)) if waits else None

    def failed(self, *, email: str, client: str) -> None:
        """A wrong email or password: counts against both."""
        for item, kind, key in self._keys(email, client):
            self._limiter.hit(item, kind, key)

    def succeeded(self, *, email: str) -> None:
        """A right password: the account's count starts again."""
        self._limiter.clear(self._account, "account", _account_key(email))

    def hashing_turn(self) -> bool:
        """Wait (briefly) for one of the few hashing turns; release with `done_hashing`."""
        return self._hashing.acquire(timeout=HASH_WAIT_S)

    def done_hashing(self) -> None:
        self._hashing.release()

    def _keys(self, email: str, client: str) -> list[tuple[RateLimitItem, str, str]]:
        return [(self._account, "account", _account_key(email)), (self._client, "client", client)]

    def _wait(self, item: RateLimitItem, kind: str, key: str) -> int:
        reset_at = self._limiter.get_window_stats(item, kind, key).reset_time
        return max(1, math.ceil(reset_at - time.time()))


def _account_key(email: str) -> str:
    """The account as a key: no email address in Redis or in memory dumps."""
    return hashlib.sha256(email.strip().casefold().encode("utf-8")).hexdigest()[:32]
