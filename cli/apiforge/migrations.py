"""Migrations from the spec diff: one new Alembic revision per data-model change.

`plan_migration` compares the previous spec snapshot with the new spec (see
`migration_ops`), refuses what it cannot do safely, and renders a complete,
deterministic revision module: `upgrade()` applies the changes, `downgrade()`
applies the diff of the reversed matching. Column changes go through
`op.batch_alter_table`, so SQLite rebuilds the table and other databases alter it.
The module is pure: it renders text and never touches the disk or a database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import RefusedChange
from .escape import python_docstring
from .migration_ops import (
    Alter,
    Changes,
    Column,
    Fill,
    ForeignKey,
    Index,
    Matching,
    Table,
    TableDiff,
    describe,
    diff,
    fill_for,
    human_type,
    match,
    may_lose_data,
    postgresql_using,
    py_literal,
    slug,
)
from .model import Check
from .narrowing import Guard, Rewrite, narrowed
from .spec import Spec
from .state import SCHEMA_RULES

LINE_LENGTH = 100  # the generated project's ruff line length


@dataclass(frozen=True)
class Migration:
    revision: str  # "20261129143005_3fa9c1": its time, then a hash of what it does
    filename: str  # "20261129143005_3fa9c1_add_books_subtitle.py", for migrations/versions/
    content: str  # the revision module
    summary: list[str]  # one line per change, for the report
    destructive: list[str]  # the changes that lose data (allowed, or it would refuse)


def plan_migration(
    old: Spec | None,
    new: Spec,
    *,
    previous: str | Sequence[str] | None,
    created: datetime,
    allow_destructive: bool,
    old_rules: int = SCHEMA_RULES,
) -> Migration | None:
    """The revision that takes a database from `old` to `new`; None if no table changes.

    `previous` is the head it follows, or several heads (branches merged in git): then
    it is a merge revision, written even when no table changes. `created` stamps its id.
    `old_rules` are the schema rules `old`'s tables were derived with (a project made by
    an older apiforge). Raises RefusedChange for changes no migration can make safely,
    and for ones that destroy data unless `allow_destructive`.
    """
    parents = (previous,) if isinstance(previous, str) else tuple(previous or ())
    matching = match(old, new, old_rules=old_rules)
    changes = diff(matching)
    if changes.empty and len(parents) < 2:
        return None
    problems = [*_unsupported(matching), *_unfillable(changes)]
    retyped = {p.new.name for p in matching.pairs if p.old.id_type != p.new.id_type}
    destructive = list(_destructive(changes, retyped))
    if problems or (destructive and not allow_destructive):
        raise RefusedChange(_refusal(problems, destructive, allow_destructive, _hints(changes)))
    summary = list(describe(changes))
    title = new.service.display_title if old is None else None
    write = _module_writer(parents, new.service.package_name, summary, title)
    downgrade = diff(matching.reversed())
    revision = revision_id(created, parents, write("", changes, downgrade))
    content = write(revision, changes, downgrade)
    name = slug(changes) if not changes.empty else "merge_heads"
    return Migration(revision, f"{revision}_{name}.py", content, summary, destructive)


def revision_id(created: datetime, parents: Sequence[str], module: str) -> str:
    """Its time (sorts like Rails' migrations), then a hash of what it does and follows:
    two branches changing the spec in the same second still get different ids."""
    digest = hashlib.sha256("\n".join([*parents, module]).encode("utf-8")).hexdigest()
    return f"{created:%Y%m%d%H%M%S}_{digest[:6]}"


def _module_writer(
    parents: tuple[str, ...], package: str, summary: list[str], title: str | None
) -> Callable[[str, Changes, Changes], str]:
    def write(revision: str, upgrade: Changes, downgrade: Changes) -> str:
        return _module(revision, parents, package, summary, title, upgrade, downgrade)

    return write


# --- refusals -----------------------------------------------------------------------


def _unsupported(matching: Matching) -> Iterator[str]:
    for pair in matching.pairs:
        if pair.old.id_type != pair.new.id_type:
            old, new = pair.old.id_type, pair.new.id_type
            yield (
                f"resource {pair.new.resource}: changing `id` from {old} to {new} is not "
                f"supported: every id in {pair.new.name}, and every reference to it, would "
                f"have to be converted; keep `id: {old}`, or add a new resource with "
                f"`id: {new}` and move the rows over yourself"
            )
    taken = {t.name: t for t in matching.old}
    was = {p.new.resource: p.old.resource for p in matching.pairs}
    for table in matching.new:  # a table name may pass on only in a later migration
        holder = taken.get(table.name)
        if holder is not None and was.get(table.resource) != holder.resource:
            yield (
                f"resource {table.resource} needs table {table.name}, which resource "
                f"{holder.resource} holds until this migration removes or renames it; "
                f"make the two changes in separate regenerates"
            )


def _unfillable(changes: Changes) -> Iterator[str]:
    for d in changes.altered:
        for column in d.added:
            if column.nullable or fill_for(column, placeholder=False):
                continue
            where = f"field {column.field} of resource {d.new.resource}"
            if column.kind == "ref":
                yield (
                    f"{where} is a new required ref: the rows already in {d.new.name} have "
                    "nothing to refer to; add it with `required: false`, fill it in, then "
                    "make it required in a later change"
                )
            else:
                yield (
                    f"{where} is new and required but has no default: the rows already in "
                    f"{d.new.name} would have no value for it; give it a `backfill` (the "
                    "value existing rows get, used by this migration only) or a `default`, "
                    "or make it `required: false`"
                )
        yield from _unfilled_nulls(d)


def _unfilled_nulls(d: TableDiff) -> Iterator[str]:
    """An optional field made required needs a value for the rows that hold none."""
    for a in d.altered:
        tightened = a.old.nullable and not a.new.nullable
        if tightened and a.new.kind != "ref" and fill_for(a.new, placeholder=False) is None:
            yield (
                f"field {a.new.field} of resource {d.new.resource} becomes required, but rows "
                f"already in {d.new.name} may hold no value for it; give it a `backfill` (the "
                "value those rows get, used by this migration only) or a `default`, or keep "
                "it `required: false`"
            )


def _destructive(changes: Changes, retyped: set[str]) -> Iterator[str]:
    """What loses data; id conversions (of `retyped` tables) are refused on their own."""
    for table in changes.dropped:
        yield f"drop table {table.name} and every row in it"
    for d in changes.altered:
        for column in d.dropped:
            yield f"drop column {d.old.name}.{column.name} and its values"
        follows_id = {fk.column for fk in d.new.foreign_keys if fk.target in retyped}
        for a in d.altered:
            if a.new.name == "id" or a.new.name in follows_id:
                continue
            enums = a.old.kind == a.new.kind == "enum"  # their narrowing is told below
            if a.type_changed and may_lose_data(a.old.type, a.new.type) and not enums:
                yield (
                    f"change {d.new.name}.{a.new.name} from {human_type(a.old.type)} to "
                    f"{human_type(a.new.type)} ({_fate_of_longer_values(d, a)})"
                )
        yield from _narrowing(d)


def _fate_of_longer_values(d: TableDiff, a: Alter) -> str:
    if not (a.old.type.startswith("sa.String") and a.new.type.startswith("sa.String")):
        return "some values may not fit or convert"
    if any(r.column == a.new.name and r.early for r in d.rewrites):
        backfill = a.new.spec.backfill if a.new.spec else None
        return f"longer values get the backfill {backfill!r}"
    return "the upgrade stops while longer values exist"


def _narrowing(d: TableDiff) -> Iterator[str]:
    """Changes after which rows already in the table may fall outside the schema."""
    guarded = {g.column for g in d.guards}
    for old, new in d.matched:
        if old.spec is None or new.spec is None:
            continue
        if old.name in guarded:
            fate = "the upgrade stops while rows break it"
        elif new.has_backfill:
            fate = f"rows outside it get the backfill {new.spec.backfill!r}"
        else:  # the type changes too: the database refuses the new CHECK while rows break it
            fate = "the upgrade fails while rows break it"
        for rule in narrowed(old.spec, new.spec):
            yield f"narrow {d.new.name}.{new.name}: {rule} ({fate})"
        if old.nullable and not new.nullable and new.kind == "ref":
            yield (
                f"make {d.new.name}.{new.name} required (a ref has no backfill: the upgrade "
                "stops while rows hold none)"
            )
    for guard in d.guards:
        if guard.kind == "duplicates":
            yield (
                f"make {d.new.name}.{guard.column} unique (the upgrade stops while two rows "
                "share a value)"
            )


def _hints(changes: Changes) -> Iterator[str]:
    """Suggest `renamed_from` where a drop and an add look like one rename."""
    for table in changes.created:
        fields = {c.name for c in table.columns if c.field}
        alike = [
            t
            for t in changes.dropped
            if 2 * len(fields & {c.name for c in t.columns}) >= len(fields)
        ]
        if len(alike) == 1:
            yield (
                f"if resource {table.resource} is resource {alike[0].resource} renamed, add "
                f"`renamed_from: {alike[0].resource}` to it to keep the rows"
            )
    for d in changes.altered:
        for column in d.added:
            lost = [c.field for c in d.dropped if c.field and c.kind == column.kind]
            if column.field and len(lost) == 1:
                yield (
                    f"if field {column.field} of resource {d.new.resource} is field "
                    f"{lost[0]} renamed, add `renamed_from: {lost[0]}` to it to keep the "
                    "values"
                )


def _refusal(
    problems: list[str], destructive: list[str], allowed: bool, hints: Iterator[str]
) -> str:
    lines = []
    if problems:
        lines.append("No migration can make this spec change safely:")
        lines += [f"  - {problem}" for problem in problems]
    if destructive and not allowed:
        lines.append("This spec change would destroy data:")
        lines += [f"  - {change}" for change in destructive]
        if problems:
            lines.append("Fix the spec first; the data loss then needs --allow-destructive.")
        else:
            lines.append(
                "Nothing was written. To go ahead, back up the database and re-run "
                "with --allow-destructive; or change the spec back."
            )
    lines += [f"Hint: {hint}" for hint in hints]
    return "\n".join(lines)


# --- code layout (the shapes `ruff format` gives, so its check passes) --------------


@dataclass(frozen=True)
class Call:
    func: str  # may carry a keyword: `name=op.f`
    args: tuple[Expr, ...] = ()
    explode: bool = False  # one argument per line even when it fits (a magic comma)

    def __str__(self) -> str:
        return f"{self.func}({', '.join(map(str, self.args))})"


@dataclass(frozen=True)
class Chain:
    """A method chain (`t.update().where(...).values(...)`), split one call per line."""

    parts: tuple[str, ...]

    def __str__(self) -> str:
        return "".join(self.parts)


Expr = str | Call | Chain


def layout(expr: Expr, indent: int, suffix: str = "") -> list[str]:
    pad, inner = " " * indent, " " * (indent + 4)
    one = f"{pad}{expr}{suffix}"
    exploded = isinstance(expr, Call) and expr.explode
    if isinstance(expr, str) or (len(one) <= LINE_LENGTH and not exploded):
        return [one]
    if isinstance(expr, Chain):
        return [pad + part for part in expr.parts[:-1]] + [pad + expr.parts[-1] + suffix]
    joined = ", ".join(map(str, expr.args))
    if not expr.explode and len(inner + joined) <= LINE_LENGTH:
        body = [inner + joined]
    elif len(expr.args) == 1 and not expr.explode:
        body = layout(expr.args[0], indent + 4)
    else:
        body = [line for arg in expr.args for line in layout(arg, indent + 4, ",")]
    return [f"{pad}{expr.func}(", *body, f"{pad}){suffix}"]


def q(name: str) -> str:
    return py_literal(name)


def names(*columns: str) -> str:
    return f"[{', '.join(map(q, columns))}]"


# --- the revision module ------------------------------------------------------------


def _module(
    revision: str,
    parents: tuple[str, ...],
    package: str,
    summary: list[str],
    title: str | None,
    upgrade: Changes,
    downgrade: Changes,
) -> str:
    if title is not None:
        headline = f"Create the tables of {python_docstring(title)}."
    elif not summary:
        headline = f"Join the heads {' and '.join(parents)}: branches merged in git."
    else:
        items = "".join(f"\n- {python_docstring(line)}" for line in summary)
        headline = f"Bring the database in line with the spec:\n{items}"
    up, down = _steps(upgrade, reverse=False), _steps(downgrade, reverse=True)
    helpers = _RENAME_PRIMARY_KEY if upgrade.renamed else ""
    guards = [name for name in _GUARDS if f"    {name}(" in "\n".join(up + down)]
    helpers += "".join(_GUARDS[name] for name in guards) + _REFUSE * bool(guards)
    code = "\n".join(up + down) + helpers
    stdlib = [f"import {m}" for m in ("datetime", "decimal", "re", "uuid") if _uses(m, code)]
    scans = "refuse_values" in guards  # its signature takes a function of Any
    typed = scans or "refuse_duplicates" in guards
    groups = [
        [*stdlib, f"from collections.abc import {'Callable, ' * scans}Sequence"]
        + ["from typing import Any"] * typed,
        ["import sqlalchemy as sa"] * _uses("sa", code)
        + ["from alembic import op"] * _uses("op", code),
        [f"from {package}.database import UTCDateTime"] * ("UTCDateTime()" in code),
    ]
    return _MODULE.format(
        headline=headline,
        revision=revision,
        revises=f"Revises: {', '.join(parents)}".rstrip(),
        imports="\n\n".join("\n".join(group) for group in groups if group),
        revision_literal=q(revision),
        down_revision=_down_revision(parents),
        upgrade="\n".join(up or ["    pass"]),
        downgrade="\n".join(down or ["    pass"]),
        helpers=helpers,
    )


def _down_revision(parents: tuple[str, ...]) -> str:
    if len(parents) > 1:
        return f"str | Sequence[str] | None = ({', '.join(map(q, parents))})"
    return f"str | None = {q(parents[0]) if parents else 'None'}"


def _uses(module: str, code: str) -> bool:
    return re.search(rf"\b{module}\.", code) is not None


_MODULE = '''"""{headline}

Revision ID: {revision}
{revises}
"""

{imports}

revision: str = {revision_literal}
down_revision: {down_revision}
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
{helpers}'''

_RENAME_PRIMARY_KEY = '''

def rename_primary_key(old_table: str, table: str) -> None:
    """Give a renamed table's primary key the name the naming convention expects.

    MySQL and MariaDB always call a primary key PRIMARY: nothing to do there.
    """
    dialect = op.get_context().dialect.name
    if dialect == "postgresql":
        op.execute(f'ALTER TABLE "{table}" RENAME CONSTRAINT "pk_{old_table}" TO "pk_{table}"')
        op.execute(f'ALTER SEQUENCE IF EXISTS "{old_table}_id_seq" RENAME TO "{table}_id_seq"')
    elif dialect == "sqlite":  # the name is part of the table's definition: rebuild it
        with op.batch_alter_table(table, recreate="always") as batch_op:
            batch_op.drop_constraint(f"pk_{old_table}", type_="primary")
            batch_op.create_primary_key(f"pk_{table}", ["id"])
'''


_REFUSE = """

def _refuse(table: str, column: str, rule: str, count: int) -> None:
    if count:
        raise RuntimeError(
            f"{count} row(s) of {table} break the new schema: {column} {rule}. Nothing was "
            "changed: update or delete those rows, then run the migration again."
        )
"""
_GUARDS = {
    "refuse_rows": '''

def refuse_rows(table: str, column: str, keep: sa.ColumnElement[bool], rule: str) -> None:
    """Stop, before anything changes, while rows of `table` fail the SQL condition `keep`."""
    if op.get_context().as_sql:  # offline: there are no rows to look at
        return
    rows = sa.select(sa.func.count()).select_from(sa.table(table)).where(sa.not_(keep))
    _refuse(table, column, rule, op.get_bind().scalar(rows) or 0)
''',
    "refuse_values": '''

def refuse_values(
    table: str, column: str, type_: sa.types.TypeEngine[Any], keep: Callable[[Any], bool], rule: str
) -> None:
    """Stop, before anything changes, while values of `column` fail `keep` (tested in Python)."""
    if op.get_context().as_sql:  # offline: there are no rows to look at
        return
    value = sa.column(column, type_)
    values = sa.select(value).select_from(sa.table(table)).where(value.is_not(None))
    _refuse(table, column, rule, sum(not keep(v) for v in op.get_bind().scalars(values)))
''',
    "refuse_duplicates": '''

def refuse_duplicates(table: str, column: str) -> None:
    """Stop, before anything changes, while two rows of `table` share a value of `column`."""
    if op.get_context().as_sql:  # offline: there are no rows to look at
        return
    value: sa.ColumnClause[Any] = sa.column(column)
    shared = sa.select(value).select_from(sa.table(table)).where(value.is_not(None))
    shared = shared.group_by(value).having(sa.func.count() > 1)
    count = sa.select(sa.func.count()).select_from(shared.subquery())
    _refuse(table, column, "must be unique", op.get_bind().scalar(count) or 0)
''',
}


def _guard_lines(changes: Changes) -> list[str]:
    guards = [guard for d in changes.altered for guard in d.guards]
    if not guards:
        return []
    lines = [
        "    # Rows that would break the new schema stop the migration here, before it changes",
        "    # anything (rows outside a field with a `backfill` are rewritten to it instead).",
    ]
    for guard in guards:
        lines += layout(_guard_call(guard), 4)
    return lines


def _guard_call(guard: Guard) -> Call:
    table, column, rule = q(guard.table), q(guard.column), py_literal(guard.rule)
    if guard.kind == "duplicates":
        return Call("refuse_duplicates", (table, column))
    if guard.kind == "values":
        return Call("refuse_values", (table, column, guard.column_type or "", guard.keep, rule))
    return Call("refuse_rows", (table, column, guard.keep, rule))


def _steps(changes: Changes, *, reverse: bool) -> list[str]:
    lines: list[str] = _guard_lines(changes)
    for old, new in changes.renamed:
        lines += layout(Call("op.rename_table", (q(old.name), q(new.name))), 4)
        lines += layout(Call("rename_primary_key", (q(old.name), q(new.name))), 4)
    for table in changes.created:
        if reverse:
            lines.append("    # Recreated empty: upgrade() dropped this table and its rows.")
        lines += _create_table(table)
    for d in changes.altered:
        lines += _alter_table(d, reverse=reverse)
    for table in changes.dropped:
        if not reverse:
            lines.append(f"    # Deletes every row of {table.name}.")
        lines += layout(Call("op.drop_table", (q(table.name),)), 4)
    return lines


def _create_table(table: Table) -> list[str]:
    columns: list[Expr] = [
        Call("sa.Column", (q(c.name), c.type, f"nullable={c.nullable}")) for c in table.columns
    ]
    fks: list[Expr] = [
        Call(
            "sa.ForeignKeyConstraint",
            (
                names(fk.column),
                names(f"{fk.target}.id"),
                _named(table.fk_name(fk)),
                f"ondelete={q(fk.ondelete)}",
            ),
            explode=True,  # as alembic's autogenerate writes it
        )
        for fk in table.foreign_keys
    ]
    pk = Call("sa.PrimaryKeyConstraint", (q("id"), _named(table.pk_name)))
    uniques: list[Expr] = [
        Call("sa.UniqueConstraint", (*map(q, i.columns), _named(table.index_name(i))))
        for i in table.indexes
        if i.unique
    ]
    checks: list[Expr] = [
        Call("sa.CheckConstraint", (_condition(check), _named(table.check_name(check))))
        for check in table.checks
    ]
    parts = (q(table.name), *columns, *fks, pk, *uniques, *checks)
    lines = layout(Call("op.create_table", parts, True), 4)
    for index in table.indexes:
        if not index.unique:
            name = Call("op.f", (q(table.index_name(index)),))
            create = Call("op.create_index", (name, q(table.name), names(*index.columns)))
            lines += layout(create, 4)
    return lines


def _named(name: str) -> Call:
    return Call("name=op.f", (q(name),))


def _condition(check: Check) -> str:
    return check.expression("sa.", py_literal)


def _alter_table(d: TableDiff, *, reverse: bool) -> list[str]:
    """Batches: constraints out and renames; the changes; NOT NULL and CHECKs once rows fit.

    Rows are rewritten between batches: before the type changes when it narrows (the
    values must fit it), else after it (they may need its room).
    """
    early = [r for r in d.rewrites if r.early]
    first: list[Expr] = [_drop_fk(name) for name, _ in d.dropped_fks]
    first += [_drop_check(name) for name, _ in d.dropped_checks]
    main: list[Expr] = []
    if d.renamed:  # on their own, so SQLite's rebuild has the new names before indexes use them
        first += [_alter(c.name, c, f"new_column_name={q(name)}") for c, name in d.renamed]
    elif not early:
        main, first = first, []
    fills: list[tuple[Column, Fill]] = []
    finish: list[Expr] = []
    main += [_drop_index(name, index) for name, index in d.early_index_drops]
    main += [Call("batch_op.drop_column", (q(c.name),)) for c in d.dropped]
    for column in d.added:
        main += _add_column(column, fills, finish, reverse=reverse)
    for a in d.altered:
        main += _alter_column(d.new.name, a, fills, finish, reverse=reverse)
    main += [_create_index(name, index) for name, index in d.created_indexes]
    main += [_drop_index(name, index) for name, index in d.late_index_drops]
    main += [_create_fk(name, fk) for name, fk in d.created_fks]
    late = [r for r in d.rewrites if not r.early]
    (finish if fills or late else main).extend(_create_check(n, c) for n, c in d.created_checks)
    lines = _batch(d.new.name, first) + _updates(d, [], early) + _batch(d.new.name, main)
    return lines + _updates(d, fills, late) + _batch(d.new.name, finish)


def _updates(d: TableDiff, fills: list[tuple[Column, Fill]], rewrites: list[Rewrite]) -> list[str]:
    """UPDATEs with bound values (each database gets them in its own format)."""
    if not fills and not rewrites:
        return []
    variable = f"{d.new.name}_table"
    types = {c.name: c.type for c, _ in fills} | {
        r.column: next(c.type for c in d.new.columns if c.name == r.column) for r in rewrites
    }
    columns = (Call("sa.column", (q(name), type_)) for name, type_ in types.items())
    lines = layout(Call(f"{variable} = sa.table", (q(d.new.name), *columns)), 4)
    for column, fill in fills:
        if fill.placeholder:
            lines.append(f"    # {column.name} has no default: a placeholder fills its NULLs.")
        lines += layout(Call("op.execute", (_update(variable, column.name, fill.value),)), 4)
    for rewrite in rewrites:
        lines.append(f"    # {rewrite.column}: {rewrite.note}.")
        chain = _update(variable, rewrite.column, rewrite.value, where=rewrite.where)
        lines += layout(Call("op.execute", (chain,)), 4)
    return lines


def _batch(table: str, statements: list[Expr]) -> list[str]:
    if not statements:
        return []
    lines = [f"    with op.batch_alter_table({q(table)}) as batch_op:"]
    for statement in statements:
        lines += layout(statement, 8)
    return lines


def _add_column(
    column: Column, fills: list[tuple[Column, Fill]], finish: list[Expr], *, reverse: bool
) -> list[Expr]:
    fill = None if column.nullable else fill_for(column, placeholder=reverse)
    nullable = column.nullable or fill is None  # no fill: a required ref, in a downgrade
    notes: list[Expr] = []
    if reverse and column.kind != "timestamp":
        how = " (a placeholder fills it)" if fill and fill.placeholder else ""
        how = ", and nullable: its parents are unknown" if nullable != column.nullable else how
        notes.append(f"# {column.name} comes back empty{how}.")
    extra: list[str] = []
    if fill is not None and fill.server_default is not None:
        extra.append(f"server_default={fill.server_default}")
        finish.append(_alter(column.name, column, "server_default=None"))
    elif fill is not None:
        nullable = True  # filled by an UPDATE, then made NOT NULL
        fills.append((column, fill))
        finish.append(_alter(column.name, column, "nullable=False", existing_nullable=True))
    new = Call("sa.Column", (q(column.name), column.type, f"nullable={nullable}", *extra))
    return [*notes, Call("batch_op.add_column", (new,))]


def _alter_column(
    table: str, a: Alter, fills: list[tuple[Column, Fill]], finish: list[Expr], *, reverse: bool
) -> list[Expr]:
    changes = [f"type_={a.new.type}"] if a.type_changed else []
    using = postgresql_using(a.new.name, a.old.type, a.new.type) if a.type_changed else None
    notes: list[Expr] = []
    tightened = a.old.nullable and not a.new.nullable
    fill = fill_for(a.new, placeholder=reverse) if tightened else None
    if fill is not None:  # rows holding NULL get the default first
        fills.append((a.new, fill))
        finish.append(_alter(a.new.name, a.new, "nullable=False", existing_nullable=True))
    elif a.old.nullable != a.new.nullable:
        changes.append(f"nullable={a.new.nullable}")
        if tightened:
            notes.append(f"# Fails while rows hold NULL in {table}.{a.new.name}: fill them first.")
    if not changes:
        return notes
    return [*notes, _alter(a.new.name, a.old, *changes, using=using)]


def _alter(
    name: str,
    existing: Column,
    *changes: str,
    existing_nullable: bool | None = None,
    using: str | None = None,
) -> Call:
    nullable = existing.nullable if existing_nullable is None else existing_nullable
    args: list[Expr] = [
        q(name),
        *changes,
        f"existing_type={existing.type}",
        f"existing_nullable={nullable}",
    ]
    if using is not None:
        args.append(f"postgresql_using={py_literal(using)}")
    return Call("batch_op.alter_column", tuple(args))


def _update(variable: str, column: str, value: str, *, where: str | None = None) -> Chain:
    return Chain(
        (
            f"{variable}.update()",
            f".where({where or f'{variable}.c[{q(column)}].is_(None)'})",
            f".values({{{q(column)}: {value}}})",
        )
    )


def _f(name: str) -> Call:
    return Call("batch_op.f", (q(name),))


def _drop_fk(name: str) -> Call:
    return Call("batch_op.drop_constraint", (_f(name), 'type_="foreignkey"'))


def _drop_check(name: str) -> Call:
    return Call("batch_op.drop_constraint", (_f(name), 'type_="check"'))


def _create_check(name: str, check: Check) -> Call:
    return Call("batch_op.create_check_constraint", (_f(name), _condition(check)))


def _drop_index(name: str, index: Index) -> Call:
    if index.unique:
        return Call("batch_op.drop_constraint", (_f(name), 'type_="unique"'))
    return Call("batch_op.drop_index", (_f(name),))


def _create_index(name: str, index: Index) -> Call:
    function = "create_unique_constraint" if index.unique else "create_index"
    return Call(f"batch_op.{function}", (_f(name), names(*index.columns)))


def _create_fk(name: str, fk: ForeignKey) -> Call:
    return Call(
        "batch_op.create_foreign_key",
        (
            _f(name),
            q(fk.target),
            names(fk.column),
            names("id"),
            f"ondelete={q(fk.ondelete)}",
        ),
    )
