"""Versioned schema migrations of the scale-out mode: `app/state/migrations/NNNN_name.sql`, each applied
once, in order, in its own transaction, under an advisory lock (two upgrades at once do not race)."""

from __future__ import annotations

from pathlib import Path

from psycopg import AsyncConnection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 0x5732_5632  # "S2V2"


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file, in order."""
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        version = int(path.name.split("_", 1)[0])
        found.append((version, path.stem, path.read_text(encoding="utf-8")))
    return found


async def applied(conn: AsyncConnection[object]) -> set[int]:
    exists = await (await conn.execute("SELECT to_regclass('s2v_schema_migrations') IS NOT NULL")).fetchone()
    if not exists or not exists[0]:  # type: ignore[index]
        return set()
    rows = await (await conn.execute("SELECT version FROM s2v_schema_migrations")).fetchall()
    return {int(r[0]) for r in rows}  # type: ignore[index]


async def upgrade(dsn: str) -> list[str]:
    """Apply the migrations this database lacks; returns the names applied."""
    done: list[str] = []
    async with await AsyncConnection.connect(dsn, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            await conn.execute("CREATE TABLE IF NOT EXISTS s2v_schema_migrations (version integer PRIMARY KEY, "
                               "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            have = await applied(conn)
            for version, name, sql in migrations():
                if version in have:
                    continue
                async with conn.transaction():
                    await conn.execute(sql.encode())
                    await conn.execute("INSERT INTO s2v_schema_migrations (version, name) VALUES (%s, %s)",
                                       (version, name))
                done.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    return done


async def pending(dsn: str) -> list[str]:
    """Names of the migrations this database lacks (readiness, start-up checks)."""
    async with await AsyncConnection.connect(dsn, autocommit=True) as conn:
        have = await applied(conn)
    return [name for version, name, _ in migrations() if version not in have]
