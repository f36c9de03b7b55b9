"""What a migration changes: table shapes from two specs, matched and compared.

The derived model of each spec becomes a set of `Table` shapes: columns, indexes,
unique constraints and foreign keys, named by the generated models' naming
convention. `match` pairs old tables with new ones (by resource, `renamed_from` or
table name) and old columns with new ones (by column or `renamed_from`); `diff`
turns a matching into `Changes`. A downgrade is the diff of the reversed matching,
so every upgrade step has its inverse by construction. Also here: how changes are
described, which type changes lose data, and how NOT NULL columns get filled.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any

from .model import Check, derive
from .narrowing import ColumnChange, Guard, Rewrite, duplicate_guard, null_guard, row_rules
from .spec import FieldSpec, ResourceSpec, Spec
from .state import SCHEMA_RULES

FIXED_COLUMNS = frozenset({"id", "created_at", "updated_at"})
SLUG_LENGTH = 40
# Spec types whose default can be a portable SQL literal (`server_default`). The others
# are filled by an UPDATE with a bound value: their literal differs between databases
# (datetimes, UUIDs) or MySQL allows no literal default for them (TEXT, JSON).
LITERAL_DEFAULT_TYPES = frozenset(
    {"str", "email", "url", "enum", "int", "bigint", "float", "decimal", "bool", "date"}
)
NOW = "datetime.datetime.now(datetime.UTC)"
PLACEHOLDERS: dict[str, Any] = {
    "str": "", "text": "", "email": "", "url": "", "int": 0, "bigint": 0, "float": 0.0,
    "decimal": 0, "bool": False, "date": "1970-01-01", "datetime": "1970-01-01T00:00:00+00:00",
    "uuid": "00000000-0000-0000-0000-000000000000", "json": {}, "list[str]": [], "list[int]": [],
}  # fmt: skip


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # the migration type expression, e.g. `sa.String(length=200)`
    nullable: bool
    kind: str  # the spec type, or "id" / "timestamp" for generated columns
    field: str | None = None  # the spec field it comes from
    has_default: bool = False
    default: Any = None  # the spec's default value, as written
    first_value: str | None = None  # an enum's first value (a placeholder)
    check: Check | None = None  # its CHECK constraint (schema rules 3 on)
    spec: FieldSpec | None = dataclass_field(default=None, compare=False, repr=False)  # as written

    @property
    def has_backfill(self) -> bool:
        return self.spec is not None and self.spec.has_backfill


@dataclass(frozen=True)
class Index:
    columns: tuple[str, ...]  # one, or a sorted field and `id` (keyset pages)
    unique: bool  # a unique constraint rather than a plain index


@dataclass(frozen=True)
class ForeignKey:
    column: str
    target: str  # the referenced table (its `id` column)
    ondelete: str


@dataclass(frozen=True)
class Table:
    resource: str
    name: str
    id_type: str
    columns: tuple[Column, ...]  # id, the fields in spec order, then the timestamps
    indexes: tuple[Index, ...]  # in field order, the created_at index last
    foreign_keys: tuple[ForeignKey, ...]

    @property
    def pk_name(self) -> str:
        return f"pk_{self.name}"

    def index_name(self, index: Index) -> str:
        return f"{'uq' if index.unique else 'ix'}_{self.name}_{'_'.join(index.columns)}"

    def fk_name(self, fk: ForeignKey) -> str:
        return f"fk_{self.name}_{fk.column}_{fk.target}"

    def check_name(self, check: Check) -> str:
        return f"ck_{self.name}_{check.column}"

    @property
    def checks(self) -> tuple[Check, ...]:
        return tuple(c.check for c in self.columns if c.check is not None)


def tables(spec: Spec, *, rules: int = SCHEMA_RULES) -> tuple[Table, ...]:
    """The tables of a spec, parents before the tables that reference them.

    `rules` is the state's SCHEMA_RULES the tables were (or are to be) derived with.
    """
    result = []
    for r in derive(spec).resources:
        fields = spec.resources[r.name].fields
        id_type = "sa.Uuid()" if r.id_type == "uuid" else "sa.Integer()"
        columns = [Column("id", id_type, nullable=False, kind="id")]
        indexes = []
        for f in r.fields:
            field = fields[f.name]
            first = field.values[0] if field.values else None
            check = f.check if rules >= 3 else None
            columns.append(Column(f.key, f.migration_type, f.nullable, f.type, f.name,
                                  field.has_default, field.default, first, check,
                                  field))  # fmt: skip
            if f.unique or f.index:
                indexes.append(Index(f.index_columns(rules), unique=f.unique))
        if r.timestamps:
            columns += [
                Column(name, "UTCDateTime()", nullable=False, kind="timestamp")
                for name in ("created_at", "updated_at")
            ]
            indexes.append(Index(("created_at",), unique=False))
        foreign_keys = tuple(
            ForeignKey(f.key, (f.foreign_key or "").split(".")[0], f.on_delete or "RESTRICT")
            for f in r.refs
        )
        result.append(
            Table(r.name, r.table, r.id_type, tuple(columns), tuple(indexes), foreign_keys)
        )
    return tuple(result)


# --- matching -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """A table in both specs; `renames` maps old column names to new ones."""

    old: Table
    new: Table
    renames: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Matching:
    old: tuple[Table, ...]
    new: tuple[Table, ...]
    pairs: tuple[Pair, ...]  # in the new tables' order

    @property
    def created(self) -> tuple[Table, ...]:
        kept = {p.new.resource for p in self.pairs}
        return tuple(t for t in self.new if t.resource not in kept)

    @property
    def dropped(self) -> tuple[Table, ...]:
        kept = {p.old.resource for p in self.pairs}
        return tuple(t for t in self.old if t.resource not in kept)

    def reversed(self) -> Matching:
        """The matching a downgrade follows: new → old, every rename undone."""
        order = {t.resource: i for i, t in enumerate(self.old)}
        pairs = sorted(self.pairs, key=lambda p: order[p.old.resource])
        return Matching(
            self.new,
            self.old,
            tuple(Pair(p.new, p.old, tuple((b, a) for a, b in p.renames)) for p in pairs),
        )


def match(old: Spec | None, new: Spec, *, old_rules: int = SCHEMA_RULES) -> Matching:
    old_tables = tables(old, rules=old_rules) if old is not None else ()
    new_tables = tables(new)
    old_by_name = {t.resource: t for t in old_tables}
    claims: dict[str, str] = {}  # new resource → old resource
    for name, resource in new.resources.items():  # 1. explicit renames
        source = resource.renamed_from
        if source in old_by_name and name not in old_by_name and source not in claims.values():
            claims[name] = source
    for name in new.resources:  # 2. the same resource
        if name not in claims and name in old_by_name and name not in claims.values():
            claims[name] = name
    for table in new_tables:  # 3. another resource name for the same table
        for other in old_tables:
            free = table.resource not in claims and other.resource not in claims.values()
            if free and other.name == table.name:
                claims[table.resource] = other.resource
    pairs = []
    for table in new_tables:
        if table.resource in claims:
            assert old is not None
            before = old_by_name[claims[table.resource]]
            renames = _column_renames(before, table, new.resources[table.resource])
            pairs.append(Pair(before, table, renames))
    return Matching(old_tables, new_tables, tuple(pairs))


def _column_renames(old: Table, new: Table, spec: ResourceSpec) -> tuple[tuple[str, str], ...]:
    """Old column → new column for fields with a `renamed_from` that still applies."""
    old_names = {c.name for c in old.columns}
    by_field = {c.field: c.name for c in old.columns if c.field}
    renames: dict[str, str] = {}
    for column in new.columns:
        source = spec.fields[column.field].renamed_from if column.field else None
        if source is None or column.name in old_names:
            continue  # not renamed, or already renamed by an earlier migration
        old_name = by_field.get(source) or (source if source in old_names else None)
        if old_name and old_name not in renames and old_name not in FIXED_COLUMNS:
            renames[old_name] = column.name
    return tuple(renames.items())


# --- diffing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Alter:
    old: Column  # under its new name
    new: Column

    @property
    def type_changed(self) -> bool:
        return self.old.type != self.new.type


Named = tuple[str, Index]
NamedFk = tuple[str, ForeignKey]
NamedCheck = tuple[str, Check]


@dataclass(frozen=True)
class TableDiff:
    old: Table
    new: Table
    dropped_fks: tuple[NamedFk, ...]  # first: before any column changes
    renamed: tuple[tuple[Column, str], ...]
    early_index_drops: tuple[Named, ...]  # before the column changes
    dropped: tuple[Column, ...]
    added: tuple[Column, ...]
    altered: tuple[Alter, ...]
    created_indexes: tuple[Named, ...]
    late_index_drops: tuple[Named, ...]  # after the creates (MySQL keeps FKs indexed)
    created_fks: tuple[NamedFk, ...]
    matched: tuple[tuple[Column, Column], ...] = ()  # (old, under its old name; new) fields
    dropped_checks: tuple[NamedCheck, ...] = ()  # first, with the foreign keys
    created_checks: tuple[NamedCheck, ...] = ()  # last, once rows are rewritten
    rewrites: tuple[Rewrite, ...] = ()  # rows brought into the new schema
    guards: tuple[Guard, ...] = ()  # tests before the migration changes anything

    @property
    def empty(self) -> bool:
        return not any((
            self.dropped_fks, self.renamed, self.early_index_drops, self.dropped, self.added,
            self.altered, self.created_indexes, self.late_index_drops, self.created_fks,
            self.dropped_checks, self.created_checks, self.rewrites, self.guards,
        ))  # fmt: skip


@dataclass(frozen=True)
class Changes:
    renamed: tuple[tuple[Table, Table], ...]  # tables whose name changes
    created: tuple[Table, ...]  # parents first
    altered: tuple[TableDiff, ...]
    dropped: tuple[Table, ...]  # children first

    @property
    def empty(self) -> bool:
        return not (self.renamed or self.created or self.altered or self.dropped)


def diff(matching: Matching) -> Changes:
    table_renames = {p.old.name: p.new.name for p in matching.pairs}
    altered = (_diff_pair(p, table_renames) for p in matching.pairs)
    return Changes(
        renamed=tuple((p.old, p.new) for p in matching.pairs if p.old.name != p.new.name),
        created=matching.created,
        altered=tuple(d for d in altered if not d.empty),
        dropped=tuple(reversed(matching.dropped)),
    )


def _diff_pair(pair: Pair, table_renames: Mapping[str, str]) -> TableDiff:
    old, new = pair.old, pair.new
    renames = dict(pair.renames)

    def moved(name: str) -> str:
        return renames.get(name, name)

    before = {moved(c.name): c for c in old.columns}
    after = {c.name: c for c in new.columns}
    altered = tuple(
        Alter(replace(before[c.name], name=c.name), c)
        for c in new.columns
        if c.name in before
        and (before[c.name].type, before[c.name].nullable) != (c.type, c.nullable)
    )

    old_indexes = {
        old.index_name(i): replace(i, columns=tuple(map(moved, i.columns))) for i in old.indexes
    }
    new_indexes = {new.index_name(i): i for i in new.indexes}
    kept = {name for name, index in old_indexes.items() if new_indexes.get(name) == index}
    index_drops = [(n, i) for n, i in old_indexes.items() if n not in kept]
    # Before column changes: indexes on dropped columns, on retyped ones (MySQL cannot
    # keep a plain index on TEXT), and those whose name a new index takes over.
    retyped = {a.new.name for a in altered if a.type_changed}
    unsafe = {name for name in before if name not in after} | retyped
    early = [(n, i) for n, i in index_drops if unsafe.intersection(i.columns) or n in new_indexes]

    old_fks = {
        old.fk_name(fk): replace(
            fk, column=moved(fk.column), target=table_renames.get(fk.target, fk.target)
        )
        for fk in old.foreign_keys
    }
    new_fks = {new.fk_name(fk): fk for fk in new.foreign_keys}
    kept_fks = {name for name, fk in old_fks.items() if new_fks.get(name) == fk}
    matched = tuple((c, after[moved(c.name)]) for c in old.columns if moved(c.name) in after)
    created_indexes = tuple((n, i) for n, i in new_indexes.items() if n not in kept)
    return TableDiff(
        old=old,
        new=new,
        dropped_fks=tuple(
            (old.fk_name(fk), fk) for fk in old.foreign_keys if old.fk_name(fk) not in kept_fks
        ),
        renamed=tuple((c, renames[c.name]) for c in old.columns if c.name in renames),
        early_index_drops=tuple(early),
        dropped=tuple(c for name, c in before.items() if name not in after),
        added=tuple(c for c in new.columns if c.name not in before),
        altered=altered,
        created_indexes=created_indexes,
        late_index_drops=tuple(d for d in index_drops if d not in early),
        created_fks=tuple((n, fk) for n, fk in new_fks.items() if n not in kept_fks),
        matched=tuple((a, b) for a, b in matched if a.field and b.field),
        **_check_changes(old, new, moved),
        **_row_rules(old, matched, created_indexes, index_drops),
    )


def _check_changes(old: Table, new: Table, moved: Any) -> dict[str, Any]:
    """CHECK constraints to drop and create: every one whose name or condition changes."""
    before = {old.check_name(c): replace(c, column=moved(c.column)) for c in old.checks}
    after = {new.check_name(c): c for c in new.checks}
    kept = {name for name, check in before.items() if after.get(name) == check}
    return {
        "dropped_checks": tuple((n, c) for n, c in before.items() if n not in kept),
        "created_checks": tuple((n, c) for n, c in after.items() if n not in kept),
    }


def _row_rules(
    old: Table,
    matched: tuple[tuple[Column, Column], ...],
    created_indexes: tuple[Named, ...],
    index_drops: list[Named],
) -> dict[str, Any]:
    """Rewrites and guards that keep existing rows inside each column's new schema."""
    rewrites: list[Rewrite] = []
    guards: list[Guard] = []
    for before, after in matched:
        if before.spec is None or after.spec is None:
            continue
        narrows = before.type != after.type and may_lose_data(before.type, after.type)
        (a, a_size), (b, b_size) = parse_type(before.type), parse_type(after.type)
        shorter = b_size[0] if a == b == "String" and b_size < a_size else None
        backfill = value_expression(after.kind, after.spec.backfill) if after.has_backfill else None
        change = ColumnChange(old.name, before.name, before, after, backfill, narrows, shorter)
        more = row_rules(change, py_literal)
        rewrites += more[0]
        guards += more[1]
        if before.nullable and not after.nullable and after.kind == "ref":
            guards.append(null_guard(old.name, before.name, py_literal))
    was = {after.name: before.name for before, after in matched}
    uniques_before = {i.columns for _, i in index_drops if i.unique}
    for _, index in created_indexes:
        column = index.columns[0]
        if index.unique and column in was and index.columns not in uniques_before:
            guards.append(duplicate_guard(old.name, was[column]))
    return {"rewrites": tuple(rewrites), "guards": tuple(guards)}


# --- describing changes -------------------------------------------------------------


def describe(changes: Changes) -> Iterator[str]:
    """One line per change, in the order upgrade() makes them."""
    for old, new in changes.renamed:
        yield f"rename table {old.name} to {new.name}"
    for table in changes.created:
        yield f"create table {table.name}"
    for d in changes.altered:
        yield from _table_summary(d)
    for table in changes.dropped:
        yield f"drop table {table.name}"


def _table_summary(d: TableDiff) -> Iterator[str]:
    t = d.new.name
    for name, _ in d.dropped_fks:
        yield f"drop foreign key {name}"
    for column, new_name in d.renamed:
        yield f"rename column {t}.{column.name} to {new_name}"
    dropped = dict(d.early_index_drops + d.late_index_drops)
    renamed = {
        n: next(o for o, i in dropped.items() if i == index)
        for n, index in d.created_indexes
        if index in dropped.values()
    }
    for name, index in dropped.items():
        if name not in renamed.values():
            yield f"drop {_index_kind(index)} {name}"
    for column in d.dropped:
        yield f"drop column {t}.{column.name}"
    for column in d.added:
        fill = fill_for(column, placeholder=False)
        if column.nullable or fill is None:
            yield f"add column {t}.{column.name}"
        else:
            source = "the current time" if column.kind == "timestamp" else _source(column)
            yield f"add column {t}.{column.name}, filled with {source}"
    for a in d.altered:
        if a.type_changed:
            old, new = human_type(a.old.type), human_type(a.new.type)
            yield f"change {t}.{a.new.name} from {old} to {new}"
        if a.new.nullable and not a.old.nullable:
            yield f"make {t}.{a.new.name} nullable"
        elif a.old.nullable and not a.new.nullable:
            fill = fill_for(a.new, placeholder=False)
            how = f"NULLs get {_source(a.new)}" if fill else "fails while it holds NULLs"
            yield f"make {t}.{a.new.name} NOT NULL ({how})"
    for name, index in d.created_indexes:
        if name in renamed:
            yield f"rename {_index_kind(index)} {renamed[name]} to {name}"
        else:
            yield f"add {_index_kind(index)} {name}"
    for name, fk in d.created_fks:
        yield f"add foreign key {name} ({t}.{fk.column} → {fk.target}.id, ON DELETE {fk.ondelete})"
    yield from _check_summary(d)


def _check_summary(d: TableDiff) -> Iterator[str]:
    t = d.new.name
    for rewrite in d.rewrites:
        yield f"rewrite {t}.{rewrite.column}: {rewrite.note}"
    created = {name for name, _ in d.created_checks}
    for name, _ in d.dropped_checks:
        if name not in created:
            yield f"drop check constraint {name}"
    replaced = {name for name, _ in d.dropped_checks}
    for name, _ in d.created_checks:
        yield f"{'replace' if name in replaced else 'add'} check constraint {name}"
    for guard in d.guards:
        yield f"check existing rows: {guard.table}.{guard.column} {guard.rule}"


def _source(column: Column) -> str:
    return "its backfill" if column.has_backfill else "its default"


def _index_kind(index: Index) -> str:
    return "unique constraint" if index.unique else "index"


def slug(changes: Changes) -> str:
    """A short file name part naming the first changes: `add_books_subtitle`."""
    groups = [f"rename_{old.name}_to_{new.name}" for old, new in changes.renamed]
    if changes.created:
        groups.append("create_" + "_".join(t.name for t in changes.created))
    for d in changes.altered:
        parts = [
            ("add", [c.name for c in d.added]),
            ("rename", [c.name for c, _ in d.renamed]),
            ("drop", [c.name for c in d.dropped]),
            ("alter", [a.new.name for a in d.altered]),
        ]
        named = [f"{verb}_{d.new.name}_{'_'.join(columns)}" for verb, columns in parts if columns]
        checks = d.dropped_checks or d.created_checks
        what = "constraints" if d.dropped_fks or d.created_fks or checks else "index"
        renamed_table = d.old.name != d.new.name  # its rename already names it
        groups += named or ([] if renamed_table else [f"{what}_{d.new.name}"])
    if changes.dropped:
        groups.append("drop_" + "_".join(t.name for t in changes.dropped))
    return _join(groups, SLUG_LENGTH)


def _join(groups: list[str], limit: int) -> str:
    """The groups joined within `limit`, ending in `_and_more` if some are left out."""
    if len("_".join(groups)) <= limit:
        return "_".join(groups)
    limit -= len("_and_more")
    kept = [group for i, group in enumerate(groups) if len("_".join(groups[: i + 1])) <= limit]
    return "_".join(kept or [_cut(groups[0], limit)]) + "_and_more"


def _cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, at a word boundary where there is one."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    return head[: head.rindex("_")] if "_" in head else text[:limit]


# --- types --------------------------------------------------------------------------

_TYPE = re.compile(r"^(?:sa\.)?(\w+)\((.*)\)$")
STRING_TYPES = frozenset({"String", "Text"})
NUMBER_TYPES = frozenset({"Integer", "BigInteger", "Numeric", "Double"})
# Digits before the decimal point that an integer type needs.
INTEGER_DIGITS = {"Integer": 10, "BigInteger": 19}
LOSSLESS = frozenset({("Boolean", "Integer"), ("Boolean", "BigInteger"), ("Date", "UTCDateTime")})
PG_TYPES = {
    "Text": "text", "Integer": "integer", "BigInteger": "bigint", "Double": "double precision",
    "Boolean": "boolean", "Date": "date", "UTCDateTime": "timestamp with time zone",
    "Uuid": "uuid", "JSON": "json",
}  # fmt: skip


def parse_type(expression: str) -> tuple[str, tuple[int, ...]]:
    """`sa.Numeric(precision=10, scale=2)` → ("Numeric", (10, 2))."""
    found = _TYPE.match(expression)
    if not found:
        return expression, ()
    params = tuple(int(p.split("=")[-1]) for p in found.group(2).split(",") if p.strip())
    return found.group(1), params


def human_type(expression: str) -> str:
    name, params = parse_type(expression)
    name = "DateTime" if name == "UTCDateTime" else name
    return f"{name}({', '.join(map(str, params))})" if params else name


def may_lose_data(old: str, new: str) -> bool:
    """Whether converting every value of type `old` to `new` can lose or refuse some."""
    (a, a_params), (b, b_params) = parse_type(old), parse_type(new)
    if (a, a_params) == (b, b_params) or b == "Text" or (a, b) in LOSSLESS:
        return False
    if a == b == "String":
        return b_params < a_params
    if a == b == "Numeric":
        (p, s), (p2, s2) = a_params, b_params
        return s2 < s or p2 - s2 < p - s
    if a in INTEGER_DIGITS and b in {"BigInteger", "Double"}:
        return a == "BigInteger" and b == "Double"
    if a in INTEGER_DIGITS and b == "Numeric":
        return b_params[0] - b_params[1] < INTEGER_DIGITS[a]
    return True


def postgresql_using(column: str, old: str, new: str) -> str | None:
    """The USING clause PostgreSQL needs for a type change without an assignment cast."""
    a, b = parse_type(old)[0], parse_type(new)[0]
    implicit = (
        a == b
        or b in STRING_TYPES  # PostgreSQL converts anything to text by assignment
        or (a in NUMBER_TYPES and b in NUMBER_TYPES)
        or {a, b} == {"Date", "UTCDateTime"}
    )
    if implicit:
        return None
    name, params = parse_type(new)
    target = f"numeric({params[0]}, {params[1]})" if name == "Numeric" else PG_TYPES[name]
    via = "::text" if a == "JSON" else ""  # json has no casts but to text
    return f'"{column}"{via}::{target}'


# --- filling NOT NULL columns -------------------------------------------------------


@dataclass(frozen=True)
class Fill:
    """How rows get a value for a column that becomes NOT NULL."""

    value: str  # Python expression of the value, bound by an UPDATE
    server_default: str | None  # a portable literal, for `server_default=` when adding
    placeholder: bool = False  # not the spec's value: a stand-in for lost data


def fill_for(column: Column, *, placeholder: bool) -> Fill | None:
    """The field's backfill, else its default; with `placeholder`, a neutral value if none."""
    if column.kind == "timestamp":
        return Fill(NOW, None)
    if column.has_backfill and column.spec is not None:
        return _fill(column.kind, column.spec.backfill, placeholder=False)
    if column.has_default and column.default is not None:
        return _fill(column.kind, column.default, placeholder=False)
    if not placeholder or column.kind in {"ref", "id"}:
        return None
    value = column.first_value if column.kind == "enum" else PLACEHOLDERS[column.kind]
    return _fill(column.kind, value, placeholder=True)


def _fill(kind: str, value: Any, *, placeholder: bool) -> Fill:
    literal: str | None = None
    if kind in LITERAL_DEFAULT_TYPES:
        if kind == "bool":
            literal = "sa.true()" if value else "sa.false()"
        elif kind == "date":
            literal = py_literal(datetime.date.fromisoformat(str(value)).isoformat())
        elif kind == "decimal":
            literal = py_literal(str(Decimal(str(value))))
        else:
            literal = py_literal(str(value))
    return Fill(value_expression(kind, value), literal, placeholder)


def value_expression(kind: str, value: Any) -> str:
    """A Python expression of `value` for a column of spec type `kind`."""
    constructors = {
        "decimal": "decimal.Decimal",
        "date": "datetime.date.fromisoformat",
        "datetime": "datetime.datetime.fromisoformat",
        "uuid": "uuid.UUID",
    }
    if kind in constructors:
        text = str(Decimal(str(value))) if kind == "decimal" else str(value)
        return f"{constructors[kind]}({py_literal(text)})"
    if kind == "float":
        return repr(float(value))
    return py_literal(value)


def py_literal(value: Any) -> str:
    """A Python literal quoted the way `ruff format` writes it (double quotes preferred)."""
    if isinstance(value, str):
        quote = "'" if value.count('"') > value.count("'") else '"'
        body = "".join(_escape(char, quote) for char in value)
        return f"{quote}{body}{quote}"
    if isinstance(value, list):
        return f"[{', '.join(py_literal(v) for v in value)}]"
    if isinstance(value, dict):
        items = ", ".join(f"{py_literal(k)}: {py_literal(v)}" for k, v in value.items())
        return f"{{{items}}}"
    return repr(value)


def _escape(char: str, quote: str) -> str:
    if char in {"\\", quote}:
        return "\\" + char
    if char.isprintable():
        return char
    return repr(char)[1:-1]
