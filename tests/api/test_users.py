import pytest

from api.users import UserError, add_user, token_digest, user_for_token
from tracking.db import Pool


async def test_tokens_are_stored_only_as_digests(pool: Pool) -> None:
    async with pool.connection() as conn:
        user, token = await add_user(conn, "lin", "dispatcher")
        cur = await conn.execute("SELECT token_sha256 FROM api_tokens WHERE user_id = %s", (user.id,))
        stored = [bytes(r[0]) for r in await cur.fetchall()]
    assert stored == [token_digest(token)]
    assert token.encode() not in stored[0]


async def test_a_token_finds_its_user_until_revoked_or_disabled(pool: Pool) -> None:
    async with pool.connection() as conn:
        user, token = await add_user(conn, "chen", "operator")
        assert await user_for_token(conn, token) == user
        await conn.execute("UPDATE users SET disabled = true WHERE id = %s", (user.id,))
        assert await user_for_token(conn, token) is None
        _, second = await add_user(conn, "chen", "official")  # re-adding enables and changes the role
        found = await user_for_token(conn, token)
        assert found is not None and found.role == "official"
        await conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_sha256 = %s", (token_digest(token),)
        )
        assert await user_for_token(conn, token) is None
        assert await user_for_token(conn, second) is not None


async def test_bad_roles_and_short_tokens_are_refused(pool: Pool) -> None:
    async with pool.connection() as conn:
        with pytest.raises(UserError, match="unknown role"):
            await add_user(conn, "x", "captain")
        with pytest.raises(UserError, match="at least"):
            await add_user(conn, "x", "viewer", token="short")
        with pytest.raises(UserError, match="name"):
            await add_user(conn, "  ", "viewer")
