"""Rules a spec must meet for the project generated from it to work (issue 8, item 9).

The spec model checks each option on its own; these rules look at what the generated
service will do with the spec: names that would clash with the generated code's own
(read from the templates, see `template_names`), a package that would shadow a module,
tables and routes that are already taken, constraints no value — or no two rows —
can meet, patterns the validating engine (pydantic-core's, not Python's `re`) rejects,
and text no file or database can hold. Each problem is located in the spec.
"""

from __future__ import annotations

import json
import keyword
import math
import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from .errors import UserError
from .model import FieldModel, ServiceModel, derive
from .spec import KEY, LIST_TYPES, FieldSpec, Located, Spec
from .spec import Path as Location
from .template_names import Analysis, analyse

# Alembic records the applied revision in this table (its default `version_table`).
ALEMBIC_VERSION_TABLE = "alembic_version"
RESERVED_TABLE_PREFIX = "sqlite_"  # SQLite refuses table names starting with it
# Routes FastAPI adds itself (its default docs_url, redoc_url and openapi_url).
FASTAPI_ROUTES = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
# A generated test creates a handful of rows of a resource (and its parents) in one
# database; a unique field must leave room for that many distinct values. The sample
# values the tests use are checked for this many calls.
SAMPLE_CALLS = 100
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def value_problems(spec: Spec) -> list[Located]:
    """Text, references and constraints no value (or no two rows) can meet: checked
    first, since the derived model (its samples, say) needs a spec without them."""
    return [
        *_text_problems(spec),
        *_stored_text_problems(spec),
        *_reference_problems(spec),
        *_constraint_problems(spec),
    ]


def project_problems(spec: Spec) -> list[Located]:
    """Names that clash in the generated project, and sample values it cannot store."""
    problems: list[Located] = []
    try:
        service = derive(spec)
    except UserError as error:  # e.g. a pattern no test values can be derived for
        return [(("resources", KEY), str(error))]
    analysis = analyse(service)
    problems += [(clash.origin.where, clash.message) for clash in analysis.clashes]
    problems += _package_problems(spec, service, analysis)
    problems += _table_and_route_problems(spec, service, analysis)
    if not problems:
        problems += _sample_problems(spec, service)
    return problems


# ------------------------------------------------------------------------- names


def _package_problems(spec: Spec, service: ServiceModel, analysis: Analysis) -> Iterator[Located]:
    package = service.package
    if keyword.iskeyword(package):
        reason = "it is a Python keyword"
    elif package in analysis.project_packages:
        reason = f"the generated project has its own `{package}` package"
    elif package in sys.stdlib_module_names:
        reason = f"it would hide (or be hidden by) Python's own `{package}` module"
    elif package in analysis.imported_modules:
        reason = f"the generated code imports the library `{package}`, which it would hide"
    else:
        return
    if spec.service.package is not None:
        yield ("service", "package"), f"package {package!r} cannot be used: {reason}"
    else:
        yield (
            ("service", "name"),
            (
                f"service name {spec.service.name!r} gives the package "
                f"{package!r}, which cannot be used: {reason}; set "
                "`package` to another name"
            ),
        )


def _table_and_route_problems(
    spec: Spec, service: ServiceModel, analysis: Analysis
) -> Iterator[Located]:
    taken_routes = (*FASTAPI_ROUTES, *sorted(analysis.routes))
    for r in service.resources:
        where: Location = ("resources", r.name, "plural" if spec.resources[r.name].plural else KEY)
        if r.table == ALEMBIC_VERSION_TABLE or r.table.startswith(RESERVED_TABLE_PREFIX):
            owner = "Alembic" if r.table == ALEMBIC_VERSION_TABLE else "SQLite"
            yield (
                where,
                (
                    f"resource {r.name!r} would have the table {r.table!r}, which "
                    f"{owner} uses itself; set another `plural`"
                ),
            )
            continue
        base = f"{service.api_prefix}/{r.path}"
        for route in taken_routes:
            if route == base or route.startswith(base + "/"):
                yield (
                    where,
                    (
                        f"the routes of resource {r.name!r} ({base}) would take the "
                        f"route {route} that the service already has; set another "
                        "`plural` or an `api_prefix`"
                    ),
                )
                break


# -------------------------------------------------------------------- text, refs


def _text_problems(spec: Spec) -> Iterator[Located]:
    """A lone surrogate (`"\\ud800"` in YAML) cannot be written as UTF-8 or stored."""
    for where, text in _strings(spec.model_dump(exclude_unset=True), ()):
        found = LONE_SURROGATE.search(text)
        if found:
            yield (
                where,
                (
                    f"the text contains a lone surrogate (\\u{ord(found.group()):04x}), "
                    "which no file, JSON document or database can hold"
                ),
            )


def _stored_text_problems(spec: Spec) -> Iterator[Located]:
    """Enum values and defaults are stored: PostgreSQL text cannot hold a NUL character."""
    for name, resource in spec.resources.items():
        for field_name, field in resource.fields.items():
            where: Location = ("resources", name, "fields", field_name)
            stored: list[tuple[Location, str]] = [
                (("values", i), v) for i, v in enumerate(field.values or ())
            ]
            if isinstance(field.default, str):
                stored.append((("default",), field.default))
            for option, text in stored:
                if "\x00" in text:
                    yield (
                        (*where, *option),
                        (
                            "a NUL character cannot be stored (PostgreSQL "
                            "text refuses it); remove it"
                        ),
                    )


def _strings(value: Any, where: Location) -> Iterator[tuple[Location, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*where, key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, (*where, index))


def _reference_problems(spec: Spec) -> Iterator[Located]:
    for name, resource in spec.resources.items():
        for field_name, field in resource.fields.items():
            if field.type == "ref" and field.to == name and field.required:
                yield (
                    ("resources", name, "fields", field_name, "to"),
                    (
                        f"a required reference to its own resource can never be met: the first "
                        f"{name} would need an existing one; make it `required: false`"
                    ),
                )


# ------------------------------------------------------------------- constraints


def _constraint_problems(spec: Spec) -> Iterator[Located]:
    for name, resource in spec.resources.items():
        for field_name, field in resource.fields.items():
            where: Location = ("resources", name, "fields", field_name)
            for option, message in _field_constraint_problems(field, spec.service.database):
                yield (*where, *option), message


def _field_constraint_problems(field: FieldSpec, database: str) -> Iterator[tuple[Location, str]]:
    yield from _empty_range(field)
    if field.unique:
        count = _value_count(field)
        if count is not None and count < SAMPLE_CALLS:
            yield (
                ("unique",),
                (
                    f"`unique: true` leaves this {field.type} field only {count} "
                    "possible value" + ("" if count == 1 else "s") + ", too few "
                    f"for the rows a service (and its generated tests, which "
                    f"need {SAMPLE_CALLS}) will hold"
                ),
            )
    if field.pattern is not None:
        yield from _pattern_problems(field.pattern)
    yield from _database_limits(field, database)
    yield from _minimum_length(field)
    shortest = {"email": len("a@x.io"), "url": len("http://x.io/")}.get(field.type)
    if shortest and field.max_length is not None and field.max_length < shortest:
        yield (
            ("max_length",),
            (
                f"no {field.type} fits in {field.max_length} characters (the "
                f"shortest has {shortest})"
            ),
        )


# What each database's columns can hold: VARCHAR characters (MySQL: 65,535 bytes a row,
# 4 a character in utf8mb4), and DECIMAL digits and places.
VARCHAR_LIMITS = {"sqlite": 10_485_760, "postgresql": 10_485_760, "mysql": 16_383}
DECIMAL_LIMITS = {"sqlite": (38, 37), "postgresql": (1000, 1000), "mysql": (65, 30)}
VARCHAR_TYPES = frozenset({"str", "email", "url"})


def _database_limits(field: FieldSpec, database: str) -> Iterator[tuple[Location, str]]:
    if field.type in VARCHAR_TYPES and field.max_length is not None:
        limit = VARCHAR_LIMITS[database]
        if field.max_length > limit:
            yield (
                ("max_length",),
                (
                    f"a {field.type} column holds at most {limit:,} characters "
                    f"on {database}; use a smaller max_length (or type text)"
                ),
            )
    if field.type == "decimal":
        digits, places = DECIMAL_LIMITS[database]
        if (field.decimal_places or 0) > places:
            yield ("decimal_places",), (f"{database} keeps at most {places} decimal places")
        if (field.max_digits or 0) > digits:
            yield ("max_digits",), f"{database} keeps at most {digits} digits"


# The longest minimum a value may be asked to have: every create sends at least that
# much (the generated tests too), and a list's sample is written out item by item.
MIN_LENGTH_LIMITS = {"list": 1_000, "text": 100_000}


def _minimum_length(field: FieldSpec) -> Iterator[tuple[Location, str]]:
    if field.min_length is None:
        return
    kind, unit = ("list", "items") if field.type in LIST_TYPES else ("text", "characters")
    limit = MIN_LENGTH_LIMITS[kind]
    if field.min_length > limit:
        yield (
            ("min_length",),
            (
                f"min_length {field.min_length} asks more of every value than "
                f"a request should carry; at most {limit:,} {unit}"
            ),
        )


def _bounds(field: FieldSpec) -> tuple[Any, bool, Any, bool]:
    """(lower, inclusive, upper, inclusive); None where the field has no bound."""
    lower, lower_in = (field.ge, True) if field.ge is not None else (field.gt, False)
    upper, upper_in = (field.le, True) if field.le is not None else (field.lt, False)
    return lower, lower_in, upper, upper_in


def _empty_range(field: FieldSpec) -> Iterator[tuple[Location, str]]:
    lower, lower_in, upper, upper_in = _bounds(field)
    if lower is None or upper is None or field.type not in {"int", "bigint", "float", "decimal"}:
        return
    option = "ge" if field.ge is not None else "gt"
    if lower > upper:
        return  # the spec model reports it already
    if field.type in {"int", "bigint"}:
        low = math.ceil(lower) if lower_in else math.floor(lower) + 1
        high = math.floor(upper) if upper_in else math.ceil(upper) - 1
        if low > high:
            yield (option,), (f"no integer is {_bound_words(field)}; widen the bounds")
    elif lower == upper and not (lower_in and upper_in):
        yield (option,), f"no number is {_bound_words(field)}; widen the bounds"


def _bound_words(field: FieldSpec) -> str:
    lower, lower_in, upper, upper_in = _bounds(field)
    return (
        f"{'at least' if lower_in else 'greater than'} {lower} and "
        f"{'at most' if upper_in else 'less than'} {upper}"
    )


def _value_count(field: FieldSpec) -> int | None:
    """How many distinct values the field can hold, when that is small enough to matter."""
    if field.type == "bool":
        return 2
    if field.type == "enum":
        return len(field.values or ())
    if field.type in {"int", "bigint"}:
        lower, lower_in, upper, upper_in = _bounds(field)
        if lower is None or upper is None:
            return None
        low = math.ceil(lower) if lower_in else math.floor(lower) + 1
        high = math.floor(upper) if upper_in else math.ceil(upper) - 1
        return max(0, int(high - low + 1))
    return None


def _pattern_problems(pattern: str) -> Iterator[tuple[Location, str]]:
    """The generated schemas validate with pydantic-core's regex engine, not `re`."""
    try:
        re.compile(pattern)
    except re.error:
        return  # the spec model reports it already
    from pydantic_core import SchemaError

    try:
        _pattern_adapter(pattern)
    except SchemaError as error:
        detail = str(error).strip().splitlines()[-1].removeprefix("error: ").strip()
        yield (
            ("pattern",),
            (
                f"the pattern is valid for Python's `re` but not for the regex "
                f"engine the generated service validates with: {detail}"
            ),
        )


def _pattern_adapter(pattern: str) -> Any:
    from typing import Annotated

    from pydantic import StringConstraints, TypeAdapter

    return TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)])


# ---------------------------------------------------------------- sample values


def _sample_problems(spec: Spec, service: ServiceModel) -> Iterator[Located]:
    """The generated tests' sample values must pass the generated schemas (checked with
    the very annotations the schemas use) and, for a unique field, be distinct."""
    namespace = _schema_namespace(service)
    for r in service.resources:
        for f in r.fields:
            if f.ref_target or f.read_only or not f.sample:
                continue
            where: Location = ("resources", r.name, "fields", f.name)
            message = _sample_problem(f, namespace, service.database)
            if message:
                yield (*where, KEY), message


def _float_keeps(value: Decimal) -> bool:
    """Whether a decimal survives SQLite, which stores a float that SQLAlchemy formats
    back to the column's scale."""
    exponent = value.as_tuple().exponent
    scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return Decimal(f"{float(value):.{scale}f}") == value


def _sample_problem(field: FieldModel, namespace: dict[str, Any], database: str) -> str | None:
    from pydantic import TypeAdapter, ValidationError

    from .samples import encode

    try:
        adapter: Any = TypeAdapter(eval(field.value_type, namespace))  # our own expression
    except Exception as error:  # noqa: BLE001 - the generated schema would fail the same way
        reason = str(error).strip().splitlines()[-1]
        return f"the generated schema of this field cannot be built: {reason}"
    seen: set[str] = set()
    for n in range(1, SAMPLE_CALLS + 1):
        try:
            value = eval(field.sample, {**namespace, "encode": encode, "n": n})  # our own
            checked = adapter.validate_json(json.dumps(value))
        except ValidationError as error:
            reason = error.errors()[0]["msg"]
            return (
                f"no valid test value can be made for this field: the sample {value!r} "
                f"is rejected ({reason}); loosen its constraints"
            )
        except (UserError, ArithmeticError, ValueError) as error:
            return f"no valid test value can be made for this field: {error}"
        if database == "sqlite" and isinstance(checked, Decimal) and not _float_keeps(checked):
            return (
                f"SQLite stores decimals as 64-bit floats, which keep about 15 significant "
                f"digits; values of this field such as {value} need more: lower "
                "max_digits or use another database"
            )
        key = repr(checked)
        if field.unique and key in seen:
            return (
                f"`unique: true` needs distinct values, but this field's constraints leave "
                f"the generated tests repeating {value!r}; loosen them"
            )
        seen.add(key)
    return None


def _schema_namespace(service: ServiceModel) -> dict[str, Any]:
    """What the generated schema modules see: their imports and `schema_types`."""
    import datetime
    import uuid
    from typing import Annotated, Literal

    from pydantic import EmailStr, Field, JsonValue

    from .template_names import _environment

    source = (
        _environment().get_template("src/{{ s.package }}/schema_types.py.jinja").render(s=service)
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, "schema_types.py", "exec"), namespace)  # generated, trusted
    namespace.update(
        Annotated=Annotated,
        Literal=Literal,
        Field=Field,
        JsonValue=JsonValue,
        datetime=datetime,
        uuid=uuid,
        decimal=__import__("decimal"),
        Decimal=Decimal,
    )
    try:
        import email_validator  # noqa: F401 - EmailStr needs it

        namespace["EmailStr"] = EmailStr
    except ImportError:
        namespace["EmailStr"] = str
    return namespace
