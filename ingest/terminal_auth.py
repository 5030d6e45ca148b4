"""Authentication codes of JT/T 808 terminals, kept in the `terminals` table."""

from __future__ import annotations

import secrets
from typing import Any

from psycopg.types.json import Jsonb

from tracking.db import Pool

AUTH_CODE_BYTES = 8


class TerminalAuthStore:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    async def register(self, terminal: str, registration: dict[str, Any]) -> str:
        """Issue (or re-issue) an authentication code; a terminal that registers again gets a new one."""
        code = secrets.token_hex(AUTH_CODE_BYTES)
        async with self.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO terminals (terminal, auth_code, registration) VALUES (%s, %s, %s)"
                " ON CONFLICT (terminal) DO UPDATE SET auth_code = EXCLUDED.auth_code,"
                " registration = EXCLUDED.registration, registered_at = now()",
                (terminal, code, Jsonb(registration)),
            )
        return code

    async def authenticate(self, terminal: str, code: str) -> bool:
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE terminals SET last_auth_at = now()"
                " WHERE terminal = %s AND auth_code = %s RETURNING 1",
                (terminal, code),
            )
            return await cur.fetchone() is not None
