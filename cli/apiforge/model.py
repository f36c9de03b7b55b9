"""The derived model: everything templates need, computed once from the spec.

Templates stay dumb (STYLE §2): each field already knows its Python attribute and
JSON name, its SQLAlchemy and migration column expressions, its Pydantic annotation
per schema, and sample values for the generated tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .escape import python_literal
from .naming import humanize, is_keyword, pascal, python_name
from .samples import sample_expression
from .spec import UNINDEXABLE_TYPES, FieldSpec, ResourceSpec, Spec
from .state import SCHEMA_RULES

ON_DELETE_SQL = {"cascade": "CASCADE", "restrict": "RESTRICT", "set_null": "SET NULL"}
DEFAULT_STRING_LENGTH = 255
EMAIL_LENGTH = 320
URL_LENGTH = 2083
# For generated tests: a value of the wrong kind for each type (json accepts anything).
INVALID_VALUES = {
    "str": "12345",
    "text": "12345",
    "email": '"not-an-email"',
    "url": '"not a url"',
    "int": '"not-a-number"',
    "bigint": '"not-a-number"',
    "float": '"not-a-number"',
    "decimal": '"not-a-number"',
    "bool": '"maybe"',
    "date": '"not-a-date"',
    "datetime": '"not-a-datetime"',
    "uuid": '"not-a-uuid"',
    "enum": '"not-a-choice"',
    "list[str]": '"not-a-list"',
    "list[int]": '["x"]',
    "ref": '"not-an-id"',
}
INTEGER_RANGES = {"int": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}


@dataclass(frozen=True)
class Check:
    """What the database enforces of a field beyond its column type: CHECK ck_<table>_<column>.

    Enum values, numeric bounds and string lengths, so rows written around the API obey the
    schema too. Written as a SQLAlchemy expression (`column(...)` compiles with each
    database's quoting, `func.char_length` as SQLite's `length`); the models write it plain
    and migrations with `sa.`, from this one description.
    """

    column: str
    values: tuple[str, ...] = ()  # an enum's
    bounds: tuple[tuple[str, Any], ...] = ()  # (">=", 1), ...
    lengths: tuple[tuple[str, int], ...] = ()  # (">=", 1), ... of the character length

    def expression(self, prefix: str = "", literal: Callable[[Any], str] = python_literal) -> str:
        column = f"{prefix}column({literal(self.column)})"
        terms = [f"{column}.in_([{', '.join(map(literal, self.values))}])"] * bool(self.values)
        terms += [f"{column} {op} {_number(bound)}" for op, bound in self.bounds]
        terms += [f"{prefix}func.char_length({column}) {op} {n}" for op, n in self.lengths]
        return terms[0] if len(terms) == 1 else f"{prefix}and_({', '.join(terms)})"


def _number(value: Any) -> str:
    return f'decimal.Decimal("{value}")' if isinstance(value, Decimal) else repr(value)


BOUND_OPERATORS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}


def field_check(field: FieldSpec, column: str) -> Check | None:
    """The CHECK a field's column gets, if its spec constrains it."""
    values = tuple(field.values or ()) if field.type == "enum" else ()
    bounds = tuple(
        (op, getattr(field, option))
        for option, op in BOUND_OPERATORS.items()
        if getattr(field, option) is not None
    )
    # A str column's VARCHAR holds its max_length already; a text column has no limit.
    longest = field.max_length if field.type == "text" else None
    lengths: tuple[tuple[str, int], ...] = ()
    if field.type in {"str", "text"}:
        lengths = tuple((op, n) for op, n in ((">=", field.min_length), ("<=", longest)) if n)
    if not (values or bounds or lengths):
        return None
    return Check(column, values, bounds, lengths)


@dataclass(frozen=True)
class FieldModel:
    name: str  # as in the spec
    key: str  # JSON property and column name (`author_id` for a ref `author`)
    attr: str  # Python attribute: `key`, or `key_` for keywords and shadowing names
    type: str
    required: bool  # clients must send it on create / full update
    nullable: bool
    default: str | None  # Python literal of the default, when the spec gives one
    unique: bool
    index: bool
    description: str | None
    read_only: bool
    write_only: bool
    filter: str | None  # "exact", "range" or None
    search: bool
    sort: bool
    model_type: str  # annotation inside Mapped[...]
    column_type: str  # SQLAlchemy type expression in models (from sqlalchemy import ...)
    migration_type: str  # the same type in a migration (`sa.` prefixed)
    foreign_key: str | None  # "authors.id"
    on_delete: str | None  # "CASCADE"
    value_type: str  # Pydantic annotation of the value (constraints included)
    read_type: str  # Pydantic annotation in the read schema (no input constraints)
    filter_type: str  # annotation of one filter value in the list query
    ref_target: str | None  # the referenced resource's name
    sample: str  # expression of `n` for a create payload
    sample_update: str  # expression of `n` for an update payload
    invalid: str | None  # a JSON value (as Python) the API must reject with 422
    check: Check | None  # what the database enforces beyond the column type

    @property
    def aliased(self) -> bool:
        return self.attr != self.key

    @property
    def sort_index(self) -> bool:
        """Sorted pages are keyed by (this, id): one index on both serves them in order,
        however many rows share a value (an index on this column alone leaves each page
        to sort every row of the value by id)."""
        return self.index and self.sort

    def index_columns(self, rules: int = SCHEMA_RULES) -> tuple[str, ...]:
        """The columns of this field's index under schema `rules` (see `state.SCHEMA_RULES`):
        rules 1 gave a sorted field an index of its own."""
        return (self.key, "id") if self.sort_index and rules >= 2 else (self.key,)

    @property
    def writable(self) -> bool:
        return not self.read_only

    @property
    def readable(self) -> bool:
        return not self.write_only


@dataclass(frozen=True)
class ChildLink:
    """A ref from another resource to this one: the nested `GET /parents/{id}/children`."""

    resource: ResourceModel
    field: FieldModel


@dataclass(frozen=True)
class ResourceModel:
    name: str
    module: str  # module name inside models/, schemas/ ... (`order_`, say, if needed)
    class_name: str  # `Book`
    plural: str
    table: str
    path: str  # URL path segment
    title: str  # human singular, e.g. "order item"
    title_plural: str
    description: str | None
    id_type: str  # "int" | "uuid"
    id_model_type: str  # "int" | "uuid.UUID"
    timestamps: bool
    actions: tuple[str, ...]
    pagination: str
    fields: tuple[FieldModel, ...]
    var: str  # a safe local variable name for one instance

    def has(self, action: str) -> bool:
        return action in self.actions

    @property
    def a_title(self) -> str:
        """The title with its indefinite article: "a book", "an author"."""
        return f"{'an' if self.title[:1] in 'aeio' else 'a'} {self.title}"

    @property
    def writable_fields(self) -> tuple[FieldModel, ...]:
        return tuple(f for f in self.fields if f.writable)

    @property
    def readable_fields(self) -> tuple[FieldModel, ...]:
        return tuple(f for f in self.fields if f.readable)

    @property
    def refs(self) -> tuple[FieldModel, ...]:
        return tuple(f for f in self.fields if f.ref_target)

    @property
    def filters(self) -> tuple[FieldModel, ...]:
        return tuple(f for f in self.fields if f.filter)

    @property
    def search_fields(self) -> tuple[FieldModel, ...]:
        return tuple(f for f in self.fields if f.search)

    @property
    def sort_fields(self) -> tuple[FieldModel, ...]:
        return tuple(f for f in self.fields if f.sort)

    @property
    def read_keys(self) -> tuple[str, ...]:
        """The JSON properties a read returns, in order."""
        stamps = ("created_at", "updated_at") if self.timestamps else ()
        return ("id", *(f.key for f in self.readable_fields), *stamps)

    @property
    def sort_keys(self) -> tuple[str, ...]:
        extra = ("created_at",) if self.timestamps else ()
        return ("id", *extra, *(f.key for f in self.sort_fields))

    @property
    def testable_filters(self) -> tuple[FieldModel, ...]:
        """Filters on fields that test payloads always set (optional refs are left out)."""
        return tuple(f for f in self.filters if not (f.ref_target and not f.required))

    @property
    def shown_fields(self) -> tuple[FieldModel, ...]:
        """Fields a client both sends and gets back: what tests compare."""
        return tuple(f for f in self.fields if f.writable and f.readable)

    @property
    def unique_fields(self) -> tuple[FieldModel, ...]:
        return tuple(f for f in self.writable_fields if f.unique)

    @property
    def invalid_field(self) -> FieldModel | None:
        return next((f for f in self.writable_fields if f.invalid), None)

    @property
    def patch_field(self) -> FieldModel | None:
        """A field that PATCH tests change (not a ref: that needs another parent)."""
        return next((f for f in self.shown_fields if not f.ref_target), None)


@dataclass(frozen=True)
class ServiceModel:
    name: str
    package: str
    title: str
    description: str | None
    version: str
    api_prefix: str
    database: str
    resources: tuple[ResourceModel, ...]  # in dependency order: parents first
    children: dict[str, tuple[ChildLink, ...]]  # parent name → links to it

    @property
    def uses_encode(self) -> bool:
        """Whether generated test factories need `encode` (for pattern fields)."""
        return any("encode(" in f.sample for r in self.resources for f in r.fields)

    @property
    def database_probe_path(self) -> str | None:
        """A route that needs the database, for the generated 503 test."""
        for r in self.resources:
            if r.has("list"):
                return f"{self.api_prefix}/{r.path}"
        for r in self.resources:
            if r.has("retrieve"):
                missing = "00000000-0000-4000-8000-000000000001" if r.id_type == "uuid" else "1"
                return f"{self.api_prefix}/{r.path}/{missing}"
        return None

    def resource(self, name: str) -> ResourceModel:
        return next(r for r in self.resources if r.name == name)


def derive(spec: Spec) -> ServiceModel:
    """The model templates render. A field whose Python attribute would clash with a
    name the generated code uses (`classmethod`, an inherited `schema`) gets an alias,
    as keywords do: which ones is read from the templates themselves."""
    service = _derive(spec, aliased=frozenset())
    from .template_names import analyse  # renders templates: imported when needed

    aliased = analyse(service).shadowing_fields(service)
    return _derive(spec, aliased=aliased) if aliased else service


def _derive(spec: Spec, *, aliased: frozenset[tuple[str, str]]) -> ServiceModel:
    order = _dependency_order(spec)
    resources = tuple(_derive_resource(spec, name, spec.resources[name], aliased) for name in order)
    children: dict[str, list[ChildLink]] = {r.name: [] for r in resources}
    for resource in resources:
        for field in resource.refs:
            if resource.has("list") and field.ref_target:
                children[field.ref_target].append(ChildLink(resource, field))
    service = spec.service
    return ServiceModel(
        name=service.name,
        package=service.package_name,
        title=service.display_title,
        description=service.description,
        version=service.version,
        api_prefix=service.api_prefix,
        database=service.database,
        resources=resources,
        children={name: tuple(links) for name, links in children.items()},
    )


def _dependency_order(spec: Spec) -> list[str]:
    """Resources sorted so that every referenced table comes before its referrers."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        for field in spec.resources[name].fields.values():
            if field.type == "ref" and field.to and field.to != name:
                visit(field.to)
        ordered.append(name)

    for name in spec.resources:
        visit(name)
    return ordered


def _derive_resource(
    spec: Spec, name: str, resource: ResourceSpec, aliased: frozenset[tuple[str, str]]
) -> ResourceModel:
    plural = spec.plural_of(name)
    fields = tuple(
        _derive_field(spec, field_name, field, alias=(name, field_name) in aliased)
        for field_name, field in resource.fields.items()
    )
    return ResourceModel(
        name=name,
        module=f"{name}_" if is_keyword(name) else name,
        class_name=pascal(name),
        plural=plural,
        table=plural,
        path=plural,
        title=humanize(name),
        title_plural=humanize(plural),
        description=resource.description,
        id_type=resource.id,
        id_model_type="uuid.UUID" if resource.id == "uuid" else "int",
        timestamps=resource.timestamps,
        actions=tuple(a for a in resource.actions),
        pagination=resource.pagination,
        fields=fields,
        var=python_name(name),
    )


def _derive_field(spec: Spec, name: str, field: FieldSpec, *, alias: bool) -> FieldModel:
    key = f"{name}_id" if field.type == "ref" else name
    target = spec.resources[field.to] if field.type == "ref" and field.to else None
    nullable = not field.required and not (field.has_default and field.default is not None)
    model_type, column_type, migration_type = _column_types(field, target)
    value_type = _value_type(spec, name, field, target)
    sample = "" if field.type == "ref" else sample_expression(name, field)
    sample_update = "" if field.type == "ref" else sample_expression(name, field, variant="new")
    return FieldModel(
        name=name,
        key=key,
        attr=f"{key}_" if alias else python_name(key),
        type=field.type,
        required=field.required and not field.has_default,
        nullable=nullable,
        default=_default_expression(field) if field.has_default else None,
        unique=field.unique,
        index=_wants_index(field),
        description=field.description,
        read_only=field.read_only,
        write_only=field.write_only,
        filter=("range" if field.filter == "range" else "exact") if field.filter else None,
        search=field.search,
        sort=field.sort,
        model_type=f"{model_type} | None" if nullable else model_type,
        column_type=column_type,
        migration_type=migration_type,
        foreign_key=f"{spec.plural_of(field.to)}.id" if field.to else None,
        on_delete=ON_DELETE_SQL[field.on_delete or "restrict"] if field.to else None,
        value_type=value_type,
        read_type=_read_type(field, target),
        filter_type=_filter_type(field, target),
        ref_target=field.to,
        sample=sample,
        sample_update=sample_update,
        invalid=INVALID_VALUES.get(field.type),
        check=field_check(field, key),
    )


def _wants_index(field: FieldSpec) -> bool:
    """Filtered, sorted and ref columns get an index; unique ones already have one."""
    if field.unique or field.type in UNINDEXABLE_TYPES:
        return False
    return field.index or bool(field.filter) or field.sort or field.type == "ref"


def _default_expression(field: FieldSpec) -> str:
    """The default as a Python expression of the field's own type."""
    value = field.default
    constructors = {
        "decimal": "decimal.Decimal",
        "date": "datetime.date.fromisoformat",
        "datetime": "datetime.datetime.fromisoformat",
        "uuid": "uuid.UUID",
    }
    if value is None or field.type not in constructors:
        return repr(value)
    text = str(Decimal(str(value))) if field.type == "decimal" else str(value)
    return f"{constructors[field.type]}({text!r})"


def _column_types(field: FieldSpec, target: ResourceSpec | None) -> tuple[str, str, str]:
    """(Mapped annotation, model column type, migration column type)."""
    kind = field.type
    if kind == "ref":
        assert target is not None
        if target.id == "uuid":
            return "uuid.UUID", "Uuid()", "sa.Uuid()"
        return "int", "Integer()", "sa.Integer()"
    if kind in {"str", "email", "url", "enum"}:
        length = {
            "email": field.max_length or EMAIL_LENGTH,
            "url": field.max_length or URL_LENGTH,
            "enum": max(len(v) for v in field.values or ("x",)),
        }.get(kind, string_length(field))
        return "str", f"String({length})", f"sa.String(length={length})"
    if kind == "decimal":
        precision, scale = decimal_size(field)
        return (
            "decimal.Decimal",
            f"Numeric({precision}, {scale})",
            f"sa.Numeric(precision={precision}, scale={scale})",
        )
    simple = {
        "text": ("str", "Text()", "sa.Text()"),
        "int": ("int", "Integer()", "sa.Integer()"),
        "bigint": ("int", "BigInteger()", "sa.BigInteger()"),
        "float": ("float", "Double()", "sa.Double()"),  # 64-bit, like Python floats
        "bool": ("bool", "Boolean()", "sa.Boolean()"),
        "date": ("datetime.date", "Date()", "sa.Date()"),
        "datetime": ("datetime.datetime", "UTCDateTime()", "UTCDateTime()"),
        "uuid": ("uuid.UUID", "Uuid()", "sa.Uuid()"),
        "json": ("Any", "JSON()", "sa.JSON()"),
        "list[str]": ("list[str]", "JSON()", "sa.JSON()"),
        "list[int]": ("list[int]", "JSON()", "sa.JSON()"),
    }
    return simple[kind]


def string_length(field: FieldSpec) -> int:
    """VARCHAR length of a str column: max_length, else a default that fits min_length."""
    return field.max_length or max(DEFAULT_STRING_LENGTH, field.min_length or 0)


def decimal_size(field: FieldSpec) -> tuple[int, int]:
    """(precision, scale) of a decimal column; the scale never exceeds the precision."""
    precision = field.max_digits or 18
    if field.decimal_places is not None:
        return precision, field.decimal_places
    return precision, 6 if field.max_digits is None else min(2, precision)


def _constraint_args(field: FieldSpec) -> list[str]:
    args = []
    for option in (
        "min_length",
        "max_length",
        "ge",
        "gt",
        "le",
        "lt",
        "max_digits",
        "decimal_places",
    ):
        value = getattr(field, option)
        if value is not None:
            args.append(f"{option}={value!r}")
    if field.pattern is not None:
        args.append(f"pattern={field.pattern!r}")
    return args


def _value_type(spec: Spec, name: str, field: FieldSpec, target: ResourceSpec | None) -> str:
    kind = field.type
    base = {
        "str": "str",
        "text": "str",
        "int": "int",
        "bigint": "int",
        "float": "float",
        "decimal": "decimal.Decimal",
        "bool": "bool",
        "date": "datetime.date",
        "datetime": "datetime.datetime",
        "uuid": "uuid.UUID",
        "email": "EmailStr",
        "url": "HttpURL",
        "json": "JsonValue",
        "list[str]": "list[str]",
        "list[int]": "list[int]",
    }.get(kind)
    if kind == "enum":
        base = f"Literal[{', '.join(repr(v) for v in field.values or ())}]"
    if kind == "ref":
        uses_uuid = target is not None and target.id == "uuid"
        return "uuid.UUID" if uses_uuid else "Annotated[int, Field(ge=1, le=MAX_ID)]"
    if kind in {"float"}:
        constraints = ["allow_inf_nan=False", *_constraint_args(field)]
    else:
        constraints = _constraint_args(field)
    if kind == "str" and field.max_length is None:
        constraints.append(f"max_length={string_length(field)}")
    if kind == "url" and field.max_length is None:
        constraints.append(f"max_length={URL_LENGTH}")
    if kind == "decimal":  # what the column holds: more digits would overflow or round
        precision, scale = decimal_size(field)
        if field.max_digits is None:
            constraints.append(f"max_digits={precision}")
        if field.decimal_places is None:
            constraints.append(f"decimal_places={scale}")
    constraints.extend(_integer_limits(field))
    assert base is not None
    if not constraints:
        return base
    return f"Annotated[{base}, Field({', '.join(constraints)})]"


def _integer_limits(field: FieldSpec) -> list[str]:
    """Keep integers inside the column's range, so the database never overflows."""
    if field.type not in {"int", "bigint"}:
        return []
    low, high = INTEGER_RANGES[field.type]
    limits = []
    if field.ge is None and field.gt is None:
        limits.append(f"ge={low}")
    if field.le is None and field.lt is None:
        limits.append(f"le={high}")
    return limits


def _read_type(field: FieldSpec, target: ResourceSpec | None) -> str:
    if field.type == "enum":
        return f"Literal[{', '.join(repr(v) for v in field.values or ())}]"
    if field.type == "ref":
        return "uuid.UUID" if target is not None and target.id == "uuid" else "int"
    return {
        "str": "str",
        "text": "str",
        "email": "str",
        "url": "str",
        "int": "int",
        "bigint": "int",
        "float": "float",
        "decimal": "decimal.Decimal",
        "bool": "bool",
        "date": "datetime.date",
        "datetime": "datetime.datetime",
        "uuid": "uuid.UUID",
        "json": "JsonValue",
        "list[str]": "list[str]",
        "list[int]": "list[int]",
    }[field.type]


def _filter_type(field: FieldSpec, target: ResourceSpec | None) -> str:
    if field.type in {"email", "url"}:
        return "str"
    if field.type in {"int", "bigint"}:
        low, high = INTEGER_RANGES[field.type]
        return f"Annotated[int, Field(ge={low}, le={high})]"
    if field.type == "ref" and not (target is not None and target.id == "uuid"):
        return "Annotated[int, Field(ge=1, le=MAX_ID)]"
    return _read_type(field, target)
