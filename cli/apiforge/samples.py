"""Sample values for generated tests, derived from each field's type and constraints.

Like Phoenix's `@create_attrs`, every field gets a Python expression of a counter `n`
that yields a valid, distinct value on each call, so generated tests can create as
many rows as they like without tripping unique constraints.
"""

from __future__ import annotations

import functools
import random
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

# The standard library's regex parser (the deprecated `sre_parse` before 3.11).
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

from .errors import UserError
from .spec import LIST_TYPES, FieldSpec

_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0123456789",
    "CATEGORY_WORD": "abcdefghijklmnopqrstuvwxyz0123456789",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_DIGIT": "abcdefghij",
    "CATEGORY_NOT_WORD": "-.",
    "CATEGORY_NOT_SPACE": "abcdefghij",
}
_ANY_CHARS = "abcdefghijklmnopqrstuvwxyz"
DECIMAL_WORK_DIGITS = 2000  # enough for any bound a float or a spec integer gives
DEFAULT_DECIMAL_DIGITS = 28  # the precision of Python's default decimal context


class SampleError(UserError):
    """No valid test values can be derived for a field; `option` is what to loosen.

    The loader derives every sample while validating, so a spec that loads never
    raises this later (DESIGN §1: check everything, then write).
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


# Bounds on deriving values for a pattern, so that no pattern makes validation hang.
MAX_SAMPLE_LENGTH = 10_000  # characters in one derived value
MAX_GENERATION_STEPS = 500_000  # pattern nodes and groups visited building all skeletons
MAX_PATTERN_CHECKS = 200_000  # candidate values matched against the pattern
MAX_COUNTER_WIDTH = 32  # symbols of the run that hold the counter
COUNTER_VALUES = range(1, 3000)  # the values of `n` a derived expression must serve
PROBES = (1, 2, 9, 10, 99, 100, 999, 1000, 2999)  # most unfit candidates fail one of these


@functools.lru_cache(maxsize=256)
def pattern_expression(pattern: str, *, min_length: int | None, max_length: int | None) -> str:
    """An expression of `n` giving distinct strings that match `pattern`.

    A random match is taken as a skeleton and one run of digits or letters in it
    is replaced by `n` written in that alphabet; the result is verified against
    the pattern for many values of `n` before it is used. Candidates are matched by
    pydantic-core's regex engine — the one the generated schema uses, and linear-time,
    so a pattern such as `(a+)+$` cannot make this backtrack for minutes.
    """
    accepts = _PatternCheck(pattern, min_length, max_length)
    parsed = sre_parse.parse(pattern)
    rng = random.Random(pattern)  # seeded by the pattern: same spec, same tests
    steps = [MAX_GENERATION_STEPS]
    for _ in range(400):
        skeleton = _generate(parsed, rng, steps)
        if not accepts(skeleton):
            continue
        # Besides the runs inside the skeleton, try a counter appended to it: a pattern
        # that only constrains the start (`^[A-Z]`) accepts that.
        for start, width, alphabet in [*_runs(skeleton), (len(skeleton), 6, ALPHABETS[0])]:
            if width > MAX_COUNTER_WIDTH:  # the counter takes the run's tail: enough values
                start, width = start + width - MAX_COUNTER_WIDTH, MAX_COUNTER_WIDTH
            prefix, suffix = skeleton[:start], skeleton[start + width :]

            def value(
                n: int,
                prefix: str = prefix,
                suffix: str = suffix,
                width: int = width,
                alphabet: str = alphabet,
            ) -> str:
                return prefix + encode(n, width, alphabet) + suffix

            if all(accepts(value(n)) for n in PROBES) and all(
                accepts(value(n)) for n in COUNTER_VALUES
            ):
                return f"{prefix!r} + encode(n, {width}, {alphabet!r}) + {suffix!r}"
    raise SampleError(
        f"cannot derive distinct test values for pattern {pattern!r}; it needs a run of "
        "at least 3 digits or letters that may vary (such as \\d{13} or [A-Z]{3})",
        option="pattern",
    )


class _PatternCheck:
    """Whether a value fits the pattern and the length limits, as the generated schema
    checks it; refuses to run more than MAX_PATTERN_CHECKS times."""

    def __init__(self, pattern: str, min_length: int | None, max_length: int | None) -> None:
        from pydantic_core import SchemaError, SchemaValidator, core_schema

        try:
            self.validator = SchemaValidator(
                core_schema.str_schema(
                    pattern=pattern, min_length=min_length, max_length=max_length
                )
            )
        except SchemaError as error:
            last_line = str(error).strip().splitlines()[-1].strip()
            reason = last_line.removeprefix("error: ").removeprefix("SchemaError: ")
            raise SampleError(
                f"pattern cannot be used by pydantic's regex engine: {reason}", option="pattern"
            ) from None
        self.pattern, self.left = pattern, MAX_PATTERN_CHECKS

    def __call__(self, value: str) -> bool:
        self.left -= 1
        if self.left < 0:
            raise SampleError(
                f"cannot derive distinct test values for pattern "
                f"{self.pattern!r} within {MAX_PATTERN_CHECKS:,} tries; "
                "simplify it",
                option="pattern",
            )
        return bool(self.validator.isinstance_python(value))


def encode(n: int, width: int, alphabet: str) -> str:
    """`n` written with `width` symbols of `alphabet` (generated tests hold a copy)."""
    symbols = []
    for _ in range(width):
        n, digit = divmod(n, len(alphabet))
        symbols.append(alphabet[digit])
    return "".join(reversed(symbols))


ALPHABETS = ("0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _runs(text: str) -> list[tuple[int, int, str]]:
    """(start, width, alphabet) of each run of 3+ characters from one alphabet, longest first."""
    runs = []
    for alphabet in ALPHABETS:
        for match in re.finditer(f"[{re.escape(alphabet)}]{{3,}}", text):
            runs.append((match.start(), len(match.group()), alphabet))
    return sorted(runs, key=lambda run: -run[1])


def _generate(parsed: Any, rng: random.Random, steps: list[int]) -> str:
    """A random string the parsed pattern matches; `steps` is the budget left, shared by
    every skeleton of one pattern (nested repeats multiply, even of empty groups)."""
    _take_step(steps)
    text = "".join(_generate_node(op, arg, rng, steps) for op, arg in parsed)
    if len(text) > MAX_SAMPLE_LENGTH:
        raise SampleError(
            f"the pattern needs values longer than {MAX_SAMPLE_LENGTH:,} "
            "characters; apiforge cannot derive test values for it",
            option="pattern",
        )
    return text


def _take_step(steps: list[int]) -> None:
    steps[0] -= 1
    if steps[0] < 0:
        raise SampleError(
            "the pattern is too complex to derive test values for; simplify its nested repeats",
            option="pattern",
        )


def _generate_node(op: Any, arg: Any, rng: random.Random, steps: list[int]) -> str:
    _take_step(steps)
    name = str(op)
    if name == "LITERAL":
        return chr(arg)
    if name == "NOT_LITERAL":
        return "a" if chr(arg) != "a" else "b"
    if name == "ANY":
        return rng.choice(_ANY_CHARS)
    if name == "IN":
        return _generate_class(arg, rng)
    if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
        low, high, sub = arg
        high = min(high, low + 8) if high != sre_constants.MAXREPEAT else low + 8
        if low > MAX_SAMPLE_LENGTH:
            raise SampleError(
                f"the pattern repeats something at least {low:,} times; "
                "apiforge cannot derive test values for it",
                option="pattern",
            )
        return "".join(_generate(sub, rng, steps) for _ in range(rng.randint(low, high)))
    if name == "SUBPATTERN":
        return _generate(arg[-1], rng, steps)
    if name == "ATOMIC_GROUP":
        return _generate(arg, rng, steps)
    if name == "BRANCH":
        return _generate(rng.choice(arg[1]), rng, steps)
    if name == "AT":
        return ""
    if name == "CATEGORY":
        return rng.choice(_CATEGORY_CHARS.get(str(arg), "a"))
    raise SampleError(
        f"cannot derive test values for a pattern using {name.lower()}", option="pattern"
    )


def _generate_class(items: Any, rng: random.Random) -> str:
    choices: list[str] = []
    negate = False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            choices.append(chr(arg))
        elif name == "RANGE":
            choices.extend(chr(code) for code in range(arg[0], min(arg[1], arg[0] + 60) + 1))
        elif name == "CATEGORY":
            choices.extend(_CATEGORY_CHARS.get(str(arg), "a"))
    if negate:
        excluded = set(choices)
        choices = [c for c in _ANY_CHARS + "0123456789" if c not in excluded]
    return rng.choice(choices) if choices else "a"


def _int_bounds(field: FieldSpec) -> tuple[int, int]:
    """The integers allowed by the field's limits and its column, narrowed to a practical
    range."""
    from .model import INTEGER_RANGES  # model imports this module

    column_low, column_high = INTEGER_RANGES[field.type]
    low = field.ge if field.ge is not None else (field.gt + 1 if field.gt is not None else None)
    high = field.le if field.le is not None else (field.lt - 1 if field.lt is not None else None)
    low_int = 1 if low is None else int(low)
    high_int = min(column_high, low_int + 1_000_000) if high is None else int(high)
    if low is None and high_int < low_int:
        low_int = max(column_low, high_int - 1_000_000)
    if high_int < low_int:
        raise SampleError(f"no {field.type} fits the field's limits", option=_first_bound(field))
    return low_int, high_int


def _first_bound(field: FieldSpec) -> str | None:
    """The option to point at when the limits together leave no value."""
    names = ("ge", "gt", "le", "lt", "decimal_places", "max_digits")
    return next((name for name in names if getattr(field, name) is not None), None)


def _float_expression(field: FieldSpec) -> str:
    """A float strictly inside (gt, lt) or within [ge, le]; exclusive ends are never hit."""
    low = field.ge if field.ge is not None else field.gt
    high = field.le if field.le is not None else field.lt
    low_f = float(low) if low is not None else (float(high) - 1000.0 if high is not None else 0.0)
    high_f = float(high) if high is not None else low_f + 1000.0
    return f"{low_f!r} + {high_f - low_f!r} * (1 + n % 997) / 999"


def _decimal_expression(field: FieldSpec) -> str:
    """A decimal with exactly the column's scale, inside the limits and the precision."""
    from .model import decimal_size  # model imports this module

    precision, places = decimal_size(field)
    # The default context keeps 28 digits: a column of 38, or a bound beside it, needs more.
    with localcontext() as context:
        context.prec = DECIMAL_WORK_DIGITS
        return _decimal_sample(field, precision, places)


def _decimal_sample(field: FieldSpec, precision: int, places: int) -> str:
    unit = Decimal(1).scaleb(-places)
    largest = Decimal(10) ** (precision - places) - unit
    low, high = -largest, largest
    if field.ge is not None:
        low = max(low, Decimal(str(field.ge)).quantize(unit, rounding=ROUND_CEILING))
    if field.gt is not None:
        low = max(low, (Decimal(str(field.gt)) + unit).quantize(unit, rounding=ROUND_CEILING))
    if field.le is not None:
        high = min(high, Decimal(str(field.le)).quantize(unit, rounding=ROUND_FLOOR))
    if field.lt is not None:
        high = min(high, (Decimal(str(field.lt)) - unit).quantize(unit, rounding=ROUND_FLOOR))
    if field.ge is None and field.gt is None:
        low = max(low, min(Decimal(1), high))  # positive samples read better
    first, last = int(low.scaleb(places)), int(high.scaleb(places))
    if last < first:
        raise SampleError(
            f"no decimal with {places} places and {precision} digits fits the field's limits",
            option=_first_bound(field),
        )
    span = min(last - first + 1, 10**9)
    if precision > DEFAULT_DECIMAL_DIGITS:  # scaleb would round to the default context
        return f'format(decimal.Decimal(f"{{{first} + n % {span}}}e-{places}"), "f")'
    return f'format(decimal.Decimal({first} + n % {span}).scaleb(-{places}), "f")'


def _list_expression(field: FieldSpec, *, variant: str) -> str:
    """A list with as many items as the length limits ask (two when they allow)."""
    count = max(field.min_length or 0, min(2, field.max_length or 2))
    first = f'f"tag{variant}-{{n}}"' if field.type == "list[str]" else "n"
    others = [f'"item-{i}"' if field.type == "list[str]" else str(i) for i in range(count - 1)]
    return "[" + ", ".join([first, *others][:count]) + "]"


def _padded(text: str, field: FieldSpec, *, fixed: int) -> str:
    """`text` cut or padded so that, with `fixed` more characters, it fits the length limits."""
    if field.max_length is not None:
        text = text[: max(1, field.max_length - fixed)]
    if field.min_length is not None:
        text = text.ljust(field.min_length - fixed + 6, "x")
    return text


def _text_expression(name: str, field: FieldSpec, *, variant: str) -> str:
    from .model import string_length  # model imports this module

    max_length = string_length(field) if field.type == "str" else field.max_length or 10_000
    min_length = field.min_length or 0
    if max_length < 8:  # too short for words: just the counter, padded to fit
        return f"str(n % {10**max_length}).zfill({max(min_length, 1)})"
    prefix = f"{name.replace('_', ' ')} {variant}".strip()[: max_length - 7]
    if min_length > len(prefix) + 2:
        return f'f"{prefix} {{n}}".ljust({min_length}, "x")'
    return f'f"{prefix} {{n}}"'


# The shortest addresses that validate, which a counter then makes distinct.
SHORT_ADDRESSES = {"email": ("", "@x.io"), "url": ("http://x.io/", "")}


def _short_address(kind: str, max_length: int) -> str:
    """An email or URL short enough for a small max_length: `0a@x.io`, `http://x.io/0a`."""
    prefix, suffix = SHORT_ADDRESSES[kind]
    width = max(0, min(6, max_length - len(prefix) - len(suffix)))
    counter = f"encode(n, {width}, {ALPHABETS[0] + ALPHABETS[1]!r})"
    return " + ".join(
        part for part in (prefix and repr(prefix), counter, suffix and repr(suffix)) if part
    )


def sample_expression(name: str, field: FieldSpec, *, variant: str = "") -> str:
    """A Python expression of `n` giving a valid JSON value for this field.

    `variant` makes the update samples differ from the create samples.
    """
    kind = field.type
    if kind in {"str", "text"}:
        if field.pattern is not None:
            return pattern_expression(
                field.pattern, min_length=field.min_length, max_length=field.max_length
            )
        return _text_expression(name, field, variant=variant)
    if kind in {"email", "url"} and field.max_length is not None and field.max_length < 24:
        return _short_address(kind, field.max_length)
    if kind == "email":
        local = _padded(f"{name.replace('_', '.')}{variant}", field, fixed=len("@example.com") + 6)
        return f'f"{local}{{n}}@example.com"'
    if kind == "url":
        path = _padded(f"{name}{variant}", field, fixed=len("https://x.io/") + 6)
        return f'f"https://x.io/{path}{{n}}"'
    if kind in {"int", "bigint"}:
        low, high = _int_bounds(field)
        return f"{low} + n % {high - low + 1}"
    if kind == "float":
        return _float_expression(field)
    if kind == "decimal":
        return _decimal_expression(field)
    if kind == "bool":
        return "n % 2 == 0" if not variant else "n % 2 == 1"
    if kind == "date":
        return "str(datetime.date(2000, 1, 1) + datetime.timedelta(days=n))"
    if kind == "datetime":
        return (
            "(datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)"
            ' + datetime.timedelta(minutes=n)).isoformat().replace("+00:00", "Z")'
        )
    if kind == "uuid":
        return 'f"00000000-0000-4000-8000-{n:012d}"'
    if kind == "json":
        return '{"sample": n, "tags": ["a", "b"]}'
    if kind == "enum":
        values = field.values or ()
        return f"{list(values)!r}[n % {len(values)}]"
    if kind in LIST_TYPES:
        return _list_expression(field, variant=variant)
    raise AssertionError(f"no sample for type {kind}")  # refs are built by the tests
