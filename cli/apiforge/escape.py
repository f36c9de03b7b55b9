"""Jinja filters that escape spec strings for the context they land in.

Spec text is data, never code: these filters are the only way templates put a
spec string into a generated file, so a description such as `\"\"\"; import os` or
`{{ 7*7 }}` comes out literally.
"""

from __future__ import annotations

import json
import re
from typing import Any

from jinja2 import Environment
from jinja2.ext import Extension

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~])")


def python_literal(value: Any) -> str:
    """A Python literal for a str, number, bool, None, list or dict from the spec."""
    return repr(value)


def python_docstring(text: str) -> str:
    """Text safe inside a one-line triple-quoted docstring."""
    one_line = " ".join(str(text).split())
    return one_line.replace("\\", "\\\\").replace('"', '\\"')


def python_comment(text: str) -> str:
    return " ".join(str(text).split())


def yaml_string(text: str) -> str:
    """A double-quoted YAML scalar (JSON strings are valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(str(text), ensure_ascii=False)


def markdown_text(text: str) -> str:
    """Inline Markdown that renders as the literal text (no markup, no raw HTML)."""
    one_line = " ".join(str(text).split())
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", one_line)
    return escaped.replace("&", "&amp;").replace("<", "&lt;")


FILTERS = {
    "py": python_literal,
    "docstring": python_docstring,
    "comment": python_comment,
    "yaml": yaml_string,
    "toml": toml_string,
    "md": markdown_text,
}


class EscapeFilters(Extension):
    """Loaded by copier through `_jinja_extensions` in the service template."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters.update(FILTERS)
