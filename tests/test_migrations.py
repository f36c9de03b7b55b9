"""Migrations from the spec diff: `plan_migration(old, new)` as text, without a database.

Each test plans a migration between two small inline specs and checks the operations
it writes (as Alembic calls, in order), what it summarises, what it calls
destructive, and what it refuses and why. The last tests check that every module
these scenarios produce compiles and passes the generated project's `ruff check`
and `ruff format --check`. Real databases run these migrations in
`tests/integration/test_migration_upgrades.py`.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jinja2 import Environment

from apiforge.errors import RefusedChange
from apiforge.escape import FILTERS
from apiforge.loader import load_spec_text
from apiforge.migration_ops import may_lose_data, postgresql_using, py_literal
from apiforge.migrations import Migration, plan_migration, revision_id
from apiforge.spec import Spec

REPO = Path(__file__).resolve().parents[1]

LIBRARY = """
author:
  fields:
    name: {type: str, max_length: 100, sort: true}
    email: {type: email, unique: true}
book:
  fields:
    title: {type: str, max_length: 200}
    blurb: {type: text, required: false}
    author: {type: ref, to: author, on_delete: cascade}
"""


def spec(resources: str) -> Spec:
    """A spec of service `shop` whose `resources:` block is `resources`."""
    body = textwrap.indent(textwrap.dedent(resources).strip("\n"), "  ")
    return load_spec_text(
        f"apiforge: 1\nservice: {{name: shop}}\nresources:\n{body}\n", filename="apiforge.yaml"
    )


def edit(resources: str, *replacements: tuple[str, str]) -> str:
    """`resources` with each (old, new) text replaced; each old text must be there."""
    for old, new in replacements:
        assert old in resources, old
        resources = resources.replace(old, new)
    return resources


CREATED = datetime(2026, 11, 29, 14, 30, 5, tzinfo=UTC)  # stamps every revision planned here
FIRST = "20261129143000_aaaaaa"  # the revision the planned ones follow


def plan(old: str | None, new: str, *, allow_destructive: bool = False) -> Migration:
    migration = plan_migration(
        spec(old) if old is not None else None,
        spec(new),
        previous=None if old is None else FIRST,
        created=CREATED,
        allow_destructive=allow_destructive,
    )
    assert migration is not None
    return migration


def named(migration: Migration) -> str:
    """The filename after its revision id: what the migration does."""
    assert migration.filename.startswith(f"{migration.revision}_")
    return migration.filename.removeprefix(f"{migration.revision}_")


def changes_nothing(old: str | Spec, new: str | Spec) -> bool:
    """Whether going from `old` to `new` needs no migration at all."""
    old_spec = spec(old) if isinstance(old, str) else old
    new_spec = spec(new) if isinstance(new, str) else new
    return (
        plan_migration(old_spec, new_spec, previous=FIRST, created=CREATED, allow_destructive=False)
        is None
    )


def refusal(old: str, new: str, *, allow_destructive: bool = False) -> str:
    with pytest.raises(RefusedChange) as raised:
        plan_migration(
            spec(old),
            spec(new),
            previous=FIRST,
            created=CREATED,
            allow_destructive=allow_destructive,
        )
    return str(raised.value)


def function(migration: Migration, name: str) -> str:
    """The body of `upgrade` or `downgrade`, dedented, with calls joined onto one line."""
    tree = ast.parse(migration.content)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = migration.content.splitlines()[node.lineno : node.end_lineno]  # after `def`
    return _joined(textwrap.dedent("\n".join(lines)))


def _joined(code: str) -> str:
    """Join the lines of each bracketed expression, so tests can match calls whole."""
    out: list[str] = []
    depth = 0
    for line in code.splitlines():
        stripped = line.strip()
        if depth:
            out[-1] += (
                "" if out[-1].endswith(("(", "[")) or stripped.startswith((")", "]", ".")) else " "
            ) + stripped
        else:
            out.append(line)
        depth += stripped.count("(") + stripped.count("[") - stripped.count(")")
        depth -= stripped.count("]")
    return "\n".join(out).replace(",)", ")").replace(", )", ")")


def steps(migration: Migration, name: str = "upgrade") -> list[str]:
    return [line.strip() for line in function(migration, name).splitlines()]


def position(lines: list[str], fragment: str) -> int:
    found = [i for i, line in enumerate(lines) if fragment in line]
    assert found, f"{fragment!r} not in:\n" + "\n".join(lines)
    return found[0]


# --- the first migration ------------------------------------------------------------


def test_first_migration_creates_every_table_parents_first() -> None:
    migration = plan(None, LIBRARY)
    assert re.fullmatch(r"20261129143005_[0-9a-f]{6}", migration.revision)
    assert named(migration) == "create_authors_books.py"
    assert migration.summary == ["create table authors", "create table books"]
    assert migration.destructive == []
    assert migration.content == FIRST_MIGRATION.replace("{ID_OF_FIRST}", migration.revision)


FIRST_MIGRATION = '''\
"""Create the tables of Shop API.

Revision ID: {ID_OF_FIRST}
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shop.database import UTCDateTime

revision: str = "{ID_OF_FIRST}"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authors")),
        sa.UniqueConstraint("email", name=op.f("uq_authors_email")),
    )
    op.create_index(op.f("ix_authors_name_id"), "authors", ["name", "id"])
    op.create_index(op.f("ix_authors_created_at"), "authors", ["created_at"])
    op.create_table(
        "books",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("blurb", sa.Text(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["authors.id"],
            name=op.f("fk_books_author_id_authors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_books")),
    )
    op.create_index(op.f("ix_books_author_id"), "books", ["author_id"])
    op.create_index(op.f("ix_books_created_at"), "books", ["created_at"])


def downgrade() -> None:
    op.drop_table("books")
    op.drop_table("authors")
'''


def test_first_migration_orders_tables_by_reference_not_by_spec_order() -> None:
    migration = plan(
        None,
        """
        review:
          timestamps: false
          fields:
            book: {type: ref, to: book}
        book:
          id: uuid
          timestamps: false
          fields:
            title: str
    """,
    )
    up = steps(migration)
    assert position(up, 'op.create_table("books"') < position(up, 'op.create_table("reviews"')
    assert 'sa.Column("id", sa.Uuid(), nullable=False)' in up[0]
    assert 'sa.Column("book_id", sa.Uuid(), nullable=False)' in up[1]
    assert steps(migration, "downgrade") == ['op.drop_table("reviews")', 'op.drop_table("books")']
    assert "UTCDateTime" not in migration.content  # imported only when used


# --- revision ids: time, then a hash (branches never collide) ------------------------


def test_revision_ids_sort_by_time_and_never_collide_across_branches() -> None:
    """Two branches changing the spec in the same second still get different ids."""
    sku = edit(LIBRARY, ("blurb:", "sku: {type: str, max_length: 9, required: false}\n    blurb:"))
    colour = edit(LIBRARY, ("blurb:", "colour: {type: str, max_length: 9, default: x}\n    blurb:"))
    a, b = plan(LIBRARY, sku), plan(LIBRARY, colour)
    assert a.revision != b.revision and a.filename != b.filename
    assert a.revision.startswith("20261129143005_") and b.revision.startswith("20261129143005_")
    assert named(a) == "add_books_sku.py"
    # The first revisions of projects made before timestamps sort first: 0001 < 2026...
    assert sorted(["0002_add_x.py", a.filename, "0001_create.py"])[-1] == a.filename
    later = plan_migration(
        spec(LIBRARY), spec(sku), previous=FIRST, created=CREATED.replace(second=6),
        allow_destructive=False,
    )  # fmt: skip
    assert later is not None and later.filename > a.filename


def test_revision_id_depends_on_what_it_follows() -> None:
    assert revision_id(CREATED, ["0001"], "x") != revision_id(CREATED, ["0002"], "x")
    assert revision_id(CREATED, ["0001"], "x") == revision_id(CREATED, ["0001"], "x")


def merge_of(old: str, new: str, *, heads: tuple[str, ...]) -> Migration:
    migration = plan_migration(
        spec(old), spec(new), previous=heads, created=CREATED, allow_destructive=True
    )
    assert migration is not None
    return migration


def test_two_heads_get_a_merge_revision_even_when_no_table_changes() -> None:
    migration = merge_of(LIBRARY, LIBRARY, heads=("20261129143001_aaaaaa", "0002"))
    assert named(migration) == "merge_heads.py"
    assert migration.summary == []
    assert (
        'down_revision: str | Sequence[str] | None = ("20261129143001_aaaaaa", "0002")'
        in migration.content
    )
    assert "Revises: 20261129143001_aaaaaa, 0002\n" in migration.content
    assert steps(migration) == ["pass"] and steps(migration, "downgrade") == ["pass"]


def test_a_merge_revision_carries_what_both_branches_together_still_need() -> None:
    new = edit(LIBRARY, ("max_length: 200", "max_length: 300"))
    migration = merge_of(LIBRARY, new, heads=("0002", "0003"))
    assert named(migration) == "alter_books_title.py"
    assert 'down_revision: str | Sequence[str] | None = ("0002", "0003")' in migration.content


def test_planning_is_deterministic() -> None:
    new = edit(
        LIBRARY,
        (
            "title: {type: str, max_length: 200}",
            "title: {type: str, max_length: 200}\n    subtitle: {type: str, required: false}",
        ),
    )
    first, second = plan(LIBRARY, new), plan(LIBRARY, new)
    assert first == second
    assert "Create Date" not in first.content


# --- no change ----------------------------------------------------------------------


def test_changes_outside_the_tables_need_no_migration() -> None:
    new = edit(
        LIBRARY,
        (
            "author:\n  fields:",
            "author:\n  description: Who wrote it.\n  pagination: cursor\n"
            "  actions: [list, retrieve]\n  fields:",
        ),
        (
            "email: {type: email, unique: true}",
            "email: {type: email, unique: true, search: true, description: Contact}",
        ),
        (
            "title: {type: str, max_length: 200}",
            "title: {type: str, max_length: 200, backfill: untitled}",
        ),
    )
    assert changes_nothing(LIBRARY, new)


def test_python_side_defaults_need_no_migration() -> None:
    old = "item:\n  fields:\n    state: {type: enum, values: [new, old], default: new}"
    new = "item:\n  fields:\n    state: {type: enum, values: [new, old], default: old}"
    assert changes_nothing(old, new)


# --- columns ------------------------------------------------------------------------


def test_an_optional_field_is_added_as_a_nullable_column() -> None:
    new = edit(
        LIBRARY,
        (
            "blurb: {type: text, required: false}",
            "blurb: {type: text, required: false}\n"
            "    subtitle: {type: str, max_length: 120, required: false}",
        ),
    )
    migration = plan(LIBRARY, new)
    assert named(migration) == "add_books_subtitle.py"
    assert migration.summary == ["add column books.subtitle"]
    assert steps(migration) == [
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.add_column(sa.Column("subtitle", sa.String(length=120), nullable=True))',
    ]
    assert steps(migration, "downgrade") == [
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.drop_column("subtitle")',
    ]
    assert f'down_revision: str | None = "{FIRST}"' in migration.content
    assert f"Revises: {FIRST}\n" in migration.content


@pytest.mark.parametrize(
    ("definition", "server_default"),
    [
        ("{type: str, max_length: 10, default: draft}", '"draft"'),
        ("{type: enum, values: [draft, live], default: live}", '"live"'),
        ("{type: int, default: -3}", '"-3"'),
        ("{type: float, default: 1.5}", '"1.5"'),
        ("{type: decimal, max_digits: 8, decimal_places: 2, default: 9.99}", '"9.99"'),
        ("{type: bool, default: true}", "sa.true()"),
        ("{type: bool, default: false}", "sa.false()"),
        ("{type: date, default: '2024-02-29'}", '"2024-02-29"'),
        ("{type: str, default: 'it''s \"q\"'}", "'it\\'s \"q\"'"),
    ],
)
def test_a_required_field_with_a_default_fills_existing_rows_through_a_server_default(
    definition: str, server_default: str
) -> None:
    migration = plan(LIBRARY, edit(LIBRARY, ("    blurb:", f"    state: {definition}\n    blurb:")))
    up = steps(migration)
    add = up[position(up, "add_column")]
    assert add.endswith(f"nullable=False, server_default={server_default}))")
    # Then the server default goes: the models use Python-side defaults.
    assert up[-2:] == [
        'with op.batch_alter_table("books") as batch_op:',
        up[-1],
    ] and up[-1].startswith('batch_op.alter_column("state", server_default=None, existing_type=')
    assert migration.summary[0] == "add column books.state, filled with its default"


@pytest.mark.parametrize(
    ("definition", "value", "module"),
    [
        ("{type: text, default: none yet}", '"none yet"', None),
        (
            "{type: datetime, default: '2024-01-01T10:00:00+02:00'}",
            'datetime.datetime.fromisoformat("2024-01-01T10:00:00+02:00")',
            "datetime",
        ),
        (
            "{type: uuid, default: 12345678-1234-5678-1234-567812345678}",
            'uuid.UUID("12345678-1234-5678-1234-567812345678")',
            "uuid",
        ),
        ('{type: "list[str]", default: [a, b]}', '["a", "b"]', None),
        ("{type: json, default: {a: [1, null]}}", '{"a": [1, None]}', None),
    ],
)
def test_other_defaults_fill_existing_rows_through_an_update_with_a_bound_value(
    definition: str, value: str, module: str | None
) -> None:
    migration = plan(LIBRARY, edit(LIBRARY, ("    blurb:", f"    extra: {definition}\n    blurb:")))
    up = steps(migration)
    assert up[1].startswith('batch_op.add_column(sa.Column("extra", ') and up[1].endswith(
        "nullable=True))"
    )
    assert up[2].startswith('books_table = sa.table("books", sa.column("extra", ')
    assert up[3] == (
        'op.execute(books_table.update().where(books_table.c["extra"].is_(None))'
        f'.values({{"extra": {value}}}))'
    )
    assert (
        up[4:]
        == [
            'with op.batch_alter_table("books") as batch_op:',
            up[5],
        ]
        and "nullable=False" in up[5]
    )
    if module:
        assert f"\nimport {module}\n" in migration.content


def test_a_dropped_field_drops_its_column_and_the_downgrade_brings_it_back_empty() -> None:
    new = edit(
        LIBRARY,
        ("    blurb: {type: text, required: false}\n", ""),
        ("    title: {type: str, max_length: 200}\n", ""),
    )
    migration = plan(LIBRARY, new, allow_destructive=True)
    assert migration.destructive == [
        "drop column books.title and its values",
        "drop column books.blurb and its values",
    ]
    assert named(migration) == "drop_books_title_blurb.py"
    assert steps(migration) == [
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.drop_column("title")',
        'batch_op.drop_column("blurb")',
    ]
    down = steps(migration, "downgrade")
    assert down == [
        'with op.batch_alter_table("books") as batch_op:',
        "# title comes back empty (a placeholder fills it).",
        'batch_op.add_column(sa.Column("title", sa.String(length=200), nullable=False, '
        'server_default=""))',
        "# blurb comes back empty.",
        'batch_op.add_column(sa.Column("blurb", sa.Text(), nullable=True))',
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.alter_column("title", server_default=None, existing_type=sa.String(length=200), '
        "existing_nullable=False)",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected", "lossy"),
    [
        (
            "{type: str, max_length: 100}",
            "{type: str, max_length: 300}",
            "type_=sa.String(length=300), existing_type=sa.String(length=100)",
            False,
        ),
        (
            "{type: str, max_length: 300}",
            "{type: str, max_length: 100}",
            "type_=sa.String(length=100), existing_type=sa.String(length=300)",
            True,
        ),
        ("int", "bigint", "type_=sa.BigInteger(), existing_type=sa.Integer()", False),
        ("bigint", "int", "type_=sa.Integer(), existing_type=sa.BigInteger()", True),
        ("str", "text", "type_=sa.Text(), existing_type=sa.String(length=255)", False),
        (
            "{type: decimal, max_digits: 10, decimal_places: 2}",
            "{type: decimal, max_digits: 12, decimal_places: 4}",
            "type_=sa.Numeric(precision=12, scale=4), "
            "existing_type=sa.Numeric(precision=10, scale=2)",
            False,
        ),
    ],
)
def test_a_type_change_alters_the_column_and_a_lossy_one_is_destructive(
    old: str, new: str, expected: str, lossy: bool
) -> None:
    before = f"item:\n  fields:\n    x: {old}"
    migration = plan(before, f"item:\n  fields:\n    x: {new}", allow_destructive=True)
    up = steps(migration)
    assert up[position(up, "alter_column")] == (
        f'batch_op.alter_column("x", {expected}, existing_nullable=False)'
    )
    assert bool(migration.destructive) is lossy
    assert named(migration) == "alter_items_x.py"


def test_a_type_change_without_an_implicit_cast_tells_postgresql_how() -> None:
    migration = plan(
        "item:\n  fields:\n    x: str", "item:\n  fields:\n    x: int", allow_destructive=True
    )
    assert steps(migration)[1].endswith(
        "existing_nullable=False, postgresql_using='\"x\"::integer')"
    )
    assert migration.destructive == [
        "change items.x from String(255) to Integer (some values may not fit or convert)"
    ]


@pytest.mark.parametrize(
    ("old", "new", "using"),
    [
        ("sa.String(length=5)", "sa.Integer()", '"c"::integer'),
        ("sa.Text()", "sa.Numeric(precision=10, scale=2)", '"c"::numeric(10, 2)'),
        ("sa.JSON()", "sa.Integer()", '"c"::text::integer'),
        ("sa.Integer()", "sa.Boolean()", '"c"::boolean'),
        ("sa.String(length=40)", "sa.Uuid()", '"c"::uuid'),
        ("sa.Integer()", "sa.BigInteger()", None),
        ("sa.Double()", "sa.Numeric(precision=10, scale=2)", None),
        ("sa.Integer()", "sa.String(length=20)", None),
        ("sa.Date()", "UTCDateTime()", None),
    ],
)
def test_postgresql_using(old: str, new: str, using: str | None) -> None:
    assert postgresql_using("c", old, new) == using


@pytest.mark.parametrize(
    ("old", "new", "lossy"),
    [
        ("sa.Integer()", "sa.Numeric(precision=12, scale=2)", False),
        ("sa.Integer()", "sa.Numeric(precision=10, scale=2)", True),
        ("sa.Integer()", "sa.Double()", False),
        ("sa.BigInteger()", "sa.Double()", True),
        ("sa.Numeric(precision=10, scale=2)", "sa.Numeric(precision=10, scale=3)", True),
        ("sa.Boolean()", "sa.Integer()", False),
        ("sa.JSON()", "sa.Text()", False),
        ("sa.Text()", "sa.String(length=255)", True),
        ("sa.String(length=20)", "sa.Integer()", True),
    ],
)
def test_may_lose_data(old: str, new: str, lossy: bool) -> None:
    assert may_lose_data(old, new) is lossy


def test_nullability_changes() -> None:
    old = """
        item:
          fields:
            a: {type: str, max_length: 9}
            b: {type: str, max_length: 9, required: false}
            c: {type: int, required: false}
    """
    new = """
        item:
          fields:
            a: {type: str, max_length: 9, required: false}
            b: {type: str, max_length: 9, default: none}
            c: {type: int, backfill: 7}
    """
    migration = plan(old, new)
    assert steps(migration) == [
        'with op.batch_alter_table("items") as batch_op:',
        'batch_op.alter_column("a", nullable=True, existing_type=sa.String(length=9), '
        "existing_nullable=False)",
        'items_table = sa.table("items", sa.column("b", sa.String(length=9)), '
        'sa.column("c", sa.Integer()))',
        'op.execute(items_table.update().where(items_table.c["b"].is_(None))'
        '.values({"b": "none"}))',
        'op.execute(items_table.update().where(items_table.c["c"].is_(None)).values({"c": 7}))',
        'with op.batch_alter_table("items") as batch_op:',
        'batch_op.alter_column("b", nullable=False, existing_type=sa.String(length=9), '
        "existing_nullable=True)",
        'batch_op.alter_column("c", nullable=False, existing_type=sa.Integer(), '
        "existing_nullable=True)",
    ]
    assert migration.summary == [
        "make items.a nullable",
        "make items.b NOT NULL (NULLs get its default)",
        "make items.c NOT NULL (NULLs get its backfill)",
    ]
    assert migration.destructive == []
    # Going back, rows that hold NULL get a placeholder so the downgrade can run.
    down = steps(migration, "downgrade")
    assert "# a has no default: a placeholder fills its NULLs." in down
    assert (
        'op.execute(items_table.update().where(items_table.c["a"].is_(None))'
        '.values({"a": ""}))' in down
    )


# --- indexes, unique constraints and foreign keys ----------------------------------


def test_unique_constraints_and_indexes_are_added_and_dropped_by_name() -> None:
    new = edit(
        LIBRARY,
        (
            "name: {type: str, max_length: 100, sort: true}",
            "name: {type: str, max_length: 100, unique: true}",
        ),
        ("email: {type: email, unique: true}", "email: {type: email, index: true}"),
    )
    migration = plan(LIBRARY, new, allow_destructive=True)
    assert migration.destructive == [
        "make authors.name unique (the upgrade stops while two rows share a value)"
    ]
    assert steps(migration) == [
        "# Rows that would break the new schema stop the migration here, before it changes",
        "# anything (rows outside a field with a `backfill` are rewritten to it instead).",
        'refuse_duplicates("authors", "name")',
        'with op.batch_alter_table("authors") as batch_op:',
        'batch_op.create_unique_constraint(batch_op.f("uq_authors_name"), ["name"])',
        'batch_op.create_index(batch_op.f("ix_authors_email"), ["email"])',
        'batch_op.drop_index(batch_op.f("ix_authors_name_id"))',
        'batch_op.drop_constraint(batch_op.f("uq_authors_email"), type_="unique")',
    ]
    assert steps(migration, "downgrade") == [
        *steps(migration)[:2],
        'refuse_duplicates("authors", "email")',  # going back makes email unique again
        'with op.batch_alter_table("authors") as batch_op:',
        'batch_op.create_index(batch_op.f("ix_authors_name_id"), ["name", "id"])',
        'batch_op.create_unique_constraint(batch_op.f("uq_authors_email"), ["email"])',
        'batch_op.drop_constraint(batch_op.f("uq_authors_name"), type_="unique")',
        'batch_op.drop_index(batch_op.f("ix_authors_email"))',
    ]
    assert named(migration) == "index_authors.py"


def test_an_index_goes_before_its_column_becomes_text() -> None:
    old = "item:\n  fields:\n    x: {type: str, filter: true}"
    migration = plan(old, "item:\n  fields:\n    x: text")
    up = steps(migration)
    assert position(up, 'drop_index(batch_op.f("ix_items_x"))') < position(up, "alter_column")


def test_a_changed_on_delete_recreates_the_foreign_key() -> None:
    new = edit(LIBRARY, ("on_delete: cascade", "on_delete: restrict"))
    migration = plan(LIBRARY, new)
    assert steps(migration) == [
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.drop_constraint(batch_op.f("fk_books_author_id_authors"), type_="foreignkey")',
        'batch_op.create_foreign_key(batch_op.f("fk_books_author_id_authors"), "authors", '
        '["author_id"], ["id"], ondelete="RESTRICT")',
    ]
    assert named(migration) == "constraints_books.py"
    assert 'ondelete="CASCADE"' in function(migration, "downgrade")


def test_a_ref_to_a_new_resource_creates_its_table_first() -> None:
    new = (
        LIBRARY
        + """
publisher:
  timestamps: false
  fields:
    name: str
"""
    )
    new = edit(
        new,
        (
            "    author: {type: ref, to: author, on_delete: cascade}",
            "    author: {type: ref, to: author, on_delete: cascade}\n"
            "    publisher: {type: ref, to: publisher, required: false, on_delete: set_null}",
        ),
    )
    migration = plan(LIBRARY, new)
    up = steps(migration)
    assert position(up, 'op.create_table("publishers"') < position(up, "create_foreign_key")
    assert up[position(up, "create_foreign_key")] == (
        'batch_op.create_foreign_key(batch_op.f("fk_books_publisher_id_publishers"), '
        '"publishers", ["publisher_id"], ["id"], ondelete="SET NULL")'
    )
    down = steps(migration, "downgrade")
    assert position(down, "drop_constraint") < position(down, 'op.drop_table("publishers")')


def test_a_dropped_resource_drops_its_table_after_the_references_to_it() -> None:
    old = (
        LIBRARY
        + """
review:
  fields:
    book: {type: ref, to: book}
"""
    )
    new = """
        book:
          fields:
            title: {type: str, max_length: 200}
            blurb: {type: text, required: false}
    """
    migration = plan(old, new, allow_destructive=True)
    up = steps(migration)
    assert up[-4:] == [
        "# Deletes every row of reviews.",
        'op.drop_table("reviews")',
        "# Deletes every row of authors.",
        'op.drop_table("authors")',
    ]
    assert position(up, "fk_books_author_id_authors") < position(up, 'op.drop_table("authors")')
    assert migration.destructive == [
        "drop table reviews and every row in it",
        "drop table authors and every row in it",
        "drop column books.author_id and its values",
    ]
    down = steps(migration, "downgrade")
    assert down[0] == "# Recreated empty: upgrade() dropped this table and its rows."
    assert position(down, 'create_table("authors"') < position(down, 'create_table("reviews"')
    assert position(down, 'create_table("authors"') < position(down, "fk_books_author_id_authors")
    # A required ref cannot be refilled: it comes back nullable.
    assert "# author_id comes back empty, and nullable: its parents are unknown." in down
    assert 'batch_op.add_column(sa.Column("author_id", sa.Integer(), nullable=True))' in down


# --- timestamps ---------------------------------------------------------------------


def test_timestamps_switched_on_fill_existing_rows_with_the_current_time() -> None:
    old = "item:\n  timestamps: false\n  fields:\n    name: str"
    migration = plan(old, "item:\n  fields:\n    name: str")
    assert steps(migration) == [
        'with op.batch_alter_table("items") as batch_op:',
        'batch_op.add_column(sa.Column("created_at", UTCDateTime(), nullable=True))',
        'batch_op.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))',
        'batch_op.create_index(batch_op.f("ix_items_created_at"), ["created_at"])',
        'items_table = sa.table("items", sa.column("created_at", UTCDateTime()), '
        'sa.column("updated_at", UTCDateTime()))',
        'op.execute(items_table.update().where(items_table.c["created_at"].is_(None))'
        '.values({"created_at": datetime.datetime.now(datetime.UTC)}))',
        'op.execute(items_table.update().where(items_table.c["updated_at"].is_(None))'
        '.values({"updated_at": datetime.datetime.now(datetime.UTC)}))',
        'with op.batch_alter_table("items") as batch_op:',
        'batch_op.alter_column("created_at", nullable=False, existing_type=UTCDateTime(), '
        "existing_nullable=True)",
        'batch_op.alter_column("updated_at", nullable=False, existing_type=UTCDateTime(), '
        "existing_nullable=True)",
    ]
    assert "\nimport datetime\n" in migration.content
    assert "\nfrom shop.database import UTCDateTime\n" in migration.content
    assert migration.summary[0] == "add column items.created_at, filled with the current time"


def test_timestamps_switched_off_drop_their_columns() -> None:
    old = "item:\n  fields:\n    name: str"
    new = "item:\n  timestamps: false\n  fields:\n    name: str"
    assert "drop column items.created_at and its values" in refusal(old, new)
    migration = plan(old, new, allow_destructive=True)
    assert steps(migration) == [
        'with op.batch_alter_table("items") as batch_op:',
        'batch_op.drop_index(batch_op.f("ix_items_created_at"))',
        'batch_op.drop_column("created_at")',
        'batch_op.drop_column("updated_at")',
    ]


# --- renames ------------------------------------------------------------------------


def test_renamed_from_renames_a_column_keeping_its_data() -> None:
    new = edit(
        LIBRARY,
        (
            "blurb: {type: text, required: false}",
            "summary: {type: text, required: false, renamed_from: blurb}",
        ),
    )
    migration = plan(LIBRARY, new)
    assert migration.summary == ["rename column books.blurb to summary"]
    assert named(migration) == "rename_books_blurb.py"
    assert steps(migration) == [
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.alter_column("blurb", new_column_name="summary", existing_type=sa.Text(), '
        "existing_nullable=True)",
    ]
    assert steps(migration, "downgrade")[1].startswith(
        'batch_op.alter_column("summary", new_column_name="blurb"'
    )
    # Once the snapshot has the new name, the same spec changes nothing.
    assert changes_nothing(new, new)


def test_renaming_a_ref_renames_its_column_index_and_foreign_key() -> None:
    new = edit(
        LIBRARY,
        (
            "author: {type: ref, to: author, on_delete: cascade}",
            "writer: {type: ref, to: author, on_delete: cascade, renamed_from: author}",
        ),
    )
    migration = plan(LIBRARY, new)
    assert steps(migration) == [
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.drop_constraint(batch_op.f("fk_books_author_id_authors"), type_="foreignkey")',
        'batch_op.alter_column("author_id", new_column_name="writer_id", '
        "existing_type=sa.Integer(), existing_nullable=False)",
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.create_index(batch_op.f("ix_books_writer_id"), ["writer_id"])',
        'batch_op.drop_index(batch_op.f("ix_books_author_id"))',
        'batch_op.create_foreign_key(batch_op.f("fk_books_writer_id_authors"), "authors", '
        '["writer_id"], ["id"], ondelete="CASCADE")',
    ]
    assert "rename index ix_books_author_id to ix_books_writer_id" in migration.summary


def test_a_rename_and_a_new_field_taking_the_old_name() -> None:
    old = "item:\n  fields:\n    code: {type: str, unique: true}"
    new = """
        item:
          fields:
            legacy_code: {type: str, unique: true, renamed_from: code}
            code: {type: str, required: false, unique: true}
    """
    up = steps(plan(old, new))
    assert up[1].startswith('batch_op.alter_column("code", new_column_name="legacy_code"')
    # The old constraint's name is needed by the new column: it goes before the add.
    drop = position(up, 'drop_constraint(batch_op.f("uq_items_code")')
    assert drop < position(up, 'add_column(sa.Column("code"')
    assert drop < position(up, 'create_unique_constraint(batch_op.f("uq_items_code")')


def test_a_stale_renamed_from_changes_nothing() -> None:
    new = edit(
        LIBRARY,
        (
            "blurb: {type: text, required: false}",
            "blurb: {type: text, required: false, renamed_from: summary}",
        ),
    )
    assert changes_nothing(LIBRARY, new)


def test_renamed_from_renames_a_table_with_its_constraints_and_references() -> None:
    new = edit(
        LIBRARY,
        ("author:\n  fields:", "writer:\n  renamed_from: author\n  fields:"),
        ("to: author", "to: writer"),
    )
    migration = plan(LIBRARY, new)
    assert named(migration) == "rename_authors_to_writers_and_more.py"
    assert migration.destructive == []
    assert steps(migration) == [
        'op.rename_table("authors", "writers")',
        'rename_primary_key("authors", "writers")',
        'with op.batch_alter_table("writers") as batch_op:',
        'batch_op.create_index(batch_op.f("ix_writers_name_id"), ["name", "id"])',
        'batch_op.create_unique_constraint(batch_op.f("uq_writers_email"), ["email"])',
        'batch_op.create_index(batch_op.f("ix_writers_created_at"), ["created_at"])',
        'batch_op.drop_index(batch_op.f("ix_authors_name_id"))',
        'batch_op.drop_constraint(batch_op.f("uq_authors_email"), type_="unique")',
        'batch_op.drop_index(batch_op.f("ix_authors_created_at"))',
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.drop_constraint(batch_op.f("fk_books_author_id_authors"), type_="foreignkey")',
        'batch_op.create_foreign_key(batch_op.f("fk_books_author_id_writers"), "writers", '
        '["author_id"], ["id"], ondelete="CASCADE")',
    ]
    down = steps(migration, "downgrade")
    assert down[:2] == [
        'op.rename_table("writers", "authors")',
        'rename_primary_key("writers", "authors")',
    ]
    assert "\ndef rename_primary_key(old_table: str, table: str) -> None:\n" in migration.content
    assert 'RENAME CONSTRAINT "pk_{old_table}" TO "pk_{table}"' in migration.content
    assert migration.summary[:2] == [
        "rename table authors to writers",
        "rename index ix_authors_name_id to ix_writers_name_id",
    ]


def test_a_new_plural_renames_the_table() -> None:
    old = "person:\n  timestamps: false\n  fields:\n    name: str"
    new = "person:\n  plural: persons\n  timestamps: false\n  fields:\n    name: str"
    assert steps(plan(old, new)) == [
        'op.rename_table("people", "persons")',
        'rename_primary_key("people", "persons")',
    ]


def test_a_renamed_resource_keeping_its_table_changes_nothing() -> None:
    old = "person:\n  fields:\n    name: str"
    new = "human:\n  plural: people\n  fields:\n    name: str"
    assert changes_nothing(old, new)


# --- refusals -----------------------------------------------------------------------


def test_a_new_required_field_without_a_default_is_refused() -> None:
    new = edit(LIBRARY, ("    blurb:", "    isbn: {type: str, max_length: 13}\n    blurb:"))
    message = refusal(LIBRARY, new, allow_destructive=True)
    assert message == (
        "No migration can make this spec change safely:\n"
        "  - field isbn of resource book is new and required but has no default: the rows "
        "already in books would have no value for it; give it a `backfill` (the value existing "
        "rows get, used by this migration only) or a `default`, or make it `required: false`"
    )


def test_a_new_required_ref_is_refused() -> None:
    new = edit(LIBRARY, ("    blurb:", "    editor: {type: ref, to: author}\n    blurb:"))
    message = refusal(LIBRARY, new)
    assert "field editor of resource book is a new required ref" in message
    assert "`required: false`" in message


def test_a_changed_id_type_is_refused() -> None:
    new = edit(LIBRARY, ("author:\n  fields:", "author:\n  id: uuid\n  fields:"))
    message = refusal(LIBRARY, new, allow_destructive=True)
    assert message.startswith(
        "No migration can make this spec change safely:\n  - resource "
        "author: changing `id` from int to uuid is not supported"
    )
    assert "destroy" not in message  # the id and the refs to it are not listed again


def test_destructive_changes_are_refused_without_consent_naming_each() -> None:
    new = edit(
        LIBRARY,
        ("title: {type: str, max_length: 200}", "title: {type: str, max_length: 50}"),
        ("    blurb: {type: text, required: false}\n", ""),
    )
    message = refusal(LIBRARY, new)
    assert message == (
        "This spec change would destroy data:\n"
        "  - drop column books.blurb and its values\n"
        "  - change books.title from String(200) to String(50) (the upgrade stops while longer "
        "values exist)\n"
        "Nothing was written. To go ahead, back up the database and re-run with "
        "--allow-destructive; or change the spec back."
    )
    assert plan(LIBRARY, new, allow_destructive=True).destructive == [
        "drop column books.blurb and its values",
        "change books.title from String(200) to String(50) (the upgrade stops while longer "
        "values exist)",
    ]


def test_a_refusal_suggests_renamed_from_for_a_drop_and_add_that_look_like_a_rename() -> None:
    new = edit(LIBRARY, ("blurb: {type: text, required: false}", "summary: text"))
    message = refusal(LIBRARY, new)
    assert "field summary of resource book is new and required" in message
    assert "drop column books.blurb" in message
    assert "Fix the spec first; the data loss then needs --allow-destructive." in message
    assert message.endswith(
        "Hint: if field summary of resource book is field blurb renamed, add "
        "`renamed_from: blurb` to it to keep the values"
    )
    renamed = edit(
        LIBRARY, ("author:\n  fields:", "writer:\n  fields:"), ("to: author", "to: writer")
    )
    assert (
        "Hint: if resource writer is resource author renamed, add `renamed_from: author` "
        "to it to keep the rows"
    ) in refusal(LIBRARY, renamed)


def test_a_table_name_taken_over_in_the_same_migration_is_refused() -> None:
    old = "author:\n  fields:\n    name: str\nwriter:\n  fields:\n    name: str"
    new = "scribe:\n  plural: writers\n  renamed_from: author\n  fields:\n    name: str"
    assert "resource scribe needs table writers, which resource writer holds" in refusal(
        old, new, allow_destructive=True
    )
    new = LIBRARY.replace("author:\n  fields:", "writer:\n  renamed_from: author\n  fields:", 1)
    new = new.replace("to: author", "to: writer") + "\nauthor:\n  fields:\n    name: str\n"
    message = refusal(LIBRARY, new)
    assert (
        "resource author needs table authors, which resource author holds until this "
        "migration removes or renames it; make the two changes in separate "
        "regenerates"
    ) in message


# --- CHECK constraints, narrowing, backfill (issue 8, items 4 and 5) -------------------

RATED = """
book:
  fields:
    status: {type: enum, values: [draft, published, withdrawn], default: draft}
    stars: {type: int, ge: 0, le: 10, required: false}
    code: {type: str, min_length: 2, max_length: 8}
    notes: {type: text, max_length: 500, required: false}
    tags: {type: "list[str]", required: false}
"""


def test_the_first_migration_creates_named_check_constraints() -> None:
    up = steps(plan(None, RATED))
    checks = [line for line in up[0].split("sa.CheckConstraint(")[1:]]
    assert [c.rsplit("name=", 1)[1] for c in checks] == [
        'op.f("ck_books_status")), ',
        'op.f("ck_books_stars")), ',
        'op.f("ck_books_code")), ',
        'op.f("ck_books_notes")))',
    ]
    assert 'sa.column("status").in_(["draft", "published", "withdrawn"])' in up[0]
    assert 'sa.and_(sa.column("stars") >= 0, sa.column("stars") <= 10)' in up[0]
    assert 'sa.func.char_length(sa.column("code")) >= 2' in up[0]  # VARCHAR(8) has the max
    assert 'sa.func.char_length(sa.column("notes")) <= 500' in up[0]


def test_the_models_declare_the_same_check_constraints() -> None:
    from apiforge.render import render_project

    model = render_project(spec(RATED))["src/shop/models/book.py"].content
    assert (
        'CheckConstraint(column("status").in_(["draft", "published", "withdrawn"]), '
        'name="status")' in model
    )
    assert 'CheckConstraint(and_(column("stars") >= 0, column("stars") <= 10), name="stars")' in (
        model
    )
    assert 'CheckConstraint(func.char_length(column("code")) >= 2, name="code")' in model


def test_widening_replaces_a_check_without_touching_rows() -> None:
    new = edit(
        RATED,
        ("values: [draft, published, withdrawn]", "values: [draft, published, withdrawn, gone]"),
        ("ge: 0, le: 10", "ge: -5"),
        ("min_length: 2, max_length: 8", "max_length: 8"),
        ("max_length: 500", "max_length: 900"),
    )
    migration = plan(RATED, new)
    assert migration.destructive == []
    assert migration.summary == [
        "drop check constraint ck_books_code",
        "replace check constraint ck_books_status",
        "replace check constraint ck_books_stars",
        "replace check constraint ck_books_notes",
    ]
    up = steps(migration)
    assert up[:2] == [
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.drop_constraint(batch_op.f("ck_books_status"), type_="check")',
    ]
    assert (
        'batch_op.create_check_constraint(batch_op.f("ck_books_stars"), sa.column("stars") >= -5)'
        in up
    )
    assert not any("refuse_" in line or "update()" in line for line in up)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "{type: enum, values: [a, b, c]}",
            "{type: enum, values: [a, b]}",
            "narrow items.x: enum values a, b, c → a, b (removed: c)",
        ),
        ("{type: str, max_length: 9}", "{type: enum, values: [a, b]}", "type str → enum of a, b"),
        ("{type: int, le: 10}", "{type: int, le: 9}", "narrow items.x: le: 10 → le: 9"),
        ("{type: int, le: 10}", "{type: int, lt: 10}", "narrow items.x: le: 10 → lt: 10"),
        ("{type: float, ge: 0}", "{type: float, gt: 0}", "narrow items.x: ge: 0 → gt: 0"),
        ("int", "{type: int, ge: 1}", "narrow items.x: no ge/gt → ge: 1"),
        ("{type: decimal, ge: 0}", "{type: decimal, ge: 0.5}", "narrow items.x: ge: 0 → ge: 0.5"),
        ("{type: str, min_length: 1}", "{type: str, min_length: 3}", "min_length 1 → 3"),
        ("text", "{type: text, max_length: 50}", "narrow items.x: max_length none → 50"),
        ('{type: "list[int]", max_length: 5}', '{type: "list[int]", max_length: 4}', "5 → 4"),
        ("str", "{type: str, pattern: '^[a-z]+$'}", "pattern none → '^[a-z]+$'"),
        ("{type: str, max_length: 9}", "{type: str, max_length: 5}", "String(9) to String(5)"),
        (
            "{type: decimal, max_digits: 8, decimal_places: 2}",
            "{type: decimal, max_digits: 8, decimal_places: 1}",
            "Numeric(8, 2) to Numeric(8, 1)",
        ),
        ("str", "{type: str, unique: true}", "make items.x unique (the upgrade stops while two"),
    ],
)
def test_narrowing_is_destructive_naming_the_field_and_both_constraints(
    old: str, new: str, message: str
) -> None:
    before, after = f"item:\n  fields:\n    x: {old}", f"item:\n  fields:\n    x: {new}"
    refused = refusal(before, after)
    assert refused.startswith("This spec change would destroy data:\n  - ")
    assert message in refused
    assert "--allow-destructive" in refused


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("{type: int, gt: 0}", "{type: int, ge: 1}"),  # the same integers
        ("{type: int, ge: 1}", "{type: int, gt: 0}"),
        ("{type: int, le: 5}", "{type: int, le: 6}"),
        ("{type: str, pattern: '^a'}", "str"),
        ("{type: text, max_length: 5}", "text"),
        ("{type: enum, values: [a, b]}", "{type: enum, values: [b, a, c]}"),
    ],
)
def test_widening_is_not_destructive(old: str, new: str) -> None:
    before, after = f"item:\n  fields:\n    x: {old}", f"item:\n  fields:\n    x: {new}"
    migration = plan_migration(
        spec(before), spec(after), previous="0001", created=CREATED, allow_destructive=False
    )
    assert migration is None or migration.destructive == []
    assert migration is None or "refuse_" not in function(migration, "upgrade")


def test_renamed_enum_values_rewrite_the_rows_and_are_not_destructive() -> None:
    new = edit(
        RATED,
        (
            "values: [draft, published, withdrawn], default: draft}",
            "values: [draft, live, withdrawn], default: draft,\n"
            "             renamed_values: {published: live}}",
        ),
    )
    migration = plan(RATED, new)
    assert migration.destructive == []
    assert migration.summary == [
        "rewrite books.status: 'published' becomes 'live'",
        "replace check constraint ck_books_status",
    ]
    assert steps(migration) == [
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.drop_constraint(batch_op.f("ck_books_status"), type_="check")',
        'books_table = sa.table("books", sa.column("status", sa.String(length=9)))',
        "# status: 'published' becomes 'live'.",
        'op.execute(books_table.update().where(sa.column("status") == "published")'
        '.values({"status": "live"}))',
        'with op.batch_alter_table("books") as batch_op:',
        'batch_op.create_check_constraint(batch_op.f("ck_books_status"), '
        'sa.column("status").in_(["draft", "live", "withdrawn"]))',
    ]
    down = steps(migration, "downgrade")
    assert (
        'op.execute(books_table.update().where(sa.column("status") == "live")'
        '.values({"status": "published"}))'
    ) in down
    # Applied once, the mapping is stale: the next migration has nothing to rewrite.
    assert changes_nothing(new, new)


def test_a_shorter_renamed_value_is_rewritten_before_the_column_shrinks() -> None:
    old = "item:\n  fields:\n    x: {type: enum, values: [a, published]}"
    new = (
        "item:\n  fields:\n    x: {type: enum, values: [a, live],\n"
        "        renamed_values: {published: live}}"
    )
    migration = plan(old, new)
    assert migration.destructive == []
    up = steps(migration)
    assert position(up, '== "published"') < position(up, "type_=sa.String(length=4)")


def test_narrowing_allowed_without_a_backfill_stops_the_upgrade_before_any_change() -> None:
    new = edit(
        RATED,
        ("book:\n  fields:", "volume:\n  renamed_from: book\n  fields:"),
        (
            "    status:",
            "    state: {type: enum, values: [draft, published], default: draft,\n"
            "            renamed_from: status}\n    old_status:",
        ),
        ("ge: 0, le: 10", "ge: 1, le: 10"),
        (
            'tags: {type: "list[str]", required: false}',
            'tags: {type: "list[str]", max_length: 3, required: false}',
        ),
    )
    new = new.replace(
        "    old_status: {type: enum, values: [draft, published, withdrawn], default: draft}\n", ""
    )
    message = refusal(RATED, new)
    assert (
        "narrow volumes.state: enum values draft, published, withdrawn → draft, published "
        "(removed: withdrawn) (the upgrade stops while rows break it)"
    ) in message
    assert "narrow volumes.stars: ge: 0 → ge: 1 (the upgrade stops while rows break it)" in (
        message
    )
    migration = plan(RATED, new, allow_destructive=True)
    up = steps(migration)
    # First of all, under the names the database has before the migration:
    assert up[2:5] == [
        'refuse_rows("books", "status", sa.column("status").in_(["draft", "published"]), '
        '"must be one of draft, published")',
        'refuse_rows("books", "stars", sa.and_(sa.column("stars") >= 1, '
        'sa.column("stars") <= 10), "must be >= 1 and be <= 10")',
        'refuse_values("books", "tags", sa.JSON(), lambda value: len(value) <= 3, '
        '"must hold at most 3 item(s)")',
    ]
    assert position(up, "refuse_values") < position(up, "op.rename_table")
    assert "def refuse_rows(" in migration.content and "def _refuse(" in migration.content
    assert "Nothing was " in migration.content


def test_narrowing_with_a_backfill_rewrites_the_rows_outside_the_new_schema() -> None:
    new = edit(
        RATED,
        (
            "values: [draft, published, withdrawn], default: draft",
            "values: [draft, published], default: draft, backfill: draft",
        ),
        ("ge: 0, le: 10, required: false", "ge: 1, le: 5, required: false, backfill: 3"),
    )
    message = refusal(RATED, new)
    assert "(rows outside it get the backfill 'draft')" in message
    assert "(rows outside it get the backfill 3)" in message
    up = steps(plan(RATED, new, allow_destructive=True))
    assert not any(line.startswith("refuse_") for line in up)
    assert (
        'op.execute(books_table.update().where(sa.not_(sa.column("status").in_(["draft", '
        '"published"]))).values({"status": "draft"}))'
    ) in up
    rewrite = position(up, 'sa.not_(sa.and_(sa.column("stars") >= 1')
    assert position(up, 'drop_constraint(batch_op.f("ck_books_stars")') < rewrite
    assert rewrite < position(up, 'create_check_constraint(batch_op.f("ck_books_stars")')


def test_making_an_optional_field_required_needs_a_backfill_or_default() -> None:
    required = edit(RATED, ("ge: 0, le: 10, required: false", "ge: 0, le: 10"))
    assert refusal(RATED, required, allow_destructive=True) == (
        "No migration can make this spec change safely:\n"
        "  - field stars of resource book becomes required, but rows already in books may "
        "hold no value for it; give it a `backfill` (the value those rows get, used by this "
        "migration only) or a `default`, or keep it `required: false`"
    )
    backfilled = edit(RATED, ("ge: 0, le: 10, required: false", "ge: 0, le: 10, backfill: 5"))
    migration = plan(RATED, backfilled)
    assert migration.summary == ["make books.stars NOT NULL (NULLs get its backfill)"]
    assert (
        'op.execute(books_table.update().where(books_table.c["stars"].is_(None))'
        '.values({"stars": 5}))'
    ) in steps(migration)


def test_a_shorter_string_is_guarded_or_backfilled_before_its_column_shrinks() -> None:
    old = "item:\n  fields:\n    x: {type: str, max_length: 9}\n    y: {type: str, max_length: 9}"
    new = (
        "item:\n  fields:\n    x: {type: str, max_length: 5}\n"
        "    y: {type: str, max_length: 5, backfill: short}"
    )
    assert refusal(old, new).splitlines()[1:3] == [
        "  - change items.x from String(9) to String(5) (the upgrade stops while longer values "
        "exist)",
        "  - change items.y from String(9) to String(5) (longer values get the backfill 'short')",
    ]
    up = steps(plan(old, new, allow_destructive=True))
    assert up[2] == (
        'refuse_rows("items", "x", sa.func.char_length(sa.column("x")) <= 5, '
        '"must be at most 5 characters long")'
    )
    rewrite = position(up, '.where(sa.not_(sa.func.char_length(sa.column("y")) <= 5))')
    assert up[rewrite].endswith('.values({"y": "short"}))')
    assert rewrite < position(up, 'alter_column("y", type_=sa.String(length=5)')


def test_a_required_ref_stops_the_upgrade_while_rows_hold_none() -> None:
    old = edit(LIBRARY, ("on_delete: cascade}", "on_delete: cascade, required: false}"))
    message = refusal(old, LIBRARY)
    assert "make books.author_id required (a ref has no backfill" in message
    up = steps(plan(old, LIBRARY, allow_destructive=True))
    assert 'refuse_rows("books", "author_id", sa.column("author_id").is_not(None), ' in up[2]


def test_a_new_required_field_takes_its_backfill_which_stays_out_of_the_api() -> None:
    from apiforge.render import render_project

    new = edit(
        LIBRARY,
        ("    blurb:", "    isbn: {type: str, max_length: 13, backfill: unknown-isbn}\n    blurb:"),
    )
    migration = plan(LIBRARY, new)
    assert migration.summary == ["add column books.isbn, filled with its backfill"]
    assert 'server_default="unknown-isbn"' in function(migration, "upgrade")
    rendered = render_project(spec(new))
    for path, planned in rendered.items():
        if not path.startswith("migrations/"):
            assert "unknown-isbn" not in planned.content, path


def test_projects_from_before_check_constraints_get_them_guarded() -> None:
    rated = spec(RATED)
    upgrade = plan_migration(
        rated, rated, previous="0001", created=CREATED, allow_destructive=False, old_rules=2
    )
    assert upgrade is not None and upgrade.destructive == []
    up = steps(upgrade)
    assert [line.split("(")[0] for line in up if line.startswith("refuse_")] == ["refuse_rows"] * 4
    assert [line for line in up if "create_check_constraint" in line][0].startswith(
        'batch_op.create_check_constraint(batch_op.f("ck_books_status")'
    )


NARROWING = [
    (RATED, edit(RATED, ("ge: 0, le: 10, required: false", "ge: 1, le: 5, backfill: 3"),
                 ("max_length: 500", "max_length: 50"),
                 ('tags: {type: "list[str]", required: false}',
                  'tags: {type: "list[str]", min_length: 1, required: false}'),
                 ("min_length: 2, max_length: 8",
                  "min_length: 2, max_length: 8, pattern: '^[a-z]{3}'"),
                 ("values: [draft, published, withdrawn], default: draft",
                  "values: [draft, live], default: draft, renamed_values: {published: live}"))),
    (LIBRARY, edit(LIBRARY, ("name: {type: str, max_length: 100, sort: true}",
                             "name: {type: str, max_length: 100, unique: true}"))),
]  # fmt: skip


# --- file names, literals and the module as a whole --------------------------------


def test_the_file_name_is_short_and_names_the_first_changes() -> None:
    new = edit(
        LIBRARY,
        ("    blurb: {type: text, required: false}\n", ""),
        (
            "email: {type: email, unique: true}",
            "email: {type: email, unique: true}\n    country: {type: str, default: NZ}\n"
            "    city: {type: str, required: false}",
        ),
    )
    migration = plan(LIBRARY, new, allow_destructive=True)
    assert named(migration) == "add_authors_country_city_and_more.py"
    stem = migration.filename.removesuffix(".py").split("_", 1)[1]
    assert len(stem) <= 40


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", '"plain"'),
        ("it's", '"it\'s"'),
        ('say "hi"', "'say \"hi\"'"),
        ('both \' and ""', "'both \\' and \"\"'"),
        ("back\\slash\nnew\x00", '"back\\\\slash\\nnew\\x00"'),
        (["a", 1, True, None], '["a", 1, True, None]'),
        ({"k": [1.5]}, '{"k": [1.5]}'),
    ],
)
def test_literals_are_quoted_as_ruff_format_writes_them(value: object, literal: str) -> None:
    assert py_literal(value) == literal
    assert ast.literal_eval(literal) == value


# Three versions of a spec that between them use every kind of operation.
KITCHEN_V1 = (
    LIBRARY
    + """
tag:
  timestamps: false
  fields:
    label: {type: str, max_length: 30, unique: true}
"""
)
KITCHEN_V2 = """
author:
  fields:
    name: {type: str, max_length: 100, index: true}
    email: {type: email, unique: true}
    country: {type: str, max_length: 2, default: NZ}
    born: {type: date, required: false}
book:
  fields:
    title: {type: str, max_length: 300, sort: true}
    summary: {type: text, default: "n/a", renamed_from: blurb}
    status: {type: enum, values: [draft, published], default: draft}
    price: {type: decimal, max_digits: 8, decimal_places: 2, default: 9.99}
    released: {type: datetime, default: "2020-01-01T10:00:00+02:00"}
    code: {type: uuid, default: 12345678-1234-5678-1234-567812345678}
    in_print: {type: bool, default: true}
    class: {type: str, max_length: 20, default: "it's \\"q\\""}
    notes: {type: "list[str]", default: []}
    extra: {type: json, default: {a: [1, 2]}}
    edition: {type: str, max_length: 5, default: "1"}
    author: {type: ref, to: author, on_delete: restrict, unique: true}
tag:
  fields:
    label: {type: text}
"""
KITCHEN_V3 = """
publisher:
  id: uuid
  fields:
    name: {type: str, max_length: 50, unique: true}
writer:
  renamed_from: author
  timestamps: false
  fields:
    name: {type: str, max_length: 100, index: true}
    email: {type: email, unique: true}
    country: {type: text, default: NZ}
book:
  plural: volumes
  fields:
    title: {type: str, max_length: 100, sort: true}
    summary: {type: text, required: false}
    status: {type: enum, values: [draft, live], default: draft}
    price: {type: int, default: 9}
    released: {type: datetime, default: "2020-01-01T10:00:00+02:00"}
    code: {type: uuid, default: 12345678-1234-5678-1234-567812345678}
    in_print: {type: bool, default: true}
    class: {type: str, max_length: 20, default: "it's \\"q\\""}
    notes: {type: "list[str]", default: []}
    extra: {type: json, default: {a: [1, 2]}}
    edition: {type: int, default: 1}
    writer: {type: ref, to: writer, on_delete: cascade, renamed_from: author}
    publisher: {type: ref, to: publisher, required: false, on_delete: set_null}
review:
  fields:
    book: {type: ref, to: book}
    parent: {type: ref, to: review, required: false, on_delete: set_null}
"""
KITCHEN = (None, KITCHEN_V1, KITCHEN_V2, KITCHEN_V3)


def test_every_kind_of_module_compiles_and_passes_the_generated_projects_ruff(
    tmp_path: Path,
) -> None:
    migrations = [plan(None, v, allow_destructive=True) for v in KITCHEN[1:]]
    for old, new in zip(KITCHEN[1:], KITCHEN[2:], strict=False):
        migrations.append(plan(old, new, allow_destructive=True))
    migrations.append(plan(KITCHEN_V1, KITCHEN_V3, allow_destructive=True))
    migrations.append(merge_of(KITCHEN_V2, KITCHEN_V3, heads=("0003", "20261129143001_bbbbbb")))
    migrations.append(merge_of(KITCHEN_V3, KITCHEN_V3, heads=("0003", "20261129143001_bbbbbb")))
    migrations += [plan(old, new, allow_destructive=True) for old, new in NARROWING]
    (tmp_path / "pyproject.toml").write_text(_generated_ruff_config())
    for index, migration in enumerate(migrations):
        compile(migration.content, migration.filename, "exec")
        (tmp_path / f"m{index}_{migration.filename}").write_text(migration.content)
    ruff = [sys.executable, "-m", "ruff"]
    for command in (
        ["check", "--no-cache", "."],
        ["format", "--check", "--diff", "--no-cache", "."],
    ):
        result = subprocess.run(
            [*ruff, *command], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_kitchen_sink_uses_every_kind_of_operation() -> None:
    code = "\n".join(
        plan(old, new, allow_destructive=True).content
        for old, new in zip(KITCHEN, KITCHEN[1:], strict=False)
    )
    for operation in (
        "op.create_table(",
        "op.create_index(",
        "op.drop_table(",
        "op.rename_table(",
        "rename_primary_key(",
        "batch_op.add_column(",
        "batch_op.drop_column(",
        "new_column_name=",
        "type_=",
        "postgresql_using=",
        "server_default=None",
        "server_default=sa.true()",
        ".update()",
        "batch_op.create_unique_constraint(",
        "batch_op.drop_constraint(",
        "batch_op.create_index(",
        "batch_op.drop_index(",
        "batch_op.create_foreign_key(",
        'type_="foreignkey"',
        "datetime.datetime.now(",
    ):
        assert operation in code, operation


def _generated_ruff_config() -> str:
    """The ruff settings of a generated project, from the project template."""
    template = (REPO / "templates/service/project/pyproject.toml.jinja").read_text()
    environment = Environment()
    environment.filters.update(FILTERS)
    s = types.SimpleNamespace(name="shop", package="shop", version="0.1.0", title="Shop API")
    return environment.from_string(template).render(s=s)


# --- schema rules ----------------------------------------------------------------------


def test_a_sorted_field_shares_an_index_with_id() -> None:
    upgrade = steps(plan(None, LIBRARY))
    assert 'op.create_index(op.f("ix_authors_name_id"), "authors", ["name", "id"])' in upgrade
    assert not any('ix_authors_name"' in line for line in upgrade)


def test_tables_derived_under_older_rules_migrate_to_the_current_ones() -> None:
    """A project made when a sorted field had an index of its own (rules 1)."""
    library = spec(LIBRARY)
    upgrade = plan_migration(
        library, library, previous=FIRST, created=CREATED, allow_destructive=False, old_rules=1
    )
    assert upgrade is not None
    assert upgrade.summary == ["drop index ix_authors_name", "add index ix_authors_name_id"]
    assert upgrade.destructive == []
    assert steps(upgrade) == [
        'with op.batch_alter_table("authors") as batch_op:',
        'batch_op.create_index(batch_op.f("ix_authors_name_id"), ["name", "id"])',
        'batch_op.drop_index(batch_op.f("ix_authors_name"))',
    ]
    assert changes_nothing(library, library)
