"""What the later stages need of a valid spec, checked when it is loaded (issue 8).

The spec model says what a spec may contain; this module asks whether the project
generated from it can work: every bound fits the column that will hold it, every
default passes the field's own schema type, and the generated tests get valid sample
values. It runs the very code the generator runs — the Pydantic annotation the schema
module will hold, the sample expressions the tests will hold — so `validate` refuses
exactly what `new-service`, `regenerate` and `check` would otherwise fail on later.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import json
import sys
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from .model import INTEGER_RANGES, _default_expression, _value_type
from .samples import SampleError, encode, sample_expression
from .spec import KEY, FieldSpec, Located, Path, Spec

# MySQL stores at most 65,535 bytes in a row's VARCHARs: 16,383 four-byte characters.
VARCHAR_LIMIT = 16_383
VARCHAR_TYPES = frozenset({"str", "email", "url"})
LENGTH_LIMIT = 2**31 - 1  # Pydantic and every database count lengths in 32 bits
LIST_MIN_LIMIT = 1000  # generated tests write out that many sample items
DECIMAL_DIGITS = 38  # the largest precision of a decimal column
# The values of the counter `n` the generated tests' sample expressions are tried with.
SAMPLE_COUNTERS = (1, 2, 3, 10, 999, 1000)


def generation_problems(spec: Spec) -> list[Located]:
    """Every problem the generated project would have with its fields, located."""
    problems: list[Located] = []
    for resource_name, resource in spec.resources.items():
        for field_name, field in resource.fields.items():
            where: Path = ("resources", resource_name, "fields", field_name)
            problems.extend(
                ((*where, *at), message) for at, message in _field_problems(spec, field_name, field)
            )
    return problems


def _field_problems(spec: Spec, name: str, field: FieldSpec) -> Iterator[Located]:
    bounds = list(_bound_problems(field))
    if bounds or field.type == "ref":
        yield from bounds  # the other checks would only repeat what is wrong
        return
    try:
        value_type = _schema_type(_value_type(spec, name, field, None))
    except SchemaTypeError as error:
        yield (("pattern",) if field.pattern is not None else (KEY,)), str(error)
        return
    if field.has_default and field.default is not None:
        yield from _default_problems(field, value_type)
    yield from _sample_problems(name, field, value_type)


# --- bounds the columns can hold ---------------------------------------------------------


def _bound_problems(field: FieldSpec) -> Iterator[Located]:
    for option in ("ge", "gt", "le", "lt"):
        value = getattr(field, option)
        if value is not None:
            problem = _number_bound_problem(field.type, option, value)
            if problem:
                yield (option,), problem
    if field.type == "enum":  # the column is a VARCHAR as long as the longest value
        for index, value in enumerate(field.values or ()):
            if len(value) > VARCHAR_LIMIT:
                yield (
                    ("values", index),
                    (
                        f"enum values must be at most {VARCHAR_LIMIT} characters long (a VARCHAR "
                        "on MySQL)"
                    ),
                )
    for option in ("min_length", "max_length"):
        value = getattr(field, option)
        if value is not None:
            problem = _length_problem(field.type, option, value)
            if problem:
                yield (option,), problem


def _number_bound_problem(kind: str, option: str, value: int | float) -> str | None:
    if kind in INTEGER_RANGES:
        low, high = INTEGER_RANGES[kind]
        if not low <= value <= high:
            article = "an" if kind == "int" else "a"
            wider = "; use type bigint" if kind == "int" else ""
            return (
                f"`{option}` {value} is outside what {article} {kind} column holds "
                f"({low} to {high}){wider}"
            )
    elif kind == "decimal" and abs(value) >= 10**DECIMAL_DIGITS:
        return f"`{option}` has more digits than a decimal column holds ({DECIMAL_DIGITS})"
    elif abs(value) > sys.float_info.max:
        return f"`{option}` is too large for a float (at most ±{sys.float_info.max:.4g})"
    return None


def _length_problem(kind: str, option: str, value: int) -> str | None:
    if kind in VARCHAR_TYPES and value > VARCHAR_LIMIT:
        return (
            f"`{option}` must be at most {VARCHAR_LIMIT}: a {kind} column (VARCHAR) holds "
            f"at most {VARCHAR_LIMIT} characters on MySQL; use type text for longer text"
        )
    if value > LENGTH_LIMIT:
        return f"`{option}` must be at most {LENGTH_LIMIT}"
    if kind.startswith("list[") and option == "min_length" and value > LIST_MIN_LIMIT:
        return (
            f"`min_length` of a {kind} field must be at most {LIST_MIN_LIMIT} (the "
            "generated tests write out that many items)"
        )
    return None


# --- defaults and samples through the schema's own type ------------------------------------


def _default_problems(field: FieldSpec, value_type: Any) -> Iterator[Located]:
    from pydantic import ValidationError

    try:
        # The object the generated code holds: `decimal.Decimal('1.5')`, a date, ...
        value = eval(_default_expression(field), _python_namespace())  # noqa: S307 - literals
        value_type.validate_python(value)
    except ValidationError as error:
        yield (
            ("default",),
            f"default {_shown(field.default)} does not fit the field: {_reason(error)}",
        )
    except (ValueError, ArithmeticError) as error:
        yield ("default",), f"default {_shown(field.default)} is not a valid {field.type}: {error}"


def _sample_problems(name: str, field: FieldSpec, value_type: Any) -> Iterator[Located]:
    """The generated tests' values must be valid, as the API checks them (JSON)."""
    from pydantic import ValidationError

    for variant in ("", "new"):
        try:
            expression = sample_expression(name, field, variant=variant)
        except SampleError as error:
            yield ((error.option,) if error.option else (KEY,)), str(error)
            return
        if field.read_only:
            continue  # derived for the model, never sent by the tests
        for n in SAMPLE_COUNTERS:
            sample = eval(expression, _python_namespace(), {"n": n})  # noqa: S307 - ours
            try:
                value_type.validate_json(json.dumps(sample))
            except ValidationError as error:
                yield (
                    (KEY,),
                    (
                        f"cannot derive a valid test value for this field ({_shown(sample)}: "
                        f"{_reason(error)}); loosen its constraints"
                    ),
                )
                return


def _shown(value: Any) -> str:
    """A value for a message: its repr, cut short (a default may be 400 digits long)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}…{text[-10:]}"


def _reason(error: Any) -> str:
    detail = error.errors()[0]
    return str(detail["msg"]).removeprefix("Value error, ")


@functools.cache
def _python_namespace() -> dict[str, Any]:
    """What the generated schema and test modules import, for their expressions."""
    return {
        "__builtins__": {"str": str, "format": format},
        "datetime": datetime,
        "decimal": decimal,
        "uuid": uuid,
        "encode": encode,
    }


class SchemaTypeError(ValueError):
    """Pydantic cannot build the schema type the generated module would hold."""


@functools.lru_cache(maxsize=1024)
def _schema_type(annotation: str) -> Any:
    """A TypeAdapter of the annotation text the generated schema module holds.

    The text is built by `model` from names and `repr()` literals only; it is evaluated
    with the names the schema module imports (`HttpURL` as its `schema_types` defines it).
    """
    from pydantic import AfterValidator, EmailStr, Field, HttpUrl, JsonValue, TypeAdapter
    from pydantic_core import SchemaError

    def valid_http_url(value: str) -> str:
        return str(HttpUrl(value))

    names = {
        **_python_namespace(),
        "int": int,
        "str": str,
        "float": float,
        "bool": bool,
        "list": list,
        "Annotated": Annotated,
        "Literal": Literal,
        "Field": Field,
        "EmailStr": EmailStr,
        "JsonValue": JsonValue,
        "HttpURL": Annotated[str, AfterValidator(valid_http_url)],
        "MAX_ID": 2**31 - 1,
    }
    try:
        return TypeAdapter(eval(annotation, names))  # noqa: S307 - see above
    except SchemaError as error:  # e.g. a pattern pydantic-core's regex engine rejects
        last_line = str(error).strip().splitlines()[-1].strip().removeprefix("error: ")
        raise SchemaTypeError(f"the generated schema cannot use this field: {last_line}") from None
