"""Hypothesis strategies for whole spec files, drawn from the spec's own JSON Schema.

Every option of a field, a resource and the service is drawn from what
`spec_json_schema()` says about it (its type, enum, bounds, items), so an option
added to the spec model is drawn the day it is added. Names come from a hostile
alphabet: Python keywords and builtins, SQL words, and every identifier the templates
use; values lean to the edges (empty ranges, huge lengths, surrogates, odd patterns).
"""

from __future__ import annotations

import builtins
import json
import keyword
import re
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from apiforge.loader import NAME_PATTERN, spec_json_schema
from apiforge.spec import OPTION_TYPES

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
SQL_WORDS = (
    "select",
    "from",
    "where",
    "order",
    "group",
    "user",
    "table",
    "index",
    "key",
    "limit",
    "offset",
    "values",
    "default",
    "check",
    "column",
    "primary",
    "references",
    "session",
)
PLAIN_WORDS = ("title", "name", "price", "book", "author", "note", "item", "tag", "count")
PATTERNS = (
    r"^\d{5}$",
    r"^[A-Z]{3}-\d{4}$",
    r"\Z",
    r"^a\Z",
    r"(?=x)\d{4}",
    r"^[a-z]+$",
    r"x",
    r"^\w{3,}$",
    r"[[:alpha:]]{4}",
    "^$",
    r"(a+)+b\d{3}",
)
# Strings the schema only calls strings, drawn mostly from values that pass, so that
# more drawn specs reach the rules that need a whole valid spec.
STRING_OPTIONS = {
    "version": ("0.1.0", "2.0", "1.0rc1", "x"),
    "api_prefix": ("", "/api/v1", "/v2", "/api/v1/"),
}
NAME_OPTIONS = frozenset({"plural", "package", "renamed_from"})
# Defaults that fit each type, drawn more often than arbitrary values.
DEFAULTS: dict[str, tuple[Any, ...]] = {
    "str": ("x", ""),
    "text": ("x",),
    "email": ("a@x.io",),
    "url": ("https://x.io/",),
    "int": (0, 7, -1),
    "bigint": (2**40,),
    "float": (0.5, 1e308),
    "decimal": ("1.25", 3),
    "bool": (True, False),
    "date": ("2024-01-31",),
    "datetime": ("2024-01-31T10:00:00Z",),
    "uuid": ("00000000-0000-4000-8000-000000000001",),
    "json": ({"a": [1]}, "x", 1),
    "enum": ("title",),
    "list[str]": (["a", "b"], []),
    "list[int]": ([1, 2],),
}
ODD_TEXTS = ("", "x", "\ud800", "{{ s }}", '"""', "\\", "a'b", "é", "\x00", "line\nbreak")


@cache
def schema() -> dict[str, Any]:
    return spec_json_schema()


def definition(name: str) -> dict[str, Any]:
    return schema()["$defs"][name]  # type: ignore[no-any-return]


@cache
def hostile_names() -> tuple[str, ...]:
    """Names a generated project might trip over, valid spec names first."""
    template_words = {
        word.lower()
        for path in TEMPLATES.rglob("*.jinja")
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path.read_text(encoding="utf-8"))
    }
    candidates = (
        set(keyword.kwlist)
        | set(keyword.softkwlist)
        | set(dir(builtins))
        | set(SQL_WORDS)
        | template_words
        | set(PLAIN_WORDS)
    )
    valid = re.compile(NAME_PATTERN)
    return tuple(sorted(name for name in candidates if valid.fullmatch(name) and len(name) < 40))


def names() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(hostile_names()),
        st.sampled_from(PLAIN_WORDS),
        st.from_regex(r"\A[a-z][a-z0-9]{0,8}(_[a-z0-9]{1,6}){0,2}\Z"),  # NAME_PATTERN, short
    )


def from_schema(node: dict[str, Any], option: str = "") -> st.SearchStrategy[Any]:
    """A value for a JSON Schema node, leaning to edge cases."""
    if "$ref" in node:
        return from_schema(definition(node["$ref"].rsplit("/", 1)[-1]), option)
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if "anyOf" in node:
        branches = node["anyOf"]
        numbers = [b for b in branches if b.get("type") in ("integer", "number")]
        others = [b for b in branches if b not in numbers]
        if numbers and others:  # a Decimal bound is also allowed as a string: rarely drawn
            return st.one_of(*[from_schema(b, option) for b in numbers * 4 + others])
        return st.one_of([from_schema(branch, option) for branch in branches])
    kind = node.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low, high = node.get("minimum"), node.get("maximum")
        edges = [
            v
            for v in (low, high, 0, 1, 5, 6, 255, 10**22)
            if v is not None and (low is None or v >= low) and (high is None or v <= high)
        ]
        return st.one_of(
            st.sampled_from(edges), st.integers(low, high if high is not None else 10**6)
        )
    if kind == "number":
        return st.one_of(
            st.integers(-(10**4), 10**4),
            st.floats(-1e6, 1e6, allow_nan=False),
            st.sampled_from([0.5, 5, 6, 1e308]),
        )
    if kind == "string":
        if option == "pattern":
            return st.sampled_from(PATTERNS)
        if option in STRING_OPTIONS:
            return st.sampled_from(STRING_OPTIONS[option])
        if option in NAME_OPTIONS:
            return st.one_of(names(), st.sampled_from(ODD_TEXTS))
        return st.one_of(
            st.sampled_from(PLAIN_WORDS),
            st.sampled_from(ODD_TEXTS),
            st.sampled_from(hostile_names()),
        )
    if kind == "array":
        items = from_schema(node.get("items", {}), option)
        return st.lists(items, min_size=0, max_size=4, unique_by=repr)
    if kind == "null":
        return st.none()
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-5, 5),
        st.sampled_from(ODD_TEXTS),
        st.lists(st.sampled_from(PLAIN_WORDS), max_size=3),
    )


@st.composite
def fields(draw: st.DrawFn, resources: list[str]) -> Any:
    properties = definition("FieldSpec")["properties"]
    field_type = draw(from_schema(properties["type"]))
    if field_type != "enum" and draw(st.integers(0, 3)) == 0:
        return field_type  # the short form
    field: dict[str, Any] = {"type": field_type}
    for option, node in properties.items():
        fits = field_type in OPTION_TYPES.get(option, {field_type})
        if option == "type" or draw(st.integers(0, 3 if fits else 40)) != 0:
            continue
        if option == "default" and draw(st.integers(0, 2)):
            field["default"] = draw(st.sampled_from(DEFAULTS.get(field_type, (None,))))
            field.setdefault("required", False)
            continue
        field[option] = draw(from_schema(node, option))
    if field_type == "ref":
        field["to"] = draw(st.sampled_from(resources))
    if field_type == "enum" and ("values" not in field or draw(st.booleans())):
        field["values"] = draw(
            st.lists(
                st.sampled_from((*PLAIN_WORDS, *ODD_TEXTS)), min_size=1, max_size=4, unique=True
            )
        )
    return field


@st.composite
def spec_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A spec as a plain document; most of it valid enough to reach the deeper rules."""
    resource_names = draw(st.lists(names(), min_size=1, max_size=3, unique=True))
    service: dict[str, Any] = {"name": draw(st.one_of(names(), st.just("svc")))}
    for option, node in definition("ServiceSpec")["properties"].items():
        if option != "name" and draw(st.integers(0, 5)) == 0:
            service[option] = draw(from_schema(node, option))
    resources: dict[str, Any] = {}
    for name in resource_names:
        resource: dict[str, Any] = {}
        for option, node in definition("ResourceSpec")["properties"].items():
            if option != "fields" and draw(st.integers(0, 5)) == 0:
                resource[option] = draw(from_schema(node, option))
        field_names = draw(st.lists(names(), min_size=1, max_size=4, unique=True))
        resource["fields"] = {f: draw(fields(resource_names)) for f in field_names}
        resources[name] = resource
    return {"apiforge": 1, "service": service, "resources": resources}


def spec_texts() -> st.SearchStrategy[str]:
    """Spec files: JSON is YAML, one key a line, surrogates written as YAML escapes."""
    return spec_documents().map(lambda document: json.dumps(document, indent=1))
