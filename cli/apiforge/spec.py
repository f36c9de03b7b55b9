"""The spec model: a validated, immutable picture of `apiforge.yaml` (DESIGN §2).

Validators raise `ValueError` with a message that says what is allowed — or
`NodeProblems`, several messages each located inside the node — and the loader turns
each one into `file:line:column: message` using the error's location.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from .naming import AMBIGUOUS_NAMES, IDENTIFIER, pascal, pluralize, snake

FieldType = Literal[
    "str",
    "text",
    "int",
    "bigint",
    "float",
    "decimal",
    "bool",
    "date",
    "datetime",
    "uuid",
    "email",
    "url",
    "json",
    "enum",
    "list[str]",
    "list[int]",
    "ref",
]
Action = Literal[
    "list",
    "create",
    "retrieve",
    "update",
    "partial_update",
    "destroy",
    "bulk_create",
    "bulk_delete",
]
FIELD_TYPES: tuple[str, ...] = get_args(FieldType)
ACTIONS: tuple[str, ...] = get_args(Action)
STANDARD_ACTIONS: tuple[Action, ...] = (
    "list",
    "create",
    "retrieve",
    "update",
    "partial_update",
    "destroy",
)

STRING_TYPES = frozenset({"str", "text", "email", "url"})
NUMBER_TYPES = frozenset({"int", "bigint", "float", "decimal"})
RANGE_TYPES = NUMBER_TYPES | {"date", "datetime"}
LIST_TYPES = frozenset({"list[str]", "list[int]"})
# Types a database cannot index portably (MySQL needs a prefix length for TEXT/JSON).
UNINDEXABLE_TYPES = frozenset({"text", "json"}) | LIST_TYPES

# Which options make sense for which types; everything else is rejected with a reason.
OPTION_TYPES: dict[str, frozenset[str]] = {
    "min_length": STRING_TYPES | LIST_TYPES,
    "max_length": STRING_TYPES | LIST_TYPES,
    "pattern": frozenset({"str", "text"}),
    "ge": NUMBER_TYPES,
    "gt": NUMBER_TYPES,
    "le": NUMBER_TYPES,
    "lt": NUMBER_TYPES,
    "max_digits": frozenset({"decimal"}),
    "decimal_places": frozenset({"decimal"}),
    "values": frozenset({"enum"}),
    "to": frozenset({"ref"}),
    "on_delete": frozenset({"ref"}),
    "renamed_values": frozenset({"enum"}),
}

# Column names every resource already has, and query parameters of list endpoints.
GENERATED_COLUMNS = frozenset({"id", "created_at", "updated_at"})
LIST_PARAMETERS = frozenset({"page", "page_size", "limit", "cursor", "sort", "search", "fields"})
# Resource names that would collide with a generated module or route.
RESERVED_RESOURCES = frozenset(
    {
        "health",
        "ready",
        "main",
        "settings",
        "database",
        "errors",
        "pagination",
        "filtering",
        "lifecycle",
        "repository",
        "schema_types",
        "models",
        "schemas",
        "repositories",
        "routers",
        "hooks",
        "tests",
        "migrations",
        "conftest",
    }
)

# A location inside the spec, as pydantic writes it: keys and list indexes. A location
# ending in KEY means the mapping key itself rather than its value (pydantic's convention).
Path = tuple[str | int, ...]
Located = tuple[Path, str]
KEY = "[key]"


class NodeProblems(ValueError):
    """Every problem found while validating one node, each located relative to that node.

    Pydantic keeps the exception in the error's context, so the loader can point at the
    exact option; anyone else still gets one readable message.
    """

    def __init__(self, problems: list[Located]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


# StrictFloat rather than float: a lax float would silently read `ge: true` as 1.0 (and a
# lax Decimal `ge: '0'` as a number that the generated code cannot even spell).
Number = StrictInt | StrictFloat
Name = Annotated[str, Field(min_length=1, max_length=63)]


def check_identifier(name: str, what: str) -> str:
    if not IDENTIFIER.fullmatch(name):
        if name[:1].isdigit():
            reason = "it starts with a digit"
        elif "/" in name or "\\" in name or "." in name:
            reason = "it contains a path separator or dot"
        else:
            reason = "it is not snake_case"
        raise ValueError(
            f"{what} name {name!r} is not allowed: {reason}; "
            "use lowercase letters, digits and underscores, starting with a letter"
        )
    if "__" in name or name.endswith("_"):
        raise ValueError(
            f"{what} name {name!r} is not allowed: double or trailing underscores are "
            "reserved for generated names (filters such as `price__gte`, keyword aliases)"
        )
    return name


def _check_field_name(name: str) -> str:
    return check_identifier(name, "field")


def _check_resource_name(name: str) -> str:
    check_identifier(name, "resource")
    if name in RESERVED_RESOURCES:
        raise ValueError(f"resource name {name!r} is reserved for a generated module or route")
    if pascal(name) in AMBIGUOUS_NAMES:
        raise ValueError(
            f"resource name {name!r} is not allowed: its class would be `{pascal(name)}`, "
            "a name Python style checkers reject as ambiguous (E742); use a longer name"
        )
    return name


# Names are checked as dict keys, so every bad name is reported, each at its own key.
FieldName = Annotated[Name, AfterValidator(_check_field_name)]
ResourceName = Annotated[Name, AfterValidator(_check_resource_name)]


# Bounds on the size of what a spec describes: generating stays within a minute, and
# every database can hold the tables (PostgreSQL takes at most 1,600 columns).
MAX_RESOURCES = 250
MAX_FIELDS = 250
MAX_ENUM_VALUES = 1000
MAX_PATTERN_LENGTH = 1000
MAX_PATTERN_DEPTH = 20


def _group_depth(pattern: str) -> int:
    """How deeply a pattern nests its groups (an upper bound: brackets in classes count)."""
    depth = deepest = 0
    escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class FieldSpec(StrictModel):
    type: FieldType
    required: StrictBool = True
    default: Any = None
    unique: StrictBool = False
    index: StrictBool = False
    description: StrictStr | None = None
    min_length: Annotated[StrictInt, Field(ge=0)] | None = None
    max_length: Annotated[StrictInt, Field(ge=1)] | None = None
    pattern: StrictStr | None = None
    ge: Number | None = None
    gt: Number | None = None
    le: Number | None = None
    lt: Number | None = None
    max_digits: Annotated[StrictInt, Field(ge=1, le=38)] | None = None
    decimal_places: Annotated[StrictInt, Field(ge=0, le=37)] | None = None
    values: tuple[StrictStr, ...] | None = None
    to: Annotated[StrictStr, Field(max_length=63)] | None = None  # a resource name
    on_delete: Literal["cascade", "restrict", "set_null"] | None = None
    filter: StrictBool | Literal["range"] = False
    search: StrictBool = False
    sort: StrictBool = False
    read_only: StrictBool = False
    write_only: StrictBool = False
    renamed_from: StrictStr | None = None
    # For migrations only (never in the API): what rows already in the table become.
    backfill: Any = None
    renamed_values: dict[StrictStr, StrictStr] | None = None

    @model_validator(mode="before")
    @classmethod
    def expand_short_form(cls, raw: Any) -> Any:
        """`title: str` is short for `title: {type: str}`."""
        return {"type": raw} if isinstance(raw, str) else raw

    @field_validator("pattern")
    @classmethod
    def check_pattern_size(cls, pattern: str | None) -> str | None:
        """Bound a pattern before any regex parser sees it: Python's recurses per group."""
        if pattern is not None and len(pattern) > MAX_PATTERN_LENGTH:
            raise ValueError(
                f"pattern is {len(pattern):,} characters long; apiforge takes "
                f"patterns of up to {MAX_PATTERN_LENGTH:,}"
            )
        if pattern is not None and _group_depth(pattern) > MAX_PATTERN_DEPTH:
            raise ValueError(f"pattern nests groups more than {MAX_PATTERN_DEPTH} deep")
        return pattern

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set

    @property
    def has_backfill(self) -> bool:
        return "backfill" in self.model_fields_set

    @model_validator(mode="after")
    def check_options(self) -> FieldSpec:
        """Collect every problem of the field, each at the option it is about."""
        problems = [
            *self._misplaced_options(),
            *self._type_requirement_problems(),
            *self._bound_problems(),
            *self._query_option_problems(),
            *self._access_problems(),
            *self._migration_option_problems(),
        ]
        if problems:
            raise NodeProblems(problems)
        return self

    def _misplaced_options(self) -> Iterator[Located]:
        for option, types in OPTION_TYPES.items():
            if getattr(self, option) is not None and self.type not in types:
                allowed = ", ".join(sorted(types))
                yield (
                    (option, KEY),
                    (f"option `{option}` does not apply to type {self.type}; it is for: {allowed}"),
                )

    def _type_requirement_problems(self) -> Iterator[Located]:
        if self.type == "enum":
            yield from self._enum_problems()
        if self.type == "ref" and not self.to:
            yield (KEY,), "a ref field needs `to`: the name of the referenced resource"
        if self.on_delete == "set_null" and self.required:
            yield (
                ("on_delete",),
                (
                    "on_delete: set_null needs `required: false` (the column "
                    "becomes NULL when the parent is deleted)"
                ),
            )
        for option in ("unique", "index"):
            if getattr(self, option) and self.type in UNINDEXABLE_TYPES:
                yield (
                    (option,),
                    (
                        f"`{option}: true` is not portable for a {self.type} field "
                        "(MySQL cannot index it); use type str with a max_length"
                    ),
                )
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                yield ("pattern",), f"pattern is not a valid regular expression: {error}"

    def _enum_problems(self) -> Iterator[Located]:
        if not self.values:
            where: Path = (KEY,) if self.values is None else ("values",)
            yield where, "an enum field needs `values`: a non-empty list of strings"
            return
        if len(self.values) > MAX_ENUM_VALUES:
            yield (
                ("values",),
                (
                    f"an enum field takes at most {MAX_ENUM_VALUES} values, not "
                    f"{len(self.values):,}; keep longer lists in a resource"
                ),
            )
            return
        seen: set[str] = set()
        for index, value in enumerate(self.values):
            if not value:
                yield ("values", index), "enum values must be non-empty strings"
            elif value in seen:
                yield ("values", index), f"enum values must be unique; {value!r} is repeated"
            seen.add(value)

    def _bound_problems(self) -> Iterator[Located]:
        for option in ("ge", "gt", "le", "lt", "default"):
            value = getattr(self, option)
            if isinstance(value, float) and not math.isfinite(value):
                yield (option,), f"`{option}` must be a finite number, not {value}"
        if None not in (self.min_length, self.max_length) and (
            self.min_length > self.max_length  # type: ignore[operator]
        ):
            yield ("min_length",), "min_length is greater than max_length"
        lower, lower_name = (self.ge, "ge") if self.ge is not None else (self.gt, "gt")
        upper = self.le if self.le is not None else self.lt
        if lower is not None and upper is not None and lower > upper:
            yield (lower_name,), "the lower bound (ge/gt) is greater than the upper bound (le/lt)"
        if self.ge is not None and self.gt is not None:
            yield ("gt", KEY), "give either `ge` or `gt`, not both"
        if self.le is not None and self.lt is not None:
            yield ("lt", KEY), "give either `le` or `lt`, not both"
        if self.type in {"int", "bigint"}:
            for option in ("ge", "gt", "le", "lt"):
                value = getattr(self, option)
                if value is not None and not isinstance(value, int):
                    yield (option,), f"`{option}` of an {self.type} field must be an integer"
        if None not in (self.max_digits, self.decimal_places) and (
            self.decimal_places > self.max_digits  # type: ignore[operator]
        ):
            yield ("decimal_places",), "decimal_places is greater than max_digits"

    def _query_option_problems(self) -> Iterator[Located]:
        if self.filter == "range" and self.type not in RANGE_TYPES:
            yield (
                ("filter",),
                (
                    "filter: range is for numbers, decimals, dates and datetimes; "
                    "use filter: true for exact matches"
                ),
            )
        elif self.filter and self.type in {"json", "text"} | LIST_TYPES:
            yield ("filter",), f"a {self.type} field cannot be filtered"
        if self.search and self.type not in STRING_TYPES:
            yield ("search",), "search: true is for text fields (str, text, email, url)"
        if self.sort and self.type in {"json"} | LIST_TYPES:
            yield ("sort",), f"a {self.type} field cannot be sorted"
        if self.write_only and (self.filter or self.search or self.sort):
            yield (
                ("write_only",),
                ("a write_only field is never shown, so it cannot be filtered, searched or sorted"),
            )

    def _access_problems(self) -> Iterator[Located]:
        if self.read_only and self.write_only:
            yield ("write_only",), "a field cannot be both read_only and write_only"
        elif self.read_only and self.required and not self.has_default:
            yield (
                ("read_only",),
                (
                    "a read_only field is never sent by clients: give it a "
                    "`default` or make it `required: false`"
                ),
            )
        if self.has_default:
            try:
                check_default(self)
            except ValueError as error:
                yield ("default",), str(error)

    def _migration_option_problems(self) -> Iterator[Located]:
        if self.has_backfill:
            try:
                check_backfill(self)
            except ValueError as error:
                yield ("backfill",), str(error)
        if self.renamed_values and self.type == "enum":
            yield from _renamed_value_problems(self.renamed_values, self.values or ())


def check_default(field: FieldSpec) -> None:
    """A default must be a value the field itself accepts."""
    value = field.default
    if value is None:
        if field.required:
            raise ValueError("default: null needs `required: false`")
        return
    expected: dict[str, type | tuple[type, ...]] = {
        "str": str,
        "text": str,
        "email": str,
        "url": str,
        "enum": str,
        "date": str,
        "datetime": str,
        "uuid": str,
        "int": int,
        "bigint": int,
        "bool": bool,
        "float": (int, float),
        "decimal": (int, float, str),
        "list[str]": list,
        "list[int]": list,
        "json": (dict, list, str, int, float, bool),
    }
    if field.type == "ref":
        raise ValueError("a ref field cannot have a default")
    wanted = expected[field.type]
    if not isinstance(value, wanted) or (
        isinstance(value, bool) and field.type != "bool" and field.type != "json"
    ):
        raise ValueError(f"default {value!r} is not a valid {field.type}")
    if field.type == "enum" and value not in (field.values or ()):
        raise ValueError(f"default {value!r} is not one of the enum values")
    items: list[Any] = value if isinstance(value, list) else []
    if field.type == "list[str]" and not all(isinstance(item, str) for item in items):
        raise ValueError("default of a list[str] field must be a list of strings")
    if field.type == "list[int]" and not all(
        isinstance(item, int) and not isinstance(item, bool) for item in items
    ):
        raise ValueError("default of a list[int] field must be a list of integers")
    if field.type in {"date", "datetime", "uuid", "decimal"}:
        _check_parsable_default(field.type, value)


def _check_parsable_default(type_name: str, value: Any) -> None:
    import datetime
    import uuid

    parsers: dict[str, Any] = {
        "date": datetime.date.fromisoformat,
        "datetime": datetime.datetime.fromisoformat,
        "uuid": uuid.UUID,
        "decimal": lambda v: Decimal(str(v)),
    }
    try:
        parsers[type_name](value)
    except (ValueError, ArithmeticError):
        raise ValueError(f"default {value!r} is not a valid {type_name}") from None


def check_backfill(field: FieldSpec) -> None:
    """A backfill must be a value the field accepts: rows get it without the API's checks."""
    value = field.backfill
    if value is None:
        raise ValueError(
            "backfill: null fills nothing; give a value of the field's type, or remove the option"
        )
    if field.type == "ref":
        raise ValueError(
            "a ref field cannot have a backfill: add it with `required: false`, "
            "fill it in, then make it required in a later change"
        )
    try:
        check_default(field.model_copy(update={"default": value, "required": False}))
    except ValueError as error:  # the same type rules as a default, under its own name
        raise ValueError(str(error).replace("default", "backfill", 1)) from None
    problem = constraint_problem(field, value)
    if problem:
        raise ValueError(f"backfill {value!r} {problem}")


def constraint_problem(field: FieldSpec, value: Any) -> str | None:
    """Why `value` (already of the field's type) breaks one of the field's constraints."""
    from .model import decimal_size, string_length  # the column sizes the model derives

    if field.type in NUMBER_TYPES:
        number = Decimal(str(value))
        for option, breaks in (
            ("ge", number.__lt__),
            ("gt", number.__le__),
            ("le", number.__gt__),
            ("lt", number.__ge__),
        ):
            bound = getattr(field, option)
            if bound is not None and breaks(Decimal(str(bound))):
                return f"is outside the field's range ({option}: {bound})"
        if field.type == "decimal":
            precision, scale = decimal_size(field)
            digits, exponent = len(number.as_tuple().digits), int(number.as_tuple().exponent)
            if -exponent > scale or digits + exponent > precision - scale:
                return f"does not fit {precision} digits with {scale} decimal places"
    sized = value if isinstance(value, (str, list)) else None
    if sized is not None and field.type in STRING_TYPES | LIST_TYPES:
        longest = string_length(field) if field.type == "str" else field.max_length
        if field.min_length is not None and len(sized) < field.min_length:
            return f"is shorter than min_length: {field.min_length}"
        if longest is not None and len(sized) > longest:
            return f"is longer than max_length: {longest}"
    if field.pattern is not None and isinstance(value, str) and not re.search(field.pattern, value):
        return f"does not match the pattern {field.pattern!r}"
    return None


def _renamed_value_problems(renamed: dict[str, str], values: tuple[str, ...]) -> Iterator[Located]:
    """`renamed_values` maps former enum values (no longer listed) to current ones."""
    for old, new in renamed.items():
        if old in values:
            yield (
                ("renamed_values", old),
                (f"{old!r} is still one of the values; renamed_values maps former values only"),
            )
        elif new not in values:
            yield (
                ("renamed_values", old),
                (
                    f"{old!r} is renamed to {new!r}, which is not "
                    f"one of the values: {', '.join(values)}"
                ),
            )


class ResourceSpec(StrictModel):
    plural: StrictStr | None = None
    description: StrictStr | None = None
    id: Literal["int", "uuid"] = "int"
    timestamps: StrictBool = True
    actions: tuple[Action, ...] = STANDARD_ACTIONS
    pagination: Literal["page", "cursor"] = "page"
    renamed_from: StrictStr | None = None
    fields: dict[FieldName, FieldSpec]

    @field_validator("fields")
    @classmethod
    def check_fields(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        if not fields:
            raise ValueError("a resource needs at least one field")
        return fields

    @field_validator("fields")
    @classmethod
    def check_field_count(cls, fields: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        if len(fields) > MAX_FIELDS:
            raise ValueError(f"a resource takes at most {MAX_FIELDS} fields, not {len(fields):,}")
        return fields

    @field_validator("actions")
    @classmethod
    def check_actions(cls, actions: tuple[str, ...]) -> tuple[str, ...]:
        repeated: list[Located] = [
            ((index,), f"action `{action}` is listed more than once")
            for index, action in enumerate(actions)
            if action in actions[:index]
        ]
        if repeated:
            raise NodeProblems(repeated)
        return actions

    @field_validator("plural")
    @classmethod
    def check_plural(cls, plural: str | None) -> str | None:
        return None if plural is None else check_identifier(plural, "plural")


class ServiceSpec(StrictModel):
    name: Annotated[StrictStr, Field(min_length=1, max_length=63)]
    package: StrictStr | None = None
    title: StrictStr | None = None
    description: StrictStr | None = None
    version: Annotated[StrictStr, Field(max_length=64)] = "0.1.0"  # bounds its regex's work
    api_prefix: StrictStr = "/api/v1"
    database: Literal["sqlite", "postgresql", "mysql"] = "sqlite"

    @field_validator("name")
    @classmethod
    def check_name(cls, name: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]*", name):
            raise ValueError(
                f"service name {name!r} is not allowed: use letters, digits, `-`, `_` and "
                "`.`, starting with a letter (it becomes the folder and distribution name)"
            )
        return name

    @field_validator("package")
    @classmethod
    def check_package(cls, package: str | None) -> str | None:
        if package is not None:
            check_identifier(package, "package")
        return package

    @field_validator("version")
    @classmethod
    def check_version(cls, version: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)*([ab]|rc)?\d*", version):
            raise ValueError(f"version {version!r} is not a version like 0.1.0")
        return version

    @field_validator("api_prefix")
    @classmethod
    def check_prefix(cls, prefix: str) -> str:
        if prefix != "" and not re.fullmatch(r"(/[a-z0-9][a-z0-9._-]*)+", prefix):
            raise ValueError(
                f"api_prefix {prefix!r} must look like /api/v1 "
                "(lowercase path segments, no trailing slash) or be empty"
            )
        return prefix

    @property
    def package_name(self) -> str:
        return self.package or snake(self.name)

    @property
    def display_title(self) -> str:
        return self.title or snake(self.name).replace("_", " ").title() + " API"


class Spec(StrictModel):
    apiforge: Literal[1]
    service: ServiceSpec
    resources: dict[ResourceName, ResourceSpec]

    @field_validator("apiforge", mode="before")
    @classmethod
    def check_format_version(cls, version: Any) -> Any:
        # Checked by hand: a lax Literal[1] would take `true`, `1.0` and "1".
        if type(version) is not int or version != 1:
            shown = "empty" if version is None else repr(version)
            if isinstance(version, bool):
                shown = str(version).lower()
            raise ValueError(
                f"unsupported spec format version {shown}: this apiforge reads `apiforge: 1`"
            )
        return version

    @field_validator("resources")
    @classmethod
    def check_resource_names(cls, resources: dict[str, ResourceSpec]) -> dict[str, ResourceSpec]:
        if not resources:
            raise ValueError("the spec needs at least one resource")
        return resources

    @field_validator("resources")
    @classmethod
    def check_resource_count(cls, resources: dict[str, ResourceSpec]) -> dict[str, ResourceSpec]:
        if len(resources) > MAX_RESOURCES:
            raise ValueError(
                f"a spec takes at most {MAX_RESOURCES} resources, not "
                f"{len(resources):,}; split the service"
            )
        return resources

    def plural_of(self, name: str) -> str:
        return self.resources[name].plural or pluralize(name)


# Cross-resource rules are checked after the model validates, so each problem can
# carry its own location: (location path, message).
def cross_check(spec: Spec) -> list[Located]:
    problems: list[Located] = []
    plurals: dict[str, str] = {}
    class_names: dict[str, str] = {}
    for name, resource in spec.resources.items():
        where: Path = ("resources", name)
        plural = spec.plural_of(name)
        # Point at an explicit `plural`, else at the resource whose default plural clashes.
        plural_where = (*where, "plural") if resource.plural else where
        if plural != name and plural in spec.resources:
            problems.append(
                (
                    plural_where,
                    f"the plural of {name!r} is {plural!r}, which is "
                    "also a resource name; set `plural` explicitly",
                )
            )
        for other, other_plural in plurals.items():
            if plural == other_plural:
                problems.append(
                    (
                        plural_where,
                        f"resource {name!r} has the plural {plural!r}, "
                        f"which clashes with resource {other!r}",
                    )
                )
        plurals[name] = plural
        for suffix in ("", "Create", "Update", "Patch", "Read", "Hooks", "Repository", "Query"):
            class_name = name.replace("_", "").lower() + suffix.lower()
            if class_name in class_names and class_names[class_name] != name:
                problems.append(
                    (
                        where,
                        f"resource {name!r} would generate classes that "
                        f"clash with resource {class_names[class_name]!r}",
                    )
                )
                break
            class_names[class_name] = name
        problems.extend(_check_resource_fields(spec, name, resource))
    problems.extend(_check_reference_cycles(spec))
    return problems


def _check_resource_fields(spec: Spec, name: str, resource: ResourceSpec) -> list[Located]:
    problems: list[Located] = []
    columns: dict[str, str] = {}
    generated = GENERATED_COLUMNS if resource.timestamps else {"id"}
    for field_name, field in resource.fields.items():
        where: Path = ("resources", name, "fields", field_name)
        column = f"{field_name}_id" if field.type == "ref" else field_name
        if column in generated or field_name in generated:
            problems.append(
                (
                    (*where, KEY),
                    f"field name {field_name!r} clashes with the "
                    f"generated column {column!r}; rename it",
                )
            )
        elif column in columns:
            problems.append(
                (
                    (*where, KEY),
                    f"field {field_name!r} becomes column {column!r}, "
                    f"which clashes with field {columns[column]!r}",
                )
            )
        elif field.filter and (column in LIST_PARAMETERS or field_name in LIST_PARAMETERS):
            problems.append(
                (
                    (*where, "filter"),
                    f"field {field_name!r} cannot be filtered: "
                    f"`{column}` is already a list query parameter",
                )
            )
        elif field_name.startswith("model_"):
            problems.append(
                (
                    (*where, KEY),
                    f"field name {field_name!r} is not allowed: the "
                    "`model_` prefix is reserved by Pydantic",
                )
            )
        columns[column] = field_name
        if resource.pagination == "cursor" and field.sort and not field.required:
            problems.append(
                (
                    (*where, "sort"),
                    f"field {field_name!r} cannot be sorted with "
                    "cursor pagination: an optional field's NULLs "
                    "have no stable position between pages; make it "
                    "required or use pagination: page",
                )
            )
        if field.type == "ref" and field.to not in spec.resources:
            problems.append(((*where, "to"), _unknown_resource(spec, str(field.to))))
    return problems


def _unknown_resource(spec: Spec, name: str) -> str:
    guesses = difflib.get_close_matches(name, list(spec.resources), n=1)
    guess = f" (did you mean {guesses[0]!r}?)" if guesses else ""
    known = ", ".join(sorted(spec.resources))
    return f"ref to unknown resource {name!r}{guess}; resources are: {known}"


def _check_reference_cycles(spec: Spec) -> list[Located]:
    """Refs between different resources must not form a cycle (self-references are fine)."""
    edges = {
        name: {f.to for f in res.fields.values() if f.type == "ref" and f.to != name}
        for name, res in spec.resources.items()
    }
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in visiting:
            return visiting[visiting.index(name) :] + [name]
        if name in done or name not in edges:
            return None
        visiting.append(name)
        for target in sorted(t for t in edges[name] if t):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(name)
        return None

    for name in spec.resources:
        cycle = visit(name)
        if cycle:
            start, following = cycle[0], cycle[1]
            ref_name = next(
                field_name
                for field_name, field in spec.resources[start].fields.items()
                if field.type == "ref" and field.to == following
            )
            return [
                (
                    ("resources", start, "fields", ref_name, "to"),
                    "references form a cycle "
                    f"({' → '.join(cycle)}); tables could not be created in order",
                )
            ]
    return []
