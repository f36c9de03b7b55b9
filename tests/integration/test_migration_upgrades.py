"""Migrations on real databases: rows written under one spec survive every later spec.

A spec goes v1 → v2 → v3. Each version's project is rendered with `render_project`
and given the migrations `plan_migration` writes; the database (SQLite, and
PostgreSQL and MariaDB when reachable) is upgraded with `alembic upgrade head`,
holds rows inserted with plain SQL, and after every upgrade must still hold them,
under their new names; `alembic check` must find nothing to do; and
`alembic downgrade -1` followed by `alembic upgrade head` must work.

v2: add fields with defaults (a string, an enum, a JSON list), add an optional
field, rename a field (`renamed_from`), lengthen a string, add a unique constraint
and an index. v3: rename a resource and its ref field (`renamed_from`), add a
resource that refers to an existing one, drop a column (`allow_destructive`), make
an optional text field required with a default, rename enum values
(`renamed_values`: the rows are rewritten), make an optional int required and narrow
its range with a `backfill` (NULLs and out-of-range values get it). Enums and ranges
are CHECK constraints too: `alembic check` compares them by name, and the database
refuses rows outside them. A second scenario narrows a field without a backfill: the
upgrade stops before changing anything while rows break the new rule.

The generated projects run from the shared venv of their dependencies (see
conftest.py) through a light overlay venv; `alembic.ini` puts `src/` on the path,
so the project itself needs no install.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from apiforge.loader import load_spec_text
from apiforge.migrations import Migration, plan_migration
from apiforge.render import render_project

from .conftest import TIMEOUT_CHECK, CommandResult, SharedVenv, clean_environ, make_overlay, run

pytestmark = pytest.mark.integration

V1 = """
author:
  fields:
    name: {type: str, max_length: 100}
    email: {type: email, unique: true}
book:
  fields:
    title: {type: str, max_length: 100}
    blurb: {type: text, required: false}
    pages: {type: int, required: false}
    status: {type: enum, values: [draft, published, withdrawn], default: draft}
    author: {type: ref, to: author, on_delete: cascade}
"""
V2 = """
author:
  fields:
    name: {type: str, max_length: 100, index: true}
    email: {type: email, unique: true}
    country: {type: str, max_length: 2, default: NZ}
book:
  fields:
    title: {type: str, max_length: 300}
    summary: {type: text, required: false, renamed_from: blurb}
    pages: {type: int, required: false}
    isbn: {type: str, max_length: 13, required: false, unique: true}
    status: {type: enum, values: [draft, published, withdrawn], default: draft}
    notes: {type: "list[str]", default: []}
    rating: {type: int, required: false}
    author: {type: ref, to: author, on_delete: cascade}
"""
V3 = """
writer:
  renamed_from: author
  fields:
    name: {type: str, max_length: 100, index: true}
    email: {type: email, unique: true}
    country: {type: str, max_length: 2, default: NZ}
book:
  fields:
    title: {type: str, max_length: 300}
    summary: {type: text, default: n/a, renamed_from: blurb}
    isbn: {type: str, max_length: 13, required: false, unique: true}
    status: {type: enum, values: [draft, live], default: draft,
             renamed_values: {published: live, withdrawn: draft}}
    notes: {type: "list[str]", default: []}
    rating: {type: int, ge: 1, le: 5, backfill: 3}
    writer: {type: ref, to: writer, on_delete: cascade, renamed_from: author}
review:
  timestamps: false
  fields:
    book: {type: ref, to: book, on_delete: cascade}
    stars: {type: int, ge: 1, le: 5}
"""
STAMP = "'2024-01-01 00:00:00'"


@dataclass(frozen=True)
class Version:
    files: dict[str, str]  # the rendered project, migrations aside
    migration: Migration


@pytest.fixture(scope="session")
def versions() -> list[Version]:
    specs = [
        load_spec_text(
            "apiforge: 1\nservice: {name: shelf}\nresources:" + textwrap.indent(text, "  "),
            filename=f"{name}.yaml",
        )
        for name, text in (("v1", V1), ("v2", V2), ("v3", V3))
    ]
    result: list[Version] = []
    for number, spec in enumerate(specs, start=1):
        migration = plan_migration(
            specs[number - 2] if number > 1 else None,
            spec,
            previous=result[-1].migration.revision if result else None,
            created=datetime(2026, 11, 29, 14, 30, number, tzinfo=UTC),
            allow_destructive=number == 3,  # v3 drops books.pages, narrows books.rating
        )
        assert migration is not None
        files = {
            path: planned.content
            for path, planned in render_project(spec).items()
            if not path.startswith("migrations/versions/")
        }
        result.append(Version(files, migration))
    return result


@pytest.fixture(scope="session")
def overlay(shared_venv: SharedVenv, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A light venv over the shared one: the generated project's dependencies, no project."""
    path = tmp_path_factory.mktemp("venv-migrations")
    try:
        make_overlay(shared_venv, path)
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    return path


@dataclass
class Database:
    """A generated project at some version, and the database it migrates."""

    root: Path
    venv: Path
    url: str

    def write(self, version: Version, migrations: Sequence[Migration]) -> None:
        for name in ("src", "tests"):  # files of renamed resources must not linger
            shutil.rmtree(self.root / name, ignore_errors=True)
        for path, content in version.files.items():
            (self.root / path).parent.mkdir(parents=True, exist_ok=True)
            (self.root / path).write_text(content, encoding="utf-8")
        folder = self.root / "migrations/versions"
        folder.mkdir(exist_ok=True)
        for migration in migrations:
            (folder / migration.filename).write_text(migration.content, encoding="utf-8")

    def run(self, *argv: str) -> CommandResult:
        env = clean_environ()
        env["VIRTUAL_ENV"] = str(self.venv)
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["DATABASE_URL"] = self.url
        return run(argv, cwd=self.root, env=env, timeout=TIMEOUT_CHECK)

    def alembic(self, *args: str) -> str:
        result = self.run("alembic", *args)
        if not result.ok:
            pytest.fail(result.report(f"alembic {' '.join(args)}"), pytrace=False)
        return result.stdout + result.stderr

    def check(self, when: str) -> None:
        output = self.alembic("check")
        assert "No new upgrade operations detected" in output, f"{when}:\n{output}"

    def sql(self, *statements: str) -> list[list[tuple[Any, ...]]]:
        """Run statements in one transaction; the rows of those that return some."""
        result = self.run("python", "-c", SQL_RUNNER, json.dumps(statements))
        if not result.ok:
            pytest.fail(result.report(f"running SQL {statements}"), pytrace=False)
        found = json.loads(result.stdout.strip().splitlines()[-1])
        return [[tuple(_decoded(value) for value in row) for row in rows] for rows in found]

    def refused(self, statement: str, constraint: str) -> None:
        """`statement` must fail on the CHECK constraint named `constraint`."""
        result = self.run("python", "-c", SQL_RUNNER, json.dumps([statement]))
        assert not result.ok, f"the database accepted {statement}"
        assert constraint in result.stderr, result.stderr[-2000:]

    def tables(self, *statements: str, **columns: str) -> dict[str, list[tuple[Any, ...]]]:
        """Run `statements`, then read `columns` of each table (by id), in one process."""
        selects = [f"SELECT {names} FROM {table} ORDER BY id" for table, names in columns.items()]
        found = self.sql(*statements, *selects)
        return dict(zip(columns, found[-len(selects) :], strict=True))


def _decoded(value: Any) -> Any:
    """JSON columns come back as text from some drivers: decode them."""
    return json.loads(value) if isinstance(value, str) and value.startswith("[") else value


SQL_RUNNER = """
import asyncio, json, os, sys
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

async def main():
    engine = create_async_engine(os.environ["DATABASE_URL"])
    results = []
    async with engine.begin() as connection:
        for statement in json.loads(sys.argv[1]):
            result = await connection.execute(sa.text(statement))
            if result.returns_rows:
                results.append([list(row) for row in result])
    await engine.dispose()
    print(json.dumps(results, default=str))

asyncio.run(main())
"""


def test_upgrades_keep_the_rows(
    versions: list[Version], overlay: Path, database_url: str, tmp_path: Path
) -> None:
    db = Database(tmp_path / "shelf", overlay, database_url)
    v1, v2, v3 = versions
    names = [v.migration.filename.removeprefix(v.migration.revision) for v in versions]
    assert names == [
        "_create_authors_books.py",
        "_add_authors_country_and_more.py",
        "_rename_authors_to_writers_and_more.py",
    ]
    assert sorted(v.migration.filename for v in versions) == [
        v.migration.filename for v in versions
    ]

    db.write(v1, [v1.migration])
    db.alembic("upgrade", "head")
    db.check("after v1")
    db.sql(
        "INSERT INTO authors (name, email, created_at, updated_at) VALUES "
        f"('Ann', 'ann@example.org', {STAMP}, {STAMP}), "
        f"('Bob', 'bob@example.org', {STAMP}, {STAMP})",
        "INSERT INTO books (title, blurb, pages, status, author_id, created_at, updated_at) VALUES "
        f"('Dune', 'Sand', 412, 'published', 1, {STAMP}, {STAMP}), "
        f"('Emma', NULL, NULL, 'withdrawn', 2, {STAMP}, {STAMP})",
    )

    # v2: new columns filled with their defaults, blurb renamed to summary.
    db.write(v2, [v1.migration, v2.migration])
    expected = {
        "authors": [(1, "Ann", "ann@example.org", "NZ"), (2, "Bob", "bob@example.org", "NZ")],
        "books": [
            (1, "Dune", "Sand", 412, "published", 1, None, []),
            (2, "Emma", None, None, "withdrawn", 2, None, []),
        ],
    }
    v2_columns = {
        "authors": "id, name, email, country",
        "books": "id, title, summary, pages, status, author_id, isbn, notes",
    }
    db.alembic("upgrade", "head")
    db.check("after v2")
    assert db.tables(**v2_columns) == expected
    # An explicit id: a failed insert must not use up a sequence value the test relies on.
    outside = "INSERT INTO books (id, title, status, notes, author_id, created_at, updated_at) "
    db.refused(f"{outside} VALUES (99, 'X', 'lost', '[]', 1, {STAMP}, {STAMP})", "ck_books_status")
    db.alembic("downgrade", "-1")
    assert db.tables(books="id, blurb") == {"books": [(1, "Sand"), (2, None)]}
    db.alembic("upgrade", "head")
    assert db.tables(**v2_columns) == expected
    db.sql(
        "INSERT INTO books (title, summary, isbn, status, notes, author_id, created_at, "
        f"updated_at) VALUES ('Kim', NULL, '9780141182537', 'published', '[]', 1, {STAMP}, "
        f"{STAMP})",
        "UPDATE books SET rating = 9 WHERE id = 2",  # outside v3's range
        "UPDATE books SET rating = 4 WHERE id = 3",
    )

    # v3: authors renamed to writers (author_id to writer_id), pages dropped, NULL
    # summaries filled with the new default, enum values renamed (published → live,
    # withdrawn → draft), ratings required in 1..5 (NULL and 9 get the backfill 3), a new
    # table referring to books.
    db.write(v3, [v1.migration, v2.migration, v3.migration])
    expected = {
        "writers": [(1, "Ann", "ann@example.org", "NZ"), (2, "Bob", "bob@example.org", "NZ")],
        "books": [
            (1, "Dune", "Sand", "live", 1, None, 3),
            (2, "Emma", "n/a", "draft", 2, None, 3),
            (3, "Kim", "n/a", "live", 1, "9780141182537", 4),
        ],
        "reviews": [(1, 3, 5)],
    }
    v3_columns = {
        "writers": "id, name, email, country",
        "books": "id, title, summary, status, writer_id, isbn, rating",
        "reviews": "id, book_id, stars",
    }
    add_review = "INSERT INTO reviews (book_id, stars) VALUES (3, 5)"
    db.alembic("upgrade", "head")
    db.check("after v3")
    assert db.tables(add_review, **v3_columns) == expected
    db.refused("INSERT INTO reviews (book_id, stars) VALUES (3, 6)", "ck_reviews_stars")
    db.refused("UPDATE books SET rating = 0 WHERE id = 1", "ck_books_rating")
    db.refused("UPDATE books SET status = 'gone' WHERE id = 1", "ck_books_status")
    db.alembic("downgrade", "-1")  # back to v2's names; pages comes back empty
    assert db.tables(authors="id, name", books="id, author_id, pages") == {
        "authors": [(1, "Ann"), (2, "Bob")],
        "books": [(1, 1, None), (2, 2, None), (3, 1, None)],
    }
    db.alembic("upgrade", "head")
    assert db.tables(add_review, **v3_columns) == expected  # reviews came back empty
    db.check("after v3, downgraded and upgraded again")


GUARDED_V1 = """
item:
  fields:
    code: {type: str, max_length: 20}
    level: {type: int, ge: 0, le: 100}
    kind: {type: enum, values: [a, b, c]}
    tags: {type: "list[str]", required: false}
"""
GUARDED_V2 = """
item:
  fields:
    code: {type: str, max_length: 5, unique: true}
    tier: {type: int, ge: 0, le: 10, renamed_from: level}
    kind: {type: enum, values: [a, b]}
    tags: {type: "list[str]", max_length: 2, required: false}
"""


def test_a_narrowed_field_without_backfill_stops_the_upgrade_before_any_change(
    overlay: Path, database_url: str, tmp_path: Path
) -> None:
    specs = [
        load_spec_text(
            "apiforge: 1\nservice: {name: shelf}\nresources:" + textwrap.indent(text, "  "),
            filename=f"{name}.yaml",
        )
        for name, text in (("v1", GUARDED_V1), ("v2", GUARDED_V2))
    ]
    first = plan_migration(
        None,
        specs[0],
        previous=None,
        created=datetime(2026, 11, 29, 15, 0, 1, tzinfo=UTC),
        allow_destructive=False,
    )
    assert first is not None
    second = plan_migration(
        specs[0],
        specs[1],
        previous=first.revision,
        created=datetime(2026, 11, 29, 15, 0, 2, tzinfo=UTC),
        allow_destructive=True,
    )
    assert second is not None
    db = Database(tmp_path / "shelf", overlay, database_url)
    db.write(_version(specs[0], first), [first])
    db.alembic("upgrade", "head")
    db.check("after v1")
    rows = (
        "INSERT INTO items (code, level, kind, tags, created_at, updated_at) VALUES "
        f"""('toolongcode', 50, 'c', '["1", "2", "3"]', {STAMP}, {STAMP}), """
        f"('x', 5, 'a', '[]', {STAMP}, {STAMP})"
    )
    columns = {"items": "id, code, level, kind, tags"}
    before = {"items": [(1, "toolongcode", 50, "c", ["1", "2", "3"]), (2, "x", 5, "a", [])]}
    assert db.tables(rows, **columns) == before

    db.write(_version(specs[1], second), [first, second])
    fixes = [
        ("code must be at most 5 characters long", "UPDATE items SET code = 'x' WHERE id = 1"),
        ("level must be >= 0 and be <= 10", "UPDATE items SET level = 10 WHERE id = 1"),
        ("kind must be one of a, b", "UPDATE items SET kind = 'b' WHERE id = 1"),
        ("tags must hold at most 2 item(s)", """UPDATE items SET tags = '["1"]' WHERE id = 1"""),
        ("code must be unique", "UPDATE items SET code = 'y' WHERE id = 1"),
    ]
    for rule, fix in fixes:
        failed = db.run("alembic", "upgrade", "head")
        assert not failed.ok, f"the upgrade ignored: {rule}"
        assert f"1 row(s) of items break the new schema: {rule}. Nothing was" in failed.stderr
        current = db.alembic("current")  # still at the first revision, unchanged
        assert first.revision in current and "(head)" not in current
        db.sql(fix)
    db.alembic("upgrade", "head")
    db.check("after v2")
    columns = {"items": "id, code, tier, kind, tags"}
    assert db.tables(**columns) == {"items": [(1, "y", 10, "b", ["1"]), (2, "x", 5, "a", [])]}
    db.refused(
        f"INSERT INTO items (code, tier, kind, created_at, updated_at) "
        f"VALUES ('z', 11, 'a', {STAMP}, {STAMP})",
        "ck_items_tier",
    )
    if not database_url.startswith("sqlite"):  # `alembic check` compares CHECKs by name
        db.sql("ALTER TABLE items DROP CONSTRAINT ck_items_tier")
        drifted = db.run("alembic", "check")
        assert not drifted.ok and "ck_items_tier" in drifted.stdout + drifted.stderr


def _version(spec: Any, migration: Migration) -> Version:
    files = {
        path: planned.content
        for path, planned in render_project(spec).items()
        if not path.startswith("migrations/versions/")
    }
    return Version(files, migration)
