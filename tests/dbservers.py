"""Throwaway databases on the local PostgreSQL and MariaDB servers.

The integration tests run generated services against real servers. Each test gets a
database of its own, created before and dropped after it, so tests never see each
other's tables (and pytest-xdist workers can run side by side on one server).

A server is "available" when its TCP port answers; when it does not, the tests that
need it skip with a reason naming ``host:port``. Hosts and ports can be moved with
``APIFORGE_TEST_PG_HOST`` / ``APIFORGE_TEST_PG_PORT`` and ``APIFORGE_TEST_MYSQL_HOST`` /
``APIFORGE_TEST_MYSQL_PORT``.

PostgreSQL is driven through asyncpg (user ``postgres``, trust auth, maintenance
database ``postgres``). MariaDB is driven through PyMySQL when it is importable and
otherwise through the ``mysql`` command-line client (user ``root``, empty password).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

CONNECT_TIMEOUT = 1.0  # seconds for the reachability probe
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class DatabaseServer:
    """A database server the tests may create databases on."""

    kind: str  # "postgresql" | "mariadb": also the pytest id of the tests using it
    label: str  # human name for messages
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def available(self) -> bool:
        return port_open(self.host, self.port)

    @property
    def skip_reason(self) -> str:
        return f"{self.label} is not reachable at {self.address}"

    def url(self, database: str) -> str:
        """The async SQLAlchemy URL a generated service uses for ``database``."""
        _check_identifier(database)
        if self.kind == "postgresql":
            return f"postgresql+asyncpg://postgres@{self.host}:{self.port}/{database}"
        return f"mysql+aiomysql://root@{self.host}:{self.port}/{database}"

    def create_database(self, database: str) -> None:
        _check_identifier(database)
        if self.kind == "postgresql":
            _postgres_execute(self, f'CREATE DATABASE "{database}"')
        else:
            _mariadb_execute(
                self,
                f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            )

    def drop_database(self, database: str) -> None:
        _check_identifier(database)
        if self.kind == "postgresql":
            # WITH (FORCE) ends connections a killed service may have left behind.
            _postgres_execute(self, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        else:
            _mariadb_execute(self, f"DROP DATABASE IF EXISTS `{database}`")

    def database_exists(self, database: str) -> bool:
        _check_identifier(database)
        rows: Sequence[object]
        if self.kind == "postgresql":
            rows = _postgres_fetch(
                self, "SELECT datname FROM pg_database WHERE datname = $1", database
            )
        else:
            rows = _mariadb_fetch(self, f"SHOW DATABASES LIKE '{database}'")
        return bool(rows)

    def database_names(self) -> list[str]:
        """Every database on the server (for tests that check what a run left behind)."""
        rows: Sequence[Any]  # asyncpg records or tuples: both index by column
        if self.kind == "postgresql":
            rows = _postgres_fetch(self, "SELECT datname FROM pg_database")
        else:
            rows = _mariadb_fetch(self, "SHOW DATABASES")
        return sorted(str(row[0]) for row in rows)


POSTGRESQL = DatabaseServer(
    kind="postgresql",
    label="PostgreSQL",
    host=os.environ.get("APIFORGE_TEST_PG_HOST", "127.0.0.1"),
    port=int(os.environ.get("APIFORGE_TEST_PG_PORT", "5432")),
)
MARIADB = DatabaseServer(
    kind="mariadb",
    label="MariaDB",
    host=os.environ.get("APIFORGE_TEST_MYSQL_HOST", "127.0.0.1"),
    port=int(os.environ.get("APIFORGE_TEST_MYSQL_PORT", "3306")),
)
SERVERS = {server.kind: server for server in (POSTGRESQL, MARIADB)}


@cache
def port_open(host: str, port: int, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether something accepts TCP connections at host:port (probed once per process)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def database_name(label: str) -> str:
    """A fresh database name: ``apiforge_<label>_<8 hex digits>``, safe in both dialects."""
    slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40] or "db"
    return f"apiforge_{slug}_{uuid.uuid4().hex[:8]}"


@contextmanager
def temporary_database(server: DatabaseServer, label: str) -> Iterator[str]:
    """Create a uniquely named database, yield its SQLAlchemy URL, drop it afterwards."""
    name = database_name(label)
    server.create_database(name)
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


def _check_identifier(name: str) -> None:
    # Names are interpolated into SQL: allow only what database_name() produces.
    if not _IDENTIFIER.match(name):
        raise ValueError(f"refusing unsafe database name {name!r}")


# --- PostgreSQL (asyncpg) ---------------------------------------------------------


async def _postgres_run(server: DatabaseServer, sql: str, *args: object) -> list[object]:
    import asyncpg  # type: ignore[import-untyped,unused-ignore]  # only PostgreSQL tests need it

    conn = await asyncpg.connect(
        host=server.host, port=server.port, user="postgres", database="postgres", timeout=10
    )
    try:
        if args or sql.lstrip().upper().startswith("SELECT"):
            return list(await conn.fetch(sql, *args))
        await conn.execute(sql)
        return []
    finally:
        await conn.close()


def _postgres_execute(server: DatabaseServer, sql: str) -> None:
    asyncio.run(_postgres_run(server, sql))


def _postgres_fetch(server: DatabaseServer, sql: str, *args: object) -> list[object]:
    return asyncio.run(_postgres_run(server, sql, *args))


# --- MariaDB (PyMySQL or the mysql client) ---------------------------------------


def _mariadb_fetch(server: DatabaseServer, sql: str) -> list[tuple[object, ...]]:
    try:
        import pymysql  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return _mariadb_client(server, sql)
    conn = pymysql.connect(
        host=server.host, port=server.port, user="root", password="", connect_timeout=10
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())
    finally:
        conn.close()


def _mariadb_client(server: DatabaseServer, sql: str) -> list[tuple[object, ...]]:
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        raise RuntimeError(
            "neither PyMySQL nor the mysql/mariadb command-line client is installed; "
            "one of them is needed to create MariaDB test databases"
        )
    argv = [client, "-uroot", f"-h{server.host}", f"-P{server.port}", "--protocol=TCP"]
    result = subprocess.run(
        [*argv, "--batch", "--skip-column-names", "-e", sql],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{client} failed running {sql!r}: {result.stderr.strip()}")
    return [tuple(line.split("\t")) for line in result.stdout.splitlines() if line]


def _mariadb_execute(server: DatabaseServer, sql: str) -> None:
    _mariadb_fetch(server, sql)
