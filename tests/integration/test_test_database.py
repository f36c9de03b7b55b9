"""Issue 8, item 1: a generated test suite never touches the database DATABASE_URL names.

A developer's database -- migrated with `alembic upgrade head`, holding a sentinel row --
is named by DATABASE_URL while the generated suite runs (on two pytest-xdist workers for one).
The suite must work on databases of its own (``<name>_gw0_test``..., a temporary file for
SQLite), drop them at the end and leave its temp folder empty; and it must refuse a
TEST_DATABASE_URL whose database name does not end in ``_test``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import TIMEOUT_CHECK, Project, run_generated_suite

pytestmark = [pytest.mark.integration, pytest.mark.examples("minimal")]

SENTINEL = "sentinel: a row of the developer"

# Runs one statement in the project's venv: python -c SQL URL STATEMENT.
SQL = """
import asyncio, json, sys
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

async def main(url: str, statement: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        result = await connection.execute(text(statement))
        rows = [list(map(str, row)) for row in result] if result.returns_rows else []
    await engine.dispose()
    print(json.dumps(rows))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def sql(project: Project, url: str, statement: str) -> list[list[str]]:
    result = project.run("python", "-c", SQL, url, statement, timeout=TIMEOUT_CHECK)
    assert result.ok, result.report(statement)
    rows: list[list[str]] = json.loads(result.stdout.strip().splitlines()[-1])
    return rows


@pytest.fixture
def development_database(project: Project, database_url: str) -> str:
    """`database_url`, migrated to head and holding the sentinel note (examples/minimal)."""
    upgrade = project.run("alembic", "upgrade", "head", database_url=database_url,
                          timeout=TIMEOUT_CHECK)  # fmt: skip
    assert upgrade.ok, upgrade.report("alembic upgrade head")
    sql(project, database_url,
        "INSERT INTO notes (title, created_at, updated_at) "
        f"VALUES ('{SENTINEL}', '2024-01-01 10:00:00', '2024-01-01 10:00:00')")  # fmt: skip
    return database_url


# Two pytest-xdist workers on one database: the naming per worker is the same code for
# every database, and each run costs seconds.
WORKERS = [("sqlite", []), ("postgresql", ["-n", "2"]), ("mariadb", [])]


@pytest.mark.parametrize(("database_url", "workers"), WORKERS, indirect=["database_url"],
                         ids=["sqlite", "postgresql-xdist", "mariadb"])  # fmt: skip
def test_the_generated_suite_leaves_the_development_database_alone(
    project: Project, development_database: str, workers: list[str], tmp_path: Path
) -> None:
    result, left = run_generated_suite(project, development_database, tmp_path, *workers)
    assert result.ok, result.report(f"the generated suite {' '.join(workers)}")
    assert " passed" in result.stdout, result.report("the generated suite ran no test")
    assert sql(project, development_database, "SELECT title FROM notes") == [[SENTINEL]]
    assert not left, f"the generated suite left behind {left}"


@pytest.mark.parametrize(("database_url", "workers"), WORKERS[:2], indirect=["database_url"],
                         ids=["sqlite", "postgresql-xdist"])  # fmt: skip
def test_a_test_database_not_named_test_is_refused(
    project: Project, development_database: str, workers: list[str], tmp_path: Path
) -> None:
    # The likeliest slip: TEST_DATABASE_URL copied from DATABASE_URL.
    env = {"TEST_DATABASE_URL": development_database}
    result, left = run_generated_suite(project, development_database, tmp_path, *workers, env=env)
    assert result.returncode == 4, result.report("the generated suite (expected a usage error)")
    message = [line for line in result.stderr.splitlines() if "_test" in line]
    assert len(message) == 1, result.report("expected one line naming the _test rule")
    assert "Traceback" not in result.stdout + result.stderr, result.report("a traceback")
    assert sql(project, development_database, "SELECT title FROM notes") == [[SENTINEL]]
    assert not left, f"the refused run left behind {left}"
