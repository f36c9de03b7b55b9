"""Spec changes that may leave rows outside a field's schema, and what a migration does.

A change *narrows* a field when a value valid before may be invalid after: an enum value
removed (and not mapped by `renamed_values`), a bound raised or lowered, a length limit
tightened, a pattern added or changed, a column made unique or required. Narrowing is
destructive (refused without `--allow-destructive`); an enum rename mapped by
`renamed_values` is not: the migration rewrites the rows. Once allowed, a migration never
leaves rows outside the schema: rows breaking a rule the database can test get the
field's `backfill` when it has one; otherwise the upgrade stops before it changes
anything, naming how many rows break which rule (a *guard*).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .model import Check

if TYPE_CHECKING:
    from .migration_ops import Column
    from .spec import FieldSpec

ToLiteral = Callable[[Any], str]  # writes a value as a Python literal
LOWER = (("ge", False), ("gt", True))  # (option, strict)
UPPER = (("le", False), ("lt", True))


@dataclass(frozen=True)
class Rewrite:
    """An UPDATE that brings rows into a column's new schema."""

    column: str  # its name after the migration's renames
    where: str  # Python expression (`sa.` prefixed) selecting the rows
    value: str  # Python expression of what they get
    early: bool  # before the column's type changes (the type narrows), else after
    note: str  # what and why, for the module's comment and the summary


@dataclass(frozen=True)
class Guard:
    """A test before the upgrade changes anything: stop while rows break `rule`.

    `kind` "rows": `keep` is a SQL condition (`sa.` expression) of the rows to keep;
    "values": `keep` is a function of one value, for rules SQL cannot test portably
    (patterns, list lengths), with `column_type` to decode the values; "duplicates".
    """

    table: str  # names before the migration
    column: str
    rule: str
    keep: str = ""
    kind: str = "rows"
    column_type: str | None = None


# --- what narrows -------------------------------------------------------------------


def narrowed(old: FieldSpec, new: FieldSpec) -> list[str]:
    """How `new` narrows `old`, one description (old → new) per rule."""
    return [*_enum_narrowing(old, new), *_bound_narrowing(old, new), *_length_narrowing(old, new)]


def _enum_narrowing(old: FieldSpec, new: FieldSpec) -> Iterator[str]:
    if new.type != "enum":
        return
    values = ", ".join(new.values or ())
    if old.type != "enum":
        yield f"type {old.type} → enum of {values}"
        return
    mapped = set(new.renamed_values or {})
    removed = [v for v in old.values or () if v not in (new.values or ()) and v not in mapped]
    if removed:
        before = ", ".join(old.values or ())
        yield f"enum values {before} → {values} (removed: {', '.join(removed)})"


def _bound_narrowing(old: FieldSpec, new: FieldSpec) -> Iterator[str]:
    for options, sign in ((LOWER, 1), (UPPER, -1)):
        before, after = _bound(old, options, sign), _bound(new, options, sign)
        if after is None:
            continue
        if before is not None:
            (old_key, old_strict), (new_key, new_strict) = before[0], after[0]
            moved = sign * (new_key - old_key)
            if moved < 0 or (moved == 0 and new_strict <= old_strict):
                continue
        shown = f"{before[1]}: {before[2]}" if before else f"no {options[0][0]}/{options[1][0]}"
        yield f"{shown} → {after[1]}: {after[2]}"


def _bound(field: FieldSpec, options: tuple[tuple[str, bool], ...], sign: int) -> Any:
    """((value, strict), option, bound) of a field's lower (sign 1) or upper (-1) bound.

    An integer's strict bound is the next integer's inclusive one (`gt: 0` is `ge: 1`).
    """
    for option, strict in options:
        bound = getattr(field, option)
        if bound is None:
            continue
        if field.type in {"int", "bigint"} and strict:
            return ((bound + sign, False), option, bound)
        return ((bound, strict), option, bound)
    return None


def _length_narrowing(old: FieldSpec, new: FieldSpec) -> Iterator[str]:
    if (new.min_length or 0) > (old.min_length or 0):
        yield f"min_length {old.min_length or 0} → {new.min_length}"
    # A str, email or url column's length is its type: the type change says so already.
    limited = new.type in {"text", "list[str]", "list[int]"} and new.max_length is not None
    if limited and (old.max_length is None or new.max_length < old.max_length):  # type: ignore[operator]
        yield f"max_length {old.max_length or 'none'} → {new.max_length}"
    if new.pattern is not None and new.pattern != old.pattern:
        shown = repr(old.pattern) if old.pattern else "none"
        yield f"pattern {shown} → {new.pattern!r}"


# --- what the migration does --------------------------------------------------------


def value_renames(old: Column, new: Column) -> dict[str, str]:
    """Enum values to rewrite: `renamed_values` of the new field, or undone going back."""
    old_values = set(old.spec.values or ()) if old.spec and old.kind == "enum" else set()
    new_values = set(new.spec.values or ()) if new.spec and new.kind == "enum" else set()
    forward = new.spec.renamed_values if new.spec else None
    backward = old.spec.renamed_values if old.spec else None
    renames = {a: b for a, b in (forward or {}).items() if a in old_values and b in new_values}
    renames |= {
        b: a
        for a, b in (backward or {}).items()
        if a in new_values and b in old_values and b not in new_values
    }
    return renames


@dataclass(frozen=True)
class ColumnChange:
    """One column in both specs, as `row_rules` needs it."""

    table: str  # the table's name before the migration
    name: str  # the column's name before the migration
    old: Column
    new: Column
    backfill: str | None  # Python expression of the new field's backfill, if it has one
    type_narrows: bool  # the column type loses room: rewrites go before it changes
    max_chars: int | None  # the new length of a string column that gets shorter


def row_rules(change: ColumnChange, literal: ToLiteral) -> tuple[list[Rewrite], list[Guard]]:
    """The rewrites and guards that keep the rows of a column inside its new schema."""
    rewrites = _renamed_value_rewrites(change, literal)
    check_rewrites, guards = _check_rules(change, literal)
    length_rewrites, length_guards = _length_rules(change, literal)
    old, new = change.old.spec, change.new.spec
    assert old is not None and new is not None
    if change.old.kind == change.new.kind:
        guards += _scan_guards(change.table, change.name, old, new, change.old.type, literal)
    return rewrites + check_rewrites + length_rewrites, guards + length_guards


def _renamed_value_rewrites(change: ColumnChange, literal: ToLiteral) -> list[Rewrite]:
    column = _column(change.new.name, literal)
    return [
        Rewrite(
            change.new.name,
            f"{column} == {literal(a)}",
            literal(b),
            early=change.type_narrows,
            note=f"{a!r} becomes {b!r}",
        )
        for a, b in value_renames(change.old, change.new).items()
    ]


def _check_rules(change: ColumnChange, literal: ToLiteral) -> tuple[list[Rewrite], list[Guard]]:
    """Rows that the new CHECK would refuse: rewritten to the backfill, or a guard."""
    old, new, check = change.old, change.new, change.new.check
    assert old.spec is not None and new.spec is not None
    tightened = bool(narrowed(old.spec, new.spec)) or old.check is None
    if check is None or not tightened or old.check == check:
        return [], []
    if change.backfill is not None:
        where = f"sa.not_({check.expression('sa.', literal)})"
        note = f"values outside the new schema get the backfill {new.spec.backfill!r}"
        return [Rewrite(new.name, where, change.backfill, change.type_narrows, note)], []
    if old.kind != new.kind:  # the old values cannot be compared: the new CHECK will refuse
        return [], []
    kept = replace(check, column=change.name, values=_with_renamed(check, old, new))
    return [], [Guard(change.table, change.name, _rule(check), kept.expression("sa.", literal))]


def _length_rules(change: ColumnChange, literal: ToLiteral) -> tuple[list[Rewrite], list[Guard]]:
    """A shorter string column: SQLite would keep longer values, others refuse less clearly."""
    limit, new = change.max_chars, change.new
    if limit is None or new.kind == "enum":  # an enum's CHECK covers its length
        return [], []
    fits = f"sa.func.char_length({{}}) <= {limit}"
    if change.backfill is not None:
        where = f"sa.not_({fits.format(_column(new.name, literal))})"
        note = f"values longer than {limit} characters get the backfill"
        return [Rewrite(new.name, where, change.backfill, early=True, note=note)], []
    if change.old.kind != new.kind:
        return [], []
    rule = f"must be at most {limit} characters long"
    return [], [Guard(change.table, change.name, rule, fits.format(_column(change.name, literal)))]


def _with_renamed(check: Check, old: Column, new: Column) -> tuple[str, ...]:
    """Enum values rows may hold before the rewrites: the new ones and the renamed ones."""
    renamed = [v for v in value_renames(old, new) if v not in check.values]
    return (*check.values, *renamed) if check.values else ()


def _scan_guards(
    table: str, column: str, old: FieldSpec, new: FieldSpec, column_type: str, literal: ToLiteral
) -> Iterator[Guard]:
    """Rules SQL cannot test on every database: patterns and list lengths, tested in Python."""
    if new.pattern is not None and new.pattern != old.pattern:
        keep = f"lambda value: re.search({literal(new.pattern)}, value) is not None"
        yield Guard(table, column, f"must match {new.pattern!r}", keep, "values", column_type)
    listed = new.type in {"list[str]", "list[int]"}
    if listed and new.max_length is not None and new.max_length < (old.max_length or 2**63):
        keep = f"lambda value: len(value) <= {new.max_length}"
        yield Guard(
            table,
            column,
            f"must hold at most {new.max_length} item(s)",
            keep,
            "values",
            column_type,
        )
    if listed and (new.min_length or 0) > (old.min_length or 0):
        keep = f"lambda value: len(value) >= {new.min_length}"
        yield Guard(
            table,
            column,
            f"must hold at least {new.min_length} item(s)",
            keep,
            "values",
            column_type,
        )


def null_guard(table: str, column: str, literal: ToLiteral) -> Guard:
    """Stop while a column that becomes NOT NULL without a fill holds NULLs (a ref)."""
    return Guard(table, column, "must not be empty", f"{_column(column, literal)}.is_not(None)")


def duplicate_guard(table: str, column: str) -> Guard:
    """Stop while a column that becomes unique holds a value twice."""
    return Guard(table, column, "must be unique", kind="duplicates")


def _column(name: str, literal: ToLiteral) -> str:
    return f"sa.column({literal(name)})"


def _rule(check: Check) -> str:
    parts = [f"be one of {', '.join(check.values)}"] * bool(check.values)
    parts += [f"be {op} {bound}" for op, bound in check.bounds]
    parts += [f"have a length {op} {n}" for op, n in check.lengths]
    return "must " + " and ".join(parts)
