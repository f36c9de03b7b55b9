"""Sample values for generated tests, derived from each field's type and constraints.

Like Phoenix's `@create_attrs`, every field gets a Python expression of a counter `n`
that yields a valid, distinct value on each call, so generated tests can create as
many rows as they like without tripping unique constraints.
"""

from __future__ import annotations

import random
import re
from decimal import Decimal
from typing import Any

from .errors import UserError
from .spec import FieldSpec

try:  # Python 3.11 keeps the parser in re._parser; sre_parse is its deprecated alias.
    from re import _constants as sre_constants  # type: ignore[attr-defined]
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0123456789",
    "CATEGORY_WORD": "abcdefghijklmnopqrstuvwxyz0123456789",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_DIGIT": "abcdefghij",
    "CATEGORY_NOT_WORD": "-.",
    "CATEGORY_NOT_SPACE": "abcdefghij",
}
_ANY_CHARS = "abcdefghijklmnopqrstuvwxyz"


def pattern_expression(pattern: str, *, min_length: int | None, max_length: int | None) -> str:
    """An expression of `n` giving distinct strings that match `pattern`.

    A random match is taken as a skeleton and one run of digits or letters in it
    is replaced by `n` written in that alphabet; the result is verified against
    the pattern for many values of `n` before it is used.
    """
    compiled = re.compile(pattern)
    rng = random.Random(pattern)  # seeded by the pattern: same spec, same tests
    for _ in range(400):
        skeleton = _generate(sre_parse.parse(pattern), rng)
        if not _fits(compiled, skeleton, min_length, max_length):
            continue
        for start, width, alphabet in _runs(skeleton):
            prefix, suffix = skeleton[:start], skeleton[start + width :]
            values = [prefix + encode(n, width, alphabet) + suffix for n in range(1, 3000)]
            if all(_fits(compiled, value, min_length, max_length) for value in values):
                return f"{prefix!r} + encode(n, {width}, {alphabet!r}) + {suffix!r}"
    raise UserError(
        f"cannot derive distinct test values for pattern {pattern!r}; it needs a run of "
        "at least 3 digits or letters that may vary (such as \\d{13} or [A-Z]{3})"
    )


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


def _fits(compiled: re.Pattern[str], value: str, low: int | None, high: int | None) -> bool:
    return bool(compiled.search(value)) and (low is None or len(value) >= low) and (
        high is None or len(value) <= high
    )


def _generate(parsed: Any, rng: random.Random) -> str:
    return "".join(_generate_node(op, arg, rng) for op, arg in parsed)


def _generate_node(op: Any, arg: Any, rng: random.Random) -> str:
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
        return "".join(_generate(sub, rng) for _ in range(rng.randint(low, high)))
    if name == "SUBPATTERN":
        return _generate(arg[-1], rng)
    if name == "ATOMIC_GROUP":
        return _generate(arg, rng)
    if name == "BRANCH":
        return _generate(rng.choice(arg[1]), rng)
    if name == "AT":
        return ""
    if name == "CATEGORY":
        return rng.choice(_CATEGORY_CHARS.get(str(arg), "a"))
    raise UserError(f"cannot derive test values for a pattern using {name.lower()}")


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


def _bounds(field: FieldSpec, *, step: int) -> tuple[int, int]:
    """An integer range inside the field's numeric limits, for distinct samples."""
    low: Any = field.ge if field.ge is not None else (field.gt + step if field.gt is not None else None)
    high: Any = field.le if field.le is not None else (field.lt - step if field.lt is not None else None)
    low_int = int(low) if low is not None and int(low) >= low else (int(low) + 1 if low is not None else None)
    high_int = int(high) if high is not None else None
    if low_int is None:
        low_int = 1 if high_int is None or high_int >= 1 else high_int - 10_000
    if high_int is None:
        high_int = low_int + 1_000_000
    return low_int, high_int


def _text_expression(name: str, field: FieldSpec, *, variant: str) -> str:
    max_length = field.max_length or (255 if field.type == "str" else 10_000)
    prefix = f"{name.replace('_', ' ')} {variant}".strip()[: max(0, max_length - 7)]
    min_length = field.min_length or 0
    padding = max(0, min_length - len(prefix) - 1)
    prefix = prefix + "x" * padding
    if max_length < 8:  # too short for words: just the counter, padded to fit
        return f"str(n % {10 ** max_length}).zfill({max(min_length, 1)})"
    return f'f"{prefix} {{n}}"'


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
    if kind == "email":
        return f'f"{name.replace("_", ".")}{variant}{{n}}@example.com"'
    if kind == "url":
        return f'f"https://example.com/{name}{variant}/{{n}}"'
    if kind in {"int", "bigint"}:
        low, high = _bounds(field, step=1)
        return f"{low} + n % {high - low + 1}"
    if kind == "float":
        low, high = _bounds(field, step=1)
        return f"float({low} + n % {high - low + 1})"
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
        return f'f"00000000-0000-4000-8000-{{n:012d}}"'
    if kind == "json":
        return '{"sample": n, "tags": ["a", "b"]}'
    if kind == "enum":
        values = field.values or ()
        return f"{list(values)!r}[n % {len(values)}]"
    if kind == "list[str]":
        return f'[f"tag{variant}-{{n}}", "other"]'
    if kind == "list[int]":
        return "[n, 2]"
    raise AssertionError(f"no sample for type {kind}")  # refs are built by the tests


def _decimal_expression(field: FieldSpec) -> str:
    # The same precision and scale as the column (model.py), so values round-trip exactly.
    places = field.decimal_places if field.decimal_places is not None else 6
    digits = field.max_digits or 18
    low, high = _bounds(field, step=1)
    high = min(high, 10 ** max(digits - places, 0) - 1)
    low = min(low, high)
    fraction = "5".ljust(places, "0") if places else ""
    if fraction and field.le is not None and Decimal(high) + Decimal("0.5") > Decimal(str(field.le)):
        high -= 1  # keep `x.50` below an inclusive upper bound
    span = max(high - low + 1, 1)
    if fraction:
        return f'f"{{{low} + n % {span}}}.{fraction}"'
    return f'str({low} + n % {span})'
