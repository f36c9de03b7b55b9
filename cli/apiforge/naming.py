"""Names: plurals, case conversions and the Python-safe spelling of spec names."""

from __future__ import annotations

import keyword
import re
from functools import cache

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")

# Names a generated module uses at class or module level (types, helpers). A field
# with one of these names would shadow it, so its Python attribute gets a trailing
# underscore, exactly like a keyword; its JSON name and column keep the spec name.
SHADOWED_NAMES = frozenset(
    {
        "annotated",
        "any",
        "bool",
        "date",
        "datetime",
        "decimal",
        "dict",
        "field",
        "float",
        "int",
        "list",
        "literal",
        "mapped",
        "str",
        "uuid",
        "json",
        "sa",
        "self",
        "cls",
        "session",
        "values",
        "data",
        "item",
        "obj",
        "hooks",
        "router",
        "repository",
        "model",
        "metadata",
        "registry",
        "query",
        "params",
        "response",
        "request",
        "status",
        "select",
        "func",
    }
)


@cache
def _engine() -> object:
    import inflect  # imported lazily: the CLI must start fast

    return inflect.engine()


def pluralize(singular: str) -> str:
    """English plural of a snake_case name, inflecting only its last word."""
    head, _, last = singular.rpartition("_")
    plural_last = _engine().plural_noun(last)  # type: ignore[attr-defined]
    return f"{head}_{plural_last}" if head else str(plural_last)


def pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_") if part)


def snake(name: str) -> str:
    """snake_case of a free-form name such as a service name (`Book Store` → `book_store`)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", spaced).strip("_").lower()


# Soft keywords of every Python the generated code may run on, spelled out so the
# output does not depend on the Python that runs apiforge (`type` is soft from 3.12).
SOFT_KEYWORDS = frozenset({"match", "case", "type", "_"})


def is_keyword(name: str) -> bool:
    return keyword.iskeyword(name) or name in SOFT_KEYWORDS


# Names pycodestyle calls ambiguous (E741: `l` reads like `1`): ruff refuses them as names.
AMBIGUOUS_NAMES = frozenset({"l", "I", "O"})


def python_name(name: str) -> str:
    """The attribute name for a spec name: keywords, shadowing and ambiguous names get `_`."""
    if is_keyword(name) or name in SHADOWED_NAMES or name in AMBIGUOUS_NAMES:
        return f"{name}_"
    return name


def humanize(name: str) -> str:
    return name.replace("_", " ")
