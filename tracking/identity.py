"""Which vessel an identity (MMSI, terminal ID, tag ID) belonged to at a given time.

`vessel_identities` holds validity periods, because transponders and terminals move between hulls and
history must still resolve to the hull that carried them then. An identity never seen before gets a
*provisional* vessel, so no report is ever stored without a vessel; the registry (and, later, an import)
can merge or replace it. If the identity is known but not at that time, the provisional vessel covers
exactly the gap between the known periods, so periods of one identity never overlap.

Creation is serialised per identity by a transaction-level advisory lock: two workers that meet the
same new MMSI at the same moment get the same vessel. The identities one `resolve_many` call must create
are created together, in one transaction (locks taken in a fixed order, so two workers cannot deadlock):
a cold database meeting a fleet costs a few statements per batch, not per vessel. Anything else that
writes `vessel_identities` (the registry import) should take the same lock (`identity_lock_key`) and
call `forget` afterwards.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Literal, NamedTuple

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from tracking.db import Pool

log = logging.getLogger(__name__)

IdentityKind = Literal["mmsi", "terminal", "tag"]
IDENTITY_KINDS: tuple[str, ...] = ("mmsi", "terminal", "tag")

# First half of the two-key advisory lock; the second is a hash of the identity. The two-key form lives
# in a different key space from the one-bigint form that migrations lock with, so they never collide.
IDENTITY_LOCK_NAMESPACE = 0x5EA1D

# Cached identities are read again after this long, so that changes made by another process (a
# registry import merging a provisional vessel) reach every running worker within a minute.
CACHE_TTL_S = 60.0

Connection = AsyncConnection[TupleRow]


class Period(NamedTuple):
    """[valid_from, valid_to) of one identity on one vessel; None is unbounded (±infinity)."""

    valid_from: datetime | None
    valid_to: datetime | None
    vessel_id: int

    def covers(self, ts: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= ts) and (
            self.valid_to is None or ts < self.valid_to
        )


class Lookup(NamedTuple):
    kind: str
    value: str
    ts: datetime


def identity_lock_key(kind: str, value: str) -> str:
    """The text hashed (with `hashtext`) into the lock's second key."""
    return f"{kind}:{value}"


# PostgreSQL's ±infinity cannot be loaded into a Python datetime, so it comes back as NULL.
_SELECT_PERIODS = (
    "SELECT kind, value, vessel_id, NULLIF(valid_from, '-infinity'), NULLIF(valid_to, 'infinity')"
    " FROM vessel_identities"
)


class IdentityRegistry:
    """Resolves identities to vessel ids, with a bounded LRU cache of each identity's periods."""

    def __init__(
        self,
        pool: Pool,
        *,
        cache_size: int = 100_000,
        ttl_s: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        self.pool = pool
        self.cache_size = cache_size
        self.ttl_s = ttl_s
        self.clock = clock
        # (kind, value) → (periods, when they were read)
        self._cache: OrderedDict[tuple[str, str], tuple[tuple[Period, ...], float]] = OrderedDict()
        self.created = 0  # provisional vessels this registry created

    def __len__(self) -> int:
        return len(self._cache)

    def forget(self, kind: str, value: str) -> None:
        """Drop what is cached about one identity (call after changing its periods)."""
        self._cache.pop((kind, value), None)

    def clear(self) -> None:
        self._cache.clear()

    def cached(self, kind: str, value: str, ts: datetime) -> int | None:
        """The vessel from the cache alone, or None when only the database can tell (no query here)."""
        return self._cached(kind, value, ts)

    async def resolve(self, kind: str, value: str, ts: datetime) -> int:
        """The vessel that carried `kind`/`value` at `ts`, creating a provisional one if none did."""
        return (await self.resolve_many([Lookup(kind, value, ts)]))[0]

    async def resolve_many(self, lookups: Sequence[Lookup], *, conn: Connection | None = None) -> list[int]:
        """`resolve` for many lookups at once: one query for all cache misses, then any creations.

        `conn`, when given, must not be inside a transaction: each step commits on its own, so a vessel
        created here exists (and is cached) whatever happens to the caller's later work.
        """
        result = [self._cached(kind, value, ts) for kind, value, ts in lookups]
        if all(vessel is not None for vessel in result):
            return [vessel for vessel in result if vessel is not None]
        if conn is None:
            async with self.pool.connection() as own:
                return await self._resolve_misses(own, lookups, result)
        return await self._resolve_misses(conn, lookups, result)

    async def periods(self, kind: str, value: str) -> tuple[Period, ...]:
        """Every period of one identity, latest first, as stored."""
        async with self.pool.connection() as conn:
            loaded = await self._load(conn, [(kind, value)])
        return loaded.get((kind, value), ())

    # --- internals ------------------------------------------------------------------------------

    def _cached(self, kind: str, value: str, ts: datetime) -> int | None:
        key = (kind, value)
        entry = self._cache.get(key)
        if entry is None:
            return None
        periods, read_at = entry
        if self.clock() - read_at > self.ttl_s:
            # Another process (a registry import) may have changed this identity since: read it again.
            del self._cache[key]
            return None
        self._cache.move_to_end(key)
        return _vessel_at(periods, ts)

    def _remember(self, key: tuple[str, str], periods: tuple[Period, ...]) -> None:
        self._cache[key] = (periods, self.clock())
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    async def _resolve_misses(
        self, conn: Connection, lookups: Sequence[Lookup], result: list[int | None]
    ) -> list[int]:
        missing = {(lookups[i].kind, lookups[i].value) for i, vessel in enumerate(result) if vessel is None}
        loaded = await self._load(conn, missing)
        for key in missing:
            self._remember(key, loaded.get(key, ()))
        uncovered: list[int] = []
        for i, lookup in enumerate(lookups):
            if result[i] is None:
                result[i] = _vessel_at(loaded.get((lookup.kind, lookup.value), ()), lookup.ts)
                if result[i] is None:
                    uncovered.append(i)
        if uncovered:
            created = await self._create([lookups[i] for i in uncovered], conn)
            for i, vessel_id in zip(uncovered, created, strict=True):
                result[i] = vessel_id
        return [vessel for vessel in result if vessel is not None]

    async def _load(
        self, conn: Connection, keys: Iterable[tuple[str, str]], *, own: bool = True
    ) -> dict[tuple[str, str], tuple[Period, ...]]:
        """Every period of `keys`, latest first; in a transaction of its own unless `own` is False
        (the caller's transaction)."""
        keys = list(keys)
        if not keys:
            return {}
        if own:
            async with conn.transaction():
                return await self._load(conn, keys, own=False)
        found: dict[tuple[str, str], list[Period]] = {}
        cur = await conn.execute(
            _SELECT_PERIODS + " WHERE (kind, value) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
            " ORDER BY valid_from DESC",
            ([k for k, _ in keys], [v for _, v in keys]),
        )
        for kind, value, vessel_id, valid_from, valid_to in await cur.fetchall():
            found.setdefault((kind, value), []).append(Period(valid_from, valid_to, vessel_id))
        return {key: tuple(periods) for key, periods in found.items()}

    async def _create(self, lookups: Sequence[Lookup], conn: Connection) -> list[int]:
        """The vessels of lookups that no period covered when read: provisional vessels, created in one
        transaction under every identity's lock, unless another worker created them meanwhile."""
        for lookup in lookups:
            if lookup.kind not in IDENTITY_KINDS:
                raise ValueError(f"identity kind {lookup.kind!r} is not one of {IDENTITY_KINDS}")
        keys = sorted({(lookup.kind, lookup.value) for lookup in lookups})
        async with conn.transaction():
            # One lock per identity, in the order of `keys`: workers locking overlapping sets queue up.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(k))"
                " FROM unnest(%s::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
                (IDENTITY_LOCK_NAMESPACE, [identity_lock_key(*key) for key in keys]),
            )
            # Under the locks, read again: another worker may have created some while we waited.
            periods = {key: list(found) for key, found in (await self._load(conn, keys, own=False)).items()}
            vessels: list[int] = []
            new: list[tuple[tuple[str, str], datetime | None, datetime | None]] = []
            for lookup in lookups:
                key = (lookup.kind, lookup.value)
                known = periods.setdefault(key, [])
                vessel_id = _vessel_at(known, lookup.ts)
                if vessel_id is None:
                    # A placeholder id (negative, unique) until the vessels are inserted below.
                    vessel_id = -1 - len(new)
                    valid_from, valid_to = _gap_around(known, lookup.ts)
                    new.append((key, valid_from, valid_to))
                    known.append(Period(valid_from, valid_to, vessel_id))
                vessels.append(vessel_id)
            if new:
                cur = await conn.execute(
                    "INSERT INTO vessels (provisional) SELECT true FROM generate_series(1, %s) RETURNING id",
                    (len(new),),
                )
                ids = [int(row[0]) for row in await cur.fetchall()]
                await conn.execute(
                    "INSERT INTO vessel_identities (vessel_id, kind, value, valid_from, valid_to)"
                    " SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[],"
                    " %s::timestamptz[]) AS t(vessel_id, kind, value, valid_from, valid_to)",
                    (
                        ids,
                        [key[0] for key, _, _ in new],
                        [key[1] for key, _, _ in new],
                        ["-infinity" if start is None else start.isoformat() for _, start, _ in new],
                        ["infinity" if end is None else end.isoformat() for _, _, end in new],
                    ),
                )
                real = {-1 - n: vessel_id for n, vessel_id in enumerate(ids)}
                vessels = [real.get(vessel_id, vessel_id) for vessel_id in vessels]
                for key, known in periods.items():
                    periods[key] = [p._replace(vessel_id=real.get(p.vessel_id, p.vessel_id)) for p in known]
                self.created += len(new)
                for (kind, value, _), vessel_id in zip(new, ids, strict=True):
                    log.info("new provisional vessel %d for %s %s", vessel_id, kind, value)
        for key, known in periods.items():
            # Latest first, as `_load` returns them (the new periods fill gaps between known ones).
            self._remember(key, tuple(sorted(known, key=_period_order, reverse=True)))
        return vessels


def _vessel_at(periods: Iterable[Period], ts: datetime) -> int | None:
    # Periods come latest first, so if bad data ever made two overlap the later assignment wins.
    for period in periods:
        if period.covers(ts):
            return period.vessel_id
    return None


def _period_order(period: Period) -> datetime:
    return period.valid_from or datetime.min.replace(tzinfo=UTC)


def _gap_around(periods: Iterable[Period], ts: datetime) -> tuple[datetime | None, datetime | None]:
    """The widest interval around `ts` that no period touches (None: unbounded on that side)."""
    start: datetime | None = None
    end: datetime | None = None
    for period in periods:
        if (
            period.valid_to is not None
            and period.valid_to <= ts
            and (start is None or period.valid_to > start)
        ):
            start = period.valid_to
        if (
            period.valid_from is not None
            and period.valid_from > ts
            and (end is None or period.valid_from < end)
        ):
            end = period.valid_from
    return start, end
