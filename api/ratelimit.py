"""Per-client rate limits for the endpoints that check or issue tokens.

Tokens are 256-bit random strings, so guessing one is hopeless; the limit is there so that a script
hammering the login check or the token endpoint is slowed down and shows up in the logs instead of
loading the database. It is a sliding window per client address, in memory: each API process limits
its own clients, which is what a limit against hammering needs.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

from fastapi import Request

from api.errors import ApiError

log = logging.getLogger(__name__)

# Beyond this many tracked clients, forget those whose windows have passed: memory stays bounded even
# when requests come from very many addresses.
MAX_KEYS = 10_000


class RateLimiter:
    """At most `limit` events per `window_s` seconds for each key."""

    def __init__(self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._events: dict[str, deque[float]] = {}

    def hit(self, key: str) -> float | None:
        """Count one event for `key`; returns None if allowed, else the seconds until it would be."""
        now = self.clock()
        events = self._events.get(key)
        if events is None:
            if len(self._events) >= MAX_KEYS:
                self._forget_idle(now)
            events = self._events[key] = deque()
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if len(events) >= self.limit:
            return events[0] + self.window_s - now
        events.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, ev in self._events.items() if not ev or ev[-1] <= now - self.window_s]:
            del self._events[key]


def client_key(request: Request) -> str:
    # Behind a TLS proxy every client has the proxy's address; uvicorn's --forwarded-allow-ips (or the
    # proxy's own limit) is then what tells clients apart.
    return request.client.host if request.client else "unknown"


def rate_limited(name: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency counting each call against the limiter `name` in `app.state.rate_limits`."""

    async def dependency(request: Request) -> None:
        limiter: RateLimiter = request.app.state.rate_limits[name]
        key = client_key(request)
        wait = limiter.hit(key)
        if wait is not None:
            log.warning("rate limit %r: refusing %s for %.0f s", name, key, wait)
            raise ApiError(
                429,
                f"too many requests; try again in {math.ceil(wait)} s",
                code="rate_limited",
                headers={"Retry-After": str(math.ceil(wait))},
            )

    return dependency
